//! Entry point: mounts the Bleep app in the browser.

/// A smaller allocator than Rust's default for WebAssembly (see `heap.rs`).
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static HEAP: bleep::heap::Heap<bleep::heap::WasmPages> =
    bleep::heap::Heap::new(bleep::heap::WasmPages);

#[cfg(target_arch = "wasm32")]
fn main() {
    bleep::app::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!(
        "Bleep runs in a web browser: build it with `trunk build --release` (see README.md)."
    );
    std::process::exit(2);
}
