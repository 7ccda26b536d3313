//! The 20 ms send clock's wake-up source: a periodic `timerfd` on `CLOCK_MONOTONIC` (Linux),
//! armed once on the clock's grid and read by the media loop through the tokio reactor.
//!
//! Against a tokio `Sleep` re-armed every tick, the kernel keeps the period itself: no timer is
//! programmed or cancelled at each loop turn (a datagram's wake-up no longer re-arms the
//! tick's deadline in the `epoll_wait` timeout), and the tick fires at its nanosecond deadline
//! rather than at tokio's next millisecond. [`SendClock`](crate::clock::SendClock) still decides
//! which tick runs (catching up, skipping): this only says when to look.

use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::time::{Duration, Instant};

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;

/// A periodic timer whose expirations fall on `first + k × period`.
pub struct TickTimer {
    fd: AsyncFd<OwnedFd>,
}

fn timespec(d: Duration) -> libc::timespec {
    libc::timespec {
        tv_sec: d.as_secs() as libc::time_t,
        tv_nsec: d.subsec_nanos() as libc::c_long,
    }
}

/// `CLOCK_MONOTONIC` now, as a duration since its origin (the clock `Instant` reads on Linux).
fn monotonic_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

impl TickTimer {
    /// A timer firing at `first`, then every `period`. Needs a tokio runtime with IO enabled.
    pub fn new(first: Instant, period: Duration) -> io::Result<Self> {
        // SAFETY: plain syscall; the result is checked before use.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // Map the `Instant` onto CLOCK_MONOTONIC through a reading of both clocks.
        let (now, mono) = (Instant::now(), monotonic_now());
        let at = match first.checked_duration_since(now) {
            Some(ahead) => mono + ahead,
            None => mono.saturating_sub(now - first),
        };
        // An all-zero `it_value` would disarm the timer.
        let at = at.max(Duration::from_nanos(1));
        let spec = libc::itimerspec {
            it_interval: timespec(period),
            it_value: timespec(at),
        };
        // SAFETY: `fd` is a timerfd; `spec` outlives the call; the old value is not wanted.
        let rc = unsafe {
            libc::timerfd_settime(
                fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: the `AsyncFd` owns `fd`, so it stays open and the same for its whole life.
        let fd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }?;
        Ok(Self { fd })
    }

    /// Wait for the next expiration; returns how many expired since the last call (≥ 1).
    pub async fn wait(&self) -> io::Result<u64> {
        loop {
            let mut guard = self.fd.readable().await?;
            let read = guard.try_io(|fd| {
                let mut count = 0u64;
                // SAFETY: reading 8 bytes into a u64, as timerfd(2) specifies.
                let n = unsafe {
                    libc::read(
                        fd.as_raw_fd(),
                        (&mut count as *mut u64).cast(),
                        std::mem::size_of::<u64>(),
                    )
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(count)
                }
            });
            match read {
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    // A timer never fires early: each expiration is checked against its own deadline, with no
    // upper bound on lateness (the machine may be busy).
    #[tokio::test(flavor = "current_thread")]
    async fn expirations_fall_on_the_grid_and_never_early() {
        let first = Instant::now() + 3 * MS;
        let timer = TickTimer::new(first, 2 * MS).unwrap();
        let mut expired = 0u64;
        while expired < 5 {
            let n = timer.wait().await.unwrap();
            assert!(n >= 1, "a wake-up reports at least one expiration");
            expired += n;
            let due = first + 2 * MS * u32::try_from(expired - 1).unwrap();
            assert!(
                Instant::now() >= due,
                "expiration {expired} came before {due:?}"
            );
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_first_deadline_in_the_past_fires_at_once() {
        let past = Instant::now() - 50 * MS;
        let timer = TickTimer::new(past, Duration::from_secs(3600)).unwrap();
        assert_eq!(timer.wait().await.unwrap(), 1);
    }
}
