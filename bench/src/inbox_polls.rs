//! The inbox benchmark's view of one device's requests (`inbox.rs`): each
//! request named by its action and the kind of key (our doorbell, a
//! colleague's, a message, an acknowledgement), the requests cut into
//! polls (a read of our doorbell and what follows it before the next), and
//! how the report writes numbers.

use bleep::core::inbox::keys::doorbell_key;
use bleep::core::Name;
use bleep::imserver::wire::encode_component;

use crate::poll::Sent;

/// What one request was, for the report: the action and which key.
pub struct Labels {
    my_bell: String,
    bell_prefix: String,
    message: String,
    acks: [String; 2],
}

impl Labels {
    pub fn new(me: &Name) -> Labels {
        Labels {
            my_bell: encode_component(doorbell_key(me).as_bytes()),
            bell_prefix: encode_component(b"bleep1.b."),
            message: encode_component(b".m."),
            acks: [encode_component(b".i0"), encode_component(b".i1")],
        }
    }

    fn key(sent: &Sent) -> &str {
        sent.query
            .split('&')
            .find_map(|p| p.strip_prefix("key="))
            .unwrap_or("")
    }

    pub fn is_bell_read(&self, sent: &Sent) -> bool {
        sent.action == "get" && Labels::key(sent) == self.my_bell
    }

    pub fn is_fetch(&self, sent: &Sent) -> bool {
        sent.action == "get" && Labels::key(sent).contains(&self.message)
    }

    pub fn label(&self, sent: &Sent) -> String {
        let key = Labels::key(sent);
        let what = if key == self.my_bell {
            "doorbell"
        } else if key.starts_with(&self.bell_prefix) {
            "a colleague's doorbell"
        } else if key.contains(&self.message) {
            "message"
        } else if self.acks.iter().any(|a| key.ends_with(a.as_str())) {
            "acknowledgement"
        } else if key.is_empty() {
            ""
        } else {
            "other key"
        };
        format!("{} {what}", sent.action).trim().to_owned()
    }
}

/// One poll of Jo's: the read of her doorbell and what followed it.
#[derive(Clone, Debug)]
pub struct Poll {
    pub at: u64,
    pub requests: usize,
    pub fetches: usize,
    /// Query strings sent plus answers' bodies.
    pub bytes: usize,
    /// Answers' bodies alone.
    pub answers: usize,
    /// Answers with their HTTP headers, plus the query strings.
    pub wire: usize,
    pub what: String,
}

/// Jo's requests cut into polls (requests before the first read of the
/// doorbell count as a poll of their own).
pub fn polls(made: &[(u64, Sent)], labels: &Labels) -> Vec<Poll> {
    let mut polls: Vec<(u64, Vec<&Sent>)> = Vec::new();
    for (at, sent) in made {
        if labels.is_bell_read(sent) || polls.is_empty() {
            polls.push((*at, Vec::new()));
        }
        if let Some((_, poll)) = polls.last_mut() {
            poll.push(sent);
        }
    }
    polls
        .into_iter()
        .map(|(at, sent)| {
            let mut what: Vec<(String, usize)> = Vec::new();
            for s in &sent {
                let label = labels.label(s);
                match what.iter_mut().find(|(l, _)| *l == label) {
                    Some((_, n)) => *n += 1,
                    None => what.push((label, 1)),
                }
            }
            Poll {
                at,
                requests: sent.len(),
                fetches: sent.iter().filter(|s| labels.is_fetch(s)).count(),
                bytes: sent.iter().map(|s| s.query.len() + s.body_bytes).sum(),
                answers: sent.iter().map(|s| s.body_bytes).sum(),
                wire: sent.iter().map(|s| s.query.len() + s.wire_bytes).sum(),
                what: what
                    .iter()
                    .map(|(l, n)| {
                        if *n > 1 {
                            format!("{l} ×{n}")
                        } else {
                            l.clone()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" + "),
            }
        })
        .collect()
}

/// `n` with a comma between thousands.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

pub fn megabytes(bytes: usize) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Whether any request was the page or `action=keys`.
pub fn reads_everything(made: &[(u64, Sent)]) -> bool {
    made.iter()
        .any(|(_, s)| s.action == "keys" || s.action == "page")
}

/// The distinct shapes of `polls`, most frequent first.
pub fn shapes(polls: &[Poll]) -> String {
    let mut seen: Vec<(String, usize)> = Vec::new();
    for p in polls {
        match seen.iter_mut().find(|(w, _)| *w == p.what) {
            Some((_, n)) => *n += 1,
            None => seen.push((p.what.clone(), 1)),
        }
    }
    seen.sort_by_key(|(_, n)| std::cmp::Reverse(*n));
    seen.iter()
        .map(|(w, n)| format!("{w} ({n})"))
        .collect::<Vec<_>>()
        .join("; ")
}
