//! davey 0.2 `DaveSession`s as DAVE clients against the sandbox's external sender: the group is
//! made, grows, shrinks, and media keys follow; proposal references and the op 27/28 encodings
//! are checked against what a real client accepts.

use std::num::NonZeroU16;

use dave_sim::protocol::{decode_proposals, encode_proposals_append, encode_proposals_revoke};
use dave_sim::{inspect_commit, split_commit_welcome, ExternalSenderSim, OPERATION_APPEND};
use davey::{DaveSession, MediaType, ProposalsOperationType};

const CHANNEL: u64 = 1_122_334_455_667_788_990;
const USER_A: u64 = 1_234_123_412_341_234;
const USER_B: u64 = 5_678_567_856_785_678;
const USER_C: u64 = 9_012_901_290_129_012;
const V1: NonZeroU16 = NonZeroU16::new(1).unwrap();

struct Member {
    session: DaveSession,
}

impl Member {
    fn join(user_id: u64, external_sender: &[u8]) -> Self {
        let mut session = DaveSession::new(V1, user_id, CHANNEL, None).unwrap();
        session.set_external_sender(external_sender).unwrap();
        Self { session }
    }

    fn user(&self) -> u64 {
        self.session.user_id()
    }

    /// Feed an op 27 body (as the server sends it, minus the sequence number and opcode) and
    /// return the op 28 body the client would send back, if any.
    fn proposals(&mut self, body: &[u8], roster: &[u64]) -> Option<Vec<u8>> {
        let operation = match body[0] {
            0 => ProposalsOperationType::APPEND,
            _ => ProposalsOperationType::REVOKE,
        };
        let reply = self
            .session
            .process_proposals(operation, &body[1..], Some(roster))
            .unwrap()?;
        let mut op28 = reply.commit;
        if let Some(welcome) = reply.welcome {
            op28.extend(welcome);
        }
        Some(op28)
    }

    fn transition(&mut self, transition_id: u16) {
        self.session.prepare_transition(transition_id, 1).unwrap();
        assert!(self.session.execute_transition(transition_id).unwrap());
    }

    fn users(&self) -> Vec<u64> {
        let mut users = self.session.get_user_ids().unwrap();
        users.sort_unstable();
        users
    }
}

/// A frame from `from` decrypts at `to` to exactly what was sent.
fn assert_hears(from: &mut Member, to: &mut Member, frame: &[u8]) {
    let encrypted = from.session.encrypt_opus(frame).unwrap().into_owned();
    assert_ne!(encrypted, frame, "the frame was not encrypted");
    let decrypted = to
        .session
        .decrypt(from.user(), MediaType::AUDIO, &encrypted)
        .unwrap();
    assert_eq!(decrypted, frame);
}

fn opus_frame(seed: u8) -> Vec<u8> {
    // A TOC byte (SILK WB 20 ms, one frame) and a made-up payload: DAVE does not care.
    let mut frame = vec![0x78];
    frame.extend((0..40u8).map(|i| i.wrapping_mul(seed).wrapping_add(seed)));
    frame
}

/// Two pending members each get the other's add proposal; `a`'s commit wins the first epoch.
fn establish(sim: &ExternalSenderSim, a: &mut Member, b: &mut Member) {
    let kp_a = a.session.create_key_package().unwrap();
    let kp_b = b.session.create_key_package().unwrap();
    let for_a = sim.proposals(CHANNEL, 0, &[kp_b], &[]).unwrap();
    let for_b = sim.proposals(CHANNEL, 0, &[kp_a], &[]).unwrap();
    let roster = [a.user(), b.user()];
    let op28_a = a.proposals(&for_a.payload, &roster).expect("a commits");
    let _losing = b.proposals(&for_b.payload, &roster).expect("b commits too");

    let split = split_commit_welcome(&op28_a).unwrap();
    let info = inspect_commit(&split.commit).unwrap();
    assert_eq!(info.epoch, 0);
    assert_eq!(info.sender_leaf, 0, "a group creator is leaf 0");
    assert_eq!(info.proposal_refs, for_a.refs);
    assert_eq!(info.inline_proposals, 0);

    assert!(a.session.process_commit(&split.commit).unwrap());
    b.session
        .process_welcome(&split.welcome.expect("an add has a welcome"), Some(&roster))
        .unwrap();
    a.transition(1);
    b.transition(1);
}

#[test]
fn two_members_join_via_proposals_commit_and_welcome() {
    let mut sim = ExternalSenderSim::new();
    let external_sender = sim.new_group(CHANNEL).unwrap();
    let mut a = Member::join(USER_A, &external_sender);
    let mut b = Member::join(USER_B, &external_sender);
    establish(&sim, &mut a, &mut b);

    assert!(a.session.is_ready() && b.session.is_ready());
    assert_eq!(a.users(), vec![USER_A, USER_B]);
    assert_eq!(b.users(), vec![USER_A, USER_B]);
    assert_eq!(
        a.session.get_epoch_authenticator().unwrap().as_slice(),
        b.session.get_epoch_authenticator().unwrap().as_slice()
    );
    for seed in 1..5 {
        assert_hears(&mut a, &mut b, &opus_frame(seed));
        assert_hears(&mut b, &mut a, &opus_frame(seed + 10));
    }
}

#[test]
fn a_third_member_is_added_and_then_one_removed() {
    let mut sim = ExternalSenderSim::new();
    let external_sender = sim.new_group(CHANNEL).unwrap();
    let mut a = Member::join(USER_A, &external_sender);
    let mut b = Member::join(USER_B, &external_sender);
    let mut c = Member::join(USER_C, &external_sender);
    establish(&sim, &mut a, &mut b);

    // c joins the established group (epoch 1): both members commit, b's commit arrives first.
    let kp_c = c.session.create_key_package().unwrap();
    let add_c = sim.proposals(CHANNEL, 1, &[kp_c], &[]).unwrap();
    let roster = [USER_A, USER_B, USER_C];
    let _losing = a.proposals(&add_c.payload, &roster).unwrap();
    let op28_b = b.proposals(&add_c.payload, &roster).unwrap();
    let split = split_commit_welcome(&op28_b).unwrap();
    let info = inspect_commit(&split.commit).unwrap();
    assert_eq!((info.epoch, info.sender_leaf), (1, 1));
    assert_eq!(info.proposal_refs, add_c.refs);
    assert!(a.session.process_commit(&split.commit).unwrap());
    assert!(b.session.process_commit(&split.commit).unwrap());
    c.session
        .process_welcome(&split.welcome.unwrap(), Some(&roster))
        .unwrap();
    for member in [&mut a, &mut b, &mut c] {
        member.transition(2);
        assert_eq!(member.users(), vec![USER_A, USER_B, USER_C]);
        assert_eq!(member.session.own_leaf_index().unwrap().u32(), {
            match member.user() {
                USER_A => 0,
                USER_B => 1,
                _ => 2, // the add fills the next leaf
            }
        });
    }
    assert_hears(&mut c, &mut a, &opus_frame(3));
    assert_hears(&mut a, &mut c, &opus_frame(4));
    assert_hears(&mut b, &mut c, &opus_frame(5));

    // b (leaf 1) leaves: a and c commit its removal; a's commit wins.
    let remove_b = sim.proposals(CHANNEL, 2, &[], &[1]).unwrap();
    let roster = [USER_A, USER_C];
    let op28_a = a.proposals(&remove_b.payload, &roster).unwrap();
    let _losing = c.proposals(&remove_b.payload, &roster).unwrap();
    let split = split_commit_welcome(&op28_a).unwrap();
    assert_eq!(split.welcome, None, "a removal welcomes nobody");
    let info = inspect_commit(&split.commit).unwrap();
    assert_eq!((info.epoch, info.sender_leaf), (2, 0));
    assert!(a.session.process_commit(&split.commit).unwrap());
    assert!(c.session.process_commit(&split.commit).unwrap());
    a.transition(3);
    c.transition(3);
    assert_eq!(a.users(), vec![USER_A, USER_C]);
    assert_eq!(c.session.own_leaf_index().unwrap().u32(), 2);
    assert_hears(&mut a, &mut c, &opus_frame(6));
    assert_hears(&mut c, &mut a, &opus_frame(7));

    // b no longer has the key a sends with.
    let frame = a.session.encrypt_opus(&opus_frame(8)).unwrap().into_owned();
    assert!(b.session.decrypt(USER_A, MediaType::AUDIO, &frame).is_err());

    // A new member re-uses the blank leaf 1 (MLS adds fill the leftmost blank leaf).
    let mut b2 = Member::join(USER_B, &external_sender);
    let kp = b2.session.create_key_package().unwrap();
    let add = sim.proposals(CHANNEL, 3, &[kp], &[]).unwrap();
    let roster = [USER_A, USER_B, USER_C];
    let op28_c = c.proposals(&add.payload, &roster).unwrap();
    let _losing = a.proposals(&add.payload, &roster).unwrap();
    let split = split_commit_welcome(&op28_c).unwrap();
    assert_eq!(inspect_commit(&split.commit).unwrap().sender_leaf, 2);
    assert!(a.session.process_commit(&split.commit).unwrap());
    assert!(c.session.process_commit(&split.commit).unwrap());
    b2.session
        .process_welcome(&split.welcome.unwrap(), Some(&roster))
        .unwrap();
    assert_eq!(b2.session.own_leaf_index().unwrap().u32(), 1);
}

#[test]
fn removes_come_before_adds_in_one_payload() {
    let mut sim = ExternalSenderSim::new();
    let external_sender = sim.new_group(CHANNEL).unwrap();
    let mut a = Member::join(USER_A, &external_sender);
    let mut b = Member::join(USER_B, &external_sender);
    let mut c = Member::join(USER_C, &external_sender);
    establish(&sim, &mut a, &mut b);

    // b's stale self goes and c comes in one batch.
    let kp_c = c.session.create_key_package().unwrap();
    let batch = sim.proposals(CHANNEL, 1, &[kp_c], &[1]).unwrap();
    assert_eq!(batch.refs.len(), 2);
    assert_eq!(batch.messages.len(), 2);
    assert_eq!(
        encode_proposals_append(&batch.messages).unwrap(),
        batch.payload
    );
    let roster = [USER_A, USER_C];
    let op28 = a.proposals(&batch.payload, &roster).unwrap();
    let split = split_commit_welcome(&op28).unwrap();
    let info = inspect_commit(&split.commit).unwrap();
    let mut listed = info.proposal_refs.clone();
    let mut sent = batch.refs.clone();
    listed.sort();
    sent.sort();
    assert_eq!(listed, sent);
    assert!(a.session.process_commit(&split.commit).unwrap());
    c.session
        .process_welcome(&split.welcome.unwrap(), Some(&roster))
        .unwrap();
    assert_eq!(a.users(), vec![USER_A, USER_C]);
    // Removes apply before adds: c takes the leaf b left.
    assert_eq!(c.session.own_leaf_index().unwrap().u32(), 1);
}

#[test]
fn revoking_by_reference_cancels_the_proposal() {
    let mut sim = ExternalSenderSim::new();
    let external_sender = sim.new_group(CHANNEL).unwrap();
    let mut a = Member::join(USER_A, &external_sender);
    let mut b = Member::join(USER_B, &external_sender);
    establish(&sim, &mut a, &mut b);

    let mut c = Member::join(USER_C, &external_sender);
    let kp_c = c.session.create_key_package().unwrap();
    let add_c = sim.proposals(CHANNEL, 1, &[kp_c], &[]).unwrap();
    assert!(a
        .proposals(&add_c.payload, &[USER_A, USER_B, USER_C])
        .is_some());
    // The reference must be the one the client computed, or davey refuses to remove it.
    let revoke = encode_proposals_revoke(&add_c.refs).unwrap();
    assert_eq!(a.proposals(&revoke, &[USER_A, USER_B]), None);
    // A wrong reference is refused.
    let bogus = encode_proposals_revoke(&[vec![0u8; 32]]).unwrap();
    assert!(a
        .session
        .process_proposals(ProposalsOperationType::REVOKE, &bogus[1..], None)
        .is_err());
}

#[test]
fn encodings_round_trip() {
    let mut sim = ExternalSenderSim::new();
    let external_sender = sim.new_group(CHANNEL).unwrap();
    assert_eq!(
        sim.new_group(CHANNEL).unwrap(),
        external_sender,
        "one key per group"
    );
    assert_ne!(sim.new_group(CHANNEL + 1).unwrap(), external_sender);

    let mut b = Member::join(USER_B, &external_sender);
    let kp_b = b.session.create_key_package().unwrap();
    let info = sim.key_package_user(&kp_b).unwrap();
    assert_eq!(info.user_id, USER_B);
    assert!(info.max_lifetime);

    let proposals = sim
        .proposals(CHANNEL, 0, std::slice::from_ref(&kp_b), &[])
        .unwrap();
    let (operation, content) = decode_proposals(&proposals.payload).unwrap();
    assert_eq!(operation, OPERATION_APPEND);
    assert_eq!(content, proposals.messages.concat().as_slice());
    assert_eq!(proposals.refs.len(), 1);
    assert_eq!(proposals.refs[0].len(), 32, "a SHA-256 reference");

    // A commit without a welcome splits into itself.
    let mut a = Member::join(USER_A, &external_sender);
    let mut a_session_commit = a.proposals(&proposals.payload, &[USER_A, USER_B]).unwrap();
    let split = split_commit_welcome(&a_session_commit).unwrap();
    let welcome = split.welcome.clone().unwrap();
    assert_eq!([split.commit.clone(), welcome].concat(), a_session_commit);
    assert_eq!(split_commit_welcome(&split.commit).unwrap().welcome, None);
    // Trailing junk after the commit is not a welcome.
    a_session_commit.truncate(split.commit.len() + 5);
    assert!(split_commit_welcome(&a_session_commit).is_err());
    assert!(inspect_commit(&[0, 1, 0, 1]).is_err());
    assert!(
        inspect_commit(&proposals.messages[0]).is_err(),
        "a proposal is not a commit"
    );
}

#[test]
fn bad_inputs_are_clear_errors() {
    let mut sim = ExternalSenderSim::new();
    assert!(sim
        .proposals(CHANNEL, 0, &[], &[1])
        .unwrap_err()
        .0
        .contains("new_group"));
    sim.new_group(CHANNEL).unwrap();
    assert!(sim.proposals(CHANNEL, 0, &[], &[]).is_err());
    let error = sim
        .proposals(CHANNEL, 0, &[vec![1, 2, 3]], &[])
        .unwrap_err();
    assert!(error.0.starts_with("add[0]: "), "{error}");
    assert!(sim.key_package_user(b"nope").is_err());
}
