//! Reassembly of a chunked message from one peer: chunks must arrive in order, the total is
//! bounded before anything is kept, and the buffer grows only with what arrived.

use crate::sync::message::Chunk;

/// A transfer being received.
#[derive(Debug)]
pub(crate) struct Reassembly {
    transfer: u64,
    total: usize,
    buf: Vec<u8>,
}

/// Adds `chunk` to the transfer in `slot`; returns the whole message once its last chunk
/// arrived. A chunk at offset 0 starts a new transfer (replacing any in progress). Errors
/// (and drops the transfer) when the total exceeds `max_total`, or the chunk does not
/// continue the transfer in progress.
pub(crate) fn feed(
    slot: &mut Option<Reassembly>,
    chunk: Chunk,
    max_total: usize,
) -> Result<Option<Vec<u8>>, String> {
    let total = usize::try_from(chunk.total).unwrap_or(usize::MAX);
    if chunk.offset == 0 {
        if total > max_total {
            *slot = None;
            return Err(format!(
                "transfer of {total} bytes exceeds the limit of {max_total}"
            ));
        }
        *slot = Some(Reassembly {
            transfer: chunk.transfer,
            total,
            buf: Vec::new(),
        });
    }
    let Some(r) = slot.as_mut() else {
        return Err(format!(
            "chunk at offset {} of transfer {} that never started",
            chunk.offset, chunk.transfer
        ));
    };
    if r.transfer != chunk.transfer || r.total != total || r.buf.len() as u64 != chunk.offset {
        let why = format!(
            "chunk {}@{} does not continue transfer {} at {}",
            chunk.transfer,
            chunk.offset,
            r.transfer,
            r.buf.len()
        );
        *slot = None;
        return Err(why);
    }
    r.buf.extend_from_slice(&chunk.bytes);
    if r.buf.len() < r.total {
        return Ok(None);
    }
    Ok(slot.take().map(|r| r.buf))
}
