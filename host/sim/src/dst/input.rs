//! What the harness hands the connection ([`Input`]) and what it answers
//! ([`Answer`]): the vocabulary the harness and the model share.

use tether_host::syntax::failure_text;
use tether_host::{Credential, Failure, InputError, ProvisioningResult, PublishError};

/// One input to the connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Input {
    Start,
    Stop,
    Publish { topic: String, payload: Vec<u8> },
    Opened { link: u64 },
    Failed { link: u64, failure: Failure },
    Closed { link: u64, failure: Failure },
    Acked { message: u64 },
    Refused { message: u64, failure: Failure },
    Provisioned(ProvisioningResult),
    Credential(Result<Credential, Failure>),
    Wake,
}

impl Input {
    /// The transcript text of the input.
    pub fn label(&self) -> String {
        match self {
            Input::Start => "start".into(),
            Input::Stop => "stop".into(),
            Input::Publish { topic, payload } => {
                format!("publish topic={topic:?} bytes={}", payload.len())
            }
            Input::Opened { link } => format!("on-opened link={link}"),
            Input::Failed { link, failure } => {
                format!("on-failed link={link} {}", failure_text(failure))
            }
            Input::Closed { link, failure } => {
                format!("on-closed link={link} {}", failure_text(failure))
            }
            Input::Acked { message } => format!("on-acked msg={message}"),
            Input::Refused { message, failure } => {
                format!("on-refused msg={message} {}", failure_text(failure))
            }
            Input::Provisioned(result) => format!("on-provisioned {}", provisioning_text(result)),
            Input::Credential(Ok(c)) => match c.lifetime_ms {
                Some(ms) => format!("on-credential {} lifetime={ms}ms", c.secret),
                None => format!("on-credential {}", c.secret),
            },
            Input::Credential(Err(f)) => format!("on-credential failed {}", failure_text(f)),
            Input::Wake => "on-wake".into(),
        }
    }

    pub(super) fn failure(&self) -> Option<&Failure> {
        match self {
            Input::Failed { failure, .. } | Input::Closed { failure, .. } => Some(failure),
            Input::Provisioned(ProvisioningResult::Failed(f)) | Input::Credential(Err(f)) => {
                Some(f)
            }
            _ => None,
        }
    }
}

/// The text of a provisioning answer.
pub fn provisioning_text(result: &ProvisioningResult) -> String {
    match result {
        ProvisioningResult::Assigned(a) => {
            let mut text = format!("assigned hub={} device={}", a.hub, a.device_id);
            if let Some(c) = &a.credential {
                text.push_str(&format!(" credential={}", c.secret));
                if let Some(ms) = c.lifetime_ms {
                    text.push_str(&format!(" lifetime={ms}ms"));
                }
            }
            text
        }
        ProvisioningResult::Pending(p) => match p.retry_after_ms {
            Some(ms) => format!("pending op={} retry-after={ms}ms", p.operation_id),
            None => format!("pending op={}", p.operation_id),
        },
        ProvisioningResult::Failed(f) => format!("failed {}", failure_text(f)),
    }
}

/// The component's answer to an input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// Inputs without an answer (`stop`, `on-wake`).
    Done,
    /// Inputs answering `result<_, input-error>`.
    Input(Result<(), InputError>),
    /// `publish`.
    Publish(Result<u64, PublishError>),
}

impl Answer {
    pub(super) fn text(&self) -> String {
        match self {
            Answer::Done | Answer::Input(Ok(())) => "ok".into(),
            Answer::Input(Err(e)) => e.name().into(),
            Answer::Publish(Ok(id)) => format!("msg={id}"),
            Answer::Publish(Err(e)) => format!("rejected={}", e.name()),
        }
    }

    pub(super) fn accepted(&self) -> bool {
        matches!(
            self,
            Answer::Done | Answer::Input(Ok(())) | Answer::Publish(Ok(_))
        )
    }
}
