//! stdout framing (docs/clankvox-protocol.md §3): `[u8 format][u32 LE length][payload]`.
//!
//! Format 0 carries one JSON event; format 1 carries one `user_audio` chunk with an 18-byte
//! little-endian header. This module only builds bytes; the writer task owns the pipe.

/// Frame format byte of a JSON event.
pub const FORMAT_JSON: u8 = 0;
/// Frame format byte of a binary user-audio chunk.
pub const FORMAT_USER_AUDIO: u8 = 1;
/// Size of the header in front of every frame's payload.
pub const FRAME_HEADER_LEN: usize = 5;
/// Size of the user-audio header in front of the PCM bytes.
pub const USER_AUDIO_HEADER_LEN: usize = 18;
/// Samples whose magnitude exceeds this count as "active" in the user-audio header.
pub const ACTIVE_SAMPLE_THRESHOLD: u16 = 500;

/// Prefix `payload` with its format byte and its length (u32 little-endian).
pub fn encode_frame(format: u8, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("frame larger than 4 GiB");
    let mut out = Vec::with_capacity(FRAME_HEADER_LEN + payload.len());
    out.push(format);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Signal statistics carried in the user-audio header.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignalStats {
    /// Largest absolute sample value (i16::MIN counts as 32767).
    pub peak_abs: u16,
    /// Samples with an absolute value above [`ACTIVE_SAMPLE_THRESHOLD`].
    pub active_samples: u32,
    /// Samples in the chunk.
    pub samples: u32,
}

impl SignalStats {
    /// Measure a chunk of mono PCM.
    pub fn measure(pcm: &[i16]) -> Self {
        let mut peak = 0u16;
        let mut active = 0u32;
        for &s in pcm {
            let a = s.unsigned_abs().min(i16::MAX as u16);
            peak = peak.max(a);
            if a > ACTIVE_SAMPLE_THRESHOLD {
                active += 1;
            }
        }
        Self {
            peak_abs: peak,
            active_samples: active,
            samples: u32::try_from(pcm.len()).unwrap_or(u32::MAX),
        }
    }
}

/// Build a complete format-1 frame for one chunk of a user's mono PCM.
pub fn encode_user_audio(user_id: u64, pcm: &[i16]) -> Vec<u8> {
    let stats = SignalStats::measure(pcm);
    let mut payload = Vec::with_capacity(USER_AUDIO_HEADER_LEN + pcm.len() * 2);
    payload.extend_from_slice(&user_id.to_le_bytes());
    payload.extend_from_slice(&stats.peak_abs.to_le_bytes());
    payload.extend_from_slice(&stats.active_samples.to_le_bytes());
    payload.extend_from_slice(&stats.samples.to_le_bytes());
    for s in pcm {
        payload.extend_from_slice(&s.to_le_bytes());
    }
    encode_frame(FORMAT_USER_AUDIO, &payload)
}

/// Build a complete format-0 frame from a JSON document.
pub fn encode_json(json: &[u8]) -> Vec<u8> {
    encode_frame(FORMAT_JSON, json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_format_and_little_endian_length() {
        assert_eq!(
            encode_frame(0, b"abc"),
            vec![0, 3, 0, 0, 0, b'a', b'b', b'c']
        );
        assert_eq!(encode_frame(1, b""), vec![1, 0, 0, 0, 0]);
        let big = vec![7u8; 0x0001_0203];
        let f = encode_frame(0, &big);
        assert_eq!(&f[..5], &[0, 0x03, 0x02, 0x01, 0]);
        assert_eq!(f.len(), 5 + big.len());
    }

    #[test]
    fn user_audio_header_is_little_endian_with_stats() {
        let pcm = [0i16, 501, -600, 500, i16::MIN];
        let f = encode_user_audio(0x0102_0304_0506_0708, &pcm);
        assert_eq!(f[0], FORMAT_USER_AUDIO);
        let len = u32::from_le_bytes(f[1..5].try_into().unwrap()) as usize;
        assert_eq!(len, 18 + 10);
        let p = &f[5..];
        assert_eq!(&p[0..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(u16::from_le_bytes([p[8], p[9]]), 32767);
        assert_eq!(u32::from_le_bytes(p[10..14].try_into().unwrap()), 3);
        assert_eq!(u32::from_le_bytes(p[14..18].try_into().unwrap()), 5);
        assert_eq!(&p[18..20], &[0, 0]);
        assert_eq!(i16::from_le_bytes([p[22], p[23]]), -600);
    }
}
