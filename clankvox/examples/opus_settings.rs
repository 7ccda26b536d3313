//! What the send-side Opus encoder's settings cost and buy.
//!
//! `cargo run --release --example opus_settings [FILE.raw ...]` encodes each signal with
//! several encoder settings (48 kHz mono, in-band FEC at 5 % expected loss, as clankvox's
//! encoder; the settings vary the complexity, the signal hint, the application and the
//! bandwidth cap), then decodes it, and reports per 20 ms frame: encode time (the thread's CPU
//! time, least of 5 passes interleaved across the settings), bitrate, the coding modes and
//! bandwidths libopus chose, and measures of the decoded signal against the source, after
//! aligning for the codec's delay: SNR, segmental SNR (10 ms segments with sound in them) and
//! the log-spectral distance (LSD, dB, 1,024-point Hann frames with sound in them, bins up to
//! 12 kHz; lower is better, and unlike the SNRs it does not punish a waveform that differs in
//! phase but sounds the same); then segmental SNR and LSD again with a fixed 5 % of the packets
//! lost, each rebuilt from the next packet's in-band FEC as clankvox's receive side does (or
//! concealed where a packet carries none). The settings `speech` and `music` are the profiles
//! clankvox's encoder switches between ([`clankvox::codec::Profile`]).
//!
//! Built-in signals: the benchmark's sweeps (benchmarks/clankvox.py `speech`, 200 → 2,500 →
//! 200 Hz) and a music-like signal (three-note chords with five harmonics, noise bursts). Each
//! FILE is raw 48 kHz mono s16le (for example Piper speech).

use std::collections::BTreeMap;
use std::f64::consts::PI;

use clankvox::codec::{Profile, FRAME_SAMPLES, SAMPLE_RATE};
use opus::{Application, Bandwidth, Channels, Decoder, Encoder, Signal};

const PASSES: usize = 5;
const MAX_DELAY: usize = 1200;
const FFT: usize = 1024;

/// One set of encoder settings to weigh.
struct Setting {
    name: String,
    complexity: i32,
    signal: Signal,
    application: Application,
    max_bandwidth: Bandwidth,
}

fn setting(
    name: &str,
    complexity: i32,
    signal: Signal,
    application: Application,
    max_bandwidth: Bandwidth,
) -> Setting {
    Setting {
        name: name.to_string(),
        complexity,
        signal,
        application,
        max_bandwidth,
    }
}

fn settings() -> Vec<Setting> {
    use Application::{Audio, Voip};
    use Bandwidth::{Fullband, Wideband};
    use Signal::{Auto, Music, Voice};
    let mut all = vec![
        setting("c10 auto voip", 10, Auto, Voip, Fullband),
        setting("c7 auto voip", 7, Auto, Voip, Fullband),
        setting("c7 voice voip", 7, Voice, Voip, Fullband),
    ];
    for c in [6, 5, 4, 3, 2, 1, 0] {
        all.push(setting(
            &format!("c{c} voice voip"),
            c,
            Voice,
            Voip,
            Fullband,
        ));
    }
    all.extend([
        setting("c5 voice voip wb", 5, Voice, Voip, Wideband),
        setting("c5 voice audio", 5, Voice, Audio, Fullband),
        setting("c5 music voip", 5, Music, Voip, Fullband),
        setting("c7 auto audio", 7, Auto, Audio, Fullband),
    ]);
    for (name, p) in [("speech", Profile::Speech), ("music", Profile::Music)] {
        all.push(setting(
            &format!("{name} (clankvox)"),
            p.complexity(),
            p.signal(),
            Voip,
            Fullband,
        ));
    }
    all
}

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

fn bandwidth_of(packet: &[u8]) -> &'static str {
    match opus::packet::get_bandwidth(packet) {
        Ok(Bandwidth::Narrowband) => "nb",
        Ok(Bandwidth::Mediumband) => "mb",
        Ok(Bandwidth::Wideband) => "wb",
        Ok(Bandwidth::Superwideband) => "swb",
        Ok(Bandwidth::Fullband) => "fb",
        _ => "?",
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

/// In-place radix-2 FFT of `re` + i`im` (length a power of two).
fn fft(re: &mut [f64], im: &mut [f64]) {
    let n = re.len();
    let mut j = 0;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let angle = -2.0 * PI / len as f64;
        for start in (0..n).step_by(len) {
            for k in 0..len / 2 {
                let (s, c) = (angle * k as f64).sin_cos();
                let (a, b) = (start + k, start + k + len / 2);
                let tr = re[b] * c - im[b] * s;
                let ti = re[b] * s + im[b] * c;
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
            }
        }
        len <<= 1;
    }
}

/// Power spectrum (bins 0..FFT/2) of one Hann-windowed frame.
fn power(x: &[i16]) -> Vec<f64> {
    let mut re: Vec<f64> = x
        .iter()
        .enumerate()
        .map(|(i, &s)| f64::from(s) * (0.5 - 0.5 * (2.0 * PI * i as f64 / FFT as f64).cos()))
        .collect();
    let mut im = vec![0.0; FFT];
    fft(&mut re, &mut im);
    (0..FFT / 2)
        .map(|k| re[k] * re[k] + im[k] * im[k])
        .collect()
}

/// Log-spectral distance (dB) over frames with sound in them, bins up to 12 kHz.
fn lsd(source: &[i16], decoded: &[i16], delay: usize) -> f64 {
    let top = FFT * 12_000 / SAMPLE_RATE as usize;
    // A floor well under what is audible, so empty bins compare as equal rather than as noise.
    let floor = 1e4 * FFT as f64;
    let mut frames = Vec::new();
    for start in (0..source.len() - MAX_DELAY - FFT).step_by(FFT / 2) {
        let s = &source[start..start + FFT];
        let energy = s.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / FFT as f64;
        if energy < 100.0 * 100.0 {
            continue;
        }
        let ps = power(s);
        let pd = power(&decoded[start + delay..start + delay + FFT]);
        let d2 = (1..top)
            .map(|k| (10.0 * ((ps[k] + floor) / (pd[k] + floor)).log10()).powi(2))
            .sum::<f64>()
            / (top - 1) as f64;
        frames.push(d2.sqrt());
    }
    frames.iter().sum::<f64>() / frames.len().max(1) as f64
}

fn encoder(s: &Setting) -> Encoder {
    let mut enc = Encoder::new(SAMPLE_RATE, Channels::Mono, s.application).unwrap();
    enc.set_inband_fec(true).unwrap();
    enc.set_packet_loss_perc(5).unwrap();
    enc.set_complexity(s.complexity).unwrap();
    enc.set_signal(s.signal).unwrap();
    enc.set_max_bandwidth(s.max_bandwidth).unwrap();
    enc
}

/// CPU time of this thread (not wall time: a shared machine's preemption does not count).
fn thread_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through a valid pointer.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Encode every frame; the packets and the CPU time per frame (µs).
fn encode_all(pcm: &[i16], s: &Setting) -> (Vec<Vec<u8>>, f64) {
    let mut enc = encoder(s);
    let mut out = vec![0u8; 4000];
    let mut packets = Vec::with_capacity(pcm.len() / FRAME_SAMPLES);
    let start = thread_cpu_seconds();
    for frame in pcm.chunks_exact(FRAME_SAMPLES) {
        let n = enc.encode(frame, &mut out).unwrap();
        packets.push(out[..n].to_vec());
    }
    let per_frame = (thread_cpu_seconds() - start) / packets.len() as f64 * 1e6;
    (packets, per_frame)
}

/// Decode the packets, losing those `lost` says: a lost frame is rebuilt from the next
/// packet's in-band FEC when that one arrived (as clankvox's receive side does), else
/// concealed.
fn decode_all(packets: &[Vec<u8>], lost: impl Fn(usize) -> bool) -> Vec<i16> {
    let mut dec = Decoder::new(SAMPLE_RATE, Channels::Mono).unwrap();
    let mut buf = vec![0i16; 5760];
    let mut decoded = Vec::with_capacity(packets.len() * FRAME_SAMPLES);
    for (k, p) in packets.iter().enumerate() {
        let n = if !lost(k) {
            dec.decode(p, &mut buf, false).unwrap()
        } else if k + 1 < packets.len() && !lost(k + 1) {
            dec.decode(&packets[k + 1], &mut buf[..FRAME_SAMPLES], true)
                .unwrap()
        } else {
            dec.decode(&[], &mut buf[..FRAME_SAMPLES], false).unwrap()
        };
        decoded.extend_from_slice(&buf[..n]);
    }
    decoded
}

/// A fixed pseudo-random 5 % of the frames (the same frames for every setting).
fn lost_5_percent(k: usize) -> bool {
    let mut x = (k as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 31;
    x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x ^= x >> 29;
    x % 100 < 5
}

fn report(name: &str, pcm: &[i16], s: &Setting, us_per_frame: f64) {
    let (packets, _) = encode_all(pcm, s);
    let decoded = decode_all(&packets, |_| false);
    let mut modes = BTreeMap::new();
    let mut bytes = 0;
    for p in &packets {
        *modes
            .entry(format!("{}-{}", mode_of(p), bandwidth_of(p)))
            .or_insert(0) += 1;
        bytes += p.len();
    }
    let delay = (0..MAX_DELAY)
        .max_by(|&a, &b| snr(pcm, &decoded, a, 7).total_cmp(&snr(pcm, &decoded, b, 7)))
        .unwrap();
    let lossy = decode_all(&packets, lost_5_percent);
    println!(
        "{name:>16}  {:<20} encode {us_per_frame:6.1} us/frame ({:.2} % of a core)  {:5.1} kb/s  \
         SNR {:5.2} dB  segmental {:5.2} dB  LSD {:4.2} dB  | 5 % loss: segmental {:5.2} dB  \
         LSD {:4.2} dB  | modes {modes:?}",
        s.name,
        us_per_frame / 200.0,
        bytes as f64 * 8.0 / (packets.len() as f64 * 0.02) / 1000.0,
        snr(pcm, &decoded, delay, 1),
        segmental_snr(pcm, &decoded, delay),
        lsd(pcm, &decoded, delay),
        segmental_snr(pcm, &lossy, delay),
        lsd(pcm, &lossy, delay),
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
    let all = settings();
    for (name, pcm) in &signals {
        let frames = pcm.len() / FRAME_SAMPLES;
        let pcm = &pcm[..frames * FRAME_SAMPLES];
        // Passes interleaved across the settings, so a busy moment on the machine hits them
        // alike; the least CPU time of the passes counts.
        let mut best = vec![f64::MAX; all.len()];
        for _ in 0..PASSES {
            for (i, s) in all.iter().enumerate() {
                best[i] = best[i].min(encode_all(pcm, s).1);
            }
        }
        for (s, us) in all.iter().zip(best) {
            report(name, pcm, s, us);
        }
    }
}
