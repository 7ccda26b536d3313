//! The golden files of docs/clankvox-protocol.md §10, shared with the Python side.

use clankvox::crypto::TransportCipher;
use clankvox::frame::{encode_json, encode_user_audio};
use clankvox::protocol::{parse_line, AdapterPayload, Command, ErrorCode, Event};
use serde_json::{json, Value};

fn load(name: &str) -> Value {
    let path = format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("golden file")).expect("json")
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn user() -> String {
    "123456789012345678".to_string()
}

/// The Rust value behind each golden event frame.
fn event_named(name: &str) -> Event {
    match name {
        "ready" => Event::Ready,
        "adapter_send" => Event::AdapterSend {
            payload: AdapterPayload::join(41771983423143937, 127121515262115840, false),
        },
        "connection_state_ready" => Event::ConnectionState { status: "ready" },
        "transport_state_ready" => Event::TransportState {
            role: "voice",
            status: "ready",
            reason: None,
        },
        "transport_state_resuming" => Event::TransportState {
            role: "voice",
            status: "resuming",
            reason: Some("socket_closed_4015".into()),
        },
        "player_state_playing" => Event::PlayerState { status: "playing" },
        "playback_armed" => Event::PlaybackArmed {
            reason: "connection_ready",
        },
        "tts_playback_state_buffered" => Event::TtsPlaybackState { status: "buffered" },
        "speaking_start" => Event::SpeakingStart { user_id: user() },
        "speaking_end" => Event::SpeakingEnd { user_id: user() },
        "user_audio_end" => Event::UserAudioEnd { user_id: user() },
        "client_disconnect" => Event::ClientDisconnect { user_id: user() },
        "music_idle" => Event::MusicIdle,
        "music_error" => Event::MusicError {
            message: "ffmpeg exited with status 1 || No such file".into(),
        },
        "music_gain_reached" => Event::MusicGainReached { gain: 0.15 },
        "buffer_depth" => Event::BufferDepth {
            tts_samples: 9600,
            music_samples: 0,
        },
        "error_invalid_json" => Event::error(
            ErrorCode::InvalidJson,
            "Invalid stdin JSON message: expected value",
        ),
        "log" => {
            let mut fields = serde_json::Map::new();
            fields.insert("skipped".into(), json!(3));
            Event::Log {
                level: "warn",
                target: "clankvox::clock",
                message: "send clock fell behind".into(),
                fields,
            }
        }
        "receive_stats" => Event::ReceiveStats {
            user_id: user(),
            ssrc: 4242,
            packets: 250,
            lost: 2,
            concealed: 2,
            fec_recovered: 1,
            late: 0,
            duplicates: 1,
            reordered: 3,
            jitter_depth_ms: 20,
        },
        other => panic!("golden frame {other} has no Rust counterpart in this test"),
    }
}

#[test]
fn event_frames_match_golden_bytes() {
    let doc = load("frames.json");
    let mut seen = 0;
    for f in doc["frames"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        let want = hex(f["hex"].as_str().unwrap());
        match f["format"].as_u64().unwrap() {
            0 => {
                let got = encode_json(&event_named(name).to_json());
                assert_eq!(got, want, "frame {name}");
                let decoded: Value = serde_json::from_slice(&want[5..]).unwrap();
                assert_eq!(decoded, f["event"], "frame {name} meaning");
            }
            1 => {
                let ua = &f["user_audio"];
                let pcm_bytes = hex(ua["pcmHex"].as_str().unwrap());
                let pcm: Vec<i16> = pcm_bytes
                    .chunks_exact(2)
                    .map(|c| i16::from_le_bytes([c[0], c[1]]))
                    .collect();
                let uid: u64 = ua["userId"].as_str().unwrap().parse().unwrap();
                assert_eq!(encode_user_audio(uid, &pcm), want, "frame {name}");
                assert_eq!(ua["total"].as_u64().unwrap() as usize, pcm.len());
            }
            other => panic!("unknown format {other}"),
        }
        seen += 1;
    }
    assert!(seen >= 20, "golden file lost frames: {seen}");
}

/// The normalised JSON form of a parsed command, as commands.json writes it.
fn normalise(c: &Command) -> Value {
    match c {
        Command::Join {
            guild_id,
            channel_id,
            self_mute,
        } => {
            json!({"type":"join","guildId":guild_id.to_string(),"channelId":channel_id.to_string(),"selfMute":self_mute})
        }
        Command::VoiceState {
            session_id,
            user_id,
            channel_id,
        } => {
            json!({"type":"voice_state","sessionId":session_id,"userId":user_id.map(|u| u.to_string()),"channelId":channel_id})
        }
        Command::VoiceServer { endpoint, token } => {
            json!({"type":"voice_server","endpoint":endpoint,"token":token})
        }
        Command::Connect(p) => json!({
            "type":"connect","guildId":p.guild_id.to_string(),"channelId":p.channel_id.to_string(),
            "userId":p.user_id.to_string(),"sessionId":p.session_id,"endpoint":p.endpoint,"token":p.token,
            "selfMute":p.self_mute,"mode":p.mode}),
        Command::Destroy => json!({"type":"destroy"}),
        Command::Audio { pcm, sample_rate } => {
            json!({"type":"audio","pcm":pcm,"sampleRate":sample_rate})
        }
        Command::StopPlayback => json!({"type":"stop_playback"}),
        Command::StopTtsPlayback => json!({"type":"stop_tts_playback"}),
        Command::MusicPlay {
            url,
            resolved_direct_url,
        } => json!({"type":"music_play","url":url,"resolvedDirectUrl":resolved_direct_url}),
        Command::MusicStop => json!({"type":"music_stop"}),
        Command::MusicPause => json!({"type":"music_pause"}),
        Command::MusicResume => json!({"type":"music_resume"}),
        Command::MusicSetGain { target, fade_ms } => {
            json!({"type":"music_set_gain","target":target,"fadeMs":fade_ms})
        }
        Command::SubscribeUser(s) => json!({"type":"subscribe_user","userId":s.user_id.to_string(),
            "silenceDurationMs":s.silence_duration_ms,"sampleRate":s.sample_rate,"jitterBufferMs":s.jitter_buffer_ms}),
        Command::UnsubscribeUser { user_id } => {
            json!({"type":"unsubscribe_user","userId":user_id.to_string()})
        }
        Command::DaveVerificationCode { user_id } => {
            json!({"type":"dave_verification_code","userId":user_id.to_string()})
        }
        Command::Unsupported { kind } => json!({"type":"unsupported","kind":kind}),
    }
}

fn approx_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            (x.as_f64().unwrap() - y.as_f64().unwrap()).abs() < 1e-6
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| approx_equal(v, w)))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(v, w)| approx_equal(v, w))
        }
        _ => a == b,
    }
}

#[test]
fn command_lines_parse_as_golden_says() {
    let doc = load("commands.json");
    let cases = doc["commands"].as_array().unwrap();
    assert!(cases.len() >= 30);
    for case in cases {
        let line = case["line"].as_str().unwrap();
        match parse_line(line.as_bytes()) {
            Ok(Some(Command::Unsupported { kind })) => {
                assert_eq!(
                    case["error"], "unsupported",
                    "{line}: parsed as unsupported {kind}"
                );
            }
            Ok(Some(cmd)) => {
                let got = normalise(&cmd);
                assert!(
                    approx_equal(&got, &case["ok"]),
                    "{line}\n got  {got}\n want {}",
                    case["ok"]
                );
            }
            Ok(None) => panic!("{line}: ignored"),
            Err(e) => assert_eq!(
                case["error"].as_str(),
                Some(e.code.as_str()),
                "{line}: {}",
                e.message
            ),
        }
    }
}

#[test]
fn transport_vectors_open_and_seal() {
    let doc = load("transport.json");
    let cases = doc["rtpsize"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let cipher = TransportCipher::new(
            case["mode"].as_str().unwrap(),
            &hex(case["keyHex"].as_str().unwrap()),
        )
        .unwrap();
        let packet = hex(case["packetHex"].as_str().unwrap());
        let aad = hex(case["aadHex"].as_str().unwrap());
        let plaintext = hex(case["plaintextHex"].as_str().unwrap());
        let counter = case["counter"].as_u64().unwrap() as u32;
        assert_eq!(
            cipher.seal(&aad, &plaintext, counter),
            packet,
            "{name} seal"
        );
        let (header, media) = cipher.open_rtp(&packet).unwrap();
        assert_eq!(header.clear_len, aad.len(), "{name} clear header length");
        assert_eq!(
            media,
            hex(case["opusHex"].as_str().unwrap()),
            "{name} media"
        );
    }
}
