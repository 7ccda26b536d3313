//! The drift-free 20 ms send clock (docs/clankvox-protocol.md §6).
//!
//! Tick *n* is due at `start + n × period`, computed from the start instant every time, so the
//! error of any one sleep never accumulates. A late wake-up runs the overdue tick at once (the
//! next deadline is then already due, so the schedule catches up by itself); a wake-up more
//! than `max_lateness` late skips the missed ticks instead of bursting them.

use std::time::{Duration, Instant};

/// Period of the Opus send clock.
pub const FRAME_PERIOD: Duration = Duration::from_millis(20);
/// Lateness beyond which missed ticks are skipped.
pub const MAX_LATENESS: Duration = Duration::from_millis(60);

/// What the clock says when the driver wakes up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tick {
    /// Index of the tick to run now (also the RTP frame index).
    pub index: u64,
    /// Ticks skipped because the process fell too far behind.
    pub skipped: u64,
}

/// A schedule of ticks anchored at one instant.
#[derive(Clone, Debug)]
pub struct SendClock {
    start: Instant,
    period: Duration,
    max_lateness: Duration,
    next: u64,
}

impl SendClock {
    pub fn new(start: Instant) -> Self {
        Self::with_period(start, FRAME_PERIOD, MAX_LATENESS)
    }

    pub fn with_period(start: Instant, period: Duration, max_lateness: Duration) -> Self {
        Self {
            start,
            period,
            max_lateness,
            next: 0,
        }
    }

    /// When tick `n` is due.
    pub fn deadline_of(&self, n: u64) -> Instant {
        let nanos = self.period.as_nanos() * u128::from(n);
        self.start + Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// When the next tick is due: sleep until then.
    pub fn next_deadline(&self) -> Instant {
        self.deadline_of(self.next)
    }

    /// Called on waking at `now`; `None` if the next tick is not due yet (an early wake-up).
    pub fn poll(&mut self, now: Instant) -> Option<Tick> {
        let due = self.next_deadline();
        if now < due {
            return None;
        }
        let mut skipped = 0;
        if now - due > self.max_lateness {
            let elapsed = now.duration_since(self.start).as_nanos();
            let current = u64::try_from(elapsed / self.period.as_nanos()).unwrap_or(u64::MAX);
            skipped = current - self.next;
            self.next = current;
        }
        let index = self.next;
        self.next += 1;
        Some(Tick { index, skipped })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn deadlines_are_computed_not_accumulated() {
        let t0 = Instant::now();
        let mut c = SendClock::new(t0);
        // Every wake-up is 3 ms late; an accumulating sleep would drift 3 ms per tick.
        for n in 0..1000u64 {
            let wake = c.next_deadline() + 3 * MS;
            let tick = c.poll(wake).unwrap();
            assert_eq!(
                tick,
                Tick {
                    index: n,
                    skipped: 0
                }
            );
        }
        assert_eq!(c.next_deadline(), t0 + Duration::from_secs(20));
    }

    #[test]
    fn early_wake_up_runs_nothing() {
        let t0 = Instant::now();
        let mut c = SendClock::new(t0);
        assert_eq!(c.poll(t0).unwrap().index, 0);
        assert_eq!(c.poll(t0 + 19 * MS), None);
        assert_eq!(c.poll(t0 + 20 * MS).unwrap().index, 1);
    }

    #[test]
    fn small_lateness_catches_up_tick_by_tick() {
        let t0 = Instant::now();
        let mut c = SendClock::new(t0);
        c.poll(t0).unwrap();
        let late = t0 + 75 * MS; // ticks 1 (20 ms) .. 3 (60 ms) are due; 55 ms late
        assert_eq!(
            c.poll(late),
            Some(Tick {
                index: 1,
                skipped: 0
            })
        );
        assert_eq!(
            c.poll(late),
            Some(Tick {
                index: 2,
                skipped: 0
            })
        );
        assert_eq!(
            c.poll(late),
            Some(Tick {
                index: 3,
                skipped: 0
            })
        );
        assert_eq!(c.poll(late), None);
        assert_eq!(c.next_deadline(), t0 + 80 * MS);
    }

    #[test]
    fn large_lateness_skips_ahead() {
        let t0 = Instant::now();
        let mut c = SendClock::new(t0);
        c.poll(t0).unwrap();
        let tick = c.poll(t0 + 205 * MS).unwrap();
        assert_eq!(
            tick,
            Tick {
                index: 10,
                skipped: 9
            }
        );
        assert_eq!(c.next_deadline(), t0 + 220 * MS);
    }
}
