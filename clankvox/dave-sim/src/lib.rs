//! The sandbox voice server's side of DAVE's MLS: the *external sender* that proposes adds and
//! removes, and the few reads a delivery service needs (split a client's commit from its welcome,
//! a commit's epoch, sender and proposal references, the user behind a key package).
//!
//! The voice server itself is Python; it runs the `dave-sim` binary (see `main.rs`) and talks to
//! it in JSON lines. Everything here is also a library so the crate's tests can drive real DAVE
//! clients (davey `DaveSession`s) against it.
//!
//! Wire formats follow Discord's DAVE protocol text (`protocol.md`, v1.1.2):
//!
//! * op 25 EXTERNAL_SENDER payload: a TLS-serialised MLS `ExternalSender` (signature public key,
//!   basic credential);
//! * op 27 PROPOSALS payload: `u8 operation (0 append, 1 revoke)`, then one MLS variable-length
//!   vector holding either the concatenated `MLSMessage` proposals or the concatenated
//!   `ProposalRef`s;
//! * op 28 COMMIT_WELCOME payload: an `MLSMessage` commit, optionally followed by a bare `Welcome`.
//!
//! The MLS group id is the voice channel id as 8 big-endian bytes; the ciphersuite is 2
//! (`MLS_128_DHKEMP256_AES128GCM_SHA256_P256`), DAVE protocol version 1's.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fmt;

use openmls::ciphersuite::hash_ref::make_proposal_ref;
use openmls::prelude::tls_codec::{DeserializeBytes as _, Serialize as _};
use openmls::prelude::*;
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;

pub mod protocol;
pub mod service;

/// DAVE protocol version 1's MLS ciphersuite.
pub const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMP256_AES128GCM_SHA256_P256;

/// The basic credential identity of the sandbox's external sender (any bytes will do: clients
/// only check that the group's external sender equals the op 25 package they were sent).
pub const EXTERNAL_SENDER_IDENTITY: &[u8] = b"clanker sandbox voice gateway";

/// op 27 operation type: append proposals.
pub const OPERATION_APPEND: u8 = 0;
/// op 27 operation type: revoke proposals by reference.
pub const OPERATION_REVOKE: u8 = 1;

/// MLS wire format of a `PublicMessage` (RFC 9420 §6).
const WIRE_FORMAT_PUBLIC_MESSAGE: u16 = 1;

/// Any failure, with a message meant for a person reading the sandbox's logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimError(pub String);

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SimError {}

fn fail<T>(message: impl Into<String>) -> Result<T, SimError> {
    Err(SimError(message.into()))
}

/// Run a parse of untrusted bytes, turning a panic into an error: tls_codec 0.4 has
/// `debug_assert!`s on truncated vectors, so in debug builds malformed input panics instead of
/// failing.
fn guarded<T>(what: &str, parse: impl FnOnce() -> Result<T, SimError>) -> Result<T, SimError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(parse))
        .unwrap_or_else(|_| fail(format!("{what}: malformed (truncated) MLS encoding")))
}

/// An op 27 payload and the reference of each proposal in it (in the payload's order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposals {
    /// The op 27 body: operation byte, then the vector of proposal messages.
    pub payload: Vec<u8>,
    /// Each proposal `MLSMessage` on its own (to make other op 27 bodies from, e.g. one per
    /// recipient while a group is being created).
    pub messages: Vec<Vec<u8>>,
    /// Each proposal's `ProposalRef` hash value (RFC 9420 §5.2), as a commit references it.
    pub refs: Vec<Vec<u8>>,
}

/// A client's op 28 payload, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitWelcome {
    /// The `MLSMessage` carrying the commit (what op 29 announces).
    pub commit: Vec<u8>,
    /// The bare `Welcome` (what op 30 delivers), present when the commit adds members.
    pub welcome: Option<Vec<u8>>,
}

/// What the delivery service reads from a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The epoch the commit was made in (the group moves to `epoch + 1` with it).
    pub epoch: u64,
    /// The committer's leaf index in that epoch's tree.
    pub sender_leaf: u32,
    /// The proposal references the commit lists, in its order.
    pub proposal_refs: Vec<Vec<u8>>,
    /// Proposals the commit carries inline (DAVE allows none).
    pub inline_proposals: usize,
}

/// What the delivery service reads from a key package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPackageInfo {
    /// The basic credential identity read as a big-endian u64: the Discord user id.
    pub user_id: u64,
    /// Whether the lifetime spans everything (`not_before = 0`, `not_after = 2^64 - 1`), as the
    /// voice gateway requires.
    pub max_lifetime: bool,
}

struct GroupSender {
    signer: SignatureKeyPair,
    external_sender: ExternalSender,
}

/// The external sender for every voice channel: one signing key per channel, kept for the
/// value's life.
pub struct ExternalSenderSim {
    provider: OpenMlsRustCrypto,
    groups: HashMap<u64, GroupSender>,
}

impl Default for ExternalSenderSim {
    fn default() -> Self {
        Self::new()
    }
}

impl ExternalSenderSim {
    /// No groups yet.
    pub fn new() -> Self {
        Self {
            provider: OpenMlsRustCrypto::default(),
            groups: HashMap::new(),
        }
    }

    /// The op 25 payload for `group` (a channel id), making the group's signing key the first
    /// time; later calls return the same package.
    pub fn new_group(&mut self, group: u64) -> Result<Vec<u8>, SimError> {
        let sender = match self.groups.entry(group) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let signer = SignatureKeyPair::new(CIPHERSUITE.signature_algorithm())
                    .map_err(|e| SimError(format!("could not make a signing key: {e:?}")))?;
                let external_sender = ExternalSender::new(
                    signer.public().into(),
                    BasicCredential::new(EXTERNAL_SENDER_IDENTITY.to_vec()).into(),
                );
                entry.insert(GroupSender {
                    signer,
                    external_sender,
                })
            }
        };
        sender
            .external_sender
            .tls_serialize_detached()
            .map_err(|e| SimError(format!("could not serialise the external sender: {e}")))
    }

    /// An op 27 append payload for `group` at `epoch`: first a Remove proposal for each leaf in
    /// `remove` (in the given order), then an Add proposal for each key package in `add` (in the
    /// given order). Each key package's signature is verified first.
    pub fn proposals(
        &self,
        group: u64,
        epoch: u64,
        add: &[Vec<u8>],
        remove: &[u32],
    ) -> Result<Proposals, SimError> {
        let Some(sender) = self.groups.get(&group) else {
            return fail(format!(
                "no group {group}: ask new_group first (it makes the external sender)"
            ));
        };
        if add.is_empty() && remove.is_empty() {
            return fail("nothing to propose: give at least one add or remove");
        }
        let group_id = GroupId::from_slice(&group.to_be_bytes());
        let mut messages = Vec::new();
        for &leaf in remove {
            let message = ExternalProposal::new_remove::<OpenMlsRustCrypto>(
                LeafNodeIndex::new(leaf),
                group_id.clone(),
                GroupEpoch::from(epoch),
                &sender.signer,
                SenderExtensionIndex::new(0),
            )
            .map_err(|e| SimError(format!("could not make a remove proposal: {e}")))?;
            messages.push(serialise(&message)?);
        }
        for (i, key_package) in add.iter().enumerate() {
            let key_package = self
                .validated_key_package(key_package)
                .map_err(|e| SimError(format!("add[{i}]: {e}")))?;
            let message = ExternalProposal::new_add::<OpenMlsRustCrypto>(
                key_package,
                group_id.clone(),
                GroupEpoch::from(epoch),
                &sender.signer,
                SenderExtensionIndex::new(0),
            )
            .map_err(|e| SimError(format!("could not make an add proposal: {e}")))?;
            messages.push(serialise(&message)?);
        }
        let mut refs = Vec::with_capacity(messages.len());
        for message in &messages {
            refs.push(self.proposal_ref(message)?);
        }
        let payload = protocol::encode_proposals_append(&messages)?;
        Ok(Proposals {
            payload,
            messages,
            refs,
        })
    }

    /// The user behind an op 26 key package (after checking its signature).
    pub fn key_package_user(&self, key_package: &[u8]) -> Result<KeyPackageInfo, SimError> {
        let key_package = self.validated_key_package(key_package)?;
        let identity = key_package.leaf_node().credential().serialized_content();
        let Ok(bytes) = <[u8; 8]>::try_from(identity) else {
            return fail(format!(
                "the key package's credential identity is {} bytes, not an 8-byte user id",
                identity.len()
            ));
        };
        let lifetime = key_package.life_time();
        Ok(KeyPackageInfo {
            user_id: u64::from_be_bytes(bytes),
            max_lifetime: lifetime.not_before() == 0 && lifetime.not_after() == u64::MAX,
        })
    }

    /// The `ProposalRef` of a serialised external proposal `MLSMessage`: RFC 9420's
    /// `RefHash("MLS 1.0 Proposal Reference", AuthenticatedContent)`. For a PublicMessage from
    /// an external sender (no membership tag) the AuthenticatedContent is exactly the message
    /// without its leading 2-byte protocol version.
    fn proposal_ref(&self, message: &[u8]) -> Result<Vec<u8>, SimError> {
        if message.len() < 4 || u16::from_be_bytes([message[2], message[3]]) != 1 {
            return fail("internal: a proposal message is not a PublicMessage");
        }
        let reference = make_proposal_ref(&message[2..], CIPHERSUITE, self.provider.crypto())
            .map_err(|e| SimError(format!("could not hash a proposal reference: {e:?}")))?;
        Ok(reference.as_slice().to_vec())
    }

    fn validated_key_package(&self, bytes: &[u8]) -> Result<KeyPackage, SimError> {
        guarded("the key package", || {
            self.validated_key_package_unguarded(bytes)
        })
    }

    fn validated_key_package_unguarded(&self, bytes: &[u8]) -> Result<KeyPackage, SimError> {
        let key_package_in = match KeyPackageIn::tls_deserialize_exact_bytes(bytes) {
            Ok(kp) => kp,
            // protocol.md calls op 26's payload an MLSMessage; libdave and davey send the bare
            // KeyPackage. Accept both.
            Err(bare_error) => match MlsMessageIn::tls_deserialize_exact_bytes(bytes) {
                Ok(message) => match message.extract() {
                    MlsMessageBodyIn::KeyPackage(kp) => kp,
                    _ => return fail("the MLSMessage is not a key package"),
                },
                Err(_) => return fail(format!("not a key package: {bare_error}")),
            },
        };
        let key_package = key_package_in
            .validate(self.provider.crypto(), ProtocolVersion::Mls10)
            .map_err(|e| SimError(format!("invalid key package: {e}")))?;
        if key_package.ciphersuite() != CIPHERSUITE {
            return fail(format!(
                "key package ciphersuite {:?}, DAVE v1 needs {:?}",
                key_package.ciphersuite(),
                CIPHERSUITE
            ));
        }
        Ok(key_package)
    }
}

fn serialise(message: &MlsMessageOut) -> Result<Vec<u8>, SimError> {
    message
        .tls_serialize_detached()
        .map_err(|e| SimError(format!("could not serialise a proposal: {e}")))
}

/// Split a client's op 28 payload (without its opcode byte) into the commit `MLSMessage` and the
/// optional `Welcome` after it. The welcome's bytes are passed on as they are, after checking
/// they parse as one Welcome.
pub fn split_commit_welcome(payload: &[u8]) -> Result<CommitWelcome, SimError> {
    guarded("the commit/welcome", || {
        split_commit_welcome_unguarded(payload)
    })
}

fn split_commit_welcome_unguarded(payload: &[u8]) -> Result<CommitWelcome, SimError> {
    let (message, rest) = MlsMessageIn::tls_deserialize_bytes(payload)
        .map_err(|e| SimError(format!("the commit is not an MLSMessage: {e}")))?;
    let commit_len = payload.len() - rest.len();
    if !matches!(message.extract(), MlsMessageBodyIn::PublicMessage(_)) {
        return fail("the commit is not a PublicMessage");
    }
    let welcome = if rest.is_empty() {
        None
    } else {
        Welcome::tls_deserialize_exact_bytes(rest)
            .map_err(|e| SimError(format!("the bytes after the commit are not a Welcome: {e}")))?;
        Some(rest.to_vec())
    };
    Ok(CommitWelcome {
        commit: payload[..commit_len].to_vec(),
        welcome,
    })
}

/// Read a commit `MLSMessage` (as op 29 carries it): its epoch, the committer's leaf and the
/// proposals it references.
pub fn inspect_commit(commit: &[u8]) -> Result<CommitInfo, SimError> {
    guarded("the commit", || inspect_commit_unguarded(commit))
}

fn inspect_commit_unguarded(commit: &[u8]) -> Result<CommitInfo, SimError> {
    let message = MlsMessageIn::tls_deserialize_exact_bytes(commit)
        .map_err(|e| SimError(format!("the commit is not one MLSMessage: {e}")))?;
    let MlsMessageBodyIn::PublicMessage(public) = message.extract() else {
        return fail("the commit is not a PublicMessage");
    };
    if public.content_type() != ContentType::Commit {
        return fail(format!(
            "the message is a {:?}, not a commit",
            public.content_type()
        ));
    }
    let Sender::Member(leaf) = public.sender() else {
        return fail(format!(
            "the commit's sender is {:?}, not a member",
            public.sender()
        ));
    };
    let epoch = public.epoch().as_u64();
    let sender_leaf = leaf.u32();
    // openmls keeps a PublicMessage's content private: walk the FramedContent by hand to the
    // Commit's proposal list (RFC 9420 §6: version, wire_format, group_id<V>, epoch, sender,
    // authenticated_data<V>, content_type, then Commit { ProposalOrRef proposals<V>; ... }).
    let mut rest = commit;
    let version = take_u16(&mut rest)?;
    let wire_format = take_u16(&mut rest)?;
    if version != 1 || wire_format != WIRE_FORMAT_PUBLIC_MESSAGE {
        return fail("internal: the commit's header changed under us");
    }
    take_vl(&mut rest)?; // group_id
    take(&mut rest, 8)?; // epoch
    match take(&mut rest, 1)?[0] {
        1 | 2 => {
            take(&mut rest, 4)?;
        }
        _ => return fail("internal: unexpected sender type"),
    }
    take_vl(&mut rest)?; // authenticated_data
    take(&mut rest, 1)?; // content_type (commit, checked above)
    let mut proposals = take_vl(&mut rest)?;
    let mut proposal_refs = Vec::new();
    let mut inline_proposals = 0;
    while !proposals.is_empty() {
        let (item, leftover) = ProposalOrRefIn::tls_deserialize_bytes(proposals)
            .map_err(|e| SimError(format!("the commit's proposal list does not parse: {e}")))?;
        proposals = leftover;
        match item {
            ProposalOrRefIn::Reference(reference) => {
                proposal_refs.push(reference.as_slice().to_vec())
            }
            ProposalOrRefIn::Proposal(_) => inline_proposals += 1,
        }
    }
    Ok(CommitInfo {
        epoch,
        sender_leaf,
        proposal_refs,
        inline_proposals,
    })
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> Result<&'a [u8], SimError> {
    if rest.len() < n {
        return fail("the commit is truncated");
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Ok(head)
}

fn take_u16(rest: &mut &[u8]) -> Result<u16, SimError> {
    let bytes = take(rest, 2)?;
    Ok(u16::from_be_bytes([bytes[0], bytes[1]]))
}

/// One MLS variable-length vector's content (RFC 9420 §2.1.2).
fn take_vl<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], SimError> {
    let (len, header) = protocol::read_varint(rest)?;
    take(rest, header)?;
    take(rest, len)
}
