//! Classification of failures: a command's exit code and stderr, or an OS error number, into
//! an [`ErrorClass`]. Pure functions, so every message btrfs-progs is known to print is pinned
//! by a test.

use crate::error::{Context, Error, ErrorClass};
use std::io;
use std::path::Path;

/// Linux error numbers the agent tells apart (asm-generic/errno-base.h and errno.h).
mod errno {
    pub(super) const EPERM: i32 = 1;
    pub(super) const ENOENT: i32 = 2;
    pub(super) const EACCES: i32 = 13;
    pub(super) const EBUSY: i32 = 16;
    pub(super) const EEXIST: i32 = 17;
    pub(super) const ENOSPC: i32 = 28;
    pub(super) const EROFS: i32 = 30;
    pub(super) const EDQUOT: i32 = 122;
}

/// Stderr fragments (lower case) and their classes, most specific first: btrfs-progs often
/// prints an operation's failure followed by the OS error's text, so the order decides which
/// of two matching fragments wins.
const STDERR_RULES: &[(&str, ErrorClass)] = &[
    ("quota not enabled", ErrorClass::QuotaNotEnabled),
    ("quotas not enabled", ErrorClass::QuotaNotEnabled),
    ("disk quota exceeded", ErrorClass::QuotaExceeded),
    ("no space left on device", ErrorClass::NoSpace),
    ("target path already exists", ErrorClass::TargetExists),
    ("file exists", ErrorClass::TargetExists),
    ("not a btrfs filesystem", ErrorClass::NotBtrfs),
    ("not a valid btrfs filesystem", ErrorClass::NotBtrfs),
    ("permission denied", ErrorClass::PermissionDenied),
    ("operation not permitted", ErrorClass::PermissionDenied),
    ("device or resource busy", ErrorClass::Busy),
    ("read-only file system", ErrorClass::ReadOnly),
    ("no such file or directory", ErrorClass::NotFound),
];

/// The class of a command that exited with `code` after printing `stderr`.
///
/// The exit code alone says little (btrfs-progs exits 1 for nearly everything), so the class
/// comes from stderr; a failure whose stderr matches nothing is [`ErrorClass::Other`].
pub fn classify_stderr(_code: Option<i32>, stderr: &str) -> ErrorClass {
    let lower = stderr.to_ascii_lowercase();
    STDERR_RULES
        .iter()
        .find(|(fragment, _)| lower.contains(fragment))
        .map_or(ErrorClass::Other, |&(_, class)| class)
}

/// The class of an OS error (from a file operation the agent does itself).
pub fn classify_io(err: &io::Error) -> ErrorClass {
    match err.raw_os_error() {
        Some(errno::EDQUOT) => ErrorClass::QuotaExceeded,
        Some(errno::ENOSPC) => ErrorClass::NoSpace,
        Some(errno::EPERM | errno::EACCES) => ErrorClass::PermissionDenied,
        Some(errno::ENOENT) => ErrorClass::NotFound,
        Some(errno::EEXIST) => ErrorClass::TargetExists,
        Some(errno::EBUSY) => ErrorClass::Busy,
        Some(errno::EROFS) => ErrorClass::ReadOnly,
        _ => match err.kind() {
            io::ErrorKind::NotFound => ErrorClass::NotFound,
            io::ErrorKind::PermissionDenied => ErrorClass::PermissionDenied,
            io::ErrorKind::AlreadyExists => ErrorClass::TargetExists,
            _ => ErrorClass::Other,
        },
    }
}

/// The typed error for an OS error raised by `operation` on `path`.
pub fn io_error(operation: &str, path: &Path, err: &io::Error) -> Error {
    Error::from_class(
        classify_io(err),
        Context {
            operation: format!("{operation} {}", path.display()),
            code: None,
            detail: err.to_string(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One case per message btrfs-progs 6.2 printed on a real filesystem.
    #[test]
    fn btrfs_progs_messages() {
        let cases = [
            (
                "ERROR: unable to limit requested quota group: quota not enabled",
                ErrorClass::QuotaNotEnabled,
            ),
            (
                "ERROR: can't list qgroups: quotas not enabled",
                ErrorClass::QuotaNotEnabled,
            ),
            (
                "ERROR: target path already exists: mnt/a",
                ErrorClass::TargetExists,
            ),
            (
                "ERROR: cannot create subvolume: No space left on device",
                ErrorClass::NoSpace,
            ),
            (
                "ERROR: cannot snapshot 'a': Disk quota exceeded",
                ErrorClass::QuotaExceeded,
            ),
            ("ERROR: not a btrfs filesystem: /tmp", ErrorClass::NotBtrfs),
            (
                "ERROR: not a valid btrfs filesystem: /tmp",
                ErrorClass::NotBtrfs,
            ),
            (
                "ERROR: cannot create subvolume: Permission denied",
                ErrorClass::PermissionDenied,
            ),
            (
                "ERROR: Could not statfs: No such file or directory",
                ErrorClass::NotFound,
            ),
            (
                "ERROR: unable to destroy quota group: Device or resource busy",
                ErrorClass::Busy,
            ),
            (
                "ERROR: cannot snapshot 'mnt/a': Read-only file system",
                ErrorClass::ReadOnly,
            ),
            (
                "ERROR: Could not destroy subvolume/snapshot: Directory not empty",
                ErrorClass::Other,
            ),
            ("", ErrorClass::Other),
        ];
        for (stderr, class) in cases {
            assert_eq!(classify_stderr(Some(1), stderr), class, "{stderr}");
        }
    }

    #[test]
    fn os_errors() {
        let cases = [
            (errno::EDQUOT, ErrorClass::QuotaExceeded),
            (errno::ENOSPC, ErrorClass::NoSpace),
            (errno::EPERM, ErrorClass::PermissionDenied),
            (errno::EACCES, ErrorClass::PermissionDenied),
            (errno::ENOENT, ErrorClass::NotFound),
            (errno::EEXIST, ErrorClass::TargetExists),
            (errno::EBUSY, ErrorClass::Busy),
            (errno::EROFS, ErrorClass::ReadOnly),
            (5, ErrorClass::Other),
        ];
        for (code, class) in cases {
            assert_eq!(classify_io(&io::Error::from_raw_os_error(code)), class);
        }
        let err = io_error("write", Path::new("/x"), &io::Error::from_raw_os_error(122));
        assert!(matches!(err, Error::QuotaExceeded(_)), "{err}");
        assert_eq!(err.class(), ErrorClass::QuotaExceeded);
    }
}
