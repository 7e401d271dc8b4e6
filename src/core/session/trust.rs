//! What a session trusts (protocol version 2): its person's and its
//! device's keys, the announcement pinned for each device of the
//! conversation, and the trust notices the transcript shows.
//!
//! An announcement (`k.<device>`) is checked here, in the order
//! `known_keys.rs` gives: refused if it fails its signature or its device is
//! pinned to another announcement; then the identity it names is observed
//! for the person of its side (refused if that key already speaks for the
//! other person); only then is the device pinned. A refused value becomes
//! one [`TrustNotice::Tampered`] per key and value, however often it is read
//! again. A changed identity is a [`TrustNotice::KeyChanged`]; a further
//! device of the colleague's known identity a [`TrustNotice::NewDevice`].
//!
//! The safety number is computed from the identity keys announced for each
//! side: this session's own and the pinned ones.

use std::collections::BTreeSet;

use sha2::{Digest, Sha256};

use super::super::participants::{DeviceId, Pair};
use super::super::trust::keyring::{DeviceKeys, PersonKeys};
use super::super::trust::{
    Announcement, Conversation, DeviceNews, IdentityPublic, KeyNews, Primitives, SafetyNumber,
    Side, TrustError, ValueKind,
};
use super::super::types::TrustNotice;
use super::Session;

/// The session's side of protocol version 2, as its callers see it.
impl Session {
    /// Gives the session its person's keys (per browser and name) and its
    /// device's keys and pins, as loaded or made by the caller.
    pub fn use_keys(&mut self, person: PersonKeys, device: DeviceKeys) {
        self.trust = Some(Trust::new(&self.pair, person, device));
        self.changed();
    }

    /// The person's keys to save (per browser and normal name).
    pub fn person_keys(&self) -> Option<&PersonKeys> {
        self.trust.as_ref().map(Trust::person)
    }

    /// The device's keys and pins to save.
    pub fn device_keys(&self) -> Option<&DeviceKeys> {
        self.trust.as_ref().map(Trust::device)
    }

    /// Grows whenever [`Session::person_keys`] or [`Session::device_keys`]
    /// changed and should be saved again.
    pub fn keys_revision(&self) -> u64 {
        self.trust.as_ref().map_or(0, Trust::revision)
    }

    /// The trust notices to show, in the order they were learnt.
    pub fn notices(&self) -> &[TrustNotice] {
        self.trust.as_ref().map_or(&[], Trust::notices)
    }

    /// The conversation's safety number (twelve groups of five digits),
    /// once the colleague's identity key is known.
    pub fn safety_number(&self) -> Option<String> {
        self.trust.as_ref()?.safety_number(&self.pair)
    }
}

/// The session's keys, pins and notices. See the module documentation.
///
/// Announcements are checked, and values refused, once the session reads
/// and writes version 2 keys (issue 15, next steps); until then only the
/// tests call them.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug)]
pub(super) struct Trust {
    conversation: Conversation,
    /// The side this session's person speaks for.
    side: Side,
    person: PersonKeys,
    device: DeviceKeys,
    notices: Vec<TrustNotice>,
    /// Digests of the (key, value) pairs already refused.
    refused: BTreeSet<[u8; 32]>,
    /// Grows whenever the keys or pins to save change.
    revision: u64,
}

#[cfg_attr(not(test), allow(dead_code))]
impl Trust {
    pub fn new(pair: &Pair, mut person: PersonKeys, device: DeviceKeys) -> Trust {
        let conversation = Conversation::new(&pair.me, &pair.peer, None);
        let side = conversation
            .side_of(&pair.me)
            .expect("a pair's own name is one of its two");
        // Our own identity is known for our name: any other is news.
        person.known.observe(&pair.me, person.identity.public());
        Trust {
            conversation,
            side,
            person,
            device,
            notices: Vec::new(),
            refused: BTreeSet::new(),
            revision: 1,
        }
    }

    pub fn person(&self) -> &PersonKeys {
        &self.person
    }

    pub fn device(&self) -> &DeviceKeys {
        &self.device
    }

    pub fn notices(&self) -> &[TrustNotice] {
        &self.notices
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The value of our own `k.<device>`, signed through `crypto` (the
    /// crates natively, the browser's WebCrypto through
    /// `trust::deferred`, where it is [`TrustError::Later`] until the
    /// signature is back).
    pub fn announcement(
        &self,
        device: &DeviceId,
        crypto: &mut dyn Primitives,
    ) -> Result<String, TrustError> {
        Announcement::write(
            &self.conversation,
            device,
            self.side,
            &self.person.identity,
            &self.device.device_key,
            crypto,
        )
    }

    /// A value read under `key` failed its check: noticed once per key and
    /// value. Returns whether this was news.
    pub fn refuse(&mut self, key: &str, value: &[u8]) -> bool {
        let digest: [u8; 32] = Sha256::new()
            .chain_update((key.len() as u64).to_be_bytes())
            .chain_update(key.as_bytes())
            .chain_update(value)
            .finalize()
            .into();
        if !self.refused.insert(digest) {
            return false;
        }
        self.notices.push(TrustNotice::Tampered);
        true
    }

    /// Checks `text`, read under `key` (`k.<device>`), through `crypto`,
    /// and pins it. Returns the side the device speaks for, or `None` if it
    /// was refused; the second value says whether a notice was added.
    ///
    /// An error means the check could not be made yet, not that the value
    /// failed it: [`TrustError::Later`] while an asynchronous
    /// implementation works on the signature (check again once it is
    /// done), [`TrustError::NoCrypto`] on a platform that cannot check.
    /// Then nothing is pinned and nothing is refused.
    pub fn check_announcement(
        &mut self,
        pair: &Pair,
        device: &DeviceId,
        key: &str,
        text: &[u8],
        crypto: &mut dyn Primitives,
    ) -> Result<(Option<Side>, bool), TrustError> {
        let read = match std::str::from_utf8(text) {
            Ok(text) => Announcement::read(text, &self.conversation, device, crypto),
            Err(_) => Err(TrustError::Rejected(ValueKind::DeviceKey)),
        };
        let announcement = match read {
            Ok(announcement) => announcement,
            Err(error) if error.is_rejection() => return Ok((None, self.refuse(key, text))),
            Err(undecided) => return Err(undecided),
        };
        Ok(self.pin(pair, device, key, text, announcement))
    }

    /// Pins `announcement`, which checked, for `device` (see
    /// [`Self::check_announcement`]).
    fn pin(
        &mut self,
        pair: &Pair,
        device: &DeviceId,
        key: &str,
        text: &[u8],
        announcement: Announcement,
    ) -> (Option<Side>, bool) {
        match self.device.pins.get(device) {
            Some(pinned) if *pinned == announcement => return (Some(announcement.side), false),
            Some(_) => return (None, self.refuse(key, text)),
            None => {}
        }
        let (person, ours) = if announcement.side == self.side {
            (&pair.me, true)
        } else {
            (&pair.peer, false)
        };
        let known_side = self.device.pins.on_side(announcement.side).next().is_some();
        let notice = match self.person.known.observe(person, announcement.identity) {
            KeyNews::SomeoneElses => return (None, self.refuse(key, text)),
            KeyNews::Changed => Some(TrustNotice::KeyChanged {
                person: person.typed().to_owned(),
            }),
            KeyNews::Same if known_side && !ours => Some(TrustNotice::NewDevice {
                person: person.typed().to_owned(),
            }),
            KeyNews::Same | KeyNews::New => None,
        };
        if self.device.pins.observe(device, announcement) != DeviceNews::New {
            return (None, self.refuse(key, text));
        }
        self.revision += 1;
        let noticed = notice.is_some();
        self.notices.extend(notice);
        (Some(announcement.side), noticed)
    }

    /// Sixty digits in twelve groups, once the colleague's identity is known.
    pub fn safety_number(&self, pair: &Pair) -> Option<String> {
        let keys_of = |side: Side| -> Vec<IdentityPublic> {
            self.device
                .pins
                .on_side(side)
                .map(|(_, a)| a.identity)
                .collect()
        };
        let mut mine = keys_of(self.side);
        mine.push(self.person.identity.public());
        let theirs = keys_of(self.side.other());
        SafetyNumber::of((&pair.me, &mine), (&pair.peer, &theirs)).map(|n| n.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::participants::{KeyKind, KeyLayout};
    use crate::core::trust::deferred::{self, Deferred, Outcome};
    use crate::core::trust::{DeviceKey, RustCrypto, SeededEntropy};

    struct Someone {
        pair: Pair,
        person: PersonKeys,
        device: DeviceId,
        keys: DeviceKeys,
    }

    fn someone(me: &str, peer: &str, device: &str, seed: u64) -> Someone {
        let mut rng = SeededEntropy::new(seed);
        Someone {
            pair: Pair::parse(me, peer).unwrap(),
            person: PersonKeys::generate(&mut rng, &mut RustCrypto).unwrap(),
            device: DeviceId::parse(device).unwrap(),
            keys: DeviceKeys::generate(&mut rng, &mut RustCrypto).unwrap(),
        }
    }

    fn trust(s: &Someone) -> Trust {
        Trust::new(&s.pair, s.person.clone(), s.keys.clone())
    }

    fn key(device: &DeviceId) -> String {
        format!("k.{device}")
    }

    /// `t` checks `text` as `device`'s announcement (under its own key)
    /// with the crates, as the native build does.
    fn check(t: &mut Trust, pair: &Pair, device: &DeviceId, text: &[u8]) -> (Option<Side>, bool) {
        t.check_announcement(pair, device, &key(device), text, &mut RustCrypto)
            .unwrap()
    }

    #[test]
    fn both_sides_use_the_same_version_2_keys() {
        let jo = Pair::parse("Nurse Jo", "Dr Patel").unwrap();
        let patel = Pair::parse("dr  PATEL", "nurse jo").unwrap();
        let keys = |pair: &Pair| {
            let conversation = Conversation::new(&pair.me, &pair.peer, None);
            KeyLayout::v2(pair, conversation.prefix())
        };
        let (a, b) = (keys(&jo), keys(&patel));
        assert_eq!(a.prefix(), b.prefix());
        assert!(a.prefix().starts_with("bleep2.") && a.prefix().len() == 24);
        assert_eq!(a.my_record(), b.peer_record());
        let d = DeviceId::parse("qhxvbnmkaz").unwrap();
        assert_eq!(a.announcement(&d), b.announcement(&d));
        assert_eq!(
            b.classify(a.announcement(&d).as_bytes()),
            Some(KeyKind::Announcement(d))
        );
    }

    #[test]
    fn both_sides_agree_on_the_safety_number_once_they_read_each_other() {
        let jo = someone("Nurse Jo", "Dr Patel", "qhxvbnmkaz", 1);
        let patel = someone("dr  PATEL", "nurse jo", "ptrewqasdf", 2);
        let (mut a, mut b) = (trust(&jo), trust(&patel));
        assert_eq!(a.safety_number(&jo.pair), None);
        let from_b = b.announcement(&patel.device, &mut RustCrypto).unwrap();
        let from_a = a.announcement(&jo.device, &mut RustCrypto).unwrap();
        assert_eq!(
            check(&mut a, &jo.pair, &patel.device, from_b.as_bytes()),
            (Some(b.side), false)
        );
        assert_eq!(
            check(&mut b, &patel.pair, &jo.device, from_a.as_bytes()),
            (Some(a.side), false)
        );
        let number = a.safety_number(&jo.pair).unwrap();
        assert_eq!(Some(number.clone()), b.safety_number(&patel.pair));
        assert_eq!(number.len(), 60 + 11);
        assert_eq!(number.split(' ').count(), 12);
        assert!(a.notices().is_empty() && b.notices().is_empty());
        // Reading it again changes nothing.
        check(&mut a, &jo.pair, &patel.device, from_b.as_bytes());
        assert!(a.notices().is_empty());
    }

    #[test]
    fn a_forged_or_altered_announcement_is_one_notice_per_value() {
        let jo = someone("Nurse Jo", "Dr Patel", "qhxvbnmkaz", 3);
        let patel = someone("Dr Patel", "Nurse Jo", "ptrewqasdf", 4);
        let mut a = trust(&jo);
        let b = trust(&patel);
        let genuine = b.announcement(&patel.device, &mut RustCrypto).unwrap();
        let mut altered = genuine.clone().into_bytes();
        altered[40] = if altered[40] == b'A' { b'B' } else { b'A' };
        for _ in 0..3 {
            assert_eq!(check(&mut a, &jo.pair, &patel.device, &altered).0, None);
        }
        assert_eq!(a.notices(), &[TrustNotice::Tampered]);
        // Under another device's key, the genuine one is refused too.
        let other = DeviceId::parse("zzzzzzzzzz").unwrap();
        assert_eq!(check(&mut a, &jo.pair, &other, genuine.as_bytes()).0, None);
        assert_eq!(a.notices().len(), 2);
        // The genuine one still pins; a different one under a pinned id
        // is refused and the first stays.
        assert!(check(&mut a, &jo.pair, &patel.device, genuine.as_bytes())
            .0
            .is_some());
        let number = a.safety_number(&jo.pair);
        let intruder = someone("Dr Patel", "Nurse Jo", "ptrewqasdf", 5);
        let forged = trust(&intruder)
            .announcement(&patel.device, &mut RustCrypto)
            .unwrap();
        assert_eq!(
            check(&mut a, &jo.pair, &patel.device, forged.as_bytes()).0,
            None
        );
        assert_eq!(a.notices().len(), 3);
        assert_eq!(a.safety_number(&jo.pair), number);
    }

    #[test]
    fn a_changed_key_and_a_new_device_are_announced() {
        let jo = someone("Nurse Jo", "Dr Patel", "qhxvbnmkaz", 6);
        let patel = someone("Dr Patel", "Nurse Jo", "ptrewqasdf", 7);
        let mut a = trust(&jo);
        let first = trust(&patel)
            .announcement(&patel.device, &mut RustCrypto)
            .unwrap();
        check(&mut a, &jo.pair, &patel.device, first.as_bytes());
        let before = a.safety_number(&jo.pair).unwrap();

        // Another tab of the same browser: same identity, new device key.
        let tab = DeviceId::parse("tabtabtabt").unwrap();
        let mut rng = SeededEntropy::new(70);
        let tab_keys = DeviceKeys {
            device_key: DeviceKey::generate(&mut rng, &mut RustCrypto).unwrap(),
            ..patel.keys.clone()
        };
        let second = Trust::new(&patel.pair, patel.person.clone(), tab_keys)
            .announcement(&tab, &mut RustCrypto)
            .unwrap();
        check(&mut a, &jo.pair, &tab, second.as_bytes());
        assert_eq!(
            a.notices(),
            &[TrustNotice::NewDevice {
                person: "Dr Patel".into()
            }]
        );
        assert_eq!(a.safety_number(&jo.pair).unwrap(), before);

        // A new browser (or someone posing as one): a changed key.
        let reset = someone("Dr Patel", "Nurse Jo", "newnewnewn", 8);
        let third = trust(&reset)
            .announcement(&reset.device, &mut RustCrypto)
            .unwrap();
        check(&mut a, &jo.pair, &reset.device, third.as_bytes());
        assert_eq!(
            a.notices().last(),
            Some(&TrustNotice::KeyChanged {
                person: "Dr Patel".into()
            })
        );
        assert_ne!(a.safety_number(&jo.pair).unwrap(), before);

        // Someone else signing in as Nurse Jo elsewhere.
        let mine = someone("Nurse Jo", "Dr Patel", "otherjoabc", 9);
        let fourth = trust(&mine)
            .announcement(&mine.device, &mut RustCrypto)
            .unwrap();
        check(&mut a, &jo.pair, &mine.device, fourth.as_bytes());
        assert_eq!(
            a.notices().last(),
            Some(&TrustNotice::KeyChanged {
                person: "Nurse Jo".into()
            })
        );
    }

    #[test]
    fn the_colleagues_key_never_speaks_for_us() {
        let jo = someone("Nurse Jo", "Dr Patel", "qhxvbnmkaz", 10);
        let mut a = trust(&jo);
        // An announcement for our side signed with our own identity but a
        // device we do not know is our other tab; with Dr Patel's identity
        // it is refused once Dr Patel's key is known.
        let patel = someone("Dr Patel", "Nurse Jo", "ptrewqasdf", 11);
        let genuine = trust(&patel)
            .announcement(&patel.device, &mut RustCrypto)
            .unwrap();
        check(&mut a, &jo.pair, &patel.device, genuine.as_bytes());
        let posing = Someone {
            pair: jo.pair.clone(),
            device: DeviceId::parse("posingxxxx").unwrap(),
            ..someone("Nurse Jo", "Dr Patel", "posingxxxx", 12)
        };
        let mut posing_person = posing.person.clone();
        posing_person.identity = patel.person.identity.clone();
        let forged = Trust::new(&jo.pair, posing_person, posing.keys.clone())
            .announcement(&posing.device, &mut RustCrypto)
            .unwrap();
        let (side, noticed) = check(&mut a, &jo.pair, &posing.device, forged.as_bytes());
        assert_eq!((side, noticed), (None, true));
        assert_eq!(a.notices(), &[TrustNotice::Tampered]);
    }

    #[test]
    fn an_announcement_checked_later_is_pinned_or_refused_once_its_answer_is_back() {
        let jo = someone("Nurse Jo", "Dr Patel", "qhxvbnmkaz", 13);
        let patel = someone("Dr Patel", "Nurse Jo", "ptrewqasdf", 14);
        let (mut a, b) = (trust(&jo), trust(&patel));
        let k = key(&patel.device);
        // Signed through the port, as the browser signs with WebCrypto.
        let mut port = Deferred::new();
        assert_eq!(
            b.announcement(&patel.device, &mut port),
            Err(TrustError::Later)
        );
        let genuine = deferred::complete(&mut port, &mut RustCrypto, |port| {
            b.announcement(&patel.device, port)
        })
        .unwrap();
        assert_eq!(
            genuine,
            b.announcement(&patel.device, &mut RustCrypto).unwrap()
        );

        // A changed signature: no notice while its check is under way, one
        // once the answer is back.
        let mut altered = genuine.clone().into_bytes();
        let at = altered.len() - 20;
        altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            a.check_announcement(&jo.pair, &patel.device, &k, &altered, &mut port),
            Err(TrustError::Later)
        );
        assert!(a.notices().is_empty());
        let checked = deferred::complete(&mut port, &mut RustCrypto, |port| {
            a.check_announcement(&jo.pair, &patel.device, &k, &altered, port)
        });
        assert_eq!(checked, Ok((None, true)));
        assert_eq!(a.notices(), &[TrustNotice::Tampered]);

        // The genuine one: nothing pinned until its answer is back.
        assert_eq!(
            a.check_announcement(&jo.pair, &patel.device, &k, genuine.as_bytes(), &mut port),
            Err(TrustError::Later)
        );
        assert_eq!(a.safety_number(&jo.pair), None);
        let checked = deferred::complete(&mut port, &mut RustCrypto, |port| {
            a.check_announcement(&jo.pair, &patel.device, &k, genuine.as_bytes(), port)
        });
        assert_eq!(checked, Ok((Some(b.side), false)));
        assert!(a.safety_number(&jo.pair).is_some());
        assert_eq!(a.notices().len(), 1);

        // A platform that cannot check: neither pinned nor refused.
        let mut fresh = trust(&jo);
        let mut cannot = Deferred::new();
        let check_through = |t: &mut Trust, port: &mut Deferred| {
            t.check_announcement(&jo.pair, &patel.device, &k, genuine.as_bytes(), port)
        };
        assert_eq!(
            check_through(&mut fresh, &mut cannot),
            Err(TrustError::Later)
        );
        for job in cannot.take_jobs() {
            cannot.answer(job, Outcome::Unavailable("no WebCrypto".to_owned()));
        }
        assert_eq!(
            check_through(&mut fresh, &mut cannot),
            Err(TrustError::NoCrypto)
        );
        assert!(fresh.notices().is_empty());
        assert_eq!(fresh.safety_number(&jo.pair), None);
    }
}
