//! Where random bytes come from: keys, sender keys and nonces.
//!
//! The app uses [`OsEntropy`], the platform's CSPRNG through `getrandom`
//! (`crypto.getRandomValues` in the browser). [`SeededEntropy`] makes the
//! same bytes from the same seed, for test vectors and reproducible
//! simulations only: it is public because the simulation in `tests/` is a
//! separate crate, and must never reach the browser build's call sites.
//! [`GivenBytes`] gives back bytes drawn earlier.

use sha2::{Digest, Sha512};

use super::error::TrustError;

/// A source of random bytes.
pub trait Entropy {
    /// Fills `out` with random bytes.
    fn fill(&mut self, out: &mut [u8]) -> Result<(), TrustError>;
}

/// The platform's cryptographically secure random number generator.
#[derive(Clone, Copy, Debug, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), TrustError> {
        getrandom::fill(out).map_err(|_| TrustError::NoRandomness)
    }
}

/// Reproducible bytes from a seed (SHA-512 of seed and block counter).
/// Predictable by design: for test vectors and simulations, never for keys
/// that protect anything.
#[derive(Clone, Debug)]
pub struct SeededEntropy {
    seed: u64,
    block: u64,
    buffer: [u8; 64],
    used: usize,
}

impl SeededEntropy {
    pub fn new(seed: u64) -> SeededEntropy {
        SeededEntropy {
            seed,
            block: 0,
            buffer: [0; 64],
            used: 64,
        }
    }
}

impl Entropy for SeededEntropy {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), TrustError> {
        for byte in out {
            if self.used == self.buffer.len() {
                let mut hash = Sha512::new();
                hash.update(b"bleep seeded entropy");
                hash.update(self.seed.to_be_bytes());
                hash.update(self.block.to_be_bytes());
                self.buffer.copy_from_slice(&hash.finalize());
                self.block += 1;
                self.used = 0;
            }
            *byte = self.buffer[self.used];
            self.used += 1;
        }
        Ok(())
    }
}

/// Bytes already drawn, given back in order: a deferred seal's nonce when
/// its job is carried out, or a known-answer vector's. Runs out, rather
/// than repeats.
#[derive(Clone, Debug)]
pub struct GivenBytes(pub Vec<u8>);

impl Entropy for GivenBytes {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), TrustError> {
        if out.len() > self.0.len() {
            return Err(TrustError::NoRandomness);
        }
        let rest = self.0.split_off(out.len());
        out.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}

/// `N` random bytes.
pub(crate) fn bytes<const N: usize>(rng: &mut dyn Entropy) -> Result<[u8; N], TrustError> {
    let mut out = [0; N];
    rng.fill(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_generator_gives_different_bytes_each_time() {
        let a: [u8; 32] = bytes(&mut OsEntropy).unwrap();
        let b: [u8; 32] = bytes(&mut OsEntropy).unwrap();
        assert_ne!(a, b);
        assert_ne!(a, [0; 32]);
    }

    #[test]
    fn a_seed_gives_the_same_stream_however_it_is_cut() {
        let mut whole = [0u8; 150];
        SeededEntropy::new(7).fill(&mut whole).unwrap();
        let mut cut = SeededEntropy::new(7);
        let mut pieces = Vec::new();
        for len in [1, 63, 2, 70, 14] {
            let mut piece = vec![0u8; len];
            cut.fill(&mut piece).unwrap();
            pieces.extend(piece);
        }
        assert_eq!(pieces, whole);
        let mut other = [0u8; 150];
        SeededEntropy::new(8).fill(&mut other).unwrap();
        assert_ne!(other, whole);
    }
}
