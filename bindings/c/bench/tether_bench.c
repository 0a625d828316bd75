/*
 * tether_bench: what one decision costs through the component from C, the same
 * measurements as the Rust host's `cargo bench -p tether-benches --bench decisions`.
 *
 *   tether_bench <tether.wasm> [iterations]
 *
 * Prints one line per measurement: the mean over `iterations` (default 20000)
 * after a warm-up, in microseconds. A benchmark, not a test: it asserts nothing
 * about time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tether.h"

typedef struct {
    uint64_t now_ns;
    uint64_t link;     /* the last link opened */
    uint64_t deadline; /* the last wake-at deadline */
    int opens, wakes;
} sim;

static void on_open(void *u, uint64_t link, const char *hub, const char *device_id,
                    const char *credential) {
    (void)hub;
    (void)device_id;
    (void)credential;
    sim *s = u;
    s->link = link;
    s->opens++;
}

static void on_wake_at(void *u, uint64_t deadline_ns) {
    sim *s = u;
    s->deadline = deadline_ns;
    s->wakes++;
}

static uint64_t virtual_now(void *u) { return ((sim *)u)->now_ns; }

static double us_since(uint64_t start) { return (double)(tether_now_ns() - start) / 1000.0; }

static void fail(const char *what, const char *message) {
    fprintf(stderr, "tether_bench: %s: %s\n", what, message);
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: tether_bench <tether.wasm> [iterations]\n");
        return 2;
    }
    long iters = argc > 2 ? strtol(argv[2], NULL, 10) : 20000;
    if (iters <= 0) iters = 20000;
    tether_error *err = NULL;

    uint64_t t0 = tether_now_ns();
    tether_runtime *rt = tether_runtime_new(argv[1], &err);
    if (!rt) fail("loading the component", tether_error_message(err));
    printf("runtime (read, compile, link)         %10.1f us (once)\n", us_since(t0));

    /* classify: MQTT 5 0x87 not authorized */
    tether_failure not_authorized = tether_failure_mqtt_reason(0x87);
    tether_classification cls;
    for (long i = 0; i < iters / 10; i++) tether_classify(rt, &not_authorized, &cls);
    t0 = tether_now_ns();
    for (long i = 0; i < iters; i++) {
        if (tether_classify(rt, &not_authorized, &cls) != TETHER_OK)
            fail("classify", tether_runtime_last_error(rt));
    }
    printf("classify                              %10.3f us/op (%s)\n", us_since(t0) / iters,
           cls.rule);

    /* retry-schedule.next, default policy */
    tether_schedule *sched = tether_schedule_new(rt, "{}", 7, &err);
    if (!sched) fail("retry-schedule.create", tether_error_message(err));
    tether_decision dec;
    t0 = tether_now_ns();
    for (long i = 0; i < iters; i++) {
        if (tether_schedule_next(sched, NULL, NULL, &dec) != TETHER_OK)
            fail("retry-schedule.next", tether_runtime_last_error(rt));
    }
    printf("retry-schedule.next                   %10.3f us/op\n", us_since(t0) / iters);
    tether_schedule_free(sched);

    /* identity.connection-string-token: parse, HMAC-SHA256, encode, and the string
     * copied out and freed. The token is never printed. */
    const char *cs = "HostName=h.example;DeviceId=d;SharedAccessKey=Zm9vYmFyYmF6cXV4";
    t0 = tether_now_ns();
    for (long i = 0; i < iters; i++) {
        char *token = NULL;
        if (tether_connection_string_token(rt, cs, 1700000000, &token, &err) != TETHER_OK)
            fail("connection-string-token", tether_error_message(err));
        tether_string_free(token);
    }
    printf("identity.connection-string-token      %10.3f us/op\n", us_since(t0) / iters);

    /* connection.on-failed: classify + backoff decision with its callbacks
     * (status-changed, decided, wake-at). The wake-up that opens the next link
     * is set-up, outside the timing. */
    sim s = {0};
    tether_callbacks cb = {.open = on_open, .wake_at = on_wake_at, .now = virtual_now};
    tether_connection *c = tether_connection_new(rt, "{\"hub\": \"hub-a\", \"seed\": 3}", &cb,
                                                 &s, &err);
    if (!c) fail("connection.create", tether_error_message(err));
    if (tether_start(c) != TETHER_OK) fail("start", tether_connection_last_error(c));
    tether_failure refused = tether_failure_network(TETHER_NET_REFUSED);
    double failed_us = 0;
    for (long i = 0; i < iters; i++) {
        int wakes = s.wakes;
        t0 = tether_now_ns();
        tether_rc rc = tether_on_failed(c, s.link, &refused);
        failed_us += us_since(t0);
        if (rc != TETHER_OK || s.wakes == wakes)
            fail("on-failed gave no backoff", tether_connection_last_error(c));
        int opens = s.opens;
        s.now_ns = s.deadline;
        tether_on_wake(c);
        if (s.opens == opens) fail("on-wake opened no link", tether_connection_last_error(c));
    }
    printf("connection.on-failed (backoff)        %10.3f us/op\n", failed_us / iters);
    tether_connection_free(c);

    /* instantiation: a store, an instance and connection.create */
    long n_inst = iters / 20 > 50 ? iters / 20 : 50;
    t0 = tether_now_ns();
    for (long i = 0; i < n_inst; i++) {
        tether_connection *x = tether_connection_new(rt, "{\"hub\": \"hub-a\", \"seed\": 3}",
                                                     NULL, NULL, &err);
        if (!x) fail("connection.create", tether_error_message(err));
        tether_connection_free(x);
    }
    printf("instantiate + connection.create + free %9.1f us/op\n", us_since(t0) / n_inst);

    tether_runtime_free(rt);
    return 0;
}
