//! A small per-SSRC jitter buffer (docs/clankvox-protocol.md §7).
//!
//! In-order packets are released at once, so the common case adds no latency. When a gap
//! appears, later packets are held for up to `window` waiting for the missing one. When the
//! wait expires (or more than `window` of audio is queued behind the gap), a gap of 1–5 packets
//! is concealed: PLC for all but the last missing frame, which is rebuilt from the next packet's
//! in-band FEC. Longer gaps (DTX, a reconnect) are skipped without concealment.

use std::time::{Duration, Instant};

use crate::rtp::seq_distance;

/// Largest gap that gets concealed.
pub const MAX_CONCEALED_GAP: i32 = 5;
/// A packet this far behind the playout point means the sender restarted its stream.
const RESYNC_BEHIND: i32 = 50;
/// Frame duration.
const FRAME: Duration = Duration::from_millis(20);

/// What to feed the decoder next, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Playable {
    /// Decode this packet.
    Packet(Vec<u8>),
    /// A lost frame: packet-loss concealment.
    Conceal,
    /// A lost frame rebuilt from the in-band FEC of this (next) packet.
    Fec(Vec<u8>),
}

/// What happened to a pushed packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushResult {
    Accepted,
    /// Arrived after a later packet but in time to be played in order.
    Reordered,
    Duplicate,
    /// Behind the playout point: too late to play.
    Late,
}

/// Counters reported in `receive_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitterStats {
    pub packets: u64,
    pub lost: u64,
    pub concealed: u64,
    pub fec_recovered: u64,
    pub late: u64,
    pub duplicates: u64,
    pub reordered: u64,
}

#[derive(Debug)]
pub struct JitterBuffer {
    window: Duration,
    /// Sequence number of the next packet to play; `None` before the first packet.
    next_seq: Option<u16>,
    last_played: Option<u16>,
    /// Held packets, sorted by sequence distance from `next_seq`.
    held: Vec<(u16, Vec<u8>)>,
    gap_since: Option<Instant>,
    pub stats: JitterStats,
}

impl JitterBuffer {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            next_seq: None,
            last_played: None,
            held: Vec::new(),
            gap_since: None,
            stats: JitterStats::default(),
        }
    }

    pub fn set_window(&mut self, window: Duration) {
        self.window = window;
    }

    /// Audio currently held behind a gap.
    pub fn depth(&self) -> Duration {
        FRAME * self.held.len() as u32
    }

    /// When `drain` should be called again to resolve a pending gap.
    pub fn deadline(&self) -> Option<Instant> {
        self.gap_since.map(|t| t + self.window)
    }

    /// Forget the stream (SSRC changed owner, decoder reset).
    pub fn reset(&mut self) {
        self.next_seq = None;
        self.last_played = None;
        self.held.clear();
        self.gap_since = None;
    }

    /// Offer a packet; call `drain` afterwards for what became playable.
    pub fn push(&mut self, seq: u16, payload: Vec<u8>, now: Instant) -> PushResult {
        let next = match self.next_seq {
            None => {
                self.next_seq = Some(seq);
                seq
            }
            Some(n) => n,
        };
        let d = seq_distance(next, seq);
        if d < 0 {
            if d < -RESYNC_BEHIND {
                // The sender restarted: play the new stream from here.
                self.reset();
                self.next_seq = Some(seq);
                self.stats.packets += 1;
                self.held.push((seq, payload));
                return PushResult::Accepted;
            }
            if self.last_played == Some(seq) {
                self.stats.duplicates += 1;
                return PushResult::Duplicate;
            }
            self.stats.late += 1;
            return PushResult::Late;
        }
        let pos = self
            .held
            .iter()
            .position(|(s, _)| seq_distance(next, *s) >= d);
        if let Some(p) = pos {
            if self.held[p].0 == seq {
                self.stats.duplicates += 1;
                return PushResult::Duplicate;
            }
        }
        self.stats.packets += 1;
        let reordered = pos.is_some();
        self.held
            .insert(pos.unwrap_or(self.held.len()), (seq, payload));
        if d > 0 && self.gap_since.is_none() {
            self.gap_since = Some(now);
        }
        if reordered {
            self.stats.reordered += 1;
            PushResult::Reordered
        } else {
            PushResult::Accepted
        }
    }

    /// Everything playable at `now`, in decode order.
    pub fn drain(&mut self, now: Instant) -> Vec<Playable> {
        let mut out = Vec::new();
        while let Some(next) = self.next_seq {
            let Some((first_seq, _)) = self.held.first() else {
                self.gap_since = None;
                break;
            };
            let missing = seq_distance(next, *first_seq);
            if missing == 0 {
                let (seq, payload) = self.held.remove(0);
                out.push(Playable::Packet(payload));
                self.last_played = Some(seq);
                self.next_seq = Some(seq.wrapping_add(1));
                self.gap_since = None;
                if !self.held.is_empty() && seq_distance(seq.wrapping_add(1), self.held[0].0) > 0 {
                    self.gap_since = Some(now);
                }
                continue;
            }
            let waited_out = self
                .gap_since
                .is_none_or(|since| now.duration_since(since) >= self.window);
            let overfull = self.depth() > self.window;
            if !(waited_out || overfull) {
                break;
            }
            self.stats.lost += missing as u64;
            if missing <= MAX_CONCEALED_GAP {
                for _ in 0..missing - 1 {
                    out.push(Playable::Conceal);
                }
                out.push(Playable::Fec(self.held[0].1.clone()));
                self.stats.concealed += (missing - 1) as u64;
                self.stats.fec_recovered += 1;
            }
            self.next_seq = Some(*first_seq);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn p(n: u8) -> Vec<u8> {
        vec![n]
    }

    fn packets(v: &[Playable]) -> Vec<String> {
        v.iter()
            .map(|x| match x {
                Playable::Packet(b) => format!("P{}", b[0]),
                Playable::Conceal => "C".into(),
                Playable::Fec(b) => format!("F{}", b[0]),
            })
            .collect()
    }

    #[test]
    fn in_order_packets_play_at_once() {
        let t = Instant::now();
        let mut j = JitterBuffer::new(60 * MS);
        for s in 0..5u16 {
            assert_eq!(j.push(100 + s, p(s as u8), t), PushResult::Accepted);
            assert_eq!(packets(&j.drain(t)), vec![format!("P{s}")]);
        }
        assert_eq!(j.deadline(), None);
    }

    #[test]
    fn a_reordered_packet_is_slotted_in() {
        let t = Instant::now();
        let mut j = JitterBuffer::new(60 * MS);
        j.push(1, p(1), t);
        j.drain(t);
        assert_eq!(j.push(3, p(3), t), PushResult::Accepted);
        assert!(j.drain(t + 10 * MS).is_empty(), "held behind the gap");
        assert_eq!(j.deadline(), Some(t + 60 * MS));
        assert_eq!(j.push(2, p(2), t + 15 * MS), PushResult::Reordered);
        assert_eq!(packets(&j.drain(t + 15 * MS)), vec!["P2", "P3"]);
        assert_eq!(j.stats.reordered, 1);
        assert_eq!(j.stats.lost, 0);
    }

    #[test]
    fn a_lost_packet_is_recovered_from_fec_after_the_window() {
        let t = Instant::now();
        let mut j = JitterBuffer::new(60 * MS);
        j.push(10, p(10), t);
        j.drain(t);
        j.push(12, p(12), t + 40 * MS);
        assert!(j.drain(t + 99 * MS).is_empty());
        assert_eq!(packets(&j.drain(t + 100 * MS)), vec!["F12", "P12"]);
        assert_eq!(j.stats.lost, 1);
        assert_eq!(j.stats.fec_recovered, 1);
    }

    #[test]
    fn a_burst_loss_is_concealed_then_fec() {
        let t = Instant::now();
        let mut j = JitterBuffer::new(Duration::ZERO);
        j.push(0, p(0), t);
        j.drain(t);
        j.push(4, p(4), t);
        // 1, 2 and 3 are missing: two concealed, the third rebuilt from 4's FEC
        assert_eq!(packets(&j.drain(t)), vec!["C", "C", "F4", "P4"]);
        assert_eq!(j.stats.concealed, 2);
        assert_eq!(j.stats.lost, 3);
    }

    #[test]
    fn a_long_gap_is_skipped_without_concealment() {
        let t = Instant::now();
        let mut j = JitterBuffer::new(20 * MS);
        j.push(0, p(0), t);
        j.drain(t);
        j.push(50, p(50), t);
        assert_eq!(packets(&j.drain(t + 20 * MS)), vec!["P50"]);
        assert_eq!(j.stats.lost, 49);
        assert_eq!(j.stats.concealed, 0);
    }

    #[test]
    fn overfull_buffer_resolves_before_the_window() {
        let t = Instant::now();
        let mut j = JitterBuffer::new(40 * MS);
        j.push(0, p(0), t);
        j.drain(t);
        for s in 2..5u16 {
            j.push(s, p(s as u8), t);
        }
        // 60 ms held > 40 ms window
        assert_eq!(packets(&j.drain(t)), vec!["F2", "P2", "P3", "P4"]);
    }

    #[test]
    fn duplicates_and_late_packets_are_dropped() {
        let t = Instant::now();
        let mut j = JitterBuffer::new(60 * MS);
        j.push(5, p(5), t);
        j.drain(t);
        assert_eq!(j.push(5, p(5), t), PushResult::Duplicate);
        j.push(7, p(7), t);
        assert_eq!(j.push(7, p(7), t), PushResult::Duplicate);
        assert_eq!(j.push(3, p(3), t), PushResult::Late);
        assert_eq!(j.stats.duplicates, 2);
        assert_eq!(j.stats.late, 1);
    }

    #[test]
    fn sequence_wrap_is_in_order() {
        let t = Instant::now();
        let mut j = JitterBuffer::new(60 * MS);
        j.push(65535, p(1), t);
        j.push(0, p(2), t);
        assert_eq!(packets(&j.drain(t)), vec!["P1", "P2"]);
    }

    #[test]
    fn a_restarted_stream_resyncs() {
        let t = Instant::now();
        let mut j = JitterBuffer::new(60 * MS);
        j.push(30_000, p(1), t);
        j.drain(t);
        assert_eq!(j.push(10, p(2), t), PushResult::Accepted);
        assert_eq!(packets(&j.drain(t)), vec!["P2"]);
    }
}
