//! The Discord voice gateway v8 client as a sans-IO state machine (docs/clankvox-protocol.md
//! §9.2): handshake, heartbeats with `seq_ack`, resume after a dropped socket, replay
//! de-duplication, SSRC ownership.
//!
//! The session outlives sockets: `begin_socket` starts each new WebSocket (identify or resume),
//! `on_text` / `on_binary` / `on_close` feed it, `poll` runs its timers. Every call returns
//! [`GwAction`]s for the driver to carry out.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::crypto::choose_mode;

/// Each handshake step must finish within this.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// Who we are on the voice server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub server_id: u64,
    pub user_id: u64,
    pub session_id: String,
    pub token: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    AwaitReady,
    /// The driver is doing UDP IP discovery.
    Discovering,
    AwaitSession,
    AwaitResumed,
    Ready,
    Closed,
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq)]
pub enum GwAction {
    /// Send this JSON text frame.
    Send(String),
    /// Open UDP to `ip:port` and run IP discovery for `ssrc`; then call `on_discovered`.
    StartUdp { ip: String, port: u16, ssrc: u32 },
    /// The handshake completed: transport key and mode are known.
    SessionReady {
        ssrc: u32,
        mode: &'static str,
        secret_key: Vec<u8>,
        dave_protocol_version: u16,
    },
    /// Op 11: these users are in the call.
    ClientsConnect { user_ids: Vec<u64> },
    /// A DAVE JSON op (21, 22, 24) and its `d`.
    DaveJson { op: u8, d: Value },
    /// A DAVE binary op (25, 27, 29, 30) and its payload (after seq and opcode).
    DaveBinary { op: u8, payload: Vec<u8> },
    /// A resume completed (op 9).
    Resumed,
    /// `ssrc` carries `user_id`'s audio.
    MapSsrc { ssrc: u32, user_id: u64 },
    /// `user_id` left the channel.
    UserLeft { user_id: u64 },
    /// Close the socket. `resume`: open a new one and resume; otherwise the session is over
    /// (a full reconnect is up to the caller).
    Close { resume: bool, reason: String },
}

fn is_resumable_close(code: u16) -> bool {
    !matches!(
        code,
        4004 | 4006 | 4009 | 4011 | 4012 | 4014 | 4016 | 4020 | 4021 | 4022
    )
}

/// The voice session state.
#[derive(Debug)]
pub struct GatewaySession {
    creds: Credentials,
    forced_mode: Option<String>,
    phase: Phase,
    phase_since: Instant,
    resuming: bool,
    /// Ever reached Ready: only then can a dropped socket be resumed.
    established: bool,
    last_seq: Option<i64>,
    heartbeat_interval: Option<Duration>,
    next_heartbeat: Option<Instant>,
    awaiting_ack: bool,
    ssrc: Option<u32>,
    offered_modes: Vec<String>,
}

impl GatewaySession {
    pub fn new(creds: Credentials, forced_mode: Option<String>, now: Instant) -> Self {
        Self {
            creds,
            forced_mode,
            phase: Phase::Closed,
            phase_since: now,
            resuming: false,
            established: false,
            last_seq: None,
            heartbeat_interval: None,
            next_heartbeat: None,
            awaiting_ack: false,
            ssrc: None,
            offered_modes: Vec::new(),
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    pub fn ssrc(&self) -> Option<u32> {
        self.ssrc
    }

    pub fn last_seq(&self) -> Option<i64> {
        self.last_seq
    }

    /// Whether a dropped socket can be resumed rather than reconnected from scratch.
    pub fn can_resume(&self) -> bool {
        self.established
    }

    fn enter(&mut self, phase: Phase, now: Instant) {
        self.phase = phase;
        self.phase_since = now;
    }

    /// A new WebSocket is open: identify, or resume (op 7) when `resume` and a session was
    /// established. This does not wait for Hello, which may arrive before or after.
    pub fn begin_socket(&mut self, resume: bool, now: Instant) -> Vec<GwAction> {
        self.resuming = resume && self.established;
        self.heartbeat_interval = None;
        self.next_heartbeat = None;
        self.awaiting_ack = false;
        if self.resuming {
            self.enter(Phase::AwaitResumed, now);
            vec![GwAction::Send(self.resume_payload())]
        } else {
            self.enter(Phase::AwaitReady, now);
            vec![GwAction::Send(self.identify())]
        }
    }

    fn seq_ack_field(&self, d: &mut serde_json::Map<String, Value>) {
        if let Some(s) = self.last_seq {
            d.insert("seq_ack".into(), json!(s));
        }
    }

    fn identify(&self) -> String {
        json!({"op": 0, "d": {
            "server_id": self.creds.server_id.to_string(),
            "user_id": self.creds.user_id.to_string(),
            "session_id": self.creds.session_id,
            "token": self.creds.token,
            "max_dave_protocol_version": crate::dave::MAX_PROTOCOL_VERSION,
        }})
        .to_string()
    }

    fn resume_payload(&self) -> String {
        let mut d = serde_json::Map::new();
        d.insert("server_id".into(), json!(self.creds.server_id.to_string()));
        d.insert("session_id".into(), json!(self.creds.session_id));
        d.insert("token".into(), json!(self.creds.token));
        self.seq_ack_field(&mut d);
        json!({"op": 7, "d": d}).to_string()
    }

    /// The heartbeat payload for wall-clock `unix_ms`.
    pub fn heartbeat(&self, unix_ms: u64) -> String {
        let mut d = serde_json::Map::new();
        d.insert("t".into(), json!(unix_ms));
        self.seq_ack_field(&mut d);
        json!({"op": 3, "d": d}).to_string()
    }

    /// Op 5 for our own SSRC.
    pub fn speaking(&self, on: bool) -> Option<String> {
        let ssrc = self.ssrc?;
        Some(
            json!({"op": 5, "d": {"speaking": u8::from(on), "delay": 0, "ssrc": ssrc}}).to_string(),
        )
    }

    /// Record a message's sequence number; false when it is a replayed duplicate.
    fn accept_seq(&mut self, seq: Option<i64>) -> bool {
        let Some(seq) = seq else { return true };
        if let Some(last) = self.last_seq {
            if seq <= last && last - seq < 1 << 15 {
                return false;
            }
        }
        self.last_seq = Some(seq);
        true
    }

    /// A text frame arrived.
    pub fn on_text(&mut self, text: &str, now: Instant) -> Vec<GwAction> {
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            return Vec::new();
        };
        let Some(op) = msg.get("op").and_then(Value::as_u64) else {
            return Vec::new();
        };
        if !self.accept_seq(msg.get("seq").and_then(Value::as_i64)) {
            return Vec::new();
        }
        let d = msg.get("d").cloned().unwrap_or(Value::Null);
        self.on_op(op, &d, now)
    }

    /// A binary frame arrived: `[seq u16 BE][opcode u8][payload]` (DAVE ops 25, 27, 29, 30).
    pub fn on_binary(&mut self, data: &[u8]) -> Vec<GwAction> {
        if data.len() < 3 {
            return Vec::new();
        }
        let seq = i64::from(u16::from_be_bytes([data[0], data[1]]));
        if !self.accept_seq(Some(seq)) {
            return Vec::new();
        }
        match data[2] {
            op @ (25 | 27 | 29 | 30) => vec![GwAction::DaveBinary {
                op,
                payload: data[3..].to_vec(),
            }],
            _ => Vec::new(),
        }
    }

    fn on_op(&mut self, op: u64, d: &Value, now: Instant) -> Vec<GwAction> {
        let mut out = Vec::new();
        match op {
            8 => {
                let ms = d
                    .get("heartbeat_interval")
                    .and_then(Value::as_f64)
                    .unwrap_or(13_750.0)
                    .clamp(100.0, 600_000.0);
                let iv = Duration::from_secs_f64(ms / 1000.0);
                self.heartbeat_interval = Some(iv);
                self.next_heartbeat = Some(now + iv);
            }
            2 if self.phase == Phase::AwaitReady => {
                let ssrc = d.get("ssrc").and_then(Value::as_u64).map(|v| v as u32);
                let ip = d.get("ip").and_then(Value::as_str).map(str::to_string);
                let port = d.get("port").and_then(Value::as_u64).map(|v| v as u16);
                self.offered_modes = d
                    .get("modes")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|m| m.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                match (ssrc, ip, port) {
                    (Some(ssrc), Some(ip), Some(port)) => {
                        if let Err(e) =
                            choose_mode(&self.offered_modes, self.forced_mode.as_deref())
                        {
                            self.enter(Phase::Closed, now);
                            out.push(GwAction::Close {
                                resume: false,
                                reason: e,
                            });
                        } else {
                            self.ssrc = Some(ssrc);
                            self.enter(Phase::Discovering, now);
                            out.push(GwAction::StartUdp { ip, port, ssrc });
                        }
                    }
                    _ => {
                        self.enter(Phase::Closed, now);
                        out.push(GwAction::Close {
                            resume: false,
                            reason: "op 2 Ready lacks ssrc, ip or port".into(),
                        });
                    }
                }
            }
            4 if self.phase == Phase::AwaitSession => {
                let key: Option<Vec<u8>> = d.get("secret_key").and_then(Value::as_array).map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_u64().map(|b| b as u8))
                        .collect()
                });
                let mode = d.get("mode").and_then(Value::as_str).unwrap_or_default();
                let chosen = choose_mode(&self.offered_modes, self.forced_mode.as_deref());
                match (key, chosen) {
                    (Some(key), Ok(chosen))
                        if key.len() == 32 && (mode.is_empty() || mode == chosen) =>
                    {
                        self.established = true;
                        self.enter(Phase::Ready, now);
                        let dave = d
                            .get("dave_protocol_version")
                            .and_then(Value::as_u64)
                            .unwrap_or(0)
                            .min(u64::from(u16::MAX)) as u16;
                        out.push(GwAction::SessionReady {
                            ssrc: self.ssrc.unwrap_or_default(),
                            mode: chosen,
                            secret_key: key,
                            dave_protocol_version: dave,
                        });
                    }
                    _ => {
                        self.enter(Phase::Closed, now);
                        out.push(GwAction::Close {
                            resume: false,
                            reason: format!(
                                "op 4 Session Description unusable (mode {mode:?}, needs a 32-byte secret_key)"
                            ),
                        });
                    }
                }
            }
            9 if self.phase == Phase::AwaitResumed => {
                self.enter(Phase::Ready, now);
                out.push(GwAction::Resumed);
            }
            6 => self.awaiting_ack = false,
            5 => {
                if let (Some(user), Some(ssrc)) = (
                    d.get("user_id")
                        .and_then(Value::as_str)
                        .and_then(|u| u.parse().ok()),
                    d.get("ssrc").and_then(Value::as_u64),
                ) {
                    out.push(GwAction::MapSsrc {
                        ssrc: ssrc as u32,
                        user_id: user,
                    });
                }
            }
            18 => {
                let user = d
                    .get("user_id")
                    .and_then(Value::as_str)
                    .and_then(|u| u.parse().ok());
                let ssrc = d.get("audio_ssrc").and_then(Value::as_u64).unwrap_or(0);
                if let (Some(user), true) = (user, ssrc != 0) {
                    out.push(GwAction::MapSsrc {
                        ssrc: ssrc as u32,
                        user_id: user,
                    });
                }
            }
            11 => {
                let user_ids: Vec<u64> = d
                    .get("user_ids")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|u| u.as_str().and_then(|u| u.parse().ok()))
                            .collect()
                    })
                    .unwrap_or_default();
                if !user_ids.is_empty() {
                    out.push(GwAction::ClientsConnect { user_ids });
                }
            }
            21 | 22 | 24 => out.push(GwAction::DaveJson {
                op: op as u8,
                d: d.clone(),
            }),
            13 => {
                if let Some(user) = d
                    .get("user_id")
                    .and_then(Value::as_str)
                    .and_then(|u| u.parse().ok())
                {
                    out.push(GwAction::UserLeft { user_id: user });
                }
            }
            _ => {}
        }
        out
    }

    /// UDP IP discovery finished: select the protocol.
    pub fn on_discovered(&mut self, address: &str, port: u16, now: Instant) -> Vec<GwAction> {
        if self.phase != Phase::Discovering {
            return Vec::new();
        }
        let mode = match choose_mode(&self.offered_modes, self.forced_mode.as_deref()) {
            Ok(m) => m,
            Err(e) => {
                self.enter(Phase::Closed, now);
                return vec![GwAction::Close {
                    resume: false,
                    reason: e,
                }];
            }
        };
        self.enter(Phase::AwaitSession, now);
        vec![GwAction::Send(
            json!({"op": 1, "d": {"protocol": "udp", "data": {"address": address, "port": port, "mode": mode}}})
                .to_string(),
        )]
    }

    /// The socket closed (`code` from the close frame, `None` for an error or EOF).
    pub fn on_close(&mut self, code: Option<u16>, now: Instant) -> GwAction {
        let reason = match code {
            Some(c) => format!("socket_closed_{c}"),
            None => "socket_dropped".to_string(),
        };
        let resume = self.established
            && self.phase != Phase::AwaitResumed
            && code.is_none_or(is_resumable_close);
        self.enter(Phase::Closed, now);
        GwAction::Close { resume, reason }
    }

    /// When `poll` next has work.
    pub fn next_deadline(&self) -> Option<Instant> {
        let step = match self.phase {
            Phase::Ready | Phase::Closed => None,
            _ => Some(self.phase_since + STEP_TIMEOUT),
        };
        match (step, self.next_heartbeat) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Run timers: handshake step timeouts and heartbeats.
    pub fn poll(&mut self, now: Instant, unix_ms: u64) -> Vec<GwAction> {
        let mut out = Vec::new();
        if self.phase == Phase::Closed {
            return out;
        }
        if !matches!(self.phase, Phase::Ready) && now >= self.phase_since + STEP_TIMEOUT {
            let was = self.phase;
            let resume = self.established && was != Phase::AwaitResumed;
            self.enter(Phase::Closed, now);
            out.push(GwAction::Close {
                resume,
                reason: format!("timed out in {was:?}"),
            });
            return out;
        }
        if let (Some(at), Some(iv)) = (self.next_heartbeat, self.heartbeat_interval) {
            if now >= at {
                if self.awaiting_ack {
                    let resume = self.established;
                    self.enter(Phase::Closed, now);
                    out.push(GwAction::Close {
                        resume,
                        reason: "heartbeat_not_acknowledged".into(),
                    });
                    return out;
                }
                out.push(GwAction::Send(self.heartbeat(unix_ms)));
                self.awaiting_ack = true;
                self.next_heartbeat = Some(at + iv);
                if now > at + iv {
                    self.next_heartbeat = Some(now + iv);
                }
            }
        }
        out
    }
}

/// Build the WebSocket URL for a voice endpoint (§9.1).
pub fn gateway_url(endpoint: &str) -> String {
    let endpoint = endpoint.trim();
    let (scheme, rest) = if let Some(r) = endpoint.strip_prefix("ws://") {
        ("ws", r)
    } else if let Some(r) = endpoint.strip_prefix("wss://") {
        ("wss", r)
    } else {
        ("wss", endpoint)
    };
    let (host, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    if path.is_empty() || path == "/" {
        return format!("{scheme}://{host}/?v=8");
    }
    if path.contains('?') {
        format!("{scheme}://{host}{path}&v=8")
    } else {
        format!("{scheme}://{host}{path}?v=8")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const MODES: &str = r#"["aead_aes256_gcm_rtpsize","aead_xchacha20_poly1305_rtpsize"]"#;

    fn creds() -> Credentials {
        Credentials {
            server_id: 1,
            user_id: 2,
            session_id: "sess".into(),
            token: "tok".into(),
        }
    }

    fn sent(actions: &[GwAction]) -> Vec<Value> {
        actions
            .iter()
            .filter_map(|a| match a {
                GwAction::Send(s) => Some(serde_json::from_str(s).unwrap()),
                _ => None,
            })
            .collect()
    }

    /// Drive a session to Ready; returns it and the instant reached.
    fn ready_session(t: Instant, forced: Option<&str>) -> GatewaySession {
        let mut g = GatewaySession::new(creds(), forced.map(str::to_string), t);
        let s = sent(&g.begin_socket(false, t));
        assert!(g
            .on_text(r#"{"op":8,"d":{"heartbeat_interval":1000}}"#, t)
            .is_empty());
        assert_eq!(s[0]["op"], 0);
        assert_eq!(s[0]["d"]["server_id"], "1");
        assert_eq!(s[0]["d"]["user_id"], "2");
        assert_eq!(s[0]["d"]["session_id"], "sess");
        assert_eq!(s[0]["d"]["max_dave_protocol_version"], 1);
        let a = g.on_text(
            &format!(
                r#"{{"op":2,"d":{{"ssrc":77,"ip":"127.0.0.1","port":5000,"modes":{MODES}}}}}"#
            ),
            t,
        );
        assert_eq!(
            a,
            vec![GwAction::StartUdp {
                ip: "127.0.0.1".into(),
                port: 5000,
                ssrc: 77
            }]
        );
        let a = g.on_discovered("203.0.113.7", 40000, t);
        let s = sent(&a);
        assert_eq!(s[0]["op"], 1);
        assert_eq!(s[0]["d"]["protocol"], "udp");
        assert_eq!(s[0]["d"]["data"]["address"], "203.0.113.7");
        assert_eq!(s[0]["d"]["data"]["port"], 40000);
        let mode = s[0]["d"]["data"]["mode"].as_str().unwrap().to_string();
        let key: Vec<u8> = (0..32).collect();
        let a = g.on_text(
            &json!({"op":4,"d":{"mode":mode,"secret_key":key,"dave_protocol_version":0}})
                .to_string(),
            t,
        );
        assert!(
            matches!(&a[0], GwAction::SessionReady { ssrc: 77, secret_key, .. } if secret_key.len() == 32)
        );
        assert_eq!(g.phase(), Phase::Ready);
        g
    }

    #[test]
    fn handshake_prefers_aes_gcm() {
        let t = Instant::now();
        let mut g = GatewaySession::new(creds(), None, t);
        g.begin_socket(false, t);
        g.on_text(r#"{"op":8,"d":{"heartbeat_interval":1000}}"#, t);
        g.on_text(
            &format!(r#"{{"op":2,"d":{{"ssrc":1,"ip":"x","port":1,"modes":{MODES}}}}}"#),
            t,
        );
        let s = sent(&g.on_discovered("a", 1, t));
        assert_eq!(s[0]["d"]["data"]["mode"], "aead_aes256_gcm_rtpsize");
        let _ = ready_session(t, None);
    }

    #[test]
    fn forced_mode_is_used() {
        let t = Instant::now();
        let mut g = GatewaySession::new(creds(), Some("aead_xchacha20_poly1305_rtpsize".into()), t);
        g.begin_socket(false, t);
        g.on_text(r#"{"op":8,"d":{"heartbeat_interval":1000}}"#, t);
        g.on_text(
            &format!(r#"{{"op":2,"d":{{"ssrc":1,"ip":"x","port":1,"modes":{MODES}}}}}"#),
            t,
        );
        let s = sent(&g.on_discovered("a", 1, t));
        assert_eq!(s[0]["d"]["data"]["mode"], "aead_xchacha20_poly1305_rtpsize");
    }

    #[test]
    fn no_supported_mode_fails_the_connect() {
        let t = Instant::now();
        let mut g = GatewaySession::new(creds(), None, t);
        g.begin_socket(false, t);
        g.on_text(r#"{"op":8,"d":{"heartbeat_interval":1000}}"#, t);
        let a = g.on_text(
            r#"{"op":2,"d":{"ssrc":1,"ip":"x","port":1,"modes":["xsalsa20_poly1305"]}}"#,
            t,
        );
        assert!(matches!(&a[0], GwAction::Close { resume: false, .. }));
    }

    #[test]
    fn heartbeats_carry_seq_ack_and_missing_acks_kill_the_socket() {
        let t = Instant::now();
        let mut g = ready_session(t, None);
        assert_eq!(g.next_deadline(), Some(t + 1000 * MS));
        assert!(g.poll(t + 999 * MS, 5).is_empty());
        let s = sent(&g.poll(t + 1000 * MS, 5));
        assert_eq!(
            s[0],
            json!({"op":3,"d":{"t":5}}),
            "no seq_ack before any seq"
        );
        g.on_text(r#"{"op":6,"d":{"t":5}}"#, t + 1010 * MS);
        g.on_text(
            r#"{"op":5,"d":{"user_id":"9","ssrc":3,"speaking":1},"seq":10}"#,
            t,
        );
        let s = sent(&g.poll(t + 2000 * MS, 6));
        assert_eq!(s[0], json!({"op":3,"d":{"t":6,"seq_ack":10}}));
        // no ack this time
        let a = g.poll(t + 3000 * MS, 7);
        assert_eq!(
            a,
            vec![GwAction::Close {
                resume: true,
                reason: "heartbeat_not_acknowledged".into()
            }]
        );
    }

    #[test]
    fn resume_sends_op7_with_seq_ack_and_drops_replayed_duplicates() {
        let t = Instant::now();
        let mut g = ready_session(t, None);
        let a = g.on_text(
            r#"{"op":5,"d":{"user_id":"9","ssrc":3,"speaking":1},"seq":4}"#,
            t,
        );
        assert_eq!(
            a,
            vec![GwAction::MapSsrc {
                ssrc: 3,
                user_id: 9
            }]
        );
        let close = g.on_close(Some(4015), t);
        assert_eq!(
            close,
            GwAction::Close {
                resume: true,
                reason: "socket_closed_4015".into()
            }
        );
        let s = sent(&g.begin_socket(true, t));
        assert!(g
            .on_text(r#"{"op":8,"d":{"heartbeat_interval":500.5}}"#, t)
            .is_empty());
        assert_eq!(
            s[0],
            json!({"op":7,"d":{"server_id":"1","session_id":"sess","token":"tok","seq_ack":4}})
        );
        assert_eq!(
            g.on_text(r#"{"op":9,"d":null}"#, t),
            vec![GwAction::Resumed]
        );
        // the server replays 4 (already seen) and 5 (missed)
        assert!(g
            .on_text(
                r#"{"op":5,"d":{"user_id":"9","ssrc":3,"speaking":1},"seq":4}"#,
                t
            )
            .is_empty());
        assert_eq!(
            g.on_text(r#"{"op":13,"d":{"user_id":"9"},"seq":5}"#, t),
            vec![GwAction::UserLeft { user_id: 9 }]
        );
        assert_eq!(g.last_seq(), Some(5));
    }

    #[test]
    fn fatal_close_codes_and_failed_resumes_do_not_resume() {
        let t = Instant::now();
        let mut g = ready_session(t, None);
        assert!(matches!(
            g.on_close(Some(4014), t),
            GwAction::Close { resume: false, .. }
        ));
        let mut g = ready_session(t, None);
        assert!(matches!(
            g.on_close(None, t),
            GwAction::Close { resume: true, .. }
        ));
        g.begin_socket(true, t);
        g.on_text(r#"{"op":8,"d":{"heartbeat_interval":1000}}"#, t);
        assert!(matches!(
            g.on_close(Some(1006), t),
            GwAction::Close { resume: false, .. }
        ));
    }

    #[test]
    fn handshake_steps_time_out() {
        let t = Instant::now();
        let mut g = GatewaySession::new(creds(), None, t);
        g.begin_socket(false, t);
        assert_eq!(g.next_deadline(), Some(t + STEP_TIMEOUT));
        let a = g.poll(t + STEP_TIMEOUT, 0);
        assert!(
            matches!(&a[0], GwAction::Close { resume: false, reason } if reason.contains("AwaitReady"))
        );
    }

    #[test]
    fn client_connect_maps_audio_ssrc() {
        let t = Instant::now();
        let mut g = ready_session(t, None);
        assert_eq!(
            g.on_text(
                r#"{"op":18,"d":{"user_id":"5","audio_ssrc":44,"video_ssrc":0}}"#,
                t
            ),
            vec![GwAction::MapSsrc {
                ssrc: 44,
                user_id: 5
            }]
        );
        assert!(g
            .on_text(r#"{"op":18,"d":{"user_id":"5","audio_ssrc":0}}"#, t)
            .is_empty());
        assert_eq!(
            g.on_text(r#"{"op":11,"d":{"user_ids":["5","x"]}}"#, t),
            vec![GwAction::ClientsConnect { user_ids: vec![5] }]
        );
        assert!(g.on_text("garbage", t).is_empty());
    }

    #[test]
    fn speaking_payload_has_our_ssrc() {
        let t = Instant::now();
        let g = ready_session(t, None);
        let v: Value = serde_json::from_str(&g.speaking(true).unwrap()).unwrap();
        assert_eq!(v, json!({"op":5,"d":{"speaking":1,"delay":0,"ssrc":77}}));
    }

    #[test]
    fn urls_follow_the_spec() {
        let doc: Value = serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/golden/transport.json"
            ))
            .unwrap(),
        )
        .unwrap();
        for case in doc["urls"].as_array().unwrap() {
            assert_eq!(
                gateway_url(case["endpoint"].as_str().unwrap()),
                case["url"].as_str().unwrap()
            );
        }
    }
}
