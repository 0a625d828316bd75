//! On wasm, take `memcmp` and friends from wasi-libc's static archive (pure
//! functions, no WASI imports), as the engine does: a `no_std` build has no libc.
fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-lib=c");
    }
}
