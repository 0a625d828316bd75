# Cross-building bindings/c for aarch64-unknown-linux-gnu with Debian's cross compiler
# (aarch64-linux-gnu-gcc) and the target's json-c and libmosquitto from multiarch
# packages (scripts/setup installs them):
#
#   cmake -S bindings/c -B target/c-precompiled-aarch64-unknown-linux-gnu/build \
#     -DTETHER_PRECOMPILED_ONLY=ON \
#     -DCMAKE_TOOLCHAIN_FILE=bindings/c/cmake/aarch64-linux-gnu.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(TETHER_CAPI_TARGET aarch64-unknown-linux-gnu CACHE STRING "the Rust target of the wasmtime C API")
# pkg-config finds the target's .pc files, not the build machine's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
