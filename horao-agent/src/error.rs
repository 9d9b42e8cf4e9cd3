//! The crate's one error type: every failure of a btrfs command, a file operation or a local
//! state file, classified so the reconcile loop and its reports can tell them apart.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::Duration;

/// What kind of failure an [`Error`] is, as reported per volume (kebab-case in JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorClass {
    /// Quotas are not enabled on the filesystem.
    QuotaNotEnabled,
    /// The target path already exists.
    TargetExists,
    /// The filesystem is full (ENOSPC).
    NoSpace,
    /// A qgroup limit was hit (EDQUOT).
    QuotaExceeded,
    /// The path is not on a btrfs filesystem.
    NotBtrfs,
    /// The agent may not do this (EACCES, EPERM).
    PermissionDenied,
    /// A path, subvolume or qgroup does not exist (ENOENT).
    NotFound,
    /// The object is in use (EBUSY).
    Busy,
    /// The target is read-only (EROFS).
    ReadOnly,
    /// The command did not finish in time.
    Timeout,
    /// The program could not be started.
    Spawn,
    /// A command's output or a state file could not be understood.
    Parse,
    /// A limit would be set below what the volume already references.
    BelowUsage,
    /// A value read back after a change is not what was written.
    Mismatch,
    /// Anything else.
    Other,
}

impl ErrorClass {
    /// The class's name as written in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::QuotaNotEnabled => "quota-not-enabled",
            Self::TargetExists => "target-exists",
            Self::NoSpace => "no-space",
            Self::QuotaExceeded => "quota-exceeded",
            Self::NotBtrfs => "not-btrfs",
            Self::PermissionDenied => "permission-denied",
            Self::NotFound => "not-found",
            Self::Busy => "busy",
            Self::ReadOnly => "read-only",
            Self::Timeout => "timeout",
            Self::Spawn => "spawn",
            Self::Parse => "parse",
            Self::BelowUsage => "below-usage",
            Self::Mismatch => "mismatch",
            Self::Other => "other",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where a failure happened: the operation (a command line or a file operation and its path),
/// the exit code when a command ran, and what it said (stderr, or the OS error).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// The command line, or the file operation and its path.
    pub operation: String,
    /// The exit code of a command that ran to its end.
    pub code: Option<i32>,
    /// The command's stderr (trimmed) or the OS error message.
    pub detail: String,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`", self.operation)?;
        if let Some(code) = self.code {
            write!(f, " exited with {code}")?;
        }
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// Every failure of the agent library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Quotas are not enabled on the filesystem.
    #[error("quotas are not enabled: {0}")]
    QuotaNotEnabled(Context),
    /// The target path already exists.
    #[error("target exists: {0}")]
    TargetExists(Context),
    /// The filesystem is full.
    #[error("no space left: {0}")]
    NoSpace(Context),
    /// A write or a limit change hit a qgroup limit (EDQUOT).
    #[error("quota exceeded: {0}")]
    QuotaExceeded(Context),
    /// The path is not on a btrfs filesystem.
    #[error("not a btrfs filesystem: {0}")]
    NotBtrfs(Context),
    /// The operation is not permitted.
    #[error("permission denied: {0}")]
    PermissionDenied(Context),
    /// A path, subvolume or qgroup does not exist.
    #[error("not found: {0}")]
    NotFound(Context),
    /// The object is busy.
    #[error("busy: {0}")]
    Busy(Context),
    /// The target is read-only.
    #[error("read-only: {0}")]
    ReadOnly(Context),
    /// A command did not finish within its timeout and was killed.
    #[error("`{command}` timed out after {after:?} and was killed")]
    Timeout {
        /// The command line.
        command: String,
        /// The timeout.
        after: Duration,
    },
    /// A program could not be started (missing, not executable).
    #[error("cannot start {0}")]
    Spawn(Context),
    /// Output or a state file that could not be understood.
    #[error("cannot parse {what}: {detail}")]
    Parse {
        /// What was being parsed.
        what: String,
        /// What was wrong.
        detail: String,
    },
    /// A limit below the bytes the volume already references (that write would fail with
    /// EDQUOT or leave the volume over its quota).
    #[error("limit {limit} is below the {referenced} bytes the volume references")]
    BelowUsage {
        /// The requested limit.
        limit: u64,
        /// The bytes referenced now.
        referenced: u64,
    },
    /// A value read back after a change differs from the value written.
    #[error("{what}: wrote {wrote}, read back {read}")]
    Mismatch {
        /// What was written.
        what: String,
        /// The value written.
        wrote: String,
        /// The value read back.
        read: String,
    },
    /// A volume or image name that could escape the agent's root or is otherwise unusable.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name (lossy for display).
        name: String,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// Any other failure, with what the command or the OS said.
    #[error("{0}")]
    Other(Context),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error built from a class and its context (timeouts and parse failures have their
    /// own constructors and are never built here).
    pub fn from_class(class: ErrorClass, context: Context) -> Self {
        match class {
            ErrorClass::QuotaNotEnabled => Self::QuotaNotEnabled(context),
            ErrorClass::TargetExists => Self::TargetExists(context),
            ErrorClass::NoSpace => Self::NoSpace(context),
            ErrorClass::QuotaExceeded => Self::QuotaExceeded(context),
            ErrorClass::NotBtrfs => Self::NotBtrfs(context),
            ErrorClass::PermissionDenied => Self::PermissionDenied(context),
            ErrorClass::NotFound => Self::NotFound(context),
            ErrorClass::Busy => Self::Busy(context),
            ErrorClass::ReadOnly => Self::ReadOnly(context),
            ErrorClass::Spawn => Self::Spawn(context),
            _ => Self::Other(context),
        }
    }

    /// The class of this error.
    pub fn class(&self) -> ErrorClass {
        match self {
            Self::QuotaNotEnabled(_) => ErrorClass::QuotaNotEnabled,
            Self::TargetExists(_) => ErrorClass::TargetExists,
            Self::NoSpace(_) => ErrorClass::NoSpace,
            Self::QuotaExceeded(_) => ErrorClass::QuotaExceeded,
            Self::NotBtrfs(_) => ErrorClass::NotBtrfs,
            Self::PermissionDenied(_) => ErrorClass::PermissionDenied,
            Self::NotFound(_) => ErrorClass::NotFound,
            Self::Busy(_) => ErrorClass::Busy,
            Self::ReadOnly(_) => ErrorClass::ReadOnly,
            Self::Timeout { .. } => ErrorClass::Timeout,
            Self::Spawn(_) => ErrorClass::Spawn,
            Self::Parse { .. } | Self::InvalidName { .. } => ErrorClass::Parse,
            Self::BelowUsage { .. } => ErrorClass::BelowUsage,
            Self::Mismatch { .. } => ErrorClass::Mismatch,
            Self::Other(_) => ErrorClass::Other,
        }
    }

    /// A parse failure.
    pub fn parse(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::Parse {
            what: what.into(),
            detail: detail.into(),
        }
    }
}
