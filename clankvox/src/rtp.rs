//! RTP (RFC 3550) as Discord uses it: parse inbound headers, build outbound ones, and tell RTP
//! from RTCP and from the other datagrams that share the voice UDP socket.

/// Opus payload type on Discord's voice transport.
pub const OPUS_PAYLOAD_TYPE: u8 = 120;
/// Fixed RTP header length.
pub const RTP_HEADER_LEN: usize = 12;
/// Samples per channel in one 20 ms frame at 48 kHz; the RTP timestamp step.
pub const SAMPLES_PER_FRAME: u32 = 960;

/// What a parsed RTP header says about the packet's layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpHeader {
    pub padding: bool,
    pub extension: bool,
    pub csrc_count: u8,
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Bytes sent in clear and authenticated: fixed header, CSRCs and (if X) the 4-byte
    /// extension preamble. This is the AAD of the `_rtpsize` AEAD modes.
    pub clear_len: usize,
    /// Length in bytes of the extension body, which sits encrypted at the start of the payload.
    pub extension_body_len: usize,
}

/// Why a datagram could not be read as RTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RtpError {
    TooShort,
    NotVersion2,
}

/// True when the datagram is RTCP (payload types 72–76 after masking the marker bit, RFC 5761).
pub fn is_rtcp(packet: &[u8]) -> bool {
    packet.len() >= 2 && (72..=76).contains(&(packet[1] & 0x7f))
}

impl RtpHeader {
    /// Parse the clear part of an RTP packet.
    pub fn parse(packet: &[u8]) -> Result<Self, RtpError> {
        if packet.len() < RTP_HEADER_LEN {
            return Err(RtpError::TooShort);
        }
        let b0 = packet[0];
        if b0 >> 6 != 2 {
            return Err(RtpError::NotVersion2);
        }
        let csrc_count = b0 & 0x0f;
        let extension = b0 & 0x10 != 0;
        let mut clear_len = RTP_HEADER_LEN + 4 * usize::from(csrc_count);
        let mut extension_body_len = 0;
        if extension {
            if packet.len() < clear_len + 4 {
                return Err(RtpError::TooShort);
            }
            let words = u16::from_be_bytes([packet[clear_len + 2], packet[clear_len + 3]]);
            extension_body_len = 4 * usize::from(words);
            clear_len += 4;
        }
        if packet.len() < clear_len {
            return Err(RtpError::TooShort);
        }
        Ok(Self {
            padding: b0 & 0x20 != 0,
            extension,
            csrc_count,
            marker: packet[1] & 0x80 != 0,
            payload_type: packet[1] & 0x7f,
            sequence: u16::from_be_bytes([packet[2], packet[3]]),
            timestamp: u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
            ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
            clear_len,
            extension_body_len,
        })
    }

    /// Given the decrypted payload of this packet, strip padding (if P) and then the extension
    /// body (if X), returning the media payload. Padding is removed first because it sits at the
    /// end of the encrypted part, after the media.
    pub fn media_payload<'a>(&self, decrypted: &'a [u8]) -> Option<&'a [u8]> {
        let mut end = decrypted.len();
        if self.padding {
            let pad = usize::from(*decrypted.last()?);
            if pad == 0 || pad > end {
                return None;
            }
            end -= pad;
        }
        if self.extension_body_len > end {
            return None;
        }
        Some(&decrypted[self.extension_body_len..end])
    }
}

/// Build the 12-byte header of an outbound Opus packet (no CSRC, no extension, no marker).
pub fn build_header(sequence: u16, timestamp: u32, ssrc: u32) -> [u8; RTP_HEADER_LEN] {
    let mut h = [0u8; RTP_HEADER_LEN];
    h[0] = 0x80;
    h[1] = OPUS_PAYLOAD_TYPE;
    h[2..4].copy_from_slice(&sequence.to_be_bytes());
    h[4..8].copy_from_slice(&timestamp.to_be_bytes());
    h[8..12].copy_from_slice(&ssrc.to_be_bytes());
    h
}

/// Signed distance from `from` to `to` in 16-bit sequence space (wrap-aware).
pub fn seq_distance(from: u16, to: u16) -> i32 {
    i32::from(to.wrapping_sub(from) as i16)
}

/// The sequence/timestamp counters of our outbound stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboundRtp {
    pub sequence: u16,
    pub timestamp: u32,
}

impl OutboundRtp {
    /// Header for the packet sent on clock tick `tick` (the timestamp follows clock time, so it
    /// keeps advancing across silence), advancing the sequence number.
    pub fn next_header(&mut self, tick: u64, ssrc: u32) -> [u8; RTP_HEADER_LEN] {
        self.timestamp = (tick.wrapping_mul(u64::from(SAMPLES_PER_FRAME)) & 0xffff_ffff) as u32;
        let h = build_header(self.sequence, self.timestamp, ssrc);
        self.sequence = self.sequence.wrapping_add(1);
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_a_built_header() {
        let h = build_header(0xfffe, 0xdead_beef, 42);
        let p = RtpHeader::parse(&h).unwrap();
        assert_eq!(p.sequence, 0xfffe);
        assert_eq!(p.timestamp, 0xdead_beef);
        assert_eq!(p.ssrc, 42);
        assert_eq!(p.payload_type, OPUS_PAYLOAD_TYPE);
        assert_eq!(p.clear_len, 12);
        assert!(!p.extension && !p.padding && !p.marker);
    }

    #[test]
    fn csrc_and_extension_preamble_are_clear() {
        let mut pkt = vec![0x92, 0xf8, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        pkt.extend_from_slice(&[0, 0, 0, 9, 0, 0, 0, 10]); // two CSRCs
        pkt.extend_from_slice(&[0xbe, 0xde, 0, 2]); // preamble: 2 words of body
        pkt.extend_from_slice(&[1; 20]);
        let h = RtpHeader::parse(&pkt).unwrap();
        assert_eq!(h.csrc_count, 2);
        assert!(h.marker);
        assert_eq!(h.payload_type, 120);
        assert_eq!(h.clear_len, 12 + 8 + 4);
        assert_eq!(h.extension_body_len, 8);
    }

    #[test]
    fn rejects_short_and_wrong_version() {
        assert_eq!(RtpHeader::parse(&[0x80; 11]), Err(RtpError::TooShort));
        assert_eq!(RtpHeader::parse(&[0x40; 12]), Err(RtpError::NotVersion2));
        let mut p = build_header(1, 1, 1).to_vec();
        p[0] |= 0x10; // X without a preamble
        assert_eq!(RtpHeader::parse(&p), Err(RtpError::TooShort));
    }

    #[test]
    fn strips_padding_before_extension() {
        let mut h = RtpHeader::parse(&build_header(1, 1, 1)).unwrap();
        h.padding = true;
        h.extension = true;
        h.extension_body_len = 4;
        let dec = [9, 9, 9, 9, 0xaa, 0xbb, 0, 0, 3];
        assert_eq!(h.media_payload(&dec), Some(&[0xaa, 0xbb][..]));
        assert_eq!(h.media_payload(&[1, 2, 3, 4, 0]), None); // zero pad count is invalid
        assert_eq!(h.media_payload(&[1, 2, 40]), None);
    }

    #[test]
    fn detects_rtcp() {
        assert!(is_rtcp(&[0x80, 200, 0, 6]));
        assert!(is_rtcp(&[0x81, 0xc9]));
        assert!(!is_rtcp(&build_header(0, 0, 0)));
    }

    #[test]
    fn sequence_distance_wraps() {
        assert_eq!(seq_distance(65535, 0), 1);
        assert_eq!(seq_distance(0, 65535), -1);
        assert_eq!(seq_distance(10, 15), 5);
    }

    #[test]
    fn outbound_timestamps_follow_the_clock() {
        let mut o = OutboundRtp::default();
        let a = RtpHeader::parse(&o.next_header(0, 7)).unwrap();
        let b = RtpHeader::parse(&o.next_header(1, 7)).unwrap();
        let c = RtpHeader::parse(&o.next_header(10, 7)).unwrap(); // after a 9-tick silence
        assert_eq!((a.sequence, b.sequence, c.sequence), (0, 1, 2));
        assert_eq!((a.timestamp, b.timestamp, c.timestamp), (0, 960, 9600));
    }
}
