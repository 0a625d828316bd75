//! The `no_std` runtime shared by tether's wasm components: the engine
//! (`guest/`) and every retry-policy plugin built with `tether-plugin-sdk`.
//!
//! On `wasm32-wasip2` the standard library would supply a global allocator, a
//! panic handler and the canonical ABI's `cabi_realloc` export, and with them
//! import a dozen WASI interfaces. A `no_std` component supplies its own; this
//! crate is that one copy. Elsewhere it is empty, so native unit tests use std.
//!
//! A crate that nothing names is not linked: a component says
//! `use tether_wasm_rt as _;` in its wasm-only code.
#![no_std]

#[cfg(target_arch = "wasm32")]
mod wasm {
    extern crate alloc;

    #[global_allocator]
    static ALLOC: dlmalloc::GlobalDlmalloc = dlmalloc::GlobalDlmalloc;

    /// A panic is a bug, and there is nowhere to report it: trap, so the host
    /// sees the call fail.
    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
        core::arch::wasm32::unreachable()
    }

    /// The canonical ABI's allocator entry point, which the component runtime
    /// calls to place arguments and results in linear memory.
    ///
    /// # Safety
    /// Called only by the component runtime, with the canonical ABI's guarantees:
    /// `old_ptr`/`old_len`/`align` describe a block this function returned before
    /// (or `old_len` is 0), and `align` is a power of two.
    #[allow(unsafe_code)]
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn cabi_realloc(
        old_ptr: *mut u8,
        old_len: usize,
        align: usize,
        new_len: usize,
    ) -> *mut u8 {
        use alloc::alloc::{Layout, alloc, realloc};
        if new_len == 0 {
            // A zero-sized block needs no memory: any aligned, non-null address works.
            return align as *mut u8;
        }
        // SAFETY: the runtime passes a power-of-two `align` and sizes it allocated with.
        let ptr = unsafe {
            if old_len == 0 {
                alloc(Layout::from_size_align_unchecked(new_len, align))
            } else {
                realloc(
                    old_ptr,
                    Layout::from_size_align_unchecked(old_len, align),
                    new_len,
                )
            }
        };
        if ptr.is_null() {
            // Out of memory: there is no way to report it across the ABI.
            core::arch::wasm32::unreachable()
        }
        ptr
    }
}
