//! Known-answer vectors: every stored form of version 2, made from seeded
//! randomness, byte for byte. They pin the format (a change that alters a
//! stored byte fails here) and are what a second implementation, such as
//! WebCrypto in the browser, must reproduce from the same inputs: the same
//! keys from the same 32-byte secrets, the same values from the same
//! nonces (Ed25519 signatures are deterministic).

use super::*;
use crate::core::participants::{DeviceId, Name};

struct Vectors {
    prefix: String,
    team_prefix: String,
    team_layer_key: String,
    identity: String,
    device_key: String,
    announcement: String,
    share: String,
    message: String,
    receipt: String,
    safety: String,
}

fn make() -> Vectors {
    let (alice_name, bob_name) = (Name::parse("Alice").unwrap(), Name::parse("Bob").unwrap());
    let conv = Conversation::new(&alice_name, &bob_name, None);
    let team = TeamKey::generate(&mut SeededEntropy::new(100)).unwrap();
    let team_conv = Conversation::new(&alice_name, &bob_name, Some(&team));
    let alice = IdentityKey::generate(&mut SeededEntropy::new(1)).unwrap();
    let alice_key = DeviceKey::generate(&mut SeededEntropy::new(2)).unwrap();
    let bob = IdentityKey::generate(&mut SeededEntropy::new(7)).unwrap();
    let bob_key = DeviceKey::generate(&mut SeededEntropy::new(5)).unwrap();
    let sender = SenderKey::generate(1, &mut SeededEntropy::new(3)).unwrap();
    let (a, b) = (
        DeviceId::parse("aaaaaaaaaa").unwrap(),
        DeviceId::parse("bbbbbbbbbb").unwrap(),
    );
    let receipt = Receipt {
        revision: 2,
        head: 1,
        seen: [(b.clone(), 3)].into(),
        lost: vec![],
    };
    Vectors {
        prefix: conv.prefix(),
        team_prefix: team_conv.prefix(),
        team_layer_key: encoding::encode(&team.layer_key(&team_conv)),
        identity: alice.public().to_text(),
        device_key: alice_key.public().to_text(),
        announcement: Announcement::write(&conv, &a, Side::First, &alice, &alice_key),
        share: sender
            .share(
                &conv,
                &a,
                &alice,
                &alice_key,
                &b,
                &bob_key.public(),
                &mut SeededEntropy::new(6),
            )
            .unwrap(),
        message: message::seal(
            b"hello",
            &conv,
            &a,
            1,
            &sender,
            &alice,
            &mut SeededEntropy::new(4),
        )
        .unwrap(),
        receipt: receipt
            .seal(&conv, &a, &sender, &alice, &mut SeededEntropy::new(8))
            .unwrap(),
        safety: SafetyNumber::of(
            (&alice_name, &[alice.public()]),
            (&bob_name, &[bob.public()]),
        )
        .unwrap()
        .to_string(),
    }
}

#[test]
fn every_stored_form_is_as_pinned() {
    let v = make();
    assert_eq!(v.prefix, "bleep2.f2596ce54d0f4dda.");
    assert_eq!(v.team_prefix, "bleep2.bee27539b30ec472.");
    assert_eq!(
        v.team_layer_key,
        "Fv-2axlOHBIv1Cmy3Uq-eJ0rRt4gvhWaPravzGGfuUg"
    );
    assert_eq!(v.identity, "x1pcRI-_J8LpWkVtxQqPmIQgUwxgfYpLdmXeUf_tl0k");
    assert_eq!(v.device_key, "5bWoiItjSPqW_IFZOKs6Lnyr4ytDfaTT-H8D9F7Ipnc");
    assert_eq!(
        v.announcement,
        "AmsAx1pcRI-_J8LpWkVtxQqPmIQgUwxgfYpLdmXeUf_tl0nltaiIi2NI-pb8gVk4qzoufKvjK0N9pNP4fwP0Xsimd4H1\
         atdeQzpORW9RR9bKkO1Iz5_94nHlL2fMOPeQqbXALDB7foKaR-M0wtDsbj4PZ7vz9SNEyQXGeqlNBwsleQA"
    );
    assert_eq!(
        v.share,
        "AngAAAABeTYLJc7J3HgY672CGhz4pcrxSuZWxttZ7XIajw-9FYW-hhv9zztu0VCM41SLVOnMerki1F0bIUm8TDnypAIR\
         UaZSXsyBb8zoFFbcNlP5JI0F7saBLbilfkcwuDFm9gn-FewcCrdk9rKe3ogop934Vz4llCcsHCWVJOKRDQ"
    );
    assert_eq!(
        v.message,
        "Am0AAAABTe2sHTjMSzZHxut8DMAW4dNR8dctzLz0OqUOYA57TnJndGBga6yFv5S4964TGfvK4rlVzuID7exncQuTes5s\
         V7NgUrf4L-9-XTLj8NtLMLM-ZRt7kYYULB7DYMF2_PqzCw"
    );
    assert_eq!(
        v.receipt,
        "AnIAAAABWmG4NS6fLMOKcFaK7KyDCREhi26ET-mnC2Gli45wx-1V8H2bb1fH3DJPE1dhknlfCl8uIMVNMkQk_ZASEku3\
         f1s3ZRn6P-kOh3aMVyiV7IJr8t_54lHPmDCc2W_ED9Cg_F6aZ6kEyqiAgh_eqE5iiaZLOELVzGXNhREuK0kpyAo"
    );
    assert_eq!(
        v.safety,
        "02052 65964 33031 26389 66034 12806 66095 15283 10062 54331 52035 85427"
    );
}

/// The pinned values open with the keys they were made from, as values a
/// second implementation wrote would have to.
#[test]
fn the_pinned_values_open() {
    let v = make();
    let conv = Conversation::new(
        &Name::parse("Alice").unwrap(),
        &Name::parse("Bob").unwrap(),
        None,
    );
    let (a, b) = (
        DeviceId::parse("aaaaaaaaaa").unwrap(),
        DeviceId::parse("bbbbbbbbbb").unwrap(),
    );
    let bob_key = DeviceKey::generate(&mut SeededEntropy::new(5)).unwrap();
    let announcement = Announcement::read(&v.announcement, &conv, &a).unwrap();
    assert_eq!(announcement.identity.to_text(), v.identity);
    let sender = SenderKey::open_share(&v.share, &conv, &a, &announcement, &b, &bob_key).unwrap();
    assert_eq!(
        sender,
        SenderKey::generate(1, &mut SeededEntropy::new(3)).unwrap()
    );
    let text = message::open(&v.message, &conv, &a, 1, &sender, &announcement.identity).unwrap();
    assert_eq!(text, b"hello");
    let receipt = Receipt::open(&v.receipt, &conv, &a, &sender, &announcement.identity).unwrap();
    assert_eq!(receipt.seen_of(&b), 3);
}
