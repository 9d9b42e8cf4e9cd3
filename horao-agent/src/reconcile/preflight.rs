//! The check the agent runs once at start: the root is on btrfs, quotas are on, consistent and
//! not rescanning. Otherwise it refuses, saying what to run. It never disables quotas and
//! enables them only when asked to, then waits for the rescan that starts.

use crate::btrfs::{Btrfs, FsStatus};
use crate::error::{Error, ErrorClass};
use std::fmt;
use std::path::Path;

/// Why the agent will not reconcile `root` as it is, and what fixes it.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The class of the problem.
    pub class: ErrorClass,
    /// What is wrong.
    pub message: String,
    /// The command an operator runs to fix it, when there is one.
    pub remedy: Option<String>,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(r) = &self.remedy {
            write!(f, "; run `{r}`")?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

fn refuse(err: Error) -> Refusal {
    Refusal {
        class: err.class(),
        message: err.to_string(),
        remedy: None,
    }
}

/// Checks `root`; with `enable_quotas`, enables quotas that are off and waits for the rescan.
pub fn preflight<B: Btrfs + ?Sized>(
    btrfs: &B,
    root: &Path,
    enable_quotas: bool,
) -> Result<FsStatus, Refusal> {
    let shown = root.display();
    let mut status = btrfs.status(root).map_err(refuse)?;
    if !status.quotas_enabled {
        if !enable_quotas {
            return Err(Refusal {
                class: ErrorClass::QuotaNotEnabled,
                message: format!("quotas are not enabled on {shown}"),
                remedy: Some(format!(
                    "btrfs quota enable {shown} && btrfs quota rescan -W {shown}"
                )),
            });
        }
        btrfs.enable_quotas(root).map_err(refuse)?;
        btrfs.wait_rescan(root).map_err(refuse)?;
        status = btrfs.status(root).map_err(refuse)?;
    }
    if status.rescan_running {
        return Err(Refusal {
            class: ErrorClass::Busy,
            message: format!("a quota rescan is running on {shown}"),
            remedy: Some(format!("btrfs quota rescan -W {shown}")),
        });
    }
    if status.inconsistent {
        return Err(Refusal {
            class: ErrorClass::Other,
            message: format!("the qgroup figures of {shown} are inconsistent"),
            remedy: Some(format!("btrfs quota rescan -w {shown}")),
        });
    }
    Ok(status)
}
