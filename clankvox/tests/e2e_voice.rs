//! The built clankvox binary against a scripted voice server on loopback (the far end is fake;
//! everything of ours is real): handshake, both AEAD modes, TTS out as encrypted RTP with
//! speaking toggles, per-user PCM in, a dropped socket resumed with replay, destroy.

use std::process::Stdio;
use std::time::Duration;

use clankvox::codec::{Encoder, FRAME_SAMPLES, SILENCE_FRAME};
use clankvox::crypto::TransportCipher;
use clankvox::rtp::build_header;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Generous: the machine is shared and may be loaded.
const WAIT: Duration = Duration::from_secs(20);
const KEY: [u8; 32] = [3; 32];
const BOT_SSRC: u32 = 100;
const ALICE_SSRC: u32 = 200;
const ALICE: &str = "555";

#[derive(Debug)]
enum Frame {
    Json(Value),
    Audio { user_id: u64, samples: usize },
}

type Ws = WebSocketStream<TcpStream>;

struct Harness {
    child: Child,
    stdin: ChildStdin,
    frames: mpsc::UnboundedReceiver<Frame>,
    listener: TcpListener,
    udp: UdpSocket,
}

impl Harness {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_clankvox"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .env("CLANKVOX_LOG", "warn")
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let (tx, frames) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let mut head = [0u8; 5];
                if stdout.read_exact(&mut head).await.is_err() {
                    return;
                }
                let len = u32::from_le_bytes(head[1..5].try_into().unwrap()) as usize;
                let mut payload = vec![0u8; len];
                stdout.read_exact(&mut payload).await.unwrap();
                let frame = match head[0] {
                    0 => Frame::Json(serde_json::from_slice(&payload).unwrap()),
                    1 => Frame::Audio {
                        user_id: u64::from_le_bytes(payload[..8].try_into().unwrap()),
                        samples: u32::from_le_bytes(payload[14..18].try_into().unwrap()) as usize,
                    },
                    f => panic!("unknown frame format {f}"),
                };
                if tx.send(frame).is_err() {
                    return;
                }
            }
        });
        Self {
            child,
            stdin,
            frames,
            listener,
            udp,
        }
    }

    async fn send(&mut self, line: Value) {
        let mut s = line.to_string();
        s.push('\n');
        self.stdin.write_all(s.as_bytes()).await.unwrap();
        self.stdin.flush().await.unwrap();
    }

    /// Wait for a JSON event matching `pred`, skipping others; returns it.
    async fn event(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            match tokio::time::timeout_at(deadline, self.frames.recv()).await {
                Ok(Some(Frame::Json(v))) if pred(&v) => return v,
                Ok(Some(_)) => {}
                Ok(None) => panic!("clankvox stdout closed while waiting for {what}"),
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    async fn accept_ws(&self) -> Ws {
        let (tcp, _) = tokio::time::timeout(WAIT, self.listener.accept())
            .await
            .expect("clankvox never connected")
            .unwrap();
        tokio_tungstenite::accept_async(tcp).await.unwrap()
    }
}

fn typ(v: &Value) -> &str {
    v["type"].as_str().unwrap_or_default()
}

/// The server side of one voice WebSocket, pumped in the background: heartbeats are answered
/// at once (their `seq_ack`s recorded), other client messages are queued for the script.
struct ServerWs {
    out: mpsc::UnboundedSender<Message>,
    inbox: mpsc::UnboundedReceiver<Value>,
    acks: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
}

impl ServerWs {
    fn spawn(ws: Ws) -> Self {
        let (mut sink, mut stream) = ws.split();
        let (out, mut out_rx) = mpsc::unbounded_channel::<Message>();
        let (in_tx, inbox) = mpsc::unbounded_channel();
        let acks = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let acks2 = acks.clone();
        let out2 = out.clone();
        tokio::spawn(async move {
            while let Some(m) = out_rx.recv().await {
                let closing = matches!(m, Message::Close(_));
                if sink.send(m).await.is_err() || closing {
                    return;
                }
            }
        });
        tokio::spawn(async move {
            while let Some(Ok(msg)) = stream.next().await {
                if let Message::Text(t) = msg {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    if v["op"] == 3 {
                        acks2.lock().unwrap().push(v["d"]["seq_ack"].clone());
                        let ack = json!({"op": 6, "d": {"t": v["d"]["t"]}});
                        let _ = out2.send(Message::text(ack.to_string()));
                    } else if in_tx.send(v).is_err() {
                        return;
                    }
                }
            }
        });
        Self { out, inbox, acks }
    }

    fn send(&self, v: Value) {
        self.out.send(Message::text(v.to_string())).unwrap();
    }

    async fn recv(&mut self) -> Value {
        tokio::time::timeout(WAIT, self.inbox.recv())
            .await
            .expect("no message from clankvox")
            .expect("socket ended")
    }
}

/// Answer IP discovery requests until told to stop; forward RTP datagrams.
fn spawn_udp(udp: UdpSocket) -> (mpsc::UnboundedReceiver<Vec<u8>>, std::sync::Arc<UdpSocket>) {
    let udp = std::sync::Arc::new(udp);
    let (tx, rx) = mpsc::unbounded_channel();
    let sock = udp.clone();
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        loop {
            let Ok((n, from)) = sock.recv_from(&mut buf).await else {
                return;
            };
            let p = &buf[..n];
            if n == 74 && p[0..2] == [0, 1] {
                let mut r = [0u8; 74];
                r[0..2].copy_from_slice(&2u16.to_be_bytes());
                r[2..4].copy_from_slice(&70u16.to_be_bytes());
                r[4..8].copy_from_slice(&p[4..8]);
                let ip = from.ip().to_string();
                r[8..8 + ip.len()].copy_from_slice(ip.as_bytes());
                r[72..74].copy_from_slice(&from.port().to_be_bytes());
                sock.send_to(&r, from).await.unwrap();
            } else if n >= 12 && p[0] >> 6 == 2 && tx.send(p.to_vec()).is_err() {
                return;
            }
        }
    });
    (rx, udp)
}

/// A connected clankvox and the server's ends of its sockets.
struct Connected {
    h: Harness,
    ws: ServerWs,
    rtp_rx: mpsc::UnboundedReceiver<Vec<u8>>,
    server_udp: std::sync::Arc<UdpSocket>,
    client: std::net::SocketAddr,
    cipher: TransportCipher,
}

/// Start clankvox and walk it through the handshake to `ready`.
async fn connect(offered: &[&str], forced: Option<&str>, expect_mode: &str) -> Connected {
    let mut h = Harness::start().await;
    let port = h.listener.local_addr().unwrap().port();
    let udp_port = h.udp.local_addr().unwrap().port();
    let mut connect = json!({"type":"connect","guildId":"1","channelId":"2","userId":"3",
        "sessionId":"sess","endpoint":format!("ws://127.0.0.1:{port}"),"token":"tok"});
    if let Some(m) = forced {
        connect["mode"] = json!(m);
    }
    h.send(connect).await;
    let mut ws = ServerWs::spawn(h.accept_ws().await);
    ws.send(json!({"op": 8, "d": {"heartbeat_interval": 250}}));
    let identify = ws.recv().await;
    assert_eq!(identify["op"], 0);
    assert_eq!(identify["d"]["server_id"], "1");
    assert_eq!(identify["d"]["user_id"], "3");
    assert_eq!(identify["d"]["session_id"], "sess");
    assert_eq!(identify["d"]["token"], "tok");
    let udp = std::mem::replace(&mut h.udp, UdpSocket::bind("127.0.0.1:0").await.unwrap());
    let (rtp_rx, server_udp) = spawn_udp(udp);
    ws.send(json!({"op": 2, "d": {"ssrc": BOT_SSRC, "ip": "127.0.0.1", "port": udp_port, "modes": offered}}));
    let select = ws.recv().await;
    assert_eq!(select["op"], 1);
    assert_eq!(select["d"]["protocol"], "udp");
    assert_eq!(select["d"]["data"]["mode"], expect_mode);
    assert_eq!(select["d"]["data"]["address"], "127.0.0.1");
    let client_port = select["d"]["data"]["port"].as_u64().unwrap() as u16;
    ws.send(json!({"op": 4, "d": {"mode": expect_mode, "secret_key": KEY.to_vec()}}));
    ws.send(json!({"op": 5, "d": {"user_id": ALICE, "ssrc": ALICE_SSRC, "speaking": 1}, "seq": 1}));
    h.event("ready", |v| typ(v) == "ready").await;
    let announce = ws.recv().await;
    assert_eq!(
        announce,
        json!({"op": 5, "d": {"speaking": 0, "delay": 0, "ssrc": BOT_SSRC}})
    );
    Connected {
        h,
        ws,
        rtp_rx,
        server_udp,
        client: std::net::SocketAddr::from(([127, 0, 0, 1], client_port)),
        cipher: TransportCipher::new(expect_mode, &KEY).unwrap(),
    }
}

async fn scenario(offered: &[&str], forced: Option<&str>, expect_mode: &str) {
    let Connected {
        mut h,
        mut ws,
        mut rtp_rx,
        server_udp,
        client,
        cipher,
    } = connect(offered, forced, expect_mode).await;

    // --- receive: Alice speaks, clankvox forwards 24 kHz PCM ---
    h.send(json!({"type":"subscribe_user","userId":ALICE,"sampleRate":24000}))
        .await;
    let mut enc = Encoder::new().unwrap();
    // Commands are handled in order: once this bad line's error is out, the subscription is in.
    h.send(json!({"type":"no_such_command"})).await;
    h.event("error", |v| {
        typ(v) == "error" && v["code"] == "invalid_json"
    })
    .await;
    for seq in 0..10u16 {
        if seq == 4 {
            continue; // lost: repaired by FEC after the jitter window
        }
        let pcm: Vec<i16> = (0..FRAME_SAMPLES)
            .map(|i| ((i % 48) as i16 - 24) * 300)
            .collect();
        let opus = enc.encode_mono(&pcm).unwrap();
        let header = build_header(seq, u32::from(seq) * 960, ALICE_SSRC);
        let pkt = cipher.seal(&header, &opus, u32::from(seq));
        server_udp.send_to(&pkt, client).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let start = h
        .event("speaking_start", |v| typ(v) == "speaking_start")
        .await;
    assert_eq!(start["userId"], ALICE);
    let mut audio_frames = 0;
    let deadline = tokio::time::Instant::now() + WAIT;
    while audio_frames < 10 {
        match tokio::time::timeout_at(deadline, h.frames.recv()).await {
            Ok(Some(Frame::Audio { user_id, samples })) => {
                assert_eq!(user_id, 555);
                assert_eq!(samples, 480);
                audio_frames += 1;
            }
            Ok(Some(_)) => {}
            other => {
                panic!("expected 10 audio frames (9 + 1 repaired), got {audio_frames}: {other:?}")
            }
        }
    }
    h.event("speaking_end", |v| typ(v) == "speaking_end").await;

    // --- send: 200 ms of TTS becomes 10 encrypted Opus packets + 5 silence frames ---
    use base64::Engine;
    let tts: Vec<u8> = (0..4800)
        .flat_map(|i| (((i % 60) as i16 - 30) * 400).to_le_bytes())
        .collect();
    h.send(json!({"type":"audio","sampleRate":24000,
        "pcmBase64": base64::engine::general_purpose::STANDARD.encode(&tts)}))
        .await;
    h.event("tts buffered", |v| {
        typ(v) == "tts_playback_state" && v["status"] == "buffered"
    })
    .await;
    let speaking_on = ws.recv().await;
    assert_eq!(
        speaking_on,
        json!({"op": 5, "d": {"speaking": 1, "delay": 0, "ssrc": BOT_SSRC}})
    );
    let mut packets = Vec::new();
    while packets.len() < 15 {
        let pkt = tokio::time::timeout(WAIT, rtp_rx.recv())
            .await
            .unwrap()
            .unwrap();
        let (header, opus) = cipher.open_rtp(&pkt).expect("clankvox's packet decrypts");
        assert_eq!(header.ssrc, BOT_SSRC);
        assert_eq!(header.payload_type, 120);
        packets.push((header, opus));
    }
    for w in packets.windows(2) {
        assert_eq!(w[1].0.sequence, w[0].0.sequence.wrapping_add(1));
        // Timestamps follow the clock: +960 per tick, more if a loaded machine skipped ticks.
        let step = w[1].0.timestamp.wrapping_sub(w[0].0.timestamp);
        assert!(step >= 960 && step % 960 == 0, "timestamp step {step}");
    }
    assert!(packets[..10]
        .iter()
        .all(|(_, o)| o.as_slice() != SILENCE_FRAME));
    assert!(packets[10..]
        .iter()
        .all(|(_, o)| o.as_slice() == SILENCE_FRAME));
    let speaking_off = ws.recv().await;
    assert_eq!(speaking_off["d"]["speaking"], 0);
    h.event("tts idle", |v| {
        typ(v) == "tts_playback_state" && v["status"] == "idle"
    })
    .await;

    // --- the socket drops (4015): clankvox resumes with seq_ack and takes the replay ---
    let acks = ws.acks.lock().unwrap().clone();
    assert!(
        acks.contains(&json!(1)),
        "heartbeats carry seq_ack 1: {acks:?}"
    );
    ws.out
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::from(4015),
            reason: "voice server crashed".into(),
        })))
        .unwrap();
    drop(ws);
    h.event("resuming", |v| {
        typ(v) == "transport_state" && v["status"] == "resuming"
    })
    .await;
    let mut ws = ServerWs::spawn(h.accept_ws().await);
    ws.send(json!({"op": 8, "d": {"heartbeat_interval": 250}}));
    let resume = ws.recv().await;
    assert_eq!(
        resume,
        json!({"op": 7, "d": {"server_id": "1", "session_id": "sess", "token": "tok", "seq_ack": 1}})
    );
    ws.send(json!({"op": 9, "d": null}));
    // replay: seq 1 again (duplicate) and the missed seq 2
    ws.send(json!({"op": 5, "d": {"user_id": ALICE, "ssrc": ALICE_SSRC, "speaking": 1}, "seq": 1}));
    ws.send(json!({"op": 13, "d": {"user_id": ALICE}, "seq": 2}));
    h.event("resumed", |v| {
        typ(v) == "transport_state" && v["reason"] == "resumed"
    })
    .await;
    let left = h
        .event("client_disconnect", |v| typ(v) == "client_disconnect")
        .await;
    assert_eq!(left["userId"], ALICE);

    // --- destroy: clean exit ---
    h.send(json!({"type":"destroy"})).await;
    let status = tokio::time::timeout(WAIT, h.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
}

#[tokio::test(flavor = "current_thread")]
async fn aes_gcm_is_preferred_when_offered() {
    scenario(
        &["aead_aes256_gcm_rtpsize", "aead_xchacha20_poly1305_rtpsize"],
        None,
        "aead_aes256_gcm_rtpsize",
    )
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn xchacha_can_be_forced() {
    scenario(
        &["aead_aes256_gcm_rtpsize", "aead_xchacha20_poly1305_rtpsize"],
        Some("aead_xchacha20_poly1305_rtpsize"),
        "aead_xchacha20_poly1305_rtpsize",
    )
    .await;
}

#[tokio::test(flavor = "current_thread")]
async fn connect_failure_reports_and_schedules_a_reconnect() {
    let mut h = Harness::start().await;
    // Nothing listens on this port once the listener is dropped.
    let port = h.listener.local_addr().unwrap().port();
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_port = dead.local_addr().unwrap().port();
    drop(dead);
    let _ = port;
    h.send(
        json!({"type":"connect","guildId":"1","channelId":"2","userId":"3",
        "sessionId":"s","endpoint":format!("ws://127.0.0.1:{dead_port}"),"token":"t"}),
    )
    .await;
    let err = h.event("error", |v| typ(v) == "error").await;
    assert_eq!(err["code"], "voice_connect_failed");
    h.event("reconnecting", |v| {
        typ(v) == "connection_state" && v["status"] == "reconnecting"
    })
    .await;
    drop(h.stdin); // EOF: exits like destroy
    let status = tokio::time::timeout(WAIT, h.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

/// Write a mono 48 kHz 16-bit WAV of a 440 Hz tone.
/// Serve `body` as audio/wav to every connection on a loopback port; the URL to fetch.
async fn serve_file(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
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
                    "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
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

fn write_wav(path: &std::path::Path, seconds: f32) {
    let frames = (48_000.0 * seconds) as u32;
    let mut wav = Vec::new();
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + frames * 2).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    for v in [1u16, 1] {
        wav.extend_from_slice(&v.to_le_bytes());
    }
    for v in [48_000u32, 96_000] {
        wav.extend_from_slice(&v.to_le_bytes());
    }
    for v in [2u16, 16] {
        wav.extend_from_slice(&v.to_le_bytes());
    }
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&(frames * 2).to_le_bytes());
    for i in 0..frames {
        let s = (9000.0 * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 48_000.0).sin()) as i16;
        wav.extend_from_slice(&s.to_le_bytes());
    }
    std::fs::write(path, wav).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn music_plays_after_the_announcement_and_stops_with_a_fade() {
    let Connected {
        mut h,
        mut ws,
        mut rtp_rx,
        cipher,
        ..
    } = connect(
        &["aead_xchacha20_poly1305_rtpsize"],
        None,
        "aead_xchacha20_poly1305_rtpsize",
    )
    .await;
    let dir = std::env::temp_dir().join(format!("clankvox-e2e-music-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wav = dir.join("tone.wav");
    write_wav(&wav, 8.0); // long enough that a slow test still samples mid-track
                          // Only http(s) URLs are played: serve the file on loopback.
    let url = serve_file(std::fs::read(&wav).unwrap()).await;
    h.send(json!({"type":"music_play","url":url,"resolvedDirectUrl":true}))
        .await;
    // The announcement: 100 ms of TTS, then music starts once it has drained for 500 ms.
    use base64::Engine;
    let tts: Vec<u8> = (0..2400)
        .flat_map(|i| (((i % 40) as i16 - 20) * 500).to_le_bytes())
        .collect();
    h.send(json!({"type":"audio","sampleRate":24000,
        "pcmBase64": base64::engine::general_purpose::STANDARD.encode(&tts)}))
        .await;
    h.event("playing", |v| {
        typ(v) == "player_state" && v["status"] == "playing"
    })
    .await;
    let depth = h
        .event("music buffered", |v| {
            typ(v) == "buffer_depth" && v["musicSamples"].as_u64() > Some(0)
        })
        .await;
    assert!(depth["musicSamples"].as_u64().unwrap() <= 96_000);
    // Music frames arrive as RTP: skip what was sent before, then see real audio flow.
    while rtp_rx.try_recv().is_ok() {}
    let mut loud = 0;
    for _ in 0..25 {
        let pkt = tokio::time::timeout(WAIT, rtp_rx.recv())
            .await
            .unwrap()
            .unwrap();
        let (_, opus) = cipher.open_rtp(&pkt).unwrap();
        if opus.as_slice() != SILENCE_FRAME {
            loud += 1;
        }
    }
    assert_eq!(loud, 25, "music is sent continuously");
    h.send(json!({"type":"music_set_gain","target":0.15,"fadeMs":100}))
        .await;
    let reached = h
        .event("gain reached", |v| typ(v) == "music_gain_reached")
        .await;
    assert!((reached["gain"].as_f64().unwrap() - 0.15).abs() < 1e-6);
    h.send(json!({"type":"music_stop"})).await;
    h.event("idle", |v| {
        typ(v) == "player_state" && v["status"] == "idle"
    })
    .await;
    h.event("music_idle", |v| typ(v) == "music_idle").await;
    h.event("armed", |v| {
        typ(v) == "playback_armed" && v["reason"] == "music_stop"
    })
    .await;
    // speaking: on for the announcement, off in the gap, on for music, off after the stop
    let mut speaking = Vec::new();
    for _ in 0..4 {
        let m = ws.recv().await;
        assert_eq!(m["op"], 5, "{m}");
        speaking.push(m["d"]["speaking"].as_u64().unwrap());
    }
    assert_eq!(speaking, vec![1, 0, 1, 0]);
    h.send(json!({"type":"destroy"})).await;
    let status = tokio::time::timeout(WAIT, h.child.wait())
        .await
        .unwrap()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(status.success());
}

#[tokio::test(flavor = "current_thread")]
async fn bad_input_gets_errors_and_nothing_after_it_is_lost() {
    let mut h = Harness::start().await;
    // 9 MiB on one line, then garbage, then a valid command and a reserved one
    let mut huge = vec![b'x'; 9 * 1024 * 1024];
    huge.push(b'\n');
    h.stdin.write_all(&huge).await.unwrap();
    h.stdin
        .write_all(b"{\"type\":\"join\",\"guildId\":\"1\"}\n\xff\xfe\n")
        .await
        .unwrap();
    h.send(json!({"type":"join","guildId":"10","channelId":"20"}))
        .await;
    h.send(json!({"type":"stream_publish_play","url":"x"}))
        .await;
    let e = h.event("too large", |v| typ(v) == "error").await;
    assert_eq!(e["code"], "input_too_large");
    let e = h.event("missing field", |v| typ(v) == "error").await;
    assert_eq!(e["code"], "invalid_json");
    assert!(e["message"].as_str().unwrap().contains("channelId"), "{e}");
    let e = h.event("not utf-8", |v| typ(v) == "error").await;
    assert_eq!(e["code"], "invalid_json");
    let adapter = h.event("adapter_send", |v| typ(v) == "adapter_send").await;
    assert_eq!(
        adapter["payload"],
        json!({"op": 4, "d": {"guild_id": "10", "channel_id": "20", "self_mute": false, "self_deaf": false}})
    );
    let e = h.event("unsupported", |v| typ(v) == "error").await;
    assert_eq!(e["code"], "unsupported");
    drop(h.stdin);
    let status = tokio::time::timeout(WAIT, h.child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "current_thread")]
async fn exits_when_its_stdout_reader_goes_away() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_clankvox"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone
    let mut stdin = child.stdin.take().unwrap();
    // Each bad line makes clankvox write an error frame, which now fails.
    for _ in 0..3 {
        if stdin.write_all(b"{\"type\":\"bogus\"}\n").await.is_err() {
            break; // it already exited
        }
        let _ = stdin.flush().await;
    }
    let status = tokio::time::timeout(WAIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "{status}");
    drop(stdin); // kept open until now: the exit was not caused by EOF
}
