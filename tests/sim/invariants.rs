//! The invariants of issue 15, checked after every step of an attacked
//! schedule from what each window's session shows (its screen):
//!
//! - (a) every message shown as from a person is a text one of that
//!   person's windows sent, from that window's device, at the number its
//!   sender's own window shows. The one exception is trust on first use's
//!   limit (PROTOCOL.md, "What it does not protect"): a message from a
//!   device that is none of the clinicians' windows, shown on a screen that
//!   announces a changed key or a new device for that person. Those are
//!   counted, not failed.
//! - (b) *read* is never shown for a message that no window of the
//!   colleague has shown.
//! - (d) a window that read a tainted message value (see `attacker.rs`)
//!   of another real device has shown a tamper notice by the end.
//!
//! Invariant (c), nothing lost that repair can bring back, is the settled
//! check of `mod.rs`, over the clinicians' devices only.
//!
//! The ledger also tells the attacker which devices and sides every other
//! window has already shown, to keep it out of first contact.

use std::collections::{BTreeMap, BTreeSet};

use bleep::core::participants::KeyKind;
use bleep::core::{Delivery, DeviceId, Name, TrustNotice};

use super::Window;

/// What the clinicians did and saw. See the module documentation.
#[derive(Default)]
pub struct Ledger {
    /// Every text sent: the sender's normal name and device.
    sent: BTreeMap<String, (String, DeviceId)>,
    /// The number each sent text has on its sender's own screen.
    placed: BTreeMap<String, u64>,
    /// Per person (normal name), every (device, number) one of their
    /// windows has shown.
    shown_by: BTreeMap<String, BTreeSet<(DeviceId, u64)>>,
    /// The clinicians' devices, with their side (0: the normal name that
    /// sorts first).
    real: BTreeMap<DeviceId, usize>,
    /// Forged messages shown under a key-change or new-device notice:
    /// (window, device, number).
    pub tofu: BTreeSet<(&'static str, DeviceId, u64)>,
    /// Windows that have shown a tamper notice.
    pub noticed: BTreeSet<&'static str>,
    /// Devices whose messages every other window has shown.
    pub pinned_everywhere: BTreeSet<DeviceId>,
    /// Per side, whether every window of the other side has shown a
    /// message of one of this side's devices.
    pub side_known: [bool; 2],
    /// Per window, what the last check saw (to skip unchanged screens).
    last: Vec<(u64, usize, usize)>,
}

/// A name as written in an envelope, compared as the app does.
fn normal(name: &str) -> String {
    Name::parse(name).map_or_else(|_| name.trim().to_lowercase(), |n| n.normal().to_owned())
}

fn side(w: &Window) -> usize {
    let pair = w.opening.pair.clone();
    usize::from(pair.me.normal() > pair.peer.normal())
}

impl Ledger {
    pub fn new(windows: &[Window]) -> Ledger {
        Ledger {
            real: windows
                .iter()
                .map(|w| (w.opening.device.clone(), side(w)))
                .collect(),
            ..Ledger::default()
        }
    }

    pub fn is_real(&self, device: &DeviceId) -> bool {
        self.real.contains_key(device)
    }

    pub fn real_devices(&self) -> BTreeSet<DeviceId> {
        self.real.keys().cloned().collect()
    }

    /// `w` sent `text`.
    pub fn sent(&mut self, w: &Window, text: &str) {
        let person = w.opening.pair.me.normal().to_owned();
        self.sent
            .insert(text.to_owned(), (person, w.opening.device.clone()));
    }

    /// Checks (a) and (b) on every window's screen.
    pub fn check(&mut self, windows: &[Window]) -> Result<(), String> {
        let now: Vec<(u64, usize, usize)> = windows
            .iter()
            .map(|w| {
                let s = w.session();
                (s.revision(), s.notices().len(), s.message_count())
            })
            .collect();
        if now == self.last {
            return Ok(());
        }
        self.last = now;
        self.learn(windows);
        for w in windows {
            self.check_authentic(w)?;
            self.check_read(w)?;
        }
        Ok(())
    }

    /// Records what each screen shows.
    fn learn(&mut self, windows: &[Window]) {
        let mut shows: Vec<BTreeSet<DeviceId>> = Vec::new();
        for w in windows {
            let s = w.session();
            let me = s.pair().me.normal().to_owned();
            let mut devices = BTreeSet::new();
            for m in s.messages() {
                let e = m.envelope;
                if &e.device == s.device() && self.sent.contains_key(&e.text) {
                    self.placed.insert(e.text.clone(), e.seq);
                }
                devices.insert(e.device.clone());
                self.shown_by
                    .entry(me.clone())
                    .or_default()
                    .insert((e.device.clone(), e.seq));
            }
            if s.notices().contains(&TrustNotice::Tampered) {
                self.noticed.insert(w.name);
            }
            shows.push(devices);
        }
        self.pinned_everywhere = self
            .real
            .keys()
            .filter(|d| {
                windows
                    .iter()
                    .zip(&shows)
                    .all(|(w, shown)| &w.opening.device == *d || shown.contains(*d))
            })
            .cloned()
            .collect();
        for s in 0..2 {
            self.side_known[s] = windows.iter().zip(&shows).all(|(w, shown)| {
                side(w) == s || shown.iter().any(|d| self.real.get(d) == Some(&s))
            });
        }
    }

    /// (a): every message shown is one its sender's window sent.
    fn check_authentic(&mut self, w: &Window) -> Result<(), String> {
        let s = w.session();
        for m in s.messages() {
            let e = m.envelope;
            let person = normal(&e.from);
            let genuine = self.sent.get(&e.text) == Some(&(person.clone(), e.device.clone()))
                && self.placed.get(&e.text).is_none_or(|&seq| seq == e.seq);
            if genuine {
                continue;
            }
            let announced = s.notices().iter().any(|n| match n {
                TrustNotice::KeyChanged { person: p } | TrustNotice::NewDevice { person: p } => {
                    normal(p) == person
                }
                _ => false,
            });
            if !self.is_real(&e.device) && announced {
                self.tofu.insert((w.name, e.device.clone(), e.seq));
                continue;
            }
            let truth = match self.sent.get(&e.text) {
                Some((p, d)) => format!(
                    "sent by {p} from {d} (shown at #{:?})",
                    self.placed.get(&e.text)
                ),
                None => "never sent".to_owned(),
            };
            return Err(format!(
                "(a) {} shows {:?} as from {:?} (device {}, #{}), but that text was {truth}; notices {:?}",
                w.name,
                e.text,
                e.from,
                e.device,
                e.seq,
                s.notices()
            ));
        }
        Ok(())
    }

    /// (b): *read* only for what a window of the colleague has shown.
    fn check_read(&self, w: &Window) -> Result<(), String> {
        let s = w.session();
        let shown = self.shown_by.get(s.pair().peer.normal());
        for m in s.messages() {
            let e = m.envelope;
            let key = (e.device.clone(), e.seq);
            if m.mine
                && m.delivery == Some(Delivery::Read)
                && !shown.is_some_and(|shown| shown.contains(&key))
            {
                return Err(format!(
                    "(b) {} shows {:?} (device {}, #{}) as read, but no window of {} has shown it",
                    w.name,
                    e.text,
                    e.device,
                    e.seq,
                    s.pair().peer.typed()
                ));
            }
        }
        Ok(())
    }

    /// (d): each window that read a tainted message of another real device
    /// has shown a tamper notice.
    pub fn check_noticed(&self, windows: &[Window]) -> Result<(), String> {
        for w in windows {
            let layout = w.session().keys().clone();
            let read = w.transport.tainted.borrow();
            let tainted = read.iter().find(|key| match layout.classify(key) {
                Some(KeyKind::Message(d, _)) => d != w.opening.device && self.is_real(&d),
                _ => false,
            });
            if let Some(key) = tainted {
                if !self.noticed.contains(w.name) {
                    return Err(format!(
                        "(d) {} read a tampered value of {} and never showed a tamper notice",
                        w.name,
                        String::from_utf8_lossy(key)
                    ));
                }
            }
        }
        Ok(())
    }
}
