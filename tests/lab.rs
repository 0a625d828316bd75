//! The lab against real mosquitto: each piece the fault matrix stands on, proven on
//! its own. Password auth (the exact CONNACK bytes mosquitto sends for MQTT 3.1.1 and
//! 5), SIGHUP reload of a changed password file (and what it does to clients already
//! connected), TLS with the generated CA and with a wrong one, a paused broker
//! (SIGSTOP) against a short keep-alive, graceful stop against kill, restart on the
//! same port, the fault proxy (latency, blackhole, reset, heal, broker down), and the
//! recorder's counts.
//!
//! The MQTT bytes are written and read by hand where the exact wire value is the
//! point; rumqttc (the client the runtime uses) is used where what matters is what a
//! real client reports. Timeouts here only bound a wait for something that must
//! happen, or give "nothing arrives" a window; no test asserts that anything is fast.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::result_large_err // rumqttc's error types, returned as they are
)]

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::{
    Client, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet, QoS, StateError,
    TlsConfiguration, Transport,
};
use tether_tests::broker::Broker;
use tether_tests::proxy::Proxy;
use tether_tests::recorder::Recorder;
use tether_tests::tls::Certificates;

/// Bound on waits for something that must happen.
const WAIT: Duration = Duration::from_secs(10);
/// The window in which "nothing arrives" is checked.
const QUIET: Duration = Duration::from_millis(800);

// ---- raw MQTT ---------------------------------------------------------------------

/// A CONNECT packet: protocol level 4 (3.1.1) or 5, clean session, 60 s keep-alive.
fn connect_packet(level: u8, client_id: &str, login: Option<(&str, &str)>) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend_from_slice(&(s.len() as u16).to_be_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    let mut body = Vec::new();
    string(&mut body, "MQTT");
    body.push(level);
    body.push(if login.is_some() { 0xC2 } else { 0x02 });
    body.extend_from_slice(&60u16.to_be_bytes());
    if level == 5 {
        body.push(0); // no properties
    }
    string(&mut body, client_id);
    if let Some((user, password)) = login {
        string(&mut body, user);
        string(&mut body, password);
    }
    let mut packet = vec![0x10];
    let mut len = body.len();
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        packet.push(byte);
        if len == 0 {
            break;
        }
    }
    packet.extend(body);
    packet
}

/// One whole MQTT packet from `stream` (fixed header, remaining length, body).
fn read_packet(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut packet = vec![0u8; 1];
    stream.read_exact(&mut packet)?;
    let mut len = 0usize;
    let mut shift = 0;
    loop {
        let mut b = [0u8; 1];
        stream.read_exact(&mut b)?;
        packet.push(b[0]);
        len |= usize::from(b[0] & 0x7F) << shift;
        shift += 7;
        if b[0] & 0x80 == 0 {
            break;
        }
    }
    let start = packet.len();
    packet.resize(start + len, 0);
    stream.read_exact(&mut packet[start..])?;
    Ok(packet)
}

/// Open a TCP connection to `address`, send CONNECT, return the stream and the
/// CONNACK bytes.
fn raw_connect(
    address: &str,
    level: u8,
    client_id: &str,
    login: Option<(&str, &str)>,
) -> (TcpStream, Vec<u8>) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    stream
        .write_all(&connect_packet(level, client_id, login))
        .unwrap();
    let connack = read_packet(&mut stream).unwrap();
    (stream, connack)
}

const PINGREQ: [u8; 2] = [0xC0, 0x00];
const PINGRESP: [u8; 2] = [0xD0, 0x00];

/// Send PINGREQ and read the answer (a PINGRESP, or what the read gave instead).
fn ping(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    stream.write_all(&PINGREQ)?;
    read_packet(stream)
}

/// Whether the peer has closed `stream` (end of stream or reset), waiting up to WAIT.
fn closed_by_peer(stream: &mut TcpStream) -> Result<(), String> {
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 64];
    match stream.read(&mut buf) {
        Ok(0) => Ok(()),
        Err(e) if e.kind() == ErrorKind::ConnectionReset => Ok(()),
        Ok(n) => Err(format!("got {n} bytes: {:02x?}", &buf[..n])),
        Err(e) => Err(format!("still open: {e}")),
    }
}

// ---- rumqttc ----------------------------------------------------------------------

/// The first thing a rumqttc client reports: the CONNACK's code or the connection
/// error. rumqttc's 3.1.1 and 5 APIs mirror each other in distinct types, so the
/// one body is a macro; `Client`, `Event`, `MqttOptions` and `Packet` are the
/// caller's imports.
macro_rules! first_connack {
    ($prefix:literal, $address:expr, $login:expr, $tls:expr) => {{
        let (host, port) = host_port($address);
        let mut options = MqttOptions::new(unique_id($prefix), host, port);
        if let Some((user, password)) = $login {
            options.set_credentials(user, password);
        }
        if let Some(config) = $tls {
            options.set_transport(Transport::Tls(TlsConfiguration::Rustls(config)));
        }
        let (_client, mut connection) = Client::new(options, 10);
        loop {
            match connection
                .recv_timeout(WAIT)
                .expect("rumqttc reports within the wait")
            {
                Ok(Event::Incoming(Packet::ConnAck(ack))) => return Ok(ack.code),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
        }
    }};
}

/// What a rumqttc client reports first, for MQTT 3.1.1.
fn rumqttc_v4(
    address: &str,
    login: Option<(&str, &str)>,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<ConnectReturnCode, ConnectionError> {
    first_connack!("v4", address, login, tls)
}

/// The same for MQTT 5.
fn rumqttc_v5(
    address: &str,
    login: Option<(&str, &str)>,
    tls: Option<Arc<rustls::ClientConfig>>,
) -> Result<rumqttc::v5::mqttbytes::v5::ConnectReturnCode, rumqttc::v5::ConnectionError> {
    use rumqttc::v5::{Client, Event, MqttOptions, mqttbytes::v5::Packet};
    first_connack!("v5", address, login, tls)
}

/// `host:port` split, the port as a number.
fn host_port(address: &str) -> (String, u16) {
    let (host, port) = address.split_once(':').unwrap();
    (host.to_string(), port.parse().unwrap())
}

/// A rumqttc MQTT 5 client that has its CONNACK.
fn connected_v5(address: &str, prefix: &str) -> (rumqttc::v5::Client, rumqttc::v5::Connection) {
    use rumqttc::v5::{Client, Event, MqttOptions, mqttbytes::v5::Packet};
    let (host, port) = host_port(address);
    let (client, mut connection) = Client::new(MqttOptions::new(unique_id(prefix), host, port), 10);
    let first = connection.recv_timeout(WAIT).unwrap();
    assert!(
        matches!(first, Ok(Event::Incoming(Packet::ConnAck(_)))),
        "{first:?}"
    );
    (client, connection)
}

fn unique_id(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "lab-{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

// ---- broker -----------------------------------------------------------------------

#[test]
fn refused_login_is_connack_5_on_mqtt_3_1_1_and_0x87_on_mqtt_5() {
    let broker = Broker::options()
        .with_user("device-1", "secret")
        .start()
        .unwrap();
    let address = broker.address();

    // MQTT 3.1.1: CONNACK is 20 02 <session present> <return code>.
    let (_s, ok) = raw_connect(&address, 4, "a", Some(("device-1", "secret")));
    assert_eq!(ok, [0x20, 0x02, 0x00, 0x00]);
    let (_s, wrong_password) = raw_connect(&address, 4, "b", Some(("device-1", "nope")));
    assert_eq!(
        wrong_password,
        [0x20, 0x02, 0x00, 0x05],
        "3.1.1, wrong password"
    );
    let (_s, unknown_user) = raw_connect(&address, 4, "c", Some(("nobody", "secret")));
    assert_eq!(
        unknown_user,
        [0x20, 0x02, 0x00, 0x05],
        "3.1.1, unknown user"
    );
    let (_s, anonymous) = raw_connect(&address, 4, "d", None);
    assert_eq!(anonymous, [0x20, 0x02, 0x00, 0x05], "3.1.1, no credentials");

    // MQTT 5: CONNACK is 20 <len> <flags> <reason code> <properties>.
    let (_s, ok5) = raw_connect(&address, 5, "e", Some(("device-1", "secret")));
    assert_eq!(&ok5[..1], [0x20]);
    assert_eq!(ok5[3], 0x00, "MQTT 5 success: {ok5:02x?}");
    let (_s, refused5) = raw_connect(&address, 5, "f", Some(("device-1", "nope")));
    assert_eq!(
        refused5,
        [0x20, 0x03, 0x00, 0x87, 0x00],
        "MQTT 5, wrong password"
    );
    let (_s, anonymous5) = raw_connect(&address, 5, "g", None);
    assert_eq!(
        anonymous5,
        [0x20, 0x03, 0x00, 0x87, 0x00],
        "MQTT 5, no credentials"
    );

    // What rumqttc, the runtime's client, makes of them.
    assert!(matches!(
        rumqttc_v4(&address, Some(("device-1", "secret")), None),
        Ok(ConnectReturnCode::Success)
    ));
    let refused = rumqttc_v4(&address, Some(("device-1", "nope")), None);
    assert!(
        matches!(
            refused,
            Err(ConnectionError::ConnectionRefused(
                ConnectReturnCode::NotAuthorized
            ))
        ),
        "{refused:?}"
    );
    use rumqttc::v5::mqttbytes::v5::ConnectReturnCode as Code5;
    let refused5 = rumqttc_v5(&address, Some(("device-1", "nope")), None);
    assert!(
        matches!(
            refused5,
            Err(rumqttc::v5::ConnectionError::ConnectionRefused(
                Code5::NotAuthorized
            ))
        ),
        "{refused5:?}"
    );
    assert!(matches!(
        rumqttc_v5(&address, Some(("device-1", "secret")), None),
        Ok(Code5::Success)
    ));
}

#[test]
fn sighup_reload_applies_a_changed_password_file() {
    let mut broker = Broker::options()
        .with_user("alice", "one")
        .with_user("bob", "two")
        .start()
        .unwrap();
    let address = broker.address();
    let (mut alice, ok) = raw_connect(&address, 4, "alice-1", Some(("alice", "one")));
    assert_eq!(ok, [0x20, 0x02, 0x00, 0x00]);
    let (mut bob, ok) = raw_connect(&address, 4, "bob-1", Some(("bob", "two")));
    assert_eq!(ok, [0x20, 0x02, 0x00, 0x00]);
    let (mut carol, ok) = raw_connect(&address, 5, "carol-1", Some(("alice", "one")));
    assert_eq!(ok[3], 0x00);

    // bob's password changes; alice is unchanged.
    broker
        .set_users(&[("alice", "one"), ("bob", "three")])
        .unwrap();

    let (_s, old) = raw_connect(&address, 4, "bob-2", Some(("bob", "two")));
    assert_eq!(
        old,
        [0x20, 0x02, 0x00, 0x05],
        "the old password after the reload"
    );
    let (_s, new) = raw_connect(&address, 4, "bob-3", Some(("bob", "three")));
    assert_eq!(
        new,
        [0x20, 0x02, 0x00, 0x00],
        "the new password after the reload"
    );

    // Connected clients: mosquitto 2.0.11 rechecks them at the reload and closes
    // the connection of one whose credentials no longer pass; the others stay.
    closed_by_peer(&mut bob).unwrap_or_else(|e| {
        panic!(
            "bob's connection after his password changed: {e}\n{}",
            broker.log()
        )
    });
    assert_eq!(ping(&mut alice).unwrap(), PINGRESP, "alice stays connected");
    assert_eq!(
        ping(&mut carol).unwrap(),
        PINGRESP,
        "alice over MQTT 5 stays connected"
    );

    // Removing a user entirely closes that user's connection too.
    broker.set_users(&[("bob", "three")]).unwrap();
    closed_by_peer(&mut alice).unwrap_or_else(|e| panic!("alice removed: {e}"));
    closed_by_peer(&mut carol).unwrap_or_else(|e| panic!("alice (MQTT 5) removed: {e}"));
    let (_s, gone) = raw_connect(&address, 4, "alice-2", Some(("alice", "one")));
    assert_eq!(gone, [0x20, 0x02, 0x00, 0x05]);
    assert!(
        broker.log().matches("Reloading config.").count() >= 2,
        "{}",
        broker.log()
    );
}

#[test]
fn tls_handshake_succeeds_with_the_generated_ca_and_fails_with_another() {
    let certs = Certificates::generate().unwrap();
    let broker = Broker::options()
        .with_user("device-1", "secret")
        .with_tls(&certs)
        .start()
        .unwrap();
    assert!(broker.is_tls());
    let address = broker.address();
    let login = Some(("device-1", "secret"));

    assert!(matches!(
        rumqttc_v4(&address, login, Some(certs.client_config().unwrap())),
        Ok(ConnectReturnCode::Success)
    ));
    assert!(matches!(
        rumqttc_v5(&address, login, Some(certs.client_config().unwrap())),
        Ok(rumqttc::v5::mqttbytes::v5::ConnectReturnCode::Success)
    ));
    // Over TLS, a wrong password is still CONNACK 5.
    assert!(matches!(
        rumqttc_v4(
            &address,
            Some(("device-1", "nope")),
            Some(certs.client_config().unwrap())
        ),
        Err(ConnectionError::ConnectionRefused(
            ConnectReturnCode::NotAuthorized
        ))
    ));

    // Another CA: the handshake fails with an unknown issuer, which rumqttc hands
    // over as a TLS error holding an I/O error (InvalidData) that wraps the rustls
    // error.
    let stranger = Certificates::generate().unwrap();
    let unknown_issuer = |e: &std::io::Error| {
        e.kind() == ErrorKind::InvalidData
            && e.get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
                .is_some_and(|r| {
                    *r == rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)
                })
    };
    let wrong_ca = rumqttc_v4(&address, login, Some(stranger.client_config().unwrap()));
    assert!(
        matches!(&wrong_ca, Err(ConnectionError::Tls(rumqttc::TlsError::Io(e))) if unknown_issuer(e)),
        "MQTT 3.1.1 client trusting another CA: {wrong_ca:?}"
    );
    let wrong_ca5 = rumqttc_v5(&address, login, Some(stranger.client_config().unwrap()));
    assert!(
        matches!(&wrong_ca5, Err(rumqttc::v5::ConnectionError::Tls(rumqttc::TlsError::Io(e))) if unknown_issuer(e)),
        "MQTT 5 client trusting another CA: {wrong_ca5:?}"
    );
    assert!(
        broker.log().contains("OpenSSL Error") || broker.log().contains("alert"),
        "the broker logs the failed handshake:\n{}",
        broker.log()
    );

    // Plain MQTT on the TLS port gets no CONNACK: the connection is closed.
    let mut plain = TcpStream::connect(&address).unwrap();
    plain.write_all(&connect_packet(4, "plain", login)).unwrap();
    closed_by_peer(&mut plain).unwrap();
}

#[test]
fn a_paused_broker_leaves_pings_unanswered_until_it_resumes() {
    let broker = Broker::start().unwrap();
    let (host, port) = host_port(&broker.address());
    let mut options = MqttOptions::new(unique_id("keepalive"), host, port);
    options.set_keep_alive(Duration::from_secs(1));
    let (_client, mut connection) = Client::new(options, 10);
    let first = connection.recv_timeout(WAIT).unwrap();
    assert!(
        matches!(first, Ok(Event::Incoming(Packet::ConnAck(_)))),
        "{first:?}"
    );
    // A ping answered while the broker runs.
    let answered = Instant::now();
    loop {
        match connection.recv_timeout(WAIT).unwrap() {
            Ok(Event::Incoming(Packet::PingResp)) => break,
            Ok(_) => {}
            Err(e) => panic!("before the pause: {e:?}"),
        }
        assert!(answered.elapsed() < WAIT, "no ping answered while running");
    }

    broker.pause().unwrap();
    let error = loop {
        match connection
            .recv_timeout(WAIT)
            .expect("rumqttc notices the missing ping response")
        {
            Ok(Event::Incoming(Packet::PingResp)) => panic!("a paused broker answered a ping"),
            Ok(_) => {}
            Err(e) => break e,
        }
    };
    assert!(
        matches!(error, ConnectionError::MqttState(StateError::AwaitPingResp)),
        "{error:?}"
    );

    // The TCP connection itself still opens (the kernel accepts) but CONNECT gets
    // no answer while paused.
    let mut half = TcpStream::connect(broker.address()).unwrap();
    half.write_all(&connect_packet(4, "half-open", None))
        .unwrap();
    half.set_read_timeout(Some(QUIET)).unwrap();
    let silent = read_packet(&mut half);
    assert!(
        matches!(&silent, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "{silent:?}"
    );

    broker.resume().unwrap();
    // The queued CONNECT is answered now, and the client reconnects.
    half.set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(read_packet(&mut half).unwrap(), [0x20, 0x02, 0x00, 0x00]);
    let back = loop {
        // Errors until the broker answers again are expected.
        if let Ok(Event::Incoming(Packet::ConnAck(ack))) = connection.recv_timeout(WAIT).unwrap() {
            break ack;
        }
    };
    assert_eq!(back.code, ConnectReturnCode::Success);
}

#[test]
fn graceful_stop_and_kill_both_close_connections_and_restart_reuses_the_port() {
    use rumqttc::v5::mqttbytes::v5::DisconnectReasonCode;
    let mut broker = Broker::start().unwrap();
    let port = broker.port();
    let address = broker.address();

    // Graceful: SIGTERM. A raw 3.1.1 client and a rumqttc MQTT 5 client are connected.
    let (mut raw, _) = raw_connect(&address, 4, "raw-1", None);
    let (_c5, mut conn5) = connected_v5(&address, "v5-stop");

    let status = broker.stop().unwrap().expect("it was running");
    assert!(status.success(), "mosquitto after SIGTERM: {status}");
    assert!(broker.log().contains("terminating"), "{}", broker.log());
    closed_by_peer(&mut raw).unwrap();
    // What an MQTT 5 client sees of a graceful shutdown.
    let mut seen = Vec::new();
    let end = loop {
        match conn5.recv_timeout(WAIT).unwrap() {
            Ok(event) => seen.push(format!("{event:?}")),
            Err(e) => break e,
        }
    };
    eprintln!("MQTT 5 client at SIGTERM: events {seen:?}, then {end:?}");
    assert!(
        matches!(
            end,
            rumqttc::v5::ConnectionError::MqttState(rumqttc::v5::StateError::ConnectionAborted)
        ),
        "{end:?}"
    );
    let got_disconnect = seen.iter().any(|e| e.contains("Disconnect"))
        || matches!(
            end,
            rumqttc::v5::ConnectionError::MqttState(rumqttc::v5::StateError::ServerDisconnect {
                reason_code: DisconnectReasonCode::ServerShuttingDown,
                ..
            })
        );
    assert!(!broker.is_running());
    assert!(
        !got_disconnect,
        "mosquitto 2.0.11 was expected to close without an MQTT 5 DISCONNECT: {seen:?} {end:?}"
    );

    // Same port again.
    broker.restart().unwrap();
    assert_eq!(broker.port(), port);
    let (mut raw, ok) = raw_connect(&address, 4, "raw-2", None);
    assert_eq!(ok, [0x20, 0x02, 0x00, 0x00]);

    // Kill: SIGKILL, no goodbye from mosquitto; the kernel closes the socket.
    let (_c5, mut conn5) = connected_v5(&address, "v5-kill");
    let terminations = broker.log().matches("terminating").count();
    broker.kill().unwrap();
    assert!(!broker.is_running());
    closed_by_peer(&mut raw).unwrap();
    let killed = loop {
        if let Err(e) = conn5.recv_timeout(WAIT).unwrap() {
            break e;
        }
    };
    // A client cannot tell the two apart: the same error after SIGTERM and SIGKILL.
    assert!(
        matches!(
            killed,
            rumqttc::v5::ConnectionError::MqttState(rumqttc::v5::StateError::ConnectionAborted)
        ),
        "{killed:?}"
    );
    assert_eq!(
        broker.log().matches("terminating").count(),
        terminations,
        "SIGKILL logs nothing"
    );
    // Nothing listens until the restart.
    let refused = TcpStream::connect(&address).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    broker.restart().unwrap();
    assert_eq!(broker.port(), port);
    let (_raw, ok) = raw_connect(&address, 4, "raw-3", None);
    assert_eq!(ok, [0x20, 0x02, 0x00, 0x00]);

    // Stopping a stopped broker, or pausing one that is not running, says so.
    broker.kill().unwrap();
    assert!(broker.stop().unwrap().is_none());
    assert!(broker.pause().is_err());
}

#[test]
fn set_users_needs_a_password_broker_and_refuses_bad_names() {
    let mut anonymous = Broker::start().unwrap();
    let e = anonymous.set_users(&[("a", "b")]).unwrap_err();
    assert!(e.to_string().contains("no password file"), "{e}");
    let mut broker = Broker::options().with_user("a", "b").start().unwrap();
    let e = broker.set_users(&[("a:b", "c")]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    assert!(Broker::options().with_user("", "x").start().is_err());
}

// ---- proxy ------------------------------------------------------------------------

#[test]
fn proxy_forwards_and_adds_latency() {
    let broker = Broker::start().unwrap();
    let proxy = Proxy::start(&broker.address()).unwrap();
    let (mut s, ok) = raw_connect(&proxy.address(), 4, "via-proxy", None);
    assert_eq!(ok, [0x20, 0x02, 0x00, 0x00]);
    assert_eq!(ping(&mut s).unwrap(), PINGRESP);

    let latency = Duration::from_millis(300);
    proxy.set_latency(latency);
    assert_eq!(proxy.faults().latency, latency);
    let sent = Instant::now();
    assert_eq!(ping(&mut s).unwrap(), PINGRESP);
    let round_trip = sent.elapsed();
    // Latency in each direction: a round trip takes at least twice that. (A lower
    // bound is what the fault is; nothing here asserts speed.)
    assert!(
        round_trip >= latency * 2,
        "round trip {round_trip:?} with {latency:?} each way"
    );

    proxy.heal();
    assert_eq!(proxy.faults(), Default::default());
    assert_eq!(ping(&mut s).unwrap(), PINGRESP);
    assert_eq!(proxy.open_connections(), 1);
    assert_eq!(proxy.accepted(), 1);
}

#[test]
fn proxy_blackhole_forwards_nothing_until_healed() {
    let broker = Broker::start().unwrap();
    let proxy = Proxy::start(&broker.address()).unwrap();
    let (mut old, ok) = raw_connect(&proxy.address(), 4, "old", None);
    assert_eq!(ok, [0x20, 0x02, 0x00, 0x00]);

    proxy.blackhole();
    // An open connection: the ping goes nowhere.
    old.write_all(&PINGREQ).unwrap();
    old.set_read_timeout(Some(QUIET)).unwrap();
    let silent = read_packet(&mut old);
    assert!(
        matches!(&silent, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "{silent:?}"
    );
    // A new connection: accepted, but its CONNECT gets no answer.
    let mut new = TcpStream::connect(proxy.address()).unwrap();
    new.write_all(&connect_packet(4, "new", None)).unwrap();
    new.set_read_timeout(Some(QUIET)).unwrap();
    let silent = read_packet(&mut new);
    assert!(
        matches!(&silent, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "{silent:?}"
    );
    assert!(
        !broker.log().contains(" as new "),
        "the broker saw the blackholed CONNECT:\n{}",
        broker.log()
    );

    proxy.heal();
    // Held bytes flow on: both answers arrive, the streams intact.
    old.set_read_timeout(Some(WAIT)).unwrap();
    new.set_read_timeout(Some(WAIT)).unwrap();
    assert_eq!(read_packet(&mut old).unwrap(), PINGRESP);
    assert_eq!(read_packet(&mut new).unwrap(), [0x20, 0x02, 0x00, 0x00]);
    assert_eq!(ping(&mut old).unwrap(), PINGRESP);
    assert_eq!(ping(&mut new).unwrap(), PINGRESP);
}

#[test]
fn proxy_reset_sends_rst_to_both_ends_and_new_connections_work() {
    let broker = Broker::start().unwrap();
    let proxy = Proxy::start(&broker.address()).unwrap();
    let (mut a, _) = raw_connect(&proxy.address(), 4, "reset-a", None);
    let (mut b, _) = raw_connect(&proxy.address(), 5, "reset-b", None);
    assert_eq!(proxy.open_connections(), 2);

    assert_eq!(proxy.reset().unwrap(), 2);
    assert_eq!(proxy.open_connections(), 0);
    for s in [&mut a, &mut b] {
        let mut buf = [0u8; 8];
        let read = s.read(&mut buf);
        assert!(
            matches!(&read, Err(e) if e.kind() == ErrorKind::ConnectionReset),
            "the device side after a reset: {read:?}"
        );
    }
    // mosquitto notices at once; its log does not tell a reset from a close (the
    // RST on the upstream side is checked against a plain socket below).
    let deadline = Instant::now() + WAIT;
    let both_closed = |log: &str| {
        ["reset-a", "reset-b"]
            .iter()
            .all(|id| log.contains(&format!("Client {id} closed its connection.")))
    };
    while !both_closed(&broker.log()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(both_closed(&broker.log()), "{}", broker.log());

    // Later connections are not affected.
    let (mut c, ok) = raw_connect(&proxy.address(), 4, "reset-c", None);
    assert_eq!(ok, [0x20, 0x02, 0x00, 0x00]);
    assert_eq!(ping(&mut c).unwrap(), PINGRESP);
    assert_eq!(proxy.accepted(), 3);
    // Resetting with nothing open resets nothing.
    drop(c);
    let deadline = Instant::now() + WAIT;
    while proxy.open_connections() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(proxy.reset().unwrap(), 0);
}

#[test]
fn proxy_reset_reaches_the_upstream_as_rst() {
    // A plain socket stands in for the broker to see exactly what arrives.
    let upstream = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let proxy = Proxy::start(&upstream.local_addr().unwrap().to_string()).unwrap();
    let mut device = TcpStream::connect(proxy.address()).unwrap();
    device.write_all(b"hello").unwrap();
    let (mut server, _) = upstream.accept().unwrap();
    server.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 5];
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello");

    assert_eq!(proxy.reset().unwrap(), 1);
    let read = server.read(&mut buf);
    assert!(
        matches!(&read, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "the upstream side after a reset: {read:?}"
    );
    device.set_read_timeout(Some(WAIT)).unwrap();
    let read = device.read(&mut buf);
    assert!(
        matches!(&read, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "the device side after a reset: {read:?}"
    );

    // A graceful close is passed on as a close, not a reset.
    let mut device = TcpStream::connect(proxy.address()).unwrap();
    device.write_all(b"bye").unwrap();
    let (mut server, _) = upstream.accept().unwrap();
    server.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 3];
    server.read_exact(&mut buf).unwrap();
    device.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(server.read(&mut buf).unwrap(), 0, "end of stream passed on");
    server.write_all(b"ok").unwrap();
    drop(server);
    let mut rest = Vec::new();
    device.set_read_timeout(Some(WAIT)).unwrap();
    device.read_to_end(&mut rest).unwrap();
    assert_eq!(
        rest, b"ok",
        "the other direction still flows after a half-close"
    );
}

#[test]
fn proxy_in_front_of_a_dead_broker_resets_the_device() {
    let mut broker = Broker::start().unwrap();
    let proxy = Proxy::start(&broker.address()).unwrap();
    broker.kill().unwrap();
    // Only read: a write racing the reset would take the error, leaving the read
    // an end of stream.
    let mut s = TcpStream::connect(proxy.address()).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 8];
    let read = s.read(&mut buf);
    assert!(
        matches!(&read, Err(e) if e.kind() == ErrorKind::ConnectionReset),
        "{read:?}"
    );
    broker.restart().unwrap();
    let (_s, ok) = raw_connect(&proxy.address(), 4, "alive", None);
    assert_eq!(ok, [0x20, 0x02, 0x00, 0x00]);
    assert!(Proxy::start("not an address").is_err());
}

// ---- recorder ---------------------------------------------------------------------

#[test]
fn recorder_counts_each_number_with_duplicates_and_survives_a_restart() {
    let mut broker = Broker::start().unwrap();
    let recorder = Recorder::start(&broker.address(), "lab/stream").unwrap();
    assert_eq!(recorder.topic(), "lab/stream");

    let (host, port) = host_port(&broker.address());
    let publish_all = |payloads: Vec<String>| {
        let options = MqttOptions::new(unique_id("publisher"), host.clone(), port);
        let (client, mut connection) = Client::new(options, 200);
        let n = payloads.len();
        for p in payloads {
            client
                .publish("lab/stream", QoS::AtLeastOnce, false, p)
                .unwrap();
        }
        let mut acked = 0;
        while acked < n {
            match connection.recv_timeout(WAIT).unwrap() {
                Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
                Ok(_) => {}
                Err(e) => panic!("publisher: {e:?}"),
            }
        }
        client.disconnect().unwrap();
    };

    // 1..=50 once, 5 again, 7 twice more, one payload with text after the number,
    // and one without a number.
    let mut payloads: Vec<String> = (1..=50).map(|n| n.to_string()).collect();
    payloads.extend([
        "5".into(),
        "7".into(),
        "7".into(),
        "52 with text".into(),
        "hello".into(),
    ]);
    publish_all(payloads);
    let record = recorder.wait_until(WAIT, |r| r.received() >= 55).unwrap();
    assert_eq!(record.received(), 55);
    assert_eq!(record.counts.len(), 51);
    assert_eq!(record.counts[&5], 2);
    assert_eq!(record.counts[&7], 3);
    assert_eq!(record.counts[&52], 1);
    assert_eq!(
        record.duplicated().into_iter().collect::<Vec<_>>(),
        [(5, 2), (7, 3)]
    );
    assert_eq!(record.duplicates(), 3);
    assert_eq!(record.unparsed, [b"hello".to_vec()]);

    // The device accepted 1..=53 and reported 53 failed; 51 never arrived and was
    // not reported failed: lost.
    let accepted: BTreeSet<u64> = (1..=53).collect();
    let failed: BTreeSet<u64> = [53].into();
    let account = record.account(&accepted, &failed);
    assert_eq!(account.accepted, 53);
    assert_eq!(account.delivered, 51);
    assert_eq!(account.duplicated, 3);
    assert_eq!(account.failed, 1);
    assert!(account.failed_but_arrived.is_empty());
    assert_eq!(account.lost, [51].into());
    assert_eq!(account.unexpected, 1, "hello");
    assert_eq!(
        account.to_string(),
        "accepted 53 / delivered 51 / duplicated 3 / failed 1 / lost 1 / unexpected 1 (lost: {51})"
    );
    // Accepting only 1..=10 makes 11..=52 unexpected.
    let few = record.account(&(1..=10).collect(), &BTreeSet::new());
    // 11..=50 and 52 arrived unaccepted (41 numbers), and "hello".
    assert_eq!((few.delivered, few.unexpected), (10, 41 + 1));

    // Across a broker restart the recorder connects and subscribes again.
    let before = recorder.snapshot();
    broker.restart().unwrap();
    recorder
        .wait_subscribed(before.subscriptions, WAIT)
        .unwrap();
    publish_all(vec!["100".into()]);
    let after = recorder
        .wait_until(WAIT, |r| r.counts.contains_key(&100))
        .unwrap();
    assert!(after.connections > before.connections);
    assert_eq!(after.counts[&100], 1);
    assert!(Recorder::start("no-port", "x").is_err());
}

#[test]
fn a_durable_broker_keeps_acknowledged_messages_across_a_kill() {
    let mut broker = Broker::options().durable().start().unwrap();
    let (host, port) = host_port(&broker.address());
    let subscriber_id = unique_id("durable-sub");
    let subscriber = |id: &str| {
        let mut options = MqttOptions::new(id, host.clone(), port);
        options.set_clean_session(false);
        Client::new(options, 50)
    };
    // A persistent session subscribes, then goes away: the broker queues for it.
    let (client, mut connection) = subscriber(&subscriber_id);
    client.subscribe("lab/durable", QoS::AtLeastOnce).unwrap();
    loop {
        match connection.recv_timeout(WAIT).unwrap() {
            Ok(Event::Incoming(Packet::SubAck(_))) => break,
            Ok(_) => {}
            Err(e) => panic!("subscriber: {e:?}"),
        }
    }
    client.disconnect().unwrap();
    while let Ok(Ok(_)) = connection.recv_timeout(QUIET) {}

    let (publisher, mut published) = Client::new(
        MqttOptions::new(unique_id("durable-pub"), host.clone(), port),
        50,
    );
    for n in 1..=20 {
        publisher
            .publish("lab/durable", QoS::AtLeastOnce, false, n.to_string())
            .unwrap();
    }
    let mut acked = 0;
    while acked < 20 {
        match published.recv_timeout(WAIT).unwrap() {
            Ok(Event::Incoming(Packet::PubAck(_))) => acked += 1,
            Ok(_) => {}
            Err(e) => panic!("publisher: {e:?}"),
        }
    }
    drop((publisher, published));

    // SIGKILL: nothing is flushed at exit; what survives was saved as it came.
    // mosquitto writes its store after it sends a PUBACK, not before, so a kill
    // right after the last PUBACK can beat the save under load: give it one
    // autosave interval (1 s) first.
    std::thread::sleep(Duration::from_millis(1500));
    broker.restart().unwrap();
    let (client, mut connection) = subscriber(&subscriber_id);
    let mut got = BTreeSet::new();
    while got.len() < 20 {
        match connection.recv_timeout(WAIT).unwrap() {
            Ok(Event::Incoming(Packet::Publish(p))) => {
                got.insert(String::from_utf8_lossy(&p.payload).parse::<u32>().unwrap());
            }
            Ok(_) => {}
            Err(e) => panic!("subscriber after the restart: {e:?} (got {got:?})"),
        }
    }
    assert_eq!(got, (1..=20).collect::<BTreeSet<u32>>());
    drop(client);
}
