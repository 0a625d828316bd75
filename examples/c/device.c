/*
 * device.c: a C device app on tether, with libmosquitto as its MQTT transport.
 *
 *   tether_device --wasm target/wasm/wasm32-wasip2/release/tether_component.wasm \
 *                 --port 1883 [--host 127.0.0.1] [--messages 20] [--interval-ms 100]
 *                 [--timeout-s 60] [--device-id c-device-1] [--config JSON]
 *
 * or --precompiled tether.cwasm (`tether compile -o tether.cwasm`) instead of
 * --wasm: no compiling at start, and the only way in a TETHER_PRECOMPILED_ONLY build.
 *
 * It publishes --messages numbered QoS 1 messages through tether, prints every
 * status change and decision, and exits once every accepted message has its
 * outcome, with a summary line:
 *
 *   summary accepted=20 delivered=20 failed=0
 *
 * Exit status 0 when all outcomes are known, 1 when --timeout-s ran out first
 * (the app then stops tether, which fails what is left with client-close), 2
 * on a usage or setup error.
 *
 * tether owns every wait: libmosquitto never reconnects by itself here (no
 * mosquitto_loop_forever / loop_start, one client per link), the app opens a
 * link only when tether's `open` callback asks, and it sleeps until tether's
 * next wake-up deadline. What the app does is observe and report:
 *
 *   TCP connect refused                 -> on_failed(network refused)
 *   other connect errors                -> network timeout / unreachable / dns / closed
 *   CONNACK return code 1-5             -> on_failed(mqtt-connack(rc))
 *   link lost before CONNACK            -> on_failed(network closed)
 *   link lost after CONNACK             -> on_closed(network reset or closed;
 *                                          keep-alive-lost on a keep-alive timeout)
 *   PUBACK for a message                -> on_acked(message)
 *
 * libmosquitto's callbacks only record what happened; the main loop reports it
 * to tether after mosquitto_loop returns, so no client is destroyed from inside
 * its own callback.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>

#include "tether.h"

#define CONNECT_TIMEOUT_MS 10000
#define KEEPALIVE_S 10

typedef struct {
    int mid;
    uint64_t message;
} inflight;

typedef struct app {
    tether_connection *conn;
    uint64_t t0;
    bool quiet;

    /* the one link tether has open (or opening) */
    struct mosquitto *mosq;
    uint64_t link;
    bool connacked;
    uint64_t opened_at;
    inflight *inflight;
    size_t n_inflight, cap_inflight;

    /* an `open` asked for, carried out by the main loop */
    bool open_pending;
    uint64_t open_link;
    char *open_hub, *open_device_id, *open_credential;

    /* facts recorded by libmosquitto's callbacks, reported by the main loop */
    bool got_connack;
    int connack_rc;
    bool got_disconnect;
    int disconnect_rc;
    int disconnect_errno;
    int *acked_mids;
    size_t n_acked, cap_acked;
    bool send_failed;

    /* counts */
    unsigned accepted, delivered, failed, refused;
} app;

static void say(app *a, const char *fmt, ...) {
    if (a->quiet) return;
    va_list ap;
    printf("[%7.3f s] ", (double)(tether_now_ns() - a->t0) / 1e9);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void *grow(void *p, size_t *cap, size_t elem) {
    size_t n = *cap ? *cap * 2 : 16;
    void *q = realloc(p, n * elem);
    if (!q) {
        fprintf(stderr, "tether_device: out of memory\n");
        exit(2);
    }
    *cap = n;
    return q;
}

static char *dup_or_null(const char *s) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) {
        fprintf(stderr, "tether_device: out of memory\n");
        exit(2);
    }
    return d;
}

/* ---- libmosquitto callbacks: record only ---- */

static void mq_on_connect(struct mosquitto *m, void *obj, int rc) {
    (void)m;
    app *a = obj;
    a->got_connack = true;
    a->connack_rc = rc;
}

static void mq_on_disconnect(struct mosquitto *m, void *obj, int rc) {
    (void)m;
    app *a = obj;
    a->got_disconnect = true;
    a->disconnect_rc = rc;
    a->disconnect_errno = errno;
}

static void mq_on_publish(struct mosquitto *m, void *obj, int mid) {
    (void)m;
    app *a = obj;
    if (a->n_acked == a->cap_acked)
        a->acked_mids = grow(a->acked_mids, &a->cap_acked, sizeof *a->acked_mids);
    a->acked_mids[a->n_acked++] = mid;
}

/* ---- the link ---- */

static void link_drop(app *a) {
    if (a->mosq) {
        mosquitto_disconnect(a->mosq);
        mosquitto_destroy(a->mosq);
    }
    a->mosq = NULL;
    a->link = 0;
    a->connacked = false;
    a->n_inflight = 0;
    a->got_connack = a->got_disconnect = a->send_failed = false;
    a->n_acked = 0;
}

static tether_failure failure_from_errno(int e) {
    switch (e) {
    case ECONNREFUSED: return tether_failure_network(TETHER_NET_REFUSED);
    case ECONNRESET:
    case EPIPE: return tether_failure_network(TETHER_NET_RESET);
    case ETIMEDOUT: return tether_failure_network(TETHER_NET_TIMEOUT);
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN: return tether_failure_network(TETHER_NET_UNREACHABLE);
    default: return tether_failure_network(TETHER_NET_CLOSED);
    }
}

static void report_rc(app *a, const char *what, tether_rc rc) {
    /* A refusal (stale-link, unexpected...) changes nothing: worth a line, no more. */
    if (rc != TETHER_OK)
        say(a, "tether refused %s: %s%s%s", what, tether_rc_name(rc), rc < 0 ? ": " : "",
            rc < 0 ? tether_connection_last_error(a->conn) : "");
}

/* Report that the current link failed to open, and forget it. */
static void link_failed(app *a, tether_failure f) {
    uint64_t link = a->link;
    link_drop(a);
    report_rc(a, "on-failed", tether_on_failed(a->conn, link, &f));
}

/* Report that the current (open) link was lost, and forget it. */
static void link_closed(app *a, tether_failure f) {
    uint64_t link = a->link;
    link_drop(a);
    report_rc(a, "on-closed", tether_on_closed(a->conn, link, &f));
}

static void do_open(app *a) {
    a->open_pending = false;
    uint64_t link = a->open_link;
    link_drop(a);
    a->link = link;
    char host[256];
    int port = 1883;
    const char *colon = a->open_hub ? strrchr(a->open_hub, ':') : NULL;
    size_t hl = colon ? (size_t)(colon - a->open_hub) : (a->open_hub ? strlen(a->open_hub) : 0);
    if (!a->open_hub || hl == 0 || hl >= sizeof host ||
        (colon && (port = atoi(colon + 1)) <= 0)) {
        say(a, "open %" PRIu64 ": cannot read host:port from %s", link,
            a->open_hub ? a->open_hub : "(none)");
        link_failed(a, tether_failure_application(TETHER_APP_BAD_ENDPOINT));
        return;
    }
    memcpy(host, a->open_hub, hl);
    host[hl] = '\0';
    a->mosq = mosquitto_new(a->open_device_id, true, a);
    if (!a->mosq) {
        link_failed(a, tether_failure_network(TETHER_NET_CLOSED));
        return;
    }
    mosquitto_connect_callback_set(a->mosq, mq_on_connect);
    mosquitto_disconnect_callback_set(a->mosq, mq_on_disconnect);
    mosquitto_publish_callback_set(a->mosq, mq_on_publish);
    if (a->open_credential)
        mosquitto_username_pw_set(a->mosq, a->open_device_id, a->open_credential);
    a->opened_at = tether_now_ns();
    errno = 0;
    int rc = mosquitto_connect(a->mosq, host, port, KEEPALIVE_S);
    if (rc == MOSQ_ERR_SUCCESS) {
        say(a, "link %" PRIu64 ": TCP connected to %s:%d, waiting for CONNACK", link, host, port);
        return;
    }
    int e = errno;
    say(a, "link %" PRIu64 ": connect to %s:%d failed: %s", link, host, port,
        rc == MOSQ_ERR_ERRNO ? strerror(e) : mosquitto_strerror(rc));
    if (rc == MOSQ_ERR_ERRNO)
        link_failed(a, failure_from_errno(e));
    else if (rc == MOSQ_ERR_EAI || rc == MOSQ_ERR_LOOKUP)
        link_failed(a, tether_failure_network(TETHER_NET_DNS));
    else if (rc == MOSQ_ERR_INVAL)
        link_failed(a, tether_failure_application(TETHER_APP_BAD_ENDPOINT));
    else
        link_failed(a, tether_failure_network(TETHER_NET_CLOSED));
}

/* ---- tether's callbacks ---- */

static void t_open(void *u, uint64_t link, const char *hub, const char *device_id,
                   const char *credential) {
    app *a = u;
    free(a->open_hub);
    free(a->open_device_id);
    free(a->open_credential);
    a->open_pending = true;
    a->open_link = link;
    a->open_hub = dup_or_null(hub);
    a->open_device_id = dup_or_null(device_id);
    a->open_credential = dup_or_null(credential);
}

static void t_send(void *u, uint64_t link, uint64_t message, const char *topic,
                   const uint8_t *payload, size_t len) {
    app *a = u;
    if (!a->mosq || link != a->link || !a->connacked) return; /* a report is on its way */
    int mid = 0;
    int rc = mosquitto_publish(a->mosq, &mid, topic, (int)len, payload, 1, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        say(a, "send %" PRIu64 " on link %" PRIu64 " failed: %s", message, link,
            mosquitto_strerror(rc));
        a->send_failed = true; /* the link is gone: reported by the main loop */
        return;
    }
    if (a->n_inflight == a->cap_inflight)
        a->inflight = grow(a->inflight, &a->cap_inflight, sizeof *a->inflight);
    a->inflight[a->n_inflight++] = (inflight){mid, message};
}

static void t_close(void *u, uint64_t link) {
    app *a = u;
    if (a->open_pending && a->open_link == link) a->open_pending = false;
    if (a->mosq && a->link == link) link_drop(a);
}

static void t_status(void *u, const tether_status_change *s) {
    say(u, "status %s %s", tether_status_name(s->status), tether_reason_name(s->reason));
}

static void t_decided(void *u, const tether_decision_event *d) {
    const char *cause = d->has_cause ? d->cause.rule : "-";
    switch (d->action) {
    case TETHER_ACTION_CONNECT:
        say(u, "decide connect link %" PRIu64 " to %s (attempt %u) cause=%s", d->link, d->hub,
            d->attempt, cause);
        break;
    case TETHER_ACTION_BACKOFF:
        say(u, "decide backoff %" PRIu64 " ms after attempt %u (%s) cause=%s", d->delay_ms,
            d->attempt, tether_curve_name(d->curve), cause);
        break;
    case TETHER_ACTION_GIVE_UP:
        say(u, "decide give-up %s cause=%s", tether_give_up_reason_name(d->give_up), cause);
        break;
    default: say(u, "decide %s cause=%s", tether_action_name(d->action), cause); break;
    }
}

static void t_outcome(void *u, uint64_t message, const tether_outcome *o) {
    app *a = u;
    if (o->delivered) {
        a->delivered++;
        say(a, "outcome %" PRIu64 " delivered", message);
    } else {
        a->failed++;
        say(a, "outcome %" PRIu64 " failed %s", message, tether_message_failure_name(o->failure));
    }
}

/* ---- after mosquitto_loop: report what the callbacks recorded ---- */

static void report_link_events(app *a) {
    if (!a->mosq) return;
    /* PUBACKs first: they arrived before any loss seen in the same loop. */
    for (size_t i = 0; i < a->n_acked && a->mosq; i++) {
        int mid = a->acked_mids[i];
        for (size_t k = 0; k < a->n_inflight; k++) {
            if (a->inflight[k].mid != mid) continue;
            uint64_t message = a->inflight[k].message;
            a->inflight[k] = a->inflight[--a->n_inflight];
            report_rc(a, "on-acked", tether_on_acked(a->conn, message));
            break;
        }
    }
    a->n_acked = 0;
    if (!a->mosq) return;
    if (a->got_connack) {
        a->got_connack = false;
        if (a->connack_rc == 0) {
            a->connacked = true;
            say(a, "link %" PRIu64 ": CONNACK accepted", a->link);
            report_rc(a, "on-opened", tether_on_opened(a->conn, a->link));
        } else {
            say(a, "link %" PRIu64 ": CONNACK refused, return code %d", a->link, a->connack_rc);
            link_failed(a, tether_failure_mqtt_connack((uint8_t)a->connack_rc));
            return;
        }
    }
    if (!a->mosq) return;
    if (a->got_disconnect || a->send_failed) {
        int rc = a->disconnect_rc, e = a->disconnect_errno;
        bool send_failed = a->send_failed && !a->got_disconnect;
        say(a, "link %" PRIu64 ": lost (%s)", a->link,
            send_failed ? "send failed" : mosquitto_strerror(rc));
        tether_failure f;
        if (rc == MOSQ_ERR_KEEPALIVE) {
            f = (tether_failure){.kind = TETHER_FAILURE_KEEP_ALIVE_LOST};
        } else if (!send_failed && (e == ECONNRESET || e == EPIPE)) {
            f = tether_failure_network(TETHER_NET_RESET);
        } else {
            f = tether_failure_network(TETHER_NET_CLOSED);
        }
        if (a->connacked)
            link_closed(a, f);
        else
            link_failed(a, f);
        return;
    }
    if (!a->connacked && tether_now_ns() - a->opened_at > (uint64_t)CONNECT_TIMEOUT_MS * 1000000u) {
        say(a, "link %" PRIu64 ": no CONNACK in %d ms", a->link, CONNECT_TIMEOUT_MS);
        link_failed(a, tether_failure_network(TETHER_NET_TIMEOUT));
    }
}

/* ---- main ---- */

static void usage(void) {
    fprintf(stderr, "usage: tether_device (--wasm PATH | --precompiled PATH) --port PORT [--host 127.0.0.1] "
                    "[--messages N] [--interval-ms MS] [--timeout-s S] [--device-id ID] "
                    "[--config JSON] [--quiet]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *wasm = getenv("TETHER_WASM"), *precompiled = getenv("TETHER_PRECOMPILED"), *host = "127.0.0.1", *device_id = "c-device-1",
               *config = NULL;
    int port = 0;
    long messages = 20, interval_ms = 100, timeout_s = 60;
    bool quiet = false;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--quiet") == 0) {
            quiet = true;
            continue;
        }
        if (!v) usage();
        i++;
        if (strcmp(o, "--wasm") == 0) wasm = v;
        else if (strcmp(o, "--precompiled") == 0) precompiled = v;
        else if (strcmp(o, "--host") == 0) host = v;
        else if (strcmp(o, "--port") == 0) port = atoi(v);
        else if (strcmp(o, "--messages") == 0) messages = atol(v);
        else if (strcmp(o, "--interval-ms") == 0) interval_ms = atol(v);
        else if (strcmp(o, "--timeout-s") == 0) timeout_s = atol(v);
        else if (strcmp(o, "--device-id") == 0) device_id = v;
        else if (strcmp(o, "--config") == 0) config = v;
        else usage();
    }
    if ((!wasm && !precompiled) || (!config && port <= 0) || messages < 0 || interval_ms < 0 || timeout_s <= 0)
        usage();

    char default_config[1024];
    if (!config) {
        /* A quick policy so a broker restart costs seconds, not a minute. */
        snprintf(default_config, sizeof default_config,
                 "{\"hub\": \"%s:%d\", \"device-id\": \"%s\","
                 " \"policy\": {\"kind\": \"exponential\", \"initial-ms\": 200,"
                 " \"max-ms\": 2000, \"jitter\": \"equal\"},"
                 " \"queue\": {\"capacity\": 256, \"max-in-flight\": 16}}",
                 host, port, device_id);
        config = default_config;
    }

    app a = {.t0 = tether_now_ns(), .quiet = quiet};
    tether_error *err = NULL;
    /* A component precompiled by `tether compile` loads without compiling (and is
     * the only kind a TETHER_PRECOMPILED_ONLY build loads). */
    tether_runtime *rt = precompiled ? tether_runtime_new_precompiled_file(precompiled, &err)
                                     : tether_runtime_new(wasm, &err);
    if (!rt) {
        fprintf(stderr, "tether_device: %s\n", tether_error_message(err));
        tether_error_free(err);
        return 2;
    }
    mosquitto_lib_init();
    tether_callbacks cb = {
        .open = t_open,
        .send = t_send,
        .close = t_close,
        .status = t_status,
        .decided = t_decided,
        .outcome = t_outcome,
    };
    a.conn = tether_connection_new(rt, config, &cb, &a, &err);
    if (!a.conn) {
        fprintf(stderr, "tether_device: configuration refused: %s%s%s\n",
                tether_error_field(err), *tether_error_field(err) ? ": " : "",
                tether_error_message(err));
        tether_error_free(err);
        tether_runtime_free(rt);
        mosquitto_lib_cleanup();
        return 2;
    }
    say(&a, "device %s publishing %ld messages, one every %ld ms", device_id, messages,
        interval_ms);
    report_rc(&a, "start", tether_start(a.conn));

    uint64_t deadline_all = a.t0 + (uint64_t)timeout_s * 1000000000u;
    uint64_t next_publish = tether_now_ns();
    long number = 1;
    bool timed_out = false;
    char topic[300], payload[64];
    snprintf(topic, sizeof topic, "tether/%s/telemetry", device_id);
    for (;;) {
        if (a.open_pending) do_open(&a);
        uint64_t now = tether_now_ns();
        if (number <= messages && now >= next_publish) {
            int len = snprintf(payload, sizeof payload, "{\"n\": %ld}", number);
            uint64_t id;
            tether_rc rc = tether_publish(a.conn, topic, (const uint8_t *)payload, (size_t)len,
                                          &id);
            if (rc == TETHER_OK) {
                a.accepted++;
                say(&a, "publish %ld accepted as message %" PRIu64, number, id);
                number++;
            } else {
                a.refused++;
                say(&a, "publish %ld refused: %s", number, tether_rc_name(rc));
                if (rc != TETHER_PUBLISH_QUEUE_FULL) number = messages + 1; /* stopped */
            }
            next_publish = now + (uint64_t)interval_ms * 1000000u;
        }
        uint64_t wake = 0;
        bool has_wake = tether_next_wake(a.conn, &wake);
        if (has_wake && now >= wake) {
            tether_on_wake(a.conn);
            continue;
        }
        if (number > messages && a.delivered + a.failed == a.accepted) break;
        if (now >= deadline_all) {
            timed_out = true;
            break;
        }
        if (a.open_pending) continue;
        /* Sleep until the first of: tether's deadline, the next publish, 100 ms. */
        uint64_t until = now + 100000000u;
        if (has_wake && wake < until) until = wake;
        if (number <= messages && next_publish < until) until = next_publish;
        int timeout_ms = (int)((until - now + 999999u) / 1000000u);
        if (a.mosq) {
            int rc = mosquitto_loop(a.mosq, timeout_ms, 1);
            if (rc == MOSQ_ERR_NO_CONN && !a.got_disconnect) {
                /* The socket is gone without a callback: count it as lost. */
                a.got_disconnect = true;
                a.disconnect_rc = rc;
                a.disconnect_errno = 0;
            }
            report_link_events(&a);
        } else {
            poll(NULL, 0, timeout_ms);
        }
    }
    if (timed_out) say(&a, "timed out after %ld s: stopping", timeout_s);
    tether_stop(a.conn); /* closes the link; anything left fails with client-close */
    link_drop(&a);
    printf("summary accepted=%u delivered=%u failed=%u refused=%u\n", a.accepted, a.delivered,
           a.failed, a.refused);
    fflush(stdout);
    bool all_known = a.delivered + a.failed == a.accepted;
    tether_connection_free(a.conn);
    tether_runtime_free(rt);
    free(a.inflight);
    free(a.acked_mids);
    free(a.open_hub);
    free(a.open_device_id);
    free(a.open_credential);
    mosquitto_lib_cleanup();
    return (!timed_out && all_known) ? 0 : 1;
}
