//! Music playback (docs/clankvox-protocol.md §6.3): the player's lifecycle as a sans-IO state
//! machine, and the decoder pipeline (ffmpeg, optionally behind yt-dlp) as a tokio task.

use std::collections::VecDeque;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::mpsc;

/// Samples per chunk read from the decoder (one 20 ms frame at 48 kHz mono).
pub const CHUNK_SAMPLES: usize = 960;
/// Chunks queued between the decoder and the mixer (2 s).
pub const PIPE_CHUNKS: usize = 100;
/// Fade-in when a pending track starts.
pub const FADE_IN_MS: u32 = 1_500;
/// Fade-out on `music_stop`.
pub const FADE_OUT_MS: u32 = 300;
/// Pending start: how long TTS must stay drained after having been seen.
pub const ANNOUNCE_GAP: Duration = Duration::from_millis(500);
/// Pending start: how long to wait for an announcement that never comes.
pub const NO_ANNOUNCE_WAIT: Duration = Duration::from_secs(5);
/// Pending start: upper bound in any case.
pub const SAFETY_WAIT: Duration = Duration::from_secs(15);
/// Stderr lines kept for `music_error`.
const STDERR_LINES: usize = 24;

/// What the decoder pipeline sends.
#[derive(Debug, PartialEq, Eq)]
pub enum PipeMsg {
    Pcm(Vec<i16>),
    /// The pipeline ended: `Ok` on a clean exit, else the error text.
    Exited(Result<(), String>),
}

/// The player's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlayerState {
    Idle,
    /// Decoding (prefetch) but waiting for the announcement to finish.
    Pending {
        since: Instant,
        tts_seen: bool,
        tts_drained_at: Option<Instant>,
    },
    Playing,
    Paused,
    /// Fading out before a stop.
    Stopping,
}

/// What the player wants done.
#[derive(Clone, Debug, PartialEq)]
pub enum MusicEffect {
    /// Start the decoder for the current url (replacing any running one).
    Spawn {
        url: String,
        direct: bool,
    },
    /// Kill the decoder and drop the queued music.
    Kill,
    /// Ramp the music gain (`notify`: report `music_gain_reached`).
    Gain {
        target: f32,
        fade_ms: u32,
        notify: bool,
    },
    PlayerState(&'static str),
    Armed(&'static str),
    Idle,
    Error(String),
}

/// The player.
#[derive(Debug)]
pub struct MusicPlayer {
    pub state: PlayerState,
    url: Option<(String, bool)>,
    /// The decoder is running (not yet exited).
    pub decoding: bool,
    /// The decoder exited cleanly and its tail is all queued.
    pub decoder_done: bool,
}

impl Default for MusicPlayer {
    fn default() -> Self {
        Self::new()
    }
}

impl MusicPlayer {
    pub fn new() -> Self {
        Self {
            state: PlayerState::Idle,
            url: None,
            decoding: false,
            decoder_done: false,
        }
    }

    /// Music is heard in the mix (playing or fading out).
    pub fn audible(&self) -> bool {
        matches!(self.state, PlayerState::Playing | PlayerState::Stopping)
    }

    /// The mixer should read from the decoder (everything but paused and idle).
    pub fn wants_pcm(&self) -> bool {
        self.decoding
            && matches!(
                self.state,
                PlayerState::Pending { .. } | PlayerState::Playing | PlayerState::Stopping
            )
    }

    pub fn play(&mut self, url: String, direct: bool, now: Instant) -> Vec<MusicEffect> {
        if url.trim().is_empty() {
            return vec![MusicEffect::Error(
                "music_play needs a non-empty url".into(),
            )];
        }
        self.url = Some((url.clone(), direct));
        self.decoding = true;
        self.decoder_done = false;
        self.state = PlayerState::Pending {
            since: now,
            tts_seen: false,
            tts_drained_at: None,
        };
        vec![
            MusicEffect::Kill,
            MusicEffect::Gain {
                target: 0.0,
                fade_ms: 0,
                notify: false,
            },
            MusicEffect::Spawn { url, direct },
        ]
    }

    fn finish(&mut self, armed: &'static str) -> Vec<MusicEffect> {
        self.state = PlayerState::Idle;
        self.decoding = false;
        self.decoder_done = false;
        vec![
            MusicEffect::Kill,
            MusicEffect::Gain {
                target: 1.0,
                fade_ms: 0,
                notify: false,
            },
            MusicEffect::PlayerState("idle"),
            MusicEffect::Idle,
            MusicEffect::Armed(armed),
        ]
    }

    pub fn stop(&mut self) -> Vec<MusicEffect> {
        match self.state {
            PlayerState::Playing => {
                self.state = PlayerState::Stopping;
                vec![MusicEffect::Gain {
                    target: 0.0,
                    fade_ms: FADE_OUT_MS,
                    notify: false,
                }]
            }
            PlayerState::Stopping => Vec::new(),
            _ => self.finish("music_stop"),
        }
    }

    /// `stop_playback` and connection loss: stop at once.
    pub fn stop_now(&mut self) -> Vec<MusicEffect> {
        self.finish("stop_playback")
    }

    pub fn pause(&mut self) -> Vec<MusicEffect> {
        match self.state {
            PlayerState::Playing | PlayerState::Pending { .. } => {
                self.state = PlayerState::Paused;
                vec![
                    MusicEffect::PlayerState("paused"),
                    MusicEffect::Armed("music_pause"),
                ]
            }
            _ => Vec::new(),
        }
    }

    /// `queued`: music samples still buffered.
    pub fn resume(&mut self, queued: usize) -> Vec<MusicEffect> {
        match self.state {
            PlayerState::Paused | PlayerState::Idle => {}
            _ => return Vec::new(),
        }
        let Some((url, direct)) = self.url.clone() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if !self.decoding && queued == 0 {
            // Nothing left to play: restart the track.
            self.decoding = true;
            self.decoder_done = false;
            out.push(MusicEffect::Kill);
            out.push(MusicEffect::Spawn { url, direct });
        }
        out.push(MusicEffect::Gain {
            target: 1.0,
            fade_ms: 0,
            notify: false,
        });
        self.state = PlayerState::Playing;
        out.push(MusicEffect::PlayerState("playing"));
        out
    }

    /// The decoder exited.
    pub fn on_exit(&mut self, result: Result<(), String>) -> Vec<MusicEffect> {
        self.decoding = false;
        match result {
            Ok(()) => {
                self.decoder_done = true;
                Vec::new()
            }
            Err(e) => {
                self.decoder_done = false;
                let mut out = vec![MusicEffect::Error(e)];
                let mut fin = self.finish("music_error");
                fin.retain(|e| *e != MusicEffect::Idle);
                out.extend(fin);
                out
            }
        }
    }

    /// Per tick: the pending-start rules, the end of a fade-out, the end of the track.
    pub fn tick(
        &mut self,
        now: Instant,
        tts_queued: usize,
        music_queued: usize,
        gain: f32,
        ramping: bool,
    ) -> Vec<MusicEffect> {
        match self.state {
            PlayerState::Pending {
                since,
                mut tts_seen,
                mut tts_drained_at,
            } => {
                if tts_queued > 0 {
                    tts_seen = true;
                    tts_drained_at = None;
                } else if tts_seen && tts_drained_at.is_none() {
                    tts_drained_at = Some(now);
                }
                let waited = now.duration_since(since);
                let start = waited >= SAFETY_WAIT
                    || (!tts_seen && waited >= NO_ANNOUNCE_WAIT)
                    || tts_drained_at.is_some_and(|t| now.duration_since(t) >= ANNOUNCE_GAP);
                if start {
                    self.state = PlayerState::Playing;
                    return vec![
                        MusicEffect::Gain {
                            target: 1.0,
                            fade_ms: FADE_IN_MS,
                            notify: false,
                        },
                        MusicEffect::PlayerState("playing"),
                    ];
                }
                self.state = PlayerState::Pending {
                    since,
                    tts_seen,
                    tts_drained_at,
                };
                Vec::new()
            }
            PlayerState::Stopping if !ramping && gain <= 0.0 => self.finish("music_stop"),
            PlayerState::Playing if self.decoder_done && music_queued == 0 => {
                self.finish("music_idle")
            }
            _ => Vec::new(),
        }
    }
}

/// A running decoder pipeline; dropping it kills the processes.
pub struct Pipeline {
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Start the decoder for `url`; PCM chunks and the exit arrive on the returned receiver.
pub fn spawn_pipeline(url: String, direct: bool) -> (Pipeline, mpsc::Receiver<PipeMsg>) {
    let (tx, rx) = mpsc::channel(PIPE_CHUNKS);
    let task = tokio::spawn(async move {
        let result = run_pipeline(&url, direct, &tx).await;
        let _ = tx.send(PipeMsg::Exited(result)).await;
    });
    (Pipeline { task }, rx)
}

fn ffmpeg(input: &str) -> Command {
    let mut c = Command::new("ffmpeg");
    c.args(["-nostdin", "-loglevel", "error", "-i", input])
        .args(["-f", "s16le", "-ar", "48000", "-ac", "1", "pipe:1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    c
}

async fn collect_stderr(stderr: Option<impl tokio::io::AsyncRead + Unpin>) -> VecDeque<String> {
    let mut lines = VecDeque::new();
    if let Some(s) = stderr {
        let mut r = BufReader::new(s).lines();
        while let Ok(Some(l)) = r.next_line().await {
            if lines.len() == STDERR_LINES {
                lines.pop_front();
            }
            lines.push_back(l);
        }
    }
    lines
}

/// Longest URL handed to a decoder.
const MAX_URL: usize = 2048;

/// Why `url` may not be handed to yt-dlp/ffmpeg, or `None`. Only absolute http(s) URLs with a
/// host: no local paths or other schemes (`file:`, `-` for stdin, ffmpeg's `concat:` and
/// friends), nothing option-like, no whitespace or control characters. The Python side checks
/// the same rules; this is the last line before a process starts.
pub fn music_url_problem(url: &str) -> Option<String> {
    if url.is_empty() {
        return Some("is empty".into());
    }
    if url.len() > MAX_URL {
        return Some(format!("is {} bytes long; at most {MAX_URL}", url.len()));
    }
    if url.starts_with('-') {
        return Some("looks like a command-line option; only http(s) URLs are played".into());
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("contains whitespace or control characters".into());
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some("is not an http(s) URL (local paths and other schemes are refused)".into());
    };
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Some("is not an http(s) URL (local paths and other schemes are refused)".into());
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Some("has no host".into());
    }
    None
}

async fn run_pipeline(url: &str, direct: bool, tx: &mpsc::Sender<PipeMsg>) -> Result<(), String> {
    if let Some(problem) = music_url_problem(url) {
        return Err(format!("refused music URL: {problem}"));
    }
    let mut fetcher = None;
    let mut decoder = if direct {
        ffmpeg(url)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| format!("failed to start ffmpeg: {e}"))?
    } else {
        let mut y = Command::new("yt-dlp")
            .args([
                "--no-warnings",
                "--quiet",
                "--no-playlist",
                "-f",
                "bestaudio/best",
                "-o",
                "-",
                "--",
            ])
            .arg(url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("failed to start yt-dlp: {e}"))?;
        let out: Stdio = y
            .stdout
            .take()
            .expect("piped")
            .try_into()
            .map_err(|e| format!("cannot pipe yt-dlp into ffmpeg: {e}"))?;
        let d = ffmpeg("pipe:0")
            .stdin(out)
            .spawn()
            .map_err(|e| format!("failed to start ffmpeg: {e}"))?;
        fetcher = Some(y);
        d
    };
    let stderr_task = tokio::spawn(collect_stderr(decoder.stderr.take()));
    let fetch_stderr = fetcher
        .as_mut()
        .map(|f| tokio::spawn(collect_stderr(f.stderr.take())));
    let mut stdout = decoder.stdout.take().expect("piped");
    let mut buf = vec![0u8; CHUNK_SAMPLES * 2];
    loop {
        let mut filled = 0;
        while filled < buf.len() {
            match stdout.read(&mut buf[filled..]).await {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) => return Err(format!("reading ffmpeg output failed: {e}")),
            }
        }
        let whole = filled - filled % 2;
        if whole > 0 {
            let pcm = buf[..whole]
                .chunks_exact(2)
                .map(|c| i16::from_le_bytes([c[0], c[1]]))
                .collect();
            if tx.send(PipeMsg::Pcm(pcm)).await.is_err() {
                return Ok(()); // the player went away
            }
        }
        if filled < buf.len() {
            break;
        }
    }
    let status = decoder
        .wait()
        .await
        .map_err(|e| format!("waiting for ffmpeg failed: {e}"))?;
    let mut lines = stderr_task.await.unwrap_or_default();
    if let (Some(mut f), Some(t)) = (fetcher, fetch_stderr) {
        let fstatus = f.wait().await.ok();
        let flines = t.await.unwrap_or_default();
        if fstatus.is_some_and(|s| !s.success()) {
            let mut msg = format!("yt-dlp exited with {}", fstatus.expect("checked"));
            for l in flines {
                msg.push_str(" || ");
                msg.push_str(&l);
            }
            return Err(msg);
        }
    }
    if status.success() {
        Ok(())
    } else {
        let mut msg = format!("ffmpeg exited with {status}");
        for l in lines.drain(..) {
            msg.push_str(" || ");
            msg.push_str(&l);
        }
        Err(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn player_states(effects: &[MusicEffect]) -> Vec<&'static str> {
        effects
            .iter()
            .filter_map(|e| match e {
                MusicEffect::PlayerState(s) => Some(*s),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn hostile_music_urls_are_refused_before_any_process_starts() {
        for (url, why) in [
            ("-o/tmp/pwned", "command-line option"),
            ("--exec=touch /tmp/x", "command-line option"),
            ("/etc/passwd", "not an http(s) URL"),
            ("file:///etc/passwd", "not an http(s) URL"),
            ("concat:/a|/b", "not an http(s) URL"),
            ("ftp://example.com/a", "not an http(s) URL"),
            ("http://", "has no host"),
            ("https://example.com/a b", "whitespace"),
            ("https://example.com/a\n--x", "whitespace"),
            ("", "is empty"),
        ] {
            let problem = music_url_problem(url).unwrap_or_default();
            assert!(problem.contains(why), "{url:?}: {problem:?}");
        }
        for url in [
            "https://www.youtube.com/watch?v=x",
            "http://127.0.0.1:8080/a.ogg",
            "HTTPS://user@media.example/a.mp3#t=1",
        ] {
            assert_eq!(music_url_problem(url), None, "{url}");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_refused_url_ends_the_pipeline_with_the_reason() {
        let (_pipeline, mut rx) = spawn_pipeline("-o/tmp/pwned".into(), false);
        match rx.recv().await {
            Some(PipeMsg::Exited(Err(e))) => assert!(e.contains("refused music URL"), "{e}"),
            _ => panic!("expected the pipeline to end with the refusal"),
        }
    }

    #[test]
    fn play_spawns_and_waits_for_the_announcement() {
        let t = Instant::now();
        let mut p = MusicPlayer::new();
        let e = p.play("file.mp3".into(), true, t);
        assert!(e.contains(&MusicEffect::Spawn {
            url: "file.mp3".into(),
            direct: true
        }));
        assert!(p.wants_pcm() && !p.audible());
        // announcement TTS plays for 1 s, then drains
        assert!(p.tick(t + 100 * MS, 9600, 0, 0.0, false).is_empty());
        assert!(p.tick(t + 1000 * MS, 0, 0, 0.0, false).is_empty());
        assert!(p.tick(t + 1499 * MS, 0, 0, 0.0, false).is_empty());
        let e = p.tick(t + 1500 * MS, 0, 0, 0.0, false);
        assert_eq!(player_states(&e), vec!["playing"]);
        assert!(e.contains(&MusicEffect::Gain {
            target: 1.0,
            fade_ms: FADE_IN_MS,
            notify: false
        }));
        assert!(p.audible());
    }

    #[test]
    fn without_an_announcement_music_starts_after_5_s() {
        let t = Instant::now();
        let mut p = MusicPlayer::new();
        p.play("u".into(), true, t);
        assert!(p.tick(t + 4999 * MS, 0, 0, 0.0, false).is_empty());
        assert_eq!(
            player_states(&p.tick(t + 5000 * MS, 0, 0, 0.0, false)),
            vec!["playing"]
        );
    }

    #[test]
    fn endless_announcement_is_cut_at_15_s() {
        let t = Instant::now();
        let mut p = MusicPlayer::new();
        p.play("u".into(), true, t);
        assert!(p.tick(t + 14_999 * MS, 100, 0, 0.0, false).is_empty());
        assert_eq!(
            player_states(&p.tick(t + 15_000 * MS, 100, 0, 0.0, false)),
            vec!["playing"]
        );
    }

    #[test]
    fn stop_fades_then_goes_idle() {
        let t = Instant::now();
        let mut p = MusicPlayer::new();
        p.play("u".into(), true, t);
        p.tick(t + 5 * 1000 * MS, 0, 0, 0.0, false);
        let e = p.stop();
        assert_eq!(
            e,
            vec![MusicEffect::Gain {
                target: 0.0,
                fade_ms: FADE_OUT_MS,
                notify: false
            }]
        );
        assert!(p.tick(t, 0, 1000, 0.5, true).is_empty());
        let e = p.tick(t, 0, 1000, 0.0, false);
        assert_eq!(player_states(&e), vec!["idle"]);
        assert!(e.contains(&MusicEffect::Idle));
        assert!(e.contains(&MusicEffect::Armed("music_stop")));
        assert!(e.contains(&MusicEffect::Kill));
    }

    #[test]
    fn track_end_goes_idle_once_drained() {
        let t = Instant::now();
        let mut p = MusicPlayer::new();
        p.play("u".into(), true, t);
        p.tick(t + 5000 * MS, 0, 0, 0.0, false);
        assert!(p.on_exit(Ok(())).is_empty());
        assert!(p.tick(t, 0, 960, 1.0, false).is_empty());
        let e = p.tick(t, 0, 0, 1.0, false);
        assert!(e.contains(&MusicEffect::Armed("music_idle")));
    }

    #[test]
    fn decoder_failure_is_a_music_error() {
        let t = Instant::now();
        let mut p = MusicPlayer::new();
        p.play("u".into(), true, t);
        let e = p.on_exit(Err("ffmpeg exited with 1 || boom".into()));
        assert_eq!(
            e[0],
            MusicEffect::Error("ffmpeg exited with 1 || boom".into())
        );
        assert!(e.contains(&MusicEffect::Armed("music_error")));
        assert!(!e.contains(&MusicEffect::Idle));
        assert_eq!(p.state, PlayerState::Idle);
    }

    #[test]
    fn pause_and_resume_in_place_or_restart() {
        let t = Instant::now();
        let mut p = MusicPlayer::new();
        p.play("u".into(), true, t);
        p.tick(t + 5000 * MS, 0, 0, 0.0, false);
        assert_eq!(player_states(&p.pause()), vec!["paused"]);
        assert!(!p.wants_pcm() && !p.audible());
        let e = p.resume(5000);
        assert_eq!(player_states(&e), vec!["playing"]);
        assert!(!e.iter().any(|x| matches!(x, MusicEffect::Spawn { .. })));
        // finished while paused, nothing left: restart from the url
        p.pause();
        p.on_exit(Ok(()));
        let e = p.resume(0);
        assert!(e.iter().any(|x| matches!(x, MusicEffect::Spawn { .. })));
    }

    #[test]
    fn empty_url_is_an_error() {
        let mut p = MusicPlayer::new();
        assert!(matches!(
            p.play(" ".into(), true, Instant::now())[0],
            MusicEffect::Error(_)
        ));
    }

    fn have_ffmpeg() -> bool {
        std::process::Command::new("ffmpeg")
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Serve `body` with `status` to every connection on a loopback port; the URL to fetch.
    async fn serve_http(status: &'static str, body: Vec<u8>) -> String {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut sock, _)) = listener.accept().await {
                let body = body.clone();
                tokio::spawn(async move {
                    let mut req = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => req.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: audio/wav\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(head.as_bytes()).await;
                    let _ = sock.write_all(&body).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        format!("http://127.0.0.1:{port}/tone.wav")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn ffmpeg_decodes_a_generated_wav_to_48k_mono() {
        assert!(
            have_ffmpeg(),
            "scripts/bootstrap installs ffmpeg; it must be on PATH"
        );
        // A 0.5 s 24 kHz stereo WAV served over local HTTP (only http(s) URLs are played):
        // ffmpeg must fetch, resample and downmix it.
        let frames = 12_000u32;
        let mut wav = Vec::new();
        wav.extend_from_slice(b"RIFF");
        wav.extend_from_slice(&(36 + frames * 4).to_le_bytes());
        wav.extend_from_slice(b"WAVEfmt ");
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&1u16.to_le_bytes());
        wav.extend_from_slice(&2u16.to_le_bytes());
        wav.extend_from_slice(&24_000u32.to_le_bytes());
        wav.extend_from_slice(&(24_000u32 * 4).to_le_bytes());
        wav.extend_from_slice(&4u16.to_le_bytes());
        wav.extend_from_slice(&16u16.to_le_bytes());
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&(frames * 4).to_le_bytes());
        for i in 0..frames {
            let s =
                (8000.0 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 24_000.0).sin()) as i16;
            wav.extend_from_slice(&s.to_le_bytes());
            wav.extend_from_slice(&s.to_le_bytes());
        }
        let url = serve_http("200 OK", wav).await;
        let (_pipe, mut rx) = spawn_pipeline(url, true);
        let mut samples = Vec::new();
        let mut result = None;
        while let Some(m) = rx.recv().await {
            match m {
                PipeMsg::Pcm(p) => samples.extend(p),
                PipeMsg::Exited(r) => {
                    result = Some(r);
                    break;
                }
            }
        }
        assert_eq!(result, Some(Ok(())));
        assert!(
            (samples.len() as i64 - 24_000).abs() < 200,
            "{} samples",
            samples.len()
        );
        let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((7000..=8100).contains(&peak), "peak {peak}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_missing_input_reports_ffmpeg_stderr() {
        assert!(
            have_ffmpeg(),
            "scripts/bootstrap installs ffmpeg; it must be on PATH"
        );
        let url = serve_http("404 Not Found", b"no such track".to_vec()).await;
        let (_pipe, mut rx) = spawn_pipeline(url, true);
        let mut last = None;
        while let Some(m) = rx.recv().await {
            last = Some(m);
        }
        match last {
            Some(PipeMsg::Exited(Err(msg))) => {
                assert!(msg.contains("ffmpeg exited"), "{msg}");
                assert!(msg.contains("404"), "{msg}");
            }
            other => panic!("{other:?}"),
        }
    }
}
