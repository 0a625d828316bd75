//! The REST front end over HTTPS (tokio-rustls + hyper):
//!
//! - `PUT /{idScope}/registrations/{registrationId}/register?api-version=...`
//!   with `{"registrationId": ...}`;
//! - `GET /{idScope}/registrations/{registrationId}/operations/{operationId}?api-version=...`.
//!
//! Anything else is 404 (or 405 for a known path with another method).

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use super::{Credentials, Reply, Shared, check_api_version, error_reply, poll, register};

/// Accept connections until the task is aborted.
pub(super) async fn serve(listener: TcpListener, acceptor: TlsAcceptor, shared: Shared) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let shared = shared.clone();
        tokio::spawn(async move {
            // A failed handshake (an untrusted client certificate, a client
            // that does not trust us) just ends the connection, as TLS does.
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let cn: Option<Arc<str>> =
                super::tls::client_cn(tls.get_ref().1.peer_certificates()).map(Arc::from);
            let service = hyper::service::service_fn(move |req| {
                let shared = shared.clone();
                let cn = cn.clone();
                async move { Ok::<_, Infallible>(handle(&shared, cn.as_deref(), req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

fn respond(reply: &Reply) -> Response<Full<Bytes>> {
    let mut builder = Response::builder()
        .status(reply.status)
        .header("content-type", "application/json; charset=utf-8");
    if let Some(s) = reply.retry_after_s {
        builder = builder.header("retry-after", s.to_string());
    }
    builder
        .body(Full::new(Bytes::from(reply.body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

async fn handle(
    shared: &Shared,
    cn: Option<&str>,
    req: Request<Incoming>,
) -> Response<Full<Bytes>> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(str::to_string);
    let token = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let segments: Vec<String> = path
        .trim_start_matches('/')
        .split('/')
        .map(decode)
        .collect();
    let creds = Credentials {
        token: token.as_deref(),
        certificate_cn: cn,
    };
    let route = match segments.as_slice() {
        [scope, r, id, last] if r == "registrations" && last == "register" => {
            Some((scope, id, None))
        }
        [scope, r, id, o, op] if r == "registrations" && o == "operations" => {
            Some((scope, id, Some(op)))
        }
        _ => None,
    };
    let Some((scope, id, op)) = route else {
        return respond(&error_reply(404, 404000, "No such resource.", None));
    };
    let expected = if op.is_some() {
        Method::GET
    } else {
        Method::PUT
    };
    if method != expected {
        return respond(&error_reply(405, 405000, "Method not allowed.", None));
    }
    if let Err(r) = check_api_version(query.as_deref()) {
        return respond(&r);
    }
    let reply = match op {
        Some(op) => poll(shared, "https", scope, id, op, &creds),
        None => {
            // The body must name the same registration id as the path.
            let body = req.into_body().collect().await.map(|b| b.to_bytes());
            let named = body
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v.get("registrationId")?.as_str().map(str::to_string));
            match named {
                Some(n) if n.eq_ignore_ascii_case(id) => {
                    register(shared, "https", scope, id, &creds)
                }
                _ => error_reply(
                    400,
                    400000,
                    "The body must be {\"registrationId\": ...} naming the path's registration.",
                    None,
                ),
            }
        }
    };
    respond(&reply)
}
