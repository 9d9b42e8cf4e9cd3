//! Helpers shared by the sync tests: opening sessions, delivering frames the way a server
//! would (decode once, handle, persist, commit), and draining outboxes.

use horao_crdt::sync::Handled;
use horao_crdt::{
    Causal, Change, DotStore, Error, Message, Replica, ReplicaId, SyncConfig, SyncError, SyncNode,
    SyncState, Transmit, Tx, Validated, wire,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Physical time used where a test does not care about clocks.
pub(crate) const NOW: u64 = 1_700_000_000_000;

/// Bounds every sync test's stores satisfy.
pub(crate) trait Store: DotStore + Serialize + DeserializeOwned {}
impl<S: DotStore + Serialize + DeserializeOwned> Store for S {}

/// A node with id `id` and `config`.
pub(crate) fn node<S: Store>(id: u64, config: SyncConfig) -> SyncNode<S> {
    SyncNode::new(Replica::new(ReplicaId(id)), config)
}

/// Opens a session both ways between `a` and `b` (each handles the other's hello) and
/// drops the digests the sessions start with.
pub(crate) fn connect<S: Store>(a: &mut SyncNode<S>, b: &mut SyncNode<S>) {
    open(a, b);
    drain(a);
    drain(b);
}

/// Opens a session both ways, keeping the opening digests queued.
pub(crate) fn open<S: Store>(a: &mut SyncNode<S>, b: &mut SyncNode<S>) {
    let ha = wire::decode_handshake(&a.hello().unwrap()).unwrap();
    let hb = wire::decode_handshake(&b.hello().unwrap()).unwrap();
    b.handle_handshake(ha).unwrap();
    a.handle_handshake(hb).unwrap();
}

/// A message as a peer would receive it: encoded, then decoded (and validated) once.
pub(crate) fn received<S: Store>(msg: &Message<S>) -> Validated<Message<S>> {
    wire::decode_message(&wire::encode_message(msg).unwrap(), usize::MAX).unwrap()
}

/// Commits what a handled message left pending (the store is memory).
pub(crate) fn settle<S: Store>(node: &mut SyncNode<S>, h: Handled<S>) -> Change {
    match h.pending {
        Some(p) => node.commit(p).unwrap(),
        None => Change::Nothing,
    }
}

/// Decodes `frame` on `to`, handles it as from `from` and commits what it brings.
pub(crate) fn deliver<S: Store>(
    to: &mut SyncNode<S>,
    from: ReplicaId,
    frame: &[u8],
) -> Result<Change, SyncError> {
    let msg = to.decode(frame)?;
    let h = to.handle(from, msg, NOW)?;
    Ok(settle(to, h))
}

/// Every frame `node` has queued.
pub(crate) fn drain<S: Store>(node: &mut SyncNode<S>) -> Vec<Transmit> {
    std::iter::from_fn(|| node.poll_transmit()).collect()
}

/// Every frame queued, decoded, with its recipient.
pub(crate) fn outbox<S: Store>(node: &mut SyncNode<S>) -> Vec<(ReplicaId, Message<S>)> {
    drain(node)
        .into_iter()
        .map(|t| {
            let m = wire::decode_message(&t.frame, usize::MAX).unwrap();
            (t.to, m.into_message())
        })
        .collect()
}

/// A local change, committed at once (the store is memory); returns the delta.
pub(crate) fn write<S: Store>(
    node: &mut SyncNode<S>,
    f: impl FnOnce(&S, &mut Tx) -> S,
) -> Result<Causal<S>, Error> {
    let p = node.mutate(f)?;
    let delta = p.change().clone();
    node.commit(p).unwrap();
    Ok(delta)
}

/// Delivers frames between `nodes` (index `i` is the node with id `i + 1`) until every
/// outbox is empty; returns how many frames moved. Panics if it never quiesces.
pub(crate) fn pump<S: Store>(nodes: &mut [SyncNode<S>]) -> usize {
    let mut moved = 0;
    for _ in 0..10_000 {
        let mut any = false;
        for i in 0..nodes.len() {
            for t in drain(&mut nodes[i]) {
                any = true;
                moved += 1;
                let from = nodes[i].id();
                let to = (t.to.0 - 1) as usize;
                deliver(&mut nodes[to], from, &t.frame).unwrap();
            }
        }
        if !any {
            return moved;
        }
    }
    panic!("the nodes never quiesce");
}

/// `node` restarted: its committed state (what the store holds) and `saved`, with the next
/// incarnation; its sessions are gone.
pub(crate) fn restarted<S: Store>(node: &SyncNode<S>, saved: SyncState) -> SyncNode<S> {
    let replica = Replica::from_state(node.id(), node.replica().causal().clone());
    let config = SyncConfig {
        incarnation: node.config().incarnation + 1,
        ..node.config().clone()
    };
    SyncNode::restore(replica, config, saved)
}

/// Mutable references to `nodes[i]` and `nodes[j]` (distinct).
pub(crate) fn pair<T>(nodes: &mut [T], i: usize, j: usize) -> (&mut T, &mut T) {
    assert_ne!(i, j);
    if i < j {
        let (a, b) = nodes.split_at_mut(j);
        (&mut a[i], &mut b[0])
    } else {
        let (a, b) = nodes.split_at_mut(i);
        (&mut b[0], &mut a[j])
    }
}

/// `n` nodes with ids 1..=n, every pair connected.
pub(crate) fn mesh<S: Store>(n: u64, config: &SyncConfig) -> Vec<SyncNode<S>> {
    let mut nodes: Vec<SyncNode<S>> = (1..=n).map(|i| node(i, config.clone())).collect();
    for i in 0..nodes.len() {
        for j in i + 1..nodes.len() {
            let (a, b) = pair(&mut nodes, i, j);
            connect(a, b);
        }
    }
    nodes
}
