//! The scripted counterparts of a device: hub, provisioning service and
//! credential source. Each implements its [`tether_host`] driver trait and
//! answers by scheduling [`Event`]s, which the [`Sim`](super::Sim) collects after
//! every dispatch.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;

use super::event::Event;
use tether_host::{Assignment, Credential, Failure, Pending, ProvisioningResult};
use tether_host::{CredentialSource, Provisioner, Transport};

/// An `open` as the hub sees it, for scripts to decide the answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenRequest {
    /// When the open was made.
    pub at_ms: u64,
    /// The link number.
    pub link: u64,
    /// The hub address asked for.
    pub hub: String,
    /// The device identity presented.
    pub device_id: Option<String>,
    /// The credential presented.
    pub credential: Option<String>,
    /// How many opens the hub has seen, this one included (1 for the first).
    pub nth: u32,
}

/// The hub's answer to one `open`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenAnswer {
    /// Accept the link after `after_ms`.
    Accept {
        /// Latency of the answer.
        after_ms: u64,
    },
    /// Refuse the link after `after_ms`.
    Refuse {
        /// Latency of the answer.
        after_ms: u64,
        /// The failure reported.
        failure: Failure,
    },
    /// Never answer (a black hole: the transport's own timeout is not modelled,
    /// so script a `Refuse` with `net:timeout` to model one).
    Silence,
}

impl OpenAnswer {
    /// Accept after `after_ms`.
    pub fn accept(after_ms: u64) -> Self {
        Self::Accept { after_ms }
    }

    /// Refuse with `failure` after `after_ms`.
    pub fn refuse(after_ms: u64, failure: Failure) -> Self {
        Self::Refuse { after_ms, failure }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LinkState {
    Opening,
    Open,
}

type OpenRule = Box<dyn FnMut(&OpenRequest) -> OpenAnswer + Send>;

/// A hub whose answers come from a script.
///
/// The answer to each `open` is taken from, in order of precedence:
/// 1. a refusal window ([`refuse_between`](Self::refuse_between)) covering the
///    time of the open, cycling through its failures;
/// 2. the list of per-attempt answers ([`answers`](Self::answers)), one per open,
///    while it lasts;
/// 3. the rule ([`rule`](Self::rule)), a closure over the [`OpenRequest`];
/// 4. otherwise: accept after the default latency.
///
/// Answers are decided when the open is made and delivered after their latency.
/// While a link is open, each `send` is acknowledged after the ack latency; an ack
/// still on its way when the link closes is lost (the component sends the message
/// again). Scheduled drops ([`drop_at`](Self::drop_at)) close whatever link is open
/// at that time.
///
/// # Defaults
/// Accept every open after 100 ms; acknowledge every send after 20 ms; no drops.
pub struct ScriptedHub {
    windows: Vec<RefusalWindow>,
    answers: VecDeque<OpenAnswer>,
    rule: Option<OpenRule>,
    latency_ms: u64,
    ack_latency_ms: Option<u64>,
    pub(super) drops: Vec<(u64, Failure)>,
    links: BTreeMap<u64, LinkState>,
    opens: u32,
    sends: u32,
    pub(super) now_ms: u64,
    pub(super) scheduled: Vec<(u64, Event)>,
}

#[derive(Clone, Debug)]
struct RefusalWindow {
    from_ms: u64,
    until_ms: u64,
    failures: Vec<Failure>,
    latency_ms: u64,
    used: usize,
}

impl Default for ScriptedHub {
    fn default() -> Self {
        Self::new()
    }
}

impl ScriptedHub {
    /// A hub that accepts every open after 100 ms and acks every send after 20 ms.
    pub fn new() -> Self {
        Self {
            windows: Vec::new(),
            answers: VecDeque::new(),
            rule: None,
            latency_ms: 100,
            ack_latency_ms: Some(20),
            drops: Vec::new(),
            links: BTreeMap::new(),
            opens: 0,
            sends: 0,
            now_ms: 0,
            scheduled: Vec::new(),
        }
    }

    /// The latency of the default answer (accept).
    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = ms;
        self
    }

    /// Acknowledge sends after `ms`.
    pub fn ack_latency_ms(mut self, ms: u64) -> Self {
        self.ack_latency_ms = Some(ms);
        self
    }

    /// Never acknowledge a send.
    pub fn no_acks(mut self) -> Self {
        self.ack_latency_ms = None;
        self
    }

    /// Per-attempt answers: the first open gets the first answer, and so on.
    pub fn answers(mut self, answers: impl IntoIterator<Item = OpenAnswer>) -> Self {
        self.answers.extend(answers);
        self
    }

    /// The answer to opens not covered by a window or the answer list.
    pub fn rule(mut self, rule: impl FnMut(&OpenRequest) -> OpenAnswer + Send + 'static) -> Self {
        self.rule = Some(Box::new(rule));
        self
    }

    /// Refuse every open made in `[from_ms, until_ms)`, with `failures` in turn
    /// (cycling), each after 30 ms. An empty list refuses with `net:refused`.
    pub fn refuse_between(mut self, from_ms: u64, until_ms: u64, failures: Vec<Failure>) -> Self {
        let failures = if failures.is_empty() {
            vec![tether_host::syntax::failure::net(
                tether_host::NetworkError::Refused,
            )]
        } else {
            failures
        };
        self.windows.push(RefusalWindow {
            from_ms,
            until_ms,
            failures,
            latency_ms: 30,
            used: 0,
        });
        self
    }

    /// At `at_ms`, close whatever link is open with `failure`.
    pub fn drop_at(mut self, at_ms: u64, failure: Failure) -> Self {
        self.drops.push((at_ms, failure));
        self
    }

    /// How many opens the hub has seen.
    pub fn opens(&self) -> u32 {
        self.opens
    }

    /// How many sends the hub has seen.
    pub fn sends(&self) -> u32 {
        self.sends
    }

    /// How many links the hub keeps a state for (opening or open: a closed link
    /// is forgotten, since nothing about it is admitted any more).
    pub fn links_remembered(&self) -> usize {
        self.links.len()
    }

    /// The link the hub holds open, if any.
    pub fn open_link(&self) -> Option<u64> {
        self.links
            .iter()
            .rev()
            .find(|(_, s)| **s == LinkState::Open)
            .map(|(link, _)| *link)
    }

    fn answer(&mut self, request: &OpenRequest) -> OpenAnswer {
        let now = request.at_ms;
        if let Some(w) = self
            .windows
            .iter_mut()
            .find(|w| (w.from_ms..w.until_ms).contains(&now))
        {
            let failure = w
                .failures
                .get(w.used.checked_rem(w.failures.len()).unwrap_or(0))
                .cloned();
            w.used = w.used.saturating_add(1);
            if let Some(failure) = failure {
                return OpenAnswer::refuse(w.latency_ms, failure);
            }
        }
        if let Some(answer) = self.answers.pop_front() {
            return answer;
        }
        if let Some(rule) = &mut self.rule {
            return rule(request);
        }
        OpenAnswer::accept(self.latency_ms)
    }

    /// Whether a hub event still applies, updating the hub's view of its links.
    pub(super) fn admit(&mut self, event: &Event) -> bool {
        let state = |links: &BTreeMap<u64, LinkState>, link: &u64| links.get(link).copied();
        match event {
            Event::Opened { link } if state(&self.links, link) == Some(LinkState::Opening) => {
                self.links.insert(*link, LinkState::Open);
                true
            }
            Event::Failed { link, .. } if state(&self.links, link) == Some(LinkState::Opening) => {
                self.links.remove(link);
                true
            }
            Event::Closed { link, .. } if state(&self.links, link) == Some(LinkState::Open) => {
                self.links.remove(link);
                true
            }
            Event::Acked { link, .. } => state(&self.links, link) == Some(LinkState::Open),
            _ => false,
        }
    }
}

impl Transport for ScriptedHub {
    fn open(&mut self, link: u64, hub: &str, device_id: Option<&str>, credential: Option<&str>) {
        self.opens = self.opens.saturating_add(1);
        self.links.insert(link, LinkState::Opening);
        let request = OpenRequest {
            at_ms: self.now_ms,
            link,
            hub: hub.to_string(),
            device_id: device_id.map(str::to_string),
            credential: credential.map(str::to_string),
            nth: self.opens,
        };
        match self.answer(&request) {
            OpenAnswer::Accept { after_ms } => self
                .scheduled
                .push((self.now_ms.saturating_add(after_ms), Event::Opened { link })),
            OpenAnswer::Refuse { after_ms, failure } => self.scheduled.push((
                self.now_ms.saturating_add(after_ms),
                Event::Failed { link, failure },
            )),
            OpenAnswer::Silence => {}
        }
    }

    fn send(&mut self, link: u64, message: u64, _topic: &str, _payload: &[u8]) {
        self.sends = self.sends.saturating_add(1);
        if self.links.get(&link) != Some(&LinkState::Open) {
            return;
        }
        if let Some(latency) = self.ack_latency_ms {
            self.scheduled.push((
                self.now_ms.saturating_add(latency),
                Event::Acked { link, message },
            ));
        }
    }

    fn close(&mut self, link: u64) {
        // Forgotten: a link not held admits nothing, as a closed one.
        self.links.remove(&link);
    }
}

impl fmt::Debug for ScriptedHub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptedHub")
            .field("opens", &self.opens)
            .field("sends", &self.sends)
            .field("links", &self.links)
            .finish_non_exhaustive()
    }
}

// ---- scripted provisioning ----

/// One answer of the provisioning service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProvisioningAnswer {
    /// Latency of the answer.
    pub after_ms: u64,
    /// The answer.
    pub result: ProvisioningResult,
}

impl ProvisioningAnswer {
    /// Assigned to `hub` as `device_id`, with no credential.
    pub fn assigned(after_ms: u64, hub: &str, device_id: &str) -> Self {
        Self {
            after_ms,
            result: ProvisioningResult::Assigned(Assignment {
                hub: hub.to_string(),
                device_id: device_id.to_string(),
                credential: None,
            }),
        }
    }

    /// Still assigning (HTTP 202): poll `operation_id`, after `retry_after_ms` if given.
    pub fn pending(after_ms: u64, operation_id: &str, retry_after_ms: Option<u64>) -> Self {
        Self {
            after_ms,
            result: ProvisioningResult::Pending(Pending {
                operation_id: operation_id.to_string(),
                retry_after_ms,
            }),
        }
    }

    /// The request failed.
    pub fn failed(after_ms: u64, failure: Failure) -> Self {
        Self {
            after_ms,
            result: ProvisioningResult::Failed(failure),
        }
    }
}

/// A provisioning service whose answers come from a list: each `register` or
/// `poll` takes the next one; when the list is spent the last answer repeats.
/// With an empty list the service never answers.
#[derive(Clone, Debug, Default)]
pub struct ScriptedProvisioning {
    answers: VecDeque<ProvisioningAnswer>,
    last: Option<ProvisioningAnswer>,
    requests: u32,
    pub(super) now_ms: u64,
    pub(super) scheduled: Vec<(u64, Event)>,
}

impl ScriptedProvisioning {
    /// A service answering with `answers`, in turn.
    pub fn new(answers: impl IntoIterator<Item = ProvisioningAnswer>) -> Self {
        Self {
            answers: answers.into_iter().collect(),
            ..Self::default()
        }
    }

    /// A service that assigns `hub` / `device_id` after 200 ms, every time.
    pub fn assigning(hub: &str, device_id: &str) -> Self {
        Self::new([ProvisioningAnswer::assigned(200, hub, device_id)])
    }

    /// How many registers and polls the service has seen.
    pub fn requests(&self) -> u32 {
        self.requests
    }

    fn answer(&mut self) {
        self.requests = self.requests.saturating_add(1);
        if let Some(next) = self.answers.pop_front() {
            self.last = Some(next);
        }
        if let Some(answer) = &self.last {
            self.scheduled.push((
                self.now_ms.saturating_add(answer.after_ms),
                Event::Provisioned(answer.result.clone()),
            ));
        }
    }
}

impl Provisioner for ScriptedProvisioning {
    fn register(&mut self) {
        self.answer();
    }

    fn poll(&mut self, _operation_id: &str) {
        self.answer();
    }
}

// ---- scripted credentials ----

/// One answer of the credential source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialAnswer {
    /// Mint the next `token-N`.
    Mint,
    /// Fail with this failure.
    Fail(Failure),
}

/// A credential source that mints `token-1`, `token-2`... with a fixed lifetime,
/// or fails as scripted: each `renew` takes the next scripted answer, and mints
/// once the script is spent.
///
/// # Defaults
/// Tokens without a known lifetime, answered after 50 ms, nothing scripted.
#[derive(Clone, Debug)]
pub struct ScriptedCredentials {
    script: VecDeque<CredentialAnswer>,
    lifetime_ms: Option<u64>,
    latency_ms: u64,
    minted: u32,
    requests: u32,
    pub(super) now_ms: u64,
    pub(super) scheduled: Vec<(u64, Event)>,
}

impl Default for ScriptedCredentials {
    fn default() -> Self {
        Self::new()
    }
}

impl ScriptedCredentials {
    /// A source minting tokens with no known lifetime.
    pub fn new() -> Self {
        Self {
            script: VecDeque::new(),
            lifetime_ms: None,
            latency_ms: 50,
            minted: 0,
            requests: 0,
            now_ms: 0,
            scheduled: Vec::new(),
        }
    }

    /// Tokens valid for `ms`.
    pub fn lifetime_ms(mut self, ms: u64) -> Self {
        self.lifetime_ms = Some(ms);
        self
    }

    /// Answer after `ms`.
    pub fn latency_ms(mut self, ms: u64) -> Self {
        self.latency_ms = ms;
        self
    }

    /// Answers for the next renewals, in order.
    pub fn script(mut self, answers: impl IntoIterator<Item = CredentialAnswer>) -> Self {
        self.script.extend(answers);
        self
    }

    /// How many tokens were minted.
    pub fn minted(&self) -> u32 {
        self.minted
    }

    /// How many renewals were asked for.
    pub fn requests(&self) -> u32 {
        self.requests
    }
}

impl CredentialSource for ScriptedCredentials {
    fn renew(&mut self) {
        self.requests = self.requests.saturating_add(1);
        let result = match self.script.pop_front().unwrap_or(CredentialAnswer::Mint) {
            CredentialAnswer::Mint => {
                self.minted = self.minted.saturating_add(1);
                Ok(Credential {
                    secret: format!("token-{}", self.minted),
                    lifetime_ms: self.lifetime_ms,
                })
            }
            CredentialAnswer::Fail(failure) => Err(failure),
        };
        self.scheduled.push((
            self.now_ms.saturating_add(self.latency_ms),
            Event::Credential(result),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_host::NetworkError;
    use tether_host::syntax::failure;

    #[test]
    fn hub_answers_follow_precedence_and_filter_late_events() {
        let refused = failure::net(NetworkError::Refused);
        let mut hub = ScriptedHub::new()
            .refuse_between(1_000, 2_000, vec![refused.clone()])
            .answers([OpenAnswer::refuse(5, failure::net(NetworkError::Dns))])
            .rule(|r| OpenAnswer::accept(r.nth.into()));
        hub.now_ms = 1_500;
        hub.open(1, "h", None, None);
        hub.now_ms = 2_000;
        hub.open(2, "h", None, None);
        hub.open(3, "h", None, None);
        assert_eq!(
            hub.scheduled,
            vec![
                (
                    1_530,
                    Event::Failed {
                        link: 1,
                        failure: refused
                    }
                ),
                (
                    2_005,
                    Event::Failed {
                        link: 2,
                        failure: failure::net(NetworkError::Dns)
                    }
                ),
                (2_003, Event::Opened { link: 3 }),
            ]
        );
        // Link 3 is closed by the component before the hub's answer arrives.
        hub.close(3);
        assert!(!hub.admit(&Event::Opened { link: 3 }));
        assert!(hub.admit(&Event::Failed {
            link: 2,
            failure: failure::net(NetworkError::Dns)
        }));
        assert_eq!(hub.open_link(), None);
    }
}
