//! One device link: the CONNECT check, the broker link behind it, and the relay
//! that inspects what the device sends.

use std::collections::BTreeSet;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{ConnAck, Connect, ConnectReturnCode, Packet, Publish, Subscribe};
use rumqttc::mqttbytes::{self, QoS};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use super::connect::{self, Admitted, CONNACK_PROTOCOL, CONNACK_UNAVAILABLE, Peer, Refusal};
use super::{Kick, LiveLink, Shared, lock, topics};

/// The largest packet taken: the hub's 256 KiB message limit plus room for the
/// topic and header.
const MAX_PACKET: usize = 256 * 1024 + 4096;

/// How long a client may take to send its CONNECT, and the broker its CONNACK.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a new link waits for the older link of the same device to close.
const TAKEOVER_TIMEOUT: Duration = Duration::from_secs(5);

/// Accept MQTT over TLS connections until the task is aborted.
pub(super) async fn serve_mqtt(listener: TcpListener, acceptor: TlsAcceptor, shared: Arc<Shared>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, shared) = (acceptor.clone(), shared.clone());
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    let peer = peer_of(tls.get_ref().1);
                    handle(shared, tls, peer).await;
                }
                _ => shared.refused("tls"),
            }
        });
    }
}

/// What the TLS handshake established about the client.
pub(super) fn peer_of(conn: &rustls::ServerConnection) -> Peer {
    Peer {
        certificates: conn
            .peer_certificates()
            .map(<[_]>::to_vec)
            .unwrap_or_default(),
    }
}

/// Serve one device link over `stream` (TLS, or a WebSocket bridge).
pub(super) async fn handle<S>(shared: Arc<Shared>, mut stream: S, peer: Peer)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let mut buf = BytesMut::with_capacity(4096);
    let frame =
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, read_frame(&mut stream, &mut buf)).await {
            Ok(Ok(Some(frame))) => frame,
            _ => return shared.refused("malformed"),
        };
    if !shared.admit() {
        // Over the limit the 3.1.1 hub closes the link without a CONNACK.
        return shared.refused("throttled");
    }
    let connect = match first_packet(&frame) {
        First::Connect(c) => c,
        First::OtherProtocol => {
            return refuse(
                &shared,
                &mut stream,
                Refusal {
                    code: CONNACK_PROTOCOL,
                    reason: "protocol",
                },
            )
            .await;
        }
        First::Malformed => return shared.refused("malformed"),
    };
    let checked = {
        let registry = lock(&shared.registry);
        connect::check(&connect, &shared.host_name, &registry, &peer, shared.now())
    };
    let admitted = match checked {
        Ok(a) => a,
        Err(refusal) => return refuse(&shared, &mut stream, refusal).await,
    };
    if let Some(will) = &connect.last_will
        && (will.qos == QoS::ExactlyOnce || !topics::may_publish(&admitted.id, &will.topic))
    {
        return refuse(
            &shared,
            &mut stream,
            Refusal {
                code: connect::CONNACK_NOT_AUTHORIZED,
                reason: "will-topic",
            },
        )
        .await;
    }
    let client_id = admitted.id.client_id();
    take_over(&shared, &client_id).await;
    let (broker, broker_connack) = match open_broker_link(shared.broker, &connect).await {
        Ok(b) => b,
        Err(_) => {
            return refuse(
                &shared,
                &mut stream,
                Refusal {
                    code: CONNACK_UNAVAILABLE,
                    reason: "broker-unavailable",
                },
            )
            .await;
        }
    };
    let link = shared
        .next_link
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (kick_tx, kick_rx) = oneshot::channel();
    lock(&shared.live).insert(
        client_id.clone(),
        LiveLink {
            link,
            expiry: admitted.expiry,
            kick: kick_tx,
        },
    );
    // Counted before the device reads its CONNACK, so a test sees it at once.
    shared.accepted();
    let (reason, done) =
        if stream.write_all(&broker_connack).await.is_err() || stream.flush().await.is_err() {
            ("client-closed", None)
        } else {
            relay(&shared, &mut stream, buf, broker, &admitted, kick_rx).await
        };
    {
        let mut live = lock(&shared.live);
        if live.get(&client_id).is_some_and(|l| l.link == link) {
            live.remove(&client_id);
        }
    }
    // Counted before the device's stream is dropped, so the device sees its link
    // close only after the counter moved.
    shared.closed(reason);
    drop(stream);
    if let Some(done) = done {
        let _ = done.send(());
    }
}

/// Close the older link of `client_id`, if any, and wait until it is closed: one
/// connection per device ("Any new MQTT connection on behalf of the same device ID
/// causes IoT Hub to drop the existing connection", Azure docs, MQTT support).
async fn take_over(shared: &Shared, client_id: &str) {
    let older = lock(&shared.live).remove(client_id);
    if let Some(older) = older {
        let (done_tx, done_rx) = oneshot::channel();
        let kick = Kick {
            reason: "duplicate",
            done: Some(done_tx),
        };
        if older.kick.send(kick).is_ok() {
            let _ = tokio::time::timeout(TAKEOVER_TIMEOUT, done_rx).await;
        }
    }
}

enum First {
    Connect(Connect),
    OtherProtocol,
    Malformed,
}

/// Read the first packet with the MQTT 3.1.1 codec; a CONNECT of another MQTT
/// version is told apart with rumqttc's MQTT 5 codec.
fn first_packet(frame: &BytesMut) -> First {
    match Packet::read(&mut frame.clone(), MAX_PACKET) {
        Ok(Packet::Connect(c)) if c.protocol == mqttbytes::Protocol::V4 => First::Connect(c),
        Ok(Packet::Connect(_))
        | Err(mqttbytes::Error::InvalidProtocolLevel(_) | mqttbytes::Error::InvalidProtocol) => {
            First::OtherProtocol
        }
        Ok(_) => First::Malformed,
        Err(_) => {
            let limit = u32::try_from(MAX_PACKET).ok();
            match rumqttc::v5::mqttbytes::v5::Packet::read(&mut frame.clone(), limit) {
                Ok(rumqttc::v5::mqttbytes::v5::Packet::Connect(..)) => First::OtherProtocol,
                _ => First::Malformed,
            }
        }
    }
}

async fn refuse<S: AsyncWrite + Unpin>(shared: &Shared, stream: &mut S, refusal: Refusal) {
    shared.refused(refusal.reason);
    let code = match refusal.code {
        1 => ConnectReturnCode::RefusedProtocolVersion,
        3 => ConnectReturnCode::ServiceUnavailable,
        _ => ConnectReturnCode::NotAuthorized,
    };
    let mut out = BytesMut::new();
    if Packet::ConnAck(ConnAck::new(code, false))
        .write(&mut out, MAX_PACKET)
        .is_ok()
    {
        let _ = stream.write_all(&out).await;
        let _ = stream.flush().await;
    }
    let _ = stream.shutdown().await;
}

/// Read until `buf` holds one whole packet and split it off; `None` at end of
/// stream.
async fn read_frame<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> io::Result<Option<BytesMut>> {
    loop {
        match next_frame(buf)? {
            Some(frame) => return Ok(Some(frame)),
            None => {
                if stream.read_buf(buf).await? == 0 {
                    return Ok(None);
                }
            }
        }
    }
}

/// Split one whole packet off `buf`, if it holds one.
fn next_frame(buf: &mut BytesMut) -> io::Result<Option<BytesMut>> {
    match mqttbytes::check(buf.iter(), MAX_PACKET) {
        Ok(header) => Ok(Some(buf.split_to(header.frame_length()))),
        Err(mqttbytes::Error::InsufficientBytes(_)) => Ok(None),
        Err(e) => Err(io::Error::new(io::ErrorKind::InvalidData, e.to_string())),
    }
}

/// Connect to the broker as the device (its client id, clean-session flag,
/// keep-alive and will; no credentials: the broker is anonymous and loopback
/// only) and return the link and the broker's first bytes: its CONNACK and
/// whatever followed it in the same read.
async fn open_broker_link(
    broker: SocketAddr,
    device: &Connect,
) -> io::Result<(TcpStream, BytesMut)> {
    let mut tcp = tokio::time::timeout(HANDSHAKE_TIMEOUT, TcpStream::connect(broker))
        .await
        .map_err(|_| io::Error::other("broker connect timed out"))??;
    tcp.set_nodelay(true)?;
    let connect = Connect {
        protocol: mqttbytes::Protocol::V4,
        keep_alive: device.keep_alive,
        client_id: device.client_id.clone(),
        clean_session: device.clean_session,
        last_will: device.last_will.clone(),
        login: None,
    };
    let mut out = BytesMut::new();
    Packet::Connect(connect)
        .write(&mut out, MAX_PACKET)
        .map_err(|e| io::Error::other(e.to_string()))?;
    tcp.write_all(&out).await?;
    let mut buf = BytesMut::new();
    let frame = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_frame(&mut tcp, &mut buf))
        .await
        .map_err(|_| io::Error::other("broker CONNACK timed out"))??
        .ok_or_else(|| io::Error::other("broker closed before CONNACK"))?;
    match Packet::read(&mut frame.clone(), MAX_PACKET) {
        Ok(Packet::ConnAck(ack)) if ack.code == ConnectReturnCode::Success => {
            // What came with the CONNACK (a resumed session's queued messages)
            // goes to the device right after it.
            let mut first = frame;
            first.unsplit(buf);
            Ok((tcp, first))
        }
        _ => Err(io::Error::other("broker refused the link")),
    }
}

/// Relay until something ends the link; the reason, and whom to tell it closed.
async fn relay<S>(
    shared: &Shared,
    stream: &mut S,
    mut from_client: BytesMut,
    broker: TcpStream,
    admitted: &Admitted,
    mut kick: oneshot::Receiver<Kick>,
) -> (&'static str, Option<oneshot::Sender<()>>)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (mut client_rx, mut client_tx) = tokio::io::split(stream);
    let (mut broker_rx, mut broker_tx) = broker.into_split();
    let mut from_broker = vec![0u8; 16 * 1024];
    let mut subscriptions = BTreeSet::new();
    let mut shutdown = shared.shutdown.clone();
    let expiry = admitted.expiry.map(|se| {
        let left = se.saturating_sub(shared.now());
        tokio::time::Instant::now()
            .checked_add(Duration::from_secs(left))
            .unwrap_or_else(tokio::time::Instant::now)
    });
    let token_expired = async {
        match expiry {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(token_expired);
    loop {
        // What the device sent before (after its CONNECT) is inspected first.
        loop {
            let frame = match next_frame(&mut from_client) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(_) => return ("malformed", None),
            };
            match inspect(&admitted.id, &frame, &mut subscriptions) {
                Verdict::Forward => {
                    if broker_tx.write_all(&frame).await.is_err() {
                        return ("broker-closed", None);
                    }
                }
                Verdict::Rewrite(bytes) => {
                    if broker_tx.write_all(&bytes).await.is_err() {
                        return ("broker-closed", None);
                    }
                }
                Verdict::Disconnect => {
                    let _ = broker_tx.write_all(&frame).await;
                    return ("client-disconnect", None);
                }
                Verdict::Close(reason) => return (reason, None),
            }
        }
        tokio::select! {
            read = client_rx.read_buf(&mut from_client) => match read {
                Ok(0) | Err(_) => return ("client-closed", None),
                Ok(_) => {}
            },
            read = broker_rx.read(&mut from_broker) => match read {
                Ok(0) | Err(_) => return ("broker-closed", None),
                Ok(n) => {
                    let Some(bytes) = from_broker.get(..n) else { return ("broker-closed", None) };
                    if client_tx.write_all(bytes).await.is_err() || client_tx.flush().await.is_err() {
                        return ("client-closed", None);
                    }
                }
            },
            () = &mut token_expired => return ("token-expired", None),
            k = &mut kick => return match k {
                Ok(k) => (k.reason, k.done),
                // Replaced in the table by a newer link of the same device.
                Err(_) => ("duplicate", None),
            },
            _ = shutdown.changed() => return ("shutdown", None),
        }
    }
}

enum Verdict {
    Forward,
    Rewrite(BytesMut),
    Disconnect,
    Close(&'static str),
}

/// Judge one packet from the device.
fn inspect(id: &super::IdentityId, frame: &BytesMut, subs: &mut BTreeSet<String>) -> Verdict {
    let packet = match Packet::read(&mut frame.clone(), MAX_PACKET) {
        Ok(p) => p,
        Err(_) => return Verdict::Close("malformed"),
    };
    match packet {
        Packet::Publish(p) => {
            if p.qos == QoS::ExactlyOnce {
                // "If a device app publishes a message with QoS 2, IoT Hub closes
                // the network connection" (Azure docs, MQTT support).
                Verdict::Close("qos2")
            } else if !topics::may_publish(id, &p.topic) {
                Verdict::Close("topic-denied")
            } else {
                Verdict::Forward
            }
        }
        Packet::Subscribe(s) => subscribe(id, s, subs),
        Packet::Unsubscribe(u) => {
            for f in &u.topics {
                subs.remove(f);
            }
            Verdict::Forward
        }
        Packet::Disconnect => Verdict::Disconnect,
        // A second CONNECT is a protocol violation (MQTT 3.1.1 section 3.1).
        Packet::Connect(_) | Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) => {
            Verdict::Close("malformed")
        }
        _ => Verdict::Forward,
    }
}

fn subscribe(id: &super::IdentityId, mut s: Subscribe, subs: &mut BTreeSet<String>) -> Verdict {
    if s.filters
        .iter()
        .any(|f| !topics::may_subscribe(id, &f.path))
    {
        return Verdict::Close("topic-denied");
    }
    let mut after = subs.clone();
    after.extend(s.filters.iter().map(|f| f.path.clone()));
    if after.len() > topics::MAX_SUBSCRIPTIONS {
        return Verdict::Close("subscription-limit");
    }
    *subs = after;
    if !s.filters.iter().any(|f| f.qos == QoS::ExactlyOnce) {
        return Verdict::Forward;
    }
    // "When a device app subscribes to a topic with QoS 2, IoT Hub grants maximum
    // QoS level 1 in the SUBACK packet" (Azure docs, MQTT support): ask the broker
    // for QoS 1, and its SUBACK says so.
    for f in &mut s.filters {
        if f.qos == QoS::ExactlyOnce {
            f.qos = QoS::AtLeastOnce;
        }
    }
    let mut out = BytesMut::new();
    match Packet::Subscribe(s).write(&mut out, MAX_PACKET) {
        Ok(_) => Verdict::Rewrite(out),
        Err(_) => Verdict::Close("malformed"),
    }
}

/// Publish `payload` on `topic` with QoS 1 through the broker on a link of its
/// own, and wait for the PUBACK.
pub(super) async fn publish_once(
    broker: SocketAddr,
    topic: &str,
    payload: &[u8],
) -> io::Result<()> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let service = Connect::new(format!("$iothub-emulator-{}-{n}", std::process::id()));
    let (mut tcp, _) = open_broker_link(broker, &service).await?;
    let mut publish = Publish::new(topic, QoS::AtLeastOnce, payload.to_vec());
    publish.pkid = 1;
    let mut out = BytesMut::new();
    Packet::Publish(publish)
        .write(&mut out, MAX_PACKET)
        .map_err(|e| io::Error::other(e.to_string()))?;
    tcp.write_all(&out).await?;
    let mut buf = BytesMut::new();
    loop {
        let frame = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_frame(&mut tcp, &mut buf))
            .await
            .map_err(|_| io::Error::other("broker PUBACK timed out"))??
            .ok_or_else(|| io::Error::other("broker closed before PUBACK"))?;
        if let Ok(Packet::PubAck(ack)) = Packet::read(&mut frame.clone(), MAX_PACKET)
            && ack.pkid == 1
        {
            break;
        }
    }
    let mut out = BytesMut::new();
    let _ = Packet::Disconnect.write(&mut out, MAX_PACKET);
    let _ = tcp.write_all(&out).await;
    Ok(())
}
