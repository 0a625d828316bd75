/*
 * values.c: lowering and lifting, between tether.h's C structs and the
 * component's values (wasmtime_component_val_t trees).
 *
 * Apart because it is pure conversion: it never calls the component, never
 * touches a store, and decides nothing. Lifting reads results and import
 * arguments, checking every shape; lowering builds arguments in an arena.
 */
#include "internal.h"

#include <string.h>

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

bool tether_internal_valid_str(const char *s) {
    return s && valid_utf8((const unsigned char *)s, strlen(s));
}

/* ------------------------------------------------------------------------- */
/* reading component values                                                   */
/* ------------------------------------------------------------------------- */

/* The small readers (record_field, get_u64, get_string, ...) are inline in internal.h. */

bool tether_internal_get_opt_string(const val *v, char **out) {
    *out = NULL;
    if (!v || v->kind != WASMTIME_COMPONENT_OPTION) return false;
    if (!v->of.option) return true;
    *out = get_string(v->of.option);
    return *out != NULL;
}

bool tether_internal_read_classification(const val *v, tether_classification *out) {
    const val *fl = record_field(v, "level"), *fv = record_field(v, "verdict"),
              *fr = record_field(v, "reason"), *frule = record_field(v, "rule");
    if (!fl || !fv || !fr || !frule || frule->kind != WASMTIME_COMPONENT_STRING) return false;
    int level = enum_of(fl, NAMES_LEVELS), verdict = enum_of(fv, NAMES_VERDICTS),
        reason = enum_of(fr, NAMES_REASONS);
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

bool tether_internal_read_status_change(const val *v, tether_status_change *out) {
    int st = -1, rs = -1;
    const val *fs = record_field(v, "status"), *fr = record_field(v, "reason");
    if (!get_u64(record_field(v, "at"), &out->at_ns) || !fs || !fr) return false;
    st = enum_of(fs, NAMES_STATUSES);
    rs = enum_of(fr, NAMES_REASONS);
    if (st < 0 || rs < 0) return false;
    out->status = (tether_status)st;
    out->reason = (tether_reason)rs;
    return true;
}

bool tether_internal_read_decision_event(const val *v, event *e) {
    tether_decision_event *d = &e->decision;
    memset(d, 0, sizeof *d);
    if (!get_u64(record_field(v, "at"), &d->at_ns)) return false;
    const val *cause = record_field(v, "cause");
    if (!cause || cause->kind != WASMTIME_COMPONENT_OPTION) return false;
    if (cause->of.option) {
        if (!tether_internal_read_classification(cause->of.option, &d->cause)) return false;
        d->has_cause = true;
    }
    const val *action = record_field(v, "action");
    if (!action || action->kind != WASMTIME_COMPONENT_VARIANT) return false;
    const wasm_name_t *disc = &action->of.variant.discriminant;
    const val *payload = action->of.variant.val;
    int kind = tether_internal_name_index(NAMES_ACTIONS, disc->data, disc->size);
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
        int c = enum_of(curve, NAMES_CURVES);
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
        int g = payload ? enum_of(payload, NAMES_GIVE_UP_REASONS) : -1;
        if (g < 0) return false;
        d->give_up = (tether_give_up_reason)g;
        return true;
    }
    }
    return false;
}

/* ------------------------------------------------------------------------- */
/* building arguments                                                         */
/* ------------------------------------------------------------------------- */

/* The arena and the small builders (set_u64, set_variant, set_record, ...) are inline in
 * internal.h; here are the conversions of tether.h's structs. */

static bool set_opt_str(arena *a, val *v, const char *s) {
    val *some;
    if (!set_option(a, v, s != NULL, &some)) return false;
    if (some) set_str(some, s);
    return true;
}

/* failure -> record failure. */
const char *tether_internal_build_failure(arena *a, val *v, const tether_failure *f) {
    if (!f) return "no failure given";
    wasmtime_component_valrecord_entry_t *e = set_record(a, v, 3);
    if (!e) return "failure too deeply nested";
    e[0].name = lit("kind");
    e[1].name = lit("retry-after-ms");
    e[2].name = lit("server-reference");
    val *kind = &e[0].val, *payload = NULL, *proto = NULL;
    const char *name; /* a network or application error's WIT name */
    switch (f->kind) {
    case TETHER_FAILURE_NETWORK:
        name = tether_internal_name_at(NAMES_NETWORK_ERRORS, (unsigned)f->network);
        if (!name) return "network error out of range";
        if (!set_variant(a, kind, "network", &payload))
            return "out of scratch space";
        set_enum(payload, name);
        break;
    case TETHER_FAILURE_APPLICATION:
        name = tether_internal_name_at(NAMES_APPLICATION_ERRORS, (unsigned)f->application);
        if (!name) return "application error out of range";
        if (!set_variant(a, kind, "application", &payload))
            return "out of scratch space";
        set_enum(payload, name);
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
            if (!tether_internal_valid_str(f->amqp))
                return "the AMQP condition is missing or not UTF-8";
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
    if (f->server_reference && !tether_internal_valid_str(f->server_reference))
        return "the server reference is not UTF-8";
    if (!set_opt_str(a, &e[2].val, f->server_reference)) return "out of scratch space";
    return NULL;
}

const char *tether_internal_build_credential(arena *a, val *v, const tether_credential *c) {
    if (!tether_internal_valid_str(c->secret))
        return "the credential secret is missing or not UTF-8";
    wasmtime_component_valrecord_entry_t *e = set_record(a, v, 2);
    if (!e) return "out of scratch space";
    e[0].name = lit("secret");
    set_str(&e[0].val, c->secret);
    e[1].name = lit("lifetime-ms");
    if (!set_opt_u64(a, &e[1].val, c->has_lifetime, c->lifetime_ms))
        return "out of scratch space";
    return NULL;
}
