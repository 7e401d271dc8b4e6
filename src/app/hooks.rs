//! Browser callbacks tied to the life of the component that asks for them:
//! each is set up when the component is built and taken down by
//! `on_cleanup` when it goes, so nothing outlives its screen; and a page
//! listener tied to the life of the object it calls ([`listen_weak`]).

use std::rc::Rc;

use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use leptos::html::ElementType;
use leptos::prelude::*;
use send_wrapper::SendWrapper;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Calls `tick` every `period_ms` milliseconds until the component goes.
///
/// The `timer` example of Leptos wraps `setInterval` the same way, but never
/// clears the last interval: here `on_cleanup` does.
pub fn use_interval(period_ms: u32, tick: impl FnMut() + 'static) {
    let interval = SendWrapper::new(Interval::new(period_ms, tick));
    // Dropping a gloo interval clears it.
    on_cleanup(move || drop(interval.take()));
}

/// Calls `on_resize` whenever the element of `target` changes size (and
/// once when it is first laid out), until the component goes.
pub fn use_resize_observer<E>(target: NodeRef<E>, on_resize: impl FnMut() + 'static)
where
    E: ElementType + 'static,
    E::Output: JsCast + Clone + AsRef<web_sys::Element> + 'static,
{
    // A browser without it gets a notice instead (see `browser_support`).
    if !super::browser_support::can_observe_resize() {
        return;
    }
    let callback = Closure::<dyn FnMut()>::new(on_resize);
    let Ok(observer) = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) else {
        return;
    };
    target.on_load({
        let observer = observer.clone();
        move |element| observer.observe(element.as_ref())
    });
    // Both live on this thread until the component goes; the callback must
    // outlive the observer that calls it.
    let watch = SendWrapper::new((observer, callback));
    on_cleanup(move || {
        let (observer, _callback) = watch.take();
        observer.disconnect();
    });
}

/// Calls `act` with `owner` at each `event` of `target`, while the listener
/// is kept (dropping it removes it) and `owner` lives: the listener holds
/// it weakly, so it never keeps it alive.
pub fn listen_weak<T: 'static>(
    target: &web_sys::EventTarget,
    event: &'static str,
    owner: &Rc<T>,
    act: fn(&Rc<T>),
) -> EventListener {
    let owner = Rc::downgrade(owner);
    EventListener::new(target, event, move |_| {
        if let Some(owner) = owner.upgrade() {
            act(&owner);
        }
    })
}
