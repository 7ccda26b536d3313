//! clankvox's DAVE controller (`clankvox::dave`) in a local MLS group: the sandbox's external
//! sender (`dave-sim`, on openmls) proposes, three controllers commit, welcome, transition,
//! encrypt and decrypt. Covers the frame format, transitions (op 23 only for non-zero ids), the
//! key ratchet across a join and a leave, a downgrade to protocol 0 and the upgrade back, early
//! packets, wrong keys (counted, no op 31) and the Opus silence frame.

use std::time::{Duration, Instant};

use clankvox::dave::{DaveController, DaveOut, DOWNGRADE_AUTO_EXECUTE};
use dave_sim::{split_commit_welcome, ExternalSenderSim};
use serde_json::{json, Value};

const CHANNEL: u64 = 1_122_334_455_667_788_990;
const A: u64 = 1_001;
const B: u64 = 1_002;
const C: u64 = 1_003;
const SILENCE: [u8; 3] = [0xF8, 0xFF, 0xFE];

fn binary(out: &[DaveOut], op: u8) -> Vec<u8> {
    out.iter()
        .find_map(|o| match o {
            DaveOut::Binary(b) if b[0] == op => Some(b[1..].to_vec()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no binary op {op} in {out:?}"))
}

fn json_ops(out: &[DaveOut]) -> Vec<Value> {
    out.iter()
        .filter_map(|o| match o {
            DaveOut::Json(t) => Some(serde_json::from_str(t).unwrap()),
            DaveOut::Binary(_) => None,
        })
        .collect()
}

fn with_tid(tid: u16, body: &[u8]) -> Vec<u8> {
    let mut v = tid.to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn opus(seed: u8) -> Vec<u8> {
    let mut f = vec![0x78];
    f.extend((0..60u8).map(|i| i.wrapping_mul(seed).wrapping_add(7)));
    f
}

/// A member: a controller that got op 4 (protocol 1), the roster and the external sender.
fn member(user: u64, roster: &[u64], es: &[u8], now: Instant) -> (DaveController, Vec<u8>) {
    let mut d = DaveController::new(user, CHANNEL);
    let out = d.on_session_description(1);
    let key_package = binary(&out, 26);
    d.on_clients_connect(roster);
    assert!(d.on_binary(25, es, now).is_empty());
    (d, key_package)
}

/// Read a ULEB128 value at `at`; returns (value, bytes used).
fn uleb(bytes: &[u8], at: usize) -> (u64, usize) {
    let (mut value, mut shift, mut i) = (0u64, 0, at);
    loop {
        let b = bytes[i];
        value |= u64::from(b & 0x7F) << shift;
        i += 1;
        if b & 0x80 == 0 {
            return (value, i - at);
        }
        shift += 7;
    }
}

/// a and b form the group at epoch 0 → 1 with transition `tid`.
fn establish(sim: &Sim, now: Instant) -> (DaveController, DaveController) {
    let (mut a, kp_a) = member(A, &[B], &sim.es, now);
    let (mut b, kp_b) = member(B, &[A], &sim.es, now);
    let sim = &sim.sim;
    let for_a = sim.proposals(CHANNEL, 0, &[kp_b], &[]).unwrap();
    let for_b = sim.proposals(CHANNEL, 0, &[kp_a], &[]).unwrap();
    let commit_a = binary(&a.on_binary(27, &for_a.payload, now), 28);
    let _losing = binary(&b.on_binary(27, &for_b.payload, now), 28);
    let split = split_commit_welcome(&commit_a).unwrap();
    let ready_a = a.on_binary(29, &with_tid(1, &split.commit), now);
    let ready_b = b.on_binary(30, &with_tid(1, &split.welcome.unwrap()), now);
    for out in [&ready_a, &ready_b] {
        assert_eq!(
            json_ops(out),
            vec![json!({"op": 23, "d": {"transition_id": 1}})]
        );
    }
    assert!(
        !a.is_encrypting(),
        "keys change only when the transition executes"
    );
    a.on_json(22, &json!({"transition_id": 1}), now);
    b.on_json(22, &json!({"transition_id": 1}), now);
    assert!(a.is_encrypting() && b.is_encrypting());
    (a, b)
}

/// The server's external sender for CHANNEL and its op 25 package.
struct Sim {
    sim: ExternalSenderSim,
    es: Vec<u8>,
}

fn sim() -> Sim {
    let mut sim = ExternalSenderSim::new();
    let es = sim.new_group(CHANNEL).unwrap();
    Sim { sim, es }
}

#[test]
fn frames_are_encrypted_in_the_dave_format_and_decrypt_at_the_other_member() {
    let now = Instant::now();
    let sim = sim();
    let (mut a, mut b) = establish(&sim, now);
    let state = a.state();
    assert_eq!(state["status"], "ready");
    assert_eq!(state["epoch"], 1);
    assert_eq!(state["privacyCode"], b.state()["privacyCode"]);
    assert!(state["privacyCode"].as_str().unwrap().len() >= 30);

    let frame = opus(3);
    let sent = a.encrypt(frame.clone()).expect("encrypted");
    // [ciphertext (as long as the frame)][8-byte tag][ULEB128 nonce][ULEB128 ranges: none for
    // Opus][u8 supplemental size][0xFA 0xFA]
    let n = sent.len();
    assert_eq!(&sent[n - 2..], &[0xFA, 0xFA]);
    let supplemental = usize::from(sent[n - 3]);
    assert_eq!(n - supplemental, frame.len(), "Opus is encrypted whole");
    let (nonce, nonce_len) = uleb(&sent, frame.len() + 8);
    assert_eq!(
        nonce, 1,
        "the first frame of a key carries nonce 1 (davey counts from 1)"
    );
    assert_eq!(supplemental, 8 + nonce_len + 1 + 2, "no unencrypted ranges");
    assert_ne!(&sent[..frame.len()], &frame[..]);
    assert_eq!(b.decrypt(A, sent).as_deref(), Some(&frame[..]));

    // Later frames count their nonce up (ULEB128 grows past 127).
    let mut last = Vec::new();
    for i in 0..200u8 {
        last = a.encrypt(opus(i)).unwrap();
        assert_eq!(b.decrypt(A, last.clone()), Some(opus(i)));
    }
    let m = last.len();
    let (nonce, len) = uleb(&last, m - usize::from(last[m - 3]) + 8);
    assert_eq!((nonce, len), (201, 2));

    // The Opus silence frame passes in the clear both ways.
    assert_eq!(a.encrypt(SILENCE.to_vec()), Some(SILENCE.to_vec()));
    assert_eq!(b.decrypt(A, SILENCE.to_vec()), Some(SILENCE.to_vec()));
    let counts = b.counts();
    assert_eq!((counts.decrypted, counts.decrypt_failed), (201, 0));
    assert_eq!(a.counts().encrypted, 201);
}

#[test]
fn early_and_undecryptable_frames_are_dropped_and_counted_without_op_31() {
    let now = Instant::now();
    let sim = sim();
    let (mut a, mut b) = establish(&sim, now);
    // A member whose call is DAVE but who has no keys yet: frames are early, and its own
    // frames are never sent in the clear.
    let (mut c, _) = member(C, &[A, B], &sim.es, now);
    let sent = a.encrypt(opus(1)).unwrap();
    assert_eq!(c.decrypt(A, sent), None);
    assert_eq!(c.counts().early_dropped, 1);
    assert_eq!(c.encrypt(opus(2)), None);
    assert_eq!(c.counts().outbound_dropped, 1);
    // Before any session at all (op 4 not seen yet), a DAVE frame is early too.
    let mut fresh = DaveController::new(C, CHANNEL);
    assert_eq!(fresh.decrypt(A, a.encrypt(opus(3)).unwrap()), None);
    assert_eq!(fresh.counts().early_dropped, 1);

    // Tampered frames and frames under another key fail and are counted; nothing is sent.
    let mut tampered = a.encrypt(opus(4)).unwrap();
    tampered[2] ^= 0x40;
    assert_eq!(b.decrypt(A, tampered), None);
    let stranger_sim = sim_with_other_key();
    let (mut x, _) = establish(&stranger_sim, now);
    let foreign = x.encrypt(opus(5)).unwrap();
    for _ in 0..50 {
        assert_eq!(b.decrypt(A, foreign.clone()), None);
    }
    assert_eq!(b.counts().decrypt_failed, 51);
    assert!(
        b.poll(now + Duration::from_secs(60)).is_empty(),
        "no op 31 for media failures"
    );
    // and b still hears a afterwards
    assert_eq!(b.decrypt(A, a.encrypt(opus(6)).unwrap()), Some(opus(6)));
    let _ = &mut x;
}

fn sim_with_other_key() -> Sim {
    sim() // a new external sender: another signing key, another group secret
}

#[test]
fn the_keys_follow_a_join_and_a_leave() {
    let now = Instant::now();
    let sim = sim();
    let (mut a, mut b) = establish(&sim, now);
    let before = a.encrypt(opus(9)).unwrap(); // under the epoch-1 key

    // c joins: the server proposes its add at epoch 1; b's commit wins; a and b take the
    // commit, c the welcome (transition 2).
    let (mut c, kp_c) = member(C, &[A, B], &sim.es, now);
    a.on_clients_connect(&[C]);
    b.on_clients_connect(&[C]);
    let add = sim.sim.proposals(CHANNEL, 1, &[kp_c], &[]).unwrap();
    let _losing = binary(&a.on_binary(27, &add.payload, now), 28);
    let commit_b = split_commit_welcome(&binary(&b.on_binary(27, &add.payload, now), 28)).unwrap();
    for d in [&mut a, &mut b] {
        let out = d.on_binary(29, &with_tid(2, &commit_b.commit), now);
        assert_eq!(json_ops(&out)[0]["d"]["transition_id"], 2);
    }
    c.on_binary(30, &with_tid(2, &commit_b.welcome.unwrap()), now);
    for d in [&mut a, &mut b, &mut c] {
        d.on_json(22, &json!({"transition_id": 2}), now);
        assert_eq!(d.state()["epoch"], 2);
    }
    // A frame sent under the previous key still decrypts inside the transition window.
    assert_eq!(b.decrypt(A, before), Some(opus(9)));
    for (from, id) in [(&mut a, A), (&mut c, C)] {
        let f = from.encrypt(opus(id as u8)).unwrap();
        assert_eq!(b.decrypt(id, f), Some(opus(id as u8)));
    }
    let from_b = b.encrypt(opus(11)).unwrap();
    assert_eq!(c.decrypt(B, from_b.clone()), Some(opus(11)));
    assert_eq!(a.decrypt(B, from_b), Some(opus(11)));

    // b leaves (leaf 1): a and c commit its removal (transition 3) and keep hearing each other.
    a.on_client_disconnect(B);
    c.on_client_disconnect(B);
    let remove = sim.sim.proposals(CHANNEL, 2, &[], &[1]).unwrap();
    let commit = split_commit_welcome(&binary(&a.on_binary(27, &remove.payload, now), 28)).unwrap();
    assert!(commit.welcome.is_none());
    let _ = c.on_binary(27, &remove.payload, now);
    for d in [&mut a, &mut c] {
        d.on_binary(29, &with_tid(3, &commit.commit), now);
        d.on_json(22, &json!({"transition_id": 3}), now);
        assert_eq!(d.state()["epoch"], 3);
    }
    let f = a.encrypt(opus(20)).unwrap();
    assert_eq!(c.decrypt(A, f.clone()), Some(opus(20)));
    // b, removed, cannot read the new key's frames.
    assert_eq!(b.decrypt(A, f), None);
}

#[test]
fn a_downgrade_to_protocol_0_and_the_upgrade_back() {
    let now = Instant::now();
    let sim = sim();
    let (mut a, mut b) = establish(&sim, now);

    // Downgrade prepared (op 21, id 4): op 23 back; op 22 never comes, it executes by itself
    // 3 s later.
    let out = a.on_json(21, &json!({"transition_id": 4, "protocol_version": 0}), now);
    assert_eq!(
        json_ops(&out),
        vec![json!({"op": 23, "d": {"transition_id": 4}})]
    );
    b.on_json(21, &json!({"transition_id": 4, "protocol_version": 0}), now);
    assert_eq!(a.next_deadline(), Some(now + DOWNGRADE_AUTO_EXECUTE));
    assert_eq!(
        a.state()["status"],
        "ready",
        "still encrypting until it executes"
    );
    assert!(a.poll(now + Duration::from_millis(2_999)).is_empty());
    assert_eq!(a.protocol_version(), 1);
    a.poll(now + DOWNGRADE_AUTO_EXECUTE);
    b.on_json(
        22,
        &json!({"transition_id": 4}),
        now + Duration::from_secs(1),
    );
    assert_eq!((a.protocol_version(), b.protocol_version()), (0, 0));
    assert_eq!(a.state()["status"], "inactive");
    // Protocol 0: frames go out as they are and are taken as they come.
    assert_eq!(a.encrypt(opus(1)), Some(opus(1)));
    assert_eq!(b.decrypt(A, opus(1)), Some(opus(1)));

    // Upgrade: a new group (op 24, epoch 1) and an execute; frames are encrypted again.
    let later = now + Duration::from_secs(5);
    let kp_a = binary(
        &a.on_json(24, &json!({"protocol_version": 1, "epoch": 1}), later),
        26,
    );
    let kp_b = binary(
        &b.on_json(24, &json!({"protocol_version": 1, "epoch": 1}), later),
        26,
    );
    a.on_binary(25, &sim.es, later);
    b.on_binary(25, &sim.es, later);
    let for_a = sim.sim.proposals(CHANNEL, 0, &[kp_b], &[]).unwrap();
    let commit =
        split_commit_welcome(&binary(&a.on_binary(27, &for_a.payload, later), 28)).unwrap();
    a.on_binary(29, &with_tid(5, &commit.commit), later);
    b.on_binary(30, &with_tid(5, &commit.welcome.unwrap()), later);
    let _ = kp_a;
    for d in [&mut a, &mut b] {
        d.on_json(22, &json!({"transition_id": 5}), later);
        assert_eq!(d.protocol_version(), 1);
    }
    let f = a.encrypt(opus(2)).unwrap();
    assert_ne!(f, opus(2));
    assert_eq!(b.decrypt(A, f), Some(opus(2)));
    // Late plaintext inside the upgrade's passthrough window is still taken.
    assert_eq!(b.decrypt(A, opus(3)), Some(opus(3)));
    assert!(b.counts().passthrough >= 1);
}

#[test]
fn transition_zero_executes_at_once_without_op_23() {
    let now = Instant::now();
    let sim = sim();
    let (mut a, _b) = establish(&sim, now);
    let out = a.on_json(21, &json!({"transition_id": 0, "protocol_version": 1}), now);
    assert!(json_ops(&out).is_empty());
    assert_eq!(a.state()["transitionId"], 0);
}

#[test]
fn the_verification_code_of_a_pair_is_the_same_on_both_sides() {
    let now = Instant::now();
    let sim = sim();
    let (a, b) = establish(&sim, now);
    let a_sees_b = clankvox::dave::verification_code_of(a.verification_fingerprints(B).unwrap());
    let b_sees_a = clankvox::dave::verification_code_of(b.verification_fingerprints(A).unwrap());
    let code = a_sees_b.unwrap();
    assert_eq!(code.len(), 45);
    assert!(code.bytes().all(|c| c.is_ascii_digit()));
    assert_eq!(Ok(code), b_sees_a);
    // Nobody else is in the group; before a session there is nothing to verify.
    let err = a.verification_fingerprints(999).unwrap_err();
    assert!(err.contains("999"), "{err}");
    let fresh = DaveController::new(A, CHANNEL);
    assert!(fresh.verification_fingerprints(B).is_err());
}
