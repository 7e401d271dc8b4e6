//! "A new version of Bleep is ready": shown, on any screen, once the service
//! worker has installed a new release (web/offline.js says so with the
//! `bleep-update-ready` event). "Reload" asks the waiting release to take
//! over (`bleep-update-apply`); the page then reloads into it. The
//! conversation is saved as the page goes, as on any reload. "Later" hides
//! the prompt until the next start.

use gloo_events::EventListener;
use leptos::prelude::*;

/// Whether a new release was already waiting before the app started.
fn already_ready() -> bool {
    js_sys::Reflect::get(&window(), &"bleepUpdateReady".into()).is_ok_and(|ready| ready.is_truthy())
}

#[component]
pub fn UpdatePrompt() -> impl IntoView {
    let ready = RwSignal::new(already_ready());
    // The prompt lives as long as the page (src/app/mod.rs mounts it once).
    EventListener::new(&window(), "bleep-update-ready", move |_| ready.set(true)).forget();
    let reload = move |_| {
        if let Ok(event) = web_sys::Event::new("bleep-update-apply") {
            let _ = window().dispatch_event(&event);
        }
    };
    view! {
        {move || ready.get().then(|| view! {
            <div class="update" data-testid="update" role="status">
                <p>"A new version of Bleep is ready."</p>
                <button type="button" class="primary" data-testid="update-reload" on:click=reload>"Reload"</button>
                <button type="button" class="secondary" on:click=move |_| ready.set(false)>"Later"</button>
            </div>
        })}
    }
}
