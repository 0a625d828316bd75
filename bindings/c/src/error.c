/*
 * error.c: tether_error, the error object the constructors hand back, and the
 * string helpers that fill it.
 *
 * Apart so that struct tether_error stays opaque to the other units too: they
 * make errors with tether_internal_set_error and read them with the public API.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tether_error {
    tether_error_kind kind;
    char *field;
    char *message;
};

char *tether_internal_dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static char *dup_s(const char *s) { return s ? tether_internal_dup_n(s, strlen(s)) : NULL; }

/* Set *err (when err is not NULL) to a new error; the message is printf-style. */
void tether_internal_set_error(tether_error **err, tether_error_kind kind, const char *field,
                               const char *fmt, ...) {
    if (!err) return;
    tether_error *e = calloc(1, sizeof *e);
    if (!e) {
        *err = NULL;
        return;
    }
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    e->kind = kind;
    e->field = dup_s(field ? field : "");
    e->message = dup_s(buf);
    *err = e;
}

tether_error_kind tether_error_kind_of(const tether_error *err) {
    return err ? err->kind : TETHER_ERROR_ARGUMENT;
}
const char *tether_error_field(const tether_error *err) {
    return (err && err->field) ? err->field : "";
}
const char *tether_error_message(const tether_error *err) {
    return (err && err->message) ? err->message : "out of memory";
}
void tether_error_free(tether_error *err) {
    if (!err) return;
    free(err->field);
    free(err->message);
    free(err);
}

/* A wasmtime error as a malloc'ed C string; deletes the error. */
char *tether_internal_take_wasmtime_error(wasmtime_error_t *e) {
    wasm_name_t msg;
    wasmtime_error_message(e, &msg);
    char *s = tether_internal_dup_n(msg.data, msg.size);
    wasm_byte_vec_delete(&msg);
    wasmtime_error_delete(e);
    return s;
}
