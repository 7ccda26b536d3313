//! clankvox: clanker's voice media plane.
//!
//! One process per voice connection. The Python side drives it with JSON-lines commands on stdin
//! and reads length-prefixed frames from stdout (see docs/clankvox-protocol.md once it lands).
//! For now the binary only reports its version; the media plane arrives with its own issue.

mod frame;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version") {
        println!("clankvox {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    eprintln!(
        "clankvox {}: the media plane is not built yet; try --version",
        env!("CARGO_PKG_VERSION")
    );
    std::process::exit(2);
}
