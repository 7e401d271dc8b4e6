//! The browser build's memory allocator: blocks of power-of-two sizes, each
//! size with a list of free blocks.
//!
//! Rust's default allocator for WebAssembly (dlmalloc) is about 7 KB of
//! code, a twentieth of Bleep's download, and most of it splits and merges
//! free blocks to save memory that this app never runs short of. Here a
//! request is rounded up to a power of two (at least 8 bytes) and served
//! from that size's free list. When the list is empty, the smallest larger
//! free block is halved down to the size (the other halves go on their
//! lists), or new pages are: at least one 64 KiB page. Freed blocks are never
//! merged. At worst a block is twice what was asked for; a Vec or String that
//! grows by doubling fits its blocks exactly.
//!
//! The logic is plain Rust over a [`Pages`] source, so `cargo test` checks it
//! natively with an arena; the browser build (`main.rs`) installs it over
//! WebAssembly's `memory.grow`.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::UnsafeCell;
use std::ptr;

/// WebAssembly's page size: the unit memory grows by.
pub const PAGE: usize = 65_536;

const PAGE_SHIFT: usize = PAGE.trailing_zeros() as usize;

/// The smallest block: room for the free list's link on 64-bit hosts too.
const MIN_SHIFT: u32 = 3;

/// Block sizes up to 2^31 bytes (more than a browser gives one page).
const CLASSES: usize = 32;

/// Where whole pages come from.
pub trait Pages {
    /// Adds `count` pages and returns the address of the first, aligned to
    /// [`PAGE`], or `None` when no more memory can be had.
    fn grow(&self, count: usize) -> Option<*mut u8>;
}

/// A size-class allocator over `P`. Not for sharing between threads: the
/// browser build has one.
pub struct Heap<P> {
    pages: P,
    /// The first free block of each size (2^class bytes), null when none;
    /// each free block starts with the address of the next.
    free: UnsafeCell<[*mut u8; CLASSES]>,
}

/// The size class (log2 of the block size) that serves `layout`, if any.
fn class_of(layout: Layout) -> Option<usize> {
    let size = layout.size().max(layout.align()).max(1 << MIN_SHIFT);
    let class = size.checked_next_power_of_two()?.trailing_zeros();
    (class < CLASSES as u32 && layout.align() <= PAGE).then_some(class as usize)
}

impl<P: Pages> Heap<P> {
    pub const fn new(pages: P) -> Heap<P> {
        Heap {
            pages,
            free: UnsafeCell::new([ptr::null_mut(); CLASSES]),
        }
    }

    /// A block of 2^class bytes, aligned to its size (or to a page, for the
    /// larger ones), or null when memory has run out.
    ///
    /// # Safety
    /// No other call on this heap may be running.
    unsafe fn take(&self, class: usize) -> *mut u8 {
        let free = &mut *self.free.get();
        // The smallest free block that is large enough...
        let mut size = class;
        while size < CLASSES && free[size].is_null() {
            size += 1;
        }
        let block = if size < CLASSES {
            let block = free[size];
            free[size] = *block.cast::<*mut u8>();
            block
        } else {
            // ...or new pages.
            size = class.max(PAGE_SHIFT);
            match self.pages.grow(1 << (size - PAGE_SHIFT)) {
                Some(pages) => pages,
                None => return ptr::null_mut(),
            }
        };
        // Halved down to the size asked for; the upper halves are free.
        while size > class {
            size -= 1;
            self.give(block.add(1 << size), size);
        }
        block
    }

    /// Puts a block of 2^class bytes back on its list.
    ///
    /// # Safety
    /// As for [`Heap::take`]; `block` came from `take(class)` and is no
    /// longer used.
    unsafe fn give(&self, block: *mut u8, class: usize) {
        let free = &mut *self.free.get();
        *block.cast::<*mut u8>() = free[class];
        free[class] = block;
    }
}

// SAFETY: blocks of one class never overlap (each is handed out once until
// it is freed) and are aligned to their size or a page, which is at least the
// alignment asked for (`class_of`). `&self` methods mutate through an
// `UnsafeCell`: sound only where one thread uses the heap, which is why
// `Heap` is `Sync` (a global allocator must be) only in the browser build,
// which has no threads.
unsafe impl<P: Pages> GlobalAlloc for Heap<P> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class_of(layout) {
            Some(class) => self.take(class),
            None => ptr::null_mut(),
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if let Some(class) = class_of(layout) {
            self.give(block, class);
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let (Some(old), Some(new)) = (class_of(layout), class_of(new_layout)) else {
            return ptr::null_mut();
        };
        if old == new {
            return block;
        }
        let moved = self.take(new);
        if !moved.is_null() {
            ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
            self.give(block, old);
        }
        moved
    }
}

/// The browser's memory: pages added with `memory.grow`.
#[cfg(target_arch = "wasm32")]
pub struct WasmPages;

#[cfg(target_arch = "wasm32")]
impl Pages for WasmPages {
    fn grow(&self, count: usize) -> Option<*mut u8> {
        let before = core::arch::wasm32::memory_grow(0, count);
        (before != usize::MAX).then(|| (before * PAGE) as *mut u8)
    }
}

// SAFETY: the wasm32 target Bleep builds for has no threads.
#[cfg(target_arch = "wasm32")]
unsafe impl Sync for Heap<WasmPages> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::cell::Cell;

    /// A fixed arena of pages, as the browser's memory grows.
    struct Arena {
        base: *mut u8,
        pages: usize,
        used: Cell<usize>,
    }

    impl Arena {
        fn new(pages: usize) -> Arena {
            let layout = Layout::from_size_align(pages * PAGE, PAGE).unwrap();
            // SAFETY: the layout has a non-zero size.
            let base = unsafe { std::alloc::alloc(layout) };
            assert!(!base.is_null());
            Arena {
                base,
                pages,
                used: Cell::new(0),
            }
        }
    }

    impl Drop for Arena {
        fn drop(&mut self) {
            let layout = Layout::from_size_align(self.pages * PAGE, PAGE).unwrap();
            // SAFETY: allocated in `new` with this layout.
            unsafe { std::alloc::dealloc(self.base, layout) }
        }
    }

    impl Pages for Arena {
        fn grow(&self, count: usize) -> Option<*mut u8> {
            let used = self.used.get();
            if used + count > self.pages {
                return None;
            }
            self.used.set(used + count);
            // SAFETY: within the arena.
            Some(unsafe { self.base.add(used * PAGE) })
        }
    }

    #[test]
    fn sizes_round_up_to_powers_of_two_of_at_least_eight_bytes() {
        let class = |size, align| class_of(Layout::from_size_align(size, align).unwrap());
        assert_eq!(class(0, 1), Some(3));
        assert_eq!(class(1, 1), Some(3));
        assert_eq!(class(8, 8), Some(3));
        assert_eq!(class(9, 1), Some(4));
        assert_eq!(class(3, 16), Some(4));
        assert_eq!(class(PAGE, 1), Some(16));
        assert_eq!(class(PAGE + 1, 1), Some(17));
        assert_eq!(class(1, 2 * PAGE), None);
        assert_eq!(class(1 << 31, 1), Some(31));
        assert_eq!(class((1 << 31) + 1, 1), None);
    }

    #[test]
    fn a_freed_block_is_handed_out_again_and_a_page_serves_many() {
        let heap = Heap::new(Arena::new(4));
        let layout = Layout::from_size_align(24, 8).unwrap();
        unsafe {
            let a = heap.alloc(layout);
            let b = heap.alloc(layout);
            assert_eq!(b as usize - a as usize, 32);
            heap.dealloc(a, layout);
            assert_eq!(heap.alloc(layout), a);
        }
        assert_eq!(heap.pages.used.get(), 1);
    }

    #[test]
    fn a_freed_large_block_is_halved_for_smaller_ones() {
        let heap = Heap::new(Arena::new(2));
        let large = Layout::from_size_align(2 * PAGE, 8).unwrap();
        let small = Layout::from_size_align(8, 8).unwrap();
        unsafe {
            let block = heap.alloc(large);
            heap.dealloc(block, large);
            // The arena has no page left: all of these come from the block.
            let first = heap.alloc(small);
            assert_eq!(first, block);
            for _ in 0..1_000 {
                let b = heap.alloc(small);
                assert!(!b.is_null() && b >= block && b < block.add(2 * PAGE));
            }
        }
    }

    #[test]
    fn running_out_of_pages_answers_null() {
        let heap = Heap::new(Arena::new(2));
        unsafe {
            assert!(!heap
                .alloc(Layout::from_size_align(2 * PAGE, 8).unwrap())
                .is_null());
            assert!(heap.alloc(Layout::from_size_align(8, 8).unwrap()).is_null());
        }
    }

    #[derive(Debug, Clone)]
    enum Step {
        Alloc { size: usize, align_shift: u32 },
        Free(usize),
        Grow(usize, usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            (
                prop_oneof![1usize..100, 1usize..5_000, 1usize..200_000],
                0u32..6
            )
                .prop_map(|(size, align_shift)| Step::Alloc { size, align_shift }),
            any::<usize>().prop_map(Step::Free),
            (any::<usize>(), 1usize..150_000).prop_map(|(i, size)| Step::Grow(i, size)),
        ]
    }

    proptest! {
        /// Live blocks are aligned as asked, never overlap, and keep their
        /// bytes through a `realloc`, whatever the order of requests.
        #[test]
        fn blocks_are_aligned_disjoint_and_keep_their_contents(
            steps in prop::collection::vec(step(), 1..120),
        ) {
            let heap = Heap::new(Arena::new(256));
            // (address, layout, fill byte)
            let mut live: Vec<(*mut u8, Layout, u8)> = Vec::new();
            let mut fill = 0u8;
            for step in steps {
                unsafe {
                    match step {
                        Step::Alloc { size, align_shift } => {
                            let layout = Layout::from_size_align(size, 1 << align_shift).unwrap();
                            let block = heap.alloc(layout);
                            prop_assert!(!block.is_null());
                            prop_assert_eq!(block as usize % layout.align(), 0);
                            fill = fill.wrapping_add(1);
                            ptr::write_bytes(block, fill, size);
                            live.push((block, layout, fill));
                        }
                        Step::Free(i) if !live.is_empty() => {
                            let (block, layout, _) = live.swap_remove(i % live.len());
                            heap.dealloc(block, layout);
                        }
                        Step::Grow(i, size) if !live.is_empty() => {
                            let i = i % live.len();
                            let (block, layout, byte) = live[i];
                            let moved = heap.realloc(block, layout, size);
                            prop_assert!(!moved.is_null());
                            let kept = layout.size().min(size);
                            prop_assert!((0..kept).all(|k| *moved.add(k) == byte));
                            ptr::write_bytes(moved, byte, size);
                            live[i] = (moved, Layout::from_size_align(size, layout.align()).unwrap(), byte);
                        }
                        _ => {}
                    }
                }
                let mut spans: Vec<(usize, usize)> =
                    live.iter().map(|(b, l, _)| (*b as usize, *b as usize + l.size())).collect();
                spans.sort_unstable();
                prop_assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0));
            }
            for (block, layout, byte) in live {
                unsafe {
                    prop_assert!((0..layout.size()).all(|k| *block.add(k) == byte));
                }
            }
        }
    }
}
