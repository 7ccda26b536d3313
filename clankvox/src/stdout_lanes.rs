//! The stdout writer (docs/clankvox-protocol.md §3.3): two priority lanes and the one consumer
//! that owns the pipe.
//!
//! Why not tokio's `Stdout`: it hands every write to tokio's blocking pool, so each frame cost a
//! cross-thread hand-off and a wake-up both ways. Here the media loop appends frames to the lanes
//! under an uncontended mutex (no system call) and wakes the consumer once per loop turn; the
//! consumer takes everything queued, control first, and writes it with one `write`.
//!
//! Two consumers, the same lanes:
//! - [`task_lanes`]: a task on the media loop's own runtime writing to a non-blocking pipe. Its
//!   wake-up is a local task wake, no thread switch; a full pipe parks the task, never the loop.
//! - [`spawn_writer`]: an OS thread with blocking writes, for a stdout that is not a pipe.
//!
//! - **control** is unbounded: every JSON event.
//! - **audio** holds at most `audio_capacity` frames not yet taken by the consumer; when it is
//!   full the newest frame is dropped and counted.
//!
//! The consumer ends when the lanes are closed (after writing what is left on the control lane) or
//! when a write fails (the reader went away).

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

#[derive(Default)]
struct Queued {
    control: Vec<u8>,
    audio: Vec<u8>,
    audio_frames: usize,
    audio_dropped: u64,
    /// No more frames will come: write the control lane and stop.
    closed: bool,
    /// A write failed: frames are discarded from now on.
    failed: bool,
    /// The consumer waits for a wake-up.
    writer_idle: bool,
}

impl Queued {
    fn is_empty(&self) -> bool {
        self.control.is_empty() && self.audio_frames == 0
    }

    /// Move what is queued into the empty `batch`, control first; the lanes' closed flag.
    /// Once closed, queued audio is dropped (shutdown flushes the control lane only, §8).
    fn take_into(&mut self, batch: &mut Vec<u8>) -> bool {
        // Swap rather than copy the control lane: both sides keep their capacity.
        std::mem::swap(batch, &mut self.control);
        if !self.closed {
            batch.extend_from_slice(&self.audio);
        }
        self.audio.clear();
        self.audio_frames = 0;
        self.closed
    }

    fn fail(&mut self) {
        self.failed = true;
        self.control = Vec::new();
        self.audio = Vec::new();
        self.audio_frames = 0;
    }
}

enum Wakeup {
    Thread(Condvar),
    Task(Notify),
}

struct Shared {
    queued: Mutex<Queued>,
    wakeup: Wakeup,
    audio_capacity: usize,
}

impl Shared {
    fn new(audio_capacity: usize, wakeup: Wakeup) -> Arc<Self> {
        Arc::new(Self {
            queued: Mutex::new(Queued::default()),
            wakeup,
            audio_capacity,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Queued> {
        // A panic while holding the lock leaves plain byte buffers behind: still usable.
        self.queued.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notify(&self) {
        match &self.wakeup {
            Wakeup::Thread(ready) => ready.notify_one(),
            // Stores a permit if the task is not waiting yet: no wake-up is lost.
            Wakeup::Task(ready) => ready.notify_one(),
        }
    }
}

/// The producer side of the stdout lanes; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct Lanes {
    shared: Arc<Shared>,
}

impl Lanes {
    /// Queue an encoded frame on the control lane. It is written after the next [`wake`].
    ///
    /// [`wake`]: Lanes::wake
    pub fn push_control(&self, frame: &[u8]) {
        let mut q = self.shared.lock();
        if !q.failed && !q.closed {
            q.control.extend_from_slice(frame);
        }
    }

    /// Queue an encoded frame on the audio lane; `false` if the lane was full and the frame was
    /// dropped (also counted in [`audio_dropped`]).
    ///
    /// [`audio_dropped`]: Lanes::audio_dropped
    pub fn push_audio(&self, frame: &[u8]) -> bool {
        let mut q = self.shared.lock();
        if q.failed || q.closed {
            return true; // nobody will read it: not a lane overflow
        }
        if q.audio_frames >= self.shared.audio_capacity {
            q.audio_dropped += 1;
            return false;
        }
        q.audio.extend_from_slice(frame);
        q.audio_frames += 1;
        true
    }

    /// Audio frames dropped so far because the audio lane was full.
    pub fn audio_dropped(&self) -> u64 {
        self.shared.lock().audio_dropped
    }

    /// Let the consumer take what is queued: once per batch of pushes, not per frame.
    pub fn wake(&self) {
        let q = self.shared.lock();
        if q.writer_idle && !q.is_empty() {
            self.shared.notify();
        }
    }

    /// No more frames: the consumer writes the control lane, flushes and ends. Queued audio is
    /// dropped.
    pub fn close(&self) {
        let mut q = self.shared.lock();
        q.closed = true;
        self.shared.notify();
    }
}

/// Lanes whose consumer is [`LaneDrain::write_to`], a future to run as a task.
pub fn task_lanes(audio_capacity: usize) -> (Lanes, LaneDrain) {
    let shared = Shared::new(audio_capacity, Wakeup::Task(Notify::new()));
    (
        Lanes {
            shared: shared.clone(),
        },
        LaneDrain { shared },
    )
}

/// The consumer half of [`task_lanes`].
pub struct LaneDrain {
    shared: Arc<Shared>,
}

impl LaneDrain {
    /// Write batches to `out` until the lanes are closed (`Ok`) or a write fails (`Err`).
    /// `out` should be non-blocking (a tokio pipe): a blocking write would stall the runtime.
    pub async fn write_to<W: AsyncWrite + Unpin>(self, out: &mut W) -> std::io::Result<()> {
        let Wakeup::Task(ready) = &self.shared.wakeup else {
            unreachable!("task_lanes makes task lanes");
        };
        let mut batch = Vec::with_capacity(64 * 1024);
        loop {
            let closed = {
                let mut q = self.shared.lock();
                if q.is_empty() && !q.closed {
                    q.writer_idle = true;
                    None
                } else {
                    q.writer_idle = false;
                    Some(q.take_into(&mut batch))
                }
            };
            let Some(closed) = closed else {
                ready.notified().await;
                continue;
            };
            let written = match out.write_all(&batch).await {
                Ok(()) => out.flush().await,
                Err(e) => Err(e),
            };
            batch.clear();
            if let Err(e) = written {
                self.shared.lock().fail();
                return Err(e);
            }
            if closed {
                return Ok(());
            }
        }
    }
}

/// Start a writer thread on `out` (blocking writes). `on_exit` runs on that thread when it ends,
/// after the last write (normal close) or after a failed write.
pub fn spawn_writer<W, F>(out: W, audio_capacity: usize, on_exit: F) -> std::io::Result<Lanes>
where
    W: Write + Send + 'static,
    F: FnOnce() + Send + 'static,
{
    let shared = Shared::new(audio_capacity, Wakeup::Thread(Condvar::new()));
    let lanes = Lanes {
        shared: shared.clone(),
    };
    std::thread::Builder::new()
        .name("clankvox-stdout".into())
        .spawn(move || {
            let _ = write_until_closed(&shared, out);
            on_exit();
        })?;
    Ok(lanes)
}

fn write_until_closed(shared: &Shared, mut out: impl Write) -> std::io::Result<()> {
    let Wakeup::Thread(ready) = &shared.wakeup else {
        unreachable!("spawn_writer makes thread lanes");
    };
    let mut batch = Vec::with_capacity(64 * 1024);
    loop {
        let closed = {
            let mut q = shared.lock();
            while q.is_empty() && !q.closed {
                q.writer_idle = true;
                q = ready.wait(q).unwrap_or_else(|p| p.into_inner());
                q.writer_idle = false;
            }
            q.take_into(&mut batch)
        };
        let written = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        if let Err(e) = written {
            shared.lock().fail();
            return Err(e);
        }
        if closed {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// A writer into shared memory that can be told to fail.
    #[derive(Clone, Default)]
    struct Sink {
        bytes: Arc<Mutex<Vec<u8>>>,
        writes: Arc<Mutex<usize>>,
        fail: bool,
    }

    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.fail {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            *self.writes.lock().unwrap() += 1;
            self.bytes.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn start(sink: Sink, capacity: usize) -> (Lanes, mpsc::Receiver<()>) {
        let (tx, rx) = mpsc::channel();
        let lanes = spawn_writer(sink, capacity, move || tx.send(()).unwrap()).unwrap();
        (lanes, rx)
    }

    fn wait(rx: &mpsc::Receiver<()>) {
        rx.recv_timeout(Duration::from_secs(5))
            .expect("writer ended");
    }

    /// Until the writer sleeps: from then on it takes nothing before a `wake`.
    fn wait_idle(lanes: &Lanes) {
        for _ in 0..2500 {
            if lanes.shared.lock().writer_idle {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("the writer never went idle");
    }

    fn wait_len(sink: &Sink, n: usize) {
        for _ in 0..2500 {
            if sink.bytes.lock().unwrap().len() >= n {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        panic!("fewer than {n} bytes written");
    }

    #[test]
    fn control_goes_before_audio_and_a_batch_is_one_write() {
        let sink = Sink::default();
        let (lanes, done) = start(sink.clone(), 512);
        wait_idle(&lanes);
        lanes.push_audio(b"a1");
        lanes.push_audio(b"a2");
        lanes.push_control(b"c1");
        lanes.push_control(b"c2");
        assert!(
            sink.bytes.lock().unwrap().is_empty(),
            "written before the wake"
        );
        lanes.wake();
        wait_len(&sink, 8);
        assert_eq!(*sink.bytes.lock().unwrap(), b"c1c2a1a2");
        assert_eq!(*sink.writes.lock().unwrap(), 1);
        lanes.close();
        wait(&done);
    }

    #[test]
    fn the_audio_lane_drops_the_newest_beyond_its_capacity() {
        let sink = Sink::default();
        let (lanes, done) = start(sink.clone(), 2);
        wait_idle(&lanes);
        assert!(lanes.push_audio(b"1"));
        assert!(lanes.push_audio(b"2"));
        assert!(!lanes.push_audio(b"3"));
        assert_eq!(lanes.audio_dropped(), 1);
        lanes.wake();
        wait_len(&sink, 2);
        assert_eq!(*sink.bytes.lock().unwrap(), b"12");
        // Taken by the writer: the lane has room again.
        wait_idle(&lanes);
        assert!(lanes.push_audio(b"4"));
        lanes.close();
        wait(&done);
    }

    #[test]
    fn close_writes_the_control_lane_and_drops_audio() {
        let sink = Sink::default();
        let (lanes, done) = start(sink.clone(), 512);
        wait_idle(&lanes);
        lanes.push_audio(b"audio");
        lanes.push_control(b"last");
        lanes.close();
        wait(&done);
        assert_eq!(*sink.bytes.lock().unwrap(), b"last");
    }

    #[test]
    fn a_failed_write_ends_the_writer_and_later_frames_are_discarded() {
        let sink = Sink {
            fail: true,
            ..Sink::default()
        };
        let (lanes, done) = start(sink, 512);
        lanes.push_control(b"x");
        lanes.wake();
        wait(&done);
        lanes.push_control(b"y");
        assert!(lanes.push_audio(b"z"));
        let q = lanes.shared.lock();
        assert!(q.failed && q.control.is_empty() && q.audio.is_empty());
    }

    /// An async writer into shared memory (writes, bytes) that can be told to fail.
    struct AsyncSink {
        seen: Arc<Mutex<(usize, Vec<u8>)>>,
        fail: bool,
    }

    impl AsyncWrite for AsyncSink {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<std::io::Result<usize>> {
            if self.fail {
                return std::task::Poll::Ready(Err(std::io::ErrorKind::BrokenPipe.into()));
            }
            let mut seen = self.seen.lock().unwrap();
            seen.0 += 1;
            seen.1.extend_from_slice(buf);
            std::task::Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    /// Run the task consumer next to `body` on one current-thread runtime, then close the lanes:
    /// the consumer's result, and the writes and bytes that reached the sink.
    fn with_task_consumer(
        fail: bool,
        capacity: usize,
        body: impl AsyncFnOnce(&Lanes, &Arc<Mutex<(usize, Vec<u8>)>>),
    ) -> (std::io::Result<()>, usize, Vec<u8>) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            let (lanes, drain) = task_lanes(capacity);
            let seen = Arc::new(Mutex::new((0, Vec::new())));
            let mut sink = AsyncSink {
                seen: seen.clone(),
                fail,
            };
            let consumer = tokio::spawn(async move { drain.write_to(&mut sink).await });
            body(&lanes, &seen).await;
            lanes.close();
            let result = consumer.await.unwrap();
            let (writes, bytes) = seen.lock().unwrap().clone();
            (result, writes, bytes)
        })
    }

    async fn let_the_task_run() {
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
    }

    #[test]
    fn the_task_consumer_writes_a_turn_in_one_write_control_first() {
        let (result, writes, bytes) = with_task_consumer(false, 512, async |lanes, seen| {
            let_the_task_run().await;
            assert!(lanes.shared.lock().writer_idle);
            lanes.push_audio(b"a1");
            lanes.push_audio(b"a2");
            lanes.push_control(b"c1");
            let_the_task_run().await;
            assert!(seen.lock().unwrap().1.is_empty(), "written before the wake");
            lanes.wake();
            let_the_task_run().await;
            assert_eq!(*seen.lock().unwrap(), (1, b"c1a1a2".to_vec()));
        });
        assert!(result.is_ok());
        assert_eq!((writes, bytes), (1, b"c1a1a2".to_vec()));
    }

    #[test]
    fn the_task_consumer_drops_audio_beyond_capacity_and_at_close() {
        let (result, _, bytes) = with_task_consumer(false, 2, async |lanes, _| {
            let_the_task_run().await;
            assert!(lanes.push_audio(b"1") && lanes.push_audio(b"2"));
            assert!(!lanes.push_audio(b"3"));
            assert_eq!(lanes.audio_dropped(), 1);
            lanes.wake();
            let_the_task_run().await;
            lanes.push_audio(b"after");
            lanes.push_control(b"last");
        });
        assert!(result.is_ok());
        assert_eq!(bytes, b"12last");
    }

    #[test]
    fn the_task_consumer_ends_on_a_failed_write() {
        let (result, _, _) = with_task_consumer(true, 512, async |lanes, _| {
            lanes.push_control(b"x");
            lanes.wake();
            let_the_task_run().await;
            lanes.push_control(b"y");
            let q = lanes.shared.lock();
            assert!(q.failed && q.control.is_empty());
        });
        assert_eq!(result.unwrap_err().kind(), std::io::ErrorKind::BrokenPipe);
    }
}
