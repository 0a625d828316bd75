/*
 * imports.c: the host functions the component imports (transport, provisioning,
 * credentials, events, policy plugins, clock, entropy), and the queue they fill.
 *
 * Apart because these run inside a component call: they only copy their
 * arguments onto the store's queue (connection.c delivers it afterwards) or
 * answer at once (clock, entropy, plugins). They never re-enter the component.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

/* ------------------------------------------------------------------------- */
/* clock and entropy                                                          */
/* ------------------------------------------------------------------------- */

uint64_t tether_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t tether_wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    if (ts.tv_sec < 0) return 0;
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

void tether_internal_event_free(event *e) {
    free(e->s1);
    free(e->s2);
    free(e->s3);
    free(e->bytes);
    for (size_t i = 0; i < e->n_strs; i++) free(e->strs[i]);
    free(e->strs);
}

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
    for (size_t i = h->q_head; i < h->q_len; i++) tether_internal_event_free(&h->q[i]);
    h->q_len = h->q_head = 0;
}

void tether_internal_host_free(void *p) {
    host *h = p;
    if (!h) return;
    queue_clear(h);
    free(h->q);
    free(h);
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
        tether_internal_event_free(e);
        return NULL;
    }
    if (!queue_push(h, e)) {
        tether_internal_event_free(e);
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
        !tether_internal_get_opt_string(&args[2], &e.s2) ||
        !tether_internal_get_opt_string(&args[3], &e.s3)) {
        tether_internal_event_free(&e);
        return bad_import("transport.open");
    }
    return push_or_fail(HOST, &e);
}

static wasmtime_error_t *imp_send(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    event e = {.kind = EV_SEND};
    if (nargs != 4 || !get_u64(&args[0], &e.link) || !get_u64(&args[1], &e.message) ||
        !(e.s1 = get_string(&args[2])) || args[3].kind != WASMTIME_COMPONENT_LIST) {
        tether_internal_event_free(&e);
        return bad_import("transport.send");
    }
    const wasmtime_component_vallist_t *list = &args[3].of.list;
    e.len = list->size;
    e.bytes = malloc(e.len ? e.len : 1);
    if (!e.bytes) {
        tether_internal_event_free(&e);
        return wasmtime_error_new("tether C host: out of memory");
    }
    for (size_t i = 0; i < e.len; i++) {
        if (list->data[i].kind != WASMTIME_COMPONENT_U8) {
            tether_internal_event_free(&e);
            return bad_import("transport.send");
        }
        e.bytes[i] = list->data[i].of.u8;
    }
    return push_or_fail(HOST, &e);
}

static wasmtime_error_t *imp_subscribe(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    event e = {.kind = EV_SUBSCRIBE};
    if (nargs != 2 || !get_u64(&args[0], &e.link) || args[1].kind != WASMTIME_COMPONENT_LIST)
        return bad_import("transport.subscribe");
    const wasmtime_component_vallist_t *list = &args[1].of.list;
    e.strs = calloc(list->size ? list->size : 1, sizeof *e.strs);
    if (!e.strs) return wasmtime_error_new("tether C host: out of memory");
    for (size_t i = 0; i < list->size; i++) {
        if (!(e.strs[i] = get_string(&list->data[i]))) {
            tether_internal_event_free(&e);
            return bad_import("transport.subscribe");
        }
        e.n_strs = i + 1;
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
    if (nargs != 1 || !tether_internal_read_status_change(&args[0], &e.status))
        return bad_import("events.status-changed");
    return push_or_fail(HOST, &e);
}

static wasmtime_error_t *imp_decided(IMPORT_ARGS) {
    UNUSED_IMPORT_ARGS;
    event e = {.kind = EV_DECIDED};
    if (nargs != 1 || !tether_internal_read_decision_event(&args[0], &e)) {
        tether_internal_event_free(&e);
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
        int f = enum_of(o->val, NAMES_MESSAGE_FAILURES);
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
    int reason = f && record_field(f, "reason")
                     ? enum_of(record_field(f, "reason"), NAMES_PLUGIN_FAULT_REASONS)
                     : -1;
    if (!f || reason < 0 || !get_u64(record_field(f, "at"), &e.fault.at_ns) ||
        !(e.s1 = get_string(record_field(f, "plugin"))) ||
        !(e.s2 = get_string(record_field(f, "detail"))) ||
        !get_u32(record_field(f, "consecutive"), &e.fault.consecutive) || !quarantined ||
        quarantined->kind != WASMTIME_COMPONENT_BOOL || !used ||
        used->kind != WASMTIME_COMPONENT_VARIANT || !used->of.variant.val) {
        tether_internal_event_free(&e);
        return bad_import("events.plugin-fault");
    }
    e.fault.reason = (tether_plugin_fault_reason)reason;
    e.fault.quarantined = quarantined->of.boolean;
    const val *p = used->of.variant.val;
    if (name_is(&used->of.variant.discriminant, "retry-after") &&
        get_u64(p, &e.fault.used.delay_ms)) {
        e.fault.used.is_give_up = false;
    } else if (name_is(&used->of.variant.discriminant, "give-up") &&
               enum_of(p, NAMES_GIVE_UP_REASONS) >= 0) {
        e.fault.used.is_give_up = true;
        e.fault.used.give_up = (tether_give_up_reason)enum_of(p, NAMES_GIVE_UP_REASONS);
    } else {
        tether_internal_event_free(&e);
        return bad_import("events.plugin-fault");
    }
    return push_or_fail(HOST, &e);
}

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

/* wall-clock.now: the time of day, read only to set a minted token's expiry. */
static wasmtime_error_t *imp_wall_now(IMPORT_ARGS) {
    (void)env;
    (void)ty;
    (void)args;
    (void)nargs;
    if (nresults != 1) return bad_import("wall-clock.now");
    host *h = HOST;
    uint64_t ns = h->cb.wall_ns ? h->cb.wall_ns(h->user) : tether_wall_ns();
    arena a;
    a.nv = a.ne = 0;
    val datetime;
    memset(&datetime, 0, sizeof datetime);
    wasmtime_component_valrecord_entry_t *e = set_record(&a, &datetime, 2);
    if (!e) return bad_import("wall-clock.now");
    e[0].name = lit("seconds");
    set_u64(&e[0].val, ns / 1000000000u);
    e[1].name = lit("nanoseconds");
    e[1].val.kind = WASMTIME_COMPONENT_U32;
    e[1].val.of.u32 = (uint32_t)(ns % 1000000000u);
    wasmtime_component_val_clone(&datetime, &results[0]);
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

/* ------------------------------------------------------------------------- */
/* the linker: each import under its interface                                */
/* ------------------------------------------------------------------------- */

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

wasmtime_error_t *tether_internal_define_imports(wasmtime_component_linker_t *linker) {
    wasmtime_component_linker_instance_t *root = wasmtime_component_linker_root(linker);
    wasmtime_error_t *e = NULL;
    {
        static const char *const names[] = {"open", "send", "subscribe", "close"};
        static const import_fn fns[] = {imp_open, imp_send, imp_subscribe, imp_close};
        e = define_instance(root, "tether:reconnect/transport@0.1.0", names, fns, 4);
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
        static const char *const names[] = {"now"};
        static const import_fn fns[] = {imp_wall_now};
        e = define_instance(root, "wasi:clocks/wall-clock@0.2.12", names, fns, 1);
    }
    if (!e) {
        static const char *const names[] = {"get-random-u64"};
        static const import_fn fns[] = {imp_random};
        e = define_instance(root, "wasi:random/random@0.2.12", names, fns, 1);
    }
    wasmtime_component_linker_instance_delete(root);
    return e;
}
