//! A probe for the benchmark of issue 15's budget ("encrypting and signing
//! cost ≤ 5 ms per message on this machine's Chromium"; `scripts/bench
//! --only 8`).
//!
//! Only in builds with the `bench-probe` feature, which the benchmark turns
//! on for a build of its own: the app that ships has none of it. That build
//! is the whole release app (same profile, same wasm-opt pass, the app still
//! starts) with one more export, [`SealProbe`], which calls the functions
//! the session uses for every message ([`crate::core::trust::message`]) on
//! fresh keys, with the platform's CSPRNG. The page times each call with
//! `performance.now()`, so no clock is read inside what is measured.

use wasm_bindgen::prelude::*;

use crate::core::envelope::{Envelope, ENVELOPE_VERSION};
use crate::core::participants::{DeviceId, Name};
use crate::core::trust::{
    message, Conversation, IdentityKey, IdentityPublic, OsEntropy, SenderKey,
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
        let identity = IdentityKey::generate(&mut OsEntropy).map_err(failed)?;
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
        let envelope = Envelope {
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
        };
        let value = message::seal(
            &envelope.encode(),
            &self.conversation,
            &self.device,
            seq,
            &self.sender_key,
            &self.identity,
            &mut OsEntropy,
        )
        .map_err(failed)?;
        let len = value.len();
        self.sealed.push(value);
        Ok(len)
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
        )
        .map_err(failed)?;
        let envelope = Envelope::decode(&plaintext, &self.device, seq as u64)
            .ok_or_else(|| failed("the opened envelope does not decode"))?;
        Ok(envelope.text.len())
    }
}
