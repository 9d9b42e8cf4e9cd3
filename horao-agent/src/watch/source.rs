//! The watch feed as a [`DesiredSource`]: while the feed is live and its state whole, the
//! volumes and the images come from the views the follower keeps (no request per step: the
//! server puts on an agent's feed every image with a copy on its machine and every image
//! taken from one of its volumes) and the loop is woken when they change; while it is down,
//! or while its state has no images yet (one persisted by an agent that did not follow them,
//! until the fresh snapshot it asks for is whole), every step polls the REST API as the
//! polling source does, volumes and images. Each such listing is counted in the metrics
//! (`horao_agent_rest_listings_total{kind}`).

use super::conn::Endpoint;
use super::feed::FeedState;
use super::follower::{Follower, FollowerSettings, Shared};
use crate::metrics::{Metrics, RestListing};
use crate::server::client::{Client, ClientError, Listing};
use crate::server::source::DesiredSource;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the follower needs to start.
#[derive(Debug)]
struct Start {
    endpoint: Endpoint,
    metrics: Arc<Metrics>,
    settings: FollowerSettings,
    seed: u64,
}

/// The marks of the last state handed out to be persisted.
#[derive(Debug)]
struct Saved {
    cursor: Option<u64>,
    revision: u64,
    at: Instant,
}

/// The feed, with the REST client as its fallback.
#[derive(Debug)]
pub struct WatchSource {
    client: Client,
    metrics: Arc<Metrics>,
    shared: Arc<Shared>,
    start: Option<Start>,
    follower: Option<Follower>,
    seen: u64,
    saved: Option<Saved>,
}

/// Changed views or deletes are persisted at most this often (a restart replays the changes
/// after the persisted cursor, so a later write loses nothing but replay time).
const VIEWS_EVERY: Duration = Duration::from_secs(5);
/// A cursor that only moved (progress, the agent's own reports) is persisted at most this
/// often.
const CURSOR_EVERY: Duration = Duration::from_secs(60);

impl WatchSource {
    /// A source following `endpoint` (started at [`DesiredSource::resume`] or at the first
    /// fetch), polling through `client` while the feed is down.
    pub fn new(
        client: Client,
        endpoint: Endpoint,
        metrics: Arc<Metrics>,
        settings: FollowerSettings,
        seed: u64,
    ) -> Self {
        Self {
            client,
            metrics: Arc::clone(&metrics),
            shared: Arc::new(Shared::default()),
            start: Some(Start {
                endpoint,
                metrics,
                settings,
                seed,
            }),
            follower: None,
            seen: 0,
            saved: None,
        }
    }

    fn ensure_started(&mut self, saved: Option<FeedState>) {
        let Some(s) = self.start.take() else {
            return;
        };
        self.shared = Arc::new(Shared::new(saved));
        let shared = Arc::clone(&self.shared);
        match Follower::start(s.endpoint, shared, s.metrics, s.settings, s.seed) {
            Ok(f) => self.follower = Some(f),
            Err(e) => tracing::error!(%e, "cannot start the watch thread; polling"),
        }
    }

    /// Whether the feed is live.
    pub fn live(&self) -> bool {
        self.shared.read().live
    }
}

impl DesiredSource for WatchSource {
    fn fetch(&mut self, machine: &str) -> Result<Listing, ClientError> {
        self.ensure_started(None);
        let read = self.shared.read();
        self.seen = read.revision;
        match read.state {
            Some(FeedState {
                volumes,
                deleted,
                images: Some(images),
                ..
            }) if read.live => Ok(Listing {
                total: volumes.len(),
                volumes: volumes.into_values().collect(),
                images_total: images.len(),
                images: images.into_values().collect(),
                deleted,
            }),
            known => {
                let mut listing = self.client.list(machine)?;
                self.metrics.record_rest_listing(RestListing::Volumes);
                self.metrics.record_rest_listing(RestListing::Images);
                if let Some(mut s) = known {
                    s.deleted
                        .retain(|id| !listing.volumes.iter().any(|v| v.id.as_str() == id));
                    listing.deleted = s.deleted;
                }
                Ok(listing)
            }
        }
    }

    fn wait(&mut self, timeout: Duration) -> bool {
        if self.follower.is_none() {
            std::thread::sleep(timeout);
            return false;
        }
        self.shared.wait(self.seen, timeout) != self.seen
    }

    fn resume(&mut self, saved: Option<FeedState>) {
        self.ensure_started(saved);
    }

    fn checkpoint(&mut self, force: bool) -> Option<FeedState> {
        let (cursor, revision) = self.shared.marks();
        cursor?;
        let due = match &self.saved {
            None => true,
            Some(s) => {
                let every = if s.revision != revision {
                    VIEWS_EVERY
                } else {
                    CURSOR_EVERY
                };
                (s.revision != revision || s.cursor != cursor) && (force || s.at.elapsed() >= every)
            }
        };
        if !due {
            return None;
        }
        self.saved = Some(Saved {
            cursor,
            revision,
            at: Instant::now(),
        });
        self.shared.read().state
    }

    fn deletes_done(&mut self, ids: &[String]) {
        self.shared.forget_deleted(ids.iter().map(String::as_str));
    }
}
