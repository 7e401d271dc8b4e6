//! The conversation screen: it starts the [`Chat`] for a pair, provides it
//! to the pieces of the screen as the [`Conversation`] context, and stops it
//! when it goes away.

use std::any::Any;

use leptos::mount::mount_to;
use leptos::prelude::*;

use super::attention::Attention;
use super::browser_notice::BrowserNotice;
use super::chat::Chat;
use super::clock::now_ms;
use super::colleague_status::{ColleagueNote, PeerStatus};
use super::composer::Composer;
use super::connection_banner::ConnectionBanner;
use super::context::{provide_conversation, Conversation};
use super::escalate_offer::EscalateOffer;
use super::escalation::Escalations;
use super::hooks::use_interval;
use super::joined::Joined;
use super::notification_ask::NotificationAsk;
use super::paused_notice::PausedNotice;
use super::settings_panel::{SettingsPanel, SettingsSheet};
use super::sign_in::say_next_time;
use super::storage;
use super::transcript::Transcript;
use super::turn_banner::TurnBanner;
use super::unsent_line::UnsentLine;
use crate::display::removed_elsewhere;

/// Mounts the conversation `joined` into `parent` (the page's `<main>`, or
/// the pane beside the inbox); dropping what it gives takes it off the
/// page and stops its chat. One function for both, so that the screen's
/// code is in the download once.
#[inline(never)]
pub fn mount_conversation(
    parent: web_sys::HtmlElement,
    joined: Joined,
    on_leave: fn(),
    in_inbox: bool,
) -> Box<dyn Any> {
    Box::new(mount_to(parent, move || {
        view! { <ConversationScreen joined on_leave in_inbox /> }
    }))
}

/// One conversation, from the turn banner to the composer.
#[component]
pub fn ConversationScreen(
    joined: Joined,
    /// "Switch colleague" (or "All conversations"), and after removing the
    /// conversation from the device. A plain function, so that the screen
    /// is built by one copy of its code wherever it is mounted.
    on_leave: fn(),
    /// Beside the inbox's list: leaving goes back to the list.
    #[prop(optional)]
    in_inbox: bool,
) -> impl IntoView {
    let preferences = RwSignal::new(storage::preferences());
    let chat = Chat::start(
        joined.pair.clone(),
        &joined.server,
        preferences.get_untracked().timing,
    );
    let view = chat.view();
    let escalations = Escalations::new(&chat.storage_key().conversation);
    let chat = StoredValue::new_local(chat);
    on_cleanup(move || {
        chat.get_value().stop();
        Escalations::stop();
    });
    let now = RwSignal::new(now_ms());
    use_interval(1_000, move || now.set(now_ms()));
    let conversation = Conversation {
        chat,
        view,
        now: now.read_only(),
        me: joined.pair.me.typed().to_owned(),
        peer: joined.pair.peer.typed().to_owned(),
        server: joined.server.clone(),
        preferences,
        escalations,
    };
    let (me, peer) = (conversation.me.clone(), conversation.peer.clone());
    provide_conversation(conversation);
    // Removed from this browser in another tab: the chat has stopped.
    let (removed, colleague) = (view.removed, peer.clone());
    Effect::new(move || {
        if removed.get() {
            if !in_inbox {
                say_next_time(removed_elsewhere(&colleague));
            }
            on_leave();
        }
    });
    let settings = SettingsSheet::default();
    let leave = on_leave;

    view! {
        <section class="conversation" aria-label=format!("Conversation with {peer}")>
            <header class="top-bar">
                <h1 class="brand">"Bleep"</h1>
                <p class="who">
                    <span class="sr-only">"Signed in as "</span>
                    <strong>{me}</strong>
                    <span aria-hidden="true">" ↔ "</span>
                    <span class="sr-only">"talking to "</span>
                    <strong>{peer.clone()}</strong>
                    " "<PeerStatus />
                </p>
                <div class="top-actions">
                    <button type="button" class="secondary" on:click=move |_| leave()>
                        {if in_inbox { "All" } else { "Switch" }}
                        <span class="wide">{if in_inbox { " conversations" } else { " colleague" }}</span>
                    </button>
                    <button type="button" class="secondary" data-testid="settings"
                        aria-expanded=move || if settings.open.get() { "true" } else { "false" }
                        aria-controls="settings-panel" node_ref=settings.button
                        on:click=move |_| settings.toggle()>
                        <span aria-hidden="true">"⚙"</span><span class="wide">" Settings"</span>
                    </button>
                </div>
            </header>
            <SettingsPanel sheet=settings on_leave=on_leave />
            <TurnBanner />
            <EscalateOffer />
            <ConnectionBanner />
            <PausedNotice />
            <BrowserNotice />
            <NotificationAsk />
            <Transcript />
            <UnsentLine />
            <ColleagueNote />
            <Composer />
            <Attention />
        </section>
    }
}
