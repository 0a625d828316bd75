//! The one error type of this crate.
//!
//! Expected refusals that are part of a call's answer (an input the connection did
//! not take, a message it would not queue) stay in that call's [`Step`](crate::Step);
//! everything else that can go wrong is an [`Error`].

use std::path::PathBuf;

use crate::bindings::types::ConfigError;

/// An error from wasmtime or from a file, boxed so that wasmtime's error type does
/// not become part of this crate's API.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong. `{}` prints one line, `{:#}` the line and its causes
/// (`loading plugin p: reading p: No such file or directory`), as `anyhow` does;
/// [`source`](std::error::Error::source) walks the causes.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The component refused a configuration document: `field` is the field's path
    /// (`policy.initial-ms`), `message` says what is wrong with it.
    Config(ConfigError),
    /// A file could not be read.
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// wasmtime could not compile, link or instantiate a component; `context` says
    /// which step.
    Wasm {
        /// What tether was doing.
        context: String,
        /// wasmtime's error.
        source: BoxError,
    },
    /// A call into the component trapped: a bug in tether or in a host import, never
    /// an expected failure. The instance refuses every further call.
    Trap(BoxError),
    /// The component broke the contract (for example, made import calls from a
    /// query), or a handle came from another instance.
    Contract(String),
    /// A file tether refuses to load (too large, a plugin that imports something).
    Refused(String),
    /// Something this crate needs could not start (the plugin engine, the shared
    /// runtime); the text says what and why.
    Unavailable(String),
    /// Loading a component file failed.
    Load {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<Error>,
    },
    /// Loading the custom-policy plugin `name` failed.
    Plugin {
        /// The plugin as the configuration names it.
        name: String,
        /// Why.
        source: Box<Error>,
    },
}

/// A `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The refused configuration, when that is what this error is.
    pub fn config(&self) -> Option<&ConfigError> {
        match self {
            Self::Config(e) => Some(e),
            _ => None,
        }
    }

    /// A wasmtime failure during `context`.
    pub(crate) fn wasm(context: impl Into<String>) -> impl FnOnce(wasmtime::Error) -> Self {
        let context = context.into();
        move |e| Self::Wasm {
            context,
            source: e.into_boxed_dyn_error(),
        }
    }

    /// A trap (or other failure) of a call into a component.
    pub(crate) fn trap(e: wasmtime::Error) -> Self {
        Self::Trap(e.into_boxed_dyn_error())
    }

    /// A file that could not be read.
    pub(crate) fn read(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_path_buf();
        move |source| Self::Read { path, source }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Config(e) => write!(f, "{}: {}", e.field, e.message)?,
            Self::Read { path, .. } => write!(f, "reading {}", path.display())?,
            Self::Wasm { context, .. } => f.write_str(context)?,
            // A trap's own text is the message; it has no context of ours.
            Self::Trap(e) => write!(f, "{e}")?,
            Self::Contract(text) | Self::Refused(text) | Self::Unavailable(text) => {
                f.write_str(text)?;
            }
            Self::Load { path, .. } => write!(f, "loading {}", path.display())?,
            Self::Plugin { name, .. } => write!(f, "loading plugin {name}")?,
        }
        if f.alternate() {
            let mut cause = std::error::Error::source(self);
            while let Some(e) = cause {
                write!(f, ": {e}")?;
                cause = e.source();
            }
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Read { source, .. } => Some(source),
            Self::Wasm { source, .. } => Some(source.as_ref()),
            // The trap's own causes, so that `{:#}` does not print its text twice.
            Self::Trap(e) => e.source(),
            Self::Load { source, .. } | Self::Plugin { source, .. } => Some(source.as_ref()),
            Self::Config(_) | Self::Contract(_) | Self::Refused(_) | Self::Unavailable(_) => None,
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Self::Config(e)
    }
}
