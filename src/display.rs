//! What the screens say, in one place: the turn (in the banner, the
//! composer and the transcript), the sign-in's connection check, delivery
//! marks, the tab's title, and the small formats they share. Plain
//! functions of plain values, tested natively; the components only call
//! them. (A refused message says why through [`crate::core::SendError`]'s
//! own message: errors carry their words.)

use crate::core::participants::MAX_NAME_CHARS;
use crate::core::{Delivery, Millis, Turn};

/// How many of the newest messages a transcript shows before "show earlier"
/// (and how many more each press shows). A screen holds a dozen; the rest is
/// scrollback, and every row in the page makes each new message cost more to
/// lay out.
pub const SHOWN_AT_FIRST: usize = 100;

/// After this long, a pending message says it has not been sent yet.
pub const SLOW_PENDING_MS: u64 = 5_000;

/// "45 s", "3 min", "1 h 2 min": how long, in the fewest words.
pub fn elapsed(ms: u64) -> String {
    let s = ms / 1_000;
    match s {
        0..=59 => format!("{s} s"),
        60..=3_599 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3_600, (s % 3_600) / 60),
    }
}

/// The local calendar day of a time, as a day number, given the clock's
/// offset from UTC in minutes (as JavaScript's `getTimezoneOffset` gives it:
/// positive west of Greenwich). Cheap enough to run for every message.
pub fn local_day(ms: u64, offset_minutes: i32) -> i64 {
    (ms as i64 - i64::from(offset_minutes) * 60_000).div_euclid(86_400_000)
}

/// What the divider above a day's first message says: "Today",
/// "Yesterday", else the date, "Monday 30 November" (with the year when it
/// is not this year's). Days as [`local_day`] counts them.
pub fn day_label(day: i64, today: i64) -> String {
    const WEEKDAYS: [&str; 7] = [
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match today - day {
        0 => return "Today".to_owned(),
        1 => return "Yesterday".to_owned(),
        _ => {}
    }
    // Day 0, 1 January 1970, was a Thursday.
    let weekday = WEEKDAYS[(day + 4).rem_euclid(7) as usize];
    let (year, month, date) = calendar_date(day);
    let month = MONTHS[month as usize - 1];
    if year == calendar_date(today).0 {
        format!("{weekday} {date} {month}")
    } else {
        format!("{weekday} {date} {month} {year}")
    }
}

/// The Gregorian (year, month 1–12, day 1–31) of a day counted from
/// 1 January 1970. Years are counted from 1 March, so that the leap day
/// ends a year; 400 years are always 146,097 days.
fn calendar_date(day: i64) -> (i64, u32, u32) {
    let from_march_0000 = day + 719_468;
    let era = from_march_0000.div_euclid(146_097);
    let day_of_era = from_march_0000.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    // Months from March, each five of them 153 days long.
    let month_from_march = (5 * day_of_year + 2) / 153;
    let date = (day_of_year - (153 * month_from_march + 2) / 5 + 1) as u32;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, date)
}

/// Milliseconds from seconds typed in a form ("2", "1.5", "0,5"), to a
/// tenth of a second; `None` for anything else or zero. Integer arithmetic
/// only: floating-point formatting would double the size of the settings.
pub fn parse_seconds(text: &str) -> Option<u64> {
    let text = text.trim();
    let (whole, fraction) = match text.split_once(['.', ',']) {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.len() > 6
        || !digits(whole)
        || !digits(fraction)
        || (whole.is_empty() && fraction.is_empty())
    {
        return None;
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().ok()?
    };
    let tenths = fraction.bytes().next().map_or(0, |b| u64::from(b - b'0'));
    let ms = whole * 1_000 + tenths * 100;
    (ms > 0).then_some(ms)
}

/// Seconds for a form field: "3", "1.5".
pub fn format_seconds(ms: u64) -> String {
    match (ms / 1_000, (ms % 1_000) / 100) {
        (whole, 0) => whole.to_string(),
        (whole, tenths) => format!("{whole}.{tenths}"),
    }
}

/// The composer's note about the server's size limit, once a draft uses
/// more than four fifths of it.
pub fn budget_note(used: usize, limit: usize) -> Option<String> {
    if used > limit {
        Some("Too long to send: shorten this message or split it into two.".to_owned())
    } else if used * 5 > limit * 4 {
        Some(format!(
            "{}% of the longest message the server accepts",
            used * 100 / limit.max(1)
        ))
    } else {
        None
    }
}

/// The turn, as the screens show it: the session's [`Turn`], or `Loading`
/// while a new window still reads the conversation from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TurnState {
    Loading,
    Idle,
    Sending,
    Waiting { since: Millis },
}

/// What the turn banner says instead of "Sending…" while the server cannot
/// be reached.
pub const NOT_SENT_OFFLINE: &str = "Not sent yet — the server is not reachable";

/// What the screens say while a new window reads the conversation.
const LOADING: &str = "Loading the conversation…";

impl TurnState {
    /// The screens' view of `turn`, given whether the history is still
    /// being read.
    pub fn new(turn: Turn, loading_history: bool) -> TurnState {
        match turn {
            _ if loading_history => TurnState::Loading,
            Turn::Idle => TurnState::Idle,
            Turn::Sending => TurnState::Sending,
            Turn::Waiting { since } => TurnState::Waiting { since },
        }
    }

    /// The turn banner's `data-state` (a test hook: see README.md).
    pub fn as_str(self) -> &'static str {
        match self {
            TurnState::Loading => "loading",
            TurnState::Idle => "idle",
            TurnState::Sending => "sending",
            TurnState::Waiting { .. } => "waiting",
        }
    }

    /// What the turn banner says, talking with `peer`: what a screen reader
    /// announces when the turn changes, so never a counter.
    pub fn banner(self, peer: &str) -> String {
        match self {
            TurnState::Loading => LOADING.to_owned(),
            TurnState::Idle => "Your turn".to_owned(),
            TurnState::Sending => "Sending…".to_owned(),
            TurnState::Waiting { .. } => format!("Waiting for {peer} to reply"),
        }
    }

    /// How long you have waited at `now`, shown after the banner's words
    /// (" (2 min)") but not announced.
    pub fn waited(self, now: Millis) -> Option<String> {
        match self {
            TurnState::Waiting { since } => {
                Some(format!(" ({})", elapsed(now.saturating_sub(since))))
            }
            _ => None,
        }
    }

    /// Why the composer will not send now, or `None` when it is your turn.
    pub fn composer_lock(self, peer: &str) -> Option<String> {
        match self {
            TurnState::Idle => None,
            TurnState::Loading => Some("Loading the conversation from the server…".to_owned()),
            TurnState::Sending => Some("Sending your message…".to_owned()),
            TurnState::Waiting { .. } => Some(format!(
                "Waiting for {peer}'s reply: you can write your next message meanwhile, or send it now as an urgent follow-up."
            )),
        }
    }
}

/// What the sign-in's connection check found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServerCheck {
    Checking,
    Connected,
    /// Why not, in plain words.
    Unreachable(String),
}

impl ServerCheck {
    /// The status line's `data-state` (a test hook: see README.md).
    pub fn as_str(&self) -> &'static str {
        match self {
            ServerCheck::Checking => "checking",
            ServerCheck::Connected => "connected",
            ServerCheck::Unreachable(_) => "unreachable",
        }
    }

    /// What the status line under the sign-in form says.
    pub fn message(&self) -> String {
        match self {
            ServerCheck::Checking => "Checking the server…".to_owned(),
            ServerCheck::Connected => "✓ Connected: the server answers.".to_owned(),
            ServerCheck::Unreachable(why) => format!("✗ Server not reachable. {why}"),
        }
    }
}

/// What the transcript says while it has no message to show.
pub fn empty_transcript(loading: bool) -> &'static str {
    if loading {
        LOADING
    } else {
        "No messages yet. Either of you may start."
    }
}

/// The button above the transcript that shows `count` earlier messages.
pub fn show_earlier(count: usize) -> String {
    format!("Show earlier messages ({count} more)")
}

/// The mark beside one of your messages: its icon, and the word a screen
/// reader says for it.
pub fn delivery_mark(delivery: Delivery) -> (&'static str, &'static str) {
    match delivery {
        Delivery::Pending => ("◷", "Pending"),
        Delivery::Sent => ("✓", "Sent"),
        Delivery::Read => ("✓✓", "Read"),
    }
}

/// How far your last message got, in words beside it: "Sent 13:55",
/// "Read 13:56" (plain "Read" when this window did not see when), given the
/// clock times it was sent and read at.
pub fn delivery_words(delivery: Delivery, sent: &str, read: Option<&str>) -> String {
    match (delivery, read) {
        (Delivery::Pending, _) => "Sending…".to_owned(),
        (Delivery::Sent, _) => format!("Sent {sent}"),
        (Delivery::Read, Some(read)) => format!("Read {read}"),
        (Delivery::Read, None) => "Read".to_owned(),
    }
}

/// The line under an escalated message in its original conversation:
/// "Escalated to Dr Y at 14:05, no reply after 5 min".
pub fn escalated_note(to: &str, at: &str, waited: Millis) -> String {
    format!(
        "Escalated to {to} at {at}, no reply after {}",
        elapsed(waited)
    )
}

/// What an escalated message says above the original it quotes, `sent`
/// being when the original was sent.
pub fn escalated_label(unanswered: &str, sent: &str) -> String {
    format!("Escalated: no reply from {unanswered} to this message of {sent}")
}

/// How far an escalation to a backup colleague got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Forwarding {
    Sending(String),
    Sent(String),
    /// To whom, and why not.
    Failed(String, String),
}

impl Forwarding {
    /// The turn banner's words for it.
    pub fn words(&self) -> String {
        match self {
            Forwarding::Sending(to) => format!("Escalating to {to}: not delivered yet…"),
            Forwarding::Sent(to) => format!("Escalated to {to}"),
            Forwarding::Failed(to, why) => format!("Not escalated to {to}: {why}"),
        }
    }
}

/// Said when the screen is back after the browser paused the hidden tab
/// (`from` and `to` as the clock shows them).
pub fn paused_notice(length_ms: u64, from: &str, to: &str) -> String {
    format!(
        "While Bleep was in the background, the browser paused it: messages and alerts were not checked for {} ({from} to {to}).",
        elapsed(length_ms)
    )
}

/// The app's name, in the tab's title and notifications.
pub const APP_NAME: &str = "Bleep";

/// The tab's title during a conversation with `peer`: the unread count
/// first, so that it shows in a narrow tab.
pub fn tab_title(unread: usize, peer: &str) -> String {
    if unread > 0 {
        format!("({unread}) {APP_NAME} — {peer}")
    } else {
        format!("{APP_NAME} — {peer}")
    }
}

/// The title of the desktop notification of a reply from `peer`.
pub fn reply_notification(peer: &str) -> String {
    format!("{APP_NAME}: reply from {peer}")
}

/// The title of the repeated desktop notification of an urgent message
/// from `peer` that none of your devices has shown yet.
pub fn urgent_notification(peer: &str) -> String {
    format!("{APP_NAME}: urgent message from {peer}")
}

/// The one question, in the first conversation, whether to show desktop
/// notifications, talking with `peer`.
pub fn notification_question(peer: &str) -> String {
    format!("Show a desktop notification when {peer} replies while Bleep is in the background? You can change this in Settings.")
}

/// Why notifications stay off after the clinician asked for them.
pub const NOTIFICATIONS_BLOCKED: &str =
    "Notifications are blocked by the browser: allow them in its site settings.";

/// What a sign-in name field says under it, before anything is wrong.
pub fn name_hint() -> String {
    format!("Up to {MAX_NAME_CHARS} characters.")
}

/// The question before removing a conversation from this device, talking
/// with `peer`; `unsent` when a message of yours has not reached the server.
pub fn remove_from_device_question(peer: &str, unsent: bool) -> String {
    let lost = if unsent {
        " Your message that is not sent yet will be lost."
    } else {
        ""
    };
    format!(
        "Remove this conversation from this device?\n\nNothing is deleted for {peer} or on the server: opening the conversation again loads it back from the server.{lost}"
    )
}

/// The sign-in form's note after another tab removed the conversation with
/// `peer` from this browser, the tab on screen with it.
pub fn removed_elsewhere(peer: &str) -> String {
    format!("The conversation with {peer} was removed from this browser in another tab. Its messages are still with {peer} and on the server.")
}

/// An API Bleep can do without, missing from this browser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Missing {
    Notifications,
    Sound,
    Storage,
    ResizeObserver,
}

impl Missing {
    /// What the clinician loses without it, and what to do instead.
    pub fn notice(self) -> &'static str {
        match self {
            Missing::Notifications => {
                "No desktop notifications in this browser: a reply shows in this tab's title only."
            }
            Missing::Sound => "No alert sound in this browser.",
            Missing::Storage => {
                "This browser does not let Bleep save anything (a private window?): keep this tab open until your messages are sent."
            }
            Missing::ResizeObserver => {
                "This browser is out of date: when the window changes size, scroll down to the newest message."
            }
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_pause_says_how_long_and_when() {
        assert_eq!(
            paused_notice(8 * 60_000 + 5_000, "14:02", "14:10"),
            "While Bleep was in the background, the browser paused it: messages and alerts were not checked for 8 min (14:02 to 14:10)."
        );
    }

    use super::*;

    #[test]
    fn an_escalation_is_worded_on_every_screen() {
        assert_eq!(
            escalated_note("Dr Y", "14:05", 300_000),
            "Escalated to Dr Y at 14:05, no reply after 5 min"
        );
        assert_eq!(
            escalated_label("Bob", "14:00"),
            "Escalated: no reply from Bob to this message of 14:00"
        );
        assert_eq!(
            Forwarding::Sent("Carol".into()).words(),
            "Escalated to Carol"
        );
        assert!(Forwarding::Sending("Carol".into())
            .words()
            .contains("not delivered yet"));
        assert_eq!(
            Forwarding::Failed("Carol".into(), "too long.".into()).words(),
            "Not escalated to Carol: too long."
        );
    }

    #[test]
    fn elapsed_reads_naturally() {
        assert_eq!(elapsed(4_200), "4 s");
        assert_eq!(elapsed(125_000), "2 min");
        assert_eq!(elapsed(3_720_000), "1 h 2 min");
    }

    #[test]
    fn local_days_change_at_local_midnight() {
        // 2026-11-28 23:30 UTC is already the 29th in Paris (UTC+1, offset -60).
        let late = 1_795_995_000_000;
        assert_eq!(local_day(late, 0) + 1, local_day(late, -60));
        assert_eq!(local_day(late, 0), local_day(late - 3_600_000, 0));
        assert_eq!(local_day(0, 60), -1);
    }

    #[test]
    fn the_day_divider_says_today_yesterday_then_the_date() {
        // 1 December 2026 is day 20,788, a Tuesday.
        let today = 20_788;
        assert_eq!(day_label(today, today), "Today");
        assert_eq!(day_label(today - 1, today), "Yesterday");
        assert_eq!(day_label(today - 2, today), "Sunday 29 November");
        assert_eq!(day_label(today, today + 31), "Tuesday 1 December 2026");
        assert_eq!(day_label(today + 31, today + 40), "Friday 1 January");
        assert_eq!(day_label(0, today), "Thursday 1 January 1970");
        assert_eq!(day_label(11_016, today), "Tuesday 29 February 2000");
        assert_eq!(day_label(-1, today), "Wednesday 31 December 1969");
        assert_eq!(day_label(today + 1, today), "Wednesday 2 December");
        // Every day of 1,000 years follows the one before.
        let mut before = calendar_date(-1);
        for day in 0..365_250 {
            let (year, month, date) = calendar_date(day);
            let next_day = (year, month, date) == (before.0, before.1, before.2 + 1);
            let next_month = (year, date) == (before.0, 1) && month == before.1 + 1;
            let next_year = (year, month, date) == (before.0 + 1, 1, 1) && before.1 == 12;
            assert!(
                next_day || next_month || next_year,
                "{before:?} then {:?}",
                (year, month, date)
            );
            before = (year, month, date);
        }
    }

    #[test]
    fn seconds_are_read_and_written_to_a_tenth() {
        assert_eq!(parse_seconds(" 2 "), Some(2_000));
        assert_eq!(parse_seconds("1.5"), Some(1_500));
        assert_eq!(parse_seconds("0,25"), Some(200));
        assert_eq!(parse_seconds(".5"), Some(500));
        for bad in ["", ".", "0", "-1", "1e3", "abc", "1.2.3", "9999999"] {
            assert_eq!(parse_seconds(bad), None, "{bad:?}");
        }
        assert_eq!(format_seconds(3_000), "3");
        assert_eq!(format_seconds(1_500), "1.5");
        assert_eq!(parse_seconds(&format_seconds(15_000)), Some(15_000));
    }

    #[test]
    fn budget_note_appears_near_the_limit() {
        assert_eq!(budget_note(100, 8000), None);
        assert!(budget_note(7000, 8000).unwrap().starts_with("87%"));
        assert!(budget_note(8001, 8000).unwrap().starts_with("Too long"));
    }

    #[test]
    fn the_transcript_and_the_tab_say_what_there_is() {
        assert_eq!(empty_transcript(true), "Loading the conversation…");
        assert!(empty_transcript(false).starts_with("No messages yet"));
        assert_eq!(show_earlier(100), "Show earlier messages (100 more)");
        assert_eq!(delivery_mark(Delivery::Read), ("✓✓", "Read"));
        assert_eq!(delivery_words(Delivery::Sent, "13:55", None), "Sent 13:55");
        assert_eq!(
            delivery_words(Delivery::Read, "13:55", Some("13:56")),
            "Read 13:56"
        );
        assert_eq!(delivery_words(Delivery::Read, "13:55", None), "Read");
        assert_eq!(delivery_words(Delivery::Pending, "13:55", None), "Sending…");
        assert_eq!(tab_title(0, "Bob"), "Bleep — Bob");
        assert_eq!(tab_title(3, "Bob"), "(3) Bleep — Bob");
        assert_eq!(reply_notification("Bob"), "Bleep: reply from Bob");
    }

    #[test]
    fn the_turn_is_worded_alike_in_the_banner_and_the_composer() {
        let waiting = TurnState::new(Turn::Waiting { since: 1_000 }, false);
        assert_eq!(waiting.as_str(), "waiting");
        assert_eq!(waiting.banner("Bob"), "Waiting for Bob to reply");
        assert_eq!(waiting.waited(126_000).as_deref(), Some(" (2 min)"));
        assert!(waiting
            .composer_lock("Bob")
            .unwrap()
            .starts_with("Waiting for Bob's reply"));
        let idle = TurnState::new(Turn::Idle, false);
        assert_eq!(
            (idle.as_str(), idle.banner("Bob"), idle.waited(5_000)),
            ("idle", "Your turn".to_owned(), None)
        );
        assert_eq!(idle.composer_lock("Bob"), None);
        // While the history loads, the turn is not known yet.
        let loading = TurnState::new(Turn::Idle, true);
        assert_eq!(loading.as_str(), "loading");
        assert_eq!(loading.banner("Bob"), empty_transcript(true));
        assert!(loading
            .composer_lock("Bob")
            .unwrap()
            .starts_with("Loading the conversation"));
        assert_eq!(TurnState::new(Turn::Sending, false).as_str(), "sending");
    }

    #[test]
    fn removing_from_this_device_says_what_stays_and_what_is_lost() {
        let question = remove_from_device_question("Bob", false);
        assert!(question.starts_with("Remove this conversation from this device?"));
        assert!(
            question.contains("Nothing is deleted for Bob"),
            "{question}"
        );
        assert!(!question.contains("lost"), "{question}");
        assert!(remove_from_device_question("Bob", true).ends_with("will be lost."));
        assert!(removed_elsewhere("Bob").contains("still with Bob and on the server"));
        assert_eq!(name_hint(), "Up to 40 characters.");
    }

    #[test]
    fn each_missing_api_is_explained_in_plain_words() {
        for missing in [
            Missing::Notifications,
            Missing::Sound,
            Missing::Storage,
            Missing::ResizeObserver,
        ] {
            let notice = missing.notice();
            assert!(notice.ends_with('.'), "{notice}");
            assert!(!notice.contains("API"), "{notice}");
        }
    }

    #[test]
    fn the_connection_check_says_why_a_server_is_not_reachable() {
        let down = ServerCheck::Unreachable("No answer within 5 s.".to_owned());
        assert_eq!(down.as_str(), "unreachable");
        assert_eq!(
            down.message(),
            "✗ Server not reachable. No answer within 5 s."
        );
        assert_eq!(ServerCheck::Connected.as_str(), "connected");
    }
}
