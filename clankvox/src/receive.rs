//! Per-speaker receive (docs/clankvox-protocol.md §7): SSRC → user mapping, speaking events,
//! subscriptions, jitter buffering, Opus decode with loss repair, resampling to the subscribed
//! rate, `user_audio_end` and `receive_stats`.
//!
//! Sans-IO: fed decrypted Opus frames and the current instant; returns what to emit.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::codec::Decoder;
use crate::jitter::{JitterBuffer, Playable, PushResult};
use crate::protocol::{Event, Subscription};
use crate::resample::Resampler;

/// A user is no longer speaking this long after their last packet.
pub const SPEAKING_TIMEOUT: Duration = Duration::from_millis(100);
/// Interval of `receive_stats`.
pub const STATS_INTERVAL: Duration = Duration::from_secs(5);

/// Something the receiver wants emitted.
#[derive(Debug, PartialEq)]
pub enum RxOutput {
    Event(Event),
    /// A chunk of a subscribed user's mono PCM at their subscribed rate.
    Audio {
        user_id: u64,
        pcm: Vec<i16>,
    },
}

struct Stream {
    user_id: u64,
    /// Last sequence number seen (for duplicate detection on unsubscribed streams).
    last_seq: Option<u16>,
    jitter: JitterBuffer,
    decoder: Option<Decoder>,
    resampler: Option<Resampler>,
}

struct Speaker {
    speaking: bool,
    last_packet: Instant,
}

struct Sub {
    params: Subscription,
    /// When the last audio was forwarded, while a stream is active.
    active_since_audio: Option<Instant>,
    sent_in_window: bool,
}

/// All receive-side state of one connection.
pub struct Receiver {
    self_user: u64,
    ssrc_users: HashMap<u32, u64>,
    streams: HashMap<u32, Stream>,
    speakers: HashMap<u64, Speaker>,
    subs: HashMap<u64, Sub>,
    next_stats: Option<Instant>,
    /// Decode errors seen (logged by the caller).
    pub decode_errors: u64,
}

fn uid(u: u64) -> String {
    u.to_string()
}

impl Receiver {
    pub fn new(self_user: u64) -> Self {
        Self {
            self_user,
            ssrc_users: HashMap::new(),
            streams: HashMap::new(),
            speakers: HashMap::new(),
            subs: HashMap::new(),
            next_stats: None,
            decode_errors: 0,
        }
    }

    pub fn set_self_user(&mut self, user: u64) {
        self.self_user = user;
    }

    pub fn user_of(&self, ssrc: u32) -> Option<u64> {
        self.ssrc_users.get(&ssrc).copied()
    }

    /// Record that `ssrc` belongs to `user` (voice op 5 / op 18). A new owner resets the stream.
    pub fn map_ssrc(&mut self, ssrc: u32, user: u64) {
        if self.ssrc_users.insert(ssrc, user) != Some(user) {
            self.streams.remove(&ssrc);
        }
    }

    /// Forget connection-scoped state (SSRC maps, decoders, speaking); keep subscriptions.
    pub fn clear_transport_state(&mut self, now: Instant) -> Vec<RxOutput> {
        let mut out = Vec::new();
        for (user, sp) in self.speakers.drain() {
            if sp.speaking {
                out.push(RxOutput::Event(Event::SpeakingEnd { user_id: uid(user) }));
            }
        }
        self.ssrc_users.clear();
        self.streams.clear();
        for (user, sub) in self.subs.iter_mut() {
            if sub.active_since_audio.take().is_some() {
                out.push(RxOutput::Event(Event::UserAudioEnd {
                    user_id: uid(*user),
                }));
            }
        }
        let _ = now;
        out
    }

    /// A user left the channel (voice op 13).
    pub fn remove_user(&mut self, user: u64) -> Vec<RxOutput> {
        let mut out = Vec::new();
        self.ssrc_users.retain(|_, u| *u != user);
        self.streams.retain(|_, s| s.user_id != user);
        if let Some(sp) = self.speakers.remove(&user) {
            if sp.speaking {
                out.push(RxOutput::Event(Event::SpeakingEnd { user_id: uid(user) }));
            }
        }
        if let Some(sub) = self.subs.get_mut(&user) {
            if sub.active_since_audio.take().is_some() {
                out.push(RxOutput::Event(Event::UserAudioEnd { user_id: uid(user) }));
            }
        }
        out.push(RxOutput::Event(Event::ClientDisconnect {
            user_id: uid(user),
        }));
        out
    }

    pub fn subscribe(&mut self, params: Subscription) {
        let window = Duration::from_millis(u64::from(params.jitter_buffer_ms));
        for s in self.streams.values_mut() {
            if s.user_id == params.user_id {
                s.jitter.set_window(window);
                if s.resampler.as_ref().map(|r| r.out_rate()) != Some(params.sample_rate) {
                    s.resampler = None;
                }
            }
        }
        match self.subs.get_mut(&params.user_id) {
            Some(sub) => sub.params = params,
            None => {
                self.subs.insert(
                    params.user_id,
                    Sub {
                        params,
                        active_since_audio: None,
                        sent_in_window: false,
                    },
                );
            }
        }
    }

    pub fn unsubscribe(&mut self, user: u64) -> Vec<RxOutput> {
        let mut out = Vec::new();
        if let Some(sub) = self.subs.remove(&user) {
            if sub.active_since_audio.is_some() {
                out.push(RxOutput::Event(Event::UserAudioEnd { user_id: uid(user) }));
            }
        }
        for s in self.streams.values_mut() {
            if s.user_id == user {
                s.jitter.reset();
                s.decoder = None;
                s.resampler = None;
            }
        }
        out
    }

    /// A decrypted Opus frame arrived on `ssrc` with RTP sequence `seq`.
    pub fn on_frame(&mut self, ssrc: u32, seq: u16, opus: Vec<u8>, now: Instant) -> Vec<RxOutput> {
        let mut out = Vec::new();
        let Some(&user) = self.ssrc_users.get(&ssrc) else {
            return out; // gate 1: unknown SSRC
        };
        if user == self.self_user {
            return out;
        }
        let sub = self.subs.get(&user).map(|s| s.params);
        let stream = self.streams.entry(ssrc).or_insert_with(|| Stream {
            user_id: user,
            last_seq: None,
            jitter: JitterBuffer::new(Duration::from_millis(
                sub.map_or(60, |s| u64::from(s.jitter_buffer_ms)),
            )),
            decoder: None,
            resampler: None,
        });
        let accepted = match sub {
            Some(_) => matches!(
                stream.jitter.push(seq, opus, now),
                PushResult::Accepted | PushResult::Reordered
            ),
            None => {
                let fresh = stream.last_seq != Some(seq);
                stream.last_seq = Some(seq);
                fresh
            }
        };
        if !accepted {
            return out;
        }
        let sp = self.speakers.entry(user).or_insert(Speaker {
            speaking: false,
            last_packet: now,
        });
        sp.last_packet = now;
        if !sp.speaking {
            sp.speaking = true;
            out.push(RxOutput::Event(Event::SpeakingStart { user_id: uid(user) }));
        }
        if sub.is_some() {
            self.play_out(ssrc, now, &mut out);
        }
        out
    }

    fn play_out(&mut self, ssrc: u32, now: Instant, out: &mut Vec<RxOutput>) {
        let Some(stream) = self.streams.get_mut(&ssrc) else {
            return;
        };
        let Some(sub) = self.subs.get_mut(&stream.user_id) else {
            return;
        };
        let playable = stream.jitter.drain(now);
        if playable.is_empty() {
            return;
        }
        if stream.decoder.is_none() {
            match Decoder::new() {
                Ok(d) => stream.decoder = Some(d),
                Err(_) => {
                    self.decode_errors += 1;
                    return;
                }
            }
        }
        let rate = sub.params.sample_rate;
        let resampler = stream
            .resampler
            .get_or_insert_with(|| Resampler::new(48_000, rate));
        let decoder = stream.decoder.as_mut().expect("created above");
        for p in playable {
            let pcm = match &p {
                Playable::Packet(b) => decoder.decode(b),
                Playable::Conceal => decoder.conceal(),
                Playable::Fec(b) => decoder.recover_from_fec(b),
            };
            match pcm {
                Ok(pcm) => {
                    let chunk = resampler.process(pcm);
                    sub.active_since_audio = Some(now);
                    sub.sent_in_window = true;
                    out.push(RxOutput::Audio {
                        user_id: stream.user_id,
                        pcm: chunk,
                    });
                }
                Err(_) => self.decode_errors += 1,
            }
        }
    }

    /// The next instant at which `on_tick` has work (a jitter deadline); ticks also run every
    /// 20 ms regardless.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.streams
            .values()
            .filter_map(|s| s.jitter.deadline())
            .min()
    }

    /// Periodic work: jitter deadlines, speaking end, silence end, stats.
    pub fn on_tick(&mut self, now: Instant) -> Vec<RxOutput> {
        let mut out = Vec::new();
        let due: Vec<u32> = self
            .streams
            .iter()
            .filter(|(_, s)| s.jitter.deadline().is_some_and(|d| d <= now))
            .map(|(k, _)| *k)
            .collect();
        for ssrc in due {
            self.play_out(ssrc, now, &mut out);
        }
        let mut ended: Vec<u64> = Vec::new();
        for (user, sp) in self.speakers.iter_mut() {
            if sp.speaking && now.duration_since(sp.last_packet) >= SPEAKING_TIMEOUT {
                sp.speaking = false;
                ended.push(*user);
            }
        }
        ended.sort_unstable();
        for user in ended {
            out.push(RxOutput::Event(Event::SpeakingEnd { user_id: uid(user) }));
        }
        let mut silent: Vec<u64> = Vec::new();
        for (user, sub) in self.subs.iter_mut() {
            if let Some(last) = sub.active_since_audio {
                let limit = Duration::from_millis(u64::from(sub.params.silence_duration_ms));
                if now.duration_since(last) >= limit {
                    sub.active_since_audio = None;
                    silent.push(*user);
                }
            }
        }
        silent.sort_unstable();
        for user in silent {
            out.push(RxOutput::Event(Event::UserAudioEnd { user_id: uid(user) }));
        }
        match self.next_stats {
            None => self.next_stats = Some(now + STATS_INTERVAL),
            Some(t) if now >= t => {
                self.next_stats = Some(now + STATS_INTERVAL);
                self.stats_events(&mut out);
            }
            Some(_) => {}
        }
        out
    }

    fn stats_events(&mut self, out: &mut Vec<RxOutput>) {
        let mut rows: Vec<(u32, &Stream)> = self
            .streams
            .iter()
            .filter(|(_, s)| self.subs.get(&s.user_id).is_some_and(|u| u.sent_in_window))
            .map(|(k, s)| (*k, s))
            .collect();
        rows.sort_by_key(|(k, _)| *k);
        for (ssrc, s) in rows {
            let st = s.jitter.stats;
            out.push(RxOutput::Event(Event::ReceiveStats {
                user_id: uid(s.user_id),
                ssrc,
                packets: st.packets,
                lost: st.lost,
                concealed: st.concealed,
                fec_recovered: st.fec_recovered,
                late: st.late,
                duplicates: st.duplicates,
                reordered: st.reordered,
                jitter_depth_ms: s.jitter.depth().as_millis() as u64,
            }));
        }
        for sub in self.subs.values_mut() {
            sub.sent_in_window = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::{Encoder, FRAME_SAMPLES};

    const MS: Duration = Duration::from_millis(1);
    const ALICE: u64 = 111;
    const ME: u64 = 999;

    fn opus_frames(n: usize) -> Vec<Vec<u8>> {
        let mut enc = Encoder::new().unwrap();
        (0..n)
            .map(|k| {
                let pcm: Vec<i16> = (0..FRAME_SAMPLES)
                    .map(|i| {
                        let t = (k * FRAME_SAMPLES + i) as f32 / 48_000.0;
                        (6000.0 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()) as i16
                    })
                    .collect();
                enc.encode_mono(&pcm).unwrap()
            })
            .collect()
    }

    fn sub(rate: u32) -> Subscription {
        Subscription {
            user_id: ALICE,
            silence_duration_ms: 700,
            sample_rate: rate,
            jitter_buffer_ms: 60,
        }
    }

    fn events(out: &[RxOutput]) -> Vec<String> {
        out.iter()
            .map(|o| match o {
                RxOutput::Event(e) => serde_json::to_value(e).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                RxOutput::Audio { pcm, .. } => format!("audio{}", pcm.len()),
            })
            .collect()
    }

    #[test]
    fn unmapped_and_self_packets_are_ignored() {
        let t = Instant::now();
        let mut r = Receiver::new(ME);
        assert!(r.on_frame(1, 0, vec![0xf8, 0xff, 0xfe], t).is_empty());
        r.map_ssrc(2, ME);
        assert!(r.on_frame(2, 0, vec![0xf8, 0xff, 0xfe], t).is_empty());
    }

    #[test]
    fn unsubscribed_users_get_speaking_events_only() {
        let t = Instant::now();
        let mut r = Receiver::new(ME);
        r.map_ssrc(7, ALICE);
        let f = opus_frames(3);
        assert_eq!(
            events(&r.on_frame(7, 0, f[0].clone(), t)),
            vec!["speaking_start"]
        );
        assert!(r.on_frame(7, 1, f[1].clone(), t + 20 * MS).is_empty());
        assert!(r.on_tick(t + 119 * MS).is_empty());
        assert_eq!(events(&r.on_tick(t + 120 * MS)), vec!["speaking_end"]);
    }

    #[test]
    fn subscribed_users_get_pcm_at_their_rate_then_audio_end() {
        let t = Instant::now();
        let mut r = Receiver::new(ME);
        r.map_ssrc(7, ALICE);
        r.subscribe(sub(24_000));
        let f = opus_frames(3);
        assert_eq!(
            events(&r.on_frame(7, 0, f[0].clone(), t)),
            vec!["speaking_start", "audio480"]
        );
        assert_eq!(
            events(&r.on_frame(7, 1, f[1].clone(), t + 20 * MS)),
            vec!["audio480"]
        );
        let mut later = r.on_tick(t + 200 * MS);
        assert_eq!(events(&later), vec!["speaking_end"]);
        later = r.on_tick(t + 719 * MS);
        assert!(later.is_empty());
        assert_eq!(events(&r.on_tick(t + 720 * MS)), vec!["user_audio_end"]);
    }

    #[test]
    fn a_lost_packet_is_repaired_after_the_jitter_window() {
        let t = Instant::now();
        let mut r = Receiver::new(ME);
        r.map_ssrc(7, ALICE);
        r.subscribe(sub(16_000));
        let f = opus_frames(4);
        r.on_frame(7, 0, f[0].clone(), t);
        r.on_frame(7, 1, f[1].clone(), t + 20 * MS);
        // 2 lost
        assert!(r.on_frame(7, 3, f[3].clone(), t + 60 * MS).is_empty());
        assert_eq!(r.next_deadline(), Some(t + 120 * MS));
        assert!(events(&r.on_tick(t + 100 * MS)).is_empty());
        // the FEC-rebuilt frame 2, then frame 3
        assert_eq!(
            events(&r.on_tick(t + 120 * MS)),
            vec!["audio320", "audio320"]
        );
        assert_eq!(events(&r.on_tick(t + 160 * MS)), vec!["speaking_end"]);
    }

    #[test]
    fn disconnect_ends_streams() {
        let t = Instant::now();
        let mut r = Receiver::new(ME);
        r.map_ssrc(7, ALICE);
        r.subscribe(sub(24_000));
        r.on_frame(7, 0, opus_frames(1)[0].clone(), t);
        assert_eq!(
            events(&r.remove_user(ALICE)),
            vec!["speaking_end", "user_audio_end", "client_disconnect"]
        );
        assert_eq!(r.user_of(7), None);
    }

    #[test]
    fn unsubscribe_reports_end_of_an_active_stream() {
        let t = Instant::now();
        let mut r = Receiver::new(ME);
        r.map_ssrc(7, ALICE);
        r.subscribe(sub(24_000));
        r.on_frame(7, 0, opus_frames(1)[0].clone(), t);
        assert_eq!(events(&r.unsubscribe(ALICE)), vec!["user_audio_end"]);
        assert!(r.unsubscribe(ALICE).is_empty());
    }

    #[test]
    fn stats_every_five_seconds_for_active_subscribers() {
        let t = Instant::now();
        let mut r = Receiver::new(ME);
        r.map_ssrc(7, ALICE);
        r.subscribe(sub(24_000));
        r.on_tick(t);
        r.on_frame(7, 0, opus_frames(1)[0].clone(), t);
        let out = r.on_tick(t + STATS_INTERVAL);
        let stats: Vec<&RxOutput> = out
            .iter()
            .filter(|o| matches!(o, RxOutput::Event(Event::ReceiveStats { .. })))
            .collect();
        assert_eq!(stats.len(), 1);
        // nothing sent in the next window: no stats
        let out = r.on_tick(t + 2 * STATS_INTERVAL);
        assert!(!out
            .iter()
            .any(|o| matches!(o, RxOutput::Event(Event::ReceiveStats { .. }))));
    }

    #[test]
    fn a_new_owner_resets_the_stream() {
        let t = Instant::now();
        let mut r = Receiver::new(ME);
        r.map_ssrc(7, ALICE);
        r.on_frame(7, 0, vec![0xf8, 0xff, 0xfe], t);
        r.map_ssrc(7, 222);
        let out = r.on_frame(7, 0, vec![0xf8, 0xff, 0xfe], t);
        assert_eq!(
            out,
            vec![RxOutput::Event(Event::SpeakingStart {
                user_id: "222".into()
            })]
        );
    }
}
#[cfg(test)]
mod loss_tests {
    use super::*;
    use crate::codec::{Encoder, FRAME_SAMPLES};

    /// Ten 20 ms packets with the fifth lost, ticks in between: every frame comes out, the
    /// lost one rebuilt, in order and at the subscribed size.
    #[test]
    fn a_mid_stream_loss_still_yields_every_frame() {
        let t = Instant::now();
        let mut r = Receiver::new(1);
        r.map_ssrc(7, 5);
        r.subscribe(Subscription {
            user_id: 5,
            silence_duration_ms: 700,
            sample_rate: 24_000,
            jitter_buffer_ms: 60,
        });
        let mut enc = Encoder::new().unwrap();
        let mut sizes = Vec::new();
        for seq in 0..10u16 {
            let now = t + Duration::from_millis(20 * u64::from(seq));
            let pcm: Vec<i16> = (0..FRAME_SAMPLES)
                .map(|i| ((i % 48) as i16 - 24) * 300)
                .collect();
            let opus = enc.encode_mono(&pcm).unwrap();
            let mut out = Vec::new();
            if seq != 4 {
                out.extend(r.on_frame(7, seq, opus, now));
            }
            out.extend(r.on_tick(now + Duration::from_millis(10)));
            sizes.extend(out.iter().filter_map(|o| match o {
                RxOutput::Audio { pcm, .. } => Some(pcm.len()),
                RxOutput::Event(_) => None,
            }));
        }
        assert_eq!(sizes, vec![480; 10]);
    }
}
