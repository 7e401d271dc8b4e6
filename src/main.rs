//! Entry point: mounts the Bleep app in the browser.

#[cfg(target_arch = "wasm32")]
fn main() {
    bleep::app::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("Bleep runs in a web browser: build it with `scripts/build` (see README.md).");
    std::process::exit(2);
}
