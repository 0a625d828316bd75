//! The MQTT front end (3.1.1 over TLS), decoding and encoding with rumqttc's
//! `mqttbytes` codec:
//!
//! - CONNECT: client id = registration id, user name
//!   `{idScope}/registrations/{registrationId}/api-version=2019-03-31` (extra
//!   `&ClientVersion=...` allowed, as azure-sdk-for-c sends it), password = the
//!   registration SAS token, or an X.509 client certificate. A bad user name is
//!   CONNACK 4 (bad user name or password); failed authentication is CONNACK 5
//!   (not authorized); the connection then closes.
//! - SUBSCRIBE `$dps/registrations/res/#` is granted at QoS 1 (others refused).
//! - PUBLISH `$dps/registrations/PUT/iotdps-register/?$rid={rid}` and
//!   `$dps/registrations/GET/iotdps-get-operationstatus/?$rid={rid}&operationId={op}`
//!   are answered on `$dps/registrations/res/{status}/?$rid={rid}[&retry-after={s}]`
//!   with the REST body.

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{
    ConnAck, ConnectReturnCode, Packet, PubAck, Publish, SubAck, SubscribeReasonCode,
};
use rumqttc::mqttbytes::{Error as CodecError, QoS};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::{Credentials, MQTT_API_VERSION, Reply, Shared, poll, register};

const MAX_PACKET: usize = 64 * 1024;

/// Accept connections until the task is aborted.
pub(super) async fn serve(listener: TcpListener, acceptor: TlsAcceptor, shared: Shared) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let cn = super::tls::client_cn(tls.get_ref().1.peer_certificates());
            let _ = session(tls, cn, &shared).await;
        });
    }
}

/// `(idScope, registrationId)` of a user name, if it has the documented shape.
pub fn parse_user_name(user: &str) -> Option<(&str, &str)> {
    let (scope, rest) = user.split_once("/registrations/")?;
    let (id, version) = rest.split_once("/api-version=")?;
    let version = version.split('&').next()?;
    (version == MQTT_API_VERSION && !scope.is_empty() && !id.is_empty()).then_some((scope, id))
}

/// What a request topic asks: the `$rid` and, for a poll, the operation id.
fn parse_request(topic: &str) -> Option<(String, Option<String>)> {
    let (kind, query) = topic
        .strip_prefix("$dps/registrations/")?
        .split_once("/?")?;
    let mut rid = None;
    let mut op = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "$rid" => rid = Some(v.into_owned()),
            "operationId" => op = Some(v.into_owned()),
            _ => {}
        }
    }
    match kind {
        "PUT/iotdps-register" => Some((rid?, None)),
        "GET/iotdps-get-operationstatus" => Some((rid?, Some(op?))),
        _ => None,
    }
}

async fn read_packet<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut BytesMut,
) -> std::io::Result<Option<Packet>> {
    loop {
        match Packet::read(buf, MAX_PACKET) {
            Ok(p) => return Ok(Some(p)),
            Err(CodecError::InsufficientBytes(_)) => {}
            Err(e) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    e.to_string(),
                ));
            }
        }
        if stream.read_buf(buf).await? == 0 {
            return Ok(None);
        }
    }
}

async fn write_packet<S: AsyncWrite + Unpin>(
    stream: &mut S,
    packet: Packet,
) -> std::io::Result<()> {
    let mut out = BytesMut::new();
    packet
        .write(&mut out, MAX_PACKET)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    stream.write_all(&out).await?;
    stream.flush().await
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    cn: Option<String>,
    shared: &Shared,
) -> std::io::Result<()> {
    let mut buf = BytesMut::new();
    let Some(Packet::Connect(connect)) = read_packet(&mut stream, &mut buf).await? else {
        return Ok(());
    };
    let (user, password) = connect
        .login
        .map(|l| (l.username, l.password))
        .unwrap_or_default();
    let Some((scope, id)) = parse_user_name(&user).filter(|(_, id)| *id == connect.client_id)
    else {
        let ack = ConnAck::new(ConnectReturnCode::BadUserNamePassword, false);
        return write_packet(&mut stream, Packet::ConnAck(ack)).await;
    };
    let (scope, id) = (scope.to_string(), id.to_string());
    // CONNECT carries the proof; check it the way a register would, without
    // starting an operation.
    let creds = Credentials {
        token: Some(password.as_str()),
        certificate_cn: cn.as_deref(),
    };
    let authorized = {
        let inner = super::lock(shared);
        super::authenticate(&inner, &scope, &id, &creds).is_ok()
    };
    if !authorized {
        let ack = ConnAck::new(ConnectReturnCode::NotAuthorized, false);
        return write_packet(&mut stream, Packet::ConnAck(ack)).await;
    }
    write_packet(
        &mut stream,
        Packet::ConnAck(ConnAck::new(ConnectReturnCode::Success, false)),
    )
    .await?;
    while let Some(packet) = read_packet(&mut stream, &mut buf).await? {
        match packet {
            Packet::Subscribe(s) => {
                let codes = s
                    .filters
                    .iter()
                    .map(|f| {
                        if f.path == "$dps/registrations/res/#" {
                            SubscribeReasonCode::Success(QoS::AtLeastOnce)
                        } else {
                            SubscribeReasonCode::Failure
                        }
                    })
                    .collect();
                write_packet(&mut stream, Packet::SubAck(SubAck::new(s.pkid, codes))).await?;
            }
            Packet::Publish(p) => {
                if p.qos == QoS::AtLeastOnce {
                    write_packet(&mut stream, Packet::PubAck(PubAck::new(p.pkid))).await?;
                }
                let Some((rid, op)) = parse_request(&p.topic) else {
                    continue;
                };
                let reply = match op {
                    None => {
                        let named = serde_json::from_slice::<serde_json::Value>(&p.payload)
                            .ok()
                            .and_then(|v| v.get("registrationId")?.as_str().map(str::to_string));
                        if named.is_some_and(|n| n.eq_ignore_ascii_case(&id)) {
                            register(shared, "mqtt", &scope, &id, &creds)
                        } else {
                            super::error_reply(
                                400,
                                400000,
                                "The payload must be {\"registrationId\": ...} naming the connection's registration.",
                                None,
                            )
                        }
                    }
                    Some(op) => poll(shared, "mqtt", &scope, &id, &op, &creds),
                };
                write_packet(&mut stream, Packet::Publish(answer(&rid, &reply))).await?;
            }
            Packet::PingReq => write_packet(&mut stream, Packet::PingResp).await?,
            Packet::Disconnect => break,
            _ => {}
        }
    }
    Ok(())
}

fn answer(rid: &str, reply: &Reply) -> Publish {
    let mut topic = format!("$dps/registrations/res/{}/?$rid={rid}", reply.status);
    if let Some(s) = reply.retry_after_s {
        topic.push_str(&format!("&retry-after={s}"));
    }
    Publish::new(topic, QoS::AtMostOnce, reply.body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_and_topics_parse_as_documented() {
        assert_eq!(
            parse_user_name("0ne1/registrations/d1/api-version=2019-03-31"),
            Some(("0ne1", "d1"))
        );
        assert_eq!(
            parse_user_name("0ne1/registrations/d1/api-version=2019-03-31&ClientVersion=x"),
            Some(("0ne1", "d1"))
        );
        assert_eq!(
            parse_user_name("0ne1/registrations/d1/api-version=2017-01-01"),
            None
        );
        assert_eq!(parse_user_name("d1"), None);
        assert_eq!(
            parse_request("$dps/registrations/PUT/iotdps-register/?$rid=3"),
            Some(("3".into(), None))
        );
        assert_eq!(
            parse_request(
                "$dps/registrations/GET/iotdps-get-operationstatus/?$rid=4&operationId=4.a.1"
            ),
            Some(("4".into(), Some("4.a.1".into())))
        );
        assert_eq!(parse_request("$dps/registrations/GET/other/?$rid=4"), None);
    }
}
