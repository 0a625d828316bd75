# Cross-building bindings/c for armv7-unknown-linux-gnueabihf with Debian's cross compiler
# (arm-linux-gnueabihf-gcc) and the target's json-c and libmosquitto from multiarch
# packages (scripts/setup installs them):
#
#   cmake -S bindings/c -B target/c-precompiled-armv7-unknown-linux-gnueabihf/build \
#     -DTETHER_PRECOMPILED_ONLY=ON \
#     -DCMAKE_TOOLCHAIN_FILE=bindings/c/cmake/armv7-linux-gnueabihf.cmake
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(TETHER_CAPI_TARGET armv7-unknown-linux-gnueabihf CACHE STRING "the Rust target of the wasmtime C API")
# pkg-config finds the target's .pc files, not the build machine's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
