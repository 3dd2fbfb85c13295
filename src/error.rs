//! [`NewInterpreterError`]: why an interpreter could not be created.

use std::fmt;
use std::path::PathBuf;

/// The stage of interpreter start-up an error happened in.
///
/// CPython initialises in phases (PEP 587): pre-initialisation (allocators,
/// locale, UTF-8 mode), core (builtins, `sys`, the frozen importlib), then main
/// (the filesystem importer, `encodings`, `site`, signal handlers). This crate
/// installs its importer between core and main, and does its own set-up
/// (`sys.frozen`, multiprocessing hooks, ...) after main.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InitPhase {
    /// Before CPython is touched: configuration resolution and validation.
    Configuration,
    /// `Py_PreInitializeFromBytesArgs()` / `Py_PreInitialize()`.
    PreInitialization,
    /// Building the `PyConfig` (setting strings and lists on it).
    Config,
    /// `Py_InitializeFromConfig()` with `_init_main = 0`.
    Core,
    /// Installing the packed-resources importer on `sys.meta_path`.
    ImporterInstallation,
    /// `_Py_InitializeMain()`.
    Main,
    /// This crate's work once the interpreter runs (`sys` attributes, hooks).
    PostInitialization,
}

impl fmt::Display for InitPhase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            InitPhase::Configuration => "configuration",
            InitPhase::PreInitialization => "pre-initialization",
            InitPhase::Config => "config",
            InitPhase::Core => "core",
            InitPhase::ImporterInstallation => "importer installation",
            InitPhase::Main => "main",
            InitPhase::PostInitialization => "post-initialization",
        })
    }
}

/// An error creating a [`crate::MainPythonInterpreter`].
///
/// Each variant says which [`InitPhase`] failed and carries what CPython
/// reported: the `PyStatus` function and message, or the Python exception
/// type, value and traceback.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NewInterpreterError {
    /// A Python interpreter already runs in this process. CPython supports one
    /// main interpreter; drop the existing [`crate::MainPythonInterpreter`] first.
    #[error(
        "a Python interpreter already exists in this process; only one \
         MainPythonInterpreter may be alive at a time"
    )]
    AlreadyRunning,

    /// CPython was initialised and finalised before in this process. CPython
    /// does not support re-initialising the main interpreter reliably (extension
    /// modules keep static state), so this crate refuses.
    #[error(
        "a Python interpreter was already created and finalized in this process; \
         CPython cannot be initialized a second time reliably"
    )]
    AlreadyFinalized,

    /// The path of the running executable could not be determined.
    #[error("cannot determine the path of the current executable: {source}")]
    CurrentExe {
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A configuration field holds a value that cannot work.
    #[error("invalid configuration field `{field}`: {message}")]
    InvalidConfig {
        /// The field at fault, e.g. `interpreter_config.home`.
        field: &'static str,
        /// What is wrong with it.
        message: String,
    },

    /// A path named by the configuration does not exist.
    #[error("configuration field `{field}` names {path}, which does not exist")]
    MissingPath {
        /// The field at fault.
        field: &'static str,
        /// The path that was looked for.
        path: PathBuf,
    },

    /// A feature was requested that this build of the crate does not include.
    #[error("{what} is not available in this build: {hint}")]
    Unsupported {
        /// What was requested.
        what: String,
        /// How to get it.
        hint: String,
    },

    /// CPython returned an error `PyStatus`.
    #[error(
        "error during Python {phase}: {function}{sep}{message}",
        function = function.as_deref().unwrap_or(""),
        sep = if function.is_some() { ": " } else { "" }
    )]
    Status {
        /// The phase that failed.
        phase: InitPhase,
        /// `PyStatus.func`: the CPython function that failed.
        function: Option<String>,
        /// `PyStatus.err_msg`.
        message: String,
    },

    /// CPython asked the process to exit during initialisation (for example
    /// `--help` or `--version` with `parse_argv`).
    #[error("Python {phase} requested exit with code {code}")]
    Exit {
        /// The phase that requested exit.
        phase: InitPhase,
        /// The exit code.
        code: i32,
    },

    /// A Python exception was raised.
    #[error("error during Python {phase}: {context}: {exception}{traceback}",
        traceback = traceback.as_deref().map(|t| format!("\n{t}")).unwrap_or_default())]
    PythonException {
        /// The phase that failed.
        phase: InitPhase,
        /// What this crate was doing.
        context: String,
        /// `repr`-like `Type: value` text of the exception.
        exception: String,
        /// The formatted traceback, when there is one.
        traceback: Option<String>,
    },

    /// A packed-resources container named by `packed_resources` could not be
    /// opened for the importer, or is malformed or damaged. Containers are
    /// opened before CPython starts, so after this error the process can
    /// try again with a corrected configuration; the phase is
    /// [`InitPhase::ImporterInstallation`].
    #[error(
        "error during Python {phase}: cannot use packed resources {container}: {}",
        error_chain(&**error),
        phase = InitPhase::ImporterInstallation
    )]
    PackedResources {
        /// The source: the file's path, or a description of the in-memory
        /// container.
        container: String,
        /// What is wrong with it. Its causes are part of this error's
        /// message.
        error: Box<crate::resources::ContainerError>,
    },

    /// A packed-resources container is intact but is not the one the
    /// configuration pins (`packed_resources_digests`). Checked before CPython
    /// starts; the phase is [`InitPhase::ImporterInstallation`].
    #[error(
        "error during Python {phase}: packed resources {container} have content digest \
         {actual}, but this program only runs {expected}; hint: the payload was replaced \
         or rebuilt, rebuild the program with the new digest or restore the original",
        phase = InitPhase::ImporterInstallation
    )]
    UnexpectedPackedResources {
        /// The source: the file's path, or a description of the in-memory
        /// container.
        container: String,
        /// The pinned digest, hex.
        expected: String,
        /// The container's content digest, hex.
        actual: String,
    },

    /// A static message (kept for compatibility with pyembed 0.24).
    #[error("{0}")]
    Simple(&'static str),

    /// A dynamic message (kept for compatibility with pyembed 0.24).
    #[error("{0}")]
    Dynamic(String),
}

impl NewInterpreterError {
    /// The phase the error belongs to.
    pub fn phase(&self) -> InitPhase {
        match self {
            Self::Status { phase, .. }
            | Self::Exit { phase, .. }
            | Self::PythonException { phase, .. } => *phase,
            Self::PackedResources { .. } | Self::UnexpectedPackedResources { .. } => {
                InitPhase::ImporterInstallation
            }
            _ => InitPhase::Configuration,
        }
    }
}

/// `error` and its causes, joined by `: `.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
