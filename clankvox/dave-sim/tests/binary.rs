//! The `dave-sim` binary itself: JSON lines in and out, bad requests answered, EOF exits 0.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use serde_json::Value;

#[test]
fn the_binary_answers_every_line_and_exits_on_eof() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dave-sim"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut ask = |line: &[u8]| -> Value {
        stdin.write_all(line).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
        let mut reply = String::new();
        stdout.read_line(&mut reply).unwrap();
        serde_json::from_str(&reply).unwrap()
    };

    let first = ask(br#"{"op":"new_group","group":"1234"}"#);
    let package = first["ok"]["external_sender"].as_str().unwrap().to_owned();
    let again = ask(br#"{"op":"new_group","group":1234}"#);
    assert_eq!(again["ok"]["external_sender"], package.as_str());

    for (request, needle) in [
        (&b"not json"[..], "not JSON"),
        (b"[1]", "JSON object"),
        (br#"{"op":"fly"}"#, "unknown op"),
        (br#"{"op":"new_group","group":"-1"}"#, "decimal u64"),
        (
            br#"{"op":"proposals","group":"99","epoch":0,"remove":[0]}"#,
            "new_group",
        ),
        (
            br#"{"op":"proposals","group":"1234","epoch":0,"add":["%%%"]}"#,
            "base64",
        ),
        (
            br#"{"op":"proposals","group":"1234","epoch":0,"remove":[-1]}"#,
            "leaf",
        ),
        (br#"{"op":"inspect_commit","commit":"AAEAAQ=="}"#, "commit"),
        (br#"{"op":"split_commit_welcome"}"#, "\"payload\""),
        (
            br#"{"op":"key_package_user","key_package":"AAAA"}"#,
            "key package",
        ),
        (br#"{"op":"revoke","refs":[]}"#, "revoke"),
        (b"\xff\xfe", "UTF-8"),
    ] {
        let reply = ask(request);
        let error = reply["error"].as_str().unwrap_or_else(|| panic!("{reply}"));
        assert!(
            error.contains(needle),
            "{error:?} should mention {needle:?}"
        );
    }

    let removal = ask(br#"{"op":"proposals","group":"1234","epoch":3,"remove":[2]}"#);
    assert_eq!(removal["ok"]["refs"].as_array().unwrap().len(), 1);
    let revoke =
        ask(format!(r#"{{"op":"revoke","refs":[{}]}}"#, removal["ok"]["refs"][0]).as_bytes());
    assert!(revoke["ok"]["payload"].is_string());

    drop(stdin);
    assert!(child.wait().unwrap().success());
}
