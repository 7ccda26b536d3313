//! The send side of one tick: TTS and music mixed into one 20 ms frame, the trailing silence
//! frames, speaking on/off, and the TTS drain notification (docs/clankvox-protocol.md §6).

use std::collections::VecDeque;

use crate::codec::{Profile, FRAME_SAMPLES};
use crate::tts::{TtsBuffer, TtsPull};

/// Music prefetch bound: 2 s at 48 kHz.
pub const MUSIC_CAPACITY: usize = 96_000;
/// Opus silence frames sent after the last audio frame.
pub const TRAILING_SILENCE_FRAMES: u8 = 5;
/// Samples per millisecond at 48 kHz.
pub const SAMPLES_PER_MS: u32 = 48;

/// A linear per-sample gain ramp.
#[derive(Clone, Debug, PartialEq)]
pub struct GainRamp {
    current: f32,
    target: f32,
    step: f32,
    remaining: u32,
    notify: bool,
}

impl GainRamp {
    pub fn new(gain: f32) -> Self {
        Self {
            current: gain,
            target: gain,
            step: 0.0,
            remaining: 0,
            notify: false,
        }
    }

    pub fn current(&self) -> f32 {
        self.current
    }

    pub fn target(&self) -> f32 {
        self.target
    }

    pub fn is_ramping(&self) -> bool {
        self.remaining > 0
    }

    /// Jump to `gain` at once.
    pub fn set_now(&mut self, gain: f32) {
        *self = Self::new(gain);
    }

    /// Ramp to `target` over `fade_ms`; `notify` asks for a completion report from `apply`.
    /// Returns true when the target was reached at once (`fade_ms` 0).
    pub fn ramp_to(&mut self, target: f32, fade_ms: u32, notify: bool) -> bool {
        let samples = fade_ms.saturating_mul(SAMPLES_PER_MS);
        if samples == 0 {
            self.set_now(target);
            return true;
        }
        self.target = target;
        self.remaining = samples;
        self.step = (target - self.current) / samples as f32;
        self.notify = notify;
        false
    }

    /// Scale `frame` sample by sample; returns `Some(gain)` when a notifying ramp finished here.
    pub fn apply(&mut self, frame: &mut [i32]) -> Option<f32> {
        let mut finished = None;
        for s in frame.iter_mut() {
            if self.remaining > 0 {
                self.current += self.step;
                self.remaining -= 1;
                if self.remaining == 0 {
                    self.current = self.target;
                    if self.notify {
                        finished = Some(self.target);
                        self.notify = false;
                    }
                }
            }
            *s = (*s as f32 * self.current).round() as i32;
        }
        finished
    }
}

/// What the tick sends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutFrame {
    /// 960 mono samples to encode, and what they hold (speech alone, or music in the mix).
    Pcm { pcm: Vec<i16>, profile: Profile },
    /// The Opus silence frame.
    Silence,
}

/// Side effects of a tick.
#[derive(Clone, Debug, PartialEq)]
pub enum PlayoutEvent {
    /// Send voice op 5 speaking=1 before this tick's frame.
    SpeakingOn,
    /// Send voice op 5 speaking=0 after this tick's frame.
    SpeakingOff,
    /// The TTS buffer has drained (`tts_playback_state idle`).
    TtsIdle,
    /// A notifying gain ramp completed (`music_gain_reached`).
    GainReached(f32),
}

/// How music takes part in this tick.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MusicTick {
    /// Music is playing or fading out (not pending, paused or idle).
    pub audible: bool,
    /// The decoder finished: play a final partial frame, zero-padded.
    pub flush_tail: bool,
}

/// The whole send-side state of a connection.
#[derive(Debug)]
pub struct Playout {
    pub tts: TtsBuffer,
    pub music: VecDeque<i16>,
    pub gain: GainRamp,
    speaking: bool,
    silence_left: u8,
    tts_buffered: bool,
}

impl Default for Playout {
    fn default() -> Self {
        Self::new()
    }
}

impl Playout {
    pub fn new() -> Self {
        Self {
            tts: TtsBuffer::new(),
            music: VecDeque::new(),
            gain: GainRamp::new(1.0),
            speaking: false,
            silence_left: 0,
            tts_buffered: false,
        }
    }

    /// Append TTS samples (48 kHz mono). True when this made the buffer non-empty
    /// (`tts_playback_state buffered`).
    pub fn push_tts(&mut self, pcm: &[i16]) -> (bool, usize) {
        let o = self.tts.push(pcm);
        if o.became_non_empty {
            self.tts_buffered = true;
        }
        (o.became_non_empty, o.dropped)
    }

    /// Clear the TTS buffer; true if `tts_playback_state idle` should be reported.
    pub fn clear_tts(&mut self) -> bool {
        self.tts.clear();
        std::mem::take(&mut self.tts_buffered)
    }

    pub fn music_room(&self) -> usize {
        MUSIC_CAPACITY.saturating_sub(self.music.len())
    }

    pub fn push_music(&mut self, pcm: &[i16]) {
        let take = pcm.len().min(self.music_room());
        self.music.extend(&pcm[..take]);
    }

    pub fn is_speaking(&self) -> bool {
        self.speaking
    }

    /// Stop speaking at once (connection lost): no trailing silence.
    pub fn reset_speaking(&mut self) {
        self.speaking = false;
        self.silence_left = 0;
    }

    fn take_music(&mut self, music: MusicTick) -> Option<Vec<i32>> {
        if !music.audible {
            return None;
        }
        let n = if self.music.len() >= FRAME_SAMPLES {
            FRAME_SAMPLES
        } else if music.flush_tail && !self.music.is_empty() {
            self.music.len()
        } else {
            return None;
        };
        let mut f: Vec<i32> = self.music.drain(..n).map(i32::from).collect();
        f.resize(FRAME_SAMPLES, 0);
        Some(f)
    }

    /// Run one 20 ms tick.
    pub fn tick(&mut self, music: MusicTick) -> (Option<OutFrame>, Vec<PlayoutEvent>) {
        let mut events = Vec::new();
        let mut music_frame = self.take_music(music);
        if let Some(f) = music_frame.as_mut() {
            if let Some(g) = self.gain.apply(f) {
                events.push(PlayoutEvent::GainReached(g));
            }
        } else if self.gain.is_ramping() {
            // Keep ramps moving in time even while no music frame is taken.
            let mut scratch = vec![0i32; FRAME_SAMPLES];
            if let Some(g) = self.gain.apply(&mut scratch) {
                events.push(PlayoutEvent::GainReached(g));
            }
        }
        let music_produced = music_frame.is_some();
        let tts = self.tts.pull(music_produced);
        let holding = tts == TtsPull::Holding;
        let mixed: Option<(Vec<i16>, Profile)> = match (tts, music_frame) {
            (TtsPull::Frame(t), Some(m)) => Some((
                t.iter()
                    .zip(m)
                    .map(|(&a, b)| (i32::from(a) + b).clamp(-32768, 32767) as i16)
                    .collect(),
                Profile::Music,
            )),
            (TtsPull::Frame(t), None) => Some((t, Profile::Speech)),
            (_, Some(m)) => Some((
                m.into_iter()
                    .map(|s| s.clamp(-32768, 32767) as i16)
                    .collect(),
                Profile::Music,
            )),
            (_, None) => None,
        };
        let frame = match mixed {
            Some((pcm, profile)) => {
                if !self.speaking {
                    self.speaking = true;
                    events.push(PlayoutEvent::SpeakingOn);
                }
                self.silence_left = TRAILING_SILENCE_FRAMES;
                Some(OutFrame::Pcm { pcm, profile })
            }
            None if holding => None,
            None if self.speaking && self.silence_left > 0 => {
                self.silence_left -= 1;
                if self.silence_left == 0 {
                    self.speaking = false;
                    events.push(PlayoutEvent::SpeakingOff);
                }
                Some(OutFrame::Silence)
            }
            None => None,
        };
        // Idle once TTS drained and its trailing silence went out (or music carries on).
        if self.tts_buffered && self.tts.is_empty() && (!self.speaking || music_produced) {
            self.tts_buffered = false;
            events.push(PlayoutEvent::TtsIdle);
        }
        (frame, events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUIET: MusicTick = MusicTick {
        audible: false,
        flush_tail: false,
    };
    const LOUD: MusicTick = MusicTick {
        audible: true,
        flush_tail: false,
    };

    #[test]
    fn gain_ramp_is_linear_and_reports_once() {
        let mut g = GainRamp::new(0.0);
        assert!(!g.ramp_to(1.0, 20, true)); // 960 samples
        let mut f = vec![1000; 480];
        assert_eq!(g.apply(&mut f), None);
        assert!((g.current() - 0.5).abs() < 1e-3);
        assert!(f[0] <= 2 && f[479] >= 498);
        let mut f = vec![1000; 960];
        assert_eq!(g.apply(&mut f), Some(1.0));
        assert_eq!(f[959], 1000);
        assert_eq!(g.apply(&mut [0; 10]), None);
        assert!(g.ramp_to(0.3, 0, true));
        assert_eq!(g.current(), 0.3);
    }

    #[test]
    fn tts_plays_then_five_silence_frames_then_stops() {
        let mut p = Playout::new();
        assert_eq!(p.push_tts(&[100; 9600]), (true, 0));
        let (f, ev) = p.tick(QUIET);
        assert!(matches!(
            f,
            Some(OutFrame::Pcm {
                profile: Profile::Speech,
                ..
            })
        ));
        assert_eq!(ev, vec![PlayoutEvent::SpeakingOn]);
        for _ in 0..9 {
            let (f, ev) = p.tick(QUIET);
            assert!(matches!(
                f,
                Some(OutFrame::Pcm {
                    profile: Profile::Speech,
                    ..
                })
            ));
            assert!(ev.is_empty());
        }
        for i in 0..5 {
            let (f, ev) = p.tick(QUIET);
            assert_eq!(f, Some(OutFrame::Silence), "silence {i}");
            if i < 4 {
                assert!(ev.is_empty(), "{ev:?}");
            } else {
                assert_eq!(ev, vec![PlayoutEvent::SpeakingOff, PlayoutEvent::TtsIdle]);
            }
        }
        assert_eq!(p.tick(QUIET), (None, vec![]));
    }

    #[test]
    fn music_and_tts_mix_with_music_gain() {
        let mut p = Playout::new();
        p.push_music(&[1000; 960]);
        p.gain.set_now(0.5);
        p.push_tts(&[100; 960]);
        let (f, _) = p.tick(LOUD);
        match f {
            Some(OutFrame::Pcm { pcm, profile }) => {
                assert!(pcm.iter().all(|&s| s == 600));
                assert_eq!(profile, Profile::Music, "music in the mix");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mixing_clamps() {
        let mut p = Playout::new();
        p.push_music(&[30_000; 960]);
        p.push_tts(&[30_000; 960]);
        match p.tick(LOUD).0 {
            Some(OutFrame::Pcm { pcm, .. }) => assert!(pcm.iter().all(|&s| s == 32767)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn inaudible_music_is_kept_for_later() {
        let mut p = Playout::new();
        p.push_music(&[5; 2000]);
        assert_eq!(p.tick(QUIET).0, None);
        assert_eq!(p.music.len(), 2000);
        for _ in 0..2 {
            assert!(matches!(
                p.tick(LOUD).0,
                Some(OutFrame::Pcm {
                    profile: Profile::Music,
                    ..
                })
            ));
        }
        // 80 left: waits for more unless the decoder finished
        assert_eq!(p.tick(LOUD).0, Some(OutFrame::Silence));
        assert_eq!(p.music.len(), 80);
        let tail = p.tick(MusicTick {
            audible: true,
            flush_tail: true,
        });
        assert!(matches!(tail.0, Some(OutFrame::Pcm { .. })));
        assert!(p.music.is_empty());
    }

    #[test]
    fn tts_idle_reported_when_drained_under_music() {
        let mut p = Playout::new();
        p.push_music(&[1; 960 * 3]);
        p.push_tts(&[2; 960]);
        let (_, ev) = p.tick(LOUD);
        assert_eq!(ev, vec![PlayoutEvent::SpeakingOn, PlayoutEvent::TtsIdle]);
    }

    #[test]
    fn music_capacity_is_bounded() {
        let mut p = Playout::new();
        p.push_music(&vec![1; MUSIC_CAPACITY + 500]);
        assert_eq!(p.music.len(), MUSIC_CAPACITY);
        assert_eq!(p.music_room(), 0);
    }

    #[test]
    fn clear_tts_reports_idle_once() {
        let mut p = Playout::new();
        p.push_tts(&[1; 100]);
        assert!(p.clear_tts());
        assert!(!p.clear_tts());
    }
}
