//! RTCP (RFC 3550 §6) parsing: walk a compound packet and read sender/receiver reports.
//!
//! clankvox ignores inbound RTCP on the voice socket (docs/clankvox-protocol.md §9.4) and sends
//! none; this parser classifies it and gives the receive statistics a peer reports, for
//! diagnostics.

/// RTCP packet types.
pub const SENDER_REPORT: u8 = 200;
pub const RECEIVER_REPORT: u8 = 201;

/// One packet inside a compound RTCP datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RtcpPacket<'a> {
    pub packet_type: u8,
    /// Reception-report count (or the feedback message type for PT 205/206).
    pub count: u8,
    pub sender_ssrc: u32,
    /// Everything after the sender SSRC, padding removed.
    pub body: &'a [u8],
}

/// One reception report block (24 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportBlock {
    pub ssrc: u32,
    /// Fraction lost since the last report, in 1/256.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed).
    pub cumulative_lost: i32,
    pub highest_seq: u32,
    pub jitter: u32,
}

/// Split a compound RTCP datagram into its packets; `None` if any header is malformed.
pub fn parse_compound(mut data: &[u8]) -> Option<Vec<RtcpPacket<'_>>> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if data.len() < 8 || data[0] >> 6 != 2 {
            return None;
        }
        let len = 4 * (usize::from(u16::from_be_bytes([data[2], data[3]])) + 1);
        if len > data.len() {
            return None;
        }
        let (pkt, rest) = data.split_at(len);
        let mut end = len;
        if pkt[0] & 0x20 != 0 {
            let pad = usize::from(pkt[len - 1]);
            if pad == 0 || pad > len - 8 {
                return None;
            }
            end -= pad;
        }
        out.push(RtcpPacket {
            packet_type: pkt[1],
            count: pkt[0] & 0x1f,
            sender_ssrc: u32::from_be_bytes([pkt[4], pkt[5], pkt[6], pkt[7]]),
            body: &pkt[8..end],
        });
        data = rest;
    }
    Some(out)
}

/// The reception report blocks of a sender or receiver report.
pub fn report_blocks(p: &RtcpPacket<'_>) -> Vec<ReportBlock> {
    let blocks = match p.packet_type {
        SENDER_REPORT if p.body.len() >= 20 => &p.body[20..], // skip the sender info
        RECEIVER_REPORT => p.body,
        _ => return Vec::new(),
    };
    blocks
        .chunks_exact(24)
        .take(usize::from(p.count))
        .map(|b| {
            let lost = u32::from_be_bytes([0, b[5], b[6], b[7]]);
            // sign-extend 24 bits
            let cumulative_lost = ((lost << 8) as i32) >> 8;
            ReportBlock {
                ssrc: u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
                fraction_lost: b[4],
                cumulative_lost,
                highest_seq: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
                jitter: u32::from_be_bytes([b[12], b[13], b[14], b[15]]),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(sender: u32, block_ssrc: u32, lost: [u8; 3]) -> Vec<u8> {
        let mut p = vec![0x81, RECEIVER_REPORT, 0, 7];
        p.extend_from_slice(&sender.to_be_bytes());
        p.extend_from_slice(&block_ssrc.to_be_bytes());
        p.push(64); // 25 % lost
        p.extend_from_slice(&lost);
        p.extend_from_slice(&1000u32.to_be_bytes());
        p.extend_from_slice(&37u32.to_be_bytes());
        p.extend_from_slice(&[0; 8]);
        p
    }

    #[test]
    fn parses_a_receiver_report() {
        let pkt = rr(1, 2, [0, 0, 5]);
        let ps = parse_compound(&pkt).unwrap();
        assert_eq!(ps.len(), 1);
        assert_eq!(ps[0].packet_type, RECEIVER_REPORT);
        assert_eq!(ps[0].sender_ssrc, 1);
        let b = report_blocks(&ps[0]);
        assert_eq!(
            b,
            vec![ReportBlock {
                ssrc: 2,
                fraction_lost: 64,
                cumulative_lost: 5,
                highest_seq: 1000,
                jitter: 37
            }]
        );
    }

    #[test]
    fn cumulative_loss_is_signed_24_bit() {
        let pkt = rr(1, 2, [0xff, 0xff, 0xff]);
        let ps = parse_compound(&pkt).unwrap();
        assert_eq!(report_blocks(&ps[0])[0].cumulative_lost, -1);
    }

    #[test]
    fn walks_compound_packets_and_strips_padding() {
        let mut pkt = rr(1, 2, [0, 0, 1]);
        // an SDES-ish packet with 4 bytes of padding
        pkt.extend_from_slice(&[0xa1, 202, 0, 3, 0, 0, 0, 9, 1, 2, 0, 0, 0, 0, 0, 4]);
        let ps = parse_compound(&pkt).unwrap();
        assert_eq!(ps.len(), 2);
        assert_eq!(ps[1].packet_type, 202);
        assert_eq!(ps[1].sender_ssrc, 9);
        assert_eq!(ps[1].body, &[1, 2, 0, 0]);
    }

    #[test]
    fn rejects_truncated_or_bad_packets() {
        let pkt = rr(1, 2, [0, 0, 1]);
        assert_eq!(parse_compound(&pkt[..20]), None);
        assert_eq!(parse_compound(&[0x41, 201, 0, 1, 0, 0, 0, 0]), None);
        assert_eq!(parse_compound(&[0xa0, 201, 0, 1, 0, 0, 0, 0]), None); // zero padding
    }
}
