//! What the send-side Opus encoder's complexity costs and buys.
//!
//! `cargo run --release --example opus_settings [FILE.raw ...]` encodes each signal with
//! clankvox's encoder settings (48 kHz mono, VoIP, in-band FEC at 5 % expected loss) at several
//! complexities, then decodes it, and reports per 20 ms frame: encode time (fastest of 5
//! passes), bitrate, the coding modes libopus chose, and the decoded signal's SNR and segmental
//! SNR (10 ms segments with speech in them) against the source, after aligning for the codec's
//! delay. Built-in signals: the benchmark's sweeps (benchmarks/clankvox.py `speech`, 200 →
//! 2,500 → 200 Hz) and a music-like signal (three-note chords with five harmonics, noise
//! bursts). Each FILE is raw 48 kHz mono s16le (for example Piper speech).

use std::collections::BTreeMap;
use std::f64::consts::PI;
use std::time::Instant;

use clankvox::codec::{ENCODER_COMPLEXITY, FRAME_SAMPLES, SAMPLE_RATE};
use opus::{Application, Channels, Decoder, Encoder};

const PASSES: usize = 5;
const MAX_DELAY: usize = 1200;

fn sweep(from: f64, to: f64, seconds: f64, amplitude: f64) -> Vec<i16> {
    let n = (seconds * f64::from(SAMPLE_RATE)).round() as usize;
    let k = (to - from) / seconds;
    (0..n)
        .map(|i| {
            let t = i as f64 / f64::from(SAMPLE_RATE);
            (amplitude * 32767.0 * (2.0 * PI * (from * t + 0.5 * k * t * t)).sin()).round() as i16
        })
        .collect()
}

fn benchmark_sweeps() -> Vec<i16> {
    let mut s = sweep(200.0, 2500.0, 10.0, 0.35);
    s.extend(sweep(2500.0, 200.0, 10.0, 0.35));
    s
}

fn music_like() -> Vec<i16> {
    let notes = [
        220.0, 277.18, 329.63, 440.0, 554.37, 659.25, 261.63, 329.63, 392.0,
    ];
    let mut noise = 0x2545_f491_u32;
    (0..SAMPLE_RATE as usize * 12)
        .map(|i| {
            let t = i as f64 / f64::from(SAMPLE_RATE);
            let k = (t / 1.5) as usize % 3;
            let mut v = 0.0;
            for f in &notes[3 * k..3 * k + 3] {
                for h in 1..6 {
                    v += (2.0 * PI * f * f64::from(h) * t).sin() / f64::from(h) * 0.08;
                }
            }
            let phase = t % 0.5;
            if phase < 0.05 {
                noise ^= noise << 13;
                noise ^= noise >> 17;
                noise ^= noise << 5;
                let white = f64::from(noise) / f64::from(u32::MAX) * 2.0 - 1.0;
                v += white * 0.3 * (1.0 - phase / 0.05);
            }
            (v * 32767.0 * 0.8).clamp(-32767.0, 32767.0) as i16
        })
        .collect()
}

fn mode_of(packet: &[u8]) -> &'static str {
    match packet[0] >> 3 {
        0..=11 => "silk",
        12..=15 => "hybrid",
        _ => "celt",
    }
}

/// Signal-to-noise ratio of `decoded` (delayed by `delay`) against `source`, in dB.
fn snr(source: &[i16], decoded: &[i16], delay: usize, step: usize) -> f64 {
    let (mut signal, mut noise) = (0.0f64, 0.0f64);
    for i in (0..source.len() - MAX_DELAY).step_by(step) {
        let s = f64::from(source[i]);
        let e = s - f64::from(decoded[i + delay]);
        signal += s * s;
        noise += e * e;
    }
    10.0 * (signal / noise.max(1.0)).log10()
}

fn segmental_snr(source: &[i16], decoded: &[i16], delay: usize) -> f64 {
    let mut segments = Vec::new();
    for start in (0..source.len() - MAX_DELAY - 480).step_by(480) {
        let (mut signal, mut noise) = (0.0f64, 0.0f64);
        for i in start..start + 480 {
            let s = f64::from(source[i]);
            let e = s - f64::from(decoded[i + delay]);
            signal += s * s;
            noise += e * e;
        }
        if signal / 480.0 > 100.0 * 100.0 {
            segments.push((10.0 * (signal / noise.max(1.0)).log10()).clamp(-10.0, 35.0));
        }
    }
    segments.iter().sum::<f64>() / segments.len().max(1) as f64
}

fn measure(name: &str, pcm: &[i16], complexity: i32) {
    let frames = pcm.len() / FRAME_SAMPLES;
    let pcm = &pcm[..frames * FRAME_SAMPLES];
    let mut best = f64::MAX;
    let mut packets = Vec::new();
    for pass in 0..PASSES {
        let mut enc = Encoder::new(SAMPLE_RATE, Channels::Mono, Application::Voip).unwrap();
        enc.set_inband_fec(true).unwrap();
        enc.set_packet_loss_perc(5).unwrap();
        enc.set_complexity(complexity).unwrap();
        let mut out = vec![0u8; 4000];
        let mut got = Vec::with_capacity(frames);
        let start = Instant::now();
        for frame in pcm.chunks_exact(FRAME_SAMPLES) {
            let n = enc.encode(frame, &mut out).unwrap();
            got.push(out[..n].to_vec());
        }
        best = best.min(start.elapsed().as_secs_f64() / frames as f64 * 1e6);
        if pass == 0 {
            packets = got;
        }
    }
    let mut dec = Decoder::new(SAMPLE_RATE, Channels::Mono).unwrap();
    let mut buf = vec![0i16; 5760];
    let mut decoded = Vec::with_capacity(pcm.len());
    let mut modes = BTreeMap::new();
    let mut bytes = 0;
    for p in &packets {
        let n = dec.decode(p, &mut buf, false).unwrap();
        decoded.extend_from_slice(&buf[..n]);
        *modes.entry(mode_of(p)).or_insert(0) += 1;
        bytes += p.len();
    }
    let delay = (0..MAX_DELAY)
        .max_by(|&a, &b| snr(pcm, &decoded, a, 7).total_cmp(&snr(pcm, &decoded, b, 7)))
        .unwrap();
    let mark = if complexity == ENCODER_COMPLEXITY {
        " (clankvox)"
    } else {
        ""
    };
    println!(
        "{name:>16}  complexity {complexity:>2}{mark:11}  encode {best:6.1} us/frame ({:.2} % of a core)  \
         {:5.1} kb/s  SNR {:5.2} dB  segmental {:5.2} dB  modes {modes:?}",
        best / 200.0,
        bytes as f64 * 8.0 / (frames as f64 * 0.02) / 1000.0,
        snr(pcm, &decoded, delay, 1),
        segmental_snr(pcm, &decoded, delay),
    );
}

fn main() {
    let mut signals = vec![
        ("sweeps".to_string(), benchmark_sweeps()),
        ("music-like".to_string(), music_like()),
    ];
    for path in std::env::args().skip(1) {
        let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
        let pcm = raw
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        let name = std::path::Path::new(&path)
            .file_name()
            .map_or(path.clone(), |n| n.to_string_lossy().into_owned());
        signals.push((name, pcm));
    }
    for (name, pcm) in &signals {
        for complexity in [10, 9, 8, 7, 5] {
            measure(name, pcm, complexity);
        }
    }
}
