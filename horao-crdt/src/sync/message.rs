//! The sync protocol's messages, the shared encoded frames they travel in, and the proof
//! ([`Validated`]) that a message was decoded and validated once.
//!
//! A message with data (deltas or a full state) is encoded once, into a [`Frame`] that every
//! peer receives (a reference-counted buffer), and its causal payload is reused as is by the
//! delta log and by the caller's durable log: a delta is bincode-encoded once in its life on
//! the replica that made it, and never again on the replicas that relay it.

use crate::causal::Causal;
use crate::context::CausalContext;
use crate::error::{Error, Result};
use crate::hlc::Timestamp;
use crate::store::DotStore;
use crate::wire::{self, HEADER_LEN, Kind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::{Deref, Range};
use std::sync::Arc;

/// A protocol message between two sync nodes (after the [`crate::sync::Handshake`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Message<S> {
    /// "This is everything I have seen": asks for what the receiver has beyond it.
    Digest(CausalContext),
    /// Deltas, pushed after a change or sent in answer to a digest, with the sender's clock
    /// (no earlier than any timestamp inside them): the receiver's clock observes it.
    Deltas(Causal<S>, Timestamp),
    /// A full state, the fallback when the deltas a peer lacks were collected, with the
    /// sender's clock.
    Full(Causal<S>, Timestamp),
    /// A piece of a message larger than the message limit (usually a full state): the
    /// receiver reassembles the pieces, in order, into that message's envelope.
    Chunk(Chunk),
}

/// A piece of an encoded message too large to send whole.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk {
    /// Which transfer the piece belongs to (unique per sender and session).
    pub transfer: u64,
    /// Where the piece starts in the whole message's bytes.
    pub offset: u64,
    /// Length of the whole message's bytes.
    pub total: u64,
    /// The piece.
    #[serde(with = "bytes")]
    pub bytes: Vec<u8>,
}

/// The borrowed twin of [`Message`], encoded without cloning what it sends. Its variants
/// must stay in [`Message`]'s order: they share one encoding.
#[derive(Serialize)]
pub(crate) enum MessageRef<'a, S> {
    Digest(&'a CausalContext),
    Deltas(&'a Causal<S>, Timestamp),
    Full(&'a Causal<S>, Timestamp),
    Chunk(ChunkRef<'a>),
}

/// The borrowed twin of [`Chunk`].
#[derive(Serialize)]
pub(crate) struct ChunkRef<'a> {
    pub(crate) transfer: u64,
    pub(crate) offset: u64,
    pub(crate) total: u64,
    #[serde(serialize_with = "bytes::serialize")]
    pub(crate) bytes: &'a [u8],
}

/// Byte strings as one length and the raw bytes (serde's `bytes`), not a sequence of `u8`s
/// visited one at a time.
pub(crate) mod bytes {
    use serde::de::{Deserializer, Error, Visitor};
    use serde::ser::Serializer;
    use std::fmt;

    pub(crate) fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct Bytes;
        impl<'de> Visitor<'de> for Bytes {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
        }
        d.deserialize_byte_buf(Bytes)
    }
}

/// An encoded envelope, shared: every peer a message goes to gets the same bytes, and a clone
/// is a reference count, not a copy.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame(Arc<[u8]>);

impl Frame {
    /// The bytes to send.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// True when `a` and `b` share one buffer (one encoding).
    pub fn same(a: &Frame, b: &Frame) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

impl Deref for Frame {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl AsRef<[u8]> for Frame {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Vec<u8>> for Frame {
    fn from(v: Vec<u8>) -> Self {
        Self(v.into())
    }
}

impl From<&[u8]> for Frame {
    fn from(v: &[u8]) -> Self {
        Self(v.into())
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Frame({} bytes)", self.0.len())
    }
}

/// A data message's frame and where its causal payload lies in it (the bytes a
/// [`Kind::Delta`] or [`Kind::State`] envelope carries after its header).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Encoded {
    pub(crate) frame: Frame,
    /// `None` when the payload cannot be cut out of the frame as is (a peer's non-canonical
    /// encoding); users then encode it again.
    pub(crate) payload: Option<Range<usize>>,
}

impl Encoded {
    /// The causal payload's bytes, if they can be cut out of the frame.
    pub(crate) fn payload(&self) -> Option<&[u8]> {
        self.payload.clone().and_then(|r| self.frame.get(r))
    }

    /// A stored envelope of `kind` around the causal payload (one copy, no encoding), or
    /// around `fallback` encoded again.
    pub(crate) fn stored<S: Serialize>(&self, kind: Kind, fallback: &Causal<S>) -> Result<Vec<u8>> {
        match self.payload() {
            Some(p) => {
                let mut out = wire::header(kind);
                out.extend_from_slice(p);
                wire::seal(out)
            }
            None => wire::encode(kind, fallback),
        }
    }
}

/// Encodes a message from references into a shared frame.
pub(crate) fn encode<S: Serialize>(msg: &MessageRef<'_, S>) -> Result<Frame> {
    wire::encode(Kind::Message, msg).map(Frame::from)
}

/// Encodes deltas (or, with `full`, a full state) stamped with `clock`, and locates the
/// causal payload in the frame.
pub(crate) fn encode_data<S: Serialize>(
    data: &Causal<S>,
    clock: Timestamp,
    full: bool,
) -> Result<Encoded> {
    let msg = if full {
        MessageRef::Full(data, clock)
    } else {
        MessageRef::Deltas(data, clock)
    };
    let frame = encode(&msg)?;
    let payload = data_payload(&frame, clock);
    Ok(Encoded { frame, payload })
}

/// Where the causal payload of a data message lies: after the header and the one-byte
/// variant tag, before the clock. `None` unless the clock is canonically encoded there.
fn data_payload(frame: &[u8], clock: Timestamp) -> Option<Range<usize>> {
    let end = frame.len().checked_sub(wire::varint_len(clock.0))?;
    let start = HEADER_LEN + 1;
    let mut canonical = [0u8; 9];
    let n =
        bincode::encode_into_slice(clock.0, &mut canonical, bincode::config::standard()).ok()?;
    (start <= end && frame.get(end..) == canonical.get(..n)).then_some(start..end)
}

/// A message that was decoded and validated: only [`wire::decode_message`] (or the
/// reassembly of chunks inside the node) produces one, so [`crate::SyncNode::handle`] never
/// validates again. For data messages it keeps the received frame, so relaying the message
/// and logging its payload cost no encoding.
#[derive(Clone, Debug, PartialEq)]
pub struct Validated<M> {
    msg: M,
    encoded: Option<Encoded>,
}

impl<M> Validated<M> {
    /// The message.
    pub fn message(&self) -> &M {
        &self.msg
    }

    /// The message, dropping the proof.
    pub fn into_message(self) -> M {
        self.msg
    }

    pub(crate) fn into_parts(self) -> (M, Option<Encoded>) {
        (self.msg, self.encoded)
    }
}

/// Decodes and validates a message envelope; `frame` is the same bytes when the caller
/// already holds them shared (a reassembled transfer), so they are not copied.
pub(crate) fn decode<S: DotStore + DeserializeOwned>(
    bytes: &[u8],
    frame: Option<Frame>,
    max_payload: usize,
) -> Result<Validated<Message<S>>> {
    let msg: Message<S> = wire::decode(Kind::Message, bytes, max_payload)?;
    let encoded = match &msg {
        Message::Digest(ctx) => {
            ctx.validate()?;
            None
        }
        Message::Deltas(c, clock) | Message::Full(c, clock) => {
            c.validate()?;
            let frame = frame.unwrap_or_else(|| Frame::from(bytes));
            let payload = data_payload(&frame, *clock);
            Some(Encoded { frame, payload })
        }
        Message::Chunk(c) => {
            let end = c.offset.checked_add(c.bytes.len() as u64);
            if end.is_none_or(|end| end > c.total) {
                return Err(Error::Invalid {
                    what: "chunk",
                    why: format!(
                        "{} bytes at offset {} overrun the total of {}",
                        c.bytes.len(),
                        c.offset,
                        c.total
                    ),
                });
            }
            None
        }
    };
    Ok(Validated { msg, encoded })
}
