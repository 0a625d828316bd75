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

#ifdef TETHER_HAS_OUTBOX
/* outbox.c: the persistent outbox in SQLite. */
typedef struct tether_outbox tether_outbox;

/* A message an earlier run left, waiting for its outcome. */
typedef struct {
    int64_t key;
    char *topic;
    uint8_t *payload;
    size_t len;
} tether_outbox_record;

/* Open (or make) the store at `path` and give its records in key order (free them
 * with tether_outbox_records_free). NULL and *err (TETHER_ERROR_IO, field
 * "outbox_path") when it is damaged, in use or cannot be read. */
tether_outbox *tether_outbox_open(const char *path, tether_outbox_record **records, size_t *n,
                                  tether_error **err);
void tether_outbox_records_free(tether_outbox_record *records, size_t n);
/* Write and commit a message: its durable key. false with a sentence in `why`. */
bool tether_outbox_store(tether_outbox *o, const char *topic, const void *payload, size_t len,
                         int64_t *key, char *why, size_t cap);
/* Remove and commit a record. false with a sentence in `why` (the record stays). */
bool tether_outbox_remove(tether_outbox *o, int64_t key, char *why, size_t cap);
const char *tether_outbox_path(const tether_outbox *o);
/* Close (the log is checkpointed into the file). NULL is fine. */
void tether_outbox_close(tether_outbox *o);
#endif

#endif
