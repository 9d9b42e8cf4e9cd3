//! The agent's loop around the reconciler: register the machine, fetch the desired volumes,
//! keep the last trusted desired state on disk, run a pass, report what changed, and report
//! the machine's usage — on change and at a modest interval, never per pass.
//!
//! While the server cannot be reached (or answers with an incomplete listing) the loop keeps
//! reconciling the last desired state it trusted and deletes nothing because of it. Only a
//! refused token stops it: nothing will work until an operator fixes it.
//!
//! Passes run every interval (level-triggered) and, with a source that can tell (the watch
//! feed), as soon as the desired state changed between them.

use crate::btrfs::{Btrfs, Usage};
use crate::desired::DesiredState;
use crate::metrics::Metrics;
use crate::persist::StateFile;
use crate::reconcile::{Config, Reconciler};
use crate::report::PassReport;
use crate::server::client::{Client, ClientError};
use crate::server::gate::{Gate, significant};
use crate::server::mapping::{
    current_of, desired_from, failed, nested_in, orphans_of, with_deletes,
};
use crate::server::source::{DesiredSource, distrust};
use horao_model::api::LabelMap;
use horao_model::api::storage::{PutMachine, VolumeCurrentView};
use horao_model::storage::MachineState;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Settings of the loop.
#[derive(Clone, Debug)]
pub struct Settings {
    /// This machine's name (its id on the server).
    pub machine: String,
    /// Its labels.
    pub labels: LabelMap,
    /// The time between passes.
    pub interval: Duration,
    /// How often unchanged reports are refreshed.
    pub report_interval: Duration,
    /// Delete orphan subvolumes (off by default; see [`Daemon::step`]).
    pub delete_orphans: bool,
}

/// The loop's state.
#[derive(Debug)]
pub struct Daemon<B: Btrfs, S: DesiredSource> {
    settings: Settings,
    btrfs: B,
    source: S,
    client: Client,
    state_file: StateFile,
    reconciler: Reconciler,
    metrics: Arc<Metrics>,
    desired: DesiredState,
    refused: BTreeMap<String, String>,
    /// Volumes the feed deleted explicitly, from the last listing (not reported: the server
    /// no longer has them).
    deleted: BTreeSet<String>,
    /// The feed state last persisted with the desired state.
    feed: Option<crate::watch::FeedState>,
    fresh: bool,
    registered: bool,
    volumes: Gate<VolumeCurrentView>,
    machine: Gate<(Option<MachineState>, Option<u64>, Vec<String>)>,
}

fn unix_now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// What a request's failure means for the rest of the step.
enum Next {
    Continue,
    StopReporting,
}

impl<B: Btrfs, S: DesiredSource> Daemon<B, S> {
    /// A loop reconciling `config.root`, starting from the persisted desired state (empty when
    /// there is none or it cannot be read: an empty desired state deletes nothing); the
    /// source resumes from what was persisted with it.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: Settings,
        config: Config,
        btrfs: B,
        mut source: S,
        client: Client,
        state_file: StateFile,
        metrics: Arc<Metrics>,
    ) -> Self {
        let saved = match state_file.load_all() {
            Ok(d) => d.unwrap_or_default(),
            Err(e) => {
                tracing::warn!(%e, "the persisted desired state cannot be read; starting empty");
                Default::default()
            }
        };
        source.resume(saved.feed.clone());
        let refresh = settings.report_interval;
        Self {
            settings,
            btrfs,
            source,
            client,
            state_file,
            reconciler: Reconciler::new(config),
            metrics,
            desired: saved.desired,
            refused: BTreeMap::new(),
            deleted: BTreeSet::new(),
            feed: saved.feed,
            fresh: false,
            registered: false,
            volumes: Gate::new(refresh),
            machine: Gate::new(refresh),
        }
    }

    /// The desired state being reconciled.
    pub fn desired(&self) -> &DesiredState {
        &self.desired
    }

    /// Handles a failed request: fatal errors stop the loop, an unreachable or failing
    /// server ends this step's reporting, anything else is logged.
    fn failed_request(&self, what: &str, e: ClientError) -> Result<Next, ClientError> {
        if e.is_fatal() {
            return Err(e);
        }
        self.metrics.record_server_error();
        tracing::warn!(%e, "{what}");
        Ok(match e {
            ClientError::Unreachable { .. } | ClientError::Server { .. } => Next::StopReporting,
            _ => Next::Continue,
        })
    }

    /// Registers or reports the machine: with `usage`, a report listing `orphans`.
    fn put_machine(
        &mut self,
        usage: Option<Usage>,
        orphans: Vec<String>,
        now: Duration,
    ) -> Result<Next, ClientError> {
        let body = PutMachine {
            labels: self.settings.labels.clone(),
            device: None,
            state: usage.map(|_| MachineState::Ready),
            capacity_bytes: usage.map(|u| u.capacity_bytes),
            used_bytes: usage.map(|u| u.used_bytes),
            orphans: if usage.is_some() { orphans } else { Vec::new() },
        };
        let key = (body.state, body.capacity_bytes, body.orphans.clone());
        if self.registered && !self.machine.due(&self.settings.machine, &key, now) {
            return Ok(Next::Continue);
        }
        match self.client.put_machine(&self.settings.machine, &body) {
            Ok(()) => {
                self.registered = true;
                self.machine.sent(&self.settings.machine, key, now);
                self.metrics.record_report(unix_now());
                Ok(Next::Continue)
            }
            Err(e) => self.failed_request("registering the machine", e),
        }
    }

    /// Replaces the desired state with the server's, when the server answers with a complete
    /// listing (see [`source`](crate::server::source)).
    fn refresh_desired(&mut self) -> Result<(), ClientError> {
        self.fresh = false;
        let listing = match self.source.fetch(&self.settings.machine) {
            Ok(l) => l,
            Err(e) => {
                self.failed_request("listing volumes; keeping the last desired state", e)?;
                return Ok(());
            }
        };
        if let Some(why) = distrust(&listing) {
            tracing::warn!(why, "keeping the last desired state");
            return Ok(());
        }
        let mut mapped = desired_from(&listing.volumes, &listing.images, &self.desired);
        with_deletes(&mut mapped, &listing.deleted, &self.desired);
        let feed = self.source.checkpoint(false);
        if mapped.desired != self.desired || feed.is_some() {
            if feed.is_some() {
                self.feed = feed;
            }
            if let Err(e) = self
                .state_file
                .save_with(&mapped.desired, self.feed.as_ref())
            {
                tracing::warn!(%e, "persisting the desired state");
            }
        }
        let listed: BTreeSet<&str> = listing.volumes.iter().map(|v| v.id.as_str()).collect();
        self.volumes.retain(|id| listed.contains(id));
        self.desired = mapped.desired;
        self.refused = mapped.refused;
        self.deleted = listing.deleted;
        self.fresh = true;
        Ok(())
    }

    /// Persists the source's state if it changed at all since it was last written (at exit,
    /// so a restart resumes from the latest cursor).
    fn checkpoint_on_exit(&mut self) {
        if let Some(feed) = self.source.checkpoint(true) {
            self.feed = Some(feed);
            if let Err(e) = self.state_file.save_with(&self.desired, self.feed.as_ref()) {
                tracing::warn!(%e, "persisting the desired state");
            }
        }
    }

    /// Refreshes the desired state between passes; true when it changed (a pass is due).
    fn desired_changed(&mut self) -> Result<bool, ClientError> {
        let (desired, refused) = (self.desired.clone(), self.refused.clone());
        self.refresh_desired()?;
        Ok(self.fresh && (self.desired != desired || self.refused != refused))
    }

    /// Tells the source which explicit deletes are carried out: the volume is gone, or the
    /// desired state has no entry for it (it was never on disk here).
    fn deletes_done(&mut self, report: &PassReport) {
        let done: Vec<String> = self
            .deleted
            .iter()
            .filter(|id| {
                let gone = report
                    .volumes
                    .iter()
                    .any(|r| &r.id == *id && r.state == crate::report::State::Gone);
                gone || !self.desired.volumes.iter().any(|v| &v.id == *id)
            })
            .cloned()
            .collect();
        if !done.is_empty() {
            self.source.deletes_done(&done);
        }
    }

    /// Deletes the orphans the pass found, when asked to and only right after a complete,
    /// non-empty listing: never on a persisted state, never on an empty listing.
    fn delete_orphans(&self, report: &PassReport) {
        if !(self.settings.delete_orphans && self.fresh && !self.desired.volumes.is_empty()) {
            return;
        }
        let root = &self.reconciler.config().root;
        for orphan in &report.orphans {
            let path = root.join(&orphan.path);
            let done = self
                .btrfs
                .delete_subvolume(&path)
                .and_then(|ids| self.btrfs.sync(root, &ids).map(|()| ids))
                .and_then(|ids| {
                    ids.iter()
                        .try_for_each(|id| self.btrfs.destroy_qgroup(root, *id))
                });
            match done {
                Ok(()) => tracing::info!(path = %path.display(), "deleted orphan"),
                Err(e) => tracing::warn!(%e, path = %path.display(), "deleting orphan"),
            }
        }
    }

    fn report(&mut self, report: &PassReport, now: Duration) -> Result<(), ClientError> {
        let mut views: Vec<(String, VolumeCurrentView)> = report
            .volumes
            .iter()
            .map(|r| {
                let refused = self.refused.get(&r.id).map(String::as_str);
                let mut view = current_of(r, report.degraded, refused);
                view.nested = nested_in(&report.escapes, &r.name);
                (r.id.clone(), view)
            })
            .collect();
        for (id, reason) in &self.refused {
            if !report.volumes.iter().any(|r| &r.id == id) {
                views.push((id.clone(), failed(reason)));
            }
        }
        for (id, view) in views {
            if self.deleted.contains(&id) {
                continue;
            }
            let key = significant(&view);
            if !self.volumes.due(&id, &key, now) {
                continue;
            }
            match self.client.put_current(&id, &view) {
                Ok(()) => {
                    self.volumes.sent(&id, key, now);
                    self.metrics.record_report(unix_now());
                }
                Err(e) => match self.failed_request("reporting a volume", e)? {
                    Next::Continue => {}
                    Next::StopReporting => return Ok(()),
                },
            }
        }
        // Until the server has the machine, the start of each step registers it.
        if self.registered && report.usage.is_some() {
            self.put_machine(report.usage, orphans_of(&report.orphans), now)?;
        }
        Ok(())
    }

    /// One step at `now` (any monotonic clock): register the machine until the server has
    /// it, refresh the desired state, run a pass, delete orphans when asked to, report.
    /// Fails only when the server refuses the token.
    pub fn step(&mut self, now: Duration) -> Result<PassReport, ClientError> {
        if !self.registered {
            let usage = self.btrfs.usage(&self.reconciler.config().root).ok();
            self.put_machine(usage, Vec::new(), now)?;
        }
        self.refresh_desired()?;
        let report = self.reconciler.pass(&self.btrfs, &self.desired, now);
        self.metrics.record_pass(&report, self.btrfs.latencies());
        self.delete_orphans(&report);
        if report.blocked.is_none() {
            self.deletes_done(&report);
            self.report(&report, now)?;
        }
        Ok(report)
    }

    /// Steps every interval, and as soon as the source says the desired state changed,
    /// until `stop` is set (checked between passes and while waiting), or once with `once`.
    /// Returns the last pass's report.
    pub fn run(&mut self, stop: &AtomicBool, once: bool) -> Result<PassReport, ClientError> {
        let start = Instant::now();
        loop {
            let began = start.elapsed();
            let report = self.step(began)?;
            match &report.blocked {
                Some(b) => {
                    tracing::error!(message = %b.message, remedy = ?b.remedy, "pass blocked")
                }
                None => tracing::info!(
                    changes = report.changes,
                    volumes = report.volumes.len(),
                    orphans = report.orphans.len(),
                    settled = report.settled(),
                    "pass"
                ),
            }
            if once {
                return Ok(report);
            }
            while start.elapsed() < began + self.settings.interval {
                if stop.load(Ordering::SeqCst) {
                    self.checkpoint_on_exit();
                    return Ok(report);
                }
                if self.source.wait(Duration::from_millis(100)) && self.desired_changed()? {
                    tracing::debug!("the desired state changed; reconciling now");
                    break;
                }
            }
            if stop.load(Ordering::SeqCst) {
                self.checkpoint_on_exit();
                return Ok(report);
            }
        }
    }
}

#[cfg(test)]
#[path = "daemon_tests.rs"]
mod tests;
