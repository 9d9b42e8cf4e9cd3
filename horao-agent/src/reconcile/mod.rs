//! The reconcile loop: level-triggered and idempotent. Each pass observes the filesystem once,
//! decides what every desired volume and image needs (admission included), does it, and
//! reports what is there. It keeps no state on disk of its own, so a pass after a crash at any
//! point repairs what the crash left half done.
//!
//! Call order: [`preflight`] once at start; then [`Reconciler::pass`] as often as wanted, each
//! time with the desired state and the current time on any monotonic clock (the loop reads
//! no clock itself).

mod admission;
mod apply;
mod backoff;
mod observe;
mod preflight;
#[cfg(test)]
mod tests;

pub use admission::limit_bytes;
pub use backoff::Backoff;
pub use preflight::{Refusal, preflight};

use crate::btrfs::{Btrfs, FsStatus, Ownership};
use crate::desired::{DesiredImage, DesiredState, DesiredVolume, Presence};
use crate::error::{Error, ErrorClass, Result};
use crate::name::Name;
use crate::report::{Blocked, ImageReport, PassReport, State, VolumeReport};
use admission::Verdict;
use apply::{Cx, Present, VolumeSpec};
use backoff::BackoffTable;
use observe::Observed;
use std::collections::BTreeSet;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::time::Duration;

/// Settings of the loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// The root: volume N is the subvolume `root/N`, image M is `root/.images/M`.
    pub root: PathBuf,
    /// The share of the filesystem's capacity, in percent, that the limits of admitted
    /// volumes may add up to (100: no overcommit).
    pub admission_percent: u32,
    /// Retry delays of failing volumes and images.
    pub backoff: Backoff,
    /// How often stale qgroups are cleared besides after every pass that deleted something
    /// and the first pass.
    pub clear_stale_every: Duration,
}

impl Config {
    /// The defaults for `root`: no overcommit, backoff 1 s doubling to 5 min, stale qgroups
    /// cleared every 10 minutes.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            admission_percent: 100,
            backoff: Backoff::default(),
            clear_stale_every: Duration::from_secs(600),
        }
    }
}

/// The reconcile loop's memory between passes: backoff per item and the last stale-qgroup
/// cleanup. Losing it (a restart) only makes the next pass retry everything at once.
#[derive(Debug)]
pub struct Reconciler {
    config: Config,
    backoff: BackoffTable,
    last_clear_stale: Option<Duration>,
}

fn fingerprint(value: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

fn millis(t: Duration) -> u64 {
    u64::try_from(t.as_millis()).unwrap_or(u64::MAX)
}

/// Why a filesystem cannot be reconciled at all, if it cannot.
fn blocked(root: &std::path::Path, status: Result<FsStatus>) -> Result<FsStatus, Blocked> {
    match status {
        Ok(s) if s.quotas_enabled => Ok(s),
        Ok(_) => Err(Blocked {
            class: ErrorClass::QuotaNotEnabled,
            message: "quotas are not enabled, so no volume can be limited".into(),
            remedy: Some(format!("btrfs quota enable {}", root.display())),
        }),
        Err(e) => Err(Blocked {
            class: e.class(),
            message: e.to_string(),
            remedy: None,
        }),
    }
}

impl Reconciler {
    /// A loop with `config` and no history.
    pub fn new(config: Config) -> Self {
        Self {
            config,
            backoff: BackoffTable::default(),
            last_clear_stale: None,
        }
    }

    /// The loop's settings.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// One pass at time `now` (any monotonic clock, the same one every call).
    pub fn pass<B: Btrfs + ?Sized>(
        &mut self,
        btrfs: &B,
        desired: &DesiredState,
        now: Duration,
    ) -> PassReport {
        let root = self.config.root.clone();
        let mut report = PassReport::default();
        let status = match blocked(&root, btrfs.status(&root)) {
            Ok(s) => s,
            Err(b) => {
                report.blocked = Some(b);
                return report;
            }
        };
        report.degraded = status.inconsistent || status.rescan_running;
        let observed = match observe(btrfs, &root, &mut report) {
            Ok(o) => o,
            Err(e) => {
                report.blocked = Some(Blocked {
                    class: e.class(),
                    message: e.to_string(),
                    remedy: None,
                });
                return report;
            }
        };
        let budget = report.usage.map_or(0, |u| {
            let share = u128::from(u.capacity_bytes) * u128::from(self.config.admission_percent);
            u64::try_from(share / 100).unwrap_or(u64::MAX)
        });
        let verdicts = admission::admit(&desired.volumes, |n| observed.volume(n).is_some(), budget);
        let mut cx = Cx {
            btrfs,
            root: &root,
            observed: &observed,
            degraded: report.degraded,
            changes: 0,
            deleted: 0,
        };
        // Images first: volumes made from them need them.
        report.images = desired
            .images
            .iter()
            .map(|img| self.image(&mut cx, img, now))
            .collect();
        report.volumes = desired
            .volumes
            .iter()
            .zip(&verdicts)
            .map(|(v, verdict)| self.volume(&mut cx, v, verdict, now))
            .collect();
        let (changes, deleted) = (cx.changes, cx.deleted);
        report.changes = changes;
        let volume_names: BTreeSet<&str> =
            desired.volumes.iter().map(|v| v.name.as_str()).collect();
        let image_names: BTreeSet<&str> = desired.images.iter().map(|i| i.name.as_str()).collect();
        report.orphans = observed.orphans(&volume_names, &image_names);
        report.escapes = observed.escapes();
        self.backoff.retain(|key| {
            key.strip_prefix("volume:")
                .is_some_and(|id| desired.volumes.iter().any(|v| v.id == id))
                || key
                    .strip_prefix("image:")
                    .is_some_and(|n| image_names.contains(n))
        });
        let due = self
            .last_clear_stale
            .is_none_or(|t| now.saturating_sub(t) >= self.config.clear_stale_every);
        if deleted > 0 || due {
            match btrfs.clear_stale(&root) {
                Ok(()) => self.last_clear_stale = Some(now),
                Err(e) => report.warnings.push(format!("clearing stale qgroups: {e}")),
            }
        }
        report
    }

    /// Runs `step` for the item `key` unless it is backing off; records the outcome.
    fn attempt<T>(
        &mut self,
        key: &str,
        print: u64,
        now: Duration,
        step: impl FnOnce() -> Result<T>,
    ) -> Result<T, State> {
        if let Some(f) = self.backoff.waiting(key, print, now) {
            return Err(State::Failed {
                class: f.class,
                message: f.message.clone(),
                retry_at_ms: millis(f.retry_at),
            });
        }
        match step() {
            Ok(t) => {
                self.backoff.succeed(key);
                Ok(t)
            }
            Err(e) => {
                let f = self.backoff.fail(
                    &self.config.backoff,
                    key,
                    print,
                    now,
                    e.class(),
                    e.to_string(),
                );
                Err(State::Failed {
                    class: f.class,
                    message: f.message.clone(),
                    retry_at_ms: millis(f.retry_at),
                })
            }
        }
    }

    fn volume<B: Btrfs + ?Sized>(
        &mut self,
        cx: &mut Cx<'_, B>,
        v: &DesiredVolume,
        verdict: &Verdict,
        now: Duration,
    ) -> VolumeReport {
        let mut report = VolumeReport {
            id: v.id.clone(),
            name: v.name.clone(),
            state: State::Gone,
            subvolume_id: None,
            used_bytes: None,
            limit_bytes: None,
            read_only: None,
        };
        let key = format!("volume:{}", v.id);
        let print = fingerprint(v);
        report.state = match verdict {
            Verdict::Reject(reason) => State::Rejected {
                reason: reason.clone(),
            },
            Verdict::Delete { name } => {
                let seen = cx.observed.volume(name).is_some();
                let path = name.volume_path(cx.root);
                match self.attempt(&key, print, now, || cx.ensure_deleted(&path, seen)) {
                    Ok(()) => State::Gone,
                    Err(state) => state,
                }
            }
            Verdict::Keep {
                name,
                limit,
                origin,
            } => {
                let spec = VolumeSpec {
                    name,
                    limit: *limit,
                    origin,
                    ownership: Ownership {
                        uid: v.owner_uid,
                        gid: v.owner_gid,
                        mode: v.mode,
                    },
                };
                match self.attempt(&key, print, now, || cx.ensure_volume(&spec)) {
                    Ok(p) => fill(&mut report, p),
                    Err(state) => state,
                }
            }
        };
        report
    }

    fn image<B: Btrfs + ?Sized>(
        &mut self,
        cx: &mut Cx<'_, B>,
        img: &DesiredImage,
        now: Duration,
    ) -> ImageReport {
        let mut report = ImageReport {
            name: img.name.clone(),
            state: State::Gone,
            subvolume_id: None,
            used_bytes: None,
        };
        let names = Name::new(&img.name).and_then(|n| {
            let from = img.from_volume.as_deref().map(Name::new).transpose()?;
            Ok((n, from))
        });
        let (name, from) = match names {
            Ok(names) => names,
            Err(e) => {
                report.state = State::Rejected {
                    reason: e.to_string(),
                };
                return report;
            }
        };
        let key = format!("image:{}", img.name);
        let print = fingerprint(img);
        report.state = match img.desired {
            Presence::Deleted => {
                let seen = cx.observed.image(&name).is_some();
                let path = name.image_path(cx.root);
                match self.attempt(&key, print, now, || cx.ensure_deleted(&path, seen)) {
                    Ok(()) => State::Gone,
                    Err(state) => state,
                }
            }
            Presence::Present => {
                match self.attempt(&key, print, now, || cx.ensure_image(&name, from.as_ref())) {
                    Ok(p) => {
                        report.subvolume_id = Some(p.subvolume_id);
                        report.used_bytes = Some(p.qgroup.referenced);
                        p.state
                    }
                    Err(state) => state,
                }
            }
        };
        report
    }
}

fn fill(report: &mut VolumeReport, p: Present) -> State {
    report.subvolume_id = Some(p.subvolume_id);
    report.used_bytes = Some(p.qgroup.referenced);
    report.limit_bytes = p.qgroup.max_referenced;
    report.read_only = Some(p.read_only);
    p.state
}

/// Takes the pass's one look at the filesystem: usage, subvolumes and qgroups.
fn observe<B: Btrfs + ?Sized>(
    btrfs: &B,
    root: &std::path::Path,
    report: &mut PassReport,
) -> Result<Observed, Error> {
    report.usage = Some(btrfs.usage(root)?);
    Ok(Observed::new(btrfs.list(root)?, btrfs.qgroups(root)?))
}
