//! The probe build's exports: what a page of the benchmark or of a browser
//! test calls in the release app, and the app that ships never has.
//!
//! Only in builds with the `bench-probe` feature (`scripts/bench` builds
//! one for budget 8, `scripts/test` one for `tests/browser_webcrypto.rs`).
//! That build is the whole release app (same profile, same wasm-opt pass,
//! the app still starts) with two more exports:
//! - [`SealProbe`], for issue 15's budget ("encrypting and signing cost
//!   ≤ 5 ms per message on this machine's Chromium"; `scripts/bench --only
//!   8`): it calls the functions the session uses for every message
//!   ([`crate::core::trust::message`]) on fresh keys, with the platform's
//!   CSPRNG, through the RustCrypto crates (`seal`, `open`) and through the
//!   browser's WebCrypto (`seal_webcrypto`, `open_webcrypto`). The page
//!   times each call with `performance.now()`, so no clock is read inside
//!   what is measured.
//! - [`WebCryptoCheck`]: the known answers of every primitive
//!   (`core::trust::primitive_vectors`, which `cargo test` runs through the
//!   RustCrypto crates) run through the browser's WebCrypto
//!   (`app::webcrypto`).

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::app::webcrypto::{self, CryptoError};
use crate::core::envelope::{Envelope, ENVELOPE_VERSION};
use crate::core::participants::{DeviceId, Name};
use crate::core::trust::deferred::Deferred;
use crate::core::trust::primitive_vectors::{self, Op};
use crate::core::trust::vectors;
use crate::core::trust::{
    encoding, message, Conversation, IdentityKey, IdentityPublic, OsEntropy, RustCrypto, SenderKey,
};

/// One sending device's keys, and the messages it sealed so far.
#[wasm_bindgen]
pub struct SealProbe {
    conversation: Conversation,
    device: DeviceId,
    sender_key: SenderKey,
    identity: IdentityKey,
    /// What a reader's pin of the sender's announcement holds.
    public: IdentityPublic,
    text: String,
    sealed: Vec<String>,
}

fn failed(error: impl std::fmt::Display) -> JsError {
    JsError::new(&error.to_string())
}

#[wasm_bindgen]
impl SealProbe {
    /// Fresh keys, and messages of `text_len` characters.
    #[wasm_bindgen(constructor)]
    pub fn new(text_len: usize) -> Result<SealProbe, JsError> {
        let jo = Name::parse("Nurse Jo").map_err(failed)?;
        let patel = Name::parse("Dr Patel").map_err(failed)?;
        let device = DeviceId::parse("qhxvbnmkaz").ok_or_else(|| failed("device id"))?;
        let pattern = "Give 10 mg morphine to bed 7, then check the obs in 30 min. ";
        let identity = IdentityKey::generate(&mut OsEntropy, &mut RustCrypto).map_err(failed)?;
        Ok(SealProbe {
            conversation: Conversation::new(&jo, &patel, None),
            device,
            sender_key: SenderKey::generate(1, &mut OsEntropy).map_err(failed)?,
            public: identity.public(),
            identity,
            text: pattern.chars().cycle().take(text_len).collect(),
            sealed: Vec::new(),
        })
    }

    /// Encodes the envelope of the next message and seals and signs it, as
    /// the session does before writing `m.<device>.<seq>`; returns the
    /// stored length in characters.
    pub fn seal(&mut self) -> Result<usize, JsError> {
        let seq = self.sealed.len() as u64 + 1;
        let value = message::seal(
            &self.envelope(seq).encode(),
            &self.conversation,
            &self.device,
            seq,
            &self.sender_key,
            &self.identity,
            &mut OsEntropy,
            &mut RustCrypto,
        )
        .map_err(failed)?;
        let len = value.len();
        self.sealed.push(value);
        Ok(len)
    }

    /// As [`Self::seal`], with the browser's WebCrypto through the port's
    /// jobs (`app::webcrypto::complete`): resolves to the stored value (not
    /// kept here) once sealed and signed.
    pub fn seal_webcrypto(&self, seq: u64) -> Promise {
        let plaintext = self.envelope(seq).encode();
        let (conversation, device) = (self.conversation.clone(), self.device.clone());
        let (sender_key, identity) = (self.sender_key.clone(), self.identity.clone());
        future_to_promise(async move {
            let mut deferred = Deferred::new();
            let value = webcrypto::complete(&mut deferred, |d| {
                message::seal(
                    &plaintext,
                    &conversation,
                    &device,
                    seq,
                    &sender_key,
                    &identity,
                    &mut OsEntropy,
                    d,
                )
            })
            .await;
            value.map(JsValue::from).map_err(|e| e.to_string().into())
        })
    }

    /// As [`Self::open`], with WebCrypto: checks and opens `value`, stored
    /// as message `seq`; resolves to the text's length.
    pub fn open_webcrypto(&self, value: String, seq: u64) -> Promise {
        let (conversation, device) = (self.conversation.clone(), self.device.clone());
        let (sender_key, public) = (self.sender_key.clone(), self.public);
        future_to_promise(async move {
            let mut deferred = Deferred::new();
            let plaintext = webcrypto::complete(&mut deferred, |d| {
                message::open(&value, &conversation, &device, seq, &sender_key, &public, d)
            })
            .await
            .map_err(|e| JsValue::from(e.to_string()))?;
            let envelope = Envelope::decode(&plaintext, &device, seq)
                .ok_or_else(|| JsValue::from("the opened envelope does not decode"))?;
            Ok(JsValue::from(envelope.text.len() as u32))
        })
    }

    /// The envelope of message `seq`, as the session writes it.
    fn envelope(&self, seq: u64) -> Envelope {
        Envelope {
            version: ENVELOPE_VERSION,
            from: "Nurse Jo".to_owned(),
            device: self.device.clone(),
            seq,
            clock: seq,
            sent_at: 1_764_600_000_000 + seq * 1_000,
            text: self.text.clone(),
            urgent: false,
            unanswered: None,
            original_at: None,
        }
    }

    /// Checks and opens sealed message `seq` (1 = the first sealed) and
    /// decodes its envelope, as a reader does; returns the text's length.
    pub fn open(&self, seq: usize) -> Result<usize, JsError> {
        let value = seq
            .checked_sub(1)
            .and_then(|i| self.sealed.get(i))
            .ok_or_else(|| failed("no such message"))?;
        let plaintext = message::open(
            value,
            &self.conversation,
            &self.device,
            seq as u64,
            &self.sender_key,
            &self.public,
            &mut RustCrypto,
        )
        .map_err(failed)?;
        let envelope = Envelope::decode(&plaintext, &self.device, seq as u64)
            .ok_or_else(|| failed("the opened envelope does not decode"))?;
        Ok(envelope.text.len())
    }
}

/// The known answers of every primitive, run through WebCrypto.
///
/// A class rather than a free function: the release build's renaming of
/// the wasm's exports (scripts/minify-release.mjs) needs the wasm's name of
/// an export to differ from the page's (`webcryptocheck_run` and `run`).
#[wasm_bindgen]
pub struct WebCryptoCheck;

#[wasm_bindgen]
impl WebCryptoCheck {
    /// Runs every known answer; resolves to the count of those run, then
    /// one line for each that differs (none: all agree). What the port
    /// covers runs as the job the core would ask for, through
    /// `webcrypto::carry_out` as the app would; the rest through
    /// WebCrypto's own calls.
    pub async fn run() -> Vec<String> {
        let vectors = primitive_vectors::all();
        let mut report = vec![vectors.len().to_string()];
        for vector in &vectors {
            let got = match vector.op.job() {
                Some(job) => primitive_vectors::answer_of(webcrypto::carry_out(&job).await),
                None => other_primitive(&vector.op).await,
            };
            match got {
                Ok(got) => report.extend(primitive_vectors::mismatch(vector, &got)),
                Err(why) => report.push(format!("{}: the browser could not: {why}", vector.name)),
            }
        }
        report
    }

    /// Makes every stored form of version 2 with WebCrypto's primitives
    /// (the keys from the same seeds), then opens the pinned ones with
    /// them; resolves to one line for each that is not as pinned (none:
    /// all are).
    pub async fn stored_forms() -> Vec<String> {
        let mut deferred = Deferred::new();
        let mut report = match webcrypto::complete(&mut deferred, |d| vectors::make(d)).await {
            Ok(made) => made.differences(),
            Err(error) => vec![format!("could not make the stored forms: {error}")],
        };
        match webcrypto::complete(&mut deferred, |d| vectors::open_all(d)).await {
            Ok(wrong) => report.extend(wrong),
            Err(error) => report.push(format!("could not open the stored forms: {error}")),
        }
        report
    }
}

/// An operation the port does not cover, through WebCrypto: its answer as
/// [`primitive_vectors::answer_of`] gives a job's.
async fn other_primitive(op: &Op) -> Result<Option<String>, String> {
    let answer = match op {
        Op::Sha512 { data } => webcrypto::sha512(data).await,
        Op::Hkdf { salt, ikm, info } => webcrypto::hkdf(salt, ikm, info).await,
        other => return Err(format!("inputs of the wrong length: {other:?}")),
    };
    match answer {
        Ok(bytes) => Ok(Some(encoding::encode(&bytes))),
        Err(CryptoError::Refused) => Ok(None),
        Err(CryptoError::Unavailable(why)) => Err(why),
    }
}
