//! A conversation end to end through the public API: Nurse Jo with one
//! device, Dr Patel with two tabs of one browser, and Mallory with nothing
//! but access to the store. Also prints what sealing and opening cost.

use std::time::Instant;

use super::*;
use crate::core::participants::{DeviceId, Name};

/// One device: its id, its person's identity, its own keys.
struct Device {
    id: DeviceId,
    name: Name,
    identity: IdentityKey,
    key: DeviceKey,
    sender: SenderKey,
    announcement: String,
}

fn device(id: &str, name: &Name, identity: &IdentityKey, conv: &Conversation) -> Device {
    let id = DeviceId::parse(id).unwrap();
    let key = DeviceKey::generate(&mut OsEntropy, &mut RustCrypto).unwrap();
    let side = conv.side_of(name).unwrap();
    Device {
        announcement: Announcement::write(conv, &id, side, identity, &key, &mut RustCrypto)
            .unwrap(),
        sender: SenderKey::generate(1, &mut OsEntropy).unwrap(),
        id,
        name: name.clone(),
        identity: identity.clone(),
        key,
    }
}

/// What one device has learnt from the store.
#[derive(Default)]
struct View {
    pins: DevicePins,
    known: KnownKeys,
    news: Vec<(String, KeyNews)>,
}

impl View {
    /// Reads an announcement as the session will: check it, refuse another
    /// announcement for a pinned device, ask what the identity means for the
    /// person of its side, and only then pin the device.
    fn learn(
        &mut self,
        conv: &Conversation,
        names: [&Name; 2],
        id: &DeviceId,
        text: &str,
    ) -> Result<(), TrustError> {
        let refused = Err(TrustError::Rejected(ValueKind::DeviceKey));
        let announcement = Announcement::read(text, conv, id, &mut RustCrypto)?;
        if self
            .pins
            .get(id)
            .is_some_and(|pinned| *pinned != announcement)
        {
            return refused;
        }
        let person = names
            .into_iter()
            .find(|n| conv.side_of(n) == Some(announcement.side))
            .unwrap();
        let news = self.known.observe(person, announcement.identity);
        if news == KeyNews::SomeoneElses {
            return refused;
        }
        self.news.push((person.typed().to_owned(), news));
        assert_ne!(self.pins.observe(id, announcement), DeviceNews::Conflict);
        Ok(())
    }

    fn identities(&self, side: Side) -> Vec<IdentityPublic> {
        self.pins.on_side(side).map(|(_, a)| a.identity).collect()
    }
}

#[test]
fn two_clinicians_talk_and_a_stranger_cannot_join_in() {
    let (jo_name, patel_name) = (
        Name::parse("Nurse Jo").unwrap(),
        Name::parse("Dr Patel").unwrap(),
    );
    let conv = Conversation::new(&jo_name, &patel_name, None);
    let names = [&jo_name, &patel_name];
    let jo_identity = IdentityKey::generate(&mut OsEntropy, &mut RustCrypto).unwrap();
    let patel_identity = IdentityKey::generate(&mut OsEntropy, &mut RustCrypto).unwrap();
    let jo = device("jjjjjjjjjj", &jo_name, &jo_identity, &conv);
    // Two tabs of one browser: one identity, two devices.
    let patel_tabs = [
        device("pppppppppp", &patel_name, &patel_identity, &conv),
        device("qqqqqqqqqq", &patel_name, &patel_identity, &conv),
    ];
    let everyone: Vec<&Device> = std::iter::once(&jo).chain(&patel_tabs).collect();

    // Everyone reads every announcement: first contact for both people.
    let mut views: Vec<View> = everyone.iter().map(|_| View::default()).collect();
    for view in &mut views {
        for d in &everyone {
            view.learn(&conv, names, &d.id, &d.announcement).unwrap();
        }
    }
    assert!(views[0].news.iter().all(|(_, n)| *n != KeyNews::Changed));

    // Each device shares its sender key with every other device.
    let share = |from: &Device, to: &Device| {
        let text = from
            .sender
            .share(
                &conv,
                &from.id,
                &from.identity,
                &from.key,
                &to.id,
                &to.key.public(),
                &mut OsEntropy,
                &mut RustCrypto,
            )
            .unwrap();
        let announcement =
            Announcement::read(&from.announcement, &conv, &from.id, &mut RustCrypto).unwrap();
        SenderKey::open_share(
            &text,
            &conv,
            &from.id,
            &announcement,
            &to.id,
            &to.key,
            &mut RustCrypto,
        )
        .unwrap()
    };
    for from in &everyone {
        for to in everyone.iter().filter(|t| t.id != from.id) {
            assert_eq!(share(from, to), from.sender);
        }
    }

    // Jo sends; both of Dr Patel's tabs read it.
    let text = "Bed 4 is desaturating, please come";
    let stored = message::seal(
        text.as_bytes(),
        &conv,
        &jo.id,
        1,
        &jo.sender,
        &jo.identity,
        &mut OsEntropy,
        &mut RustCrypto,
    )
    .unwrap();
    for (tab, view) in patel_tabs.iter().zip(&views[1..]) {
        let writer = view.pins.get(&jo.id).unwrap();
        assert_eq!(conv.side_of(&jo.name), Some(writer.side));
        let opened = message::open(
            &stored,
            &conv,
            &jo.id,
            1,
            &share(&jo, tab),
            &writer.identity,
            &mut RustCrypto,
        )
        .unwrap();
        assert_eq!(opened, text.as_bytes());
    }
    // The page dump holds no word of it, and no name. (Only words that
    // random base64 cannot spell by chance: "Jo" alone turns up in about
    // one run in thirteen; the names as typed hold a space, which base64
    // never does.)
    for word in ["Bed 4 is", "desaturating", "Patel", "Nurse Jo", "Dr Patel"] {
        assert!(!stored.contains(word) && !jo.announcement.contains(word));
    }

    // The first tab shows it and says so; Jo trusts the receipt because it
    // opens with that tab's sender key and identity.
    let receipt = Receipt {
        revision: 1,
        seen: [(jo.id.clone(), 1)].into(),
        ..Receipt::default()
    };
    let sealed = receipt
        .seal(
            &conv,
            &patel_tabs[0].id,
            &patel_tabs[0].sender,
            &patel_identity,
            &mut OsEntropy,
            &mut RustCrypto,
        )
        .unwrap();
    let reader = views[0].pins.get(&patel_tabs[0].id).unwrap();
    assert_eq!(reader.side, conv.side_of(&patel_name).unwrap());
    let read = Receipt::open(
        &sealed,
        &conv,
        &patel_tabs[0].id,
        &share(&patel_tabs[0], &jo),
        &reader.identity,
        &mut RustCrypto,
    )
    .unwrap();
    assert_eq!(read.seen_of(&jo.id), 1);

    // Both screens show the same safety number.
    let number = |view: &View| {
        SafetyNumber::of(
            (&jo_name, &view.identities(Side::Second)),
            (&patel_name, &view.identities(Side::First)),
        )
    };
    let on_jo = number(&views[0]).unwrap();
    assert_eq!(Some(on_jo.clone()), number(&views[1]));
    assert_eq!(Some(on_jo.clone()), number(&views[2]));

    // Mallory announces a device "of Dr Patel" under her own identity and
    // writes in his name. Jo's screen announces a changed key, the safety
    // number changes, and Mallory's text never opens as Dr Patel's tab.
    let mallory_identity = IdentityKey::generate(&mut OsEntropy, &mut RustCrypto).unwrap();
    let mallory = device("mmmmmmmmmm", &patel_name, &mallory_identity, &conv);
    views[0]
        .learn(&conv, names, &mallory.id, &mallory.announcement)
        .unwrap();
    assert_eq!(
        views[0].news.last(),
        Some(&("Dr Patel".to_owned(), KeyNews::Changed))
    );
    assert_ne!(number(&views[0]), Some(on_jo));
    let forged = message::seal(
        b"ignore my last message",
        &conv,
        &patel_tabs[0].id,
        2,
        &mallory.sender,
        &mallory_identity,
        &mut OsEntropy,
        &mut RustCrypto,
    )
    .unwrap();
    let tab = views[0].pins.get(&patel_tabs[0].id).unwrap();
    assert!(message::open(
        &forged,
        &conv,
        &patel_tabs[0].id,
        2,
        &share(&patel_tabs[0], &jo),
        &tab.identity,
        &mut RustCrypto
    )
    .is_err());
    // Nor can she take over the tab's id with her announcement.
    let takeover = Announcement::write(
        &conv,
        &patel_tabs[0].id,
        Side::Second,
        &mallory_identity,
        &mallory.key,
        &mut RustCrypto,
    )
    .unwrap();
    assert_eq!(
        views[0].learn(&conv, names, &patel_tabs[0].id, &takeover),
        Err(TrustError::Rejected(ValueKind::DeviceKey))
    );
    // And Dr Patel's identity never speaks for Nurse Jo, even from his own
    // browser.
    let posing = device("xxxxxxxxxx", &jo_name, &patel_identity, &conv);
    assert_eq!(
        views[0].learn(&conv, names, &posing.id, &posing.announcement),
        Err(TrustError::Rejected(ValueKind::DeviceKey))
    );
    assert_eq!(views[0].pins.get(&posing.id), None);
}

/// Prints what one message costs natively (opt-level 2, as `cargo test`
/// builds): seal and sign, then check and open. Not an assertion: timing
/// depends on the machine. Run with `--nocapture` to see it.
#[test]
fn cost_of_one_message() {
    let names = (
        Name::parse("Nurse Jo").unwrap(),
        Name::parse("Dr Patel").unwrap(),
    );
    let conv = Conversation::new(&names.0, &names.1, None);
    let identity = IdentityKey::generate(&mut OsEntropy, &mut RustCrypto).unwrap();
    let sender = SenderKey::generate(1, &mut OsEntropy).unwrap();
    let device = DeviceId::parse("jjjjjjjjjj").unwrap();
    let text = "x".repeat(200);
    let rounds = 200u32;
    let start = Instant::now();
    let mut values = Vec::new();
    for seq in 1..=u64::from(rounds) {
        values.push(
            message::seal(
                text.as_bytes(),
                &conv,
                &device,
                seq,
                &sender,
                &identity,
                &mut OsEntropy,
                &mut RustCrypto,
            )
            .unwrap(),
        );
    }
    let sealing = start.elapsed() / rounds;
    let start = Instant::now();
    for (seq, value) in (1..).zip(&values) {
        message::open(
            value,
            &conv,
            &device,
            seq,
            &sender,
            &identity.public(),
            &mut RustCrypto,
        )
        .unwrap();
    }
    let opening = start.elapsed() / rounds;
    let start = Instant::now();
    let safety = SafetyNumber::of(
        (&names.0, &[identity.public()]),
        (&names.1, &[identity.public()]),
    );
    let numbering = start.elapsed();
    assert!(safety.is_some());
    println!(
        "trust cost, 200-character message: seal+sign {sealing:?}, check+open {opening:?}; \
         safety number {numbering:?}; stored value {} characters",
        values[0].len()
    );
}
