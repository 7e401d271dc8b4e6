//! The trust notices of a conversation, in the order they were learnt: a
//! value that failed its check, a colleague's changed security key, and
//! messages the store lost for good. Worded by [`crate::display`].

use leptos::prelude::*;

use super::context::{use_conversation, Conversation};
use crate::core::participants::Name;
use crate::core::TrustNotice;
use crate::display::{gap_notice, key_change_notice, TAMPER_NOTICE};

/// What one notice says, and its test hook.
fn worded(notice: &TrustNotice, me: Option<&Name>) -> (&'static str, String) {
    match notice {
        TrustNotice::Tampered => ("tamper-notice", TAMPER_NOTICE.to_owned()),
        TrustNotice::KeyChanged { person } | TrustNotice::NewDevice { person } => (
            "key-change-notice",
            key_change_notice(person, me.is_some_and(|me| me.is(person))),
        ),
        TrustNotice::Gap { from, count } => ("gap-notice", gap_notice(from, *count)),
    }
}

/// The list of notices, hidden while there are none. Notices are few and
/// only ever added: the list is drawn again whole when one comes (a keyed
/// list would add its own reconciling code to the download for nothing).
#[component]
pub fn TrustNotices() -> impl IntoView {
    let Conversation { view, me, .. } = use_conversation();
    let notices = view.notices;
    let me = Name::parse(&me).ok();
    let rows = move || {
        notices.with(|all| {
            all.iter()
                .map(|n| {
                    let (testid, text) = worded(n, me.as_ref());
                    view! {
                        <li class="banner notice" data-testid=testid>
                            <span aria-hidden="true">"⚠ "</span>{text}
                        </li>
                    }
                })
                .collect::<Vec<_>>()
        })
    };
    view! {
        <ul class="notices" aria-label="Security notices" aria-live="polite"
            hidden=move || notices.with(Vec::is_empty)>
            {rows}
        </ul>
    }
}
