//! The application core: everything one clankvox process decides, fed commands, connection
//! events, decoder output and clock ticks, returning [`Effect`]s for `main` to carry out.
//!
//! It owns the connection lifecycle (connect, reconnect with backoff), the send path (playout →
//! Opus → frame transform → RTP → transport encryption) and the receive path (transport
//! decryption → frame transform → [`Receiver`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use crate::clock::Tick;
use crate::codec::{Encoder, SILENCE_FRAME};
use crate::connection::{ConnCommand, ConnEvent, ConnectParams};
use crate::crypto::{NonceCounter, TransportCipher};
use crate::dave::{DaveController, DaveOut};
use crate::music::{MusicEffect, MusicPlayer, PipeMsg};
use crate::playout::{MusicTick, OutFrame, Playout, PlayoutEvent};
use crate::protocol::{AdapterPayload, Command, ErrorCode, Event};
use crate::receive::{Receiver, RxOutput};
use crate::resample::Resampler;
use crate::rtp::{is_rtcp, OutboundRtp, RtpHeader, OPUS_PAYLOAD_TYPE};
use crate::voice_gateway::Credentials;

/// `buffer_depth` period in ticks (500 ms).
pub const DEPTH_EVERY_TICKS: u64 = 25;
/// Longest reconnect backoff.
pub const MAX_BACKOFF: Duration = Duration::from_secs(16);
/// A DAVE call reports its `dave_state` at least this often (and on every change).
pub const DAVE_REPORT_EVERY: Duration = Duration::from_secs(5);

/// Something for `main` to do.
#[derive(Debug)]
pub enum Effect {
    Emit(Event),
    UserAudio {
        user_id: u64,
        pcm: Vec<i16>,
    },
    /// Start connection `gen` (closing any other).
    Connect {
        gen: u64,
        params: ConnectParams,
    },
    /// Close the current connection.
    Disconnect,
    Conn(ConnCommand),
    /// Send a datagram on the voice socket.
    Udp(Vec<u8>),
    SpawnMusic {
        url: String,
        direct: bool,
    },
    /// Compute a DAVE verification code off the loop and emit `dave_verification_code`.
    VerificationCode {
        user_id: u64,
        fingerprints: [Vec<u8>; 2],
    },
    KillMusic,
    Exit,
}

struct ReadyState {
    ssrc: u32,
    cipher: TransportCipher,
    socket: Arc<UdpSocket>,
    nonce: NonceCounter,
    rtp: OutboundRtp,
}

struct Conn {
    gen: u64,
    params: ConnectParams,
    ready: Option<ReadyState>,
    /// DAVE for this connection (a new one per connection: the MLS group is per session).
    dave: DaveController,
    /// When the next periodic `dave_state` is due (every 5 s on a DAVE call).
    dave_report_at: Option<Instant>,
}

/// The whole process state.
pub struct App {
    guild_id: Option<u64>,
    channel_id: Option<u64>,
    self_mute: bool,
    user_id: Option<u64>,
    session_id: Option<String>,
    endpoint: Option<String>,
    token: Option<String>,
    forced_mode: Option<String>,
    env_mode: Option<String>,
    via_join: bool,
    gen: u64,
    conn: Option<Conn>,
    reconnect_at: Option<Instant>,
    backoff: u32,
    playout: Playout,
    music: MusicPlayer,
    receiver: Receiver,
    encoder: Option<Encoder>,
    tts_resampler: Option<Resampler>,
    unmapped: UnmappedPackets,
    depth_reported_nonzero: bool,
    out: Vec<Effect>,
}

/// Packets of SSRCs whose owner is not known yet, replayed when it is (bounded: a few SSRCs,
/// half a second each).
#[derive(Default)]
struct UnmappedPackets {
    by_ssrc: Vec<(u32, std::collections::VecDeque<HeldPacket>)>,
}

/// Sequence number, Opus frame and arrival time of a held packet.
type HeldPacket = (u16, Vec<u8>, Instant);

impl UnmappedPackets {
    const MAX_SSRCS: usize = 8;
    const MAX_PACKETS: usize = 25;

    fn stash(&mut self, ssrc: u32, seq: u16, opus: Vec<u8>, at: Instant) {
        let idx = match self.by_ssrc.iter().position(|(s, _)| *s == ssrc) {
            Some(i) => i,
            None => {
                if self.by_ssrc.len() == Self::MAX_SSRCS {
                    self.by_ssrc.remove(0);
                }
                self.by_ssrc.push((ssrc, Default::default()));
                self.by_ssrc.len() - 1
            }
        };
        let q = &mut self.by_ssrc[idx].1;
        if q.len() == Self::MAX_PACKETS {
            q.pop_front();
        }
        q.push_back((seq, opus, at));
    }

    fn take(&mut self, ssrc: u32) -> Vec<HeldPacket> {
        match self.by_ssrc.iter().position(|(s, _)| *s == ssrc) {
            Some(i) => self.by_ssrc.remove(i).1.into(),
            None => Vec::new(),
        }
    }

    fn clear(&mut self) {
        self.by_ssrc.clear();
    }
}

fn log_event(level: &'static str, message: impl Into<String>) -> Event {
    Event::Log {
        level,
        target: "clankvox",
        message: message.into(),
        fields: serde_json::Map::new(),
    }
}

impl App {
    /// `env_mode`: `CLANKVOX_FORCE_MODE`, used when `connect` does not name a mode.
    pub fn new(env_mode: Option<String>) -> Self {
        Self {
            guild_id: None,
            channel_id: None,
            self_mute: false,
            user_id: None,
            session_id: None,
            endpoint: None,
            token: None,
            forced_mode: None,
            env_mode,
            via_join: false,
            gen: 0,
            conn: None,
            reconnect_at: None,
            backoff: 0,
            playout: Playout::new(),
            music: MusicPlayer::new(),
            receiver: Receiver::new(0),
            encoder: None,
            tts_resampler: None,
            unmapped: UnmappedPackets::default(),
            depth_reported_nonzero: false,
            out: Vec::new(),
        }
    }

    fn emit(&mut self, e: Event) {
        self.out.push(Effect::Emit(e));
    }

    fn take(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.out)
    }

    fn is_ready(&self) -> bool {
        self.conn.as_ref().is_some_and(|c| c.ready.is_some())
    }

    /// The voice socket, once ready.
    pub fn udp_socket(&self) -> Option<&Arc<UdpSocket>> {
        self.conn.as_ref()?.ready.as_ref().map(|r| &r.socket)
    }

    /// When the reconnect timer fires.
    pub fn reconnect_deadline(&self) -> Option<Instant> {
        self.reconnect_at
    }

    /// How many music samples the mixer can take now (0 while paused or idle).
    pub fn music_room(&self) -> usize {
        if self.music.wants_pcm() {
            self.playout.music_room()
        } else {
            0
        }
    }

    // ---- commands ----------------------------------------------------------------------------

    pub fn on_command(&mut self, cmd: Command, now: Instant) -> Vec<Effect> {
        match cmd {
            Command::Join {
                guild_id,
                channel_id,
                self_mute,
            } => {
                self.guild_id = Some(guild_id);
                self.channel_id = Some(channel_id);
                self.self_mute = self_mute;
                self.via_join = true;
                self.backoff = 0;
                self.emit(Event::AdapterSend {
                    payload: AdapterPayload::join(guild_id, channel_id, self_mute),
                });
                self.try_connect(now);
            }
            Command::VoiceState {
                session_id,
                user_id,
                ..
            } => {
                if let Some(u) = user_id {
                    self.user_id = Some(u);
                    self.receiver.set_self_user(u);
                }
                if let Some(s) = session_id {
                    if self.session_id.as_deref() != Some(s.as_str()) {
                        self.session_id = Some(s);
                        self.restart_if_stale(now);
                    }
                }
                self.try_connect(now);
            }
            Command::VoiceServer { endpoint, token } => {
                if let Some(t) = token {
                    self.token = Some(t);
                }
                self.endpoint = endpoint;
                self.restart_if_stale(now);
                self.try_connect(now);
            }
            Command::Connect(p) => {
                self.guild_id = Some(p.guild_id);
                self.channel_id = Some(p.channel_id);
                self.user_id = Some(p.user_id);
                self.receiver.set_self_user(p.user_id);
                self.session_id = Some(p.session_id);
                self.endpoint = Some(p.endpoint);
                self.token = Some(p.token);
                self.self_mute = p.self_mute;
                self.forced_mode = p.mode;
                self.via_join = false;
                self.backoff = 0;
                self.restart_if_stale(now);
                self.try_connect(now);
            }
            Command::Destroy => {
                if !matches!(self.music.state, crate::music::PlayerState::Idle) {
                    let effects = self.music.stop_now();
                    self.apply_music(effects, true);
                }
                self.out.push(Effect::Disconnect);
                self.out.push(Effect::Exit);
            }
            Command::Audio { pcm, sample_rate } => self.on_tts(&pcm, sample_rate),
            Command::StopPlayback => {
                if self.playout.clear_tts() {
                    self.emit(Event::TtsPlaybackState { status: "idle" });
                }
                self.tts_resampler = None;
                let effects = self.music.stop_now();
                self.apply_music(effects, true);
            }
            Command::StopTtsPlayback => {
                if self.playout.clear_tts() {
                    self.emit(Event::TtsPlaybackState { status: "idle" });
                }
                self.tts_resampler = None;
            }
            Command::MusicPlay {
                url,
                resolved_direct_url,
            } => {
                let effects = self.music.play(url, resolved_direct_url, now);
                self.apply_music(effects, false);
            }
            Command::MusicStop => {
                let effects = self.music.stop();
                self.apply_music(effects, false);
            }
            Command::MusicPause => {
                let effects = self.music.pause();
                self.apply_music(effects, false);
            }
            Command::MusicResume => {
                let effects = self.music.resume(self.playout.music.len());
                self.apply_music(effects, false);
            }
            Command::MusicSetGain { target, fade_ms } => {
                if self.playout.gain.ramp_to(target, fade_ms, true) {
                    self.emit(Event::MusicGainReached { gain: target });
                }
            }
            Command::SubscribeUser(s) => self.receiver.subscribe(s),
            Command::UnsubscribeUser { user_id } => {
                let out = self.receiver.unsubscribe(user_id);
                self.rx_outputs(out);
            }
            Command::DaveVerificationCode { user_id } => {
                let pair = match self.conn.as_ref() {
                    None => Err("not connected to a voice call".to_string()),
                    Some(c) => c.dave.verification_fingerprints(user_id),
                };
                match pair {
                    Ok(fingerprints) => self.out.push(Effect::VerificationCode {
                        user_id,
                        fingerprints,
                    }),
                    Err(why) => self.emit(Event::DaveVerificationCode {
                        user_id: user_id.to_string(),
                        code: None,
                        error: Some(why),
                    }),
                }
            }
            Command::Unsupported { kind } => self.emit(Event::error(
                ErrorCode::Unsupported,
                format!("{kind} is not supported by this clankvox version"),
            )),
        }
        self.take()
    }

    fn on_tts(&mut self, pcm: &[i16], rate: u32) {
        if !self.is_ready() {
            return;
        }
        if matches!(self.music.state, crate::music::PlayerState::Playing)
            && self.playout.gain.target() >= 1.0
        {
            return; // music is playing un-ducked: TTS would be drowned anyway
        }
        if self.tts_resampler.as_ref().map(Resampler::in_rate) != Some(rate) {
            self.tts_resampler = Some(Resampler::new(rate, 48_000));
        }
        let pcm48 = self.tts_resampler.as_mut().expect("set above").process(pcm);
        let (became, dropped) = self.playout.push_tts(&pcm48);
        if became {
            self.emit(Event::TtsPlaybackState { status: "buffered" });
        }
        if dropped > 0 {
            self.emit(log_event(
                "warn",
                format!("TTS buffer full (15 s): dropped {dropped} samples"),
            ));
        }
    }

    fn apply_music(&mut self, effects: Vec<MusicEffect>, immediate_stop: bool) {
        for e in effects {
            match e {
                MusicEffect::Spawn { url, direct } => {
                    self.playout.music.clear();
                    self.out.push(Effect::SpawnMusic { url, direct });
                }
                MusicEffect::Kill => {
                    self.playout.music.clear();
                    self.out.push(Effect::KillMusic);
                }
                MusicEffect::Gain {
                    target,
                    fade_ms,
                    notify,
                } => {
                    if self.playout.gain.ramp_to(target, fade_ms, notify) && notify {
                        self.emit(Event::MusicGainReached { gain: target });
                    }
                }
                MusicEffect::PlayerState(s) => self.emit(Event::PlayerState { status: s }),
                MusicEffect::Armed(r) => {
                    if self.is_ready() {
                        self.emit(Event::PlaybackArmed { reason: r });
                    }
                }
                MusicEffect::Idle => {
                    if !immediate_stop {
                        self.emit(Event::MusicIdle);
                    }
                }
                MusicEffect::Error(message) => self.emit(Event::MusicError { message }),
            }
        }
    }

    /// Output of the decoder pipeline, pulled by `main` while `music_room` allows.
    pub fn on_music(&mut self, msg: PipeMsg) -> Vec<Effect> {
        match msg {
            PipeMsg::Pcm(pcm) => self.playout.push_music(&pcm),
            PipeMsg::Exited(result) => {
                let effects = self.music.on_exit(result);
                self.apply_music(effects, false);
            }
        }
        self.take()
    }

    // ---- connection --------------------------------------------------------------------------

    fn params(&self) -> Option<ConnectParams> {
        Some(ConnectParams {
            endpoint: self.endpoint.clone()?,
            creds: Credentials {
                server_id: self.guild_id?,
                user_id: self.user_id?,
                session_id: self.session_id.clone()?,
                token: self.token.clone()?,
            },
            forced_mode: self.forced_mode.clone().or_else(|| self.env_mode.clone()),
        })
    }

    fn try_connect(&mut self, _now: Instant) {
        if self.conn.is_some() || self.reconnect_at.is_some() {
            return;
        }
        let Some(params) = self.params() else { return };
        self.gen += 1;
        self.emit(log_event(
            "info",
            format!(
                "voice connecting to {} (attempt {})",
                params.endpoint, self.gen
            ),
        ));
        let dave = DaveController::new(
            params.creds.user_id,
            self.channel_id.unwrap_or(params.creds.server_id),
        );
        self.conn = Some(Conn {
            gen: self.gen,
            params: params.clone(),
            ready: None,
            dave,
            dave_report_at: None,
        });
        self.out.push(Effect::Connect {
            gen: self.gen,
            params,
        });
    }

    /// New credentials or endpoint: replace a connection that used the old ones, and skip a
    /// pending backoff.
    fn restart_if_stale(&mut self, now: Instant) {
        let current = self.params();
        if let Some(c) = &self.conn {
            if current.as_ref() != Some(&c.params) {
                self.out.push(Effect::Disconnect);
                self.teardown(now);
                self.conn = None;
            }
        }
        if current.is_some() {
            self.reconnect_at = None;
        }
    }

    /// Forget connection-scoped state after the connection went away.
    fn teardown(&mut self, now: Instant) {
        let out = self.receiver.clear_transport_state(now);
        self.rx_outputs(out);
        self.unmapped.clear();
        self.playout.reset_speaking();
        if self.playout.clear_tts() {
            self.emit(Event::TtsPlaybackState { status: "idle" });
        }
        self.tts_resampler = None;
        if !matches!(self.music.state, crate::music::PlayerState::Idle) {
            let effects = self.music.stop_now();
            // no playback_armed: the connection is gone
            let effects = effects
                .into_iter()
                .filter(|e| !matches!(e, MusicEffect::Armed(_)))
                .collect();
            self.apply_music(effects, true);
        }
    }

    pub fn on_conn_event(&mut self, gen: u64, ev: ConnEvent, now: Instant) -> Vec<Effect> {
        if self.conn.as_ref().map(|c| c.gen) != Some(gen) {
            return Vec::new(); // a replaced connection
        }
        match ev {
            ConnEvent::Ready {
                ssrc,
                cipher,
                socket,
                dave_protocol_version,
            } => {
                if self.encoder.is_none() {
                    match Encoder::new() {
                        Ok(e) => self.encoder = Some(e),
                        Err(e) => {
                            self.emit(Event::error(
                                ErrorCode::VoiceRuntimeError,
                                format!("cannot create the Opus encoder: {e}"),
                            ));
                        }
                    }
                }
                let mut fields = serde_json::Map::new();
                fields.insert("mode".into(), serde_json::json!(cipher.mode()));
                fields.insert("ssrc".into(), serde_json::json!(ssrc));
                self.emit(Event::Log {
                    level: "info",
                    target: "clankvox::connection",
                    message: "voice connection ready".into(),
                    fields,
                });
                if let Some(c) = self.conn.as_mut() {
                    c.ready = Some(ReadyState {
                        ssrc,
                        cipher,
                        socket,
                        nonce: NonceCounter::default(),
                        rtp: OutboundRtp::default(),
                    });
                }
                self.backoff = 0;
                // Announce our SSRC before any audio can follow (Discord requires an op 5 first).
                self.out.push(Effect::Conn(ConnCommand::Speaking(false)));
                self.emit(Event::ConnectionState { status: "ready" });
                self.emit(Event::TransportState {
                    role: "voice",
                    status: "ready",
                    reason: None,
                });
                self.emit(Event::Ready);
                self.emit(Event::PlaybackArmed {
                    reason: "connection_ready",
                });
                let out = self
                    .conn
                    .as_mut()
                    .map(|c| c.dave.on_session_description(dave_protocol_version))
                    .unwrap_or_default();
                self.dave_out(out, now);
            }
            ConnEvent::ClientsConnect { user_ids } => {
                if let Some(c) = self.conn.as_mut() {
                    c.dave.on_clients_connect(&user_ids);
                }
            }
            ConnEvent::DaveJson { op, d } => {
                let out = self
                    .conn
                    .as_mut()
                    .map(|c| c.dave.on_json(op, &d, now))
                    .unwrap_or_default();
                self.dave_out(out, now);
            }
            ConnEvent::DaveBinary { op, payload } => {
                let out = self
                    .conn
                    .as_mut()
                    .map(|c| c.dave.on_binary(op, &payload, now))
                    .unwrap_or_default();
                self.dave_out(out, now);
            }
            ConnEvent::Resuming { reason } => self.emit(Event::TransportState {
                role: "voice",
                status: "resuming",
                reason: Some(reason),
            }),
            ConnEvent::Resumed => self.emit(Event::TransportState {
                role: "voice",
                status: "ready",
                reason: Some("resumed".into()),
            }),
            ConnEvent::MapSsrc { ssrc, user_id } => {
                self.receiver.map_ssrc(ssrc, user_id);
                for (seq, opus, at) in self.unmapped.take(ssrc) {
                    self.deliver(ssrc, user_id, seq, opus, at);
                }
            }
            ConnEvent::UserLeft { user_id } => {
                if let Some(c) = self.conn.as_mut() {
                    c.dave.on_client_disconnect(user_id);
                }
                let out = self.receiver.remove_user(user_id);
                self.rx_outputs(out);
            }
            ConnEvent::Packet { data, at } => self.on_packet(&data, at),
            ConnEvent::Failed { reason, was_ready } => {
                if was_ready {
                    self.emit(Event::error(ErrorCode::VoiceRuntimeError, reason.clone()));
                    self.emit(Event::ConnectionState {
                        status: "disconnected",
                    });
                    self.emit(Event::TransportState {
                        role: "voice",
                        status: "disconnected",
                        reason: Some(reason),
                    });
                } else {
                    self.emit(Event::error(ErrorCode::VoiceConnectFailed, reason));
                }
                self.teardown(now);
                self.conn = None;
                let delay = Duration::from_secs(1u64 << self.backoff.min(4)).min(MAX_BACKOFF);
                self.backoff += 1;
                self.reconnect_at = Some(now + delay);
                self.emit(Event::ConnectionState {
                    status: "reconnecting",
                });
                self.emit(Event::TransportState {
                    role: "voice",
                    status: "reconnecting",
                    reason: None,
                });
            }
        }
        self.take()
    }

    /// A datagram read from [`App::udp_socket`] at `at`: the socket of the current connection,
    /// so no generation check is needed.
    pub fn on_udp_packet(&mut self, data: &[u8], at: Instant) -> Vec<Effect> {
        self.on_packet(data, at);
        self.take()
    }

    pub fn on_reconnect_timer(&mut self, now: Instant) -> Vec<Effect> {
        if self.reconnect_at.is_some_and(|t| now >= t) {
            self.reconnect_at = None;
            if let (true, Some(g), Some(c)) = (self.via_join, self.guild_id, self.channel_id) {
                self.emit(Event::AdapterSend {
                    payload: AdapterPayload::join(g, c, self.self_mute),
                });
            }
            self.try_connect(now);
        }
        self.take()
    }

    fn on_packet(&mut self, data: &[u8], at: Instant) {
        let Some(ready) = self.conn.as_ref().and_then(|c| c.ready.as_ref()) else {
            return;
        };
        if data.len() < 12 || data[0] >> 6 != 2 || is_rtcp(data) {
            return; // discovery replies, keepalive echoes, RTCP
        }
        let Ok(header) = RtpHeader::parse(data) else {
            return;
        };
        if header.payload_type != OPUS_PAYLOAD_TYPE {
            return;
        }
        let Ok((_, opus)) = ready.cipher.open_rtp(data) else {
            return;
        };
        match self.receiver.user_of(header.ssrc) {
            Some(user) => self.deliver(header.ssrc, user, header.sequence, opus, at),
            // The owner (op 5) may still be on its way: keep the packet briefly.
            None => self.unmapped.stash(header.ssrc, header.sequence, opus, at),
        }
    }

    fn deliver(&mut self, ssrc: u32, user: u64, seq: u16, opus: Vec<u8>, at: Instant) {
        let Some(frame) = self.conn.as_mut().and_then(|c| c.dave.decrypt(user, opus)) else {
            return;
        };
        let out = self.receiver.on_frame(ssrc, seq, frame, at);
        self.rx_outputs(out);
    }

    /// Carry out what DAVE wants sent, and report its state when it changed.
    fn dave_out(&mut self, out: Vec<DaveOut>, now: Instant) {
        for o in out {
            self.out.push(Effect::Conn(match o {
                DaveOut::Json(text) => ConnCommand::SendText(text),
                DaveOut::Binary(bytes) => ConnCommand::SendBinary(bytes),
            }));
        }
        let Some(c) = self.conn.as_mut() else { return };
        let periodic = c.dave.protocol_version() > 0 && c.dave_report_at.is_none_or(|t| now >= t);
        if c.dave.take_changed() || periodic {
            c.dave_report_at = Some(now + DAVE_REPORT_EVERY);
            let state = c.dave.state();
            self.emit(Event::DaveState(state));
        }
    }

    fn rx_outputs(&mut self, out: Vec<RxOutput>) {
        for o in out {
            match o {
                RxOutput::Event(e) => self.emit(e),
                RxOutput::Audio { user_id, pcm } => {
                    self.out.push(Effect::UserAudio { user_id, pcm })
                }
            }
        }
    }

    // ---- the 20 ms tick ----------------------------------------------------------------------

    pub fn on_tick(&mut self, tick: Tick, now: Instant) -> Vec<Effect> {
        if tick.skipped > 0 {
            self.emit(Event::Log {
                level: "warn",
                target: "clankvox::clock",
                message: "send clock fell behind".into(),
                fields: [("skipped".to_string(), serde_json::json!(tick.skipped))]
                    .into_iter()
                    .collect(),
            });
        }
        let out = self.receiver.on_tick(now);
        self.rx_outputs(out);
        let dave = self
            .conn
            .as_mut()
            .map(|c| c.dave.poll(now))
            .unwrap_or_default();
        self.dave_out(dave, now);
        if !self.is_ready() {
            return self.take();
        }
        let effects = self.music.tick(
            now,
            self.playout.tts.len(),
            self.playout.music.len(),
            self.playout.gain.current(),
            self.playout.gain.is_ramping(),
        );
        self.apply_music(effects, false);
        let (frame, events) = self.playout.tick(MusicTick {
            audible: self.music.audible(),
            flush_tail: self.music.decoder_done,
        });
        let mut after = Vec::new();
        for e in events {
            match e {
                PlayoutEvent::SpeakingOn => {
                    self.out.push(Effect::Conn(ConnCommand::Speaking(true)))
                }
                PlayoutEvent::SpeakingOff => after.push(Effect::Conn(ConnCommand::Speaking(false))),
                PlayoutEvent::TtsIdle => {
                    self.tts_resampler = None;
                    self.emit(Event::TtsPlaybackState { status: "idle" });
                }
                PlayoutEvent::GainReached(g) => self.emit(Event::MusicGainReached { gain: g }),
            }
        }
        if let Some(frame) = frame {
            self.send_frame(frame, tick.index);
        }
        self.out.extend(after);
        if tick.index.is_multiple_of(DEPTH_EVERY_TICKS) {
            let tts = self.playout.tts.len() as u64;
            let music = self.playout.music.len() as u64;
            if tts > 0 || music > 0 || self.depth_reported_nonzero {
                self.emit(Event::BufferDepth {
                    tts_samples: tts,
                    music_samples: music,
                });
                self.depth_reported_nonzero = tts > 0 || music > 0;
            }
        }
        self.take()
    }

    fn send_frame(&mut self, frame: OutFrame, tick_index: u64) {
        let opus = match frame {
            OutFrame::Silence => SILENCE_FRAME.to_vec(),
            OutFrame::Pcm { pcm, profile } => match self
                .encoder
                .as_mut()
                .map(|e| e.set_profile(profile).and_then(|()| e.encode_mono(&pcm)))
            {
                Some(Ok(p)) => p,
                Some(Err(e)) => {
                    self.emit(log_event("error", format!("Opus encode failed: {e}")));
                    return;
                }
                None => return,
            },
        };
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let Some(payload) = conn.dave.encrypt(opus) else {
            return; // a DAVE call without keys yet: never send the frame in the clear
        };
        let Some(ready) = conn.ready.as_mut() else {
            return;
        };
        let header = ready.rtp.next_header(tick_index, ready.ssrc);
        let packet = ready.cipher.seal(&header, &payload, ready.nonce.advance());
        self.out.push(Effect::Udp(packet));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::MODE_XCHACHA20;
    use crate::protocol::parse_line;

    fn cmd(line: &str) -> Command {
        parse_line(line.as_bytes()).unwrap().unwrap()
    }

    fn events(effects: &[Effect]) -> Vec<String> {
        effects
            .iter()
            .filter_map(|e| match e {
                Effect::Emit(Event::Log { .. }) => None, // logs are not protocol events
                Effect::Emit(ev) => {
                    let v = serde_json::to_value(ev).unwrap();
                    let mut s = v["type"].as_str().unwrap().to_string();
                    if let Some(st) = v.get("status").and_then(|x| x.as_str()) {
                        s = format!("{s}:{st}");
                    }
                    if let Some(r) = v.get("reason").and_then(|x| x.as_str()) {
                        s = format!("{s}:{r}");
                    }
                    Some(s)
                }
                _ => None,
            })
            .collect()
    }

    const CONNECT: &str = r#"{"type":"connect","guildId":"1","channelId":"2","userId":"3","sessionId":"s","endpoint":"ws://127.0.0.1:9","token":"t"}"#;

    async fn ready_app(t: Instant) -> (App, Arc<UdpSocket>, UdpSocket) {
        let mut app = App::new(None);
        let fx = acts(app.on_command(cmd(CONNECT), t));
        assert!(matches!(fx[0], Effect::Connect { gen: 1, .. }));
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        sock.connect(server.local_addr().unwrap()).await.unwrap();
        let sock = Arc::new(sock);
        let cipher = TransportCipher::new(MODE_XCHACHA20, &[7; 32]).unwrap();
        let fx = app.on_conn_event(
            1,
            ConnEvent::Ready {
                ssrc: 42,
                cipher,
                socket: sock.clone(),
                dave_protocol_version: 0,
            },
            t,
        );
        assert_eq!(
            events(&fx),
            vec![
                "connection_state:ready",
                "transport_state:ready",
                "ready",
                "playback_armed:connection_ready",
                "dave_state:inactive"
            ]
        );
        (app, sock, server)
    }

    /// The effects that are not log events.
    fn acts(fx: Vec<Effect>) -> Vec<Effect> {
        fx.into_iter()
            .filter(|e| !matches!(e, Effect::Emit(Event::Log { .. })))
            .collect()
    }

    fn udp_packets(fx: &[Effect]) -> Vec<Vec<u8>> {
        fx.iter()
            .filter_map(|e| match e {
                Effect::Udp(p) => Some(p.clone()),
                _ => None,
            })
            .collect()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn tts_is_encoded_encrypted_and_framed_with_speaking() {
        let t = Instant::now();
        let (mut app, _s, _srv) = ready_app(t).await;
        use base64::Engine;
        let pcm: Vec<u8> = (0..24_000 / 5)
            .flat_map(|i| ((i % 100) as i16 * 50).to_le_bytes())
            .collect();
        let line = format!(
            r#"{{"type":"audio","pcmBase64":"{}","sampleRate":24000}}"#,
            base64::engine::general_purpose::STANDARD.encode(&pcm)
        );
        assert_eq!(
            events(&app.on_command(cmd(&line), t)),
            vec!["tts_playback_state:buffered"]
        );
        let fx = app.on_tick(
            Tick {
                index: 1,
                skipped: 0,
            },
            t,
        );
        assert!(matches!(fx[0], Effect::Conn(ConnCommand::Speaking(true))));
        let pkts = udp_packets(&fx);
        assert_eq!(pkts.len(), 1);
        let cipher = TransportCipher::new(MODE_XCHACHA20, &[7; 32]).unwrap();
        let (h, opus) = cipher.open_rtp(&pkts[0]).unwrap();
        assert_eq!((h.ssrc, h.sequence, h.timestamp), (42, 0, 960));
        assert!(opus.len() > 3);
        let mut all = Vec::new();
        for i in 2..40 {
            all.extend(app.on_tick(
                Tick {
                    index: i,
                    skipped: 0,
                },
                t,
            ));
        }
        let sent = udp_packets(&all);
        // 200 ms of TTS = 10 frames (one already sent) + 5 silence frames
        assert_eq!(sent.len(), 9 + 5);
        let (_, last) = cipher.open_rtp(sent.last().unwrap()).unwrap();
        assert_eq!(last, SILENCE_FRAME);
        let names = events(&all);
        assert!(
            names.contains(&"tts_playback_state:idle".to_string()),
            "{names:?}"
        );
        assert!(all
            .iter()
            .any(|e| matches!(e, Effect::Conn(ConnCommand::Speaking(false)))));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn tts_is_dropped_when_not_connected_or_under_loud_music() {
        let t = Instant::now();
        let mut app = App::new(None);
        let line = r#"{"type":"audio","pcmBase64":"AAAAAA=="}"#;
        assert!(app.on_command(cmd(line), t).is_empty());
        let (mut app, _s, _srv) = ready_app(t).await;
        app.music.state = crate::music::PlayerState::Playing;
        assert!(app.on_command(cmd(line), t).is_empty());
        app.playout.gain.set_now(0.15); // ducked: TTS passes
        assert_eq!(
            events(&app.on_command(cmd(line), t)),
            vec!["tts_playback_state:buffered"]
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn received_packets_reach_subscribers() {
        let t = Instant::now();
        let (mut app, _s, _srv) = ready_app(t).await;
        app.on_command(
            cmd(r#"{"type":"subscribe_user","userId":"77","sampleRate":16000}"#),
            t,
        );
        app.on_conn_event(
            1,
            ConnEvent::MapSsrc {
                ssrc: 500,
                user_id: 77,
            },
            t,
        );
        let cipher = TransportCipher::new(MODE_XCHACHA20, &[7; 32]).unwrap();
        let mut enc = Encoder::new().unwrap();
        let opus = enc.encode_mono(&[1000; 960]).unwrap();
        let pkt = cipher.seal(&crate::rtp::build_header(9, 0, 500), &opus, 1);
        let fx = app.on_conn_event(1, ConnEvent::Packet { data: pkt, at: t }, t);
        assert_eq!(events(&fx), vec!["speaking_start"]);
        assert!(fx
            .iter()
            .any(|e| matches!(e, Effect::UserAudio { user_id: 77, pcm } if pcm.len() == 320)));
        // a packet with a bad tag is dropped
        let mut bad = cipher.seal(&crate::rtp::build_header(10, 960, 500), &opus, 2);
        bad[14] ^= 1;
        assert!(app
            .on_conn_event(1, ConnEvent::Packet { data: bad, at: t }, t)
            .is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn packets_before_the_ssrc_owner_is_known_are_replayed() {
        let t = Instant::now();
        let (mut app, _s, _srv) = ready_app(t).await;
        app.on_command(cmd(r#"{"type":"subscribe_user","userId":"77"}"#), t);
        let cipher = TransportCipher::new(MODE_XCHACHA20, &[7; 32]).unwrap();
        let mut enc = Encoder::new().unwrap();
        let mut fx = Vec::new();
        for seq in 0..2u16 {
            let opus = enc.encode_mono(&[500; 960]).unwrap();
            let pkt = cipher.seal(
                &crate::rtp::build_header(seq, 0, 600),
                &opus,
                u32::from(seq),
            );
            fx.extend(app.on_conn_event(1, ConnEvent::Packet { data: pkt, at: t }, t));
        }
        assert!(fx.is_empty(), "nothing before the owner is known");
        let fx = app.on_conn_event(
            1,
            ConnEvent::MapSsrc {
                ssrc: 600,
                user_id: 77,
            },
            t,
        );
        assert_eq!(events(&fx), vec!["speaking_start"]);
        let audio = fx
            .iter()
            .filter(|e| matches!(e, Effect::UserAudio { user_id: 77, .. }))
            .count();
        assert_eq!(audio, 2);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn failures_schedule_reconnects_with_backoff() {
        let t = Instant::now();
        let (mut app, _s, _srv) = ready_app(t).await;
        let fx = app.on_conn_event(
            1,
            ConnEvent::Failed {
                reason: "socket_closed_4014".into(),
                was_ready: true,
            },
            t,
        );
        assert_eq!(
            events(&fx),
            vec![
                "error",
                "connection_state:disconnected",
                "transport_state:disconnected:socket_closed_4014",
                "connection_state:reconnecting",
                "transport_state:reconnecting"
            ]
        );
        assert_eq!(app.reconnect_deadline(), Some(t + Duration::from_secs(1)));
        assert!(app.on_reconnect_timer(t).is_empty());
        let fx = acts(app.on_reconnect_timer(t + Duration::from_secs(1)));
        assert!(matches!(fx[0], Effect::Connect { gen: 2, .. }));
        // stale events of connection 1 are ignored
        assert!(app
            .on_conn_event(
                1,
                ConnEvent::Failed {
                    reason: "x".into(),
                    was_ready: false
                },
                t
            )
            .is_empty());
        let fx = app.on_conn_event(
            2,
            ConnEvent::Failed {
                reason: "refused".into(),
                was_ready: false,
            },
            t,
        );
        assert_eq!(events(&fx)[0], "error");
        assert_eq!(app.reconnect_deadline(), Some(t + Duration::from_secs(2)));
    }

    #[test]
    fn join_flow_emits_adapter_send_and_connects_when_complete() {
        let t = Instant::now();
        let mut app = App::new(Some(MODE_XCHACHA20.into()));
        let fx = app.on_command(cmd(r#"{"type":"join","guildId":"10","channelId":"20"}"#), t);
        assert_eq!(events(&fx), vec!["adapter_send"]);
        assert!(app
            .on_command(
                cmd(r#"{"type":"voice_state","data":{"session_id":"s","user_id":"3"}}"#),
                t
            )
            .is_empty());
        let fx = acts(app.on_command(
            cmd(r#"{"type":"voice_server","data":{"endpoint":"ws://127.0.0.1:1","token":"tok"}}"#),
            t,
        ));
        match &fx[0] {
            Effect::Connect { gen, params } => {
                assert_eq!(*gen, 1);
                assert_eq!(params.creds.server_id, 10);
                assert_eq!(params.forced_mode.as_deref(), Some(MODE_XCHACHA20));
            }
            other => panic!("{other:?}"),
        }
        // a new token replaces the connection
        let fx = acts(app.on_command(
            cmd(r#"{"type":"voice_server","data":{"endpoint":"ws://127.0.0.1:1","token":"tok2"}}"#),
            t,
        ));
        assert!(matches!(fx[0], Effect::Disconnect));
        assert!(matches!(fx[1], Effect::Connect { gen: 2, .. }));
    }

    #[test]
    fn unsupported_and_destroy() {
        let t = Instant::now();
        let mut app = App::new(None);
        let fx = app.on_command(
            Command::Unsupported {
                kind: "stream_watch_connect".into(),
            },
            t,
        );
        assert_eq!(events(&fx), vec!["error"]);
        let fx = app.on_command(Command::Destroy, t);
        assert!(matches!(fx.last(), Some(Effect::Exit)));
    }

    #[test]
    fn set_gain_reports_immediately_or_after_the_ramp() {
        let t = Instant::now();
        let mut app = App::new(None);
        let fx = app.on_command(cmd(r#"{"type":"music_set_gain","target":0.25}"#), t);
        assert_eq!(events(&fx), vec!["music_gain_reached"]);
        let fx = app.on_command(
            cmd(r#"{"type":"music_set_gain","target":0.5,"fadeMs":40}"#),
            t,
        );
        assert!(fx.is_empty());
    }
}
