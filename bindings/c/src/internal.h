/*
 * internal.h: what the units of the C host share, and nothing else. Not
 * installed, not part of tether.h; the ABI is tether.h alone.
 *
 * How it is put together:
 *   - tether_runtime (runtime.c): the engine, the compiled component, a linker
 *     holding this host's imports, and the export indices of every function it
 *     calls (resolved once). A private store (decisions.c) hosts classify,
 *     the retry schedules and the identity functions (identity.c).
 *   - tether_connection (connection.c): its own store and instance, and the
 *     `connection` resource in it.
 *   - Every store's data is a `host`: the application's callbacks, the clock
 *     and entropy, and a queue. The import functions (imports.c) only append
 *     copies of their arguments to that queue; after the component call
 *     returns, the queue is delivered to the callbacks in order (imports never
 *     re-enter the component, and the application never runs while the
 *     component does).
 *   - Arguments are built as wasmtime_component_val_t trees in caller-owned
 *     memory (the C API copies them); results are read and deleted (values.c).
 *   - names.c holds the name tables; error.c the error object.
 *
 * The host decides nothing: there is no retry, timing or classification logic
 * here, only conversions between C structs and the component's values.
 *
 * Functions shared between units are named tether_internal_*: libtether.a is
 * linked into applications, so its non-static symbols must not collide with
 * theirs. The small value readers and builders are static inline instead.
 */
#ifndef TETHER_INTERNAL_H
#define TETHER_INTERNAL_H

#include "tether.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <wasmtime.h>

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef wasmtime_component_val_t val;

/* ------------------------------------------------------------------------- */
/* names.c                                                                    */
/* ------------------------------------------------------------------------- */

/* The name tables, one per WIT enum (or variant's cases) the host converts. */
typedef enum {
    NAMES_NETWORK_ERRORS,
    NAMES_APPLICATION_ERRORS,
    NAMES_LEVELS,
    NAMES_VERDICTS,
    NAMES_STATUSES,
    NAMES_REASONS,
    NAMES_GIVE_UP_REASONS,
    NAMES_MESSAGE_FAILURES,
    NAMES_CURVES,
    NAMES_PLUGIN_FAULT_REASONS,
    NAMES_ACTIONS,
    NAMES_INPUT_ERRORS,
    NAMES_PUBLISH_ERRORS,
    NAMES_SUBSCRIBE_ERRORS,
    NAMES_AUTH_METHODS,
    NAMES_COUNT,
} tether_internal_names;

/* The index of `name` (len bytes, not NUL-terminated) in table t, or -1. */
int tether_internal_name_index(tether_internal_names t, const char *name, size_t len);
/* Entry i of table t, or NULL when i is out of range. */
const char *tether_internal_name_at(tether_internal_names t, unsigned i);

/* ------------------------------------------------------------------------- */
/* error.c                                                                    */
/* ------------------------------------------------------------------------- */

/* A malloc'ed, NUL-terminated copy of n bytes of s (NULL when out of memory). */
char *tether_internal_dup_n(const char *s, size_t n);
/* Set *err (when err is not NULL) to a new error; the message is printf-style. */
void tether_internal_set_error(tether_error **err, tether_error_kind kind, const char *field,
                               const char *fmt, ...);
/* A wasmtime error as a malloc'ed C string; deletes the error. */
char *tether_internal_take_wasmtime_error(wasmtime_error_t *e);

/* ------------------------------------------------------------------------- */
/* imports.c: the queue of import calls, and the data of every store          */
/* ------------------------------------------------------------------------- */

typedef enum {
    EV_OPEN,
    EV_SEND,
    EV_CLOSE,
    EV_REGISTER,
    EV_POLL,
    EV_RENEW,
    EV_STATUS,
    EV_DECIDED,
    EV_OUTCOME,
    EV_WAKE_AT,
    EV_PLUGIN_FAULT,
    EV_SUBSCRIBE,
} event_kind;

typedef struct {
    event_kind kind;
    uint64_t link, message, deadline;
    char *s1, *s2, *s3; /* owned strings: hub/topic/operation-id, device-id, credential */
    uint8_t *bytes;     /* owned payload */
    size_t len;
    tether_status_change status;
    tether_decision_event decision; /* decision.hub points at s1 */
    tether_outcome outcome;
    tether_plugin_fault fault; /* fault.plugin points at s1, fault.detail at s2 */
    char **strs;               /* owned list of n_strs strings: subscribe's filters */
    size_t n_strs;
} event;

/* The data of every store. */
typedef struct host {
    tether_callbacks cb;
    void *user;
    bool deliver; /* false for the decisions store: its events are dropped */
    event *q;
    size_t q_len, q_cap, q_head;
    bool oom; /* an event could not be queued: the call fails */
} host;

/* Frees the strings and payload an event owns (not the event itself). */
void tether_internal_event_free(event *e);
/* A store's finalizer: frees the host, its queue and the events still in it. */
void tether_internal_host_free(void *p);
/* Adds every function the component imports to the linker. */
wasmtime_error_t *tether_internal_define_imports(wasmtime_component_linker_t *linker);

/* ------------------------------------------------------------------------- */
/* values.c: lifting (reading component values)                               */
/* ------------------------------------------------------------------------- */

/* The small readers are inline here: every unit that reads a result uses them. */

static inline bool name_is(const wasm_name_t *n, const char *s) {
    size_t len = strlen(s);
    return n->size == len && memcmp(n->data, s, len) == 0;
}

/* The index of enum value v in table t; -1 when v is no enum or not in it. */
static inline int enum_of(const val *v, tether_internal_names t) {
    if (v->kind != WASMTIME_COMPONENT_ENUM) return -1;
    return tether_internal_name_index(t, v->of.enumeration.data, v->of.enumeration.size);
}

/* The field `name` of record v, or NULL. */
static inline const val *record_field(const val *v, const char *name) {
    if (v->kind != WASMTIME_COMPONENT_RECORD) return NULL;
    for (size_t i = 0; i < v->of.record.size; i++) {
        if (name_is(&v->of.record.data[i].name, name)) return &v->of.record.data[i].val;
    }
    return NULL;
}

static inline bool get_u64(const val *v, uint64_t *out) {
    if (!v || v->kind != WASMTIME_COMPONENT_U64) return false;
    *out = v->of.u64;
    return true;
}

static inline bool get_u32(const val *v, uint32_t *out) {
    if (!v || v->kind != WASMTIME_COMPONENT_U32) return false;
    *out = v->of.u32;
    return true;
}

/* A malloc'ed copy of string v, or NULL (not a string, or out of memory). */
static inline char *get_string(const val *v) {
    if (!v || v->kind != WASMTIME_COMPONENT_STRING) return NULL;
    return tether_internal_dup_n(v->of.string.data, v->of.string.size);
}

/* option<string>: true with *out (NULL for none) when the shape is right. */
bool tether_internal_get_opt_string(const val *v, char **out);
bool tether_internal_read_classification(const val *v, tether_classification *out);
bool tether_internal_read_status_change(const val *v, tether_status_change *out);
/* decision-event -> e (its hub string owned by e->s1). */
bool tether_internal_read_decision_event(const val *v, event *e);

/* ------------------------------------------------------------------------- */
/* values.c: lowering (building arguments)                                    */
/* ------------------------------------------------------------------------- */

/* The C API aborts on strings that are not UTF-8: every string is checked. */
bool tether_internal_valid_str(const char *s);

/*
 * Arguments live in caller-owned scratch memory: the C API reads them and
 * copies what it needs, so names point at string literals and at the
 * caller's strings (checked for UTF-8 first). The builders are inline here,
 * like the readers; the conversions of tether.h's structs are in values.c.
 */
typedef struct {
    val vals[48];
    wasmtime_component_valrecord_entry_t entries[24];
    size_t nv, ne;
} arena;

/* A zeroed value from the arena, or NULL when it is full. */
static inline val *a_val(arena *a) {
    if (a->nv >= COUNT(a->vals)) return NULL;
    val *v = &a->vals[a->nv++];
    memset(v, 0, sizeof *v);
    return v;
}

static inline wasm_name_t lit(const char *s) {
    wasm_name_t n = {strlen(s), (wasm_byte_t *)s};
    return n;
}

static inline void set_u64(val *v, uint64_t x) {
    v->kind = WASMTIME_COMPONENT_U64;
    v->of.u64 = x;
}

static inline void set_str(val *v, const char *s) {
    v->kind = WASMTIME_COMPONENT_STRING;
    v->of.string = lit(s);
}

static inline void set_enum(val *v, const char *name) {
    v->kind = WASMTIME_COMPONENT_ENUM;
    v->of.enumeration = lit(name);
}

static inline bool set_variant(arena *a, val *v, const char *disc, val **payload) {
    v->kind = WASMTIME_COMPONENT_VARIANT;
    v->of.variant.discriminant = lit(disc);
    v->of.variant.val = NULL;
    if (payload) {
        *payload = a_val(a);
        if (!*payload) return false;
        v->of.variant.val = *payload;
    }
    return true;
}

/* option<T>: *some is NULL for none. */
static inline bool set_option(arena *a, val *v, bool present, val **some) {
    v->kind = WASMTIME_COMPONENT_OPTION;
    v->of.option = NULL;
    *some = NULL;
    if (present) {
        *some = a_val(a);
        if (!*some) return false;
        v->of.option = *some;
    }
    return true;
}

static inline wasmtime_component_valrecord_entry_t *set_record(arena *a, val *v, size_t n) {
    if (a->ne + n > COUNT(a->entries)) return NULL;
    wasmtime_component_valrecord_entry_t *e = &a->entries[a->ne];
    a->ne += n;
    memset(e, 0, n * sizeof *e);
    v->kind = WASMTIME_COMPONENT_RECORD;
    v->of.record.size = n;
    v->of.record.data = e;
    return e;
}

static inline bool set_opt_u64(arena *a, val *v, bool present, uint64_t x) {
    val *some;
    if (!set_option(a, v, present, &some)) return false;
    if (some) set_u64(some, x);
    return true;
}

/* These return a message on invalid input, NULL when fine. */
const char *tether_internal_build_failure(arena *a, val *v, const tether_failure *f);
const char *tether_internal_build_credential(arena *a, val *v, const tether_credential *c);

/* ------------------------------------------------------------------------- */
/* runtime.c                                                                  */
/* ------------------------------------------------------------------------- */

/* Every export this host calls. */
enum {
    F_CONN_CREATE,
    F_CONN_START,
    F_CONN_ON_OPENED,
    F_CONN_ON_FAILED,
    F_CONN_ON_CLOSED,
    F_CONN_ON_ACKED,
    F_CONN_ON_REFUSED,
    F_CONN_ON_PROVISIONED,
    F_CONN_ON_CREDENTIAL,
    F_CONN_ON_WAKE,
    F_CONN_PUBLISH,
    F_CONN_SUBSCRIBE,
    F_CONN_SUBSCRIPTIONS,
    F_CONN_STOP,
    F_CONN_CURRENT_STATUS,
    F_CONN_NEXT_WAKE,
    F_CONN_PENDING,
    F_CONN_COUNT, /* connection functions end here */
    F_CLASSIFY = F_CONN_COUNT,
    F_TABLE_VERSION,
    F_VALIDATE,
    F_SCHED_CREATE,
    F_SCHED_NEXT,
    F_SCHED_ATTEMPTS,
    F_SCHED_CONNECTED,
    F_SCHED_DROPPED,
    F_SCHED_RESET,
    F_ID_PARSE,
    F_ID_STRING_TOKEN,
    F_ID_SAS_TOKEN,
    F_ID_RESOURCE_URI,
    F_ID_DPS_TOKEN,
    F_ID_DERIVE_KEY,
    F_ID_MQTT_SETTINGS,
    F_ID_TELEMETRY_TOPIC,
    F_COUNT,
};

/* One store with one instance of the component. */
typedef struct store_inst {
    wasmtime_store_t *store;
    wasmtime_context_t *ctx;
    wasmtime_component_instance_t instance;
    wasmtime_component_func_t funcs[F_COUNT];
    host *h;
    bool in_call;
    bool dead; /* trapped: refuse every further call */
    char error[512];
} store_inst;

struct tether_runtime {
    wasm_engine_t *engine;
    wasmtime_component_t *component;
    wasmtime_component_linker_t *linker;
    wasmtime_component_export_index_t *exports[F_COUNT];
    store_inst *decisions; /* created on first use */
    tether_callbacks decisions_clock; /* only now and random_u64 are used */
    void *decisions_user;
    char error[512];
};

/* A fresh store and instance whose data is `h` (taken: freed with the store),
 * with the exports [first, last) resolved. NULL with errbuf set on failure. */
store_inst *tether_internal_store_inst_new(tether_runtime *rt, host *h, int first, int last,
                                           char *errbuf, size_t errlen);
void tether_internal_store_inst_free(store_inst *si);
/* One call into the component. On an engine error the store is marked dead. */
tether_rc tether_internal_call(store_inst *si, int fn, const val *args, size_t nargs,
                               val *results, size_t nresults);
/* A result of the wrong shape: deletes the results, marks the store dead. */
tether_rc tether_internal_engine_shape_error(store_inst *si, int fn, val *results, size_t n);
/* Records "invalid argument: what" as the store's last error. */
tether_rc tether_internal_arg_error(store_inst *si, const char *what);

/* ------------------------------------------------------------------------- */
/* decisions.c                                                                */
/* ------------------------------------------------------------------------- */

/* The runtime's private decisions store, created on first use (NULL with
 * rt->error set when that fails). Its import calls are dropped. */
store_inst *tether_internal_decisions(tether_runtime *rt);
/* A result<T, config-error>: TETHER_OK (res kept, its ok payload in
 * res->of.result.val) or TETHER_CONFIG_INVALID with *err naming the field (res
 * deleted); a wrong shape is an engine error (res deleted). */
tether_rc tether_internal_config_result(store_inst *si, int fn, val *res, tether_error **err);

#endif
