//! Transport encryption (the two `_rtpsize` AEAD modes) and the frame-transform hook where DAVE
//! end-to-end encryption will slot in (docs/clankvox-protocol.md §9.4, §9.6).
//!
//! Packet layout: `[clear header (AAD)][ciphertext][16-byte tag][4-byte BE nonce counter]`. The
//! AEAD nonce is the counter in the first four bytes of an otherwise zero 12-byte (AES-256-GCM)
//! or 24-byte (XChaCha20-Poly1305) nonce.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use chacha20poly1305::XChaCha20Poly1305;

use crate::rtp::RtpHeader;

pub const MODE_AES256_GCM: &str = "aead_aes256_gcm_rtpsize";
pub const MODE_XCHACHA20: &str = "aead_xchacha20_poly1305_rtpsize";
/// AEAD tag length of both modes.
pub const TAG_LEN: usize = 16;
/// Length of the nonce counter appended to every packet.
pub const NONCE_SUFFIX_LEN: usize = 4;

/// Pick the mode: a forced one if offered, else AES-256-GCM if offered, else XChaCha20.
pub fn choose_mode(offered: &[String], forced: Option<&str>) -> Result<&'static str, String> {
    let has = |m: &str| offered.iter().any(|o| o == m);
    if let Some(f) = forced {
        let known = [MODE_AES256_GCM, MODE_XCHACHA20]
            .into_iter()
            .find(|m| *m == f)
            .ok_or_else(|| format!("forced mode {f:?} is not supported"))?;
        return if has(known) {
            Ok(known)
        } else {
            Err(format!(
                "forced mode {f} is not offered by the server (offered: {offered:?})"
            ))
        };
    }
    if has(MODE_AES256_GCM) {
        Ok(MODE_AES256_GCM)
    } else if has(MODE_XCHACHA20) {
        Ok(MODE_XCHACHA20)
    } else {
        Err(format!(
            "the server offers no supported encryption mode (offered: {offered:?})"
        ))
    }
}

/// Why a packet could not be opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    Malformed,
    Authentication,
}

/// One negotiated transport cipher.
pub enum TransportCipher {
    Aes256Gcm(Box<Aes256Gcm>),
    XChaCha20(Box<XChaCha20Poly1305>),
}

impl std::fmt::Debug for TransportCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.mode())
    }
}

impl TransportCipher {
    /// Build the cipher for `mode` from the 32-byte session key.
    pub fn new(mode: &str, key: &[u8]) -> Result<Self, String> {
        if key.len() != 32 {
            return Err(format!("secret_key has {} bytes, expected 32", key.len()));
        }
        match mode {
            MODE_AES256_GCM => Ok(Self::Aes256Gcm(Box::new(
                Aes256Gcm::new_from_slice(key).map_err(|e| e.to_string())?,
            ))),
            MODE_XCHACHA20 => Ok(Self::XChaCha20(Box::new(
                XChaCha20Poly1305::new_from_slice(key).map_err(|e| e.to_string())?,
            ))),
            other => Err(format!("unsupported encryption mode {other:?}")),
        }
    }

    pub fn mode(&self) -> &'static str {
        match self {
            Self::Aes256Gcm(_) => MODE_AES256_GCM,
            Self::XChaCha20(_) => MODE_XCHACHA20,
        }
    }

    fn crypt(
        &self,
        counter: [u8; 4],
        aad: &[u8],
        msg: &[u8],
        seal: bool,
    ) -> Result<Vec<u8>, aes_gcm::aead::Error> {
        let payload = Payload { msg, aad };
        match self {
            Self::Aes256Gcm(c) => {
                let mut n = [0u8; 12];
                n[..4].copy_from_slice(&counter);
                let n = aes_gcm::Nonce::from_slice(&n);
                if seal {
                    c.encrypt(n, payload)
                } else {
                    c.decrypt(n, payload)
                }
            }
            Self::XChaCha20(c) => {
                let mut n = [0u8; 24];
                n[..4].copy_from_slice(&counter);
                let n = chacha20poly1305::XNonce::from_slice(&n);
                if seal {
                    c.encrypt(n, payload)
                } else {
                    c.decrypt(n, payload)
                }
            }
        }
    }

    /// Encrypt `plaintext` behind the clear `header` with nonce `counter`; returns the packet.
    pub fn seal(&self, header: &[u8], plaintext: &[u8], counter: u32) -> Vec<u8> {
        let c = counter.to_be_bytes();
        let ct = self
            .crypt(c, header, plaintext, true)
            .expect("AEAD encryption cannot fail for in-range lengths");
        let mut out = Vec::with_capacity(header.len() + ct.len() + NONCE_SUFFIX_LEN);
        out.extend_from_slice(header);
        out.extend_from_slice(&ct);
        out.extend_from_slice(&c);
        out
    }

    /// Decrypt a packet whose first `clear_len` bytes are the clear header; returns the plaintext.
    pub fn open(&self, packet: &[u8], clear_len: usize) -> Result<Vec<u8>, OpenError> {
        if packet.len() < clear_len + TAG_LEN + NONCE_SUFFIX_LEN {
            return Err(OpenError::Malformed);
        }
        let (rest, nonce) = packet.split_at(packet.len() - NONCE_SUFFIX_LEN);
        let (aad, ct) = rest.split_at(clear_len);
        let counter: [u8; 4] = nonce.try_into().expect("split gives 4 bytes");
        self.crypt(counter, aad, ct, false)
            .map_err(|_| OpenError::Authentication)
    }

    /// Decrypt an inbound RTP packet and return its header and media payload (padding and
    /// extension body removed).
    pub fn open_rtp(&self, packet: &[u8]) -> Result<(RtpHeader, Vec<u8>), OpenError> {
        let header = RtpHeader::parse(packet).map_err(|_| OpenError::Malformed)?;
        let plain = self.open(packet, header.clear_len)?;
        let media = header
            .media_payload(&plain)
            .ok_or(OpenError::Malformed)?
            .to_vec();
        Ok((header, media))
    }
}

/// The send-side nonce counter (starts at 0, wraps at 2³²).
#[derive(Clone, Copy, Debug, Default)]
pub struct NonceCounter(u32);

impl NonceCounter {
    pub fn advance(&mut self) -> u32 {
        let n = self.0;
        self.0 = self.0.wrapping_add(1);
        n
    }
}

/// A transform applied to whole Opus frames between the codec and the transport: DAVE's
/// end-to-end encryption plugs in here. `ssrc`/`user_id` identify the sender on receive.
pub trait FrameTransform: Send {
    /// Transform an outbound Opus frame (after encoding, before RTP packetizing).
    fn outbound(&mut self, frame: Vec<u8>) -> Vec<u8>;
    /// Transform an inbound Opus frame (after transport decryption, before decoding). `None`
    /// drops the frame (e.g. it could not be decrypted).
    fn inbound(&mut self, user_id: u64, ssrc: u32, frame: Vec<u8>) -> Option<Vec<u8>>;
}

/// The transform used while no end-to-end encryption is negotiated.
#[derive(Clone, Copy, Debug, Default)]
pub struct Passthrough;

impl FrameTransform for Passthrough {
    fn outbound(&mut self, frame: Vec<u8>) -> Vec<u8> {
        frame
    }
    fn inbound(&mut self, _user_id: u64, _ssrc: u32, frame: Vec<u8>) -> Option<Vec<u8>> {
        Some(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Vec<u8> {
        (0u8..32).collect()
    }

    #[test]
    fn prefers_aes_then_xchacha() {
        let both = vec![
            "xsalsa20_poly1305".to_string(),
            MODE_XCHACHA20.to_string(),
            MODE_AES256_GCM.to_string(),
        ];
        assert_eq!(choose_mode(&both, None), Ok(MODE_AES256_GCM));
        assert_eq!(choose_mode(&both[..2], None), Ok(MODE_XCHACHA20));
        assert!(choose_mode(&both[..1], None).is_err());
        assert_eq!(choose_mode(&both, Some(MODE_XCHACHA20)), Ok(MODE_XCHACHA20));
        assert!(choose_mode(&both[..2], Some(MODE_AES256_GCM)).is_err());
    }

    #[test]
    fn seal_open_round_trip_both_modes() {
        for mode in [MODE_AES256_GCM, MODE_XCHACHA20] {
            let c = TransportCipher::new(mode, &key()).unwrap();
            let header = crate::rtp::build_header(5, 4800, 99);
            let pkt = c.seal(&header, b"opus!", 7);
            assert_eq!(&pkt[..12], &header);
            assert_eq!(&pkt[pkt.len() - 4..], &[0, 0, 0, 7]);
            assert_eq!(pkt.len(), 12 + 5 + 16 + 4);
            let (h, media) = c.open_rtp(&pkt).unwrap();
            assert_eq!(h.sequence, 5);
            assert_eq!(media, b"opus!");
        }
    }

    #[test]
    fn tampering_fails_authentication() {
        for mode in [MODE_AES256_GCM, MODE_XCHACHA20] {
            let c = TransportCipher::new(mode, &key()).unwrap();
            let header = crate::rtp::build_header(5, 4800, 99);
            let mut pkt = c.seal(&header, b"opus!", 7);
            pkt[3] ^= 1; // header is authenticated
            assert_eq!(c.open_rtp(&pkt).unwrap_err(), OpenError::Authentication);
            let mut pkt = c.seal(&header, b"opus!", 7);
            let n = pkt.len();
            pkt[n - 1] ^= 1; // wrong nonce
            assert_eq!(c.open_rtp(&pkt).unwrap_err(), OpenError::Authentication);
            assert_eq!(c.open_rtp(&pkt[..20]).unwrap_err(), OpenError::Malformed);
        }
    }

    #[test]
    fn rejects_bad_keys_and_modes() {
        assert!(TransportCipher::new(MODE_AES256_GCM, &[0; 16]).is_err());
        assert!(TransportCipher::new("xsalsa20_poly1305", &key()).is_err());
    }

    #[test]
    fn nonce_counter_wraps() {
        let mut n = NonceCounter(u32::MAX);
        assert_eq!(n.advance(), u32::MAX);
        assert_eq!(n.advance(), 0);
    }
}
