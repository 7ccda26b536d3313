//! The clankvox binary: stdin reader, stdout writer with priority lanes, and the main loop that
//! pumps commands, connection events, decoder output and the 20 ms clock through [`App`].

use std::io::Write as _;
use std::os::fd::AsFd as _;
use std::sync::Arc;
use std::time::Instant;

use clankvox::app::{App, Effect};
use clankvox::clock::{SendClock, FRAME_PERIOD};
use clankvox::connection::{self, ConnCommand, Tagged};
use clankvox::frame::{encode_json, encode_user_audio};
use clankvox::lines::{Line, LineSplitter};
use clankvox::music::{spawn_pipeline, PipeMsg, Pipeline, CHUNK_SAMPLES};
use clankvox::protocol::{parse_line, Command, ErrorCode, Event, MAX_LINE_BYTES};
use clankvox::stdout_lanes::{self, Lanes};
use clankvox::tick_timer::TickTimer;
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, oneshot};

/// Bounded lanes (docs/clankvox-protocol.md §3.3).
const AUDIO_OUT_LANE: usize = 512;
const AUDIO_IN_LANE: usize = 256;
/// Connection events (mostly UDP packets) handled in one loop turn before the writer is woken:
/// packets that arrived together leave in one stdout write.
const CONN_EVENTS_PER_TURN: usize = 32;
/// Datagrams read from the voice socket in one loop turn, for the same reason.
const UDP_PACKETS_PER_TURN: usize = 32;

/// stderr verbosity from `CLANKVOX_LOG` (or `AUDIO_DEBUG`).
fn stderr_level() -> u8 {
    if std::env::var_os("AUDIO_DEBUG").is_some() {
        return 3;
    }
    match std::env::var("CLANKVOX_LOG").as_deref() {
        Ok("error") => 0,
        Ok("warn") => 1,
        Ok("debug") | Ok("trace") => 3,
        _ => 2,
    }
}

fn level_rank(level: &str) -> u8 {
    match level {
        "error" => 0,
        "warn" => 1,
        "info" => 2,
        _ => 3,
    }
}

/// Inbound command lanes.
enum Inbound {
    Command(Command),
    Error(Event),
    Eof,
}

async fn read_stdin(control: mpsc::UnboundedSender<Inbound>, audio: mpsc::Sender<Command>) {
    let mut stdin = tokio::io::stdin();
    let mut splitter = LineSplitter::default();
    let mut buf = vec![0u8; 64 * 1024];
    let handle = |line: Line| -> Option<Inbound> {
        let parsed = match line {
            Line::Complete(bytes) => parse_line(&bytes),
            Line::TooLarge(n) => Err(clankvox::protocol::ProtocolError {
                code: ErrorCode::InputTooLarge,
                message: format!("stdin line of {n} bytes exceeds the {MAX_LINE_BYTES} byte limit"),
            }),
        };
        match parsed {
            Ok(Some(c)) => Some(Inbound::Command(c)),
            Ok(None) => None,
            Err(e) => Some(Inbound::Error(Event::from_protocol_error(e))),
        }
    };
    loop {
        let n = match stdin.read(&mut buf).await {
            Ok(0) | Err(_) => 0,
            Ok(n) => n,
        };
        let lines = if n == 0 {
            splitter.finish().into_iter().collect()
        } else {
            splitter.feed(&buf[..n])
        };
        for line in lines {
            let Some(inbound) = handle(line) else {
                continue;
            };
            let delivered = match inbound {
                Inbound::Command(c @ Command::Audio { .. }) => {
                    audio.try_send(c).is_ok()
                        || control
                            .send(Inbound::Error(Event::Log {
                                level: "warn",
                                target: "clankvox::stdin",
                                message: "audio lane full: dropped an audio command".into(),
                                fields: Default::default(),
                            }))
                            .is_ok()
                }
                other => control.send(other).is_ok(),
            };
            if !delivered {
                return; // the main loop is gone
            }
        }
        if n == 0 {
            let _ = control.send(Inbound::Eof);
            return;
        }
    }
}

/// Whether fd 1 and fd 2 are the same file (a `2>&1` into one pipe): then stdout must stay
/// blocking, because `O_NONBLOCK` would also reach stderr, where `eprintln!` panics on `EAGAIN`.
fn stderr_shares(stdout: &std::fs::File) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(err) = std::io::stderr().as_fd().try_clone_to_owned() else {
        return false;
    };
    match (stdout.metadata(), std::fs::File::from(err).metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => true,
    }
}

/// Start the stdout writer on a duplicate of fd 1. A pipe (the normal case) is written by a task
/// on this runtime, non-blocking, so handing it a batch costs no thread switch; anything else by
/// a thread with blocking writes (a plain `File`: no line buffering splits a batch). `done` fires
/// when the writer ends: the lanes were closed, or a write failed.
fn start_stdout_writer(done: oneshot::Sender<()>) -> Lanes {
    use std::os::unix::fs::FileTypeExt as _;
    let file = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .map(std::fs::File::from);
    let is_pipe = |f: &std::fs::File| f.metadata().is_ok_and(|m| m.file_type().is_fifo());
    let on_exit = move || {
        let _ = done.send(());
    };
    let started = match file {
        Ok(file) if is_pipe(&file) && !stderr_shares(&file) => {
            match tokio::net::unix::pipe::Sender::from_file(file) {
                Ok(mut pipe) => {
                    let (lanes, drain) = stdout_lanes::task_lanes(AUDIO_OUT_LANE);
                    tokio::spawn(async move {
                        let _ = drain.write_to(&mut pipe).await;
                        on_exit();
                    });
                    return lanes;
                }
                Err(_) => stdout_lanes::spawn_writer(std::io::stdout(), AUDIO_OUT_LANE, on_exit),
            }
        }
        Ok(file) => stdout_lanes::spawn_writer(file, AUDIO_OUT_LANE, on_exit),
        Err(_) => stdout_lanes::spawn_writer(std::io::stdout(), AUDIO_OUT_LANE, on_exit),
    };
    started.expect("cannot start the stdout writer thread")
}

struct Io {
    out: Lanes,
    log_level: u8,
    conn_events: mpsc::UnboundedSender<Tagged>,
    conn_cmds: Option<mpsc::UnboundedSender<ConnCommand>>,
    music: Option<(Pipeline, mpsc::Receiver<PipeMsg>)>,
    exit: bool,
}

impl Io {
    fn emit(&mut self, e: &Event) {
        if let Event::Log { level, message, .. } = e {
            if level_rank(level) <= self.log_level {
                eprintln!("clankvox [{level}] {message}");
            }
        }
        if let Event::Error { code, message } = e {
            eprintln!("clankvox [error] {}: {message}", code.as_str());
        }
        self.out.push_control(&encode_json(&e.to_json()));
    }

    fn apply(&mut self, app: &App, effects: Vec<Effect>) {
        for fx in effects {
            match fx {
                Effect::Emit(e) => self.emit(&e),
                Effect::UserAudio { user_id, pcm } => {
                    if !self.out.push_audio(&encode_user_audio(user_id, &pcm)) {
                        let dropped = self.out.audio_dropped();
                        if dropped % 100 == 1 {
                            eprintln!(
                                "clankvox [warn] stdout audio lane full; {dropped} frames dropped"
                            );
                        }
                    }
                }
                Effect::Connect { gen, params } => {
                    if let Some(c) = self.conn_cmds.take() {
                        let _ = c.send(ConnCommand::Close);
                    }
                    let (tx, rx) = mpsc::unbounded_channel();
                    self.conn_cmds = Some(tx);
                    if self.log_level >= 2 {
                        eprintln!("clankvox [info] connecting to {}", params.endpoint);
                    }
                    tokio::spawn(connection::run(gen, params, self.conn_events.clone(), rx));
                }
                Effect::Disconnect => {
                    if let Some(c) = self.conn_cmds.take() {
                        let _ = c.send(ConnCommand::Close);
                    }
                }
                Effect::Conn(cmd) => {
                    if let Some(c) = &self.conn_cmds {
                        let _ = c.send(cmd);
                    }
                }
                Effect::Udp(packet) => {
                    if let Some(sock) = app.udp_socket() {
                        let _ = sock.try_send(&packet);
                    }
                }
                Effect::SpawnMusic { url, direct } => {
                    self.music = Some(spawn_pipeline(url, direct));
                }
                Effect::VerificationCode {
                    user_id,
                    fingerprints,
                } => {
                    // scrypt takes tens of milliseconds: never on the media loop.
                    let out = self.out.clone();
                    tokio::task::spawn_blocking(move || {
                        let (code, error) = match clankvox::dave::verification_code_of(fingerprints)
                        {
                            Ok(code) => (Some(code), None),
                            Err(why) => (None, Some(why)),
                        };
                        let event = Event::DaveVerificationCode {
                            user_id: user_id.to_string(),
                            code,
                            error,
                        };
                        out.push_control(&encode_json(&event.to_json()));
                        out.wake();
                    });
                }
                Effect::KillMusic => self.music = None,
                Effect::Exit => self.exit = true,
            }
        }
    }

    /// Move decoded music into the mixer while it has room.
    fn pull_music(&mut self, app: &mut App) -> Vec<Effect> {
        let mut effects = Vec::new();
        while app.music_room() >= CHUNK_SAMPLES {
            let Some((_, rx)) = self.music.as_mut() else {
                break;
            };
            match rx.try_recv() {
                Ok(msg) => {
                    let exited = matches!(msg, PipeMsg::Exited(_));
                    effects.extend(app.on_music(msg));
                    if exited {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        effects
    }
}

/// The send clock's wake-up: music into the mixer, then every tick that is due.
fn on_tick_wake(io: &mut Io, app: &mut App, clock: &mut SendClock) -> Vec<Effect> {
    let mut effects = io.pull_music(app);
    let now = Instant::now();
    while let Some(tick) = clock.poll(now) {
        effects.extend(app.on_tick(tick, now));
    }
    effects
}

async fn run() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (control_in_tx, mut control_in) = mpsc::unbounded_channel();
    let (audio_in_tx, mut audio_in) = mpsc::channel(AUDIO_IN_LANE);
    let (conn_tx, mut conn_rx) = mpsc::unbounded_channel::<Tagged>();
    let (writer_done_tx, mut writer_done_rx) = oneshot::channel();
    let out = start_stdout_writer(writer_done_tx);
    let mut writer_done = false;
    tokio::spawn(read_stdin(control_in_tx, audio_in_tx));

    let mut app = App::new(
        std::env::var("CLANKVOX_FORCE_MODE")
            .ok()
            .filter(|m| !m.is_empty()),
    );
    let mut io = Io {
        out,
        log_level: stderr_level(),
        conn_events: conn_tx,
        conn_cmds: None,
        music: None,
        exit: false,
    };
    let mut clock = SendClock::new(Instant::now());
    // The tick's wake-ups come from a periodic timerfd on the clock's grid, armed once; the
    // tokio timer (re-armed each turn) is the fallback should the kernel refuse a timerfd.
    let tick_timer = TickTimer::new(clock.next_deadline(), FRAME_PERIOD).ok();
    // Two timers re-armed only when their deadline moves, not re-registered every turn.
    let tick_sleep =
        tokio::time::sleep_until(tokio::time::Instant::from_std(clock.next_deadline()));
    let reconnect_sleep = tokio::time::sleep(std::time::Duration::from_secs(3600));
    tokio::pin!(tick_sleep, reconnect_sleep);
    let mut conn_batch = Vec::with_capacity(CONN_EVENTS_PER_TURN);
    // The loop reads the voice socket itself: a datagram wakes this task directly, with no
    // reader task and channel in between (one wake-up and one scheduler pass less per packet).
    let mut udp_buf = vec![0u8; 2048];
    // A socket whose reads failed for good; the connection reports its own end.
    let mut udp_failed: std::sync::Weak<tokio::net::UdpSocket> = std::sync::Weak::new();
    while !io.exit {
        let udp = app
            .udp_socket()
            .filter(|s| !std::ptr::eq(Arc::as_ptr(s), udp_failed.as_ptr()))
            .cloned();
        let tick_at = tokio::time::Instant::from_std(clock.next_deadline());
        if tick_timer.is_none() && tick_sleep.deadline() != tick_at {
            tick_sleep.as_mut().reset(tick_at);
        }
        let reconnect_at = app.reconnect_deadline().map(tokio::time::Instant::from_std);
        if let Some(at) = reconnect_at.filter(|at| reconnect_sleep.deadline() != *at) {
            reconnect_sleep.as_mut().reset(at);
        }
        let effects = tokio::select! {
            biased;
            inbound = control_in.recv() => match inbound {
                Some(Inbound::Command(c)) => app.on_command(c, Instant::now()),
                Some(Inbound::Error(e)) => { io.emit(&e); Vec::new() }
                Some(Inbound::Eof) | None => app.on_command(Command::Destroy, Instant::now()),
            },
            n @ 1.. = conn_rx.recv_many(&mut conn_batch, CONN_EVENTS_PER_TURN) => {
                // Each event's effects are carried out before the next event, as one at a time.
                for (gen, ev) in conn_batch.drain(..n) {
                    let effects = app.on_conn_event(gen, ev, Instant::now());
                    io.apply(&app, effects);
                }
                Vec::new()
            }
            Ok(()) = async { udp.as_ref().expect("guarded").readable().await }, if udp.is_some() => {
                let sock = udp.as_ref().expect("guarded");
                for _ in 0..UDP_PACKETS_PER_TURN {
                    match sock.try_recv(&mut udp_buf) {
                        Ok(n) => {
                            let effects = app.on_udp_packet(&udp_buf[..n], Instant::now());
                            io.apply(&app, effects);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        // ICMP port unreachable surfaces here on a connected socket; not fatal.
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                        Err(_) => {
                            udp_failed = Arc::downgrade(sock);
                            break;
                        }
                    }
                }
                Vec::new()
            }
            Ok(_) = async { tick_timer.as_ref().expect("guarded").wait().await }, if tick_timer.is_some() => {
                on_tick_wake(&mut io, &mut app, &mut clock)
            }
            () = &mut tick_sleep, if tick_timer.is_none() => on_tick_wake(&mut io, &mut app, &mut clock),
            () = &mut reconnect_sleep, if reconnect_at.is_some() => {
                app.on_reconnect_timer(Instant::now())
            }
            Some(c) = audio_in.recv() => app.on_command(c, Instant::now()),
            // The reader of stdout went away: nobody hears us, so shut down.
            _ = &mut writer_done_rx, if !writer_done => {
                writer_done = true;
                app.on_command(Command::Destroy, Instant::now())
            }
        };
        io.apply(&app, effects);
        // One hand-over to the writer per loop turn: what this turn produced leaves in one write.
        io.out.wake();
    }
    io.music = None;
    if let Some(c) = io.conn_cmds.take() {
        let _ = c.send(ConnCommand::Close);
    }
    // Closing the lanes lets the writer write the control lane, flush and finish.
    io.out.close();
    drop(io);
    if !writer_done {
        let _ = writer_done_rx.await;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version") {
        println!("clankvox {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    if let Some(a) = args.first() {
        let _ = writeln!(
            std::io::stderr(),
            "clankvox: unknown argument {a:?}; run without arguments (the protocol is on stdin/stdout) or with --version"
        );
        std::process::exit(2);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(run());
    // A stdin read may still sit on a blocking thread: do not wait for it.
    rt.shutdown_timeout(std::time::Duration::from_millis(100));
}
