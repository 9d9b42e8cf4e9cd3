//! The versioned envelope around every encoded value (wire messages and disk snapshots).
//!
//! Layout: `b"HRAO"`, format version (`u16` little endian), payload kind (`u8`), payload
//! length (`u32` little endian), then the payload in bincode's standard configuration
//! (variable-length integers). Decoding checks every header field and the length against a
//! caller-given limit before the payload is read, rejects trailing bytes, and validates the
//! decoded structure, so malformed, truncated or oversized input is a typed [`Error`].

use crate::causal::Causal;
use crate::error::{Error, Result};
use crate::store::DotStore;
use crate::sync::Message;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The magic bytes opening every envelope.
pub const MAGIC: [u8; 4] = *b"HRAO";
/// The format version this build writes.
pub const VERSION: u16 = 1;
/// The oldest format version this build reads.
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
    let payload = bincode::serde::encode_to_vec(value, config())
        .map_err(|e| Error::Malformed(e.to_string()))?;
    let len = u32::try_from(payload.len()).map_err(|_| Error::TooLarge {
        len: payload.len(),
        limit: u32::MAX as usize,
    })?;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.push(kind as u8);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
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
    let version = u16::from_le_bytes([header[4], header[5]]);
    if !(MIN_VERSION..=VERSION).contains(&version) {
        return Err(Error::UnsupportedVersion {
            found: version,
            min: MIN_VERSION,
            max: VERSION,
        });
    }
    if header[6] != kind as u8 {
        return Err(Error::WrongKind {
            found: header[6],
            expected: kind as u8,
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

/// Decodes and validates a sync message.
pub fn decode_message<S: DotStore + DeserializeOwned>(
    bytes: &[u8],
    max_payload: usize,
) -> Result<Message<S>> {
    let msg: Message<S> = decode(Kind::Message, bytes, max_payload)?;
    match &msg {
        Message::Digest(ctx) => ctx.validate()?,
        Message::Deltas(c) | Message::Full(c) => c.validate()?,
    }
    Ok(msg)
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
