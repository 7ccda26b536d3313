//! The voice UDP socket's non-RTP datagrams: IP discovery and keepalives
//! (docs/clankvox-protocol.md §9.3), plus the async discovery exchange.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::UdpSocket;

/// Length of an IP discovery request or response.
pub const DISCOVERY_LEN: usize = 74;
/// Attempts and spacing of discovery requests.
pub const DISCOVERY_ATTEMPTS: u32 = 5;
pub const DISCOVERY_RETRY: Duration = Duration::from_secs(1);
/// Keepalive period.
pub const KEEPALIVE_PERIOD: Duration = Duration::from_secs(5);

/// The 74-byte discovery request for `ssrc`.
pub fn discovery_request(ssrc: u32) -> [u8; DISCOVERY_LEN] {
    let mut p = [0u8; DISCOVERY_LEN];
    p[0..2].copy_from_slice(&1u16.to_be_bytes());
    p[2..4].copy_from_slice(&70u16.to_be_bytes());
    p[4..8].copy_from_slice(&ssrc.to_be_bytes());
    p
}

/// Parse a discovery response: our external address and port.
pub fn parse_discovery_response(p: &[u8]) -> Option<(String, u16)> {
    if p.len() < DISCOVERY_LEN || p[0..2] != [0, 2] {
        return None;
    }
    let raw = &p[8..72];
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let addr = std::str::from_utf8(&raw[..end]).ok()?.to_string();
    if addr.is_empty() {
        return None;
    }
    Some((addr, u16::from_be_bytes([p[72], p[73]])))
}

/// The 8-byte keepalive datagram.
pub fn keepalive(counter: u32) -> [u8; 8] {
    let mut p = [0u8; 8];
    p[..4].copy_from_slice(&counter.to_be_bytes());
    p
}

/// Open a UDP socket towards `server` and run IP discovery.
pub async fn connect_and_discover(
    server: SocketAddr,
    ssrc: u32,
) -> std::io::Result<(UdpSocket, String, u16)> {
    let bind: SocketAddr = if server.is_ipv6() {
        "[::]:0".parse().expect("literal")
    } else {
        "0.0.0.0:0".parse().expect("literal")
    };
    let sock = UdpSocket::bind(bind).await?;
    sock.connect(server).await?;
    let req = discovery_request(ssrc);
    let mut buf = [0u8; 1500];
    for _ in 0..DISCOVERY_ATTEMPTS {
        sock.send(&req).await?;
        let deadline = tokio::time::Instant::now() + DISCOVERY_RETRY;
        loop {
            match tokio::time::timeout_at(deadline, sock.recv(&mut buf)).await {
                Err(_) => break, // retry
                Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => break,
                Ok(Err(e)) => return Err(e),
                Ok(Ok(n)) => {
                    if let Some((addr, port)) = parse_discovery_response(&buf[..n]) {
                        return Ok((sock, addr, port));
                    }
                }
            }
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!("no IP discovery response from {server} after {DISCOVERY_ATTEMPTS} attempts"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn golden() -> serde_json::Value {
        serde_json::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/golden/transport.json"
            ))
            .unwrap(),
        )
        .unwrap()
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn discovery_matches_golden() {
        let g = golden();
        let d = &g["ipDiscovery"];
        let ssrc = d["ssrc"].as_u64().unwrap() as u32;
        assert_eq!(
            discovery_request(ssrc).to_vec(),
            hex(d["requestHex"].as_str().unwrap())
        );
        let (addr, port) =
            parse_discovery_response(&hex(d["responseHex"].as_str().unwrap())).unwrap();
        assert_eq!(addr, d["address"].as_str().unwrap());
        assert_eq!(u64::from(port), d["port"].as_u64().unwrap());
    }

    #[test]
    fn rejects_requests_and_short_packets() {
        assert_eq!(parse_discovery_response(&discovery_request(1)), None);
        assert_eq!(parse_discovery_response(&[0, 2, 0, 70]), None);
    }

    #[test]
    fn keepalive_is_eight_bytes_big_endian() {
        assert_eq!(keepalive(0x0102_0304), [1, 2, 3, 4, 0, 0, 0, 0]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn discovers_against_a_loopback_responder() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let responder = tokio::spawn(async move {
            let mut buf = [0u8; 100];
            // drop the first request to exercise the retry
            let (_, _) = server.recv_from(&mut buf).await.unwrap();
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            assert_eq!(n, 74);
            let mut resp = [0u8; 74];
            resp[0..2].copy_from_slice(&2u16.to_be_bytes());
            resp[2..4].copy_from_slice(&70u16.to_be_bytes());
            resp[4..8].copy_from_slice(&buf[4..8]);
            let ip = from.ip().to_string();
            resp[8..8 + ip.len()].copy_from_slice(ip.as_bytes());
            resp[72..74].copy_from_slice(&from.port().to_be_bytes());
            server.send_to(&resp, from).await.unwrap();
        });
        let (sock, ip, port) = connect_and_discover(addr, 9).await.unwrap();
        assert_eq!(ip, "127.0.0.1");
        assert_eq!(port, sock.local_addr().unwrap().port());
        responder.await.unwrap();
    }
}
