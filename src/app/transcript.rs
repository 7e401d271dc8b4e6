//! The transcript: every message in the agreed order, your own with how far
//! each got; it stays pinned to the newest message unless you scrolled up.

use std::rc::Rc;
use std::sync::Arc;

use leptos::either::Either;
use leptos::html::Div;
use leptos::prelude::*;

use super::chat::{Chat, ChatView, MessageRow};
use super::clock::clock_time;
use super::context::{use_conversation, Conversation};
use super::hooks::use_resize_observer;
use crate::core::escalation::Note;
use crate::core::{Delivery, Millis};
use crate::display::{
    day_label, delivery_mark, delivery_words, empty_transcript, escalated_label, escalated_note,
    local_day, show_earlier, SHOWN_AT_FIRST, SLOW_PENDING_MS,
};
use crate::links::{pieces, Piece};

/// Today, as [`local_day`] counts days.
fn local_today(now: Millis) -> i64 {
    local_day(now, js_sys::Date::new_0().get_timezone_offset() as i32)
}

/// A message's text, its web addresses as links that open in a new tab
/// (without giving that page a way back to this one). Text, never markup.
fn message_text(text: &str) -> impl IntoView {
    pieces(text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(text) => Either::Left(text.to_owned()),
            Piece::Link(url) => Either::Right(view! {
                <a href=url.to_owned() target="_blank" rel="noopener noreferrer">{url.to_owned()}</a>
            }),
        })
        .collect_view()
}

/// Rows with the day ("Today", "Yesterday", a date) above the first message
/// of each day.
fn with_days(rows: Vec<MessageRow>, today: i64) -> Vec<(MessageRow, Option<String>)> {
    let mut previous = None;
    rows.into_iter()
        .map(|row| {
            let separator = (previous != Some(row.day)).then(|| day_label(row.day, today));
            previous = Some(row.day);
            (row, separator)
        })
        .collect()
}

#[component]
pub fn Transcript() -> impl IntoView {
    let Conversation {
        chat,
        view,
        now,
        escalations,
        ..
    } = use_conversation();
    let notes = escalations.notes;
    let ChatView {
        messages,
        loading,
        earlier,
        ..
    } = view;
    let scroller = NodeRef::<Div>::new();
    let pinned = RwSignal::new(true);
    let new_below = RwSignal::new(false);

    // In the next frame, once every change of this one is in the page:
    // reading the height here would lay the page out once more.
    let scroll_to_end = move || {
        request_animation_frame(move || {
            if let Some(el) = scroller.try_get_untracked().flatten() {
                el.set_scroll_top(el.scroll_height());
            }
        });
        // Only a change notifies (this runs at every message).
        if new_below.get_untracked() {
            new_below.set(false);
        }
    };
    // Keep the newest message in view, unless the reader scrolled up.
    Effect::new(move |previous: Option<usize>| {
        let count = messages.with(Vec::len);
        if pinned.get_untracked() {
            scroll_to_end();
        } else if previous.is_some_and(|p| count > p) {
            new_below.set(true);
        }
        count
    });
    // Also when the transcript changes size (a phone keyboard opens, the
    // screen rotates, the settings open), if the reader was at the end.
    use_resize_observer(scroller, move || {
        if pinned.get_untracked() {
            scroll_to_end();
        }
    });
    let on_scroll = move |_| {
        if let Some(el) = scroller.get_untracked() {
            let at_end = el.scroll_top() + el.client_height() >= el.scroll_height() - 48;
            pinned.set(at_end);
            if at_end {
                new_below.set(false);
            }
        }
    };
    // Changes at midnight, not at every tick.
    let today = Memo::new(move |_| local_today(now.get()));
    // Your last message says how far it got in words. Which one that is is
    // a signal of its own, not part of a row's key: a send then adds one
    // row instead of also drawing the previous last one again.
    let last_mine = Memo::new(move |_| {
        messages.with(|rows| rows.iter().rfind(|row| row.mine).map(|row| row.id.clone()))
    });
    // Conditions as memos: a send re-runs them, not what they show.
    let empty = Memo::new(move |_| messages.with(Vec::is_empty));
    let has_earlier = Memo::new(move |_| earlier.get() != 0);

    view! {
        <div class="transcript" node_ref=scroller on:scroll=on_scroll tabindex="0"
            aria-label="Messages">
            {move || empty.get().then(|| view! {
                <p class="hint">
                    {move || empty_transcript(loading.get())}
                </p>
            })}
            {move || has_earlier.get().then(|| view! {
                <button type="button" class="secondary earlier"
                    on:click=move |_| chat.with_value(|chat| chat.show_earlier(SHOWN_AT_FIRST))>
                    {move || show_earlier(earlier.get())}
                </button>
            })}
            <ol class="messages" data-testid="transcript" aria-live="polite" aria-relevant="additions">
                <For
                    each=move || with_days(messages.get(), today.get())
                    key=|(row, separator)| (row.id.clone(), row.delivery, separator.clone())
                    children=move |(row, separator)| view! { <Message row=row separator=separator last_mine=last_mine now=now chat=chat notes=notes /> }
                />
            </ol>
            {move || new_below.get().then(|| view! {
                <button type="button" class="new-messages"
                    on:click=move |_| { pinned.set(true); scroll_to_end(); }>
                    "↓ New messages"
                </button>
            })}
        </div>
    }
}

/// One message, with its sender, time and (for yours) delivery state.
#[component]
fn Message(
    row: MessageRow,
    separator: Option<String>,
    /// Your last message, which says how far it got in words.
    last_mine: Memo<Option<Arc<str>>>,
    /// The ticking clock, for "not sent yet".
    now: ReadSignal<Millis>,
    chat: StoredValue<Rc<Chat>, LocalStorage>,
    /// The escalations noted in this conversation.
    notes: RwSignal<Vec<Note>>,
) -> impl IntoView {
    // Only a pending message watches the clock.
    let slow_note = (row.delivery == Some(Delivery::Pending)).then(|| {
        let at = row.sent_at;
        // A memo: the clock ticks every second, the note changes once.
        let slow = Memo::new(move |_| now.get().saturating_sub(at) > SLOW_PENDING_MS);
        move || {
            slow.get().then(|| view! {
            <p class="slow">
                "Not sent yet — retrying. "
                <button type="button" class="link"
                    on:click=move |_| chat.with_value(|chat| chat.retry_now())>"Retry now"</button>
            </p>
        })
        }
    });
    // One element for the mark: its label is what a screen reader says; its
    // tooltip says when it was read, if this window saw it.
    let sent = clock_time(row.sent_at);
    let read = row.read_at.map(clock_time);
    let status = row.delivery.map(|d| {
        let (icon, label) = delivery_mark(d);
        let title = delivery_words(d, &sent, read.as_deref());
        view! { <span class="delivery" role="img" title=title aria-label=label>{icon}</span> }
    });
    // Only the row drawn as your last message watches which one is: a row
    // drawn as not your last never becomes it (a message keeps its place in
    // the order, and a newer one of yours is a new row; a row whose delivery
    // changes is drawn again). A send then re-runs one row, not all of yours.
    // (A component's body tracks nothing: the first call subscribes nobody.)
    let last = {
        let id = row.id.clone();
        move || last_mine.with(|last| last.as_ref() == Some(&id))
    };
    let words = row.delivery.filter(|_| last()).map(|d| {
        let words = delivery_words(d, &sent, read.as_deref());
        move || {
            last().then(
                || view! { <p class="state" data-testid="delivery-state">{words.clone()}</p> },
            )
        }
    });
    // Only your urgent messages can have been escalated from here; an
    // escalated message quotes the original it forwards.
    let escalated_line = (row.mine && row.urgent).then(|| {
        let id = row.id.clone();
        let words = move || {
            notes.with(|notes| {
                notes
                    .iter()
                    .find(|n| *n.message == *id)
                    .map(|n| escalated_note(&n.to, &clock_time(n.at), n.waited))
            })
        };
        view! { <p class="state" data-testid="escalated">{words}</p> }
    });
    let label = row.escalated.as_ref().map(|e| {
        view! { <p class="escalated">{escalated_label(&e.unanswered, &clock_time(e.sent_at))}</p> }
    });
    // Few elements per row, in plain inline flow: an append creates, styles
    // and lays out as little as it can.
    view! {
        {separator.map(|day| view! { <li class="day"><span>{day}</span></li> })}
        <li class=if row.mine { "message mine" } else { "message" } data-testid="message" data-from=row.from.clone()
            data-status=row.delivery.map(Delivery::as_str) data-priority=row.urgent.then_some("urgent")
            data-escalated=row.escalated.as_ref().map(|e| e.unanswered.clone())>
            <p class="meta">
                {row.urgent.then(|| view! { <strong class="urgent-label">"Urgent"</strong> " " })}
                <span class="from">{row.from.clone()}</span>
                " "
                <time>{sent}</time>
                {status}
            </p>
            {label}
            <p class=if row.escalated.is_some() { "text quote" } else { "text" } data-testid="message-text">{message_text(&row.text)}</p>
            {words}
            {escalated_line}
            {slow_note}
        </li>
    }
}
