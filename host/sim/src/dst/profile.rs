//! What kind of world a seed draws: which failure families it favours, and how
//! often each thing happens.

use super::rng::SimRng;
use tether_host::NS_PER_MS;

/// Families of failures the world draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Family {
    /// Resets, refusals, timeouts, closed links, lost pings.
    Transient,
    /// 429s, rate limits, quotas, busy servers, with any retry-after.
    Throttle,
    /// Refused credentials and identities, unknown or disabled devices.
    Auth,
    /// 5xx and unavailable servers.
    Server,
    /// MQTT 5 redirects with a server reference.
    Redirect,
    /// Any classifier input at all, unknown codes included.
    Any,
    /// Opens are never answered: the host reports `net:timeout` after its timeout.
    Blackhole,
}

pub(super) const FAMILIES: [Family; 7] = [
    Family::Transient,
    Family::Throttle,
    Family::Auth,
    Family::Server,
    Family::Redirect,
    Family::Any,
    Family::Blackhole,
];

/// How hostile this seed's world is.
#[derive(Clone, Debug)]
pub(super) struct Profile {
    /// Where the virtual clock starts: 0, or rarely far out, up to the end of the
    /// range a WIT instant (u64 nanoseconds) can express.
    pub(super) origin_ms: u64,
    /// The run ends at `origin_ms + horizon_ms`.
    pub(super) horizon_ms: u64,
    pub(super) max_inputs: u64,
    /// Outside outages: opens accepted, per mille.
    pub(super) accept: u64,
    /// Of the opens not accepted: black holes, per mille.
    pub(super) blackhole: u64,
    /// The host transport's connect timeout.
    pub(super) connect_timeout_ms: u64,
    pub(super) open_latency_ms: u64,
    /// The usual trouble outside outages.
    pub(super) family: Family,
    pub(super) outages: Vec<(u64, u64, Family)>,
    /// An open link is dropped at some point, per mille.
    pub(super) drop: u64,
    /// An open link goes half open (then keep-alive is lost), per mille.
    pub(super) half_open: u64,
    pub(super) keep_alive_ms: u64,
    /// How long an open link lasts before a drop, at most.
    pub(super) link_life_ms: u64,
    pub(super) ack_latency_ms: u64,
    pub(super) ack_loss: u64,
    pub(super) ack_dup: u64,
    pub(super) prov_latency_ms: u64,
    pub(super) prov_assign: u64,
    pub(super) prov_pending: u64,
    pub(super) prov_blackhole: u64,
    pub(super) cred_latency_ms: u64,
    pub(super) cred_fail: u64,
    pub(super) cred_lifetime_ms: Option<u64>,
    /// Late, stale reports for links the component already gave up on, per mille.
    pub(super) stale: u64,
}

impl Profile {
    pub(super) fn draw(rng: &mut SimRng) -> Self {
        let horizon_ms = match rng.below(4) {
            0 => rng.range(10_000, 120_000),
            1 | 2 => rng.range(120_000, 3_600_000),
            _ => rng.range(3_600_000, 24 * 3_600_000),
        };
        let last_ms = u64::MAX / NS_PER_MS;
        let origin_ms = match rng.below(100) {
            0 => last_ms.saturating_sub(rng.range(0, horizon_ms)),
            1 => rng.range(1_000_000_000_000, last_ms),
            _ => 0,
        };
        let pick = |rng: &mut SimRng| *rng.pick(&FAMILIES).unwrap_or(&Family::Transient);
        let family = pick(rng);
        let outages = (0..rng.below(4))
            .map(|_| {
                let from = origin_ms.saturating_add(rng.below(horizon_ms));
                let len = rng.duration_ms(120_000, horizon_ms);
                (from, from.saturating_add(len), pick(rng))
            })
            .collect();
        Self {
            origin_ms,
            horizon_ms,
            max_inputs: rng.range(80, 600),
            accept: *rng.pick(&[1000, 950, 800, 600, 300, 0]).unwrap_or(&800),
            blackhole: rng.range(0, 300),
            connect_timeout_ms: rng.range(1, 60_000),
            open_latency_ms: rng.range(1, 3_000),
            family,
            outages,
            drop: rng.range(0, 800),
            half_open: rng.range(0, 300),
            keep_alive_ms: rng.range(1_000, 240_000),
            link_life_ms: rng.duration_ms(120_000, horizon_ms).max(1),
            ack_latency_ms: rng.range(0, 2_000),
            ack_loss: rng.range(0, 300),
            ack_dup: rng.range(0, 300),
            prov_latency_ms: rng.range(1, 5_000),
            prov_assign: rng.range(300, 1000),
            prov_pending: rng.range(0, 400),
            prov_blackhole: rng.range(0, 100),
            cred_latency_ms: rng.range(1, 3_000),
            cred_fail: rng.range(0, 500),
            cred_lifetime_ms: rng
                .chance(600)
                .then(|| rng.duration_ms(600_000, 24 * 3_600_000).max(1)),
            stale: rng.range(0, 200),
        }
    }

    pub(super) fn outage_at(&self, t: u64) -> Option<Family> {
        self.outages
            .iter()
            .find(|(from, until, _)| (*from..*until).contains(&t))
            .map(|(_, _, f)| *f)
    }
}
