//! The safety number two clinicians compare in person.
//!
//! Each person's half is 30 digits from their normal name and the identity
//! keys their devices announced in the conversation (sorted, so the order
//! they were learnt in does not matter): SHA-512 of a label, the name and
//! the keys, hashed again with the keys [`ITERATIONS`] times so that finding
//! another key with the same half costs far more than one hash per try. The
//! first 30 bytes give six five-digit groups (each five bytes, as a number,
//! modulo 100 000). The safety number is the two halves in sorted order, 60
//! digits, shown in twelve groups of five: identical on both screens
//! whichever side computes it, and different as soon as either person's
//! keys differ.

use std::fmt;

use sha2::{Digest, Sha512};

use super::identity::IdentityPublic;
use crate::core::participants::Name;

/// Rounds of hashing per half (as Signal's numeric fingerprints use).
pub const ITERATIONS: u32 = 5_200;

/// Version of this derivation, hashed in so a later one never collides.
const FORMAT: u16 = 2;

/// Sixty digits. See the module documentation.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SafetyNumber(String);

impl SafetyNumber {
    /// The number of the conversation between `a` and `b`, each with the
    /// identity keys their devices announced. `None` while either has none
    /// yet (nothing to compare).
    pub fn of(
        a: (&Name, &[IdentityPublic]),
        b: (&Name, &[IdentityPublic]),
    ) -> Option<SafetyNumber> {
        // Checked before either half is hashed: a screen asks at every step
        // until the colleague's key arrives, and one half costs thousands
        // of hashes.
        if a.1.is_empty() || b.1.is_empty() {
            return None;
        }
        let mut halves = [half(a.0, a.1)?, half(b.0, b.1)?];
        halves.sort();
        Some(SafetyNumber(halves.concat()))
    }

    /// The sixty digits without spaces.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Twelve groups of five digits, as shown.
    pub fn groups(&self) -> impl Iterator<Item = &str> + '_ {
        (0..12).map(move |i| &self.0[i * 5..i * 5 + 5])
    }
}

/// "12345 67890 …": twelve groups of five digits separated by spaces.
impl fmt::Display for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, group) in self.groups().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(group)?;
        }
        Ok(())
    }
}

impl fmt::Debug for SafetyNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SafetyNumber({self})")
    }
}

/// One person's thirty digits.
fn half(name: &Name, keys: &[IdentityPublic]) -> Option<String> {
    let mut keys = keys.to_vec();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return None;
    }
    let key_bytes: Vec<u8> = keys.iter().flat_map(|k| k.to_bytes()).collect();
    let normal = name.normal().as_bytes();
    let mut hash = Sha512::new()
        .chain_update(b"bleep safety number")
        .chain_update(FORMAT.to_be_bytes())
        .chain_update((normal.len() as u32).to_be_bytes())
        .chain_update(normal)
        .chain_update((keys.len() as u32).to_be_bytes())
        .chain_update(&key_bytes)
        .finalize();
    for _ in 0..ITERATIONS {
        hash = Sha512::new()
            .chain_update(hash)
            .chain_update(&key_bytes)
            .finalize();
    }
    let digits = hash[..30]
        .chunks(5)
        .map(|chunk| {
            let n = chunk.iter().fold(0u64, |n, &b| n << 8 | u64::from(b));
            format!("{:05}", n % 100_000)
        })
        .collect();
    Some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::trust::identity::IdentityKey;
    use crate::core::trust::random::SeededEntropy;
    use crate::core::trust::RustCrypto;

    fn keys(seed: u64, n: usize) -> Vec<IdentityPublic> {
        let mut rng = SeededEntropy::new(seed);
        (0..n)
            .map(|_| {
                IdentityKey::generate(&mut rng, &mut RustCrypto)
                    .unwrap()
                    .public()
            })
            .collect()
    }

    fn name(text: &str) -> Name {
        Name::parse(text).unwrap()
    }

    #[test]
    fn both_sides_compute_the_same_sixty_digits() {
        let (jo, patel) = (keys(61, 1), keys(62, 2));
        let mine = SafetyNumber::of((&name("Nurse Jo"), &jo), (&name("Dr Patel"), &patel)).unwrap();
        let mut reversed = patel.clone();
        reversed.reverse();
        let theirs =
            SafetyNumber::of((&name("dr  PATEL"), &reversed), (&name("nurse jo"), &jo)).unwrap();
        assert_eq!(mine, theirs);
        assert_eq!(mine.digits().len(), 60);
        assert!(mine.digits().bytes().all(|b| b.is_ascii_digit()));
        let shown = mine.to_string();
        assert_eq!(shown.len(), 60 + 11);
        assert_eq!(shown.split(' ').count(), 12);
        assert_eq!(shown.replace(' ', ""), mine.digits());
    }

    #[test]
    fn the_number_changes_when_a_key_or_a_name_changes() {
        let (jo, patel) = (keys(63, 1), keys(64, 1));
        let number = |a: &[IdentityPublic], b: &[IdentityPublic], b_name: &str| {
            SafetyNumber::of((&name("Nurse Jo"), a), (&name(b_name), b)).unwrap()
        };
        let before = number(&jo, &patel, "Dr Patel");
        // Dr Patel reset the browser: a new identity key.
        let after = number(&jo, &keys(65, 1), "Dr Patel");
        assert_ne!(before, after);
        // Only Dr Patel's half moved: Jo's thirty digits are still there.
        let same_half = |x: &SafetyNumber, y: &SafetyNumber| {
            x.digits()[..30] == y.digits()[..30]
                || x.digits()[30..] == y.digits()[30..]
                || x.digits()[..30] == y.digits()[30..]
                || x.digits()[30..] == y.digits()[..30]
        };
        assert!(same_half(&before, &after));
        // A second browser of Dr Patel's adds a key: the number changes too.
        let mut two = patel.clone();
        two.extend(keys(66, 1));
        assert_ne!(before, number(&jo, &two, "Dr Patel"));
        // The same key under another name.
        assert_ne!(before, number(&jo, &patel, "Dr Patil"));
        // A key listed twice counts once.
        let mut twice = patel.clone();
        twice.push(patel[0]);
        assert_eq!(before, number(&jo, &twice, "Dr Patel"));
        // Nothing to compare yet.
        assert_eq!(
            SafetyNumber::of((&name("Nurse Jo"), &jo), (&name("Dr Patel"), &[])),
            None
        );
    }
}
