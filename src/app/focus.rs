//! Moving the keyboard focus to an element by its id, where a piece of the
//! screen that had the focus goes away (the notification question
//! answered, the escalation offer taken) and the focus would else fall to
//! the page.

use leptos::prelude::document;
use wasm_bindgen::JsCast;

/// Focuses the element with this id, if there is one that can take it.
pub fn move_to(id: &str) {
    if let Some(element) = document()
        .get_element_by_id(id)
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = element.focus();
    }
}
