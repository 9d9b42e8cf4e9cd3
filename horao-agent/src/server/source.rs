//! Where the desired state comes from, and when a listing is trusted.
//!
//! Two sources behind one trait: polling ([`Client`]: every step lists the volumes assigned
//! to this machine), and the watch feed ([`WatchSource`](crate::watch::WatchSource): the
//! views kept from the feed, with the REST API as its fallback). A source also says when the
//! desired state may have changed between steps ([`DesiredSource::wait`]), and hands out
//! what it wants persisted with the desired state ([`DesiredSource::checkpoint`]).
//!
//! Trust: a listing replaces the desired state only when it is complete: every page answered
//! 200 and the volumes received are as many as the `total` the server gave. An empty listing
//! after a non-empty one is therefore trusted only when the server said `total: 0`. A failed
//! or incomplete listing changes nothing: the agent keeps reconciling the last desired state
//! it trusted (persisted on disk), and deletes nothing because of it — a volume is deleted
//! only when its own view says `deleting` or `gone`, or when the watch feed deleted it
//! explicitly ([`Listing::deleted`]).
use super::client::{Client, ClientError, Listing};
use crate::watch::FeedState;
use std::time::Duration;

/// A source of the volumes assigned to one machine, and of the images.
pub trait DesiredSource {
    /// The complete listing of the volumes assigned to `machine` and of the images (every
    /// image through the REST API; the watch feed shows those of this machine).
    fn fetch(&mut self, machine: &str) -> Result<Listing, ClientError>;

    /// Waits up to `timeout`; true when the desired state may have changed since the last
    /// [`fetch`](Self::fetch) (polling cannot tell: it sleeps and says no).
    fn wait(&mut self, timeout: Duration) -> bool {
        std::thread::sleep(timeout);
        false
    }

    /// Takes what was persisted with the desired state (at start-up).
    fn resume(&mut self, _saved: Option<FeedState>) {}

    /// What to persist with the desired state, when it changed since the last time it was
    /// handed out and is due to be written (`force`: whenever it changed, as at exit);
    /// `None`: nothing to write now.
    fn checkpoint(&mut self, _force: bool) -> Option<FeedState> {
        None
    }

    /// The explicit deletes in `ids` are carried out (the volumes are gone from disk).
    fn deletes_done(&mut self, _ids: &[String]) {}
}

/// Polling: one full listing per call.
impl DesiredSource for Client {
    fn fetch(&mut self, machine: &str) -> Result<Listing, ClientError> {
        self.list(machine)
    }
}

/// Why `listing` is not trusted, if it is not.
pub fn distrust(listing: &Listing) -> Option<String> {
    let short = |what: &str, got: usize, total: usize| {
        (got != total).then(|| {
            format!("incomplete listing: {got} {what} received, the server counted {total}")
        })
    };
    short("volumes", listing.volumes.len(), listing.total)
        .or_else(|| short("images", listing.images.len(), listing.images_total))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::server::fake::volume_view;

    #[test]
    fn only_complete_listings_are_trusted() {
        let empty = Listing::default();
        assert_eq!(distrust(&empty), None);
        let short = Listing {
            total: 3,
            ..Listing::default()
        };
        let why = distrust(&short).unwrap();
        assert!(
            why.contains("0 volumes received, the server counted 3"),
            "{why}"
        );
        let full = Listing {
            volumes: vec![volume_view("v", "a", "m", 1).unwrap()],
            total: 1,
            ..Listing::default()
        };
        assert_eq!(distrust(&full), None);
        let images_short = Listing {
            images_total: 2,
            ..full
        };
        let why = distrust(&images_short).unwrap();
        assert!(why.contains("0 images received"), "{why}");
    }
}
