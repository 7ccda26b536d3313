//! `dave-sim`: the sandbox voice server's DAVE external sender, one JSON request per stdin line,
//! one JSON reply per stdout line. It never exits on a bad request; end of input exits 0.

use std::io::{self, BufRead, Write};

fn main() {
    let mut service = dave_sim::service::Service::new();
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    let mut line = Vec::new();
    loop {
        line.clear();
        match stdin.read_until(b'\n', &mut line) {
            Ok(0) => return, // end of input: the voice server closed our stdin
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return, // stdin is broken: nobody is left to ask anything
        }
        let reply = match std::str::from_utf8(&line) {
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => service.handle_line(text),
            Err(_) => serde_json::json!({ "error": "the request line is not UTF-8" }).to_string(),
        };
        if writeln!(stdout, "{reply}")
            .and_then(|()| stdout.flush())
            .is_err()
        {
            return; // the voice server went away
        }
    }
}
