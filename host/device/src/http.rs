//! A small HTTP/1.1 client on hyper: one connection per request, over TLS
//! (tokio-rustls, ring) for `https://` URLs or plain TCP for `http://` ones (the
//! stand-in token service of the tests runs on loopback without TLS).

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use super::{io_failure, net, plain};
use tether_host::{Failure, FailureKind, HttpFailure, NetworkError, ProtocolError};

/// An HTTP answer.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: u16,
    /// `Retry-After` in milliseconds (the header is in whole seconds).
    pub retry_after_ms: Option<u64>,
    pub body: serde_json::Value,
}

/// One request: what [`send`] needs beyond the method and URL.
#[derive(Clone, Copy)]
pub(crate) struct Extras<'a> {
    /// The JSON body, sent as `application/json; charset=utf-8`.
    pub body: Option<&'a serde_json::Value>,
    /// The `Authorization` header (a SAS token). Never logged.
    pub authorization: Option<&'a str>,
    /// The TLS client configuration for `https://` URLs.
    pub tls: Option<&'a Arc<rustls::ClientConfig>>,
    /// The whole exchange's limit.
    pub timeout: Duration,
}

impl Response {
    /// The answer as the contract's failure: the status, the IoT-hub six-digit
    /// `errorCode` of the body when it has one, and the retry-after.
    pub fn failure(&self) -> Failure {
        let hub_code = self
            .body
            .get("errorCode")
            .and_then(serde_json::Value::as_u64)
            .and_then(|c| u32::try_from(c).ok())
            .filter(|c| (100_000..1_000_000).contains(c));
        Failure {
            kind: FailureKind::Protocol(ProtocolError::Http(HttpFailure {
                status: self.status,
                hub_code,
            })),
            retry_after_ms: self.retry_after_ms,
            // DPS names each answer with a tracking id, for support requests.
            server_reference: self
                .body
                .get("trackingId")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string),
        }
    }
}

/// Send one request to `url` (`http://host:port/path?query`) with an optional JSON
/// body. Socket errors and the timeout come back as the contract's failures.
pub(crate) async fn request(
    method: hyper::Method,
    url: &str,
    body: Option<&serde_json::Value>,
    timeout: Duration,
) -> Result<Response, Failure> {
    send(
        method,
        url,
        Extras {
            body,
            authorization: None,
            tls: None,
            timeout,
        },
    )
    .await
}

/// Send one request to `url` (`http://` or `https://`). Socket, TLS and timeout
/// errors come back as the contract's failures.
pub(crate) async fn send(
    method: hyper::Method,
    url: &str,
    extras: Extras<'_>,
) -> Result<Response, Failure> {
    match tokio::time::timeout(extras.timeout, exchange(method, url, extras)).await {
        Ok(result) => result,
        Err(_) => Err(net(NetworkError::Timeout)),
    }
}

fn bad_endpoint() -> Failure {
    plain(FailureKind::Application(
        tether_host::ApplicationError::BadEndpoint,
    ))
}

async fn exchange(
    method: hyper::Method,
    url: &str,
    extras: Extras<'_>,
) -> Result<Response, Failure> {
    let (rest, tls) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, Some(extras.tls.ok_or_else(bad_endpoint)?))
    } else {
        (url.strip_prefix("http://").ok_or_else(bad_endpoint)?, None)
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let default_port = if tls.is_some() { 443 } else { 80 };
    let (host, port) = super::split_address(authority, default_port).ok_or_else(bad_endpoint)?;
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| net(NetworkError::Dns))?;
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| net(io_failure(&e)))?;
    let request = build(method, authority, path, extras)?;
    match tls {
        None => over(stream, request).await,
        Some(config) => {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|_| bad_endpoint())?;
            let stream = tokio_rustls::TlsConnector::from(config.clone())
                .connect(name, stream)
                .await
                .map_err(|e| net(tls_io_failure(&e)))?;
            over(stream, request).await
        }
    }
}

/// A failed handshake is a TLS failure even when the peer just hangs up.
fn tls_io_failure(e: &std::io::Error) -> NetworkError {
    match io_failure(e) {
        NetworkError::Closed => NetworkError::Tls,
        other => other,
    }
}

fn build(
    method: hyper::Method,
    authority: &str,
    path: &str,
    extras: Extras<'_>,
) -> Result<hyper::Request<Full<Bytes>>, Failure> {
    let payload = extras
        .body
        .map(|b| Bytes::from(b.to_string()))
        .unwrap_or_default();
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::ACCEPT, "application/json");
    if extras.body.is_some() {
        builder = builder.header(
            hyper::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        );
    }
    if let Some(token) = extras.authorization {
        let mut value = hyper::header::HeaderValue::from_str(token).map_err(|_| bad_endpoint())?;
        // Keeps it out of any header dump hyper or a proxy layer might make.
        value.set_sensitive(true);
        builder = builder.header(hyper::header::AUTHORIZATION, value);
    }
    builder.body(Full::new(payload)).map_err(|_| bad_endpoint())
}

async fn over<IO>(io: IO, request: hyper::Request<Full<Bytes>>) -> Result<Response, Failure>
where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| hyper_failure(&e))?;
    tokio::spawn(conn);
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| hyper_failure(&e))?;
    let status = response.status().as_u16();
    let retry_after_ms = response
        .headers()
        .get(hyper::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|s| s.saturating_mul(1000));
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| hyper_failure(&e))?
        .to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Ok(Response {
        status,
        retry_after_ms,
        body,
    })
}

fn hyper_failure(e: &hyper::Error) -> Failure {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            return net(io_failure(io));
        }
        source = s.source();
    }
    if e.is_timeout() {
        net(NetworkError::Timeout)
    } else {
        net(NetworkError::Closed)
    }
}
