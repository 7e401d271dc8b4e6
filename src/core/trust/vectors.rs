//! Known-answer vectors: every stored form of version 2, made from seeded
//! randomness, byte for byte. They pin the format (a change that alters a
//! stored byte fails here) and are what a second implementation, such as
//! WebCrypto in the browser, must reproduce from the same inputs: the same
//! keys from the same 32-byte secrets, the same values from the same
//! nonces (Ed25519 signatures are deterministic).
//!
//! [`make`] and [`open_all`] take the primitives as a port: the tests below
//! run them through the RustCrypto crates at once and through `Deferred`
//! (every primitive a job, carried out between runs), and the probe build
//! runs them through the browser's WebCrypto (`tests/browser_webcrypto.rs`).
//! The keys themselves are made by the crates in both (WebCrypto would
//! make its own).

use super::*;
use crate::core::participants::{DeviceId, Name};

/// Every stored form, as made by [`make`].
pub struct Vectors {
    pub prefix: String,
    pub team_prefix: String,
    pub team_layer_key: String,
    pub identity: String,
    pub device_key: String,
    pub announcement: String,
    pub share: String,
    pub message: String,
    pub receipt: String,
    pub safety: String,
}

/// What every stored form must be.
pub const PINNED: [(&str, &str); 10] = [
    ("prefix", "bleep2.f2596ce54d0f4dda."),
    ("team prefix", "bleep2.bee27539b30ec472."),
    (
        "team layer key",
        "Fv-2axlOHBIv1Cmy3Uq-eJ0rRt4gvhWaPravzGGfuUg",
    ),
    ("identity", "x1pcRI-_J8LpWkVtxQqPmIQgUwxgfYpLdmXeUf_tl0k"),
    ("device key", "5bWoiItjSPqW_IFZOKs6Lnyr4ytDfaTT-H8D9F7Ipnc"),
    (
        "announcement",
        "AmsAx1pcRI-_J8LpWkVtxQqPmIQgUwxgfYpLdmXeUf_tl0nltaiIi2NI-pb8gVk4qzoufKvjK0N9pNP4fwP0Xsimd4H1\
         atdeQzpORW9RR9bKkO1Iz5_94nHlL2fMOPeQqbXALDB7foKaR-M0wtDsbj4PZ7vz9SNEyQXGeqlNBwsleQA",
    ),
    (
        "share",
        "AngAAAABeTYLJc7J3HgY672CGhz4pcrxSuZWxttZ7XIajw-9FYW-hhv9zztu0VCM41SLVOnMerki1F0bIUm8TDnypAIR\
         UaZSXsyBb8zoFFbcNlP5JI0F7saBLbilfkcwuDFm9gn-FewcCrdk9rKe3ogop934Vz4llCcsHCWVJOKRDQ",
    ),
    (
        "message",
        "Am0AAAABTe2sHTjMSzZHxut8DMAW4dNR8dctzLz0OqUOYA57TnJndGBga6yFv5S4964TGfvK4rlVzuID7exncQuTes5s\
         V7NgUrf4L-9-XTLj8NtLMLM-ZRt7kYYULB7DYMF2_PqzCw",
    ),
    (
        "receipt",
        "AnIAAAABWmG4NS6fLMOKcFaK7KyDCREhi26ET-mnC2Gli45wx-1V8H2bb1fH3DJPE1dhknlfCl8uIMVNMkQk_ZASEku3\
         f1s3ZRn6P-kOh3aMVyiV7IJr8t_54lHPmDCc2W_ED9Cg_F6aZ6kEyqiAgh_eqE5iiaZLOELVzGXNhREuK0kpyAo",
    ),
    (
        "safety",
        "02052 65964 33031 26389 66034 12806 66095 15283 10062 54331 52035 85427",
    ),
];

fn names() -> Result<(Name, Name), TrustError> {
    let name = |n| Name::parse(n).map_err(|_| TrustError::DamagedSavedKey);
    Ok((name("Alice")?, name("Bob")?))
}

fn devices() -> Result<(DeviceId, DeviceId), TrustError> {
    let id = |d| DeviceId::parse(d).ok_or(TrustError::DamagedSavedKey);
    Ok((id("aaaaaaaaaa")?, id("bbbbbbbbbb")?))
}

/// Every stored form, sealed and signed through `crypto`.
pub fn make(crypto: &mut dyn Primitives) -> Result<Vectors, TrustError> {
    let (alice_name, bob_name) = names()?;
    let conv = Conversation::new(&alice_name, &bob_name, None);
    let team = TeamKey::generate(&mut SeededEntropy::new(100))?;
    let team_conv = Conversation::new(&alice_name, &bob_name, Some(&team));
    let alice = IdentityKey::generate(&mut SeededEntropy::new(1), crypto)?;
    let alice_key = DeviceKey::generate(&mut SeededEntropy::new(2), crypto)?;
    let bob = IdentityKey::generate(&mut SeededEntropy::new(7), crypto)?;
    let bob_key = DeviceKey::generate(&mut SeededEntropy::new(5), crypto)?;
    let sender = SenderKey::generate(1, &mut SeededEntropy::new(3))?;
    let (a, b) = devices()?;
    let receipt = Receipt {
        revision: 2,
        head: 1,
        seen: [(b.clone(), 3)].into(),
        lost: vec![],
    };
    Ok(Vectors {
        prefix: conv.prefix(),
        team_prefix: team_conv.prefix(),
        team_layer_key: encoding::encode(&team.layer_key(&team_conv)),
        identity: alice.public().to_text(),
        device_key: alice_key.public().to_text(),
        announcement: Announcement::write(&conv, &a, Side::First, &alice, &alice_key, crypto)?,
        share: sender.share(
            &conv,
            &a,
            &alice,
            &alice_key,
            &b,
            &bob_key.public(),
            &mut SeededEntropy::new(6),
            crypto,
        )?,
        message: message::seal(
            b"hello",
            &conv,
            &a,
            1,
            &sender,
            &alice,
            &mut SeededEntropy::new(4),
            crypto,
        )?,
        receipt: receipt.seal(
            &conv,
            &a,
            &sender,
            &alice,
            &mut SeededEntropy::new(8),
            crypto,
        )?,
        safety: SafetyNumber::of(
            (&alice_name, &[alice.public()]),
            (&bob_name, &[bob.public()]),
        )
        .ok_or(TrustError::DamagedSavedKey)?
        .to_string(),
    })
}

impl Vectors {
    fn fields(&self) -> [&str; 10] {
        [
            &self.prefix,
            &self.team_prefix,
            &self.team_layer_key,
            &self.identity,
            &self.device_key,
            &self.announcement,
            &self.share,
            &self.message,
            &self.receipt,
            &self.safety,
        ]
    }

    /// One line for each stored form that is not as [`PINNED`].
    pub fn differences(&self) -> Vec<String> {
        PINNED
            .iter()
            .zip(self.fields())
            .filter(|((_, pinned), made)| pinned != made)
            .map(|((name, pinned), made)| format!("{name}: pinned {pinned}, made {made}"))
            .collect()
    }
}

/// Opens the pinned values through `crypto` with the keys they were made
/// from, as values another implementation wrote would have to open, and
/// checks what they hold; then checks that a changed message is refused.
/// One line for each that does not.
pub fn open_all(crypto: &mut dyn Primitives) -> Result<Vec<String>, TrustError> {
    let pinned = |name: &str| PINNED.iter().find(|(n, _)| *n == name).map_or("", |p| p.1);
    let (alice_name, bob_name) = names()?;
    let conv = Conversation::new(&alice_name, &bob_name, None);
    let (a, b) = devices()?;
    let bob_key = DeviceKey::generate(&mut SeededEntropy::new(5), crypto)?;
    let mut wrong = Vec::new();
    let announcement = Announcement::read(pinned("announcement"), &conv, &a, crypto)?;
    if announcement.identity.to_text() != pinned("identity") {
        wrong.push("the announcement names another identity".to_owned());
    }
    let sender = SenderKey::open_share(
        pinned("share"),
        &conv,
        &a,
        &announcement,
        &b,
        &bob_key,
        crypto,
    )?;
    if sender != SenderKey::generate(1, &mut SeededEntropy::new(3))? {
        wrong.push("the share holds another sender key".to_owned());
    }
    let mut open_message = |seq| {
        message::open(
            pinned("message"),
            &conv,
            &a,
            seq,
            &sender,
            &announcement.identity,
            crypto,
        )
    };
    if open_message(1)? != b"hello" {
        wrong.push("the message holds other text".to_owned());
    }
    // The message as stored elsewhere (sequence number 2) is refused.
    match open_message(2) {
        Err(TrustError::Rejected(_)) => {}
        Err(error @ (TrustError::Later | TrustError::NoCrypto)) => return Err(error),
        other => wrong.push(format!("a message moved to another key: {other:?}")),
    }
    let receipt = Receipt::open(
        pinned("receipt"),
        &conv,
        &a,
        &sender,
        &announcement.identity,
        crypto,
    )?;
    if receipt.seen_of(&b) != 3 {
        wrong.push("the receipt says something else".to_owned());
    }
    Ok(wrong)
}

#[cfg(test)]
mod tests {
    use super::deferred::{complete, Deferred};
    use super::*;

    #[test]
    fn every_stored_form_is_as_pinned() {
        let made = make(&mut RustCrypto).unwrap();
        assert_eq!(made.differences(), Vec::<String>::new());
    }

    /// The pinned values open with the keys they were made from, as values
    /// a second implementation wrote would have to.
    #[test]
    fn the_pinned_values_open() {
        assert_eq!(open_all(&mut RustCrypto), Ok(vec![]));
    }

    /// Every primitive a job carried out between runs, as in the browser:
    /// the same bytes, and the same values open.
    #[test]
    fn primitives_that_answer_later_make_and_open_the_same_values() {
        let mut deferred = Deferred::new();
        let made = complete(&mut deferred, &mut RustCrypto, |d| make(d)).unwrap();
        assert_eq!(made.differences(), Vec::<String>::new());
        let opened = complete(&mut deferred, &mut RustCrypto, |d| open_all(d));
        assert_eq!(opened, Ok(vec![]));
    }

    /// A changed pinned value shows as a difference (the check can fail).
    #[test]
    fn a_changed_value_is_a_difference() {
        let mut made = make(&mut RustCrypto).unwrap();
        made.message.replace_range(10..11, "B");
        assert_eq!(made.differences().len(), 1);
        assert!(made.differences()[0].starts_with("message: pinned"));
    }
}
