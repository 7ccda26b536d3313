//! clankvox: clanker's voice media plane (docs/clankvox-protocol.md).
//!
//! One process per voice connection. The Python side drives it with JSON-lines commands on stdin
//! and reads length-prefixed frames from stdout. Decisions live in sans-IO modules (protocol,
//! rtp, crypto, clock, the TTS buffer, the mixer, the jitter buffer, the voice-gateway state
//! machine) that are fed events and the current instant; `app` and the drivers pump I/O.

pub mod app;
pub mod clock;
pub mod codec;
pub mod connection;
pub mod crypto;
pub mod dave;
pub mod frame;
pub mod jitter;
pub mod lines;
pub mod music;
pub mod playout;
pub mod protocol;
pub mod receive;
pub mod resample;
pub mod rtcp;
pub mod rtp;
pub mod stdout_lanes;
pub mod tick_timer;
pub mod tls;
pub mod tts;
pub mod udp;
pub mod voice_gateway;
