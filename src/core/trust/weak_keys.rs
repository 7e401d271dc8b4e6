//! The Ed25519 public keys that must never be accepted as an identity:
//! the encodings of the curve's eight points of small order. Under such a
//! key one made-up signature checks for many messages (for the neutral
//! point, R the neutral point and S = 0 check for every message), and
//! both Chromium's and Firefox's WebCrypto accept those signatures, where
//! the crates' strict check refuses them (`primitive_vectors.rs`). Version
//! 2 therefore refuses such keys where it reads them
//! (`IdentityPublic::from_bytes`), whatever then checks the signatures.
//!
//! The list is bytes, not arithmetic: the point's `y` coordinate with the
//! sign bit of `x` (the top bit) masked, for each of the five `y` values of
//! the small-order points (1, −1, 0 and the two of order 8), plus the two
//! that can also be written unreduced (0 as p, 1 as p + 1, where p = 2^255
//! − 19), since a decoder reads those as the same point. A test checks the
//! list against curve25519-dalek: each of these encodings, with either
//! sign bit, decodes to a point the crates call weak, and keys of random
//! seeds are refused by neither.

/// `y`, little-endian, top bit clear. See the module documentation.
const SMALL_ORDER_Y: [[u8; 32]; 7] = [
    // 0: the two points of order 4.
    [0; 32],
    // 1: the neutral point.
    one(),
    // p − 1 (−1): the point of order 2.
    p_plus(-1),
    // The two y values of the four points of order 8.
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    // p (0 unreduced) and p + 1 (1 unreduced).
    p_plus(0),
    p_plus(1),
];

const fn one() -> [u8; 32] {
    let mut bytes = [0; 32];
    bytes[0] = 1;
    bytes
}

/// p + `offset` for an offset in −1..=1: p is 0xed, then thirty 0xff, then
/// 0x7f.
const fn p_plus(offset: i8) -> [u8; 32] {
    let mut bytes = [0xff; 32];
    bytes[0] = (0xed_i16 + offset as i16) as u8;
    bytes[31] = 0x7f;
    bytes
}

/// Whether `key` encodes a point of small order (either sign of `x`).
pub fn is_weak(key: &[u8; 32]) -> bool {
    let mut y = *key;
    y[31] &= 0x7f;
    SMALL_ORDER_Y.contains(&y)
}

#[cfg(test)]
mod tests {
    use curve25519_dalek::constants::EIGHT_TORSION;
    use ed25519_dalek::{SigningKey, VerifyingKey};

    use super::*;

    /// What the crates say of an encoding: a point, and a weak one.
    fn dalek_weak(key: &[u8; 32]) -> bool {
        VerifyingKey::from_bytes(key).is_ok_and(|k| k.is_weak())
    }

    fn with_sign(mut key: [u8; 32], sign: bool) -> [u8; 32] {
        key[31] = key[31] & 0x7f | u8::from(sign) << 7;
        key
    }

    #[test]
    fn every_listed_encoding_is_a_point_the_crates_call_weak() {
        for y in SMALL_ORDER_Y {
            for sign in [false, true] {
                let key = with_sign(y, sign);
                assert!(dalek_weak(&key), "{key:02x?}");
                assert!(is_weak(&key));
            }
        }
    }

    #[test]
    fn the_list_holds_every_small_order_point_and_nothing_more() {
        // Each of the eight points, as the crates write it, is listed.
        for point in EIGHT_TORSION {
            assert!(is_weak(&point.compress().to_bytes()));
        }
        // Seven distinct y values: five reduced, two unreduced.
        for (i, y) in SMALL_ORDER_Y.iter().enumerate() {
            assert!(!SMALL_ORDER_Y[..i].contains(y));
            assert_eq!(y[31] & 0x80, 0);
        }
        // The only y values that can be written unreduced are below 19;
        // of those, the list holds exactly the small-order ones (0 and 1).
        for y in 0..19u8 {
            let mut unreduced = p_plus(0);
            unreduced[0] = 0xed + y;
            let mut reduced = [0; 32];
            reduced[0] = y;
            for sign in [false, true] {
                assert_eq!(
                    is_weak(&with_sign(unreduced, sign)),
                    dalek_weak(&with_sign(unreduced, sign)),
                    "p + {y}"
                );
                assert_eq!(
                    is_weak(&with_sign(reduced, sign)),
                    dalek_weak(&with_sign(reduced, sign)),
                    "{y}"
                );
            }
        }
    }

    #[test]
    fn keys_of_two_thousand_seeds_are_weak_to_neither() {
        let mut seed = [0u8; 32];
        for i in 0..2_000u32 {
            seed[..4].copy_from_slice(&i.to_le_bytes());
            seed[4] = 0x5a;
            let key = SigningKey::from_bytes(&seed).verifying_key().to_bytes();
            assert!(!is_weak(&key));
            assert!(!dalek_weak(&key));
        }
    }
}
