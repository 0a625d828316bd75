//! On wasm, take `memcmp` and friends from wasi-libc's static archive (pure
//! functions, no WASI imports): a `no_std` build has no libc, and compiler-builtins
//! does not provide them on this target. The link flag reaches every component
//! that depends on this crate.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-lib=c");
    }
}
