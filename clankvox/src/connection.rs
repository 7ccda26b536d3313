//! The tokio driver of one voice connection: WebSocket + UDP around the sans-IO
//! [`GatewaySession`]. It resumes dropped sockets by itself and reports everything else to the
//! app as [`ConnEvent`]s; a connection that cannot continue ends with `Failed`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

use crate::crypto::TransportCipher;
use crate::udp::{connect_and_discover, keepalive, KEEPALIVE_PERIOD};
use crate::voice_gateway::{gateway_url, Credentials, GatewaySession, GwAction, STEP_TIMEOUT};

/// Resume attempts in a row before giving up on a session.
const MAX_RESUMES: u32 = 3;

/// Everything needed to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectParams {
    pub endpoint: String,
    pub creds: Credentials,
    pub forced_mode: Option<String>,
}

/// What the connection reports to the app.
#[derive(Debug)]
pub enum ConnEvent {
    Ready {
        ssrc: u32,
        cipher: TransportCipher,
        socket: Arc<UdpSocket>,
        dave_protocol_version: u16,
    },
    /// Op 11: these users are in the call.
    ClientsConnect {
        user_ids: Vec<u64>,
    },
    /// A DAVE message from the voice server (JSON op 21/22/24 with its `d`).
    DaveJson {
        op: u8,
        d: serde_json::Value,
    },
    /// A DAVE binary message (op 25/27/29/30 and its payload).
    DaveBinary {
        op: u8,
        payload: Vec<u8>,
    },
    Resuming {
        reason: String,
    },
    Resumed,
    MapSsrc {
        ssrc: u32,
        user_id: u64,
    },
    UserLeft {
        user_id: u64,
    },
    /// A UDP datagram from the voice server. The binary reads the socket on its media loop and
    /// hands datagrams to [`crate::app::App::on_udp_packet`]; this event is the same for a driver
    /// that reads elsewhere.
    Packet {
        data: Vec<u8>,
        at: Instant,
    },
    /// The connection is over; `was_ready` tells a runtime loss from a failed connect.
    Failed {
        reason: String,
        was_ready: bool,
    },
}

/// What the app asks of the connection.
#[derive(Debug)]
pub enum ConnCommand {
    Speaking(bool),
    /// Send this JSON text frame (DAVE op 23, 31).
    SendText(String),
    /// Send this binary frame (DAVE op 26, 28).
    SendBinary(Vec<u8>),
    Close,
}

/// Events tagged with the connection's generation, so late events of a replaced connection
/// can be told apart.
pub type Tagged = (u64, ConnEvent);

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The UDP socket as the connection task uses it: keepalives only. The media loop reads the
/// socket itself (from [`ConnEvent::Ready`]), so a packet costs no hand-over between tasks.
struct UdpState {
    socket: Arc<UdpSocket>,
    keepalives: u32,
}

async fn resolve(ip: &str, port: u16) -> std::io::Result<SocketAddr> {
    if let Ok(addr) = ip.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(addr, port));
    }
    tokio::net::lookup_host((ip, port))
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{ip} resolves to no address")))
}

/// Run one voice connection until it fails or is closed.
pub async fn run(
    gen: u64,
    params: ConnectParams,
    events: mpsc::UnboundedSender<Tagged>,
    mut commands: mpsc::UnboundedReceiver<ConnCommand>,
) {
    let send = |ev: ConnEvent| {
        let _ = events.send((gen, ev));
    };
    let mut session = GatewaySession::new(
        params.creds.clone(),
        params.forced_mode.clone(),
        Instant::now(),
    );
    let mut udp: Option<UdpState> = None;
    let mut resume = false;
    let mut resumes = 0u32;
    let url = gateway_url(&params.endpoint);
    let tls = match crate::tls::client_config_from_env() {
        Ok(config) => config,
        Err(reason) => {
            send(ConnEvent::Failed {
                reason,
                was_ready: false,
            });
            return;
        }
    };
    loop {
        let connected = tokio::time::timeout(
            STEP_TIMEOUT,
            // No Nagle: small gateway messages (speaking, heartbeats) must not wait.
            tokio_tungstenite::connect_async_tls_with_config(
                url.as_str(),
                None,
                true,
                Some(tokio_tungstenite::Connector::Rustls(tls.clone())),
            ),
        )
        .await;
        let ws = match connected {
            Ok(Ok((ws, _))) => ws,
            Ok(Err(e)) => {
                send(ConnEvent::Failed {
                    reason: format!("cannot open {url}: {e}"),
                    was_ready: session.can_resume(),
                });
                return;
            }
            Err(_) => {
                send(ConnEvent::Failed {
                    reason: format!("opening {url} timed out"),
                    was_ready: session.can_resume(),
                });
                return;
            }
        };
        let (mut sink, mut stream) = ws.split();
        let mut keepalive_timer = tokio::time::interval(KEEPALIVE_PERIOD);
        keepalive_timer.tick().await;
        let mut queue: std::collections::VecDeque<GwAction> =
            session.begin_socket(resume, Instant::now()).into();
        let (close_resume, close_reason) = 'socket: loop {
            while let Some(action) = queue.pop_front() {
                match action {
                    GwAction::Send(text) => {
                        if sink.send(Message::text(text)).await.is_err() {
                            match session.on_close(None, Instant::now()) {
                                GwAction::Close { resume, reason } => {
                                    break 'socket (resume, reason)
                                }
                                _ => unreachable!("on_close always closes"),
                            }
                        }
                    }
                    GwAction::StartUdp { ip, port, ssrc } => {
                        let found = match resolve(&ip, port).await {
                            Ok(addr) => connect_and_discover(addr, ssrc).await,
                            Err(e) => Err(e),
                        };
                        match found {
                            Ok((sock, my_ip, my_port)) => {
                                udp = Some(UdpState {
                                    socket: Arc::new(sock),
                                    keepalives: 0,
                                });
                                queue.extend(session.on_discovered(
                                    &my_ip,
                                    my_port,
                                    Instant::now(),
                                ));
                            }
                            Err(e) => {
                                break 'socket (
                                    false,
                                    format!("UDP IP discovery with {ip}:{port} failed: {e}"),
                                );
                            }
                        }
                    }
                    GwAction::SessionReady {
                        ssrc,
                        mode,
                        secret_key,
                        dave_protocol_version,
                    } => {
                        let Some(u) = udp.as_ref() else {
                            break 'socket (false, "session description before UDP".into());
                        };
                        match TransportCipher::new(mode, &secret_key) {
                            Ok(cipher) => {
                                resumes = 0;
                                send(ConnEvent::Ready {
                                    ssrc,
                                    cipher,
                                    socket: u.socket.clone(),
                                    dave_protocol_version,
                                });
                            }
                            Err(e) => break 'socket (false, e),
                        }
                    }
                    GwAction::Resumed => {
                        resumes = 0;
                        send(ConnEvent::Resumed);
                    }
                    GwAction::MapSsrc { ssrc, user_id } => {
                        send(ConnEvent::MapSsrc { ssrc, user_id })
                    }
                    GwAction::UserLeft { user_id } => send(ConnEvent::UserLeft { user_id }),
                    GwAction::ClientsConnect { user_ids } => {
                        send(ConnEvent::ClientsConnect { user_ids })
                    }
                    GwAction::DaveJson { op, d } => send(ConnEvent::DaveJson { op, d }),
                    GwAction::DaveBinary { op, payload } => {
                        send(ConnEvent::DaveBinary { op, payload })
                    }
                    GwAction::Close { resume, reason } => break 'socket (resume, reason),
                }
            }
            let deadline = session
                .next_deadline()
                .map(tokio::time::Instant::from_std)
                .unwrap_or_else(|| tokio::time::Instant::now() + STEP_TIMEOUT);
            tokio::select! {
                msg = stream.next() => match msg {
                    Some(Ok(Message::Text(t))) => queue.extend(session.on_text(t.as_str(), Instant::now())),
                    Some(Ok(Message::Binary(b))) => queue.extend(session.on_binary(&b)),
                    Some(Ok(Message::Close(frame))) => {
                        match session.on_close(frame.map(|f| u16::from(f.code)), Instant::now()) {
                            GwAction::Close { resume, reason } => break 'socket (resume, reason),
                            _ => unreachable!("on_close always closes"),
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => match session.on_close(None, Instant::now()) {
                        GwAction::Close { resume, reason } => break 'socket (resume, reason),
                        _ => unreachable!("on_close always closes"),
                    },
                },
                cmd = commands.recv() => match cmd {
                    Some(ConnCommand::Speaking(on)) => {
                        if let Some(p) = session.speaking(on) {
                            queue.push_back(GwAction::Send(p));
                        }
                    }
                    Some(ConnCommand::SendText(text)) => queue.push_back(GwAction::Send(text)),
                    Some(ConnCommand::SendBinary(bytes)) => {
                        if sink.send(Message::binary(bytes)).await.is_err() {
                            match session.on_close(None, Instant::now()) {
                                GwAction::Close { resume, reason } => break 'socket (resume, reason),
                                _ => unreachable!("on_close always closes"),
                            }
                        }
                    }
                    Some(ConnCommand::Close) | None => {
                        let _ = sink.send(Message::Close(None)).await;
                        return;
                    }
                },
                _ = tokio::time::sleep_until(deadline) => {
                    queue.extend(session.poll(Instant::now(), unix_ms()));
                }
                _ = keepalive_timer.tick() => {
                    if let Some(u) = udp.as_mut() {
                        let _ = u.socket.try_send(&keepalive(u.keepalives));
                        u.keepalives = u.keepalives.wrapping_add(1);
                    }
                }
            }
        };
        let _ = sink.send(Message::Close(None)).await;
        if close_resume && resumes < MAX_RESUMES {
            resumes += 1;
            resume = true;
            send(ConnEvent::Resuming {
                reason: close_reason,
            });
            continue;
        }
        send(ConnEvent::Failed {
            reason: close_reason,
            was_ready: session.can_resume(),
        });
        return;
    }
}
