//! The transcript as a browser keeps it: an append-only journal of what
//! happened to it, cut into chunks of at most [`CHUNK_ENTRIES`] lines.
//!
//! Saving after a new message rewrites only the last, small chunk, so the
//! cost of a save does not grow with the history (one JSON value holding ten
//! thousand messages took 20–25 ms to write on every change). Reading the
//! chunks back in order and replaying them rebuilds the transcript.
//!
//! Each line is one change: `+` device, number and the envelope exactly as
//! stored on the server, or `-` device and number for a message taken back
//! (our own, renumbered because another window wrote under its number).
//! Fields are separated by tabs; envelope JSON never holds a raw tab or line
//! break. A line that does not decode is skipped, as junk on the server is.

use super::envelope::Envelope;
use super::log::MessageLog;
use super::participants::DeviceId;

/// The most lines a chunk holds (about 50 KB of ordinary messages).
pub const CHUNK_ENTRIES: usize = 200;

/// One change to the transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    /// A message joined the transcript.
    Added(Envelope),
    /// The message under this device and number left it.
    Removed(DeviceId, u64),
}

impl Change {
    fn line(&self) -> String {
        match self {
            Change::Added(envelope) => format!(
                "+\t{}\t{}\t{}",
                envelope.device,
                envelope.seq,
                String::from_utf8_lossy(&envelope.encode())
            ),
            Change::Removed(device, seq) => format!("-\t{device}\t{seq}"),
        }
    }

    fn parse(line: &str) -> Option<Change> {
        let mut fields = line.splitn(4, '\t');
        let kind = fields.next()?;
        let device = DeviceId::parse(fields.next()?)?;
        let seq = fields.next()?.parse().ok()?;
        match (kind, fields.next()) {
            ("+", Some(json)) => Envelope::decode(json.as_bytes(), &device, seq).map(Change::Added),
            ("-", None) => Some(Change::Removed(device, seq)),
            _ => None,
        }
    }
}

/// A chunk to store: its number (0, 1, 2…) and its whole new text.
pub type ChunkWrite = (usize, String);

/// Where the stored journal ends: which chunk is being filled and what it
/// holds so far.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Journal {
    /// The chunk being filled.
    last: usize,
    /// Its text, and how many lines that is.
    text: String,
    lines: usize,
}

impl Journal {
    /// The journal whose stored chunks are `chunks`, in order.
    pub fn resume(chunks: &[String]) -> Journal {
        match chunks.last() {
            None => Journal::default(),
            Some(text) => Journal {
                last: chunks.len() - 1,
                text: text.clone(),
                lines: text.lines().count(),
            },
        }
    }

    /// How many chunks are stored.
    pub fn chunks(&self) -> usize {
        if self.lines == 0 {
            self.last
        } else {
            self.last + 1
        }
    }

    /// The chunks to write to record `changes`, and the journal once they are
    /// written. Writing them again from the same journal is harmless, so a
    /// save that failed half-way is simply done again.
    pub fn record(&self, changes: &[Change]) -> (Journal, Vec<ChunkWrite>) {
        let mut next = self.clone();
        let mut writes: Vec<ChunkWrite> = Vec::new();
        // Each chunk this adds to is written once, with its final text.
        let mut touched = false;
        for change in changes {
            if next.lines == CHUNK_ENTRIES {
                if touched {
                    writes.push((next.last, std::mem::take(&mut next.text)));
                }
                next.last += 1;
                next.text.clear();
                next.lines = 0;
            }
            if next.lines > 0 {
                next.text.push('\n');
            }
            next.text.push_str(&change.line());
            next.lines += 1;
            touched = true;
        }
        if touched {
            writes.push((next.last, next.text.clone()));
        }
        (next, writes)
    }
}

/// The transcript that stored chunks describe, in agreed order. The chunks
/// hold messages in the order they arrived; they go into the transcript in
/// the agreed order ([`MessageLog::take_in_order`]). A message is removed
/// (renumbered) rarely: it leaves the batch at once.
pub fn replay<'a>(chunks: impl IntoIterator<Item = &'a str>) -> MessageLog {
    let mut added = Vec::new();
    for line in chunks.into_iter().flat_map(str::lines) {
        match Change::parse(line) {
            Some(Change::Added(envelope)) => added.push(envelope),
            Some(Change::Removed(device, seq)) => {
                added.retain(|e: &Envelope| e.device != device || e.seq != seq);
            }
            None => {}
        }
    }
    let mut log = MessageLog::new();
    log.take_in_order(&mut added);
    for envelope in added {
        log.insert(envelope);
    }
    log
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::envelope::ENVELOPE_VERSION;

    fn message(device: &str, seq: u64, text: &str) -> Envelope {
        Envelope {
            version: ENVELOPE_VERSION,
            from: "Alice".into(),
            device: DeviceId::parse(device).unwrap(),
            seq,
            clock: seq,
            sent_at: 1_700_000_000_000 + seq,
            text: text.into(),
            urgent: false,
            unanswered: None,
            original_at: None,
        }
    }

    /// Stores `writes` into `chunks` the way local storage would.
    fn store(chunks: &mut Vec<String>, writes: Vec<ChunkWrite>) {
        for (index, text) in writes {
            if index == chunks.len() {
                chunks.push(text);
            } else {
                chunks[index] = text;
            }
        }
    }

    #[test]
    fn a_new_message_rewrites_only_the_last_chunk() {
        let mut chunks = Vec::new();
        let all: Vec<Change> = (1..=450)
            .map(|seq| Change::Added(message("alphaalpha", seq, "ok")))
            .collect();
        let (journal, writes) = Journal::default().record(&all);
        assert_eq!(writes.iter().map(|w| w.0).collect::<Vec<_>>(), [0, 1, 2]);
        store(&mut chunks, writes);
        assert_eq!(journal.chunks(), 3);

        let (journal, writes) = journal.record(&[Change::Added(message("alphaalpha", 451, "hi"))]);
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0].0, 2);
        assert_eq!(writes[0].1.lines().count(), 51);
        store(&mut chunks, writes);
        assert_eq!(Journal::resume(&chunks), journal);
        assert_eq!(replay(chunks.iter().map(String::as_str)).len(), 451);
    }

    #[test]
    fn a_full_chunk_starts_the_next() {
        let changes: Vec<Change> = (1..=CHUNK_ENTRIES as u64)
            .map(|seq| Change::Added(message("alphaalpha", seq, "ok")))
            .collect();
        let (journal, writes) = Journal::default().record(&changes);
        assert_eq!(writes.len(), 1);
        let resumed = Journal::resume(&[writes[0].1.clone()]);
        assert_eq!(resumed, journal);
        let (_, writes) = resumed.record(&[Change::Added(message("alphaalpha", 999, "next"))]);
        assert_eq!(writes, [(1, writes[0].1.clone())]);
        assert_eq!(writes[0].1.lines().count(), 1);
    }

    #[test]
    fn replay_follows_removals_and_keeps_the_agreed_order() {
        let first = message("alphaalpha", 2, "mine, renumbered later");
        let theirs = message("alphaalpha", 2, "another window's, same number");
        let changes = [
            Change::Added(message("bravobravo", 3, "later clock")),
            Change::Added(first),
            Change::Removed(DeviceId::parse("alphaalpha").unwrap(), 2),
            Change::Added(theirs.clone()),
            Change::Added(message("alphaalpha", 1, "earliest")),
        ];
        let (_, writes) = Journal::default().record(&changes);
        let text: Vec<String> = writes.into_iter().map(|(_, text)| text).collect();
        let transcript = replay(text.iter().map(String::as_str));
        let texts: Vec<&str> = transcript.iter().map(|e| e.text.as_str()).collect();
        assert_eq!(texts, ["earliest", theirs.text.as_str(), "later clock"]);
    }

    #[test]
    fn texts_with_tabs_and_line_breaks_survive() {
        let awkward = message("alphaalpha", 1, "line one\nline\ttwo\r\n<b>&</b> \u{2028}");
        let (_, writes) = Journal::default().record(&[Change::Added(awkward.clone())]);
        assert_eq!(writes[0].1.lines().count(), 1);
        let transcript: Vec<Envelope> = replay([writes[0].1.as_str()]).iter().cloned().collect();
        assert_eq!(transcript, [awkward]);
    }

    #[test]
    fn junk_lines_are_skipped() {
        let good = Change::Added(message("alphaalpha", 1, "kept")).line();
        let text = format!(
            "garbage\n+\talphaalpha\tnot-a-number\t{{}}\n+\talphaalpha\t2\t{{\"v\":1}}\n-\t\t3\n\n{good}\n-\talphaalpha\t1\textra"
        );
        let transcript = replay([text.as_str()]);
        assert_eq!(transcript.len(), 1);
        assert_eq!(
            transcript.iter().next().map(|e| e.text.as_str()),
            Some("kept")
        );
    }

    #[test]
    fn an_empty_journal_has_no_chunks_and_records_nothing_for_no_change() {
        let journal = Journal::resume(&[]);
        assert_eq!(journal.chunks(), 0);
        let (next, writes) = journal.record(&[]);
        assert!(writes.is_empty());
        assert_eq!(next, journal);
    }
}
