//! MQTT over secure WebSockets: TLS, then a WebSocket upgrade at
//! `/$iothub/websocket` with subprotocol `mqtt` (Azure docs, MQTT support: "MQTT
//! v3.1.1 over WebSocket on TCP port 443"; the path the SDKs connect to: the Node
//! SDK's `MqttWs` uses `wss://<host>:443/$iothub/websocket`, the Java SDK's
//! `WEBSOCKET_RAW_PATH` is `/$iothub/websocket`, azure-sdk-for-c's
//! `AZ_IOT_MQTT_DEFAULT_WEBSOCKET_PATH` too), then the same link handling as plain
//! MQTT over TLS. Other paths get HTTP 404 (the emulator's choice: the hub's answer
//! to another path is not documented).

use std::sync::Arc;

use bytes::BytesMut;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};

use super::Shared;
use super::link::{self, peer_of};

/// The path IoT Hub serves MQTT over WebSockets on.
pub const PATH: &str = "/$iothub/websocket";

/// Accept connections until the task is aborted.
pub(super) async fn serve(listener: TcpListener, acceptor: TlsAcceptor, shared: Arc<Shared>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            continue;
        };
        let (acceptor, shared) = (acceptor.clone(), shared.clone());
        tokio::spawn(async move {
            let _ = tcp.set_nodelay(true);
            let Ok(tls) = acceptor.accept(tcp).await else {
                return shared.refused("tls");
            };
            let peer = peer_of(tls.get_ref().1);
            let mut refusal = None;
            // tungstenite's callback type fixes the large error type.
            #[allow(clippy::result_large_err)]
            let callback = |request: &Request, mut response: Response| {
                upgrade(request, &mut response).map_err(|(status, reason)| {
                    refusal = Some(reason);
                    let mut e = ErrorResponse::new(Some(format!("{reason}\n")));
                    *e.status_mut() = status;
                    e
                })?;
                Ok(response)
            };
            let ws = match tokio_tungstenite::accept_hdr_async(tls, callback).await {
                Ok(ws) => ws,
                Err(_) => return shared.refused(refusal.unwrap_or("malformed")),
            };
            // The link handling reads bytes: bridge WebSocket binary messages to a
            // byte pipe.
            let (local, remote) = tokio::io::duplex(64 * 1024);
            tokio::spawn(link::handle(shared, local, peer));
            let (mut pipe_rx, mut pipe_tx) = tokio::io::split(remote);
            let (mut ws_tx, mut ws_rx) = ws.split();
            let mut buf = BytesMut::with_capacity(16 * 1024);
            loop {
                tokio::select! {
                    message = ws_rx.next() => match message {
                        Some(Ok(Message::Binary(bytes))) => {
                            if pipe_tx.write_all(&bytes).await.is_err() { break; }
                        }
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        // Text frames, close frames, errors and the end all end the link.
                        _ => break,
                    },
                    read = pipe_rx.read_buf(&mut buf) => match read {
                        Ok(0) | Err(_) => break,
                        Ok(_) => {
                            if ws_tx.send(Message::Binary(buf.split().freeze())).await.is_err() { break; }
                        }
                    },
                }
            }
            let _ = ws_tx.close().await;
        });
    }
}

/// Accept the upgrade at [`PATH`] offering subprotocol `mqtt`, and answer with it.
fn upgrade(request: &Request, response: &mut Response) -> Result<(), (StatusCode, &'static str)> {
    if request.uri().path() != PATH {
        return Err((StatusCode::NOT_FOUND, "websocket-path"));
    }
    let offers_mqtt = request
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim().eq_ignore_ascii_case("mqtt"));
    if !offers_mqtt {
        return Err((StatusCode::BAD_REQUEST, "websocket-subprotocol"));
    }
    response
        .headers_mut()
        .insert("sec-websocket-protocol", HeaderValue::from_static("mqtt"));
    Ok(())
}
