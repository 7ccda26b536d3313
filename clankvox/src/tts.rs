//! The TTS buffer with its pre-buffer gate and partial-tail rule (docs/clankvox-protocol.md §6.1).
//!
//! Samples are 48 kHz mono. After the buffer has been empty, output waits until 200 ms are
//! queued, or the buffer stopped growing for 3 ticks, or music is playing (music hides the
//! start-up). A tail shorter than one frame waits up to 2 ticks for more, then is zero-padded.

use std::collections::VecDeque;

use crate::codec::FRAME_SAMPLES;

/// Capacity: 15 s at 48 kHz.
pub const TTS_CAPACITY: usize = 720_000;
/// Pre-buffer target: 200 ms at 48 kHz.
pub const PREBUFFER_SAMPLES: usize = 9_600;
/// Ticks without growth after which a short buffer starts anyway.
pub const STALL_TICKS: u32 = 3;
/// Ticks a partial tail waits for more samples.
pub const PARTIAL_WAIT_TICKS: u32 = 2;

/// What the buffer has for this tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TtsPull {
    /// One full 20 ms frame.
    Frame(Vec<i16>),
    /// Samples are queued but held (pre-buffer gate or a partial tail waiting).
    Holding,
    /// Nothing queued.
    Empty,
}

/// Result of appending samples.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PushOutcome {
    /// The buffer was empty before this push and is not now.
    pub became_non_empty: bool,
    /// Samples dropped because the buffer was full (the newest ones).
    pub dropped: usize,
}

#[derive(Debug, Default)]
pub struct TtsBuffer {
    samples: VecDeque<i16>,
    gate_open: bool,
    stalled_ticks: u32,
    len_at_last_tick: usize,
    partial_wait: u32,
}

impl TtsBuffer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Append 48 kHz mono samples; beyond capacity the newest are dropped.
    pub fn push(&mut self, pcm: &[i16]) -> PushOutcome {
        let was_empty = self.samples.is_empty();
        let room = TTS_CAPACITY - self.samples.len();
        let take = pcm.len().min(room);
        self.samples.extend(&pcm[..take]);
        PushOutcome {
            became_non_empty: was_empty && !self.samples.is_empty(),
            dropped: pcm.len() - take,
        }
    }

    /// Drop everything; true if anything was queued.
    pub fn clear(&mut self) -> bool {
        let had = !self.samples.is_empty();
        self.samples.clear();
        self.reset_gate();
        had
    }

    fn reset_gate(&mut self) {
        self.gate_open = false;
        self.stalled_ticks = 0;
        self.len_at_last_tick = 0;
        self.partial_wait = 0;
    }

    /// Called once per 20 ms tick.
    pub fn pull(&mut self, music_playing: bool) -> TtsPull {
        let len = self.samples.len();
        if len == 0 {
            self.reset_gate();
            return TtsPull::Empty;
        }
        if !self.gate_open {
            if len == self.len_at_last_tick {
                self.stalled_ticks += 1;
            } else {
                self.stalled_ticks = 0;
            }
            self.len_at_last_tick = len;
            if len >= PREBUFFER_SAMPLES || music_playing || self.stalled_ticks >= STALL_TICKS {
                self.gate_open = true;
            } else {
                return TtsPull::Holding;
            }
        }
        if len >= FRAME_SAMPLES {
            self.partial_wait = 0;
            return TtsPull::Frame(self.samples.drain(..FRAME_SAMPLES).collect());
        }
        if self.partial_wait < PARTIAL_WAIT_TICKS {
            self.partial_wait += 1;
            return TtsPull::Holding;
        }
        self.partial_wait = 0;
        let mut frame: Vec<i16> = self.samples.drain(..).collect();
        frame.resize(FRAME_SAMPLES, 0);
        TtsPull::Frame(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(b: &mut TtsBuffer, ticks: usize, music: bool) -> Vec<TtsPull> {
        (0..ticks).map(|_| b.pull(music)).collect()
    }

    #[test]
    fn gate_opens_at_200_ms() {
        let mut b = TtsBuffer::new();
        assert!(b.push(&[1; 4800]).became_non_empty);
        assert_eq!(b.pull(false), TtsPull::Holding);
        assert!(!b.push(&[1; 4800]).became_non_empty);
        assert!(matches!(b.pull(false), TtsPull::Frame(f) if f.len() == 960));
        assert_eq!(b.len(), 9600 - 960);
    }

    #[test]
    fn gate_opens_when_the_buffer_stops_growing() {
        let mut b = TtsBuffer::new();
        b.push(&[1; 1920]);
        // first pull sees growth (0 -> 1920), then 3 stalled ticks open the gate
        let p = frames(&mut b, 4, false);
        assert_eq!(
            p[..3],
            [TtsPull::Holding, TtsPull::Holding, TtsPull::Holding]
        );
        assert!(matches!(p[3], TtsPull::Frame(_)));
    }

    #[test]
    fn music_opens_the_gate_at_once() {
        let mut b = TtsBuffer::new();
        b.push(&[1; 960]);
        assert!(matches!(b.pull(true), TtsPull::Frame(_)));
    }

    #[test]
    fn partial_tail_waits_two_ticks_then_pads() {
        let mut b = TtsBuffer::new();
        b.push(&[5; 9600 + 100]);
        for _ in 0..10 {
            assert!(matches!(b.pull(false), TtsPull::Frame(_)));
        }
        assert_eq!(b.pull(false), TtsPull::Holding);
        assert_eq!(b.pull(false), TtsPull::Holding);
        match b.pull(false) {
            TtsPull::Frame(f) => {
                assert_eq!(f.len(), 960);
                assert!(f[..100].iter().all(|&s| s == 5));
                assert!(f[100..].iter().all(|&s| s == 0));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(b.pull(false), TtsPull::Empty);
    }

    #[test]
    fn a_late_top_up_completes_the_partial_frame() {
        let mut b = TtsBuffer::new();
        b.push(&[5; 9600 + 100]);
        for _ in 0..10 {
            b.pull(false);
        }
        assert_eq!(b.pull(false), TtsPull::Holding);
        b.push(&[6; 860]);
        match b.pull(false) {
            TtsPull::Frame(f) => assert!(f[100..].iter().all(|&s| s == 6)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn overflow_drops_the_newest() {
        let mut b = TtsBuffer::new();
        assert_eq!(b.push(&vec![1; TTS_CAPACITY - 10]).dropped, 0);
        let o = b.push(&[2; 30]);
        assert_eq!(o.dropped, 20);
        assert_eq!(b.len(), TTS_CAPACITY);
    }

    #[test]
    fn clear_resets_the_gate() {
        let mut b = TtsBuffer::new();
        b.push(&[1; 20_000]);
        assert!(matches!(b.pull(false), TtsPull::Frame(_)));
        assert!(b.clear());
        assert!(!b.clear());
        b.push(&[1; 960]);
        assert_eq!(
            b.pull(false),
            TtsPull::Holding,
            "gate closed again after a clear"
        );
    }
}
