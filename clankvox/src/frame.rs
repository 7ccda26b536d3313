//! Length-prefixed stdout framing: every frame is a 4-byte big-endian length, then the payload.

/// Prefix `payload` with its length as a 4-byte big-endian integer.
#[allow(dead_code)] // used by the media plane once it lands; pinned by the test below now
pub fn encode_frame(payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).expect("frame larger than 4 GiB");
    let mut out = Vec::with_capacity(4 + payload.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::encode_frame;

    #[test]
    fn prefixes_length_big_endian() {
        assert_eq!(encode_frame(b"abc"), vec![0, 0, 0, 3, b'a', b'b', b'c']);
        assert_eq!(encode_frame(b""), vec![0, 0, 0, 0]);
    }
}
