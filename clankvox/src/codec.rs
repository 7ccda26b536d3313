//! Opus on Discord's terms: 48 kHz, 20 ms frames (docs/clankvox-protocol.md §5).
//!
//! The media plane works in 48 kHz **mono**, and so does libopus here: the encoder codes mono
//! Opus packets (the TOC's stereo flag clear) and the decoder outputs mono. An Opus stream may
//! switch between mono and stereo packets at any time and a stereo decoder (Discord's, the
//! sandbox's) plays a mono packet on both channels (RFC 6716 §3.1, RFC 7587 §3.4), so this is
//! still Discord's 48 kHz Opus; it nearly halves the encoder's work against duplicating the
//! frame into a stereo encoder. A stereo packet decodes to libopus's own downmix.

/// Sample rate of Discord's Opus streams.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples per channel in one 20 ms frame.
pub const FRAME_SAMPLES: usize = 960;
/// The Opus silence frame Discord asks senders to emit before stopping.
pub const SILENCE_FRAME: [u8; 3] = [0xF8, 0xFF, 0xFE];

/// What a frame to encode holds; it picks the encoder's settings (docs/performance.md).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Profile {
    /// Speech alone (TTS): libopus told it is voice, at complexity 5. Below 7 libopus skips
    /// its float signal analysis (speech/music and bandwidth detection), which for speech only
    /// confirms what the hint says, and 5 is SILK's middle search effort. Speech is coded as
    /// hybrid (SILK and CELT) with in-band FEC, as at 7 or 10; on Piper's speech this costs a
    /// third less CPU than complexity 7, and the decoded signal is within 0.1 dB of complexity
    /// 10's (SNR and log-spectral distance).
    #[default]
    Speech,
    /// Music in the mix (with or without TTS over it): complexity 7, signal left to libopus's
    /// analysis, which codes music with CELT and keeps hybrid for what sounds like speech.
    Music,
}

impl Profile {
    pub fn complexity(self) -> i32 {
        match self {
            Profile::Speech => 5,
            Profile::Music => 7,
        }
    }

    pub fn signal(self) -> opus::Signal {
        match self {
            Profile::Speech => opus::Signal::Voice,
            Profile::Music => opus::Signal::Auto,
        }
    }
}

/// Largest Opus packet we produce.
const MAX_PACKET: usize = 4000;

/// Why a codec call failed.
#[derive(Debug)]
pub struct CodecError(pub String);

impl std::fmt::Display for CodecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<opus::Error> for CodecError {
    fn from(e: opus::Error) -> Self {
        CodecError(e.to_string())
    }
}

/// The send-side encoder.
pub struct Encoder {
    inner: opus::Encoder,
    profile: Profile,
    out: Vec<u8>,
}

impl Encoder {
    pub fn new() -> Result<Self, CodecError> {
        let mut inner =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)?;
        // In-band FEC lets receivers rebuild a lost frame from the next one.
        inner.set_inband_fec(true)?;
        inner.set_packet_loss_perc(5)?;
        let profile = Profile::default();
        inner.set_complexity(profile.complexity())?;
        inner.set_signal(profile.signal())?;
        Ok(Self {
            inner,
            profile,
            out: vec![0; MAX_PACKET],
        })
    }

    /// The settings for the frames that follow (a no-op when they are the current ones).
    /// libopus takes a change at the next frame and carries its state across it.
    pub fn set_profile(&mut self, profile: Profile) -> Result<(), CodecError> {
        if profile != self.profile {
            self.inner.set_complexity(profile.complexity())?;
            self.inner.set_signal(profile.signal())?;
            self.profile = profile;
        }
        Ok(())
    }

    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Encode one 20 ms mono frame (exactly [`FRAME_SAMPLES`] samples).
    pub fn encode_mono(&mut self, mono: &[i16]) -> Result<Vec<u8>, CodecError> {
        if mono.len() != FRAME_SAMPLES {
            return Err(CodecError(format!(
                "an Opus frame needs {FRAME_SAMPLES} samples, got {}",
                mono.len()
            )));
        }
        let n = self.inner.encode(mono, &mut self.out)?;
        Ok(self.out[..n].to_vec())
    }
}

/// One receive-side decoder (one per SSRC: Opus decoders carry state between frames).
pub struct Decoder {
    inner: opus::Decoder,
    pcm: Vec<i16>,
}

impl Decoder {
    pub fn new() -> Result<Self, CodecError> {
        Ok(Self {
            inner: opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono)?,
            // Room for the longest Opus frame (120 ms).
            pcm: vec![0; 5760],
        })
    }

    /// Decode a packet into 48 kHz mono. The samples live in the decoder until its next call,
    /// so the per-packet path copies them only into the resampler.
    pub fn decode(&mut self, packet: &[u8]) -> Result<&[i16], CodecError> {
        let n = self.inner.decode(packet, &mut self.pcm, false)?;
        Ok(&self.pcm[..n])
    }

    /// Packet-loss concealment for one missing 20 ms frame.
    pub fn conceal(&mut self) -> Result<&[i16], CodecError> {
        let n = self
            .inner
            .decode(&[], &mut self.pcm[..FRAME_SAMPLES], false)?;
        Ok(&self.pcm[..n])
    }

    /// Rebuild the 20 ms frame *before* `next_packet` from its in-band FEC data (falls back to
    /// concealment inside libopus when the packet carries none).
    pub fn recover_from_fec(&mut self, next_packet: &[u8]) -> Result<&[i16], CodecError> {
        let n = self
            .inner
            .decode(next_packet, &mut self.pcm[..FRAME_SAMPLES], true)?;
        Ok(&self.pcm[..n])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, frames: usize) -> Vec<i16> {
        (0..frames * FRAME_SAMPLES)
            .map(|i| {
                let t = i as f32 / SAMPLE_RATE as f32;
                (8000.0 * (2.0 * std::f32::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    fn rms(x: &[i16]) -> f64 {
        (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
    }

    #[test]
    fn encode_decode_keeps_a_tone() {
        let mut enc = Encoder::new().unwrap();
        let mut dec = Decoder::new().unwrap();
        let pcm = tone(440.0, 10);
        let mut out = Vec::new();
        for f in pcm.chunks(FRAME_SAMPLES) {
            let pkt = enc.encode_mono(f).unwrap();
            assert!(!pkt.is_empty() && pkt.len() < 400, "packet {}", pkt.len());
            let d = dec.decode(&pkt).unwrap();
            assert_eq!(d.len(), FRAME_SAMPLES);
            out.extend(d);
        }
        // After the codec's start-up, the energy is about that of the input (8000/sqrt 2).
        let tail = &out[FRAME_SAMPLES * 5..];
        let r = rms(tail);
        assert!((4500.0..7000.0).contains(&r), "rms {r}");
    }

    #[test]
    fn silence_frame_decodes_to_silence() {
        let mut dec = Decoder::new().unwrap();
        let d = dec.decode(&SILENCE_FRAME).unwrap();
        assert_eq!(d.len(), FRAME_SAMPLES);
        assert!(d.iter().all(|&s| s.abs() < 10));
    }

    #[test]
    fn concealment_and_fec_give_full_frames() {
        let mut enc = Encoder::new().unwrap();
        let mut dec = Decoder::new().unwrap();
        let pcm = tone(300.0, 8);
        let pkts: Vec<Vec<u8>> = pcm
            .chunks(FRAME_SAMPLES)
            .map(|f| enc.encode_mono(f).unwrap())
            .collect();
        for p in &pkts[..5] {
            dec.decode(p).unwrap();
        }
        // packet 5 lost: conceal it, then recover 6 from 7's FEC, then decode 7
        let plc = dec.conceal().unwrap();
        assert_eq!(plc.len(), FRAME_SAMPLES);
        assert!(rms(plc) > 100.0, "concealment continues the tone");
        let fec = dec.recover_from_fec(&pkts[7]).unwrap();
        assert_eq!(fec.len(), FRAME_SAMPLES);
        assert!(rms(fec) > 100.0);
        assert_eq!(dec.decode(&pkts[7]).unwrap().len(), FRAME_SAMPLES);
    }

    #[test]
    fn encoder_starts_on_the_speech_profile_with_fec() {
        let mut enc = Encoder::new().unwrap();
        assert_eq!(enc.profile(), Profile::Speech);
        assert_eq!(enc.inner.get_complexity().unwrap(), 5);
        assert_eq!(enc.inner.get_signal().unwrap(), opus::Signal::Voice);
        assert!(enc.inner.get_inband_fec().unwrap());
        assert_eq!(enc.inner.get_packet_loss_perc().unwrap(), 5);
    }

    #[test]
    fn profiles_switch_the_encoder_settings_and_back() {
        let mut enc = Encoder::new().unwrap();
        let pcm = tone(440.0, 1);
        enc.encode_mono(&pcm).unwrap();
        enc.set_profile(Profile::Music).unwrap();
        assert_eq!(enc.profile(), Profile::Music);
        assert_eq!(enc.inner.get_complexity().unwrap(), 7);
        assert_eq!(enc.inner.get_signal().unwrap(), opus::Signal::Auto);
        enc.encode_mono(&pcm).unwrap();
        enc.set_profile(Profile::Speech).unwrap();
        assert_eq!(enc.inner.get_complexity().unwrap(), 5);
        assert_eq!(enc.inner.get_signal().unwrap(), opus::Signal::Voice);
        // FEC is not part of a profile: it stays on through the switches.
        assert!(enc.inner.get_inband_fec().unwrap());
    }

    /// A voiced, speech-like signal: a 140 Hz pulse train through two formant resonators,
    /// in syllables (150 ms on, 50 ms off).
    fn speech_like(frames: usize) -> Vec<i16> {
        let mut out = Vec::with_capacity(frames * FRAME_SAMPLES);
        let (mut y1, mut y2, mut z1, mut z2) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
        let resonator = |f: f32, bw: f32| {
            let r = (-std::f32::consts::PI * bw / SAMPLE_RATE as f32).exp();
            let theta = 2.0 * std::f32::consts::PI * f / SAMPLE_RATE as f32;
            (2.0 * r * theta.cos(), -r * r)
        };
        let (a1, a2) = resonator(700.0, 130.0);
        let (b1, b2) = resonator(1200.0, 150.0);
        for i in 0..frames * FRAME_SAMPLES {
            let on = i % 9600 < 7200;
            let x = if on && i % (SAMPLE_RATE as usize / 140) == 0 {
                4000.0
            } else {
                0.0
            };
            let y = x + a1 * y1 + a2 * y2;
            (y2, y1) = (y1, y);
            let z = y + b1 * z1 + b2 * z2;
            (z2, z1) = (z1, z);
            out.push((z * 0.05).clamp(-32767.0, 32767.0) as i16);
        }
        out
    }

    #[test]
    fn speech_profile_codes_speech_with_silk_and_in_band_fec() {
        // TOC configs 12-15 are hybrid (SILK + CELT); in-band FEC rides in the SILK layer.
        let pcm = speech_like(50);
        let mut enc = Encoder::new().unwrap();
        let packets: Vec<Vec<u8>> = pcm
            .chunks(FRAME_SAMPLES)
            .map(|f| enc.encode_mono(f).unwrap())
            .collect();
        let hybrid = packets
            .iter()
            .filter(|p| (12..=15).contains(&(p[0] >> 3)))
            .count();
        assert!(hybrid >= 45, "{hybrid} of 50 frames hybrid");
        // Frame 30 lost: rebuilt from frame 31's FEC data it differs from plain concealment
        // (a packet without FEC data makes libopus conceal, giving the same samples).
        let (mut concealing, mut recovering) = (Decoder::new().unwrap(), Decoder::new().unwrap());
        for p in &packets[..30] {
            concealing.decode(p).unwrap();
            recovering.decode(p).unwrap();
        }
        let plc = concealing.conceal().unwrap().to_vec();
        let fec = recovering.recover_from_fec(&packets[31]).unwrap().to_vec();
        assert_ne!(plc, fec);
    }

    #[test]
    fn encoder_rejects_wrong_frame_size() {
        let mut enc = Encoder::new().unwrap();
        assert!(enc.encode_mono(&[0; 100]).is_err());
    }
}
