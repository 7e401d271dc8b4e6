//! The trust notices of a conversation, in the order they were learnt: a
//! value that failed its check, a colleague's new or changed security key, and
//! messages the store lost for good. Worded by [`crate::display`].

use leptos::prelude::*;

use super::context::{use_conversation, Conversation};
use crate::core::TrustNotice;
use crate::display::trust_notice;

/// The test hook of a notice: what it is about.
fn test_hook(notice: &TrustNotice) -> &'static str {
    match notice {
        TrustNotice::Tampered => "tamper-notice",
        TrustNotice::KeyChanged { .. } | TrustNotice::NewDevice { .. } => "key-change-notice",
        TrustNotice::Gap { .. } => "gap-notice",
    }
}

/// The list of notices, hidden while there are none. Notices are few and
/// only ever added: the list is drawn again whole when one comes (a keyed
/// list would add its own reconciling code to the download for nothing).
#[component]
pub fn TrustNotices() -> impl IntoView {
    let Conversation { view, me, .. } = use_conversation();
    let notices = view.notices;
    let rows = move || {
        notices.with(|all| {
            all.iter()
                .map(|n| {
                    view! {
                        <li class="banner notice" data-testid=test_hook(n)>
                            <span aria-hidden="true">"⚠ "</span>{trust_notice(n, &me)}
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
