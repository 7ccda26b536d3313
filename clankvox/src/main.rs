//! The clankvox binary: see the crate docs and docs/clankvox-protocol.md.

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--version") {
        println!("clankvox {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    eprintln!("clankvox {}: not wired yet", env!("CARGO_PKG_VERSION"));
    std::process::exit(2);
}
