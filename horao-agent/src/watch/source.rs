//! The watch feed as a [`DesiredSource`]: while the feed is live, the volumes come from the
//! views the follower keeps (no request per step) and the loop is woken when they change;
//! while it is down, every step polls the REST API as the polling source does. Images are
//! listed through the REST API in both cases, at most once per interval: the feed shows an
//! agent only the images with a copy on its machine, not those taken from its volumes.

use super::conn::Endpoint;
use super::feed::FeedState;
use super::follower::{Follower, FollowerSettings, Shared};
use crate::metrics::Metrics;
use crate::server::client::{Client, ClientError, Listing};
use crate::server::source::DesiredSource;
use horao_model::api::storage::ImageView;
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

/// The feed, with the REST client as its fallback and for images.
#[derive(Debug)]
pub struct WatchSource {
    client: Client,
    shared: Arc<Shared>,
    start: Option<Start>,
    follower: Option<Follower>,
    seen: u64,
    images: Option<(Vec<ImageView>, usize, Instant)>,
    images_every: Duration,
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
    /// fetch), polling through `client` while the feed is down; images are listed at most
    /// every `images_every`.
    pub fn new(
        client: Client,
        endpoint: Endpoint,
        metrics: Arc<Metrics>,
        settings: FollowerSettings,
        seed: u64,
        images_every: Duration,
    ) -> Self {
        Self {
            client,
            shared: Arc::new(Shared::default()),
            start: Some(Start {
                endpoint,
                metrics,
                settings,
                seed,
            }),
            follower: None,
            seen: 0,
            images: None,
            images_every,
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

    /// The images: listed again when the last listing is older than the interval; a
    /// failed listing keeps the last one, when there is one.
    fn images(&mut self) -> Result<(Vec<ImageView>, usize), ClientError> {
        if let Some((images, total, at)) = &self.images
            && at.elapsed() < self.images_every
        {
            return Ok((images.clone(), *total));
        }
        match self.client.list_images() {
            Ok((images, total)) => {
                self.images = Some((images.clone(), total, Instant::now()));
                Ok((images, total))
            }
            Err(e) if e.is_fatal() => Err(e),
            Err(e) => match &self.images {
                Some((images, total, _)) => {
                    tracing::warn!(%e, "listing images; keeping the last listing");
                    Ok((images.clone(), *total))
                }
                None => Err(e),
            },
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
            Some(state) if read.live => {
                let (images, images_total) = self.images()?;
                Ok(Listing {
                    total: state.volumes.len(),
                    volumes: state.volumes.into_values().collect(),
                    images,
                    images_total,
                    deleted: state.deleted,
                })
            }
            known => {
                let mut listing = self.client.list(machine)?;
                self.images = Some((listing.images.clone(), listing.images_total, Instant::now()));
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
