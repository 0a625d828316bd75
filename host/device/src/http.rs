//! A small HTTP/1.1 client on hyper: one connection per request, plain HTTP only
//! (the provisioning emulator and token service of the tests run on loopback).

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
            server_reference: None,
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
    match tokio::time::timeout(timeout, exchange(method, url, body)).await {
        Ok(result) => result,
        Err(_) => Err(net(NetworkError::Timeout)),
    }
}

async fn exchange(
    method: hyper::Method,
    url: &str,
    body: Option<&serde_json::Value>,
) -> Result<Response, Failure> {
    let bad_endpoint = || {
        plain(FailureKind::Application(
            tether_host::ApplicationError::BadEndpoint,
        ))
    };
    let rest = url.strip_prefix("http://").ok_or_else(bad_endpoint)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let (host, port) = super::split_address(authority, 80).ok_or_else(bad_endpoint)?;
    let addr = tokio::net::lookup_host((host.as_str(), port))
        .await
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| net(NetworkError::Dns))?;
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| net(io_failure(&e)))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| hyper_failure(&e))?;
    tokio::spawn(conn);
    let payload = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, authority)
        .header(hyper::header::ACCEPT, "application/json");
    if body.is_some() {
        builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
    }
    let request = builder
        .body(Full::new(payload))
        .map_err(|_| bad_endpoint())?;
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
