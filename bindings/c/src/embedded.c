/* The component libtether was built with (bindings/c/cmake/embed.cmake writes its
 * bytes at build time), so an app loads it without a path. */
#include "tether.h"

extern const unsigned char tether_internal_embedded_component[];
extern const size_t tether_internal_embedded_component_len;

const uint8_t *tether_embedded_component(size_t *len) {
    if (len) *len = tether_internal_embedded_component_len;
    return tether_internal_embedded_component;
}

tether_runtime *tether_runtime_new_embedded(tether_error **err) {
    return tether_runtime_new_from_bytes(tether_internal_embedded_component,
                                         tether_internal_embedded_component_len, err);
}
