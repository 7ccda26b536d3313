//! DAVE, Discord's audio end-to-end encryption, as a sans-IO controller around the `davey` crate's
//! MLS session (docs/clankvox-protocol.md §9.7).
//!
//! The voice gateway hands it the session description's protocol version, the roster (ops 11/13)
//! and every DAVE message (JSON ops 21, 22, 24; binary ops 25, 27, 29, 30); it answers with the
//! messages to send back (op 23 JSON; binary 26 key package, 28 commit/welcome, 31 invalid
//! commit/welcome). The media path asks it to encrypt each outbound Opus frame and to decrypt each
//! inbound one per sender. It counts what it encrypted, decrypted, could not decrypt, let through
//! as plaintext and dropped, and says when its state changed so the app can emit `dave_state`.
//!
//! Rules kept from Discord's protocol and from what went wrong elsewhere:
//! - Op 23 (ready for transition) only for a non-zero transition id; id 0 executes at once.
//! - A downgrade (op 21 to protocol 0) turns passthrough on for 24 s and executes by itself after
//!   3 s if op 22 never comes; an executed upgrade leaves a 10 s passthrough window for late
//!   plaintext.
//! - Frames that cannot be decrypted are dropped and counted; they never trigger op 31 (that led
//!   to 4006 closes elsewhere). Only a commit or welcome that cannot be processed does.
//! - Frames that arrive before any key exist are dropped and counted as early.
//! - Outbound frames are encrypted once the session can encrypt; on a DAVE call before that they
//!   are dropped (never sent in the clear), and at protocol 0 they go out as they are.

use std::collections::BTreeSet;
use std::num::NonZeroU16;
use std::time::{Duration, Instant};

use davey::{DaveSession, MediaType, ProposalsOperationType, OPUS_SILENCE_PACKET};
use serde_json::{json, Value};

/// The highest DAVE protocol version clankvox speaks (sent in IDENTIFY).
pub const MAX_PROTOCOL_VERSION: u16 = 1;
/// Passthrough window after an upgrade executes.
pub const UPGRADE_PASSTHROUGH: Duration = Duration::from_secs(10);
/// Passthrough window when a downgrade is prepared.
pub const DOWNGRADE_PASSTHROUGH: Duration = Duration::from_secs(24);
/// A prepared downgrade executes by itself this long after op 21 if op 22 does not come.
pub const DOWNGRADE_AUTO_EXECUTE: Duration = Duration::from_secs(3);

/// What to send on the voice gateway.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DaveOut {
    /// A JSON text frame.
    Json(String),
    /// A binary frame, `[opcode][payload]`.
    Binary(Vec<u8>),
}

/// Counters since the connection started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DaveCounts {
    pub encrypted: u64,
    pub decrypted: u64,
    pub decrypt_failed: u64,
    pub early_dropped: u64,
    pub passthrough: u64,
    pub outbound_dropped: u64,
}

/// The 45-digit verification code (Discord shows it in groups of five) of a pair of key
/// fingerprints from `DaveController::verification_fingerprints`: scrypt (tens of
/// milliseconds), so run it off the media loop.
pub fn verification_code_of(fingerprints: [Vec<u8>; 2]) -> Result<String, String> {
    let output = davey::pairwise_fingerprints_internal(fingerprints).map_err(|e| e.to_string())?;
    davey::generate_displayable_code_internal(&output, 45, 5).map_err(|e| e.to_string())
}

/// The DAVE side of one voice connection.
pub struct DaveController {
    user_id: u64,
    channel_id: u64,
    protocol_version: u16,
    session: Option<DaveSession>,
    roster: BTreeSet<u64>,
    last_transition: Option<u16>,
    downgrade: Option<(u16, Instant)>,
    counts: DaveCounts,
    changed: bool,
    last_error: Option<String>,
    /// A key package went out and no commit or welcome has been taken since: a PREPARE_EPOCH
    /// for a new group at the same version needs no other (a second would orphan the first,
    /// which the server may already have proposed).
    awaiting_group: Option<u16>,
}

fn bin(op: u8, payload: &[u8]) -> DaveOut {
    let mut v = Vec::with_capacity(payload.len() + 1);
    v.push(op);
    v.extend_from_slice(payload);
    DaveOut::Binary(v)
}

fn u16_prefix(payload: &[u8]) -> Option<(u16, &[u8])> {
    (payload.len() >= 2).then(|| (u16::from_be_bytes([payload[0], payload[1]]), &payload[2..]))
}

impl DaveController {
    pub fn new(user_id: u64, channel_id: u64) -> Self {
        Self {
            user_id,
            channel_id,
            protocol_version: 0,
            session: None,
            roster: BTreeSet::new(),
            last_transition: None,
            downgrade: None,
            counts: DaveCounts::default(),
            changed: false,
            last_error: None,
            awaiting_group: None,
        }
    }

    pub fn protocol_version(&self) -> u16 {
        self.protocol_version
    }

    pub fn counts(&self) -> DaveCounts {
        self.counts
    }

    /// Whether the call is end-to-end encrypted right now (a DAVE call with keys in use).
    pub fn is_encrypting(&self) -> bool {
        self.protocol_version > 0 && self.session.as_ref().is_some_and(|s| s.can_encrypt())
    }

    /// True once after each state change (for a `dave_state` event).
    pub fn take_changed(&mut self) -> bool {
        std::mem::take(&mut self.changed)
    }

    /// The state as the `dave_state` event's fields.
    pub fn state(&self) -> Value {
        let s = self.session.as_ref();
        let status = match (self.protocol_version, s) {
            (0, _) if self.downgrade.is_some() => "downgrading",
            (0, _) => "inactive",
            (_, None) => "pending",
            (_, Some(s)) if s.can_encrypt() => "ready",
            (_, Some(_)) => "pending",
        };
        json!({
            "protocolVersion": self.protocol_version,
            "status": status,
            "epoch": s.and_then(|s| s.epoch()).map(|e| e.as_u64()),
            "transitionId": self.last_transition,
            "privacyCode": s.and_then(|s| s.voice_privacy_code()),
            "encryptedFrames": self.counts.encrypted,
            "decryptedFrames": self.counts.decrypted,
            "decryptFailures": self.counts.decrypt_failed,
            "earlyDropped": self.counts.early_dropped,
            "passthroughFrames": self.counts.passthrough,
            "outboundDropped": self.counts.outbound_dropped,
            "lastError": self.last_error,
        })
    }

    /// The two key fingerprints (ours, `user_id`'s) that the pair's verification code is
    /// made from. Cheap; the code itself is an scrypt away (`verification_code_of`), which
    /// must not run on the media loop.
    pub fn verification_fingerprints(&self, user_id: u64) -> Result<[Vec<u8>; 2], String> {
        let s = self
            .session
            .as_ref()
            .ok_or_else(|| "no DAVE session on this call".to_string())?;
        s.get_key_fingerprint_pair(0, user_id)
            .map_err(|e| format!("no verification code for user {user_id}: {e}"))
    }

    // ---- the gateway ------------------------------------------------------------------------

    fn fail(&mut self, what: String) {
        self.last_error = Some(what);
        self.changed = true;
    }

    fn expected(&self) -> Vec<u64> {
        let mut ids: Vec<u64> = self.roster.iter().copied().collect();
        if !self.roster.contains(&self.user_id) {
            ids.push(self.user_id);
        }
        ids
    }

    /// A fresh MLS session at `pv` and its key package (op 26).
    fn start_session(&mut self, pv: u16) -> Vec<DaveOut> {
        let Some(version) = NonZeroU16::new(pv) else {
            return Vec::new();
        };
        let result = match self.session.as_mut() {
            Some(s) => s
                .reinit(version, self.user_id, self.channel_id, None)
                .map_err(|e| e.to_string()),
            None => DaveSession::new(version, self.user_id, self.channel_id, None)
                .map(|s| {
                    self.session = Some(s);
                })
                .map_err(|e| e.to_string()),
        };
        if let Err(e) = result {
            self.fail(format!("cannot start the DAVE session: {e}"));
            return Vec::new();
        }
        self.changed = true;
        self.awaiting_group = Some(pv);
        self.key_package()
    }

    fn key_package(&mut self) -> Vec<DaveOut> {
        let Some(s) = self.session.as_mut() else {
            return Vec::new();
        };
        match s.create_key_package() {
            Ok(kp) => vec![bin(26, &kp)],
            Err(e) => {
                self.fail(format!("cannot create a key package: {e}"));
                Vec::new()
            }
        }
    }

    /// Op 4 said the call's protocol version.
    pub fn on_session_description(&mut self, pv: u16) -> Vec<DaveOut> {
        self.protocol_version = pv.min(MAX_PROTOCOL_VERSION);
        self.changed = true;
        if self.protocol_version == 0 {
            return Vec::new();
        }
        self.start_session(self.protocol_version)
    }

    /// Op 11: these users are in the call.
    pub fn on_clients_connect(&mut self, user_ids: &[u64]) {
        self.roster.extend(user_ids.iter().copied());
    }

    /// Op 13: this user left.
    pub fn on_client_disconnect(&mut self, user_id: u64) {
        self.roster.remove(&user_id);
    }

    /// A JSON DAVE op (21, 22, 24) with its `d`.
    pub fn on_json(&mut self, op: u8, d: &Value, now: Instant) -> Vec<DaveOut> {
        let tid = d
            .get("transition_id")
            .and_then(Value::as_u64)
            .map(|t| t as u16);
        let pv = d
            .get("protocol_version")
            .and_then(Value::as_u64)
            .map(|p| p as u16);
        match op {
            21 => {
                let (Some(tid), Some(pv)) = (tid, pv) else {
                    return Vec::new();
                };
                self.prepare(tid, pv, now)
            }
            22 => tid.map(|t| self.execute(t)).unwrap_or_default(),
            24 => {
                let pv = pv.unwrap_or(MAX_PROTOCOL_VERSION).min(MAX_PROTOCOL_VERSION);
                let epoch = d.get("epoch").and_then(Value::as_u64);
                if self.awaiting_group == Some(pv) && self.session.is_some() {
                    Vec::new() // our key package for a new group is already out
                } else if epoch == Some(1) || self.session.is_none() {
                    self.start_session(pv)
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        }
    }

    fn prepare(&mut self, tid: u16, pv: u16, now: Instant) -> Vec<DaveOut> {
        self.last_transition = Some(tid);
        self.changed = true;
        if pv == 0 {
            // Downgrade: let plaintext through meanwhile, execute by itself if op 22 is late.
            if let Some(s) = self.session.as_mut() {
                s.set_passthrough_mode(true, Some(DOWNGRADE_PASSTHROUGH.as_secs() as u32));
                let _ = s.prepare_transition(tid, 0);
            }
            self.downgrade = Some((tid, now + DOWNGRADE_AUTO_EXECUTE));
        } else if let Some(s) = self.session.as_mut() {
            if let Err(e) = s.prepare_transition(tid, pv) {
                self.fail(format!("cannot prepare transition {tid}: {e}"));
            }
        }
        if tid == 0 {
            self.executed(tid, pv);
            return Vec::new();
        }
        vec![self.ready_for(tid)]
    }

    fn ready_for(&self, tid: u16) -> DaveOut {
        DaveOut::Json(json!({"op": 23, "d": {"transition_id": tid}}).to_string())
    }

    fn execute(&mut self, tid: u16) -> Vec<DaveOut> {
        let pv = match self.downgrade {
            Some((t, _)) if t == tid => 0,
            _ => self.protocol_version.max(1),
        };
        if let Some(s) = self.session.as_mut() {
            match s.execute_transition(tid) {
                Ok(_) => {}
                Err(e) => self.fail(format!("cannot execute transition {tid}: {e}")),
            }
        }
        self.executed(tid, pv);
        Vec::new()
    }

    fn executed(&mut self, tid: u16, pv: u16) {
        let upgrading = self.protocol_version == 0 && pv > 0;
        if pv == 0 {
            self.downgrade = None;
        }
        self.protocol_version = pv;
        self.last_transition = Some(tid);
        if upgrading {
            if let Some(s) = self.session.as_mut() {
                s.set_passthrough_mode(false, Some(UPGRADE_PASSTHROUGH.as_secs() as u32));
            }
        }
        self.changed = true;
    }

    /// A binary DAVE op from the server (sequence number already stripped).
    pub fn on_binary(&mut self, op: u8, payload: &[u8], now: Instant) -> Vec<DaveOut> {
        let _ = now;
        if self.session.is_none() {
            // A DAVE message before op 4 or op 24: start at the highest version we speak.
            if !matches!(op, 25 | 27 | 29 | 30) {
                return Vec::new();
            }
            let mut out = self.start_session(MAX_PROTOCOL_VERSION);
            out.extend(self.on_binary_with_session(op, payload));
            return out;
        }
        self.on_binary_with_session(op, payload)
    }

    fn on_binary_with_session(&mut self, op: u8, payload: &[u8]) -> Vec<DaveOut> {
        let expected = self.expected();
        let Some(s) = self.session.as_mut() else {
            return Vec::new();
        };
        match op {
            25 => {
                if let Err(e) = s.set_external_sender(payload) {
                    self.fail(format!("external sender refused: {e}"));
                }
                Vec::new()
            }
            27 => {
                let Some((&kind, rest)) = payload.split_first() else {
                    return Vec::new();
                };
                let kind = if kind == 0 {
                    ProposalsOperationType::APPEND
                } else {
                    ProposalsOperationType::REVOKE
                };
                match s.process_proposals(kind, rest, Some(&expected)) {
                    Ok(Some(cw)) => {
                        let mut body = cw.commit;
                        if let Some(w) = cw.welcome {
                            body.extend_from_slice(&w);
                        }
                        vec![bin(28, &body)]
                    }
                    Ok(None) => Vec::new(),
                    Err(e) => {
                        self.fail(format!("proposals refused: {e}"));
                        Vec::new()
                    }
                }
            }
            29 => {
                let Some((tid, commit)) = u16_prefix(payload) else {
                    return Vec::new();
                };
                match s.process_commit(commit) {
                    Ok(true) => self.joined(tid),
                    Ok(false) => Vec::new(),
                    Err(e) => self.invalid(tid, format!("commit refused: {e}")),
                }
            }
            30 => {
                let Some((tid, welcome)) = u16_prefix(payload) else {
                    return Vec::new();
                };
                match s.process_welcome(welcome, Some(&expected)) {
                    Ok(()) => self.joined(tid),
                    Err(e) => self.invalid(tid, format!("welcome refused: {e}")),
                }
            }
            _ => Vec::new(),
        }
    }

    /// A commit or welcome was taken: prepare its transition (op 23 unless id 0).
    fn joined(&mut self, tid: u16) -> Vec<DaveOut> {
        self.awaiting_group = None;
        let pv = self.protocol_version.max(1);
        if let Some(s) = self.session.as_mut() {
            if let Err(e) = s.prepare_transition(tid, pv) {
                self.fail(format!("cannot prepare transition {tid}: {e}"));
            }
        }
        self.last_transition = Some(tid);
        self.changed = true;
        if tid == 0 {
            if let Some(s) = self.session.as_mut() {
                let _ = s.execute_transition(0);
            }
            self.executed(0, pv);
            return Vec::new();
        }
        vec![self.ready_for(tid)]
    }

    /// A commit or welcome could not be processed: start again and say so (op 31).
    fn invalid(&mut self, tid: u16, why: String) -> Vec<DaveOut> {
        self.fail(why);
        let mut out = vec![DaveOut::Json(
            json!({"op": 31, "d": {"transition_id": tid}}).to_string(),
        )];
        let pv = self.protocol_version.max(1);
        out.extend(self.start_session(pv));
        out
    }

    /// When `poll` has work (a downgrade that executes by itself).
    pub fn next_deadline(&self) -> Option<Instant> {
        self.downgrade.map(|(_, at)| at)
    }

    pub fn poll(&mut self, now: Instant) -> Vec<DaveOut> {
        if let Some((tid, at)) = self.downgrade {
            if now >= at {
                return self.execute(tid);
            }
        }
        Vec::new()
    }

    // ---- media ------------------------------------------------------------------------------

    /// An outbound Opus frame: encrypted on a DAVE call with keys, as it is at protocol 0,
    /// `None` (dropped) on a DAVE call that has no key yet.
    pub fn encrypt(&mut self, frame: Vec<u8>) -> Option<Vec<u8>> {
        if self.protocol_version == 0 {
            return Some(frame);
        }
        if frame == OPUS_SILENCE_PACKET {
            return Some(frame);
        }
        let Some(s) = self.session.as_mut().filter(|s| s.can_encrypt()) else {
            self.counts.outbound_dropped += 1;
            return None;
        };
        match s.encrypt_opus(&frame) {
            Ok(out) => {
                self.counts.encrypted += 1;
                Some(out.into_owned())
            }
            Err(_) => {
                self.counts.outbound_dropped += 1;
                None
            }
        }
    }

    /// An inbound Opus frame from `user_id`: the plaintext, or `None` (dropped, counted).
    pub fn decrypt(&mut self, user_id: u64, frame: Vec<u8>) -> Option<Vec<u8>> {
        if frame == OPUS_SILENCE_PACKET {
            return Some(frame);
        }
        let marked = frame.len() >= 2 && frame[frame.len() - 2..] == [0xFA, 0xFA];
        let Some(s) = self.session.as_mut() else {
            if marked {
                self.counts.early_dropped += 1;
                return None;
            }
            if self.protocol_version == 0 {
                return Some(frame);
            }
            self.counts.early_dropped += 1;
            return None;
        };
        match s.decrypt(user_id, MediaType::AUDIO, &frame) {
            Ok(plain) => {
                if plain == frame {
                    self.counts.passthrough += 1;
                } else {
                    self.counts.decrypted += 1;
                }
                Some(plain)
            }
            Err(
                davey::errors::DecryptError::NoDecryptorForUser
                | davey::errors::DecryptError::DecryptionFailed(
                    davey::errors::DecryptorDecryptError::MissingKeyRatchet,
                ),
            ) => {
                // No key for this sender yet (it is not in our group, or we are not yet in its
                // epoch): an early frame, not a failure.
                if self.protocol_version == 0 && !marked {
                    self.counts.passthrough += 1;
                    return Some(frame);
                }
                self.counts.early_dropped += 1;
                None
            }
            Err(_) => {
                if self.protocol_version == 0 && !marked {
                    self.counts.passthrough += 1;
                    return Some(frame);
                }
                self.counts.decrypt_failed += 1;
                None
            }
        }
    }
}
