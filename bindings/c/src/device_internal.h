/*
 * device_internal.h: what device.c and transport_mosquitto.c share (not
 * installed). Only built with TETHER_WITH_MOSQUITTO.
 */
#ifndef TETHER_DEVICE_INTERNAL_H
#define TETHER_DEVICE_INTERNAL_H

#include "tether_device.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Split `host:port`, `[v6]:port` or a bare host into host (NUL-terminated, at
 * most host_cap bytes) and port. false when no hub can answer at `address`. */
/* error.c (declared here too, so these units need no wasmtime headers). */
void tether_internal_set_error(tether_error **err, tether_error_kind kind, const char *field,
                               const char *fmt, ...);

bool tether_internal_split_address(const char *address, uint16_t default_port, char *host,
                                   size_t host_cap, uint16_t *port);

#endif
