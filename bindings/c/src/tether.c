/*
 * tether.c: the C host of tether on the wasmtime C API (component model).
 *
 * How it is put together:
 *   - tether_runtime: the engine, the compiled component, a linker holding this
 *     host's imports, and the export indices of every function it calls
 *     (resolved once). A private store ("decisions store") hosts classify and
 *     the retry schedules.
 *   - tether_connection: its own store and instance, and the `connection`
 *     resource in it.
 *   - Every store's data is a `host`: the application's callbacks, the clock
 *     and entropy, and a queue. The import functions only append copies of
 *     their arguments to that queue; after the component call returns, the
 *     queue is delivered to the callbacks in order (imports never re-enter the
 *     component, and the application never runs while the component does).
 *   - Arguments are built as wasmtime_component_val_t trees in caller-owned
 *     memory (the C API copies them); results are read and deleted.
 *
 * The host decides nothing: there is no retry, timing or classification logic
 * here, only conversions between C structs and the component's values.
 */
#include "tether.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <wasmtime.h>

/* ------------------------------------------------------------------------- */
/* names                                                                      */
/* ------------------------------------------------------------------------- */

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char *const NETWORK_ERRORS[] = {"dns",     "refused", "reset", "unreachable",
                                             "timeout", "tls",     "closed"};
static const char *const APPLICATION_ERRORS[] = {
    "unauthorized",  "credential-expired", "forbidden", "device-not-found",
    "device-disabled", "quota-exceeded",   "throttled", "bad-endpoint"};
static const char *const LEVELS[] = {"network", "protocol", "application"};
static const char *const VERDICTS[] = {"retry", "retry-throttled", "renew-credential",
                                       "reprovision", "fatal"};
static const char *const STATUSES[] = {"connected", "disconnected-retrying", "disconnected",
                                       "disabled"};
static const char *const REASONS[] = {
    "connection-ok",      "credential-renewal", "expired-credential", "bad-credential",
    "device-disabled",    "device-not-found",   "retry-expired",      "no-network",
    "communication-error", "no-ping-response",  "quota-exceeded",     "throttled",
    "server-busy",        "server-moved",       "provisioning",       "protocol-error",
    "bad-endpoint",       "session-taken-over", "client-close"};
static const char *const GIVE_UP_REASONS[] = {"no-retry", "max-attempts", "retry-timeout",
                                              "unrecoverable", "plugin"};
static const char *const MESSAGE_FAILURES[] = {"operation-timeout", "no-retry",
                                               "queue-full",        "unrecoverable",
                                               "retry-expired",     "client-close"};
static const char *const CURVES[] = {"normal", "throttled", "server-hint", "plugin"};
static const char *const PLUGIN_FAULT_REASONS[] = {"trap",        "out-of-fuel",
                                                   "deadline",    "memory-limit",
                                                   "unavailable", "invalid-answer"};
static const char *const ACTIONS[] = {"connect",   "backoff",           "renew-credential",
                                      "provision", "poll-provisioning", "give-up"};
static const char *const INPUT_ERRORS[] = {"stale-link", "unexpected", "unknown-message",
                                           "stopped"};
static const char *const PUBLISH_ERRORS[] = {"queue-full", "payload-too-large", "empty-topic",
                                             "stopped"};

#define NAME_FN(fn, type, table)                                                               \
    const char *fn(type v) {                                                                   \
        return ((unsigned)v < COUNT(table)) ? table[(unsigned)v] : "";                         \
    }
NAME_FN(tether_network_error_name, tether_network_error, NETWORK_ERRORS)
NAME_FN(tether_application_error_name, tether_application_error, APPLICATION_ERRORS)
NAME_FN(tether_level_name, tether_level, LEVELS)
NAME_FN(tether_verdict_name, tether_verdict, VERDICTS)
NAME_FN(tether_status_name, tether_status, STATUSES)
NAME_FN(tether_reason_name, tether_reason, REASONS)
NAME_FN(tether_give_up_reason_name, tether_give_up_reason, GIVE_UP_REASONS)
NAME_FN(tether_message_failure_name, tether_message_failure, MESSAGE_FAILURES)
NAME_FN(tether_curve_name, tether_curve, CURVES)
NAME_FN(tether_plugin_fault_reason_name, tether_plugin_fault_reason, PLUGIN_FAULT_REASONS)
NAME_FN(tether_action_name, tether_action_kind, ACTIONS)

static int index_of(const char *const *table, size_t n, const char *name, size_t len) {
    for (size_t i = 0; i < n; i++) {
        if (strlen(table[i]) == len && memcmp(table[i], name, len) == 0) return (int)i;
    }
    return -1;
}

int tether_network_error_from_name(const char *name) {
    return name ? index_of(NETWORK_ERRORS, COUNT(NETWORK_ERRORS), name, strlen(name)) : -1;
}

int tether_application_error_from_name(const char *name) {
    return name ? index_of(APPLICATION_ERRORS, COUNT(APPLICATION_ERRORS), name, strlen(name))
                : -1;
}

const char *tether_rc_name(tether_rc rc) {
    switch (rc) {
    case TETHER_OK: return "ok";
    case TETHER_INPUT_STALE_LINK:
    case TETHER_INPUT_UNEXPECTED:
    case TETHER_INPUT_UNKNOWN_MESSAGE:
    case TETHER_INPUT_STOPPED: return INPUT_ERRORS[rc - TETHER_INPUT_STALE_LINK];
    case TETHER_PUBLISH_QUEUE_FULL:
    case TETHER_PUBLISH_PAYLOAD_TOO_LARGE:
    case TETHER_PUBLISH_EMPTY_TOPIC:
    case TETHER_PUBLISH_STOPPED: return PUBLISH_ERRORS[rc - TETHER_PUBLISH_QUEUE_FULL];
    case TETHER_CONFIG_INVALID: return "invalid configuration";
    case TETHER_ERR_ARGUMENT: return "invalid argument";
    case TETHER_ERR_ENGINE: return "engine error";
    case TETHER_ERR_REENTRANT: return "re-entrant call";
    }
    return "unknown return code";
}

/* ------------------------------------------------------------------------- */
/* errors                                                                     */
/* ------------------------------------------------------------------------- */

struct tether_error {
    tether_error_kind kind;
    char *field;
    char *message;
};

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static char *dup_s(const char *s) { return s ? dup_n(s, strlen(s)) : NULL; }

/* Set *err (when err is not NULL) to a new error; the message is printf-style. */
static void set_error(tether_error **err, tether_error_kind kind, const char *field,
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
static char *take_wasmtime_error(wasmtime_error_t *e) {
    wasm_name_t msg;
    wasmtime_error_message(e, &msg);
    char *s = dup_n(msg.data, msg.size);
    wasm_byte_vec_delete(&msg);
    wasmtime_error_delete(e);
    return s;
}

/* ------------------------------------------------------------------------- */
/* UTF-8: the C API aborts on strings that are not UTF-8, so check first.      */
/* ------------------------------------------------------------------------- */

static bool valid_utf8(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

static bool valid_str(const char *s) {
    return s && valid_utf8((const unsigned char *)s, strlen(s));
}

/* ------------------------------------------------------------------------- */
/* clock and entropy                                                          */
/* ------------------------------------------------------------------------- */

uint64_t tether_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t os_random_u64(void) {
    uint64_t v = 0;
    size_t got = 0;
    while (got < sizeof v) {
        ssize_t n = getrandom((char *)&v + got, sizeof v - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            /* No OS entropy: fall back to the clock; the seed only spreads a fleet. */
            return tether_now_ns() ^ 0x9E3779B97F4A7C15ull;
        }
        got += (size_t)n;
    }
    return v;
}

/* ------------------------------------------------------------------------- */
/* the queue of import calls                                                  */
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
} event;

static void event_free(event *e) {
    free(e->s1);
    free(e->s2);
    free(e->s3);
    free(e->bytes);
}

/* The data of every store. */
typedef struct host {
    tether_callbacks cb;
    void *user;
    bool deliver; /* false for the decisions store: its events are dropped */
    event *q;
    size_t q_len, q_cap, q_head;
    bool oom; /* an event could not be queued: the call fails */
} host;

static bool queue_push(host *h, const event *e) {
    if (h->q_len == h->q_cap) {
        size_t cap = h->q_cap ? h->q_cap * 2 : 16;
        event *q = realloc(h->q, cap * sizeof *q);
        if (!q) return false;
        h->q = q;
        h->q_cap = cap;
    }
    h->q[h->q_len++] = *e;
    return true;
}

static void queue_clear(host *h) {
    for (size_t i = h->q_head; i < h->q_len; i++) event_free(&h->q[i]);
    h->q_len = h->q_head = 0;
}

/* ------------------------------------------------------------------------- */
/* reading component values                                                   */
/* ------------------------------------------------------------------------- */

typedef wasmtime_component_val_t val;

static bool name_is(const wasm_name_t *n, const char *s) {
    size_t len = strlen(s);
    return n->size == len && memcmp(n->data, s, len) == 0;
}

static int enum_index(const val *v, const char *const *table, size_t n) {
    if (v->kind != WASMTIME_COMPONENT_ENUM) return -1;
    return index_of(table, n, v->of.enumeration.data, v->of.enumeration.size);
}

static const val *record_field(const val *v, const char *name) {
    if (v->kind != WASMTIME_COMPONENT_RECORD) return NULL;
    for (size_t i = 0; i < v->of.record.size; i++) {
        if (name_is(&v->of.record.data[i].name, name)) return &v->of.record.data[i].val;
    }
    return NULL;
}

static bool get_u64(const val *v, uint64_t *out) {
    if (!v || v->kind != WASMTIME_COMPONENT_U64) return false;
    *out = v->of.u64;
    return true;
}

static bool get_u32(const val *v, uint32_t *out) {
    if (!v || v->kind != WASMTIME_COMPONENT_U32) return false;
    *out = v->of.u32;
    return true;
}

static char *get_string(const val *v) {
    if (!v || v->kind != WASMTIME_COMPONENT_STRING) return NULL;
    return dup_n(v->of.string.data, v->of.string.size);
}

/* option<string>: true with *out (NULL for none) when the shape is right. */
static bool get_opt_string(const val *v, char **out) {
    *out = NULL;
    if (!v || v->kind != WASMTIME_COMPONENT_OPTION) return false;
    if (!v->of.option) return true;
    *out = get_string(v->of.option);
    return *out != NULL;
}

#define ENUM_OF(v, table) enum_index((v), (table), COUNT(table))

static bool read_classification(const val *v, tether_classification *out) {
    const val *fl = record_field(v, "level"), *fv = record_field(v, "verdict"),
              *fr = record_field(v, "reason"), *frule = record_field(v, "rule");
    if (!fl || !fv || !fr || !frule || frule->kind != WASMTIME_COMPONENT_STRING) return false;
    int level = ENUM_OF(fl, LEVELS), verdict = ENUM_OF(fv, VERDICTS),
        reason = ENUM_OF(fr, REASONS);
    if (level < 0 || verdict < 0 || reason < 0) return false;
    out->level = (tether_level)level;
    out->verdict = (tether_verdict)verdict;
    out->reason = (tether_reason)reason;
    size_t n = frule->of.string.size;
    if (n >= TETHER_RULE_MAX) n = TETHER_RULE_MAX - 1;
    memcpy(out->rule, frule->of.string.data, n);
    out->rule[n] = '\0';
    return true;
}

static bool read_status_change(const val *v, tether_status_change *out) {
    int st = -1, rs = -1;
    const val *fs = record_field(v, "status"), *fr = record_field(v, "reason");
    if (!get_u64(record_field(v, "at"), &out->at_ns) || !fs || !fr) return false;
    st = ENUM_OF(fs, STATUSES);
    rs = ENUM_OF(fr, REASONS);
    if (st < 0 || rs < 0) return false;
    out->status = (tether_status)st;
    out->reason = (tether_reason)rs;
    return true;
}

/* decision-event -> e (its hub string owned by e->s1). */
static bool read_decision_event(const val *v, event *e) {
    tether_decision_event *d = &e->decision;
    memset(d, 0, sizeof *d);
    if (!get_u64(record_field(v, "at"), &d->at_ns)) return false;
    const val *cause = record_field(v, "cause");
    if (!cause || cause->kind != WASMTIME_COMPONENT_OPTION) return false;
    if (cause->of.option) {
        if (!read_classification(cause->of.option, &d->cause)) return false;
        d->has_cause = true;
    }
    const val *action = record_field(v, "action");
    if (!action || action->kind != WASMTIME_COMPONENT_VARIANT) return false;
    const wasm_name_t *disc = &action->of.variant.discriminant;
    const val *payload = action->of.variant.val;
    int kind = index_of(ACTIONS, COUNT(ACTIONS), disc->data, disc->size);
    if (kind < 0) return false;
    d->action = (tether_action_kind)kind;
    switch (d->action) {
    case TETHER_ACTION_CONNECT: {
        if (!payload || !get_u64(record_field(payload, "link"), &d->link) ||
            !get_u32(record_field(payload, "attempt"), &d->attempt))
            return false;
        e->s1 = get_string(record_field(payload, "hub"));
        if (!e->s1) return false;
        d->hub = e->s1;
        return true;
    }
    case TETHER_ACTION_BACKOFF: {
        const val *curve = payload ? record_field(payload, "curve") : NULL;
        const val *then = payload ? record_field(payload, "then-provision") : NULL;
        if (!payload || !get_u64(record_field(payload, "delay-ms"), &d->delay_ms) ||
            !get_u32(record_field(payload, "attempt"), &d->attempt) || !curve || !then ||
            then->kind != WASMTIME_COMPONENT_BOOL)
            return false;
        int c = ENUM_OF(curve, CURVES);
        if (c < 0) return false;
        d->curve = (tether_curve)c;
        d->then_provision = then->of.boolean;
        return true;
    }
    case TETHER_ACTION_RENEW_CREDENTIAL:
        if (!payload || payload->kind != WASMTIME_COMPONENT_BOOL) return false;
        d->routine = payload->of.boolean;
        return true;
    case TETHER_ACTION_PROVISION: return true;
    case TETHER_ACTION_POLL_PROVISIONING: return payload && get_u64(payload, &d->poll_ms);
    case TETHER_ACTION_GIVE_UP: {
        int g = payload ? ENUM_OF(payload, GIVE_UP_REASONS) : -1;
        if (g < 0) return false;
        d->give_up = (tether_give_up_reason)g;
        return true;
    }
    }
    return false;
}

/* ------------------------------------------------------------------------- */
/* the imports                                                                */
/* ------------------------------------------------------------------------- */

static wasmtime_error_t *bad_import(const char *what) {
    char buf[256];
    snprintf(buf, sizeof buf, "tether C host: the component called %s with unexpected values",
             what);
    return wasmtime_error_new(buf);
}

static wasmtime_error_t *push_or_fail(host *h, event *e) {
    if (!h->deliver) {
        event_free(e);
        return NULL;
    }
    if (!queue_push(h, e)) {
        event_free(e);
        h->oom = true;
        return wasmtime_error_new("tether C host: out of memory queueing an import call");
    }
    return NULL;
}

#define IMPORT_ARGS                                                                            \
    void *env, wasmtime_context_t *ctx, const wasmtime_component_func_type_t *ty, val *args,  \
        size_t nargs, val *results, size_t nresults
#define HOST ((host *)wasmtime_context_get_data(ctx))
#define UNUSED_IMPORT_ARGS                                                                     \
    (void)env;                                                                                 \
    (void)ty;                                                                                  \
    (void)results;                                                                             \
    (void)nresults

static wasmtime_error_t *imp_open(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    event e = {.kind = EV_OPEN};
    if (nargs != 4 || !get_u64(&args[0], &e.link) || !(e.s1 = get_string(&args[1])) ||
        !get_opt_string(&args[2], &e.s2) || !get_opt_string(&args[3], &e.s3)) {
        event_free(&e);
        return bad_import("transport.open");
    }
    return push_or_fail(HOST, &e);
}

static wasmtime_error_t *imp_send(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    event e = {.kind = EV_SEND};
    if (nargs != 4 || !get_u64(&args[0], &e.link) || !get_u64(&args[1], &e.message) ||
        !(e.s1 = get_string(&args[2])) || args[3].kind != WASMTIME_COMPONENT_LIST) {
        event_free(&e);
        return bad_import("transport.send");
    }
    const wasmtime_component_vallist_t *list = &args[3].of.list;
    e.len = list->size;
    e.bytes = malloc(e.len ? e.len : 1);
    if (!e.bytes) {
        event_free(&e);
        return wasmtime_error_new("tether C host: out of memory");
    }
    for (size_t i = 0; i < e.len; i++) {
        if (list->data[i].kind != WASMTIME_COMPONENT_U8) {
            event_free(&e);
            return bad_import("transport.send");
        }
        e.bytes[i] = list->data[i].of.u8;
    }
    return push_or_fail(HOST, &e);
}

static wasmtime_error_t *imp_close(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    event e = {.kind = EV_CLOSE};
    if (nargs != 1 || !get_u64(&args[0], &e.link)) return bad_import("transport.close");
    return push_or_fail(HOST, &e);
}

static wasmtime_error_t *imp_register(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    (void)args;
    (void)nargs;
    event e = {.kind = EV_REGISTER};
    return push_or_fail(HOST, &e);
}

static wasmtime_error_t *imp_poll(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    event e = {.kind = EV_POLL};
    if (nargs != 1 || !(e.s1 = get_string(&args[0]))) return bad_import("provisioning.poll");
    return push_or_fail(HOST, &e);
}

static wasmtime_error_t *imp_renew(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    (void)args;
    (void)nargs;
    event e = {.kind = EV_RENEW};
    return push_or_fail(HOST, &e);
}

static wasmtime_error_t *imp_status(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    event e = {.kind = EV_STATUS};
    if (nargs != 1 || !read_status_change(&args[0], &e.status))
        return bad_import("events.status-changed");
    return push_or_fail(HOST, &e);
}

static wasmtime_error_t *imp_decided(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    event e = {.kind = EV_DECIDED};
    if (nargs != 1 || !read_decision_event(&args[0], &e)) {
        event_free(&e);
        return bad_import("events.decided");
    }
    return push_or_fail(HOST, &e);
}

static wasmtime_error_t *imp_outcome(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    event e = {.kind = EV_OUTCOME};
    if (nargs != 2 || !get_u64(&args[0], &e.message) ||
        args[1].kind != WASMTIME_COMPONENT_VARIANT)
        return bad_import("events.message-outcome");
    const wasmtime_component_valvariant_t *o = &args[1].of.variant;
    if (name_is(&o->discriminant, "delivered")) {
        e.outcome.delivered = true;
    } else if (name_is(&o->discriminant, "failed") && o->val) {
        int f = ENUM_OF(o->val, MESSAGE_FAILURES);
        if (f < 0) return bad_import("events.message-outcome");
        e.outcome.failure = (tether_message_failure)f;
    } else {
        return bad_import("events.message-outcome");
    }
    return push_or_fail(HOST, &e);
}

static wasmtime_error_t *imp_wake_at(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    event e = {.kind = EV_WAKE_AT};
    if (nargs != 1 || !get_u64(&args[0], &e.deadline)) return bad_import("events.wake-at");
    return push_or_fail(HOST, &e);
}

static wasmtime_error_t *imp_plugin_fault(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    event e = {.kind = EV_PLUGIN_FAULT};
    const val *f = nargs == 1 ? &args[0] : NULL;
    const val *used = f ? record_field(f, "used") : NULL;
    const val *quarantined = f ? record_field(f, "quarantined") : NULL;
    int reason = f && record_field(f, "reason") ? ENUM_OF(record_field(f, "reason"),
                                                          PLUGIN_FAULT_REASONS)
                                               : -1;
    if (!f || reason < 0 || !get_u64(record_field(f, "at"), &e.fault.at_ns) ||
        !(e.s1 = get_string(record_field(f, "plugin"))) ||
        !(e.s2 = get_string(record_field(f, "detail"))) ||
        !get_u32(record_field(f, "consecutive"), &e.fault.consecutive) || !quarantined ||
        quarantined->kind != WASMTIME_COMPONENT_BOOL || !used ||
        used->kind != WASMTIME_COMPONENT_VARIANT || !used->of.variant.val) {
        event_free(&e);
        return bad_import("events.plugin-fault");
    }
    e.fault.reason = (tether_plugin_fault_reason)reason;
    e.fault.quarantined = quarantined->of.boolean;
    const val *p = used->of.variant.val;
    if (name_is(&used->of.variant.discriminant, "retry-after") &&
        get_u64(p, &e.fault.used.delay_ms)) {
        e.fault.used.is_give_up = false;
    } else if (name_is(&used->of.variant.discriminant, "give-up") &&
               ENUM_OF(p, GIVE_UP_REASONS) >= 0) {
        e.fault.used.is_give_up = true;
        e.fault.used.give_up = (tether_give_up_reason)ENUM_OF(p, GIVE_UP_REASONS);
    } else {
        event_free(&e);
        return bad_import("events.plugin-fault");
    }
    return push_or_fail(HOST, &e);
}

/* policy-plugins.decide: defined with the value builders below. */
static wasmtime_error_t *imp_plugin_decide(IMPORT_ARGS);

static wasmtime_error_t *imp_now(IMPORT_ARGS) {
    (void)env;
    (void)ty;
    (void)args;
    (void)nargs;
    if (nresults != 1) return bad_import("monotonic-clock.now");
    host *h = HOST;
    results[0].kind = WASMTIME_COMPONENT_U64;
    results[0].of.u64 = h->cb.now ? h->cb.now(h->user) : tether_now_ns();
    return NULL;
}

static wasmtime_error_t *imp_random(IMPORT_ARGS) {
    (void)env;
    (void)ty;
    (void)args;
    (void)nargs;
    if (nresults != 1) return bad_import("random.get-random-u64");
    host *h = HOST;
    results[0].kind = WASMTIME_COMPONENT_U64;
    results[0].of.u64 = h->cb.random_u64 ? h->cb.random_u64(h->user) : os_random_u64();
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* the runtime                                                                */
/* ------------------------------------------------------------------------- */

#define IFACE_CONNECTION "tether:reconnect/connection@0.1.0"
#define IFACE_DECISIONS "tether:reconnect/decisions@0.1.0"

/* Every export this host calls. */
enum {
    F_CONN_CREATE,
    F_CONN_START,
    F_CONN_ON_OPENED,
    F_CONN_ON_FAILED,
    F_CONN_ON_CLOSED,
    F_CONN_ON_ACKED,
    F_CONN_ON_PROVISIONED,
    F_CONN_ON_CREDENTIAL,
    F_CONN_ON_WAKE,
    F_CONN_PUBLISH,
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
    F_COUNT,
};

static const struct {
    const char *iface, *name;
} EXPORTS[F_COUNT] = {
    [F_CONN_CREATE] = {IFACE_CONNECTION, "[static]connection.create"},
    [F_CONN_START] = {IFACE_CONNECTION, "[method]connection.start"},
    [F_CONN_ON_OPENED] = {IFACE_CONNECTION, "[method]connection.on-opened"},
    [F_CONN_ON_FAILED] = {IFACE_CONNECTION, "[method]connection.on-failed"},
    [F_CONN_ON_CLOSED] = {IFACE_CONNECTION, "[method]connection.on-closed"},
    [F_CONN_ON_ACKED] = {IFACE_CONNECTION, "[method]connection.on-acked"},
    [F_CONN_ON_PROVISIONED] = {IFACE_CONNECTION, "[method]connection.on-provisioned"},
    [F_CONN_ON_CREDENTIAL] = {IFACE_CONNECTION, "[method]connection.on-credential"},
    [F_CONN_ON_WAKE] = {IFACE_CONNECTION, "[method]connection.on-wake"},
    [F_CONN_PUBLISH] = {IFACE_CONNECTION, "[method]connection.publish"},
    [F_CONN_STOP] = {IFACE_CONNECTION, "[method]connection.stop"},
    [F_CONN_CURRENT_STATUS] = {IFACE_CONNECTION, "[method]connection.current-status"},
    [F_CONN_NEXT_WAKE] = {IFACE_CONNECTION, "[method]connection.next-wake"},
    [F_CONN_PENDING] = {IFACE_CONNECTION, "[method]connection.pending-messages"},
    [F_CLASSIFY] = {IFACE_DECISIONS, "classify"},
    [F_TABLE_VERSION] = {IFACE_DECISIONS, "table-version"},
    [F_VALIDATE] = {IFACE_DECISIONS, "validate-config"},
    [F_SCHED_CREATE] = {IFACE_DECISIONS, "[static]retry-schedule.create"},
    [F_SCHED_NEXT] = {IFACE_DECISIONS, "[method]retry-schedule.next"},
    [F_SCHED_ATTEMPTS] = {IFACE_DECISIONS, "[method]retry-schedule.attempts"},
    [F_SCHED_CONNECTED] = {IFACE_DECISIONS, "[method]retry-schedule.connected"},
    [F_SCHED_DROPPED] = {IFACE_DECISIONS, "[method]retry-schedule.dropped"},
    [F_SCHED_RESET] = {IFACE_DECISIONS, "[method]retry-schedule.reset"},
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

static void host_free(void *p) {
    host *h = p;
    if (!h) return;
    queue_clear(h);
    free(h->q);
    free(h);
}

typedef wasmtime_error_t *(*import_fn)(IMPORT_ARGS);

static wasmtime_error_t *define_instance(wasmtime_component_linker_instance_t *root,
                                         const char *iface, const char *const *names,
                                         const import_fn *fns, size_t n) {
    wasmtime_component_linker_instance_t *inst = NULL;
    wasmtime_error_t *e =
        wasmtime_component_linker_instance_add_instance(root, iface, strlen(iface), &inst);
    if (e) return e;
    for (size_t i = 0; i < n && !e; i++) {
        e = wasmtime_component_linker_instance_add_func(inst, names[i], strlen(names[i]), fns[i],
                                                       NULL, NULL);
    }
    wasmtime_component_linker_instance_delete(inst);
    return e;
}

static wasmtime_error_t *define_imports(wasmtime_component_linker_t *linker) {
    wasmtime_component_linker_instance_t *root = wasmtime_component_linker_root(linker);
    wasmtime_error_t *e = NULL;
    {
        static const char *const names[] = {"open", "send", "close"};
        static const import_fn fns[] = {imp_open, imp_send, imp_close};
        e = define_instance(root, "tether:reconnect/transport@0.1.0", names, fns, 3);
    }
    if (!e) {
        static const char *const names[] = {"register", "poll"};
        static const import_fn fns[] = {imp_register, imp_poll};
        e = define_instance(root, "tether:reconnect/provisioning@0.1.0", names, fns, 2);
    }
    if (!e) {
        static const char *const names[] = {"renew"};
        static const import_fn fns[] = {imp_renew};
        e = define_instance(root, "tether:reconnect/credentials@0.1.0", names, fns, 1);
    }
    if (!e) {
        static const char *const names[] = {"status-changed", "decided", "message-outcome",
                                            "wake-at", "plugin-fault"};
        static const import_fn fns[] = {imp_status, imp_decided, imp_outcome, imp_wake_at,
                                        imp_plugin_fault};
        e = define_instance(root, "tether:reconnect/events@0.1.0", names, fns, 5);
    }
    if (!e) {
        static const char *const names[] = {"decide"};
        static const import_fn fns[] = {imp_plugin_decide};
        e = define_instance(root, "tether:reconnect/policy-plugins@0.1.0", names, fns, 1);
    }
    if (!e) {
        /* `types` holds only types, but the component imports the interface. */
        e = define_instance(root, "tether:reconnect/types@0.1.0", NULL, NULL, 0);
    }
    if (!e) {
        static const char *const names[] = {"now"};
        static const import_fn fns[] = {imp_now};
        e = define_instance(root, "wasi:clocks/monotonic-clock@0.2.12", names, fns, 1);
    }
    if (!e) {
        static const char *const names[] = {"get-random-u64"};
        static const import_fn fns[] = {imp_random};
        e = define_instance(root, "wasi:random/random@0.2.12", names, fns, 1);
    }
    wasmtime_component_linker_instance_delete(root);
    return e;
}

tether_runtime *tether_runtime_new_from_bytes(const uint8_t *bytes, size_t len,
                                              tether_error **err) {
    if (err) *err = NULL;
    if (!bytes) {
        set_error(err, TETHER_ERROR_ARGUMENT, NULL, "no component bytes given");
        return NULL;
    }
    tether_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        set_error(err, TETHER_ERROR_ENGINE, NULL, "out of memory");
        return NULL;
    }
    wasm_config_t *config = wasm_config_new();
    if (!config) goto oom;
    wasmtime_config_wasm_component_model_set(config, true);
    rt->engine = wasm_engine_new_with_config(config); /* takes the config */
    if (!rt->engine) goto oom;
    wasmtime_error_t *e = wasmtime_component_new(rt->engine, bytes, len, &rt->component);
    if (e) {
        char *m = take_wasmtime_error(e);
        set_error(err, TETHER_ERROR_ENGINE, NULL, "compiling the tether component: %s",
                  m ? m : "?");
        free(m);
        tether_runtime_free(rt);
        return NULL;
    }
    rt->linker = wasmtime_component_linker_new(rt->engine);
    if (!rt->linker) goto oom;
    e = define_imports(rt->linker);
    if (e) {
        char *m = take_wasmtime_error(e);
        set_error(err, TETHER_ERROR_ENGINE, NULL, "defining the host imports: %s", m ? m : "?");
        free(m);
        tether_runtime_free(rt);
        return NULL;
    }
    wasmtime_component_export_index_t *conn_iface = wasmtime_component_get_export_index(
        rt->component, NULL, IFACE_CONNECTION, strlen(IFACE_CONNECTION));
    wasmtime_component_export_index_t *dec_iface = wasmtime_component_get_export_index(
        rt->component, NULL, IFACE_DECISIONS, strlen(IFACE_DECISIONS));
    const char *missing = NULL;
    if (!conn_iface) missing = IFACE_CONNECTION;
    if (!dec_iface) missing = IFACE_DECISIONS;
    for (int i = 0; i < F_COUNT && !missing; i++) {
        wasmtime_component_export_index_t *iface =
            strcmp(EXPORTS[i].iface, IFACE_CONNECTION) == 0 ? conn_iface : dec_iface;
        rt->exports[i] = wasmtime_component_get_export_index(rt->component, iface,
                                                            EXPORTS[i].name,
                                                            strlen(EXPORTS[i].name));
        if (!rt->exports[i]) missing = EXPORTS[i].name;
    }
    if (conn_iface) wasmtime_component_export_index_delete(conn_iface);
    if (dec_iface) wasmtime_component_export_index_delete(dec_iface);
    if (missing) {
        set_error(err, TETHER_ERROR_ENGINE, NULL,
                  "the component does not export `%s`: it is not a tether component of this "
                  "contract version",
                  missing);
        tether_runtime_free(rt);
        return NULL;
    }
    return rt;
oom:
    set_error(err, TETHER_ERROR_ENGINE, NULL, "out of memory creating the engine");
    tether_runtime_free(rt);
    return NULL;
}

tether_runtime *tether_runtime_new(const char *wasm_path, tether_error **err) {
    if (err) *err = NULL;
    if (!wasm_path) {
        set_error(err, TETHER_ERROR_ARGUMENT, NULL, "no component path given");
        return NULL;
    }
    FILE *f = fopen(wasm_path, "rb");
    if (!f) {
        set_error(err, TETHER_ERROR_IO, NULL, "cannot open %s: %s", wasm_path, strerror(errno));
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 18;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                set_error(err, TETHER_ERROR_IO, NULL, "out of memory reading %s", wasm_path);
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    bool failed = ferror(f);
    int read_errno = errno;
    fclose(f);
    if (failed) {
        free(buf);
        set_error(err, TETHER_ERROR_IO, NULL, "cannot read %s: %s", wasm_path,
                  strerror(read_errno));
        return NULL;
    }
    tether_error *inner = NULL;
    tether_runtime *rt = tether_runtime_new_from_bytes(buf, len, &inner);
    free(buf);
    if (!rt) {
        set_error(err, inner ? inner->kind : TETHER_ERROR_ENGINE, NULL, "loading %s: %s",
                  wasm_path, tether_error_message(inner));
        tether_error_free(inner);
    }
    return rt;
}

static void store_inst_free(store_inst *si);

void tether_runtime_free(tether_runtime *rt) {
    if (!rt) return;
    store_inst_free(rt->decisions);
    for (int i = 0; i < F_COUNT; i++) {
        if (rt->exports[i]) wasmtime_component_export_index_delete(rt->exports[i]);
    }
    if (rt->linker) wasmtime_component_linker_delete(rt->linker);
    if (rt->component) wasmtime_component_delete(rt->component);
    if (rt->engine) wasm_engine_delete(rt->engine);
    free(rt);
}

const char *tether_runtime_last_error(const tether_runtime *rt) {
    if (!rt) return "no runtime";
    return rt->decisions && rt->decisions->error[0] ? rt->decisions->error : rt->error;
}

/* A fresh store and instance whose data is `h` (taken: freed with the store). */
static store_inst *store_inst_new(tether_runtime *rt, host *h, int first, int last,
                                  char *errbuf, size_t errlen) {
    store_inst *si = calloc(1, sizeof *si);
    if (!si) {
        host_free(h);
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    si->h = h;
    si->store = wasmtime_store_new(rt->engine, h, host_free);
    if (!si->store) {
        host_free(h);
        free(si);
        snprintf(errbuf, errlen, "out of memory creating a store");
        return NULL;
    }
    si->ctx = wasmtime_store_context(si->store);
    si->in_call = true; /* instantiation runs the component's start code */
    wasmtime_error_t *e =
        wasmtime_component_linker_instantiate(rt->linker, si->ctx, rt->component, &si->instance);
    si->in_call = false;
    if (e) {
        char *m = take_wasmtime_error(e);
        snprintf(errbuf, errlen, "instantiating the tether component: %s", m ? m : "?");
        free(m);
        store_inst_free(si);
        return NULL;
    }
    for (int i = first; i < last; i++) {
        if (!wasmtime_component_instance_get_func(&si->instance, si->ctx, rt->exports[i],
                                                  &si->funcs[i])) {
            snprintf(errbuf, errlen, "the instance lacks the export `%s`", EXPORTS[i].name);
            store_inst_free(si);
            return NULL;
        }
    }
    return si;
}

static void store_inst_free(store_inst *si) {
    if (!si) return;
    if (si->store) wasmtime_store_delete(si->store); /* frees si->h */
    free(si);
}

/* One call into the component. On an engine error the store is marked dead. */
static tether_rc call(store_inst *si, int fn, const val *args, size_t nargs, val *results,
                      size_t nresults) {
    if (si->dead) return TETHER_ERR_ENGINE;
    if (si->in_call) {
        snprintf(si->error, sizeof si->error,
                 "called from inside the now or random_u64 callback while the component runs");
        return TETHER_ERR_REENTRANT;
    }
    for (size_t i = 0; i < nresults; i++) {
        results[i].kind = WASMTIME_COMPONENT_BOOL;
        results[i].of.boolean = false;
    }
    si->in_call = true;
    wasmtime_error_t *e =
        wasmtime_component_func_call(&si->funcs[fn], si->ctx, args, nargs, results, nresults);
    si->in_call = false;
    if (e) {
        char *m = take_wasmtime_error(e);
        snprintf(si->error, sizeof si->error, "%s failed: %s", EXPORTS[fn].name,
                 m ? m : "out of memory");
        free(m);
        si->dead = true;
        return TETHER_ERR_ENGINE;
    }
    return TETHER_OK;
}

static tether_rc engine_shape_error(store_inst *si, int fn, val *results, size_t n) {
    snprintf(si->error, sizeof si->error, "%s returned a value of an unexpected shape",
             EXPORTS[fn].name);
    for (size_t i = 0; i < n; i++) wasmtime_component_val_delete(&results[i]);
    si->dead = true;
    return TETHER_ERR_ENGINE;
}

/* ------------------------------------------------------------------------- */
/* building arguments                                                         */
/* ------------------------------------------------------------------------- */

/*
 * Arguments live in caller-owned scratch memory: the C API reads them and
 * copies what it needs, so names point at string literals and at the
 * caller's strings (checked for UTF-8 first).
 */
typedef struct {
    val vals[48];
    wasmtime_component_valrecord_entry_t entries[24];
    size_t nv, ne;
} arena;

static val *a_val(arena *a) {
    if (a->nv >= COUNT(a->vals)) return NULL;
    val *v = &a->vals[a->nv++];
    memset(v, 0, sizeof *v);
    return v;
}

static wasm_name_t lit(const char *s) {
    wasm_name_t n = {strlen(s), (wasm_byte_t *)s};
    return n;
}

static void set_u64(val *v, uint64_t x) {
    v->kind = WASMTIME_COMPONENT_U64;
    v->of.u64 = x;
}

static void set_str(val *v, const char *s) {
    v->kind = WASMTIME_COMPONENT_STRING;
    v->of.string = lit(s);
}

static void set_enum(val *v, const char *name) {
    v->kind = WASMTIME_COMPONENT_ENUM;
    v->of.enumeration = lit(name);
}

static bool set_variant(arena *a, val *v, const char *disc, val **payload) {
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
static bool set_option(arena *a, val *v, bool present, val **some) {
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

static wasmtime_component_valrecord_entry_t *set_record(arena *a, val *v, size_t n) {
    if (a->ne + n > COUNT(a->entries)) return NULL;
    wasmtime_component_valrecord_entry_t *e = &a->entries[a->ne];
    a->ne += n;
    memset(e, 0, n * sizeof *e);
    v->kind = WASMTIME_COMPONENT_RECORD;
    v->of.record.size = n;
    v->of.record.data = e;
    return e;
}

static bool set_opt_u64(arena *a, val *v, bool present, uint64_t x) {
    val *some;
    if (!set_option(a, v, present, &some)) return false;
    if (some) set_u64(some, x);
    return true;
}

static bool set_opt_str(arena *a, val *v, const char *s) {
    val *some;
    if (!set_option(a, v, s != NULL, &some)) return false;
    if (some) set_str(some, s);
    return true;
}

/* This host runs no plugins: every decision is `failed(unavailable)`, and the
 * engine falls back on the built-in policy. The answer is built from literals,
 * then deep-copied into memory the engine owns and frees. */
static wasmtime_error_t *imp_plugin_decide(IMPORT_ARGS) {
    (void)env;
    (void)ctx;
    (void)ty;
    (void)args;
    (void)nargs;
    if (nresults != 1) return bad_import("policy-plugins.decide");
    arena a;
    a.nv = a.ne = 0;
    val answer;
    memset(&answer, 0, sizeof answer);
    val *error = NULL;
    if (!set_variant(&a, &answer, "failed", &error)) return bad_import("policy-plugins.decide");
    wasmtime_component_valrecord_entry_t *e = set_record(&a, error, 2);
    if (!e) return bad_import("policy-plugins.decide");
    e[0].name = lit("reason");
    set_enum(&e[0].val, "unavailable");
    e[1].name = lit("detail");
    set_str(&e[1].val, "the C host does not run plugins");
    wasmtime_component_val_clone(&answer, &results[0]);
    return NULL;
}

/* failure -> record failure. Returns a message on invalid input, NULL when fine. */
static const char *build_failure(arena *a, val *v, const tether_failure *f) {
    if (!f) return "no failure given";
    wasmtime_component_valrecord_entry_t *e = set_record(a, v, 3);
    if (!e) return "failure too deeply nested";
    e[0].name = lit("kind");
    e[1].name = lit("retry-after-ms");
    e[2].name = lit("server-reference");
    val *kind = &e[0].val, *payload = NULL, *proto = NULL;
    switch (f->kind) {
    case TETHER_FAILURE_NETWORK:
        if ((unsigned)f->network >= COUNT(NETWORK_ERRORS)) return "network error out of range";
        if (!set_variant(a, kind, "network", &payload)) return "out of scratch space";
        set_enum(payload, NETWORK_ERRORS[f->network]);
        break;
    case TETHER_FAILURE_APPLICATION:
        if ((unsigned)f->application >= COUNT(APPLICATION_ERRORS))
            return "application error out of range";
        if (!set_variant(a, kind, "application", &payload)) return "out of scratch space";
        set_enum(payload, APPLICATION_ERRORS[f->application]);
        break;
    case TETHER_FAILURE_MQTT_CONNACK:
    case TETHER_FAILURE_MQTT_REASON:
    case TETHER_FAILURE_AMQP:
    case TETHER_FAILURE_HTTP:
    case TETHER_FAILURE_KEEP_ALIVE_LOST:
    case TETHER_FAILURE_SESSION_EXPIRED:
    case TETHER_FAILURE_LINK_DETACHED:
        if (!set_variant(a, kind, "protocol", &proto)) return "out of scratch space";
        switch (f->kind) {
        case TETHER_FAILURE_MQTT_CONNACK:
        case TETHER_FAILURE_MQTT_REASON:
            if (!set_variant(a, proto,
                             f->kind == TETHER_FAILURE_MQTT_CONNACK ? "mqtt-connack"
                                                                    : "mqtt-reason",
                             &payload))
                return "out of scratch space";
            payload->kind = WASMTIME_COMPONENT_U8;
            payload->of.u8 = f->code;
            break;
        case TETHER_FAILURE_AMQP:
            if (!valid_str(f->amqp)) return "the AMQP condition is missing or not UTF-8";
            if (!set_variant(a, proto, "amqp", &payload)) return "out of scratch space";
            set_str(payload, f->amqp);
            break;
        case TETHER_FAILURE_HTTP: {
            if (!set_variant(a, proto, "http", &payload)) return "out of scratch space";
            wasmtime_component_valrecord_entry_t *h = set_record(a, payload, 2);
            if (!h) return "out of scratch space";
            h[0].name = lit("status");
            h[0].val.kind = WASMTIME_COMPONENT_U16;
            h[0].val.of.u16 = f->http_status;
            h[1].name = lit("hub-code");
            val *some;
            if (!set_option(a, &h[1].val, f->has_hub_code, &some)) return "out of scratch space";
            if (some) {
                some->kind = WASMTIME_COMPONENT_U32;
                some->of.u32 = f->hub_code;
            }
            break;
        }
        case TETHER_FAILURE_KEEP_ALIVE_LOST:
            set_variant(a, proto, "keep-alive-lost", NULL);
            break;
        case TETHER_FAILURE_SESSION_EXPIRED:
            set_variant(a, proto, "session-expired", NULL);
            break;
        default:
            set_variant(a, proto, "link-detached", NULL);
            break;
        }
        break;
    default: return "failure kind out of range";
    }
    if (!set_opt_u64(a, &e[1].val, f->has_retry_after, f->retry_after_ms))
        return "out of scratch space";
    if (f->server_reference && !valid_str(f->server_reference))
        return "the server reference is not UTF-8";
    if (!set_opt_str(a, &e[2].val, f->server_reference)) return "out of scratch space";
    return NULL;
}

static const char *build_credential(arena *a, val *v, const tether_credential *c) {
    if (!valid_str(c->secret)) return "the credential secret is missing or not UTF-8";
    wasmtime_component_valrecord_entry_t *e = set_record(a, v, 2);
    if (!e) return "out of scratch space";
    e[0].name = lit("secret");
    set_str(&e[0].val, c->secret);
    e[1].name = lit("lifetime-ms");
    if (!set_opt_u64(a, &e[1].val, c->has_lifetime, c->lifetime_ms))
        return "out of scratch space";
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* connections                                                                */
/* ------------------------------------------------------------------------- */

struct tether_connection {
    tether_runtime *rt;
    store_inst *si;
    wasmtime_component_resource_any_t *handle;
    bool dispatching;
    bool free_requested;
};

static void connection_destroy(tether_connection *c) {
    if (c->si) {
        if (c->handle) {
            if (!c->si->dead) {
                wasmtime_error_t *e = wasmtime_component_resource_any_drop(c->si->ctx, c->handle);
                if (e) wasmtime_error_delete(e);
            }
            wasmtime_component_resource_any_delete(c->handle);
        }
        store_inst_free(c->si);
    }
    free(c);
}

/* Deliver the queued import calls, in order. A nested input made from a
 * callback only appends: the outermost delivery loop delivers everything. */
static void dispatch(tether_connection *c) {
    if (c->dispatching) return;
    c->dispatching = true;
    host *h = c->si->h;
    while (h->q_head < h->q_len) {
        event e = h->q[h->q_head++];
        const tether_callbacks *cb = &h->cb;
        void *u = h->user;
        if (!c->free_requested) {
            switch (e.kind) {
            case EV_OPEN:
                if (cb->open) cb->open(u, e.link, e.s1, e.s2, e.s3);
                break;
            case EV_SEND:
                if (cb->send) cb->send(u, e.link, e.message, e.s1, e.bytes, e.len);
                break;
            case EV_CLOSE:
                if (cb->close) cb->close(u, e.link);
                break;
            case EV_REGISTER:
                if (cb->provision_register) cb->provision_register(u);
                break;
            case EV_POLL:
                if (cb->provision_poll) cb->provision_poll(u, e.s1);
                break;
            case EV_RENEW:
                if (cb->credential_renew) cb->credential_renew(u);
                break;
            case EV_STATUS:
                if (cb->status) cb->status(u, &e.status);
                break;
            case EV_DECIDED:
                if (cb->decided) cb->decided(u, &e.decision);
                break;
            case EV_OUTCOME:
                if (cb->outcome) cb->outcome(u, e.message, &e.outcome);
                break;
            case EV_WAKE_AT:
                if (cb->wake_at) cb->wake_at(u, e.deadline);
                break;
            case EV_PLUGIN_FAULT:
                e.fault.plugin = e.s1;
                e.fault.detail = e.s2;
                if (cb->plugin_fault) cb->plugin_fault(u, &e.fault);
                break;
            }
        }
        event_free(&e);
    }
    h->q_len = h->q_head = 0;
    c->dispatching = false;
}

/* After an input: deliver the callbacks, honour a free asked for meanwhile. */
static tether_rc finish(tether_connection *c, tether_rc rc) {
    /* A re-entrant call (from `now` or `random_u64`) was refused; the component is
     * still running, and its calls are delivered when it returns. */
    if (c->si->in_call) return rc;
    if (c->si->h->oom && rc == TETHER_OK) rc = TETHER_ERR_ENGINE;
    c->si->h->oom = false;
    dispatch(c);
    if (c->free_requested && !c->dispatching) connection_destroy(c);
    return rc;
}

static tether_rc arg_error(store_inst *si, const char *what) {
    snprintf(si->error, sizeof si->error, "invalid argument: %s", what);
    return TETHER_ERR_ARGUMENT;
}

tether_connection *tether_connection_new(tether_runtime *rt, const char *config_json,
                                         const tether_callbacks *callbacks, void *user,
                                         tether_error **err) {
    if (err) *err = NULL;
    if (!rt) {
        set_error(err, TETHER_ERROR_ARGUMENT, NULL, "no runtime given");
        return NULL;
    }
    if (!config_json || !valid_str(config_json)) {
        set_error(err, TETHER_ERROR_ARGUMENT, NULL,
                  config_json ? "the configuration is not UTF-8" : "no configuration given");
        return NULL;
    }
    host *h = calloc(1, sizeof *h);
    tether_connection *c = calloc(1, sizeof *c);
    if (!h || !c) {
        free(h);
        free(c);
        set_error(err, TETHER_ERROR_ENGINE, NULL, "out of memory");
        return NULL;
    }
    if (callbacks) h->cb = *callbacks;
    h->user = user;
    h->deliver = true;
    c->rt = rt;
    char msg[512];
    c->si = store_inst_new(rt, h, 0, F_CONN_COUNT, msg, sizeof msg);
    if (!c->si) {
        free(c);
        set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", msg);
        return NULL;
    }
    val arg, res;
    set_str(&arg, config_json);
    tether_rc rc = call(c->si, F_CONN_CREATE, &arg, 1, &res, 1);
    if (rc != TETHER_OK) {
        set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", c->si->error);
        connection_destroy(c);
        return NULL;
    }
    if (res.kind != WASMTIME_COMPONENT_RESULT || !res.of.result.val) {
        engine_shape_error(c->si, F_CONN_CREATE, &res, 1);
        set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", c->si->error);
        connection_destroy(c);
        return NULL;
    }
    const val *inner = res.of.result.val;
    if (!res.of.result.is_ok) {
        char *field = get_string(record_field(inner, "field"));
        char *message = get_string(record_field(inner, "message"));
        set_error(err, TETHER_ERROR_CONFIG, field ? field : "", "%s", message ? message : "");
        free(field);
        free(message);
        wasmtime_component_val_delete(&res);
        connection_destroy(c);
        return NULL;
    }
    if (inner->kind != WASMTIME_COMPONENT_RESOURCE) {
        engine_shape_error(c->si, F_CONN_CREATE, &res, 1);
        set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", c->si->error);
        connection_destroy(c);
        return NULL;
    }
    c->handle = wasmtime_component_resource_any_clone(inner->of.resource);
    wasmtime_component_val_delete(&res);
    /* `create` makes no transport calls; anything it queued is delivered now. */
    dispatch(c);
    return c;
}

void tether_connection_free(tether_connection *c) {
    if (!c) return;
    if (c->dispatching) {
        c->free_requested = true; /* freed when the delivery loop ends */
        return;
    }
    connection_destroy(c);
}

const char *tether_connection_last_error(const tether_connection *c) {
    return c ? c->si->error : "no connection";
}

static bool usable(tether_connection *c) { return c && !c->free_requested; }

/* The connection resource as a borrow argument. */
static void set_self(val *v, tether_connection *c) {
    v->kind = WASMTIME_COMPONENT_RESOURCE;
    v->of.resource = c->handle;
}

/* result<_, input-error> -> tether_rc; deletes the result. */
static tether_rc input_result(store_inst *si, int fn, val *res) {
    if (res->kind != WASMTIME_COMPONENT_RESULT) return engine_shape_error(si, fn, res, 1);
    if (res->of.result.is_ok) {
        wasmtime_component_val_delete(res);
        return TETHER_OK;
    }
    int idx = res->of.result.val ? ENUM_OF(res->of.result.val, INPUT_ERRORS) : -1;
    if (idx < 0) return engine_shape_error(si, fn, res, 1);
    wasmtime_component_val_delete(res);
    return (tether_rc)(TETHER_INPUT_STALE_LINK + idx);
}

/* Call input `fn` with self plus `extra` arguments, expecting result<_, input-error>. */
static tether_rc input(tether_connection *c, int fn, const val *extra, size_t nextra) {
    val args[3], res;
    set_self(&args[0], c);
    for (size_t i = 0; i < nextra; i++) args[1 + i] = extra[i];
    tether_rc rc = call(c->si, fn, args, 1 + nextra, &res, 1);
    if (rc == TETHER_OK) rc = input_result(c->si, fn, &res);
    return finish(c, rc);
}

tether_rc tether_start(tether_connection *c) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    return input(c, F_CONN_START, NULL, 0);
}

tether_rc tether_on_opened(tether_connection *c, uint64_t link) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    val l;
    set_u64(&l, link);
    return input(c, F_CONN_ON_OPENED, &l, 1);
}

static tether_rc link_failure(tether_connection *c, int fn, uint64_t link,
                              const tether_failure *f) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    arena a = {0};
    val extra[2];
    set_u64(&extra[0], link);
    const char *bad = build_failure(&a, &extra[1], f);
    if (bad) return arg_error(c->si, bad);
    return input(c, fn, extra, 2);
}

tether_rc tether_on_failed(tether_connection *c, uint64_t link, const tether_failure *f) {
    return link_failure(c, F_CONN_ON_FAILED, link, f);
}

tether_rc tether_on_closed(tether_connection *c, uint64_t link, const tether_failure *f) {
    return link_failure(c, F_CONN_ON_CLOSED, link, f);
}

tether_rc tether_on_acked(tether_connection *c, uint64_t message) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    val m;
    set_u64(&m, message);
    return input(c, F_CONN_ON_ACKED, &m, 1);
}

tether_rc tether_on_provisioned(tether_connection *c, const tether_provisioning_result *r) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    if (!r) return arg_error(c->si, "no provisioning result given");
    arena a = {0};
    val v, *payload = NULL;
    const char *bad = NULL;
    switch (r->kind) {
    case TETHER_PROVISIONING_ASSIGNED: {
        if (!valid_str(r->hub) || !valid_str(r->device_id))
            return arg_error(c->si, "the assignment's hub or device id is missing or not UTF-8");
        wasmtime_component_valrecord_entry_t *e = NULL;
        if (!set_variant(&a, &v, "assigned", &payload) || !(e = set_record(&a, payload, 3)))
            return arg_error(c->si, "out of scratch space");
        e[0].name = lit("hub");
        set_str(&e[0].val, r->hub);
        e[1].name = lit("device-id");
        set_str(&e[1].val, r->device_id);
        e[2].name = lit("credential");
        val *some;
        if (!set_option(&a, &e[2].val, r->has_credential, &some))
            return arg_error(c->si, "out of scratch space");
        if (some) bad = build_credential(&a, some, &r->credential);
        break;
    }
    case TETHER_PROVISIONING_PENDING: {
        if (!valid_str(r->operation_id))
            return arg_error(c->si, "the operation id is missing or not UTF-8");
        wasmtime_component_valrecord_entry_t *e = NULL;
        if (!set_variant(&a, &v, "pending", &payload) || !(e = set_record(&a, payload, 2)))
            return arg_error(c->si, "out of scratch space");
        e[0].name = lit("operation-id");
        set_str(&e[0].val, r->operation_id);
        e[1].name = lit("retry-after-ms");
        if (!set_opt_u64(&a, &e[1].val, r->has_retry_after, r->retry_after_ms))
            return arg_error(c->si, "out of scratch space");
        break;
    }
    case TETHER_PROVISIONING_FAILED:
        if (!set_variant(&a, &v, "failed", &payload))
            return arg_error(c->si, "out of scratch space");
        bad = build_failure(&a, payload, &r->failure);
        break;
    default: return arg_error(c->si, "provisioning result kind out of range");
    }
    if (bad) return arg_error(c->si, bad);
    return input(c, F_CONN_ON_PROVISIONED, &v, 1);
}

tether_rc tether_on_credential(tether_connection *c, const tether_credential *credential,
                               const tether_failure *failure) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    if ((credential == NULL) == (failure == NULL))
        return arg_error(c->si, "give exactly one of a credential and a failure");
    arena a = {0};
    val v, *inner = a_val(&a);
    v.kind = WASMTIME_COMPONENT_RESULT;
    v.of.result.is_ok = credential != NULL;
    v.of.result.val = inner;
    const char *bad = credential ? build_credential(&a, inner, credential)
                                 : build_failure(&a, inner, failure);
    if (bad) return arg_error(c->si, bad);
    return input(c, F_CONN_ON_CREDENTIAL, &v, 1);
}

tether_rc tether_on_wake(tether_connection *c) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    val self;
    set_self(&self, c);
    return finish(c, call(c->si, F_CONN_ON_WAKE, &self, 1, NULL, 0));
}

tether_rc tether_stop(tether_connection *c) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    val self;
    set_self(&self, c);
    return finish(c, call(c->si, F_CONN_STOP, &self, 1, NULL, 0));
}

tether_rc tether_publish(tether_connection *c, const char *topic, const uint8_t *payload,
                         size_t payload_len, uint64_t *id) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    if (!topic || !valid_str(topic)) return arg_error(c->si, "the topic is missing or not UTF-8");
    if (!payload && payload_len) return arg_error(c->si, "a NULL payload with a length");
    val *bytes = NULL;
    if (payload_len) {
        bytes = malloc(payload_len * sizeof *bytes);
        if (!bytes) return arg_error(c->si, "out of memory for the payload");
        for (size_t i = 0; i < payload_len; i++) {
            bytes[i].kind = WASMTIME_COMPONENT_U8;
            bytes[i].of.u8 = payload[i];
        }
    }
    val args[3], res;
    set_self(&args[0], c);
    set_str(&args[1], topic);
    args[2].kind = WASMTIME_COMPONENT_LIST;
    args[2].of.list.size = payload_len;
    args[2].of.list.data = bytes;
    tether_rc rc = call(c->si, F_CONN_PUBLISH, args, 3, &res, 1);
    free(bytes);
    if (rc == TETHER_OK) {
        const val *inner = res.of.result.val;
        if (res.kind != WASMTIME_COMPONENT_RESULT || !inner) {
            rc = engine_shape_error(c->si, F_CONN_PUBLISH, &res, 1);
        } else if (res.of.result.is_ok) {
            uint64_t got;
            if (!get_u64(inner, &got)) {
                rc = engine_shape_error(c->si, F_CONN_PUBLISH, &res, 1);
            } else {
                if (id) *id = got;
                wasmtime_component_val_delete(&res);
            }
        } else {
            int idx = ENUM_OF(inner, PUBLISH_ERRORS);
            if (idx < 0) {
                rc = engine_shape_error(c->si, F_CONN_PUBLISH, &res, 1);
            } else {
                rc = (tether_rc)(TETHER_PUBLISH_QUEUE_FULL + idx);
                wasmtime_component_val_delete(&res);
            }
        }
    }
    return finish(c, rc);
}

bool tether_next_wake(tether_connection *c, uint64_t *deadline_ns) {
    if (!usable(c)) return false;
    val self, res;
    set_self(&self, c);
    tether_rc rc = call(c->si, F_CONN_NEXT_WAKE, &self, 1, &res, 1);
    bool have = false;
    if (rc == TETHER_OK) {
        if (res.kind != WASMTIME_COMPONENT_OPTION) {
            engine_shape_error(c->si, F_CONN_NEXT_WAKE, &res, 1);
        } else {
            uint64_t d;
            if (res.of.option && get_u64(res.of.option, &d)) {
                have = true;
                if (deadline_ns) *deadline_ns = d;
            }
            wasmtime_component_val_delete(&res);
        }
    }
    finish(c, rc);
    return have;
}

tether_rc tether_current_status(tether_connection *c, tether_status_change *out) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    if (!out) return arg_error(c->si, "no output given");
    val self, res;
    set_self(&self, c);
    tether_rc rc = call(c->si, F_CONN_CURRENT_STATUS, &self, 1, &res, 1);
    if (rc == TETHER_OK) {
        if (!read_status_change(&res, out))
            rc = engine_shape_error(c->si, F_CONN_CURRENT_STATUS, &res, 1);
        else
            wasmtime_component_val_delete(&res);
    }
    return finish(c, rc);
}

uint32_t tether_pending_messages(tether_connection *c) {
    if (!usable(c)) return 0;
    val self, res;
    set_self(&self, c);
    uint32_t n = 0;
    tether_rc rc = call(c->si, F_CONN_PENDING, &self, 1, &res, 1);
    if (rc == TETHER_OK) {
        if (!get_u32(&res, &n))
            engine_shape_error(c->si, F_CONN_PENDING, &res, 1);
        else
            wasmtime_component_val_delete(&res);
    }
    finish(c, rc);
    return n;
}

/* ------------------------------------------------------------------------- */
/* decisions                                                                  */
/* ------------------------------------------------------------------------- */

static store_inst *decisions(tether_runtime *rt) {
    if (rt->decisions) return rt->decisions;
    host *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(rt->error, sizeof rt->error, "out of memory");
        return NULL;
    }
    h->deliver = false;
    h->cb.now = rt->decisions_clock.now;
    h->cb.random_u64 = rt->decisions_clock.random_u64;
    h->user = rt->decisions_user;
    rt->decisions = store_inst_new(rt, h, F_CONN_COUNT, F_COUNT, rt->error, sizeof rt->error);
    return rt->decisions;
}

void tether_runtime_set_clock(tether_runtime *rt, uint64_t (*now)(void *user),
                              uint64_t (*random_u64)(void *user), void *user) {
    if (!rt) return;
    rt->decisions_clock.now = now;
    rt->decisions_clock.random_u64 = random_u64;
    rt->decisions_user = user;
    if (rt->decisions) {
        rt->decisions->h->cb.now = now;
        rt->decisions->h->cb.random_u64 = random_u64;
        rt->decisions->h->user = user;
    }
}

tether_rc tether_classify(tether_runtime *rt, const tether_failure *failure,
                          tether_classification *out) {
    if (!rt) return TETHER_ERR_ARGUMENT;
    store_inst *si = decisions(rt);
    if (!si) return TETHER_ERR_ENGINE;
    if (!out) return arg_error(si, "no output given");
    arena a = {0};
    val arg, res;
    const char *bad = build_failure(&a, &arg, failure);
    if (bad) return arg_error(si, bad);
    tether_rc rc = call(si, F_CLASSIFY, &arg, 1, &res, 1);
    if (rc != TETHER_OK) return rc;
    if (!read_classification(&res, out)) return engine_shape_error(si, F_CLASSIFY, &res, 1);
    wasmtime_component_val_delete(&res);
    return TETHER_OK;
}

uint32_t tether_table_version(tether_runtime *rt) {
    store_inst *si = rt ? decisions(rt) : NULL;
    if (!si) return 0;
    val res;
    uint32_t v = 0;
    if (call(si, F_TABLE_VERSION, NULL, 0, &res, 1) != TETHER_OK) return 0;
    if (!get_u32(&res, &v)) {
        engine_shape_error(si, F_TABLE_VERSION, &res, 1);
        return 0;
    }
    wasmtime_component_val_delete(&res);
    return v;
}

/* result<_, config-error> or result<own<T>, config-error>: TETHER_OK with
 * *ok (the ok payload, may be NULL) or TETHER_CONFIG_INVALID with *err set. */
static tether_rc config_result(store_inst *si, int fn, val *res, tether_error **err) {
    if (res->kind != WASMTIME_COMPONENT_RESULT) return engine_shape_error(si, fn, res, 1);
    if (res->of.result.is_ok) return TETHER_OK;
    const val *inner = res->of.result.val;
    char *field = inner ? get_string(record_field(inner, "field")) : NULL;
    char *message = inner ? get_string(record_field(inner, "message")) : NULL;
    if (!field || !message) {
        free(field);
        free(message);
        return engine_shape_error(si, fn, res, 1);
    }
    set_error(err, TETHER_ERROR_CONFIG, field, "%s", message);
    free(field);
    free(message);
    wasmtime_component_val_delete(res);
    return TETHER_CONFIG_INVALID;
}

tether_rc tether_validate_config(tether_runtime *rt, const char *config_json,
                                 tether_error **err) {
    if (err) *err = NULL;
    if (!rt) return TETHER_ERR_ARGUMENT;
    store_inst *si = decisions(rt);
    if (!si) return TETHER_ERR_ENGINE;
    if (!valid_str(config_json)) {
        set_error(err, TETHER_ERROR_ARGUMENT, NULL, "the configuration is missing or not UTF-8");
        return arg_error(si, "the configuration is missing or not UTF-8");
    }
    val arg, res;
    set_str(&arg, config_json);
    tether_rc rc = call(si, F_VALIDATE, &arg, 1, &res, 1);
    if (rc != TETHER_OK) return rc;
    rc = config_result(si, F_VALIDATE, &res, err);
    if (rc == TETHER_OK) wasmtime_component_val_delete(&res);
    return rc;
}

struct tether_schedule {
    tether_runtime *rt;
    wasmtime_component_resource_any_t *handle;
};

tether_schedule *tether_schedule_new(tether_runtime *rt, const char *policy_json, uint64_t seed,
                                     tether_error **err) {
    if (err) *err = NULL;
    if (!rt) {
        set_error(err, TETHER_ERROR_ARGUMENT, NULL, "no runtime given");
        return NULL;
    }
    store_inst *si = decisions(rt);
    if (!si) {
        set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", rt->error);
        return NULL;
    }
    if (!valid_str(policy_json)) {
        set_error(err, TETHER_ERROR_ARGUMENT, NULL, "the policy is missing or not UTF-8");
        return NULL;
    }
    val args[2], res;
    set_str(&args[0], policy_json);
    set_u64(&args[1], seed);
    tether_rc rc = call(si, F_SCHED_CREATE, args, 2, &res, 1);
    if (rc == TETHER_OK) rc = config_result(si, F_SCHED_CREATE, &res, err);
    if (rc == TETHER_CONFIG_INVALID) return NULL;
    if (rc != TETHER_OK) {
        set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", si->error);
        return NULL;
    }
    const val *inner = res.of.result.val;
    tether_schedule *s = calloc(1, sizeof *s);
    if (!inner || inner->kind != WASMTIME_COMPONENT_RESOURCE || !s) {
        free(s);
        if (!inner || inner->kind != WASMTIME_COMPONENT_RESOURCE) {
            engine_shape_error(si, F_SCHED_CREATE, &res, 1);
            set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", si->error);
        } else {
            wasmtime_component_val_delete(&res);
            set_error(err, TETHER_ERROR_ENGINE, NULL, "out of memory");
        }
        return NULL;
    }
    s->rt = rt;
    s->handle = wasmtime_component_resource_any_clone(inner->of.resource);
    wasmtime_component_val_delete(&res);
    return s;
}

void tether_schedule_free(tether_schedule *s) {
    if (!s) return;
    store_inst *si = s->rt->decisions;
    if (si && !si->dead) {
        wasmtime_error_t *e = wasmtime_component_resource_any_drop(si->ctx, s->handle);
        if (e) wasmtime_error_delete(e);
    }
    wasmtime_component_resource_any_delete(s->handle);
    free(s);
}

static tether_rc schedule_call(tether_schedule *s, int fn, const val *extra, size_t nextra,
                               val *res, size_t nres) {
    val args[3];
    args[0].kind = WASMTIME_COMPONENT_RESOURCE;
    args[0].of.resource = s->handle;
    for (size_t i = 0; i < nextra; i++) args[1 + i] = extra[i];
    return call(s->rt->decisions, fn, args, 1 + nextra, res, nres);
}

tether_rc tether_schedule_next(tether_schedule *s, const tether_failure *failure,
                               const uint64_t *elapsed_ms, tether_decision *out) {
    if (!s) return TETHER_ERR_ARGUMENT;
    store_inst *si = s->rt->decisions;
    if (!out) return arg_error(si, "no output given");
    arena a = {0};
    val extra[2], *some, res;
    set_option(&a, &extra[0], failure != NULL, &some);
    if (some) {
        const char *bad = build_failure(&a, some, failure);
        if (bad) return arg_error(si, bad);
    }
    set_opt_u64(&a, &extra[1], elapsed_ms != NULL, elapsed_ms ? *elapsed_ms : 0);
    tether_rc rc = schedule_call(s, F_SCHED_NEXT, extra, 2, &res, 1);
    if (rc != TETHER_OK) return rc;
    if (res.kind != WASMTIME_COMPONENT_VARIANT || !res.of.variant.val)
        return engine_shape_error(si, F_SCHED_NEXT, &res, 1);
    memset(out, 0, sizeof *out);
    const val *p = res.of.variant.val;
    if (name_is(&res.of.variant.discriminant, "retry-after") && get_u64(p, &out->delay_ms)) {
        out->is_give_up = false;
    } else if (name_is(&res.of.variant.discriminant, "give-up") &&
               ENUM_OF(p, GIVE_UP_REASONS) >= 0) {
        out->is_give_up = true;
        out->give_up = (tether_give_up_reason)ENUM_OF(p, GIVE_UP_REASONS);
    } else {
        return engine_shape_error(si, F_SCHED_NEXT, &res, 1);
    }
    wasmtime_component_val_delete(&res);
    return TETHER_OK;
}

uint32_t tether_schedule_attempts(tether_schedule *s) {
    if (!s) return 0;
    val res;
    uint32_t n = 0;
    if (schedule_call(s, F_SCHED_ATTEMPTS, NULL, 0, &res, 1) != TETHER_OK) return 0;
    if (!get_u32(&res, &n)) {
        engine_shape_error(s->rt->decisions, F_SCHED_ATTEMPTS, &res, 1);
        return 0;
    }
    wasmtime_component_val_delete(&res);
    return n;
}

tether_rc tether_schedule_connected(tether_schedule *s) {
    if (!s) return TETHER_ERR_ARGUMENT;
    return schedule_call(s, F_SCHED_CONNECTED, NULL, 0, NULL, 0);
}

tether_rc tether_schedule_dropped(tether_schedule *s, uint64_t held_ms) {
    if (!s) return TETHER_ERR_ARGUMENT;
    val held;
    set_u64(&held, held_ms);
    return schedule_call(s, F_SCHED_DROPPED, &held, 1, NULL, 0);
}

tether_rc tether_schedule_reset(tether_schedule *s) {
    if (!s) return TETHER_ERR_ARGUMENT;
    return schedule_call(s, F_SCHED_RESET, NULL, 0, NULL, 0);
}
