//! The per-frame cost of clankvox's media work against the 20 ms real-time budget.
//!
//! `cargo run --release --example media_bench` times, per 20 ms frame: the send path (mix →
//! Opus encode → RTP → AEAD seal) and the receive path for one speaker (AEAD open → jitter
//! buffer → Opus decode → resample to 16 kHz), for both AEAD modes. It reports each as a share
//! of one core (cost / 20 ms), which is what bounds speakers per process.

use std::time::{Duration, Instant};

use clankvox::codec::{Decoder, Encoder, FRAME_SAMPLES};
use clankvox::crypto::{TransportCipher, MODE_AES256_GCM, MODE_XCHACHA20};
use clankvox::jitter::{JitterBuffer, Playable};
use clankvox::resample::Resampler;
use clankvox::rtp::OutboundRtp;

const FRAMES: u64 = 3_000; // 60 s of audio per measurement
const ROUNDS: usize = 5;

fn speech_like(k: u64) -> Vec<i16> {
    (0..FRAME_SAMPLES)
        .map(|i| {
            let t = (k as usize * FRAME_SAMPLES + i) as f32 / 48_000.0;
            let env = 0.5 + 0.5 * (2.0 * std::f32::consts::PI * 3.0 * t).sin();
            (env * 7000.0 * (2.0 * std::f32::consts::PI * 180.0 * t).sin()
                + 1500.0 * (2.0 * std::f32::consts::PI * 2300.0 * t).sin()) as i16
        })
        .collect()
}

fn send_path(mode: &str) -> (Duration, Vec<Vec<u8>>) {
    let mut enc = Encoder::new().unwrap();
    let cipher = TransportCipher::new(mode, &[9; 32]).unwrap();
    let mut rtp = OutboundRtp::default();
    let pcm: Vec<Vec<i16>> = (0..FRAMES).map(speech_like).collect();
    let mut packets = Vec::with_capacity(FRAMES as usize);
    let start = Instant::now();
    for (k, frame) in pcm.iter().enumerate() {
        let opus = enc.encode_mono(frame).unwrap();
        let header = rtp.next_header(k as u64, 42);
        packets.push(cipher.seal(&header, &opus, k as u32));
    }
    (start.elapsed(), packets)
}

fn receive_path(mode: &str, packets: &[Vec<u8>]) -> Duration {
    let cipher = TransportCipher::new(mode, &[9; 32]).unwrap();
    let mut dec = Decoder::new().unwrap();
    let mut jitter = JitterBuffer::new(Duration::from_millis(60));
    let mut rs = Resampler::new(48_000, 16_000);
    let t0 = Instant::now();
    let mut samples = 0usize;
    let start = Instant::now();
    for (k, p) in packets.iter().enumerate() {
        let (h, opus) = cipher.open_rtp(p).unwrap();
        let at = t0 + Duration::from_millis(20 * k as u64);
        jitter.push(h.sequence, opus, at);
        for item in jitter.drain(at) {
            let pcm = match item {
                Playable::Packet(b) => dec.decode(&b).unwrap(),
                Playable::Conceal => dec.conceal().unwrap(),
                Playable::Fec(b) => dec.recover_from_fec(&b).unwrap(),
            };
            samples += rs.process(pcm).len();
        }
    }
    assert_eq!(samples, FRAMES as usize * 320);
    start.elapsed()
}

fn share(d: Duration) -> f64 {
    // cost per frame / 20 ms
    d.as_secs_f64() / FRAMES as f64 / 0.020
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    for mode in [MODE_AES256_GCM, MODE_XCHACHA20] {
        let mut send = Vec::new();
        let mut recv = Vec::new();
        for _ in 0..ROUNDS {
            let (d, packets) = send_path(mode);
            send.push(share(d));
            recv.push(share(receive_path(mode, &packets)));
        }
        let (s, r) = (median(send), median(recv));
        println!(
            "{mode}: send path {:.2}% of a core, receive path per speaker {:.2}% \
             (median of {ROUNDS} x {FRAMES} frames); speakers per core ≈ {:.0}",
            s * 100.0,
            r * 100.0,
            1.0 / r
        );
    }
}
