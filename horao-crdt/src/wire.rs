//! The versioned envelope around every encoded value (wire messages and disk snapshots).
//!
//! Layout: `b"HRAO"`, format version (`u16` little endian), payload kind (`u8`), payload
//! length (`u32` little endian), then the payload in bincode's standard configuration
//! (variable-length integers). Decoding checks every header field and the length against a
//! caller-given limit before the payload is read, rejects trailing bytes, and validates the
//! decoded structure, so malformed, truncated or oversized input is a typed [`Error`].
//!
//! Each kind's layout is versioned on its own: sync messages carry [`VERSION`] (peers agree on
//! it in the handshake and read no other), stored kinds (states, deltas, a node's sync state)
//! carry [`STORED_VERSION`] and are read back to [`MIN_VERSION`], and the handshake's layout
//! is frozen, so a peer of any version can read why it was refused. A change of the message
//! layout therefore rewrites no stored snapshot.

use crate::causal::Causal;
use crate::error::{Error, Result};
use crate::store::DotStore;
use crate::sync::{Handshake, Message, SyncState, Validated};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The magic bytes opening every envelope.
pub const MAGIC: [u8; 4] = *b"HRAO";
/// The version of the sync messages' layout ([`Kind::Message`]) this build writes and reads:
/// the wire version a handshake names. Version 2 added the sender's clock to deltas and full
/// states, and chunks.
pub const VERSION: u16 = 2;
/// The version of the stored layouts ([`Kind::State`], [`Kind::Delta`], [`Kind::SyncState`])
/// this build writes.
pub const STORED_VERSION: u16 = 1;
/// The oldest stored version this build reads.
pub const MIN_VERSION: u16 = 1;
/// Size of the envelope header in bytes.
pub const HEADER_LEN: usize = 11;
/// Default limit on a payload: 64 MiB.
pub const DEFAULT_MAX_PAYLOAD: usize = 64 << 20;
/// Hard ceiling bincode enforces on anything it allocates while decoding.
const BINCODE_CEILING: usize = 1 << 30;

/// What an envelope carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// A [`Message`] of the sync protocol.
    Message = 1,
    /// A full [`Causal`] state (snapshot).
    State = 2,
    /// A [`Causal`] delta (an entry of a durable delta log).
    Delta = 3,
    /// A [`Handshake`]: the first message on a connection. Its layout is frozen.
    Handshake = 4,
    /// A sync node's persisted [`SyncState`] (membership, peers' contexts, delta log).
    SyncState = 5,
}

impl Kind {
    /// The version this build writes for the kind.
    pub const fn version(self) -> u16 {
        match self {
            Kind::Message => VERSION,
            Kind::Handshake => 1,
            Kind::State | Kind::Delta | Kind::SyncState => STORED_VERSION,
        }
    }

    /// The versions this build reads for the kind, as `(oldest, newest)`.
    pub const fn reads(self) -> (u16, u16) {
        match self {
            Kind::Message => (VERSION, VERSION),
            // Frozen: whatever version wrote it, it reads the same.
            Kind::Handshake => (1, u16::MAX),
            Kind::State | Kind::Delta | Kind::SyncState => (MIN_VERSION, STORED_VERSION),
        }
    }
}

/// Most bytes bincode may claim per payload byte of a valid payload: it counts each decoded
/// integer at its in-memory size, so a one-byte varint `u128` claims 16 bytes.
const CLAIM_PER_BYTE: usize = 16;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<BINCODE_CEILING>()
}

/// Decodes a payload under an allocation limit proportional to its length.
///
/// Bincode allocates a `String` or byte buffer at its declared length *before* reading it,
/// bounded only by the configured limit, so with one fixed 1 GiB limit a 20-byte payload could
/// make the decoder allocate 1 GiB. The limit is a const generic, so this picks the smallest of
/// a few power-of-four tiers that every valid payload of this length fits (see
/// [`CLAIM_PER_BYTE`]): a malformed payload can then allocate at most about 64 times its own
/// length (plus serde's capped preallocation of at most 1 MiB per nested collection).
fn decode_payload<T: DeserializeOwned>(
    payload: &[u8],
) -> std::result::Result<(T, usize), bincode::error::DecodeError> {
    let need = payload.len().saturating_mul(CLAIM_PER_BYTE);
    macro_rules! tiers {
        ($($shift:literal)*) => {$(
            if need <= 1 << $shift {
                let config = bincode::config::standard().with_limit::<{ 1 << $shift }>();
                return bincode::serde::decode_from_slice(payload, config);
            }
        )*};
    }
    tiers!(12 14 16 18 20 22 24 26 28);
    bincode::serde::decode_from_slice(payload, config())
}

/// Encodes `value` as a payload of `kind` inside an envelope.
pub fn encode<T: Serialize>(kind: Kind, value: &T) -> Result<Vec<u8>> {
    let mut out = header(kind);
    bincode::serde::encode_into_std_write(value, &mut out, config())
        .map_err(|e| Error::Malformed(e.to_string()))?;
    seal(out)
}

/// An envelope header of `kind` with a zero length, to be followed by the payload and
/// [`seal`]ed.
pub(crate) fn header(kind: Kind) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&kind.version().to_le_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&[0; 4]);
    out
}

/// Writes the payload length into an envelope started by [`header`].
pub(crate) fn seal(mut out: Vec<u8>) -> Result<Vec<u8>> {
    let payload = out.len().saturating_sub(HEADER_LEN);
    let len = u32::try_from(payload).map_err(|_| Error::TooLarge {
        len: payload,
        limit: u32::MAX as usize,
    })?;
    if let Some(field) = out.get_mut(7..HEADER_LEN) {
        field.copy_from_slice(&len.to_le_bytes());
    }
    Ok(out)
}

/// The encoded length of a `u64` in bincode's standard (varint) configuration.
pub(crate) const fn varint_len(v: u64) -> usize {
    if v < 251 {
        1
    } else if v <= u16::MAX as u64 {
        3
    } else if v <= u32::MAX as u64 {
        5
    } else {
        9
    }
}

/// Decodes an envelope of `kind` whose payload is at most `max_payload` bytes.
pub fn decode<T: DeserializeOwned>(kind: Kind, bytes: &[u8], max_payload: usize) -> Result<T> {
    if bytes.len() < HEADER_LEN {
        return Err(Error::Truncated { len: bytes.len() });
    }
    let (header, payload) = bytes.split_at(HEADER_LEN);
    if header[..4] != MAGIC {
        return Err(Error::BadMagic);
    }
    if header[6] != kind as u8 {
        return Err(Error::WrongKind {
            found: header[6],
            expected: kind as u8,
        });
    }
    let version = u16::from_le_bytes([header[4], header[5]]);
    let (min, max) = kind.reads();
    if !(min..=max).contains(&version) {
        return Err(Error::UnsupportedVersion {
            found: version,
            min,
            max,
        });
    }
    let declared = u32::from_le_bytes([header[7], header[8], header[9], header[10]]) as usize;
    let limit = max_payload.min(BINCODE_CEILING);
    if declared > limit {
        return Err(Error::TooLarge {
            len: declared,
            limit,
        });
    }
    if payload.len() < declared {
        return Err(Error::Truncated { len: bytes.len() });
    }
    if payload.len() > declared {
        return Err(Error::TrailingBytes(payload.len() - declared));
    }
    let (value, read) = decode_payload(payload).map_err(|e| match e {
        bincode::error::DecodeError::UnexpectedEnd { .. } => Error::Truncated { len: bytes.len() },
        bincode::error::DecodeError::LimitExceeded => Error::TooLarge {
            len: declared,
            limit,
        },
        other => Error::Malformed(other.to_string()),
    })?;
    if read != declared {
        return Err(Error::TrailingBytes(declared - read));
    }
    Ok(value)
}

/// Encodes a sync message.
pub fn encode_message<S: DotStore + Serialize>(msg: &Message<S>) -> Result<Vec<u8>> {
    encode(Kind::Message, msg)
}

/// Decodes and validates a sync message: the only way to obtain the [`Validated`] message
/// [`crate::SyncNode::handle`] takes, so nothing is validated twice.
pub fn decode_message<S: DotStore + DeserializeOwned>(
    bytes: &[u8],
    max_payload: usize,
) -> Result<Validated<Message<S>>> {
    crate::sync::message::decode(bytes, None, max_payload)
}

/// Decodes a handshake message, whatever the version of the envelope that carries it (its
/// layout is frozen, so a peer of another version can still read a refusal).
pub fn decode_handshake(bytes: &[u8]) -> Result<Handshake> {
    decode(Kind::Handshake, bytes, crate::sync::MAX_HANDSHAKE)
}

/// Encodes a sync node's persisted state.
pub fn encode_sync_state(state: &SyncState) -> Result<Vec<u8>> {
    encode(Kind::SyncState, state)
}

/// Decodes and validates a sync node's persisted state.
pub fn decode_sync_state(bytes: &[u8], max_payload: usize) -> Result<SyncState> {
    let state: SyncState = decode(Kind::SyncState, bytes, max_payload)?;
    state.validate()?;
    Ok(state)
}

/// Encodes a full state (snapshot) or, with `Kind::Delta`, a delta.
pub fn encode_causal<S: DotStore + Serialize>(kind: Kind, state: &Causal<S>) -> Result<Vec<u8>> {
    encode(kind, state)
}

/// Decodes and validates a full state or delta.
pub fn decode_causal<S: DotStore + DeserializeOwned>(
    kind: Kind,
    bytes: &[u8],
    max_payload: usize,
) -> Result<Causal<S>> {
    let c: Causal<S> = decode(kind, bytes, max_payload)?;
    c.validate()?;
    Ok(c)
}
