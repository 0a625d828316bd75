# Copies the wasmtime C API headers that the cargo build of bindings/c/capi
# configured (wasmtime/conf.h names the features built in) to DEST, so the C
# code always compiles against the headers of the library it links.
#
#   cmake -DCAPI_BUILD_DIR=target/c/cargo/release -DDEST=target/c/include -P capi-headers.cmake
#
# wasmtime-c-api-impl's build script installs them in its OUT_DIR; with one set
# of features there is one such folder, and after a feature change the newest wins.
file(GLOB confs "${CAPI_BUILD_DIR}/build/wasmtime-c-api-impl-*/out/include/wasmtime/conf.h")
set(newest "")
foreach(conf IN LISTS confs)
  if(newest STREQUAL "" OR "${conf}" IS_NEWER_THAN "${newest}")
    set(newest "${conf}")
  endif()
endforeach()
if(newest STREQUAL "")
  message(FATAL_ERROR "no wasmtime C API headers under ${CAPI_BUILD_DIR}: did the cargo build of bindings/c/capi run?")
endif()
get_filename_component(include_dir "${newest}" DIRECTORY)
get_filename_component(include_dir "${include_dir}" DIRECTORY)
file(COPY "${include_dir}/" DESTINATION "${DEST}")
