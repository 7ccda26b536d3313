//! The byte layouts of DAVE's binary voice gateway payloads that the external sender builds or
//! reads (protocol.md, "Voice Gateway Opcodes"), and MLS's variable-length vector headers.

use crate::{SimError, OPERATION_APPEND, OPERATION_REVOKE};

/// Write an MLS variable-length vector header for `len` bytes (RFC 9420 §2.1.2: 1, 2 or 4 bytes,
/// the top two bits of the first byte saying which).
pub fn write_varint(out: &mut Vec<u8>, len: usize) -> Result<(), SimError> {
    if len < 1 << 6 {
        out.push(len as u8);
    } else if len < 1 << 14 {
        out.extend_from_slice(&((len as u16) | 0x4000).to_be_bytes());
    } else if len < 1 << 30 {
        out.extend_from_slice(&((len as u32) | 0x8000_0000).to_be_bytes());
    } else {
        return Err(SimError(format!(
            "{len} bytes is too long for an MLS vector"
        )));
    }
    Ok(())
}

/// Read an MLS variable-length vector header: `(content length, header length)`.
pub fn read_varint(bytes: &[u8]) -> Result<(usize, usize), SimError> {
    let Some(&first) = bytes.first() else {
        return Err(SimError("a vector length is missing".into()));
    };
    let header = match first >> 6 {
        0 => 1,
        1 => 2,
        2 => 4,
        _ => return Err(SimError("invalid MLS vector length prefix 0b11".into())),
    };
    if bytes.len() < header {
        return Err(SimError("a vector length is truncated".into()));
    }
    let mut len = usize::from(first & 0x3f);
    for &b in &bytes[1..header] {
        len = (len << 8) | usize::from(b);
    }
    Ok((len, header))
}

/// `bytes` as one MLS variable-length vector.
pub fn vector(bytes: &[u8]) -> Result<Vec<u8>, SimError> {
    let mut out = Vec::with_capacity(bytes.len() + 4);
    write_varint(&mut out, bytes.len())?;
    out.extend_from_slice(bytes);
    Ok(out)
}

/// The op 27 append body: `u8 0`, then `MLSMessage proposal_messages<V>` (the messages
/// concatenated inside one vector).
pub fn encode_proposals_append(messages: &[Vec<u8>]) -> Result<Vec<u8>, SimError> {
    let mut out = vec![OPERATION_APPEND];
    out.extend(vector(&messages.concat())?);
    Ok(out)
}

/// The op 27 revoke body: `u8 1`, then `ProposalRef proposal_refs<V>` where each ref is itself
/// an `opaque HashReference<V>`.
pub fn encode_proposals_revoke(refs: &[Vec<u8>]) -> Result<Vec<u8>, SimError> {
    let mut inner = Vec::new();
    for reference in refs {
        inner.extend(vector(reference)?);
    }
    let mut out = vec![OPERATION_REVOKE];
    out.extend(vector(&inner)?);
    Ok(out)
}

/// Split an op 27 body into its operation byte and the vector's content (what davey's
/// `process_proposals` takes as `proposals` is the vector *with* its header: `&body[1..]`).
pub fn decode_proposals(body: &[u8]) -> Result<(u8, &[u8]), SimError> {
    let Some((&operation, rest)) = body.split_first() else {
        return Err(SimError("an empty op 27 body".into()));
    };
    if operation != OPERATION_APPEND && operation != OPERATION_REVOKE {
        return Err(SimError(format!("unknown op 27 operation {operation}")));
    }
    let (len, header) = read_varint(rest)?;
    if rest.len() != header + len {
        return Err(SimError(format!(
            "op 27 vector says {len} bytes, {} follow",
            rest.len() - header
        )));
    }
    Ok((operation, &rest[header..]))
}

/// The op 29 / op 30 body the server sends: `u16 BE transition_id`, then the commit or welcome.
pub fn with_transition_id(transition_id: u16, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(message.len() + 2);
    out.extend_from_slice(&transition_id.to_be_bytes());
    out.extend_from_slice(message);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_at_every_width() {
        for len in [0usize, 1, 63, 64, 16_383, 16_384, (1 << 30) - 1] {
            let mut out = Vec::new();
            write_varint(&mut out, len).unwrap();
            let expected_header = if len < 64 {
                1
            } else if len < 16_384 {
                2
            } else {
                4
            };
            assert_eq!(out.len(), expected_header, "{len}");
            assert_eq!(read_varint(&out).unwrap(), (len, expected_header));
        }
        assert!(write_varint(&mut Vec::new(), 1 << 30).is_err());
        assert!(read_varint(&[0xC0]).is_err());
        assert!(read_varint(&[0x40]).is_err());
        assert!(read_varint(&[]).is_err());
    }

    #[test]
    fn proposals_bodies_round_trip() {
        let messages = vec![vec![1u8; 70], vec![2u8; 3]];
        let body = encode_proposals_append(&messages).unwrap();
        assert_eq!(&body[..3], &[0, 0x40, 73]);
        let (op, content) = decode_proposals(&body).unwrap();
        assert_eq!(op, OPERATION_APPEND);
        assert_eq!(content, [vec![1u8; 70], vec![2u8; 3]].concat().as_slice());

        let body = encode_proposals_revoke(&[vec![7u8; 32], vec![8u8; 32]]).unwrap();
        assert_eq!(&body[..4], &[1, 0x40, 66, 32]);
        let (op, content) = decode_proposals(&body).unwrap();
        assert_eq!(op, OPERATION_REVOKE);
        assert_eq!(content.len(), 66);
        assert!(decode_proposals(&[2, 0]).is_err());
        assert!(decode_proposals(&[0, 5, 1]).is_err());
    }

    #[test]
    fn transition_id_prefix_is_big_endian() {
        assert_eq!(with_transition_id(0x0102, b"xy"), vec![1, 2, b'x', b'y']);
    }
}
