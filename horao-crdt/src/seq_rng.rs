//! A fixed-sequence random generator (xorshift64*) for code that must be deterministic yet
//! feed a mutator that takes `impl Rng`: the fuzzing entry points and generated test
//! operations, which carry their randomness as a seed. Never for production jitter, which
//! callers supply.

/// xorshift64*: any fixed, non-constant sequence will do. The state must not be zero; the
/// constructor forces the low bit.
#[derive(Debug)]
pub(crate) struct SeqRng(u64);

impl SeqRng {
    /// A generator starting from `seed` (made odd, since xorshift never leaves zero).
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
}

impl rand::RngCore for SeqRng {
    fn next_u32(&mut self) -> u32 {
        // The high half of a 64-bit step is the better-mixed one.
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}
