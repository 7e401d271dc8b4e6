//! The browser's WebCrypto (`crypto.subtle`) for the primitives protocol
//! version 2 is made of (issue 15): SHA-512, HKDF-SHA256, AES-256-GCM,
//! Ed25519 and X25519, with the inputs and outputs the RustCrypto crates
//! of `core::trust` take and give, byte for byte.
//!
//! The core asks for primitives through a port (`core::trust::primitives`);
//! [`complete`] runs a composition of the core over the port's jobs
//! (`core::trust::deferred`), carrying each job out here, until it is done.
//!
//! Not yet what the app seals with: version 2 is not on the wire yet
//! (PROTOCOL.md, "Moving to version 2"). As measured on its integration
//! branch, the crates were 13.6 KB of version 2's 53 KB in the download
//! and this layer, as written, costs 4.5 (BENCHMARKS.md, "What WebCrypto
//! would save version 2, measured"). Both
//! implementations run the same known answers, of each primitive
//! (`core::trust::primitive_vectors`) and of every stored form
//! (`core::trust::vectors`): natively in `cargo test`, and through this
//! module in Chromium and Firefox (`tests/browser_webcrypto.rs`, through the
//! probe build's `WebCryptoCheck`).
//!
//! WebCrypto is asynchronous, so every function here is. It exists only in
//! a secure context: a page served over HTTPS or from the machine itself
//! (`localhost`, `127.0.0.1`); over plain HTTP from another host
//! `crypto.subtle` is missing, and every call answers
//! [`CryptoError::Unavailable`].
//!
//! Secrets are imported as PKCS #8 (WebCrypto takes Ed25519 and X25519
//! private keys in no raw form): the fixed 16-byte header of RFC 8410
//! followed by the 32-byte secret.

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

use crate::core::trust::deferred::{Deferred, Job, Outcome, Step};
use crate::core::trust::{encoding, TrustError};

/// Why a primitive gave no answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CryptoError {
    /// The input failed its check: a changed ciphertext or tag, other
    /// associated data, a signature that does not verify, a low-order
    /// public key.
    Refused,
    /// The browser cannot do it (no WebCrypto outside a secure context, or
    /// an algorithm it lacks); the browser's own words.
    Unavailable(String),
}

type Answer<T> = Result<T, CryptoError>;

/// RFC 8410's PKCS #8 header of a 32-byte Ed25519 secret (OID 1.3.101.112).
const ED25519_PKCS8: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// The same for X25519 (OID 1.3.101.110).
const X25519_PKCS8: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x04, 0x22, 0x04, 0x20,
];

fn subtle() -> Answer<SubtleCrypto> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .ok()
        .filter(|c| !c.is_undefined());
    let subtle = crypto.and_then(|c| Reflect::get(&c, &JsValue::from_str("subtle")).ok());
    subtle
        .filter(|s| !s.is_undefined())
        .map(JsCast::unchecked_into)
        .ok_or_else(|| {
            CryptoError::Unavailable(
                "this page is not in a secure context (HTTPS or this machine)".to_owned(),
            )
        })
}

/// What a rejected promise or a throwing call means: an `OperationError`
/// is a failed check, anything else the browser's lack.
fn failure(error: JsValue) -> CryptoError {
    let name = Reflect::get(&error, &JsValue::from_str("name"))
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    if name == "OperationError" {
        return CryptoError::Refused;
    }
    let message = Reflect::get(&error, &JsValue::from_str("message"))
        .ok()
        .and_then(|m| m.as_string())
        .unwrap_or_default();
    CryptoError::Unavailable(format!("{name}: {message}"))
}

async fn settle(call: Result<Promise, JsValue>) -> Answer<JsValue> {
    JsFuture::from(call.map_err(failure)?)
        .await
        .map_err(failure)
}

async fn settle_bytes(call: Result<Promise, JsValue>) -> Answer<Vec<u8>> {
    Ok(Uint8Array::new(&settle(call).await?).to_vec())
}

fn usages(names: &[&str]) -> Array {
    names.iter().map(|n| JsValue::from_str(n)).collect()
}

/// An algorithm's parameters: `{ name, ...fields }`.
fn params(name: &str, fields: &[(&str, &JsValue)]) -> Object {
    let object = Object::new();
    let _ = Reflect::set(&object, &"name".into(), &name.into());
    for (field, value) in fields {
        let _ = Reflect::set(&object, &(*field).into(), value);
    }
    object
}

async fn import(
    format: &str,
    bytes: &[u8],
    algorithm: &str,
    extractable: bool,
    uses: &[&str],
) -> Answer<CryptoKey> {
    let subtle = subtle()?;
    let data = Uint8Array::from(bytes);
    let key =
        settle(subtle.import_key_with_str(format, &data, algorithm, extractable, &usages(uses)))
            .await?;
    Ok(key.unchecked_into())
}

/// A 32-byte secret as a private key of `algorithm`.
async fn import_secret(
    header: &[u8; 16],
    secret: &[u8],
    algorithm: &str,
    extractable: bool,
    uses: &[&str],
) -> Answer<CryptoKey> {
    if secret.len() != 32 {
        return Err(CryptoError::Refused);
    }
    let mut pkcs8 = header.to_vec();
    pkcs8.extend_from_slice(secret);
    import("pkcs8", &pkcs8, algorithm, extractable, uses).await
}

/// The public key of a private key of `algorithm`: its JWK's `x`.
async fn public_of(header: &[u8; 16], secret: &[u8], algorithm: &str) -> Answer<Vec<u8>> {
    let uses: &[&str] = if algorithm == "Ed25519" {
        &["sign"]
    } else {
        &["deriveBits"]
    };
    let key = import_secret(header, secret, algorithm, true, uses).await?;
    let jwk = settle(subtle()?.export_key("jwk", &key)).await?;
    Reflect::get(&jwk, &"x".into())
        .ok()
        .and_then(|x| x.as_string())
        .and_then(|x| encoding::decode(&x))
        .ok_or_else(|| CryptoError::Unavailable("the key's JWK has no public part".to_owned()))
}

/// SHA-512 of `data`.
pub async fn sha512(data: &[u8]) -> Answer<Vec<u8>> {
    settle_bytes(subtle()?.digest_with_str_and_u8_array("SHA-512", data)).await
}

/// 32 bytes of HKDF-SHA256: extracted from `ikm` with `salt`, expanded
/// with `info`.
pub async fn hkdf(salt: &[u8], ikm: &[u8], info: &[u8]) -> Answer<Vec<u8>> {
    let key = import("raw", ikm, "HKDF", false, &["deriveBits"]).await?;
    let algorithm = params(
        "HKDF",
        &[
            ("hash", &"SHA-256".into()),
            ("salt", &Uint8Array::from(salt).into()),
            ("info", &Uint8Array::from(info).into()),
        ],
    );
    settle_bytes(subtle()?.derive_bits_with_object(&algorithm, &key, 256)).await
}

fn gcm(nonce: &[u8], aad: &[u8]) -> Object {
    params(
        "AES-GCM",
        &[
            ("iv", &Uint8Array::from(nonce).into()),
            ("additionalData", &Uint8Array::from(aad).into()),
            ("tagLength", &128.into()),
        ],
    )
}

/// AES-256-GCM: `plaintext` encrypted under `key` with `nonce`, bound to
/// `aad`; the ciphertext followed by the 16-byte tag.
pub async fn seal(key: &[u8], nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Answer<Vec<u8>> {
    let key = import("raw", key, "AES-GCM", false, &["encrypt"]).await?;
    settle_bytes(subtle()?.encrypt_with_object_and_u8_array(&gcm(nonce, aad), &key, plaintext))
        .await
}

/// AES-256-GCM: the plaintext of `sealed`, refused unless its tag checks
/// under `key`, `nonce` and `aad`.
pub async fn open(key: &[u8], nonce: &[u8], aad: &[u8], sealed: &[u8]) -> Answer<Vec<u8>> {
    let key = import("raw", key, "AES-GCM", false, &["decrypt"]).await?;
    settle_bytes(subtle()?.decrypt_with_object_and_u8_array(&gcm(nonce, aad), &key, sealed)).await
}

/// A public key from someone else (untrusted) as a key of `algorithm`:
/// key data the browser will not take (`DataError`: Firefox refuses a
/// low-order X25519 key here, where Chromium refuses its agreement) is a
/// failed check like any other.
async fn import_public(bytes: &[u8], algorithm: &str, uses: &[&str]) -> Answer<CryptoKey> {
    match import("raw", bytes, algorithm, false, uses).await {
        Err(CryptoError::Unavailable(why)) if why.starts_with("DataError:") => {
            Err(CryptoError::Refused)
        }
        imported => imported,
    }
}

/// The Ed25519 public key of a 32-byte secret seed.
pub async fn signing_public(seed: &[u8]) -> Answer<Vec<u8>> {
    public_of(&ED25519_PKCS8, seed, "Ed25519").await
}

/// The Ed25519 signature of `message` by the key of `seed`.
pub async fn sign(seed: &[u8], message: &[u8]) -> Answer<Vec<u8>> {
    let key = import_secret(&ED25519_PKCS8, seed, "Ed25519", false, &["sign"]).await?;
    settle_bytes(subtle()?.sign_with_str_and_u8_array("Ed25519", &key, message)).await
}

/// Whether `signature` is `public`'s Ed25519 signature of `message`.
pub async fn verify(public: &[u8], message: &[u8], signature: &[u8]) -> Answer<()> {
    let key = import_public(public, "Ed25519", &["verify"]).await?;
    let checks = settle(
        subtle()?.verify_with_str_and_u8_array_and_u8_array("Ed25519", &key, signature, message),
    )
    .await?;
    if checks.as_bool() == Some(true) {
        Ok(())
    } else {
        Err(CryptoError::Refused)
    }
}

/// The X25519 public key of a 32-byte secret.
pub async fn agreement_public(secret: &[u8]) -> Answer<Vec<u8>> {
    public_of(&X25519_PKCS8, secret, "X25519").await
}

/// The X25519 shared secret of `secret` and `public`; refused when it is
/// all zeros (a low-order public key), as WebCrypto's specification says.
pub async fn agree(secret: &[u8], public: &[u8]) -> Answer<Vec<u8>> {
    let private = import_secret(&X25519_PKCS8, secret, "X25519", false, &["deriveBits"]).await?;
    let public = import_public(public, "X25519", &[]).await?;
    let algorithm = params("X25519", &[("public", &public.into())]);
    let shared = settle_bytes(subtle()?.derive_bits_with_object(&algorithm, &private, 256)).await?;
    // Browsers that predate the specification's check answer the zeros.
    if shared.iter().all(|&b| b == 0) {
        return Err(CryptoError::Refused);
    }
    Ok(shared)
}

/// Carries out one job of the core's deferred primitives.
pub async fn carry_out(job: &Job) -> Outcome {
    let answer = match job {
        Job::Seal {
            key,
            nonce,
            aad,
            plaintext,
        } => seal(key, nonce, aad, plaintext).await,
        Job::Open {
            key,
            nonce,
            aad,
            sealed,
        } => open(key, nonce, aad, sealed).await,
        Job::SigningPublic { seed } => signing_public(seed).await,
        Job::Sign { seed, message } => sign(seed, message).await,
        Job::Verify {
            public,
            message,
            signature,
        } => verify(public, message, signature)
            .await
            .map(|()| Vec::new()),
        Job::AgreementPublic { secret } => agreement_public(secret).await,
        Job::Agree { secret, public } => agree(secret, public).await,
    };
    match answer {
        Ok(bytes) => Outcome::Done(bytes),
        Err(CryptoError::Refused) => Outcome::Refused,
        Err(CryptoError::Unavailable(why)) => Outcome::Unavailable(why),
    }
}

/// Runs `composition` over `deferred` until it is done
/// ([`Deferred::run`]), carrying its jobs out with WebCrypto in between.
pub async fn complete<T>(
    deferred: &mut Deferred,
    mut composition: impl FnMut(&mut Deferred) -> Result<T, TrustError>,
) -> Result<T, TrustError> {
    loop {
        match deferred.run(&mut composition) {
            Step::Done(result) => return result,
            Step::Carry(jobs) => {
                for job in jobs {
                    let outcome = carry_out(&job).await;
                    deferred.answer(job, outcome);
                }
            }
        }
    }
}
