//! The directory (PROTOCOL.md, "The directory"): one entry per person, under
//! a key made from the normal name, holding the name as typed, an on-duty
//! status, a short free text and "last seen".
//!
//! [`Entry`] is the stored value (read as untrusted: anything impossible is
//! no entry at all); [`OwnEntry`] is one device's part in keeping its
//! person's entry: what the person chose, when to write it, and what to
//! adopt from the person's other devices. Plain data and decisions; the
//! session asks the server.

use serde::{Deserialize, Serialize};

use super::codec;
use super::participants::Name;
use super::types::Millis;

/// Every directory key starts with this; the rest is a normal name.
pub const PREFIX: &str = "bleep1.d.";

/// The longest free text, in characters.
pub const MAX_TEXT_CHARS: usize = 40;

/// An active device rewrites its entry once "last seen" is this old.
pub const REFRESH_MS: Millis = 300_000;

/// The entry format written by this version.
const ENTRY_VERSION: u32 = 1;

/// Where `person`'s entry is stored.
pub fn entry_key(person: &Name) -> String {
    format!("{PREFIX}{}", person.normal())
}

/// The people a listing of the server's keys names (`action=keys`), in
/// normal form, sorted, each once, at most `limit` of them.
pub fn people(keys: &[Vec<u8>], limit: usize) -> Vec<String> {
    // Kept sorted as they come (no sort routine in the WebAssembly).
    let mut names: Vec<String> = Vec::new();
    for key in keys {
        let Some(rest) = key.strip_prefix(PREFIX.as_bytes()) else {
            continue;
        };
        let Ok(rest) = std::str::from_utf8(rest) else {
            continue;
        };
        if Name::parse(rest).is_ok_and(|n| n.normal() == rest) {
            if let Err(at) = names.binary_search_by(|n| n.as_str().cmp(rest)) {
                names.insert(at, rest.to_owned());
            }
        }
    }
    names.truncate(limit);
    names
}

/// A clinician's on-duty status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    OnDuty,
    Busy,
    OffDuty,
}

impl Status {
    /// Every status, in the order a screen offers them.
    pub const ALL: [Status; 3] = [Status::OnDuty, Status::Busy, Status::OffDuty];

    /// As stored (`s`), and as the screens' test hooks name it.
    pub fn code(self) -> &'static str {
        match self {
            Status::OnDuty => "on",
            Status::Busy => "busy",
            Status::OffDuty => "off",
        }
    }

    pub fn from_code(code: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.code() == code)
    }

    /// In words, as the screens show it.
    pub fn words(self) -> &'static str {
        match self {
            Status::OnDuty => "On duty",
            Status::Busy => "Busy, in theatre",
            Status::OffDuty => "Off duty",
        }
    }
}

/// What the directory says of a colleague.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Colleague {
    /// Not read yet, or their entry is missing but they have written here.
    Unknown,
    /// No entry, and nothing from them here: nobody has used Bleep as this
    /// name on this server (most often a typo).
    NeverUsed,
    Listed(Entry),
}

/// A person's directory entry, exactly as stored.
///
/// In JSON, fields are named by one letter, in this order: `v`, `n`, `s`
/// (left out when none was chosen), `x` (left out when empty), `c`, `t`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(rename = "v")]
    version: u32,
    /// The name as typed.
    #[serde(rename = "n")]
    pub name: String,
    /// The status's code; a code this version does not know reads as none.
    #[serde(rename = "s", default, skip_serializing_if = "String::is_empty")]
    status: String,
    /// The free text ("bleep 4321").
    #[serde(rename = "x", default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// When the person chose this status and text (ms).
    #[serde(rename = "c")]
    pub chosen_at: Millis,
    /// When an active device of the person last wrote the entry (ms).
    #[serde(rename = "t")]
    pub seen_at: Millis,
}

/// Why a status text was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextError {
    TooLong,
    ControlCharacter,
}

impl std::fmt::Display for TextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextError::TooLong => write!(f, "At most {MAX_TEXT_CHARS} characters."),
            TextError::ControlCharacter => f.write_str("No control characters, please."),
        }
    }
}

impl std::error::Error for TextError {}

/// Checks a free text as typed: trimmed, at most [`MAX_TEXT_CHARS`].
pub fn check_text(text: &str) -> Result<&str, TextError> {
    let text = text.trim();
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(TextError::TooLong);
    }
    if text.chars().any(char::is_control) {
        return Err(TextError::ControlCharacter);
    }
    Ok(text)
}

impl Entry {
    /// The entry of someone who never chose a status.
    pub fn new(person: &Name) -> Entry {
        Entry {
            version: ENTRY_VERSION,
            name: person.typed().to_owned(),
            status: String::new(),
            text: String::new(),
            chosen_at: 0,
            seen_at: 0,
        }
    }

    pub fn status(&self) -> Option<Status> {
        Status::from_code(&self.status)
    }

    /// Whether the person's choice (status and text) is the same in both.
    fn same_choice(&self, other: &Entry) -> bool {
        self.status == other.status && self.text == other.text && self.chosen_at == other.chosen_at
    }

    pub fn encode(&self) -> Vec<u8> {
        codec::to_html_safe(self)
    }

    /// Reads `person`'s entry (from the server or from storage); `None`
    /// for anything that is not one.
    pub fn decode(bytes: &[u8], person: &Name) -> Option<Entry> {
        let entry: Entry = codec::from_slice(bytes).ok()?;
        let valid = entry.version == ENTRY_VERSION
            && Name::parse(&entry.name).is_ok_and(|n| n.normal() == person.normal())
            && check_text(&entry.text) == Ok(entry.text.as_str());
        valid.then_some(entry)
    }
}

/// One device's part in keeping its person's entry (PROTOCOL.md, "The
/// directory", "Writing").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnEntry {
    /// The person's choice as this device knows it; `seen_at` is the "last
    /// seen" of the entry on the server as last read or written.
    entry: Entry,
    /// Whether the stored entry has been read since this device opened.
    read: bool,
    /// The user changed the status: write at once.
    urgent: bool,
    /// The stored entry is missing or older: write at the next check.
    repair: bool,
    /// Grows whenever the choice changes (for the caller to keep it).
    revision: u64,
}

impl OwnEntry {
    /// `person`'s part, from the choice this browser kept (if any).
    pub fn new(person: &Name, kept: Option<Entry>) -> OwnEntry {
        let mut entry = Entry::new(person);
        if let Some(kept) =
            kept.filter(|k| Name::parse(&k.name).is_ok_and(|n| n.normal() == person.normal()))
        {
            entry.status = kept.status;
            entry.text = kept.text;
            entry.chosen_at = kept.chosen_at;
        }
        OwnEntry {
            entry,
            read: false,
            urgent: false,
            repair: false,
            revision: 0,
        }
    }

    /// The person's choice as this device knows it.
    pub fn choice(&self) -> &Entry {
        &self.entry
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// Whether the stored entry is still to be read (once, at open).
    pub fn needs_read(&self) -> bool {
        !self.read
    }

    /// The user chose `status` and `text` at `now`: written at once.
    pub fn choose(
        &mut self,
        status: Option<Status>,
        text: &str,
        now: Millis,
    ) -> Result<(), TextError> {
        let text = check_text(text)?;
        let code = status.map_or("", Status::code);
        if self.entry.status == code && self.entry.text == text {
            return Ok(());
        }
        self.entry.status = code.to_owned();
        self.entry.text = text.to_owned();
        // Later than any choice this device has seen, whatever the clocks.
        self.entry.chosen_at = now.max(self.entry.chosen_at + 1);
        self.urgent = true;
        self.revision += 1;
        Ok(())
    }

    /// The stored entry was read (`None`: missing or junk). Says whether
    /// the choice changed (another device of the person chose later).
    pub fn learn(&mut self, stored: Option<Entry>) -> bool {
        self.read = true;
        let Some(stored) = stored else {
            self.repair = true;
            return false;
        };
        self.entry.seen_at = stored.seen_at;
        if stored.same_choice(&self.entry) {
            return false;
        }
        if stored.chosen_at >= self.entry.chosen_at && !self.urgent {
            self.entry.status = stored.status;
            self.entry.text = stored.text;
            self.entry.chosen_at = stored.chosen_at;
            self.revision += 1;
            return true;
        }
        self.repair = true;
        false
    }

    /// Whether to write now (the user changed the status).
    pub fn is_urgent(&self) -> bool {
        self.urgent
    }

    /// Whether the next directory check should write the entry: it needs
    /// repair, or (on an `active` device) "last seen" is due a refresh.
    pub fn is_due(&self, now: Millis, active: bool) -> bool {
        self.read
            && (self.repair || (active && now >= self.entry.seen_at.saturating_add(REFRESH_MS)))
    }

    /// The entry to write at `now`.
    pub fn to_write(&self, now: Millis) -> Entry {
        Entry {
            seen_at: now,
            ..self.entry.clone()
        }
    }

    /// `written` was stored (the server answered).
    pub fn written(&mut self, written: &Entry) {
        self.entry.seen_at = self.entry.seen_at.max(written.seen_at);
        if written.same_choice(&self.entry) {
            self.urgent = false;
            self.repair = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patel() -> Name {
        Name::parse("Dr Patel").unwrap()
    }

    fn entry(status: &str, text: &str, chosen_at: Millis, seen_at: Millis) -> Entry {
        Entry {
            status: status.into(),
            text: text.into(),
            chosen_at,
            seen_at,
            ..Entry::new(&patel())
        }
    }

    #[test]
    fn an_entry_is_written_compactly_and_read_back() {
        let e = entry("on", "bleep <4321> & co", 5, 9);
        let bytes = e.encode();
        assert_eq!(
            bytes,
            br#"{"v":1,"n":"Dr Patel","s":"on","x":"bleep \u003c4321\u003e \u0026 co","c":5,"t":9}"#
        );
        assert_eq!(Entry::decode(&bytes, &patel()), Some(e));
        // No status, no text: left out.
        assert_eq!(
            Entry::new(&patel()).encode(),
            br#"{"v":1,"n":"Dr Patel","c":0,"t":0}"#
        );
        // Any spelling of the same person.
        let other = Name::parse("DR  patel").unwrap();
        assert!(Entry::decode(&bytes, &other).is_some());
        // A status this version does not know reads as none.
        let later = br#"{"v":1,"n":"Dr Patel","s":"leave","c":1,"t":1,"z":[1]}"#;
        assert_eq!(Entry::decode(later, &patel()).unwrap().status(), None);
        assert_eq!(
            Entry::decode(&bytes, &patel()).unwrap().status(),
            Some(Status::OnDuty)
        );
    }

    #[test]
    fn junk_is_no_entry() {
        let long = format!(
            r#"{{"v":1,"n":"Dr Patel","x":"{}","c":1,"t":1}}"#,
            "x".repeat(41)
        );
        for junk in [
            &b""[..],
            b"Dr Patel",
            br#"{"v":2,"n":"Dr Patel","c":1,"t":1}"#,
            // Another person's entry, copied under this key.
            br#"{"v":1,"n":"Dr Patal","c":1,"t":1}"#,
            br#"{"v":1,"n":"","c":1,"t":1}"#,
            br#"{"v":1,"n":"Dr Patel","c":1}"#,
            br#"{"v":1,"n":"Dr Patel","c":-1,"t":1}"#,
            br#"{"v":1,"n":"Dr Patel","x":"a\nb","c":1,"t":1}"#,
            br#"{"v":1,"n":"Dr Patel","x":" padded","c":1,"t":1}"#,
            br#"{"v":1,"n":"Dr Patel","c":1,"t":1,"t":2}"#,
            long.as_bytes(),
        ] {
            assert_eq!(
                Entry::decode(junk, &patel()),
                None,
                "{}",
                String::from_utf8_lossy(junk)
            );
        }
        let forty = format!(
            r#"{{"v":1,"n":"Dr Patel","x":"{}","c":1,"t":1}}"#,
            "é".repeat(40)
        );
        assert!(Entry::decode(forty.as_bytes(), &patel()).is_some());
    }

    #[test]
    fn keys_are_made_from_the_normal_name_and_listed_back() {
        assert_eq!(
            entry_key(&Name::parse(" DR  Patel").unwrap()),
            "bleep1.d.dr patel"
        );
        let keys: Vec<Vec<u8>> = [
            "bleep1.d.nurse jo",
            "bleep1.d.dr patel",
            "bleep1.d.Dr Patel",
            "bleep1.d. padded",
            "bleep1.d.",
            "bleep1.0123456789abcdef.p0",
            "junk",
            "bleep1.d.nurse jo",
        ]
        .iter()
        .map(|k| k.as_bytes().to_vec())
        .chain([b"bleep1.d.\xff".to_vec()])
        .collect();
        assert_eq!(people(&keys, 10), ["dr patel", "nurse jo"]);
        assert_eq!(people(&keys, 1), ["dr patel"]);
    }

    #[test]
    fn texts_are_trimmed_and_limited() {
        assert_eq!(check_text("  bleep 4321 "), Ok("bleep 4321"));
        assert_eq!(check_text(&"x".repeat(41)), Err(TextError::TooLong));
        assert_eq!(check_text("a\tb"), Err(TextError::ControlCharacter));
        let mut own = OwnEntry::new(&patel(), None);
        assert_eq!(
            own.choose(None, &"x".repeat(41), 1),
            Err(TextError::TooLong)
        );
        assert_eq!(own.revision(), 0);
        // Choosing what is already chosen changes nothing.
        own.choose(None, " ", 1).unwrap();
        assert_eq!((own.revision(), own.is_urgent()), (0, false));
    }

    #[test]
    fn a_missing_entry_is_repaired_at_the_next_check_and_only_after_a_read() {
        let mut own = OwnEntry::new(&patel(), None);
        assert!(own.needs_read());
        assert!(
            !own.is_due(0, true),
            "nothing is written before the entry is read"
        );
        assert!(!own.learn(None));
        assert!(!own.needs_read());
        assert!(own.is_due(0, false), "repaired even from a hidden tab");
        assert!(!own.is_urgent());
        let write = own.to_write(1_000);
        assert_eq!(write.seen_at, 1_000);
        own.written(&write);
        assert!(!own.is_due(1_000, true));
        // The server lost it: read again, missing, repaired again.
        own.learn(None);
        assert!(own.is_due(2_000, true));
    }

    #[test]
    fn an_active_device_refreshes_last_seen_every_few_minutes() {
        let mut own = OwnEntry::new(&patel(), None);
        own.learn(Some(entry("", "", 0, 10_000)));
        assert!(!own.is_due(10_000 + REFRESH_MS - 1, true));
        assert!(own.is_due(10_000 + REFRESH_MS, true));
        assert!(
            !own.is_due(10_000 + REFRESH_MS, false),
            "a hidden tab does not"
        );
        let write = own.to_write(10_000 + REFRESH_MS);
        own.written(&write);
        assert!(!own.is_due(10_000 + 2 * REFRESH_MS - 1, true));
    }

    #[test]
    fn the_newest_choice_wins_among_a_persons_devices() {
        let kept = entry("on", "bleep 4321", 100, 0);
        let mut ward_pc = OwnEntry::new(&patel(), Some(kept.clone()));
        assert_eq!(ward_pc.choice().status(), Some(Status::OnDuty));
        // The phone chose later: adopted, kept, not rewritten.
        assert!(ward_pc.learn(Some(entry("off", "", 200, 250))));
        assert_eq!(ward_pc.choice().status(), Some(Status::OffDuty));
        assert_eq!(ward_pc.revision(), 1);
        assert!(!ward_pc.is_due(260, true));
        // An older entry (a stale copy written back): ours is written again.
        let mut phone = OwnEntry::new(&patel(), Some(entry("off", "", 200, 0)));
        assert!(!phone.learn(Some(kept)));
        assert_eq!(phone.choice().status(), Some(Status::OffDuty));
        assert!(phone.is_due(0, false));
        // The same choice: nothing to do until last seen is old.
        let mut again = OwnEntry::new(&patel(), Some(entry("off", "", 200, 0)));
        assert!(!again.learn(Some(entry("off", "", 200, 250))));
        assert!(!again.is_due(300, true));
    }

    #[test]
    fn a_choice_is_written_at_once_and_wins_over_what_is_stored() {
        let mut own = OwnEntry::new(&patel(), None);
        own.choose(Some(Status::Busy), " theatre 3 ", 5_000)
            .unwrap();
        assert!(own.is_urgent(), "even before the stored entry is read");
        assert_eq!(own.revision(), 1);
        // Read meanwhile: the stored (older) entry does not undo the choice.
        assert!(!own.learn(Some(entry("on", "", 4_000, 4_000))));
        let write = own.to_write(5_100);
        assert_eq!(
            (write.status(), write.text.as_str(), write.chosen_at),
            (Some(Status::Busy), "theatre 3", 5_000)
        );
        own.written(&write);
        assert!(!own.is_urgent() && !own.is_due(5_200, true));
        // A choice made on a device whose clock is behind still counts as newer.
        own.choose(Some(Status::OffDuty), "", 10).unwrap();
        assert_eq!(own.choice().chosen_at, 5_001);
        // An answer for an earlier write does not end the urgent one.
        own.written(&write);
        assert!(own.is_urgent());
    }
}
