//! Handling messages from peers and queueing messages for them: digests answered with deltas
//! or the full state, data turned into pending changes, chunks reassembled, anti-entropy
//! ticks, and causal pushes to the connected peers under each peer's byte bound.

use super::message::{self, Encoded, Frame, Message, Validated};
use super::outbox::Queued;
use super::pending::{Handled, Pending};
use super::reassembly;
use super::{SyncError, SyncNode};
use crate::causal::Causal;
use crate::context::CausalContext;
use crate::hlc::Timestamp;
use crate::id::ReplicaId;
use crate::replica::Reply;
use crate::store::DotStore;
use rand::Rng;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// How a digest is answered.
enum Answer {
    /// With this frame (`true`: a full state).
    Send(Frame, bool),
    /// With nothing (the peer is up to date, or the answer could not be encoded).
    Nothing,
    /// Not now: a full state must wait for a running transfer to end.
    Deferred,
}

impl<S: DotStore + Serialize + DeserializeOwned> SyncNode<S> {
    /// Handles one message from `from`, received at physical time `now_ms` (the clocks of
    /// deltas and full states advance the node's clock).
    ///
    /// A digest is answered (queued); deltas or a full state that bring anything new become a
    /// [`Pending`] change in the result, to persist and then [`SyncNode::commit`]: until then
    /// nothing of it is applied, forwarded or advertised. The message was validated when it
    /// was decoded ([`SyncNode::decode`]); it is not validated again.
    ///
    /// Errors (and changes nothing) when `from` is not a member or has no open session, or a
    /// chunk does not continue its transfer.
    pub fn handle(
        &mut self,
        from: ReplicaId,
        msg: Validated<Message<S>>,
        now_ms: u64,
    ) -> Result<Handled<S>, SyncError> {
        let peer = self.peers.get(&from).ok_or(SyncError::UnknownPeer(from))?;
        if peer.session.is_none() {
            return Err(SyncError::NoSession(from));
        }
        let (msg, encoded) = msg.into_parts();
        let handled = match msg {
            Message::Digest(ctx) => {
                self.on_digest(from, &ctx);
                Handled::default()
            }
            Message::Deltas(data, clock) => self.on_data(from, data, clock, false, encoded, now_ms),
            Message::Full(data, clock) => self.on_data(from, data, clock, true, encoded, now_ms),
            Message::Chunk(chunk) => self.on_chunk(from, chunk, now_ms)?,
        };
        self.collect();
        Ok(handled)
    }

    /// A digest: learns it, answers with what the peer lacks, and asks for what this node
    /// lacks.
    fn on_digest(&mut self, from: ReplicaId, ctx: &CausalContext) {
        self.learn(from, ctx);
        let Some(session) = self.peers.get_mut(&from).and_then(|p| p.session.as_mut()) else {
            return;
        };
        // While a full state is on its way, it answers this digest too.
        if !session.outbox.transferring() {
            let answer = match self.replica.reply(ctx) {
                Reply::UpToDate => Answer::Nothing,
                Reply::Deltas(d) => match self.encode_delta(&d) {
                    Ok(e) => Answer::Send(e.frame, false),
                    Err(_) => Answer::Nothing,
                },
                Reply::Full(_) => self.full_answer(),
            };
            match answer {
                // Deferred: the peer's next digest asks again; what is queued for it stays.
                Answer::Deferred => self.deferred_full_states += 1,
                answer => {
                    if let Some(s) = self.peers.get_mut(&from).and_then(|p| p.session.as_mut()) {
                        s.outbox.answering();
                    }
                    if let Answer::Send(frame, full) = answer {
                        self.queue_data_full(from, frame, full);
                    }
                }
            }
        }
        if !self.replica.ctx().includes(ctx) {
            if let Ok(digest) = self.digest() {
                self.queue_digest(from, digest);
            }
        }
    }

    /// Deltas or a full state: a pending change unless they bring nothing new.
    fn on_data(
        &mut self,
        from: ReplicaId,
        data: Causal<S>,
        clock: Timestamp,
        full: bool,
        encoded: Option<Encoded>,
        now_ms: u64,
    ) -> Handled<S> {
        self.learn(from, &data.ctx);
        self.high = self.high.max(clock);
        let clock_error = self.clock.observe(clock, now_ms).err();
        // Every dot already seen: with honest contexts the join changes nothing (a dot is
        // seen only together with its removals), so there is nothing to persist.
        if self.replica.ctx().includes(&data.ctx) {
            return Handled {
                pending: None,
                clock_error,
                stamp: None,
            };
        }
        let encoded = match encoded {
            Some(e) => Some(e),
            None => message::encode_data(&data, clock, full).ok(),
        };
        let pending = encoded.map(|e| self.issue(Pending::received(from, data, full, e)));
        Handled {
            stamp: pending.as_ref().map(|_| clock),
            pending,
            clock_error,
        }
    }

    /// A chunk: once its transfer is whole, the message it carried (deltas or a full state)
    /// is decoded, validated and handled.
    fn on_chunk(
        &mut self,
        from: ReplicaId,
        chunk: message::Chunk,
        now_ms: u64,
    ) -> Result<Handled<S>, SyncError> {
        let max = self.config.max_transfer_bytes;
        let session = self
            .peers
            .get_mut(&from)
            .and_then(|p| p.session.as_mut())
            .ok_or(SyncError::NoSession(from))?;
        let whole = reassembly::feed(&mut session.inbound, chunk, max)
            .map_err(|why| SyncError::Transfer { peer: from, why })?;
        let Some(bytes) = whole else {
            return Ok(Handled::default());
        };
        let frame = Frame::from(bytes);
        let inner = message::decode::<S>(&frame, Some(frame.clone()), max)?;
        let (msg, encoded) = inner.into_parts();
        match msg {
            Message::Deltas(d, clock) => Ok(self.on_data(from, d, clock, false, encoded, now_ms)),
            Message::Full(d, clock) => Ok(self.on_data(from, d, clock, true, encoded, now_ms)),
            Message::Digest(_) | Message::Chunk(_) => Err(SyncError::Transfer {
                peer: from,
                why: "a transfer carries deltas or a full state only".into(),
            }),
        }
    }

    /// Starts a round of anti-entropy: queues this node's digest for the connected peers
    /// (all of them, or [`super::SyncConfig::fanout`] chosen at random).
    pub fn tick(&mut self) {
        let Ok(digest) = self.digest() else {
            return;
        };
        for peer in self.targets(None) {
            self.queue_digest(peer, digest.clone());
        }
    }

    /// Queues `frame` (deltas with dependencies `deps`) for the connected peers but
    /// `except` (all, or a fan-out of them) that are known to have `deps`, and this node's
    /// digest for the others, so they fetch the delta through anti-entropy together with
    /// what it depends on. The frame is encoded once; every peer gets the same bytes.
    pub(crate) fn push(&mut self, except: Option<ReplicaId>, frame: &Frame, deps: &CausalContext) {
        let mut digest = None;
        for id in self.targets(except) {
            let ready = self.peers.get(&id).is_some_and(|p| p.known.includes(deps));
            if ready {
                self.queue_data(id, frame.clone());
            } else {
                if digest.is_none() {
                    digest = self.digest().ok();
                }
                if let Some(d) = &digest {
                    self.queue_digest(id, d.clone());
                }
            }
        }
    }

    /// The connected peers but `except`, or a random `fanout` of them.
    fn targets(&mut self, except: Option<ReplicaId>) -> Vec<ReplicaId> {
        let mut ids: Vec<ReplicaId> = self
            .peers
            .iter()
            .filter(|(id, p)| p.session.is_some() && Some(**id) != except)
            .map(|(id, _)| *id)
            .collect();
        if let Some(k) = self.config.fanout {
            if k < ids.len() {
                // A partial Fisher-Yates shuffle: the first k are a uniform sample.
                for i in 0..k {
                    let j = self.rng.random_range(i..ids.len());
                    ids.swap(i, j);
                }
                ids.truncate(k);
            }
        }
        ids
    }

    /// Queues data (deltas, an answer, a full state) for `peer`: larger than a message, it
    /// goes as a chunked transfer; past the peer's byte bound, the peer's queue is dropped
    /// and it gets a digest instead.
    pub(crate) fn queue_data(&mut self, peer: ReplicaId, frame: Frame) {
        self.queue_data_full(peer, frame, false);
    }

    /// The full state as an answer: deferred when it needs a chunked transfer and
    /// [`super::SyncConfig::max_full_transfers`] of them are already running.
    fn full_answer(&mut self) -> Answer {
        let Ok(frame) = self.full_frame() else {
            return Answer::Nothing;
        };
        if frame.len() > self.config.max_message_bytes
            && self.full_transfers() >= self.config.max_full_transfers.max(1)
        {
            return Answer::Deferred;
        }
        Answer::Send(frame, true)
    }

    /// Chunked transfers of the full state in progress, over all peers.
    pub fn full_transfers(&self) -> usize {
        self.peers
            .values()
            .filter_map(|p| p.session.as_ref())
            .filter(|s| s.outbox.transferring_full())
            .count()
    }

    /// Queues `frame` for `peer` as [`Self::queue_data`] does; `full` marks a full state.
    fn queue_data_full(&mut self, peer: ReplicaId, frame: Frame, full: bool) {
        let (max_message, max_queued) =
            (self.config.max_message_bytes, self.config.max_queued_bytes);
        let transfer = self.next_transfer;
        let Some(session) = self.peers.get_mut(&peer).and_then(|p| p.session.as_mut()) else {
            return;
        };
        if frame.len() > max_message {
            if session.outbox.start_transfer(transfer, frame, full) {
                self.next_transfer += 1;
            }
        } else if session.outbox.push(frame, max_queued) == Queued::Overflow {
            if let Ok(digest) = self.digest() {
                self.queue_digest(peer, digest);
            }
        }
        self.mark_ready(peer);
    }

    /// Queues a digest for `peer`.
    pub(crate) fn queue_digest(&mut self, peer: ReplicaId, digest: Frame) {
        let max = self.config.max_queued_bytes;
        if let Some(s) = self.peers.get_mut(&peer).and_then(|p| p.session.as_mut()) {
            s.outbox.push_digest(digest, max);
            self.mark_ready(peer);
        }
    }

    fn learn(&mut self, peer: ReplicaId, ctx: &CausalContext) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.known.union(ctx);
        }
    }
}
