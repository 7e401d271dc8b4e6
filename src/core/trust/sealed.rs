//! The one form every encrypted value of version 2 takes, and what it is
//! bound to.
//!
//! A sealed value is, before base64url:
//!
//! | bytes | field |
//! | --- | --- |
//! | 1 | version, `2` |
//! | 1 | kind: `m` message, `x` key share, `r` receipt |
//! | 4 | epoch of the sender key (big-endian) |
//! | 12 | nonce, fresh from the platform CSPRNG |
//! | n + 16 | AES-256-GCM ciphertext and tag |
//! | 64 | Ed25519 signature by the writer's identity key |
//!
//! The **binding** ([`Binding`]) is the associated data of the encryption and
//! part of what is signed: a label, the version, the kind, the epoch, the
//! conversation id, the writing device, and what the key name says beyond
//! that (a message's sequence number, a share's recipient). A value that
//! was changed, cut short, moved to another key, to another conversation or
//! to another version fails its check.
//!
//! Each value is encrypted under its own key, HKDF-SHA256 of the base key
//! (a sender key, or a pairwise secret for shares) and the binding, so two
//! values never share an encryption key even if a nonce repeated. The
//! signature is checked before decryption: a colleague who holds a sender
//! key can decrypt, but cannot write in the sender's name.

use hkdf::Hkdf;
use sha2::Sha256;

use super::conversation::{Conversation, VERSION};
use super::encoding::{self, Reader};
use super::error::{TrustError, ValueKind};
use super::identity::{IdentityKey, IdentityPublic, SIGNATURE_LEN};
use super::primitives::{Primitives, NONCE_LEN};
use super::random::Entropy;
use crate::core::participants::DeviceId;

const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 1 + 1 + 4;

/// Bytes a sealed value adds to its plaintext (before base64url).
pub const OVERHEAD: usize = HEADER_LEN + NONCE_LEN + TAG_LEN + SIGNATURE_LEN;

/// What a value is, by the key it is stored under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `m.<device>.<seq>`
    Message,
    /// `x.<sender>.<recipient>.<epoch>`
    Share,
    /// A device's entry in its person's record.
    Receipt,
    /// `k.<device>` (signed, not encrypted).
    Announcement,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Message => b'm',
            Kind::Share => b'x',
            Kind::Receipt => b'r',
            Kind::Announcement => b'k',
        }
    }

    /// How a refused value of this kind is named to the clinician.
    pub(crate) fn value_kind(self) -> ValueKind {
        match self {
            Kind::Message => ValueKind::Message,
            Kind::Share => ValueKind::KeyShare,
            Kind::Receipt => ValueKind::Receipt,
            Kind::Announcement => ValueKind::DeviceKey,
        }
    }
}

/// What a value is bound to. See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Binding {
    kind: Kind,
    epoch: u32,
    bytes: Vec<u8>,
}

impl Binding {
    pub(crate) fn new(
        conversation: &Conversation,
        kind: Kind,
        writer: &DeviceId,
        epoch: u32,
    ) -> Binding {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(b"bleep");
        bytes.push(VERSION);
        bytes.push(kind.byte());
        bytes.extend_from_slice(&epoch.to_be_bytes());
        bytes.extend_from_slice(conversation.id());
        // Device ids are always ten letters: fixed width.
        bytes.extend_from_slice(writer.as_str().as_bytes());
        Binding { kind, epoch, bytes }
    }

    /// A message's sequence number.
    pub(crate) fn seq(mut self, seq: u64) -> Binding {
        self.bytes.extend_from_slice(&seq.to_be_bytes());
        self
    }

    /// A key share's recipient.
    pub(crate) fn recipient(mut self, device: &DeviceId) -> Binding {
        self.bytes.extend_from_slice(device.as_str().as_bytes());
        self
    }

    /// The signed form of `body` (nonce and ciphertext, or an
    /// announcement's fields) under this binding.
    pub(crate) fn signed(&self, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(24 + self.bytes.len() + body.len());
        out.extend_from_slice(b"bleep2 signature\0");
        out.extend_from_slice(&(self.bytes.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.bytes);
        out.extend_from_slice(body);
        out
    }

    fn rejected(&self) -> TrustError {
        TrustError::Rejected(self.kind.value_kind())
    }

    /// This value's own encryption key.
    fn value_key(&self, base_key: &[u8]) -> [u8; 32] {
        let hkdf = Hkdf::<Sha256>::new(Some(b"bleep2 value key"), base_key);
        let mut key = [0; 32];
        hkdf.expand(&self.bytes, &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 length");
        key
    }
}

/// Encrypts `plaintext` under `base_key` bound to `binding`, signs it as
/// `signer`, and writes it as text.
pub(crate) fn seal(
    binding: &Binding,
    base_key: &[u8],
    plaintext: &[u8],
    signer: &IdentityKey,
    rng: &mut dyn Entropy,
    crypto: &mut dyn Primitives,
) -> Result<String, TrustError> {
    if encoding::encoded_len(plaintext.len() + OVERHEAD) > encoding::MAX_TEXT {
        return Err(TrustError::TooLong);
    }
    let (nonce, ciphertext) =
        crypto.seal(&binding.value_key(base_key), &binding.bytes, plaintext, rng)?;
    let mut out = Vec::with_capacity(plaintext.len() + OVERHEAD);
    out.push(VERSION);
    out.push(binding.kind.byte());
    out.extend_from_slice(&binding.epoch.to_be_bytes());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ciphertext);
    let signature = signer.sign(&binding.signed(&out[HEADER_LEN..]), crypto)?;
    out.extend_from_slice(&signature);
    Ok(encoding::encode(&out))
}

/// A sealed value read from the server, not yet checked.
#[derive(Clone, Debug)]
pub(crate) struct Sealed {
    kind: Kind,
    epoch: u32,
    /// Nonce and ciphertext: what the signature covers after the binding.
    body: Vec<u8>,
    signature: [u8; SIGNATURE_LEN],
}

impl Sealed {
    /// Reads the form of a value expected to be of `kind`; anything else is
    /// refused.
    pub(crate) fn parse(text: &str, kind: Kind) -> Result<Sealed, TrustError> {
        let rejected = TrustError::Rejected(kind.value_kind());
        let bytes = encoding::decode(text).ok_or(rejected)?;
        if bytes.len() < OVERHEAD {
            return Err(rejected);
        }
        let mut r = Reader::new(&bytes);
        let (version, kind_byte, epoch) = (r.u8(), r.u8(), r.u32());
        if version != Some(VERSION) || kind_byte != Some(kind.byte()) {
            return Err(rejected);
        }
        let epoch = epoch.ok_or(rejected)?;
        let rest = r.rest();
        let (body, signature) = rest.split_at(rest.len() - SIGNATURE_LEN);
        Ok(Sealed {
            kind,
            epoch,
            body: body.to_vec(),
            signature: signature.try_into().map_err(|_| rejected)?,
        })
    }

    /// The epoch of the sender key this value needs.
    pub(crate) fn epoch(&self) -> u32 {
        self.epoch
    }

    /// Checks the writer's signature and the binding, then decrypts.
    pub(crate) fn open(
        &self,
        binding: &Binding,
        base_key: &[u8],
        signer: &IdentityPublic,
        crypto: &mut dyn Primitives,
    ) -> Result<Vec<u8>, TrustError> {
        let rejected = binding.rejected();
        if binding.kind != self.kind
            || binding.epoch != self.epoch
            || !signer.verifies(&binding.signed(&self.body), &self.signature, crypto)?
        {
            return Err(rejected);
        }
        let (nonce, ciphertext) = self.body.split_at(NONCE_LEN);
        let nonce: &[u8; NONCE_LEN] = nonce.try_into().map_err(|_| rejected)?;
        crypto
            .open(
                &binding.value_key(base_key),
                nonce,
                &binding.bytes,
                ciphertext,
            )?
            .ok_or(rejected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::participants::Name;
    use crate::core::trust::random::SeededEntropy;
    use crate::core::trust::RustCrypto;

    fn setup() -> (Conversation, DeviceId, IdentityKey, SeededEntropy) {
        let conversation = Conversation::new(
            &Name::parse("Alice").unwrap(),
            &Name::parse("Bob").unwrap(),
            None,
        );
        let mut rng = SeededEntropy::new(11);
        let signer = IdentityKey::generate(&mut rng, &mut RustCrypto).unwrap();
        (
            conversation,
            DeviceId::parse("aaaaaaaaaa").unwrap(),
            signer,
            rng,
        )
    }

    #[test]
    fn a_sealed_value_opens_with_its_binding_key_and_signer_only() {
        let (conversation, device, signer, mut rng) = setup();
        let key = [7u8; 32];
        let binding = Binding::new(&conversation, Kind::Message, &device, 1).seq(4);
        let text = seal(&binding, &key, b"bed 4", &signer, &mut rng, &mut RustCrypto).unwrap();
        assert_eq!(text.len(), encoding::encoded_len(5 + OVERHEAD));
        let sealed = Sealed::parse(&text, Kind::Message).unwrap();
        assert_eq!(sealed.epoch(), 1);
        assert_eq!(
            sealed.open(&binding, &key, &signer.public(), &mut RustCrypto),
            Ok(b"bed 4".to_vec())
        );

        let refused = Err(TrustError::Rejected(ValueKind::Message));
        assert_eq!(
            sealed.open(&binding, &[8u8; 32], &signer.public(), &mut RustCrypto),
            refused
        );
        let other_signer = IdentityKey::generate(&mut rng, &mut RustCrypto).unwrap();
        assert_eq!(
            sealed.open(&binding, &key, &other_signer.public(), &mut RustCrypto),
            refused
        );
        let other_seq = Binding::new(&conversation, Kind::Message, &device, 1).seq(5);
        assert_eq!(
            sealed.open(&other_seq, &key, &signer.public(), &mut RustCrypto),
            refused
        );
        let other_epoch = Binding::new(&conversation, Kind::Message, &device, 2).seq(4);
        assert_eq!(
            sealed.open(&other_epoch, &key, &signer.public(), &mut RustCrypto),
            refused
        );
        assert!(Sealed::parse(&text, Kind::Receipt).is_err());
    }

    #[test]
    fn two_seals_of_one_plaintext_differ_and_both_open() {
        let (conversation, device, signer, mut rng) = setup();
        let binding = Binding::new(&conversation, Kind::Receipt, &device, 3);
        let mut seal_same = || {
            seal(
                &binding,
                &[1; 32],
                b"same",
                &signer,
                &mut rng,
                &mut RustCrypto,
            )
            .unwrap()
        };
        let (a, b) = (seal_same(), seal_same());
        assert_ne!(a, b, "fresh nonces");
        for text in [a, b] {
            let sealed = Sealed::parse(&text, Kind::Receipt).unwrap();
            assert_eq!(
                sealed
                    .open(&binding, &[1; 32], &signer.public(), &mut RustCrypto)
                    .unwrap(),
                b"same"
            );
        }
    }

    #[test]
    fn bindings_of_different_keys_never_coincide() {
        let (conversation, device, _, _) = setup();
        let other = DeviceId::parse("bbbbbbbbbb").unwrap();
        let all = [
            Binding::new(&conversation, Kind::Message, &device, 1).seq(1),
            Binding::new(&conversation, Kind::Message, &device, 1).seq(2),
            Binding::new(&conversation, Kind::Message, &other, 1).seq(1),
            Binding::new(&conversation, Kind::Share, &device, 1).recipient(&other),
            Binding::new(&conversation, Kind::Share, &other, 1).recipient(&device),
            Binding::new(&conversation, Kind::Receipt, &device, 1),
            Binding::new(&conversation, Kind::Announcement, &device, 0),
        ];
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                assert_ne!(a.signed(b""), b.signed(b""));
            }
        }
    }

    #[test]
    fn a_value_too_large_for_the_server_is_not_sealed() {
        let (conversation, device, signer, mut rng) = setup();
        let binding = Binding::new(&conversation, Kind::Message, &device, 1).seq(1);
        let big = vec![b'x'; encoding::MAX_TEXT];
        assert_eq!(
            seal(&binding, &[0; 32], &big, &signer, &mut rng, &mut RustCrypto),
            Err(TrustError::TooLong)
        );
    }
}
