//! The pipe protocol's message types (docs/clankvox-protocol.md §2 and §4).
//!
//! Commands arrive as JSON lines and are parsed here into [`Command`] with defaults filled and
//! clamps applied, so the rest of the program never sees raw input. Events are serialised from
//! [`Event`]; their field order is part of the golden frames.

use serde::{Deserialize, Serialize};

/// Longest accepted stdin line in bytes (excluding the newline).
pub const MAX_LINE_BYTES: usize = 8 * 1024 * 1024;

/// Transport encryption modes clankvox can use, in order of preference.
pub const SUPPORTED_MODES: [&str; 2] =
    ["aead_aes256_gcm_rtpsize", "aead_xchacha20_poly1305_rtpsize"];

/// One stdin command after parsing, validation, defaults and clamps.
#[derive(Clone, Debug, PartialEq)]
pub enum Command {
    Join {
        guild_id: u64,
        channel_id: u64,
        self_mute: bool,
    },
    VoiceState {
        session_id: Option<String>,
        user_id: Option<u64>,
        channel_id: Option<String>,
    },
    VoiceServer {
        endpoint: Option<String>,
        token: Option<String>,
    },
    Connect(ConnectParams),
    Destroy,
    Audio {
        pcm: Vec<i16>,
        sample_rate: u32,
    },
    StopPlayback,
    StopTtsPlayback,
    MusicPlay {
        url: String,
        resolved_direct_url: bool,
    },
    MusicStop,
    MusicPause,
    MusicResume,
    MusicSetGain {
        target: f32,
        fade_ms: u32,
    },
    SubscribeUser(Subscription),
    UnsubscribeUser {
        user_id: u64,
    },
    /// [addition] Ask for the DAVE verification code of the pair (us, `user_id`).
    DaveVerificationCode {
        user_id: u64,
    },
    /// A reserved command (video, Go Live) that this version answers with `unsupported`.
    Unsupported {
        kind: String,
    },
}

/// Everything the `connect` command carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectParams {
    pub guild_id: u64,
    pub channel_id: u64,
    pub user_id: u64,
    pub session_id: String,
    pub endpoint: String,
    pub token: String,
    pub self_mute: bool,
    pub mode: Option<String>,
}

/// Parameters of a `subscribe_user`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscription {
    pub user_id: u64,
    pub silence_duration_ms: u32,
    pub sample_rate: u32,
    pub jitter_buffer_ms: u32,
}

/// Why a line was rejected; becomes an `error` event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProtocolError {
    pub code: ErrorCode,
    pub message: String,
}

/// The `code` of an `error` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidJson,
    InvalidRequest,
    InputTooLarge,
    VoiceConnectFailed,
    VoiceRuntimeError,
    Unsupported,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJson => "invalid_json",
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InputTooLarge => "input_too_large",
            ErrorCode::VoiceConnectFailed => "voice_connect_failed",
            ErrorCode::VoiceRuntimeError => "voice_runtime_error",
            ErrorCode::Unsupported => "unsupported",
        }
    }
}

impl ProtocolError {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

// ---- raw serde shapes (exactly the wire) -------------------------------------------------------

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum RawCommand {
    #[serde(rename_all = "camelCase")]
    Join {
        guild_id: String,
        channel_id: String,
        #[serde(default)]
        #[allow(dead_code)] // parsed for compatibility, deliberately ignored
        self_deaf: bool,
        #[serde(default)]
        self_mute: bool,
    },
    VoiceState {
        data: RawVoiceState,
    },
    VoiceServer {
        data: RawVoiceServer,
    },
    #[serde(rename_all = "camelCase")]
    Connect {
        guild_id: String,
        channel_id: String,
        user_id: String,
        session_id: String,
        endpoint: String,
        token: String,
        #[serde(default)]
        self_mute: bool,
        #[serde(default)]
        mode: Option<String>,
    },
    Destroy,
    #[serde(rename_all = "camelCase")]
    Audio {
        pcm_base64: String,
        #[serde(default = "default_rate")]
        sample_rate: u32,
    },
    StopPlayback,
    StopTtsPlayback,
    #[serde(rename_all = "camelCase")]
    MusicPlay {
        url: String,
        #[serde(default)]
        resolved_direct_url: bool,
    },
    MusicStop,
    MusicPause,
    MusicResume,
    #[serde(rename_all = "camelCase")]
    MusicSetGain {
        target: f32,
        #[serde(default)]
        fade_ms: u32,
    },
    #[serde(rename_all = "camelCase")]
    SubscribeUser {
        user_id: String,
        #[serde(default = "default_silence")]
        silence_duration_ms: u32,
        #[serde(default = "default_rate")]
        sample_rate: u32,
        #[serde(default = "default_jitter")]
        jitter_buffer_ms: u32,
    },
    #[serde(rename_all = "camelCase")]
    UnsubscribeUser {
        user_id: String,
    },
    #[serde(rename_all = "camelCase")]
    DaveVerificationCode {
        user_id: String,
    },
    SubscribeUserVideo,
    UnsubscribeUserVideo,
    StreamWatchConnect,
    StreamWatchDisconnect,
    StreamPublishConnect,
    StreamPublishDisconnect,
    StreamPublishPlay,
    StreamPublishPlayVisualizer,
    StreamPublishBrowserStart,
    StreamPublishBrowserFrame,
    StreamPublishStop,
    StreamPublishPause,
    StreamPublishResume,
}

#[derive(Deserialize)]
struct RawVoiceState {
    #[serde(default)]
    session_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    channel_id: Option<String>,
}

#[derive(Deserialize)]
struct RawVoiceServer {
    #[serde(default)]
    endpoint: Option<String>,
    #[serde(default)]
    token: Option<String>,
}

fn default_rate() -> u32 {
    24_000
}
fn default_silence() -> u32 {
    700
}
fn default_jitter() -> u32 {
    60
}

fn parse_id(field: &str, value: &str) -> Result<u64, ProtocolError> {
    value.parse::<u64>().map_err(|_| {
        ProtocolError::new(
            ErrorCode::InvalidRequest,
            format!("{field} must be a decimal Discord id (u64), got {value:?}"),
        )
    })
}

/// Decode base64 s16le PCM.
fn decode_pcm(b64: &str) -> Result<Vec<i16>, ProtocolError> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|e| {
            ProtocolError::new(
                ErrorCode::InvalidRequest,
                format!("audio.pcmBase64 is not valid base64: {e}"),
            )
        })?;
    if bytes.len() % 2 != 0 {
        return Err(ProtocolError::new(
            ErrorCode::InvalidRequest,
            format!(
                "audio.pcmBase64 decodes to {} bytes; s16le PCM needs an even count",
                bytes.len()
            ),
        ));
    }
    Ok(bytes
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect())
}

/// Parse one stdin line (without its newline). `Ok(None)` means a blank line (ignored).
pub fn parse_line(line: &[u8]) -> Result<Option<Command>, ProtocolError> {
    if line.len() > MAX_LINE_BYTES {
        return Err(ProtocolError::new(
            ErrorCode::InputTooLarge,
            format!(
                "stdin line of {} bytes exceeds the {} byte limit",
                line.len(),
                MAX_LINE_BYTES
            ),
        ));
    }
    let text = std::str::from_utf8(line).map_err(|e| {
        ProtocolError::new(
            ErrorCode::InvalidJson,
            format!("Invalid stdin JSON message: not UTF-8 ({e})"),
        )
    })?;
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let raw: RawCommand = serde_json::from_str(text).map_err(|e| {
        ProtocolError::new(
            ErrorCode::InvalidJson,
            format!("Invalid stdin JSON message: {e}"),
        )
    })?;
    convert(raw).map(Some)
}

fn convert(raw: RawCommand) -> Result<Command, ProtocolError> {
    Ok(match raw {
        RawCommand::Join {
            guild_id,
            channel_id,
            self_mute,
            ..
        } => Command::Join {
            guild_id: parse_id("join.guildId", &guild_id)?,
            channel_id: parse_id("join.channelId", &channel_id)?,
            self_mute,
        },
        RawCommand::VoiceState { data } => Command::VoiceState {
            user_id: match data.user_id {
                Some(u) => Some(parse_id("voice_state.data.user_id", &u)?),
                None => None,
            },
            session_id: data.session_id,
            channel_id: data.channel_id,
        },
        RawCommand::VoiceServer { data } => Command::VoiceServer {
            endpoint: data.endpoint,
            token: data.token,
        },
        RawCommand::Connect {
            guild_id,
            channel_id,
            user_id,
            session_id,
            endpoint,
            token,
            self_mute,
            mode,
        } => {
            if let Some(m) = &mode {
                if !SUPPORTED_MODES.contains(&m.as_str()) {
                    return Err(ProtocolError::new(
                        ErrorCode::InvalidRequest,
                        format!(
                            "connect.mode {m:?} is not supported; use one of {}",
                            SUPPORTED_MODES.join(", ")
                        ),
                    ));
                }
            }
            if endpoint.trim().is_empty() {
                return Err(ProtocolError::new(
                    ErrorCode::InvalidRequest,
                    "connect.endpoint must not be empty",
                ));
            }
            Command::Connect(ConnectParams {
                guild_id: parse_id("connect.guildId", &guild_id)?,
                channel_id: parse_id("connect.channelId", &channel_id)?,
                user_id: parse_id("connect.userId", &user_id)?,
                session_id,
                endpoint,
                token,
                self_mute,
                mode,
            })
        }
        RawCommand::Destroy => Command::Destroy,
        RawCommand::Audio {
            pcm_base64,
            sample_rate,
        } => Command::Audio {
            pcm: decode_pcm(&pcm_base64)?,
            sample_rate: sample_rate.clamp(8_000, 48_000),
        },
        RawCommand::StopPlayback => Command::StopPlayback,
        RawCommand::StopTtsPlayback => Command::StopTtsPlayback,
        RawCommand::MusicPlay {
            url,
            resolved_direct_url,
        } => Command::MusicPlay {
            url,
            resolved_direct_url,
        },
        RawCommand::MusicStop => Command::MusicStop,
        RawCommand::MusicPause => Command::MusicPause,
        RawCommand::MusicResume => Command::MusicResume,
        RawCommand::MusicSetGain { target, fade_ms } => Command::MusicSetGain {
            target: if target.is_nan() {
                0.0
            } else {
                target.clamp(0.0, 1.0)
            },
            fade_ms,
        },
        RawCommand::SubscribeUser {
            user_id,
            silence_duration_ms,
            sample_rate,
            jitter_buffer_ms,
        } => Command::SubscribeUser(Subscription {
            user_id: parse_id("subscribe_user.userId", &user_id)?,
            silence_duration_ms: silence_duration_ms.clamp(100, 5_000),
            sample_rate: sample_rate.clamp(8_000, 48_000),
            jitter_buffer_ms: jitter_buffer_ms.min(200),
        }),
        RawCommand::UnsubscribeUser { user_id } => Command::UnsubscribeUser {
            user_id: parse_id("unsubscribe_user.userId", &user_id)?,
        },
        RawCommand::DaveVerificationCode { user_id } => Command::DaveVerificationCode {
            user_id: parse_id("dave_verification_code.userId", &user_id)?,
        },
        other => Command::Unsupported {
            kind: reserved_name(&other).to_string(),
        },
    })
}

fn reserved_name(raw: &RawCommand) -> &'static str {
    match raw {
        RawCommand::SubscribeUserVideo => "subscribe_user_video",
        RawCommand::UnsubscribeUserVideo => "unsubscribe_user_video",
        RawCommand::StreamWatchConnect => "stream_watch_connect",
        RawCommand::StreamWatchDisconnect => "stream_watch_disconnect",
        RawCommand::StreamPublishConnect => "stream_publish_connect",
        RawCommand::StreamPublishDisconnect => "stream_publish_disconnect",
        RawCommand::StreamPublishPlay => "stream_publish_play",
        RawCommand::StreamPublishPlayVisualizer => "stream_publish_play_visualizer",
        RawCommand::StreamPublishBrowserStart => "stream_publish_browser_start",
        RawCommand::StreamPublishBrowserFrame => "stream_publish_browser_frame",
        RawCommand::StreamPublishStop => "stream_publish_stop",
        RawCommand::StreamPublishPause => "stream_publish_pause",
        RawCommand::StreamPublishResume => "stream_publish_resume",
        _ => "unknown",
    }
}

// ---- events -------------------------------------------------------------------------------------

/// One stdout JSON event (format 0). Field order is part of the golden frames.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    Ready,
    AdapterSend {
        payload: AdapterPayload,
    },
    ConnectionState {
        status: &'static str,
    },
    TransportState {
        role: &'static str,
        status: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    PlayerState {
        status: &'static str,
    },
    PlaybackArmed {
        reason: &'static str,
    },
    TtsPlaybackState {
        status: &'static str,
    },
    #[serde(rename_all = "camelCase")]
    SpeakingStart {
        user_id: String,
    },
    #[serde(rename_all = "camelCase")]
    SpeakingEnd {
        user_id: String,
    },
    #[serde(rename_all = "camelCase")]
    UserAudioEnd {
        user_id: String,
    },
    #[serde(rename_all = "camelCase")]
    ClientDisconnect {
        user_id: String,
    },
    MusicIdle,
    MusicError {
        message: String,
    },
    MusicGainReached {
        gain: f32,
    },
    #[serde(rename_all = "camelCase")]
    BufferDepth {
        tts_samples: u64,
        music_samples: u64,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    Log {
        level: &'static str,
        target: &'static str,
        message: String,
        fields: serde_json::Map<String, serde_json::Value>,
    },
    #[serde(rename_all = "camelCase")]
    ReceiveStats {
        user_id: String,
        ssrc: u32,
        packets: u64,
        lost: u64,
        concealed: u64,
        fec_recovered: u64,
        late: u64,
        duplicates: u64,
        reordered: u64,
        jitter_depth_ms: u64,
    },
    /// [addition] DAVE state and counters of the call (`dave::DaveController::state`).
    DaveState(serde_json::Value),
    /// [addition] The answer to `dave_verification_code`: the 45-digit code of the pair (us,
    /// `user_id`), or why there is none (`code` absent, `error` set).
    #[serde(rename_all = "camelCase")]
    DaveVerificationCode {
        user_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        code: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
}

/// The main-gateway op 4 (voice state update) that `adapter_send` carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AdapterPayload {
    pub op: u8,
    pub d: VoiceStateUpdate,
}

/// `d` of a main-gateway op 4; ids are decimal strings as Discord sends them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VoiceStateUpdate {
    pub guild_id: String,
    pub channel_id: Option<String>,
    pub self_mute: bool,
    pub self_deaf: bool,
}

impl AdapterPayload {
    /// The op 4 that joins `channel_id` in `guild_id`.
    pub fn join(guild_id: u64, channel_id: u64, self_mute: bool) -> Self {
        Self {
            op: 4,
            d: VoiceStateUpdate {
                guild_id: guild_id.to_string(),
                channel_id: Some(channel_id.to_string()),
                self_mute,
                self_deaf: false,
            },
        }
    }
}

impl Event {
    /// Serialise to the JSON payload of a format-0 frame.
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("events always serialise")
    }

    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        Event::Error {
            code,
            message: message.into(),
        }
    }

    pub fn from_protocol_error(e: ProtocolError) -> Self {
        Event::Error {
            code: e.code,
            message: e.message,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(line: &str) -> ErrorCode {
        parse_line(line.as_bytes()).unwrap_err().code
    }

    #[test]
    fn parses_join_with_defaults() {
        let c = parse_line(br#"{"type":"join","guildId":"1","channelId":"2"}"#).unwrap();
        assert_eq!(
            c,
            Some(Command::Join {
                guild_id: 1,
                channel_id: 2,
                self_mute: false
            })
        );
    }

    #[test]
    fn subscribe_clamps_and_defaults() {
        let c = parse_line(
            br#"{"type":"subscribe_user","userId":"9","silenceDurationMs":1,"sampleRate":96000}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            c,
            Command::SubscribeUser(Subscription {
                user_id: 9,
                silence_duration_ms: 100,
                sample_rate: 48_000,
                jitter_buffer_ms: 60
            })
        );
    }

    #[test]
    fn garbage_lines_are_errors_not_panics() {
        assert_eq!(err("not json"), ErrorCode::InvalidJson);
        assert_eq!(err("[1,2]"), ErrorCode::InvalidJson);
        assert_eq!(err(r#"{"type":"nope"}"#), ErrorCode::InvalidJson);
        assert_eq!(err(r#"{"notype":1}"#), ErrorCode::InvalidJson);
        assert_eq!(
            err(r#"{"type":"subscribe_user","userId":"1","sampleRate":1.5}"#),
            ErrorCode::InvalidJson
        );
        assert_eq!(
            err(r#"{"type":"subscribe_user","userId":"1","sampleRate":-1}"#),
            ErrorCode::InvalidJson
        );
        assert_eq!(
            err(r#"{"type":"subscribe_user","userId":"abc"}"#),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            err(r#"{"type":"audio","pcmBase64":"AAA"}"#),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            err(r#"{"type":"audio","pcmBase64":"AA=="}"#),
            ErrorCode::InvalidRequest
        );
        let mut bytes = vec![0xff, 0xfe];
        bytes.extend_from_slice(b"{}");
        assert_eq!(parse_line(&bytes).unwrap_err().code, ErrorCode::InvalidJson);
        let huge = vec![b' '; MAX_LINE_BYTES + 1];
        assert_eq!(
            parse_line(&huge).unwrap_err().code,
            ErrorCode::InputTooLarge
        );
        assert_eq!(parse_line(b"   ").unwrap(), None);
    }

    #[test]
    fn error_messages_name_the_problem() {
        let e = parse_line(br#"{"type":"join","guildId":"x1","channelId":"2"}"#).unwrap_err();
        assert!(e.message.contains("join.guildId"), "{}", e.message);
        let e = parse_line(br#"{"type":"bogus"}"#).unwrap_err();
        assert!(e.message.contains("bogus"), "{}", e.message);
    }

    #[test]
    fn audio_decodes_little_endian_pcm() {
        // 0x0102 and -2 as s16le, base64 of [02 01 fe ff]
        let c = parse_line(br#"{"type":"audio","pcmBase64":"AgH+/w==","sampleRate":16000}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            c,
            Command::Audio {
                pcm: vec![0x0102, -2],
                sample_rate: 16_000
            }
        );
    }

    #[test]
    fn reserved_commands_are_unsupported() {
        let c = parse_line(br#"{"type":"stream_watch_connect","endpoint":"x"}"#)
            .unwrap()
            .unwrap();
        assert_eq!(
            c,
            Command::Unsupported {
                kind: "stream_watch_connect".into()
            }
        );
    }

    #[test]
    fn connect_rejects_unknown_mode() {
        let line = br#"{"type":"connect","guildId":"1","channelId":"2","userId":"3","sessionId":"s","endpoint":"ws://127.0.0.1:1","token":"t","mode":"xsalsa20_poly1305"}"#;
        assert_eq!(
            parse_line(line).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn events_serialise_with_wire_names() {
        let j = Event::BufferDepth {
            tts_samples: 1,
            music_samples: 2,
        }
        .to_json();
        assert_eq!(
            std::str::from_utf8(&j).unwrap(),
            r#"{"type":"buffer_depth","ttsSamples":1,"musicSamples":2}"#
        );
        let j = Event::TransportState {
            role: "voice",
            status: "ready",
            reason: None,
        }
        .to_json();
        assert_eq!(
            std::str::from_utf8(&j).unwrap(),
            r#"{"type":"transport_state","role":"voice","status":"ready"}"#
        );
    }
}
