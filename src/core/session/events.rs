//! What the session reports as changed, in a queue the caller drains with
//! [`super::Session::poll_event`] (as quinn-proto's connections report
//! theirs), so that a screen redraws only what an event names.
//!
//! Changes to the transcript are queued where they happen. The turn, the
//! loading state, the connection and the unread counts are each derived from
//! several parts of the session; they are compared with what was last
//! reported when the caller asks, so that no change of theirs can go
//! unreported.

use std::collections::VecDeque;

use super::super::types::{Connection, Event, Turn};

/// The values the screen shows, as last reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Shown {
    pub turn: Turn,
    pub loading: bool,
    pub connection: Connection,
    pub unread: usize,
    /// The colleague's urgent messages no device of ours has shown.
    pub urgent_unseen: usize,
}

/// Events not yet taken by the caller.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Events {
    queue: VecDeque<Event>,
    /// What was reported last; `None` before the caller first asked (it
    /// shows the whole state once, then follows the events).
    reported: Option<Shown>,
}

impl Events {
    /// Queues `event`, unless it is already waiting to be taken.
    pub fn push(&mut self, event: Event) {
        if !self.queue.contains(&event) {
            self.queue.push_back(event);
        }
    }

    /// The next event, once the values in `now` have been compared with
    /// those last reported.
    pub fn pop(&mut self, now: Shown) -> Option<Event> {
        if let Some(before) = &self.reported {
            let changes = [
                (before.turn != now.turn, Event::TurnChanged),
                (before.loading != now.loading, Event::LoadingChanged),
                (
                    before.connection != now.connection,
                    Event::ConnectionChanged,
                ),
                (
                    before.unread != now.unread || before.urgent_unseen != now.urgent_unseen,
                    Event::UnreadChanged,
                ),
            ];
            for (changed, event) in changes {
                if changed {
                    self.push(event);
                }
            }
        }
        self.reported = Some(now);
        self.queue.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(turn: Turn, unread: usize) -> Shown {
        Shown {
            turn,
            loading: false,
            connection: Connection::Online,
            unread,
            urgent_unseen: 0,
        }
    }

    #[test]
    fn each_change_is_reported_once() {
        let mut events = Events::default();
        assert_eq!(events.pop(shown(Turn::Idle, 0)), None);
        events.push(Event::MessagesChanged);
        events.push(Event::MessagesChanged);
        let now = shown(Turn::Waiting { since: 5 }, 1);
        assert_eq!(events.pop(now.clone()), Some(Event::MessagesChanged));
        assert_eq!(events.pop(now.clone()), Some(Event::TurnChanged));
        assert_eq!(events.pop(now.clone()), Some(Event::UnreadChanged));
        assert_eq!(events.pop(now), None);
    }

    #[test]
    fn the_first_look_reports_nothing_but_queued_events() {
        let mut events = Events::default();
        events.push(Event::MessagesChanged);
        let offline = Shown {
            connection: Connection::Offline {
                reason: "down".into(),
                since: 1,
            },
            ..shown(Turn::Sending, 3)
        };
        assert_eq!(events.pop(offline.clone()), Some(Event::MessagesChanged));
        assert_eq!(events.pop(offline.clone()), None);
        let back = Shown {
            connection: Connection::Online,
            ..offline
        };
        assert_eq!(events.pop(back), Some(Event::ConnectionChanged));
    }
}
