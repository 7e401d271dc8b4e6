//! Known answers for each cryptographic primitive version 2 is made of:
//! SHA-512, HKDF-SHA256, AES-256-GCM, Ed25519 and X25519, with the
//! parameters the protocol uses them with (32-byte keys, 12-byte nonces,
//! 16-byte tags, 32 bytes from HKDF).
//!
//! Issue 15 asks that, where the browser and the native tests use
//! different implementations, the same vectors run through both. The
//! native tests below run them through the RustCrypto crates the core is
//! built on; `tests/browser_webcrypto.rs` runs the very same list through
//! the browser's WebCrypto (`app::webcrypto`, reached through the probe
//! build's `WebCryptoCheck.run`). Refusals are answers too: a changed tag, a
//! changed signature, a signature whose scalar is not reduced, and a key
//! agreement with a low-order point must fail in both.
//!
//! One answer differs, and the browser test names it: Chromium's and
//! Firefox's Ed25519 accept a "signature" under a low-order public key (the
//! neutral point), which the strict check the core uses refuses. The core
//! refuses such keys where they are read (`IdentityPublic::from_bytes`);
//! an implementation on WebCrypto must keep that refusal.
//!
//! What the port ([`super::primitives`]) covers runs on both sides as the
//! job the core would ask for ([`Op::job`]), carried out natively through
//! [`super::RustCrypto`] (`deferred::carry_out`) and in the browser through
//! WebCrypto (`app::webcrypto::carry_out`); the rest (SHA-512 and HKDF,
//! which stay in the core) through the crates and WebCrypto's own calls.
//!
//! Every answer is base64url text ([`super::encoding`]); a check that
//! passes answers the empty string, and a refusal is `None`.

use super::deferred::{Job, Outcome};
use super::encoding;

/// One primitive applied to fixed inputs.
#[derive(Clone, Debug)]
pub enum Op {
    /// SHA-512 of `data`.
    Sha512 { data: Vec<u8> },
    /// 32 bytes of HKDF-SHA256 (extract with `salt`, expand with `info`).
    Hkdf {
        salt: Vec<u8>,
        ikm: Vec<u8>,
        info: Vec<u8>,
    },
    /// AES-256-GCM: the ciphertext followed by its 16-byte tag.
    Seal {
        key: Vec<u8>,
        nonce: Vec<u8>,
        aad: Vec<u8>,
        plaintext: Vec<u8>,
    },
    /// AES-256-GCM: the plaintext, or a refusal.
    Open {
        key: Vec<u8>,
        nonce: Vec<u8>,
        aad: Vec<u8>,
        sealed: Vec<u8>,
    },
    /// The Ed25519 public key of a 32-byte secret seed.
    SigningPublic { seed: Vec<u8> },
    /// An Ed25519 signature (deterministic: the same every time).
    Sign { seed: Vec<u8>, message: Vec<u8> },
    /// Whether an Ed25519 signature checks (the empty answer) or not.
    Verify {
        public: Vec<u8>,
        message: Vec<u8>,
        signature: Vec<u8>,
    },
    /// The X25519 public key of a 32-byte secret.
    AgreementPublic { secret: Vec<u8> },
    /// The X25519 shared secret, or a refusal when it is all zeros (a
    /// low-order public key).
    Agree { secret: Vec<u8>, public: Vec<u8> },
}

/// One known answer.
#[derive(Clone, Debug)]
pub struct Vector {
    pub name: &'static str,
    pub op: Op,
    /// base64url of the output; `Some("")` for a check that passes, `None`
    /// for a refusal.
    pub answer: Option<&'static str>,
}

fn bytes(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

fn counting(from: u8, len: u8) -> Vec<u8> {
    (0..len)
        .map(|i| from.wrapping_add(i.wrapping_mul(7)))
        .collect()
}

fn known(answer: &'static str) -> Vec<u8> {
    encoding::decode(answer).unwrap_or_default()
}

const SEALED: &str = "mcvRqmdArYjcm8AUUSmPRmKGf5m6o2qVtFUqCh2Q3N0q4a-wp_-Z4mpa-7w";
const SIGNATURE: &str =
    "t1XEDGhjQTbiz7vcR4bARYXJ9XI7SeReR-AR7kN8pl5TX5GCMg2OiSUYm3Evyn-V9T_dXVOy7o4h3gBqBSKbBQ";
const SIGNING_PUBLIC: &str = "XRMN6FJ99N-AKBL0cm0pI2_rjiLmqK5DhJ_EajU3BFo";
const ALICE_AGREEMENT: &str = "cy7fq5I66k0o8YehEg1rHNCyrLM3Y-RQ1915E-EiYE0";
const BOB_AGREEMENT: &str = "tDO2o8K8eKfrS5IZuitzfhitolYtVJwPUvAt-r3tPXI";
const SHARED: &str = "HJs2Pst1kCwjxQTkFp3M-gHaZSDErLJjTE3AfpzWlXw";

/// Every known answer, in the order the browser runs them.
pub fn all() -> Vec<Vector> {
    let key = counting(1, 32);
    let nonce = counting(100, 12);
    let aad = bytes("bleep2 m aaaaaaaaaa 7");
    let plaintext = bytes("Give 10 mg morphine to bed 7");
    let message = bytes("bleep2 signature: bed 4 desaturating");
    let (alice, bob) = (counting(9, 32), counting(200, 32));
    let mut neutral = vec![0; 32];
    neutral[0] = 1;
    let mut changed_tag = known(SEALED);
    if let Some(last) = changed_tag.last_mut() {
        *last ^= 1;
    }
    let mut changed_signature = known(SIGNATURE);
    changed_signature[5] ^= 0x40;
    // The signature's scalar S plus the group order L (still 32 bytes):
    // the same value modulo L, which a strict check refuses.
    let mut unreduced = known(SIGNATURE);
    add_group_order(&mut unreduced[32..]);
    let open = |aad: &[u8], sealed: Vec<u8>| Op::Open {
        key: key.clone(),
        nonce: nonce.clone(),
        aad: aad.to_vec(),
        sealed,
    };
    let verify = |message: &[u8], signature: Vec<u8>| Op::Verify {
        public: known(SIGNING_PUBLIC),
        message: message.to_vec(),
        signature,
    };
    vec![
        Vector {
            name: "SHA-512 of a short text",
            op: Op::Sha512 { data: bytes("bleep safety number") },
            answer: Some(
                "rjRX4d5PVKcGxTY9NoJ3gyOO0i7gWcmvVc2rJkVEkIUH-0kLAyhFQfd__7oOAsQU6zX7dlAiRut9UOf28V739Q",
            ),
        },
        Vector {
            name: "SHA-512 of 300 bytes",
            op: Op::Sha512 { data: (0..300u32).map(|i| (i % 251) as u8).collect() },
            answer: Some(
                "91jknm_KMjIDEKobCy46v-q3_IQUugaQIuizm35TYovkd37bq5OmeAqDGO7UjEZl_1XWjf8ubIS2JwtO_234cw",
            ),
        },
        Vector {
            name: "HKDF-SHA256, 32 bytes",
            op: Op::Hkdf {
                salt: bytes("bleep2 value key"),
                ikm: key.clone(),
                info: aad.clone(),
            },
            answer: Some("eHvnVwFcGVFFSnlpyAFb5UUJpLS5eTcIIbTWuSkGGaw"),
        },
        Vector {
            name: "HKDF-SHA256 with empty input key material",
            op: Op::Hkdf {
                salt: bytes("bleep2 conversation id"),
                ikm: Vec::new(),
                info: bytes("\0\x05alice\0\x03bob"),
            },
            answer: Some("8lls5U0PTdqkNrFu7F9XakuhAuzRYqBE99o40ms9Eww"),
        },
        Vector {
            name: "AES-256-GCM seal",
            op: Op::Seal {
                key: key.clone(),
                nonce: nonce.clone(),
                aad: aad.clone(),
                plaintext: plaintext.clone(),
            },
            answer: Some(SEALED),
        },
        Vector {
            name: "AES-256-GCM open",
            op: open(&aad, known(SEALED)),
            answer: Some("R2l2ZSAxMCBtZyBtb3JwaGluZSB0byBiZWQgNw"),
        },
        Vector {
            name: "AES-256-GCM refuses a changed tag",
            op: open(&aad, changed_tag),
            answer: None,
        },
        Vector {
            name: "AES-256-GCM refuses other associated data",
            op: open(b"bleep2 m aaaaaaaaaa 8", known(SEALED)),
            answer: None,
        },
        Vector {
            name: "Ed25519 public key",
            op: Op::SigningPublic { seed: alice.clone() },
            answer: Some(SIGNING_PUBLIC),
        },
        Vector {
            name: "Ed25519 signature",
            op: Op::Sign {
                seed: alice.clone(),
                message: message.clone(),
            },
            answer: Some(SIGNATURE),
        },
        Vector {
            name: "Ed25519 accepts its signature",
            op: verify(&message, known(SIGNATURE)),
            answer: Some(""),
        },
        Vector {
            name: "Ed25519 refuses another message",
            op: verify(b"bleep2 signature: bed 4 is fine", known(SIGNATURE)),
            answer: None,
        },
        Vector {
            name: "Ed25519 refuses a changed signature",
            op: verify(&message, changed_signature),
            answer: None,
        },
        Vector {
            name: "Ed25519 refuses an unreduced scalar",
            op: verify(&message, unreduced),
            answer: None,
        },
        Vector {
            name: "Ed25519 refuses a low-order public key",
            // The neutral point as the key, and as R with S = 0: a
            // "signature" of every message under a check without the
            // strict one's refusal of small-order keys.
            op: Op::Verify {
                public: neutral.clone(),
                message: message.clone(),
                signature: [neutral.clone(), vec![0; 32]].concat(),
            },
            answer: None,
        },
        Vector {
            name: "X25519 public key (Alice)",
            op: Op::AgreementPublic { secret: alice.clone() },
            answer: Some(ALICE_AGREEMENT),
        },
        Vector {
            name: "X25519 public key (Bob)",
            op: Op::AgreementPublic { secret: bob.clone() },
            answer: Some(BOB_AGREEMENT),
        },
        Vector {
            name: "X25519 agreement, Alice's side",
            op: Op::Agree {
                secret: alice.clone(),
                public: known(BOB_AGREEMENT),
            },
            answer: Some(SHARED),
        },
        Vector {
            name: "X25519 agreement, Bob's side",
            op: Op::Agree {
                secret: bob,
                public: known(ALICE_AGREEMENT),
            },
            answer: Some(SHARED),
        },
        Vector {
            name: "X25519 refuses a low-order public key",
            op: Op::Agree {
                secret: alice,
                public: vec![0; 32],
            },
            answer: None,
        },
    ]
}

/// Adds Ed25519's group order L to the little-endian 32-byte scalar `s`.
fn add_group_order(s: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for (byte, l) in s.iter_mut().zip(L) {
        let sum = u16::from(*byte) + u16::from(l) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
}

impl Op {
    /// The port's job for this operation, as the core would ask for it
    /// (`deferred`): for AES-256-GCM, the public halves, signing, checking
    /// and agreeing. `None` for what the port does not cover (SHA-512 and
    /// HKDF), or for inputs of the wrong length (none in [`all`]).
    pub fn job(&self) -> Option<Job> {
        fn array<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
            bytes.try_into().ok()
        }
        Some(match self {
            Op::Seal {
                key,
                nonce,
                aad,
                plaintext,
            } => Job::Seal {
                key: array(key)?,
                nonce: array(nonce)?,
                aad: aad.clone(),
                plaintext: plaintext.clone(),
            },
            Op::Open {
                key,
                nonce,
                aad,
                sealed,
            } => Job::Open {
                key: array(key)?,
                nonce: array(nonce)?,
                aad: aad.clone(),
                sealed: sealed.clone(),
            },
            Op::SigningPublic { seed } => Job::SigningPublic { seed: array(seed)? },
            Op::Sign { seed, message } => Job::Sign {
                seed: array(seed)?,
                message: message.clone(),
            },
            Op::Verify {
                public,
                message,
                signature,
            } => Job::Verify {
                public: array(public)?,
                message: message.clone(),
                signature: signature.clone(),
            },
            Op::AgreementPublic { secret } => Job::AgreementPublic {
                secret: array(secret)?,
            },
            Op::Agree { secret, public } => Job::Agree {
                secret: array(secret)?,
                public: array(public)?,
            },
            Op::Sha512 { .. } | Op::Hkdf { .. } => return None,
        })
    }
}

/// A job's outcome as a vector's answer: base64url of its output, `None`
/// for a refusal, or the platform's words when it could not.
pub fn answer_of(outcome: Outcome) -> Result<Option<String>, String> {
    match outcome {
        Outcome::Done(bytes) => Ok(Some(encoding::encode(&bytes))),
        Outcome::Refused => Ok(None),
        Outcome::Unavailable(why) => Err(why),
    }
}

/// What went wrong with one vector, or `None` when `got` is its answer.
pub fn mismatch(vector: &Vector, got: &Option<String>) -> Option<String> {
    (got.as_deref() != vector.answer).then(|| {
        format!(
            "{}: expected {}, got {}",
            vector.name,
            said(vector.answer),
            said(got.as_deref())
        )
    })
}

/// An answer in words.
fn said(answer: Option<&str>) -> &str {
    match answer {
        None => "a refusal",
        Some("") => "an empty answer",
        Some(text) => text,
    }
}

#[cfg(test)]
mod tests {
    use hkdf::Hkdf;
    use sha2::{Digest, Sha256, Sha512};

    use super::*;
    use crate::core::trust::deferred::carry_out;
    use crate::core::trust::random::GivenBytes;
    use crate::core::trust::{Primitives, RustCrypto};

    fn array<const N: usize>(bytes: &[u8]) -> Option<[u8; N]> {
        bytes.try_into().ok()
    }

    /// The native answer, as the browser's is given: what the port covers
    /// as the job the browser gets, carried out through [`RustCrypto`]; the
    /// rest from the crates.
    fn native(op: &Op) -> Result<Option<String>, String> {
        if let Some(job) = op.job() {
            return answer_of(carry_out(&job, &mut RustCrypto));
        }
        let bytes = match op {
            Op::Sha512 { data } => Sha512::digest(data).to_vec(),
            Op::Hkdf { salt, ikm, info } => {
                let mut out = [0; 32];
                Hkdf::<Sha256>::new(Some(salt), ikm)
                    .expand(info, &mut out)
                    .map_err(|e| e.to_string())?;
                out.to_vec()
            }
            other => return Err(format!("inputs of the wrong length: {other:?}")),
        };
        Ok(Some(encoding::encode(&bytes)))
    }

    #[test]
    fn the_rustcrypto_crates_give_every_known_answer() {
        let failures: Vec<String> = all()
            .iter()
            .filter_map(|v| match native(&v.op) {
                Ok(got) => mismatch(v, &got),
                Err(why) => Some(format!("{}: {why}", v.name)),
            })
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        // A seal's job carries its nonce: the port seals with the nonce it
        // is given, and says so.
        for op in all().iter().map(|v| &v.op) {
            if let Op::Seal {
                key,
                nonce,
                aad,
                plaintext,
            } = op
            {
                let (drawn, _) = RustCrypto
                    .seal(
                        &array(key).unwrap(),
                        aad,
                        plaintext,
                        &mut GivenBytes(nonce.clone()),
                    )
                    .unwrap();
                assert_eq!(drawn.to_vec(), *nonce);
            }
        }
    }

    #[test]
    fn every_operation_the_port_covers_is_a_job() {
        for vector in all() {
            let covered = !matches!(vector.op, Op::Sha512 { .. } | Op::Hkdf { .. });
            assert_eq!(vector.op.job().is_some(), covered, "{}", vector.name);
        }
    }

    #[test]
    fn each_refusal_is_of_a_value_that_differs_from_an_accepted_one() {
        let vectors = all();
        let refused = vectors.iter().filter(|v| v.answer.is_none()).count();
        assert_eq!(
            refused, 7,
            "a changed tag, other data, three signatures, two low-order keys"
        );
        // The unreduced signature is the accepted one modulo L, so only a
        // strict check refuses it.
        let mut s = known(SIGNATURE)[32..].to_vec();
        add_group_order(&mut s);
        assert_ne!(s, known(SIGNATURE)[32..].to_vec());
    }
}
