//! A peer's outbox: encoded frames waiting for the caller to send them, bounded in bytes, and
//! at most one large message (usually a full state) being cut into chunks as the caller asks
//! for frames, so a 40 MiB state is never queued as 40 chunk frames at once.

use crate::error::Result;
use crate::sync::message::{self, ChunkRef, Frame, MessageRef};
use std::collections::VecDeque;

/// Envelope, tag and chunk fields take at most this much beside a chunk's bytes.
pub(crate) const CHUNK_OVERHEAD: usize = 64;

/// What became of a frame offered to an outbox.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Queued {
    /// It is queued.
    Yes,
    /// The peer is behind (its queue was dropped) and data is not queued until it sends a
    /// digest; the digest it will get is already queued.
    Skipped,
    /// It would have passed the bound: the queue was dropped and the peer is now behind;
    /// the caller queues a digest.
    Overflow,
}

/// A large message being sent in chunks.
#[derive(Debug)]
struct Transfer {
    id: u64,
    frame: Frame,
    offset: usize,
    /// It carries a full state (bounded in number over all peers by the node).
    full: bool,
}

/// One peer's outgoing frames.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    /// Frames, each marked whether it carries data (deltas) rather than a digest.
    queue: VecDeque<(Frame, bool)>,
    /// Sum of the queued frames' lengths.
    bytes: usize,
    transfer: Option<Transfer>,
    /// The queue was dropped for the bound; data waits for the peer's next digest.
    behind: bool,
}

impl Outbox {
    /// Queues data (deltas) under the bound `max_bytes` (a frame into an empty queue is
    /// always taken, so any message gets through a reading peer); skipped while the peer is
    /// behind and has not drained its queue.
    pub(crate) fn push(&mut self, frame: Frame, max_bytes: usize) -> Queued {
        if self.behind && !self.queue.is_empty() {
            return Queued::Skipped;
        }
        if self.over(frame.len(), max_bytes) {
            self.drop_queue();
            return Queued::Overflow;
        }
        self.enqueue(frame, true);
        Queued::Yes
    }

    /// Queues a digest; past the bound `max_bytes` it replaces the whole queue (so the
    /// outbox never holds more than the bound and one digest).
    pub(crate) fn push_digest(&mut self, frame: Frame, max_bytes: usize) {
        if self.over(frame.len(), max_bytes) {
            self.drop_queue();
        }
        self.enqueue(frame, false);
    }

    /// The peer sent a digest and is about to be answered with everything it lacks: the
    /// data queued for it is redundant (the answer covers it; queued digests stay, they tell
    /// the peer what this node has), and data flows again.
    pub(crate) fn answering(&mut self) {
        self.queue.retain(|(_, data)| !data);
        self.bytes = self.queue.iter().map(|(f, _)| f.len()).sum();
        self.behind = false;
    }

    fn over(&self, len: usize, max_bytes: usize) -> bool {
        !self.queue.is_empty() && self.bytes.saturating_add(len) > max_bytes
    }

    fn enqueue(&mut self, frame: Frame, data: bool) {
        self.bytes += frame.len();
        self.queue.push_back((frame, data));
    }

    /// Drops the queue for the bound: the peer is behind until it asks again.
    fn drop_queue(&mut self) {
        self.queue.clear();
        self.bytes = 0;
        self.behind = true;
    }

    /// True while a chunked transfer is in progress.
    pub(crate) fn transferring(&self) -> bool {
        self.transfer.is_some()
    }

    /// True while a chunked transfer of a full state is in progress.
    pub(crate) fn transferring_full(&self) -> bool {
        self.transfer.as_ref().is_some_and(|t| t.full)
    }

    /// Starts sending `frame` (a full state when `full`) in chunks, unless a transfer is in
    /// progress (it is not restarted: a peer that keeps asking would otherwise never
    /// receive the end).
    pub(crate) fn start_transfer(&mut self, id: u64, frame: Frame, full: bool) -> bool {
        if self.transfer.is_some() {
            return false;
        }
        self.transfer = Some(Transfer {
            id,
            frame,
            offset: 0,
            full,
        });
        true
    }

    /// True when nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.queue.is_empty() && self.transfer.is_none()
    }

    /// Bytes waiting: queued frames and what remains of the transfer.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
            + self
                .transfer
                .as_ref()
                .map_or(0, |t| t.frame.len() - t.offset)
    }

    /// The next frame to send: queued frames first, then the next chunk of the transfer,
    /// at most `max_message` bytes long.
    pub(crate) fn pop(&mut self, max_message: usize) -> Result<Option<Frame>> {
        if let Some((f, _)) = self.queue.pop_front() {
            self.bytes -= f.len();
            return Ok(Some(f));
        }
        let Some(t) = &mut self.transfer else {
            return Ok(None);
        };
        let size = max_message.saturating_sub(CHUNK_OVERHEAD).max(1);
        let end = t.offset.saturating_add(size).min(t.frame.len());
        let chunk = message::encode(&MessageRef::<()>::Chunk(ChunkRef {
            transfer: t.id,
            offset: t.offset as u64,
            total: t.frame.len() as u64,
            bytes: t.frame.get(t.offset..end).unwrap_or_default(),
        }))?;
        t.offset = end;
        if end >= t.frame.len() {
            self.transfer = None;
        }
        Ok(Some(chunk))
    }
}
