/*
 * tether_conformance: the C host's conformance runner.
 *
 *   tether_conformance <tether.wasm> <vectors-dir> [--check]
 *   tether_conformance --precompiled <tether.cwasm> <vectors-dir> [--check]
 *
 * The second form loads a component precompiled by `tether compile` (what the
 * compiler-free TETHER_PRECOMPILED_ONLY build and ARM devices run).
 * Replays every *.json vector of <vectors-dir> (tests/conformance/FORMAT.md)
 * through the component, in file-name order, and prints one canonical line per
 * vector: `<name>: <line>`. It decides nothing: inputs go in at their virtual
 * times, and what the component said is rendered. With --check it also
 * compares each line with the vector's `expected` and exits 1 on a difference.
 * A vector it cannot read, or an engine error, ends the run with status 2.
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "tether.h"

/* ---- a growable string ---- */

typedef struct {
    char *s;
    size_t len, cap;
} buf;

static void buf_printf(buf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (b->s && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + (size_t)n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            fprintf(stderr, "tether_conformance: out of memory\n");
            exit(2);
        }
        b->s = s;
        b->cap = cap;
    }
}

static void buf_reset(buf *b) {
    b->len = 0;
    if (b->s) b->s[0] = '\0';
}

/* Items of a flow line, joined with " ; ". */
static void item(buf *line, const char *fmt, ...) {
    if (line->len) buf_printf(line, " ; ");
    char tmp[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    buf_printf(line, "%s", tmp);
}

/* ---- reading vectors ---- */

static const char *current_file = "";

static void die(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "tether_conformance: %s: ", current_file);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

static json_object *key(json_object *o, const char *k) {
    json_object *v = NULL;
    if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, k, &v))
        return NULL;
    return v;
}

static const char *req_string(json_object *o, const char *k) {
    json_object *v = key(o, k);
    if (!v || !json_object_is_type(v, json_type_string)) die("`%s` must be a string", k);
    return json_object_get_string(v);
}

static const char *opt_string(json_object *o, const char *k) {
    json_object *v = key(o, k);
    if (!v || json_object_is_type(v, json_type_null)) return NULL;
    if (!json_object_is_type(v, json_type_string)) die("`%s` must be a string", k);
    return json_object_get_string(v);
}

static uint64_t as_u64(json_object *v, const char *what) {
    if (!v || !json_object_is_type(v, json_type_int)) die("`%s` must be an integer", what);
    errno = 0;
    int64_t i = json_object_get_int64(v);
    if (i < 0) die("`%s` must not be negative", what);
    if (i == INT64_MAX) return json_object_get_uint64(v); /* json-c keeps larger values as u64 */
    return (uint64_t)i;
}

static uint64_t req_u64(json_object *o, const char *k) { return as_u64(key(o, k), k); }

static bool opt_u64(json_object *o, const char *k, uint64_t *out) {
    json_object *v = key(o, k);
    if (!v || json_object_is_type(v, json_type_null)) return false;
    *out = as_u64(v, k);
    return true;
}

static const char *const PROTOCOL_WORDS[] = {"keep-alive-lost", "session-expired",
                                             "link-detached"};

/* A failure object (FORMAT.md, "Failures"). Strings point into the JSON. */
static tether_failure read_failure(json_object *o) {
    tether_failure f = {0};
    if (!json_object_is_type(o, json_type_object)) die("a failure must be an object");
    int kinds = 0;
    json_object_object_foreach(o, k, v) {
        if (strcmp(k, "network") == 0) {
            int n = tether_network_error_from_name(json_object_get_string(v));
            if (n < 0) die("unknown network error %s", json_object_get_string(v));
            f.kind = TETHER_FAILURE_NETWORK;
            f.network = (tether_network_error)n;
            kinds++;
        } else if (strcmp(k, "mqtt-connack") == 0 || strcmp(k, "mqtt-reason") == 0) {
            uint64_t code = as_u64(v, k);
            if (code > 255) die("`%s` must fit in a byte", k);
            f.kind = strcmp(k, "mqtt-connack") == 0 ? TETHER_FAILURE_MQTT_CONNACK
                                                    : TETHER_FAILURE_MQTT_REASON;
            f.code = (uint8_t)code;
            kinds++;
        } else if (strcmp(k, "amqp") == 0) {
            if (!json_object_is_type(v, json_type_string)) die("`amqp` must be a string");
            f.kind = TETHER_FAILURE_AMQP;
            f.amqp = json_object_get_string(v);
            kinds++;
        } else if (strcmp(k, "http") == 0) {
            uint64_t status = req_u64(v, "status");
            if (status > 65535) die("`status` must fit in 16 bits");
            f.kind = TETHER_FAILURE_HTTP;
            f.http_status = (uint16_t)status;
            uint64_t hub;
            if (opt_u64(v, "hub-code", &hub)) {
                if (hub > UINT32_MAX) die("`hub-code` must fit in 32 bits");
                f.has_hub_code = true;
                f.hub_code = (uint32_t)hub;
            }
            json_object_object_foreach(v, hk, hv) {
                (void)hv;
                if (strcmp(hk, "status") != 0 && strcmp(hk, "hub-code") != 0)
                    die("unknown key `%s` in `http`", hk);
            }
            kinds++;
        } else if (strcmp(k, "protocol") == 0) {
            const char *w = json_object_get_string(v);
            int found = -1;
            for (int i = 0; i < 3; i++)
                if (w && strcmp(w, PROTOCOL_WORDS[i]) == 0) found = i;
            if (found < 0) die("unknown protocol failure %s", w ? w : "?");
            f.kind = found == 0   ? TETHER_FAILURE_KEEP_ALIVE_LOST
                     : found == 1 ? TETHER_FAILURE_SESSION_EXPIRED
                                  : TETHER_FAILURE_LINK_DETACHED;
            kinds++;
        } else if (strcmp(k, "application") == 0) {
            int a = tether_application_error_from_name(json_object_get_string(v));
            if (a < 0) die("unknown application error %s", json_object_get_string(v));
            f.kind = TETHER_FAILURE_APPLICATION;
            f.application = (tether_application_error)a;
            kinds++;
        } else if (strcmp(k, "retry-after-ms") == 0) {
            f.has_retry_after = true;
            f.retry_after_ms = as_u64(v, k);
        } else if (strcmp(k, "server-reference") == 0) {
            if (!json_object_is_type(v, json_type_string))
                die("`server-reference` must be a string");
            f.server_reference = json_object_get_string(v);
        } else {
            die("unknown key `%s` in a failure", k);
        }
    }
    if (kinds != 1) die("a failure needs exactly one kind key, it has %d", kinds);
    return f;
}

static tether_credential read_credential(json_object *o) {
    tether_credential c = {0};
    c.secret = req_string(o, "secret");
    c.has_lifetime = opt_u64(o, "lifetime-ms", &c.lifetime_ms);
    return c;
}

/* ---- kinds ---- */

static void engine_fail(const char *what, const char *message) {
    die("%s: %s", what, message);
}

static void run_classify(tether_runtime *rt, json_object *v, buf *line) {
    tether_failure f = read_failure(key(v, "failure"));
    tether_classification c;
    tether_rc rc = tether_classify(rt, &f, &c);
    if (rc != TETHER_OK) engine_fail("classify", tether_runtime_last_error(rt));
    buf_printf(line, "%s %s %s %s", tether_level_name(c.level), tether_verdict_name(c.verdict),
               tether_reason_name(c.reason), c.rule);
}

static void run_validate(tether_runtime *rt, json_object *v, buf *line) {
    tether_error *err = NULL;
    tether_rc rc = tether_validate_config(rt, req_string(v, "config"), &err);
    if (rc == TETHER_OK) {
        buf_printf(line, "ok");
    } else if (rc == TETHER_CONFIG_INVALID) {
        buf_printf(line, "error %s: %s", tether_error_field(err), tether_error_message(err));
    } else {
        engine_fail("validate-config", err ? tether_error_message(err)
                                           : tether_runtime_last_error(rt));
    }
    tether_error_free(err);
}

static void run_schedule(tether_runtime *rt, json_object *v, buf *line) {
    const char *policy = req_string(v, "policy");
    uint64_t seed = req_u64(v, "seed");
    json_object *steps = key(v, "steps"), *elapsed = key(v, "elapsed-ms");
    if (!json_object_is_type(steps, json_type_array)) die("`steps` must be a list");
    size_t n = json_object_array_length(steps);
    if (elapsed && !json_object_is_type(elapsed, json_type_null)) {
        if (!json_object_is_type(elapsed, json_type_array) ||
            json_object_array_length(elapsed) != n)
            die("`elapsed-ms` must be a list as long as `steps`");
    } else {
        elapsed = NULL;
    }
    tether_error *err = NULL;
    tether_schedule *s = tether_schedule_new(rt, policy, seed, &err);
    if (!s) {
        if (tether_error_kind_of(err) != TETHER_ERROR_CONFIG)
            engine_fail("retry-schedule.create", tether_error_message(err));
        buf_printf(line, "error %s: %s", tether_error_field(err), tether_error_message(err));
        tether_error_free(err);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *step = json_object_array_get_idx(steps, i);
        tether_failure f;
        bool plain = step == NULL || json_object_is_type(step, json_type_null);
        if (!plain) f = read_failure(step);
        uint64_t ms;
        bool has_elapsed = false;
        if (elapsed) {
            json_object *e = json_object_array_get_idx(elapsed, i);
            if (e && !json_object_is_type(e, json_type_null)) {
                ms = as_u64(e, "elapsed-ms");
                has_elapsed = true;
            }
        }
        tether_decision d;
        tether_rc rc = tether_schedule_next(s, plain ? NULL : &f, has_elapsed ? &ms : NULL, &d);
        if (rc != TETHER_OK) engine_fail("retry-schedule.next", tether_runtime_last_error(rt));
        if (i) buf_printf(line, " ");
        if (d.is_give_up) {
            buf_printf(line, "give-up:%s", tether_give_up_reason_name(d.give_up));
            break;
        }
        buf_printf(line, "%llu", (unsigned long long)d.delay_ms);
    }
    tether_schedule_free(s);
}

/* ---- flows: the callbacks render into `pending`, the input's line follows ---- */

typedef struct {
    uint64_t now_ms;
    buf pending; /* items caused by the current input */
} flow;

static const char *or_dash(const char *s) { return s ? s : "-"; }

static void cb_open(void *u, uint64_t link, const char *hub, const char *device_id,
                    const char *credential) {
    flow *f = u;
    item(&f->pending, "open %llu %s %s %s", (unsigned long long)link, hub, or_dash(device_id),
         or_dash(credential));
}
static void cb_send(void *u, uint64_t link, uint64_t message, const char *topic,
                    const uint8_t *payload, size_t len) {
    (void)payload;
    flow *f = u;
    item(&f->pending, "send %llu %llu %s %zu", (unsigned long long)link,
         (unsigned long long)message, topic, len);
}
static void cb_subscribe(void *u, uint64_t link, const char *const *filters, size_t n) {
    flow *f = u;
    buf joined = {0};
    for (size_t i = 0; i < n; i++) buf_printf(&joined, "%s%s", i ? "," : "", filters[i]);
    item(&f->pending, "subscribe %llu %s", (unsigned long long)link, joined.s ? joined.s : "");
    free(joined.s);
}
static void cb_close(void *u, uint64_t link) {
    item(&((flow *)u)->pending, "close %llu", (unsigned long long)link);
}
static void cb_register(void *u) { item(&((flow *)u)->pending, "register"); }
static void cb_poll(void *u, const char *op) { item(&((flow *)u)->pending, "poll %s", op); }
static void cb_renew(void *u) { item(&((flow *)u)->pending, "renew"); }
static void cb_status(void *u, const tether_status_change *c) {
    item(&((flow *)u)->pending, "status %s %s", tether_status_name(c->status),
         tether_reason_name(c->reason));
}
static void cb_decided(void *u, const tether_decision_event *d) {
    char action[512];
    switch (d->action) {
    case TETHER_ACTION_CONNECT:
        snprintf(action, sizeof action, "connect %llu %s %u", (unsigned long long)d->link,
                 d->hub, d->attempt);
        break;
    case TETHER_ACTION_BACKOFF:
        snprintf(action, sizeof action, "backoff %llu %u %s %s",
                 (unsigned long long)d->delay_ms, d->attempt, tether_curve_name(d->curve),
                 d->then_provision ? "provision" : "reconnect");
        break;
    case TETHER_ACTION_RENEW_CREDENTIAL:
        snprintf(action, sizeof action, "renew-credential %s",
                 d->routine ? "routine" : "after-failure");
        break;
    case TETHER_ACTION_PROVISION: snprintf(action, sizeof action, "provision"); break;
    case TETHER_ACTION_POLL_PROVISIONING:
        snprintf(action, sizeof action, "poll-provisioning %llu",
                 (unsigned long long)d->poll_ms);
        break;
    case TETHER_ACTION_GIVE_UP:
        snprintf(action, sizeof action, "give-up %s", tether_give_up_reason_name(d->give_up));
        break;
    default: snprintf(action, sizeof action, "?"); break;
    }
    item(&((flow *)u)->pending, "decide %s cause=%s", action, d->has_cause ? d->cause.rule : "-");
}
static void cb_outcome(void *u, uint64_t message, const tether_outcome *o) {
    if (o->delivered)
        item(&((flow *)u)->pending, "outcome %llu delivered", (unsigned long long)message);
    else
        item(&((flow *)u)->pending, "outcome %llu failed %s", (unsigned long long)message,
             tether_message_failure_name(o->failure));
}
static void cb_wake_at(void *u, uint64_t deadline_ns) {
    item(&((flow *)u)->pending, "wake-at %llu", (unsigned long long)(deadline_ns / 1000000u));
}
static uint64_t cb_now(void *u) { return ((flow *)u)->now_ms * 1000000u; }
static uint64_t cb_wall(void *u) {
    return TETHER_VIRTUAL_EPOCH_S * 1000000000u + ((flow *)u)->now_ms * 1000000u;
}
static uint64_t cb_random(void *u) {
    (void)u;
    return 0x7e7e7e7e7e7e7e7eull; /* never read: every vector has a seed */
}

static void run_flow(tether_runtime *rt, json_object *v, buf *line) {
    flow f = {0};
    tether_callbacks cb = {
        .open = cb_open,
        .send = cb_send,
        .close = cb_close,
        .subscribe = cb_subscribe,
        .provision_register = cb_register,
        .provision_poll = cb_poll,
        .credential_renew = cb_renew,
        .status = cb_status,
        .decided = cb_decided,
        .outcome = cb_outcome,
        .wake_at = cb_wake_at,
        .now = cb_now,
        .random_u64 = cb_random,
        .wall_ns = cb_wall,
    };
    json_object *events = key(v, "events");
    if (!json_object_is_type(events, json_type_array)) die("`events` must be a list");
    tether_error *err = NULL;
    tether_connection *c = tether_connection_new(rt, req_string(v, "config"), &cb, &f, &err);
    if (!c) {
        if (tether_error_kind_of(err) != TETHER_ERROR_CONFIG)
            engine_fail("connection.create", tether_error_message(err));
        buf_printf(line, "error %s: %s", tether_error_field(err), tether_error_message(err));
        tether_error_free(err);
        free(f.pending.s);
        return;
    }
    buf_reset(&f.pending); /* create causes nothing; rendering starts at the first input */
    size_t n = json_object_array_length(events);
    for (size_t i = 0; i < n; i++) {
        json_object *ev = json_object_array_get_idx(events, i);
        uint64_t at = req_u64(ev, "at");
        const char *input = req_string(ev, "input");
        f.now_ms = at;
        buf_reset(&f.pending);
        tether_rc rc;
        bool is_publish = false, is_subscribe = false;
        uint64_t id = 0;
        if (strcmp(input, "start") == 0) {
            rc = tether_start(c);
        } else if (strcmp(input, "opened") == 0) {
            rc = tether_on_opened(c, req_u64(ev, "link"));
        } else if (strcmp(input, "failed") == 0 || strcmp(input, "closed") == 0) {
            uint64_t link = req_u64(ev, "link");
            tether_failure fl = read_failure(key(ev, "failure"));
            rc = input[0] == 'f' ? tether_on_failed(c, link, &fl) : tether_on_closed(c, link, &fl);
        } else if (strcmp(input, "acked") == 0) {
            rc = tether_on_acked(c, req_u64(ev, "message"));
        } else if (strcmp(input, "refused") == 0) {
            tether_failure fl = read_failure(key(ev, "failure"));
            rc = tether_on_refused(c, req_u64(ev, "message"), &fl);
        } else if (strcmp(input, "provisioned") == 0) {
            tether_provisioning_result r = {0};
            json_object *x;
            if ((x = key(ev, "assigned"))) {
                r.kind = TETHER_PROVISIONING_ASSIGNED;
                r.hub = req_string(x, "hub");
                r.device_id = req_string(x, "device-id");
                json_object *cred = key(x, "credential");
                if (cred && !json_object_is_type(cred, json_type_null)) {
                    r.has_credential = true;
                    r.credential = read_credential(cred);
                }
            } else if ((x = key(ev, "pending"))) {
                r.kind = TETHER_PROVISIONING_PENDING;
                r.operation_id = req_string(x, "operation-id");
                r.has_retry_after = opt_u64(x, "retry-after-ms", &r.retry_after_ms);
            } else if ((x = key(ev, "failed"))) {
                r.kind = TETHER_PROVISIONING_FAILED;
                r.failure = read_failure(x);
            } else {
                die("`provisioned` needs `assigned`, `pending` or `failed`");
            }
            rc = tether_on_provisioned(c, &r);
        } else if (strcmp(input, "credential") == 0) {
            json_object *x;
            if ((x = key(ev, "ok"))) {
                tether_credential cr = read_credential(x);
                rc = tether_on_credential(c, &cr, NULL);
            } else if ((x = key(ev, "error"))) {
                tether_failure fl = read_failure(x);
                rc = tether_on_credential(c, NULL, &fl);
            } else {
                die("`credential` needs `ok` or `error`");
            }
        } else if (strcmp(input, "wake") == 0) {
            rc = tether_on_wake(c);
        } else if (strcmp(input, "publish") == 0) {
            json_object *p = key(ev, "payload");
            if (!p || !json_object_is_type(p, json_type_string)) die("`payload` must be a string");
            is_publish = true;
            rc = tether_publish(c, req_string(ev, "topic"),
                                (const uint8_t *)json_object_get_string(p),
                                (size_t)json_object_get_string_len(p), &id);
        } else if (strcmp(input, "subscribe") == 0) {
            is_subscribe = true;
            rc = tether_subscribe(c, req_string(ev, "topic"));
        } else if (strcmp(input, "stop") == 0) {
            rc = tether_stop(c);
        } else {
            die("unknown input `%s`", input);
        }
        if (rc < 0) engine_fail(input, tether_connection_last_error(c));
        item(line, "t=%llu", (unsigned long long)at);
        if (is_publish) {
            if (rc == TETHER_OK)
                item(line, "published %llu", (unsigned long long)id);
            else
                item(line, "publish-error %s", tether_rc_name(rc));
        } else if (is_subscribe) {
            if (rc == TETHER_OK)
                item(line, "subscribed");
            else
                item(line, "subscribe-error %s", tether_rc_name(rc));
        } else if (rc != TETHER_OK) {
            item(line, "input-error %s", tether_rc_name(rc));
        }
        if (f.pending.len) item(line, "%s", f.pending.s);
    }
    tether_connection_free(c);
    free(f.pending.s);
}

/* ---- identity: one call of the `identity` interface, its answer rendered ---- */

/* The line of a call that ended in an error: a refusal, or the end of the run. */
static void identity_error(const char *call, tether_rc rc, tether_error *err, buf *line) {
    if (rc != TETHER_CONFIG_INVALID) engine_fail(call, tether_error_message(err));
    buf_printf(line, "error %s: %s", tether_error_field(err), tether_error_message(err));
}

static void string_answer(const char *call, tether_rc rc, char *s, tether_error *err,
                          buf *line) {
    if (rc == TETHER_OK)
        buf_printf(line, "ok %s", s);
    else
        identity_error(call, rc, err, line);
    tether_string_free(s);
    tether_error_free(err);
}

static tether_auth_method read_auth(json_object *o) {
    const char *name = req_string(o, "auth");
    int a = tether_auth_method_from_name(name);
    if (a < 0) die("unknown auth `%s`", name);
    return (tether_auth_method)a;
}

static void run_identity(tether_runtime *rt, json_object *v, buf *line) {
    const char *call = req_string(v, "call");
    json_object *args = key(v, "args");
    if (!json_object_is_type(args, json_type_object)) die("`args` must be an object");
    tether_error *err = NULL;
    char *s = NULL;
    tether_rc rc;
    if (strcmp(call, "parse-connection-string") == 0) {
        tether_hub_identity *id = NULL;
        rc = tether_parse_connection_string(rt, req_string(args, "text"), &id, &err);
        if (rc == TETHER_OK)
            buf_printf(line, "ok %s %s %s %s %s %s", id->host_name, id->device_id,
                       or_dash(id->module_id), or_dash(id->gateway_host_name),
                       or_dash(id->key_name), tether_auth_method_name(id->auth));
        else
            identity_error(call, rc, err, line);
        tether_hub_identity_free(id);
        tether_error_free(err);
    } else if (strcmp(call, "connection-string-token") == 0) {
        rc = tether_connection_string_token(rt, req_string(args, "text"),
                                            req_u64(args, "expiry"), &s, &err);
        string_answer(call, rc, s, err, line);
    } else if (strcmp(call, "sas-token") == 0) {
        rc = tether_sas_token(rt, req_string(args, "resource-uri"), req_string(args, "key"),
                              opt_string(args, "key-name"), req_u64(args, "expiry"), &s, &err);
        string_answer(call, rc, s, err, line);
    } else if (strcmp(call, "hub-resource-uri") == 0) {
        rc = tether_hub_resource_uri(rt, req_string(args, "host-name"),
                                     req_string(args, "device-id"),
                                     opt_string(args, "module-id"), &s, &err);
        if (rc != TETHER_OK) engine_fail(call, tether_error_message(err)); /* never refused */
        string_answer(call, rc, s, err, line);
    } else if (strcmp(call, "dps-token") == 0) {
        rc = tether_dps_token(rt, req_string(args, "id-scope"),
                              req_string(args, "registration-id"), req_string(args, "key"),
                              req_u64(args, "expiry"), &s, &err);
        string_answer(call, rc, s, err, line);
    } else if (strcmp(call, "derive-device-key") == 0) {
        rc = tether_derive_device_key(rt, req_string(args, "group-key"),
                                      req_string(args, "registration-id"), &s, &err);
        string_answer(call, rc, s, err, line);
    } else if (strcmp(call, "hub-mqtt-settings") == 0) {
        json_object *i = key(args, "identity"), *o = key(args, "options");
        if (!json_object_is_type(i, json_type_object)) die("`identity` must be an object");
        tether_hub_identity id = {
            .host_name = req_string(i, "host-name"),
            .device_id = req_string(i, "device-id"),
            .module_id = opt_string(i, "module-id"),
            .gateway_host_name = opt_string(i, "gateway-host-name"),
            .key_name = opt_string(i, "key-name"),
            .auth = read_auth(i),
        };
        tether_mqtt_options opts = {0};
        if (o && !json_object_is_type(o, json_type_null)) {
            if (!json_object_is_type(o, json_type_object)) die("`options` must be an object");
            opts.api_version = opt_string(o, "api-version");
            opts.user_agent = opt_string(o, "user-agent");
            opts.model_id = opt_string(o, "model-id");
            uint64_t k;
            if (opt_u64(o, "keep-alive-s", &k)) {
                if (k > UINT32_MAX) die("`keep-alive-s` must fit in 32 bits");
                opts.has_keep_alive = true;
                opts.keep_alive_s = (uint32_t)k;
            }
        }
        tether_mqtt_settings *m = NULL;
        rc = tether_hub_mqtt_settings(rt, &id, &opts, &m, &err);
        if (rc == TETHER_OK)
            buf_printf(line, "ok %s %u %s %s %s %s %u %s", m->host, (unsigned)m->port,
                       m->client_id, m->user_name, m->telemetry_topic,
                       or_dash(m->cloud_to_device_filter), m->keep_alive_s,
                       m->clean_session ? "true" : "false");
        else
            identity_error(call, rc, err, line);
        tether_mqtt_settings_free(m);
        tether_error_free(err);
    } else if (strcmp(call, "telemetry-topic") == 0) {
        json_object *list = key(args, "properties");
        if (!json_object_is_type(list, json_type_array)) die("`properties` must be a list");
        size_t n = json_object_array_length(list);
        tether_property *props = n ? calloc(n, sizeof *props) : NULL;
        if (n && !props) die("out of memory");
        for (size_t k = 0; k < n; k++) {
            json_object *pair = json_object_array_get_idx(list, k);
            json_object *name = json_object_array_get_idx(pair, 0);
            json_object *value = json_object_array_get_idx(pair, 1);
            if (!json_object_is_type(pair, json_type_array) ||
                json_object_array_length(pair) != 2 ||
                !json_object_is_type(name, json_type_string) ||
                !json_object_is_type(value, json_type_string))
                die("a property is not a [name, value] pair of strings");
            props[k].name = json_object_get_string(name);
            props[k].value = json_object_get_string(value);
        }
        rc = tether_telemetry_topic(rt, req_string(args, "device-id"),
                                    opt_string(args, "module-id"), props, n, &s, &err);
        free(props);
        string_answer(call, rc, s, err, line);
    } else {
        die("unknown identity call `%s`", call);
    }
}

/* ---- main ---- */

static int by_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static uint64_t zero_clock(void *u) {
    (void)u;
    return 0;
}

int main(int argc, char **argv) {
    bool check = false, precompiled = false;
    const char *wasm = NULL, *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--check") == 0)
            check = true;
        else if (strcmp(argv[i], "--precompiled") == 0 && !wasm)
            precompiled = true;
        else if (!wasm)
            wasm = argv[i];
        else if (!dir)
            dir = argv[i];
        else
            wasm = NULL, i = argc; /* too many arguments */
    }
    if (!wasm || !dir) {
        fprintf(stderr, "usage: tether_conformance [--precompiled] <tether.wasm | tether.cwasm> "
                        "<vectors-dir> [--check]\n");
        return 2;
    }
    tether_error *err = NULL;
    tether_runtime *rt = precompiled ? tether_runtime_new_precompiled_file(wasm, &err)
                                     : tether_runtime_new(wasm, &err);
    if (!rt) {
        fprintf(stderr, "tether_conformance: %s\n", tether_error_message(err));
        tether_error_free(err);
        return 2;
    }
    tether_runtime_set_clock(rt, zero_clock, NULL, NULL);

    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "tether_conformance: cannot open %s: %s\n", dir, strerror(errno));
        tether_runtime_free(rt);
        return 2;
    }
    char **files = NULL;
    size_t nfiles = 0, cap = 0;
    struct dirent *de;
    /* errno tells the end of the listing from a failure (readdir returns NULL for both). */
    for (errno = 0; (de = readdir(d)); errno = 0) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0) continue;
        if (nfiles == cap) {
            cap = cap ? cap * 2 : 64;
            char **nf = realloc(files, cap * sizeof *nf);
            if (!nf) return 2;
            files = nf;
        }
        files[nfiles++] = strdup(de->d_name);
    }
    if (errno != 0) {
        /* Not an empty run: a listing that failed part-way (EOVERFLOW for a 64-bit
         * inode in a 32-bit build without large-file support, for one). */
        fprintf(stderr, "tether_conformance: cannot list %s: %s\n", dir, strerror(errno));
        closedir(d);
        tether_runtime_free(rt);
        return 2;
    }
    closedir(d);
    if (nfiles) qsort(files, nfiles, sizeof *files, by_name);

    int mismatches = 0;
    buf line = {0}, path = {0};
    for (size_t i = 0; i < nfiles; i++) {
        current_file = files[i];
        buf_reset(&path);
        buf_printf(&path, "%s/%s", dir, files[i]);
        json_object *v = json_object_from_file(path.s);
        if (!v) die("not valid JSON: %s", json_util_get_last_err());
        const char *name = req_string(v, "name");
        const char *kind = req_string(v, "kind");
        buf_reset(&line);
        if (strcmp(kind, "classify") == 0)
            run_classify(rt, v, &line);
        else if (strcmp(kind, "validate") == 0)
            run_validate(rt, v, &line);
        else if (strcmp(kind, "schedule") == 0)
            run_schedule(rt, v, &line);
        else if (strcmp(kind, "flow") == 0)
            run_flow(rt, v, &line);
        else if (strcmp(kind, "identity") == 0)
            run_identity(rt, v, &line);
        else
            die("unknown kind `%s`", kind);
        printf("%s: %s\n", name, line.s ? line.s : "");
        if (check) {
            const char *expected = opt_string(v, "expected");
            if (!expected || strcmp(expected, line.s ? line.s : "") != 0) {
                mismatches++;
                fprintf(stderr, "MISMATCH %s\n  expected: %s\n  actual:   %s\n", name,
                        expected ? expected : "(none)", line.s ? line.s : "");
            }
        }
        json_object_put(v);
        free(files[i]);
    }
    fflush(stdout);
    free(files);
    free(line.s);
    free(path.s);
    tether_runtime_free(rt);
    if (check && mismatches) {
        fprintf(stderr, "tether_conformance: %d of %zu vectors differ from `expected`\n",
                mismatches, nfiles);
        return 1;
    }
    return 0;
}
