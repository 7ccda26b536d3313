//! The JSON-lines request protocol of the `dave-sim` binary: one request object per line in,
//! one reply object per line out (`{"ok": {...}}` or `{"error": "..."}`). Bytes travel as
//! standard base64 (with padding). See `docs/sandbox-dave.md` for the whole protocol.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use crate::{inspect_commit, protocol, split_commit_welcome, ExternalSenderSim, SimError};

/// Answers requests, keeping the external sender's per-group keys between them.
#[derive(Default)]
pub struct Service {
    sim: ExternalSenderSim,
}

impl Service {
    /// A service with no groups yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// One request line in, one reply line out (without the newline). Never panics on input.
    pub fn handle_line(&mut self, line: &str) -> String {
        let handled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.handle(line)))
            .unwrap_or_else(|_| Err(SimError("internal error: the request panicked".into())));
        let reply = match handled {
            Ok(ok) => json!({ "ok": ok }),
            Err(SimError(message)) => json!({ "error": message }),
        };
        reply.to_string()
    }

    fn handle(&mut self, line: &str) -> Result<Value, SimError> {
        let request: Value = serde_json::from_str(line)
            .map_err(|e| SimError(format!("the request is not JSON: {e}")))?;
        let Value::Object(request) = request else {
            return Err(SimError("a request is a JSON object with an \"op\"".into()));
        };
        let op = request
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| SimError("a request needs \"op\" (a string)".into()))?;
        match op {
            "new_group" => {
                let group = group_field(&request)?;
                let package = self.sim.new_group(group)?;
                Ok(json!({ "external_sender": B64.encode(package) }))
            }
            "proposals" => {
                let group = group_field(&request)?;
                let epoch = u64_field(&request, "epoch")?;
                let add = match request.get("add") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(value) => bytes_list(value, "add")?,
                };
                let remove = match request.get("remove") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) => items
                        .iter()
                        .map(|item| {
                            item.as_u64()
                                .and_then(|n| u32::try_from(n).ok())
                                .ok_or_else(|| {
                                    SimError("\"remove\" holds leaf indexes (u32)".into())
                                })
                        })
                        .collect::<Result<Vec<u32>, SimError>>()?,
                    Some(_) => return Err(SimError("\"remove\" must be a list".into())),
                };
                let proposals = self.sim.proposals(group, epoch, &add, &remove)?;
                Ok(json!({
                    "payload": B64.encode(&proposals.payload),
                    "messages": encode_list(&proposals.messages),
                    "refs": encode_list(&proposals.refs),
                }))
            }
            "revoke" => {
                let refs = bytes_list(field(&request, "refs")?, "refs")?;
                if refs.is_empty() {
                    return Err(SimError("nothing to revoke: \"refs\" is empty".into()));
                }
                let payload = protocol::encode_proposals_revoke(&refs)?;
                Ok(json!({ "payload": B64.encode(payload) }))
            }
            "split_commit_welcome" => {
                let payload = bytes_field(&request, "payload")?;
                let split = split_commit_welcome(&payload)?;
                Ok(json!({
                    "commit": B64.encode(&split.commit),
                    "welcome": split.welcome.map(|w| B64.encode(w)),
                }))
            }
            "inspect_commit" => {
                let commit = bytes_field(&request, "commit")?;
                let info = inspect_commit(&commit)?;
                Ok(json!({
                    "epoch": info.epoch,
                    "sender_leaf": info.sender_leaf,
                    "proposal_refs": encode_list(&info.proposal_refs),
                    "inline_proposals": info.inline_proposals,
                }))
            }
            "key_package_user" => {
                let key_package = bytes_field(&request, "key_package")?;
                let info = self.sim.key_package_user(&key_package)?;
                Ok(json!({
                    "user_id": info.user_id.to_string(),
                    "max_lifetime": info.max_lifetime,
                }))
            }
            other => Err(SimError(format!(
                "unknown op {other:?} (new_group, proposals, revoke, split_commit_welcome, \
                 inspect_commit, key_package_user)"
            ))),
        }
    }
}

fn field<'a>(request: &'a Map<String, Value>, name: &str) -> Result<&'a Value, SimError> {
    request
        .get(name)
        .ok_or_else(|| SimError(format!("the request needs \"{name}\"")))
}

/// The group (a channel id): a decimal string, as Discord writes snowflakes, or a JSON integer.
fn group_field(request: &Map<String, Value>) -> Result<u64, SimError> {
    match field(request, "group")? {
        Value::String(s) => s.parse::<u64>().map_err(|_| {
            SimError(format!(
                "\"group\" must be a decimal u64 (a channel id), not {s:?}"
            ))
        }),
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| SimError("\"group\" must be a u64".into())),
        _ => Err(SimError(
            "\"group\" must be a decimal string (a channel id)".into(),
        )),
    }
}

fn u64_field(request: &Map<String, Value>, name: &str) -> Result<u64, SimError> {
    field(request, name)?
        .as_u64()
        .ok_or_else(|| SimError(format!("\"{name}\" must be a non-negative integer")))
}

fn decode(value: &Value, name: &str) -> Result<Vec<u8>, SimError> {
    let text = value
        .as_str()
        .ok_or_else(|| SimError(format!("\"{name}\" must be a base64 string")))?;
    B64.decode(text)
        .map_err(|e| SimError(format!("\"{name}\" is not standard base64: {e}")))
}

fn bytes_field(request: &Map<String, Value>, name: &str) -> Result<Vec<u8>, SimError> {
    decode(field(request, name)?, name)
}

fn bytes_list(value: &Value, name: &str) -> Result<Vec<Vec<u8>>, SimError> {
    let Value::Array(items) = value else {
        return Err(SimError(format!(
            "\"{name}\" must be a list of base64 strings"
        )));
    };
    items.iter().map(|item| decode(item, name)).collect()
}

fn encode_list(items: &[Vec<u8>]) -> Vec<String> {
    items.iter().map(|item| B64.encode(item)).collect()
}
