//! The failures the world can draw, from every family of the classification table.

use super::rng::SimRng;
use tether_host::names::{APPLICATION_ERRORS, NETWORK_ERRORS};
use tether_host::{
    ApplicationError, Failure, FailureKind, HttpFailure, NetworkError, ProtocolError,
};

/// AMQP conditions, known and not.
pub(super) const AMQP: [&str; 12] = [
    "amqp:connection:forced",
    "amqp:link:detach-forced",
    "amqp:unauthorized-access",
    "amqp:not-found",
    "amqp:resource-limit-exceeded",
    "amqp:connection:redirect",
    "amqp:decode-error",
    "com.microsoft:timeout",
    "com.microsoft:iot-hub-suspended",
    "",
    "x-vendor:teapot",
    "AMQP:NOT-FOUND",
];

/// Any classifier input: every family, unknown codes and strings included.
pub(super) fn any_failure(rng: &mut SimRng) -> Failure {
    let mut f = match rng.below(9) {
        0 => net(rng
            .pick(&NETWORK_ERRORS)
            .map_or(NetworkError::Dns, |&(_, e)| e)),
        1 => proto(ProtocolError::MqttConnack(
            u8::try_from(rng.below(256)).unwrap_or(0),
        )),
        2 | 3 => proto(ProtocolError::MqttReason(
            u8::try_from(if rng.chance(800) {
                rng.range(0x80, 0xA2)
            } else {
                rng.below(256)
            })
            .unwrap_or(0),
        )),
        4 => {
            let condition = if rng.chance(200) {
                let len = rng.range(0, 12);
                (0..len)
                    .map(|_| char::from(u8::try_from(rng.range(0x20, 0x7e)).unwrap_or(b'x')))
                    .collect()
            } else {
                (*rng.pick(&AMQP).unwrap_or(&"")).to_string()
            };
            proto(ProtocolError::Amqp(condition))
        }
        5 => {
            let status = if rng.chance(700) {
                *rng.pick(&[400, 401, 403, 404, 408, 412, 413, 429, 500, 502, 503, 504])
                    .unwrap_or(&500)
            } else {
                u16::try_from(rng.below(65_536)).unwrap_or(0)
            };
            let hub_code = match rng.below(4) {
                0 => Some(
                    *rng.pick(&[
                        401_003, 403_002, 403_004, 404_104, 404_001, 429_001, 503_003,
                    ])
                    .unwrap_or(&403_002),
                ),
                1 => Some(u32::try_from(rng.below(1 << 32)).unwrap_or(0)),
                _ => None,
            };
            http(status, hub_code)
        }
        6 => proto(match rng.below(3) {
            0 => ProtocolError::KeepAliveLost,
            1 => ProtocolError::SessionExpired,
            _ => ProtocolError::LinkDetached,
        }),
        _ => app(rng
            .pick(&APPLICATION_ERRORS)
            .map_or(ApplicationError::Throttled, |&(_, e)| e)),
    };
    if rng.chance(150) {
        f.retry_after_ms = Some(rng.duration_ms(60_000, u64::MAX));
    }
    if rng.chance(50) {
        f.server_reference = Some(if rng.coin() {
            String::new()
        } else {
            "hub-q".into()
        });
    }
    f
}

pub(super) fn of(kind: FailureKind) -> Failure {
    Failure {
        kind,
        retry_after_ms: None,
        server_reference: None,
    }
}

pub(super) fn net(e: NetworkError) -> Failure {
    of(FailureKind::Network(e))
}

pub(super) fn proto(e: ProtocolError) -> Failure {
    of(FailureKind::Protocol(e))
}

pub(super) fn app(e: ApplicationError) -> Failure {
    of(FailureKind::Application(e))
}

pub(super) fn http(status: u16, hub_code: Option<u32>) -> Failure {
    proto(ProtocolError::Http(HttpFailure { status, hub_code }))
}
