//! Copies the wasmtime C API headers, as `wasmtime-c-api-impl` configured them for
//! the features enabled here (`wasmtime/conf.h`), to `$TETHER_CAPI_INCLUDE_DIR`
//! when that is set: the C build (`host/c/CMakeLists.txt`) sets it, so the headers
//! always match the library it links.

use std::env;
use std::error::Error;
use std::fs;
use std::path::Path;

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo:rerun-if-env-changed=TETHER_CAPI_INCLUDE_DIR");
    let Some(dest) = env::var_os("TETHER_CAPI_INCLUDE_DIR") else {
        return Ok(());
    };
    let src = env::var("DEP_WASMTIME_C_API_INCLUDE")?;
    let dest = Path::new(&dest);
    copy_dir(Path::new(&src), dest)?;
    // Run again if someone deletes the copy.
    println!(
        "cargo:rerun-if-changed={}",
        dest.join("wasmtime").join("conf.h").display()
    );
    Ok(())
}

fn copy_dir(src: &Path, dest: &Path) -> Result<(), Box<dyn Error>> {
    fs::create_dir_all(dest)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let to = dest.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &to)?;
        } else {
            fs::copy(entry.path(), &to)?;
        }
    }
    Ok(())
}
