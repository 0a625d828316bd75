/*
 * tether_device_test: the device client under hostile use, and the transport's
 * mapping table.
 *
 *   tether_device_test PORT     (a mosquitto on 127.0.0.1:PORT, for the threaded parts)
 *
 * Every check prints `ok <what>` or `FAIL <what>: <detail>`; the last line is
 * `<n> passed, <m> failed`. Exit status 0 only when nothing failed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mosquitto.h>

#include "tether_device.h"

static int passed, failures;
/* One compiled component for every device (compiling is the slow part under valgrind). */
static tether_runtime *rt;

static void check(bool ok, const char *what, const char *detail) {
    if (ok) {
        passed++;
        printf("ok %s\n", what);
    } else {
        failures++;
        printf("FAIL %s: %s\n", what, detail ? detail : "");
    }
    fflush(stdout);
}

/* ---- the mapping ---- */

static bool is_net(tether_failure f, tether_network_error e) {
    return f.kind == TETHER_FAILURE_NETWORK && f.network == e;
}

static void mapping(void) {
    struct {
        int rc, err_no, version;
        tether_failure_kind kind;
        int detail; /* network error, or code */
        const char *what;
    } rows[] = {
        {MOSQ_ERR_ERRNO, ECONNREFUSED, 4, TETHER_FAILURE_NETWORK, TETHER_NET_REFUSED, "ECONNREFUSED"},
        {MOSQ_ERR_ERRNO, ECONNRESET, 4, TETHER_FAILURE_NETWORK, TETHER_NET_RESET, "ECONNRESET"},
        {MOSQ_ERR_ERRNO, ECONNABORTED, 5, TETHER_FAILURE_NETWORK, TETHER_NET_RESET, "ECONNABORTED"},
        {MOSQ_ERR_ERRNO, EPIPE, 4, TETHER_FAILURE_NETWORK, TETHER_NET_RESET, "EPIPE"},
        {MOSQ_ERR_ERRNO, ETIMEDOUT, 4, TETHER_FAILURE_NETWORK, TETHER_NET_TIMEOUT, "ETIMEDOUT"},
        {MOSQ_ERR_ERRNO, ENETUNREACH, 4, TETHER_FAILURE_NETWORK, TETHER_NET_UNREACHABLE, "ENETUNREACH"},
        {MOSQ_ERR_ERRNO, EHOSTUNREACH, 4, TETHER_FAILURE_NETWORK, TETHER_NET_UNREACHABLE, "EHOSTUNREACH"},
        {MOSQ_ERR_ERRNO, EADDRNOTAVAIL, 4, TETHER_FAILURE_NETWORK, TETHER_NET_UNREACHABLE, "EADDRNOTAVAIL"},
        {MOSQ_ERR_ERRNO, EPROTO, 4, TETHER_FAILURE_NETWORK, TETHER_NET_TLS, "EPROTO (OpenSSL)"},
        {MOSQ_ERR_ERRNO, EBADF, 4, TETHER_FAILURE_NETWORK, TETHER_NET_CLOSED, "EBADF"},
        {MOSQ_ERR_EAI, 0, 4, TETHER_FAILURE_NETWORK, TETHER_NET_DNS, "MOSQ_ERR_EAI"},
        {MOSQ_ERR_LOOKUP, 0, 4, TETHER_FAILURE_NETWORK, TETHER_NET_DNS, "MOSQ_ERR_LOOKUP"},
        {MOSQ_ERR_TLS, 0, 4, TETHER_FAILURE_NETWORK, TETHER_NET_TLS, "MOSQ_ERR_TLS"},
        {MOSQ_ERR_TLS_HANDSHAKE, 0, 5, TETHER_FAILURE_NETWORK, TETHER_NET_TLS, "MOSQ_ERR_TLS_HANDSHAKE"},
        {MOSQ_ERR_TIMEOUT, 0, 4, TETHER_FAILURE_NETWORK, TETHER_NET_TIMEOUT, "MOSQ_ERR_TIMEOUT"},
        {MOSQ_ERR_CONN_LOST, 0, 4, TETHER_FAILURE_NETWORK, TETHER_NET_CLOSED, "MOSQ_ERR_CONN_LOST"},
        {MOSQ_ERR_NO_CONN, 0, 5, TETHER_FAILURE_NETWORK, TETHER_NET_CLOSED, "MOSQ_ERR_NO_CONN"},
        {MOSQ_ERR_KEEPALIVE, 0, 4, TETHER_FAILURE_KEEP_ALIVE_LOST, 0, "MOSQ_ERR_KEEPALIVE"},
        {MOSQ_ERR_PROTOCOL, 0, 5, TETHER_FAILURE_MQTT_REASON, 0x82, "MOSQ_ERR_PROTOCOL (5)"},
        {MOSQ_ERR_PROTOCOL, 0, 4, TETHER_FAILURE_NETWORK, TETHER_NET_CLOSED, "MOSQ_ERR_PROTOCOL (3.1.1)"},
        {MOSQ_ERR_MALFORMED_PACKET, 0, 5, TETHER_FAILURE_MQTT_REASON, 0x81, "MOSQ_ERR_MALFORMED_PACKET"},
        {MOSQ_ERR_INVAL, 0, 4, TETHER_FAILURE_APPLICATION, TETHER_APP_BAD_ENDPOINT, "MOSQ_ERR_INVAL"},
        {0x8B, 0, 5, TETHER_FAILURE_MQTT_REASON, 0x8B, "server DISCONNECT 0x8B"},
        {0x00, 0, 5, TETHER_FAILURE_NETWORK, TETHER_NET_CLOSED, "server DISCONNECT 0x00"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        tether_failure f = tether_mosquitto_failure(rows[i].rc, rows[i].err_no, rows[i].version);
        bool ok = f.kind == rows[i].kind;
        if (ok && f.kind == TETHER_FAILURE_NETWORK) ok = f.network == (tether_network_error)rows[i].detail;
        if (ok && f.kind == TETHER_FAILURE_MQTT_REASON) ok = f.code == rows[i].detail;
        if (ok && f.kind == TETHER_FAILURE_APPLICATION) ok = f.application == (tether_application_error)rows[i].detail;
        char what[96];
        snprintf(what, sizeof what, "mapping %s", rows[i].what);
        check(ok, what, "another failure");
    }
    tether_failure f = tether_mosquitto_connack_failure(5, 4);
    check(f.kind == TETHER_FAILURE_MQTT_CONNACK && f.code == 5, "mapping CONNACK 5 (3.1.1)", NULL);
    f = tether_mosquitto_connack_failure(0x87, 5);
    check(f.kind == TETHER_FAILURE_MQTT_REASON && f.code == 0x87, "mapping CONNACK 0x87 (5)", NULL);
    f = tether_mosquitto_connack_failure(0x9C, 5);
    check(f.kind == TETHER_FAILURE_MQTT_REASON && f.code == 0x9C, "mapping CONNACK 0x9C (5)", NULL);
    check(is_net(tether_mosquitto_connack_failure(0x10, 5), TETHER_NET_CLOSED),
          "mapping CONNACK below 0x80 (5)", NULL);
}

/* ---- outcomes: exactly one per accepted message ---- */

#define MAX_IDS 4096
static pthread_mutex_t count_lock = PTHREAD_MUTEX_INITIALIZER;
static int counts[MAX_IDS];
static int delivered_n, failed_n;

static void count_outcome(void *u, uint64_t id, const tether_outcome *o) {
    (void)u;
    pthread_mutex_lock(&count_lock);
    if (id < MAX_IDS) counts[id]++;
    if (o->delivered) delivered_n++;
    else failed_n++;
    pthread_mutex_unlock(&count_lock);
}

static void reset_counts(void) {
    memset(counts, 0, sizeof counts);
    delivered_n = failed_n = 0;
}

static bool each_once(const uint64_t *ids, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (ids[i] >= MAX_IDS || counts[ids[i]] != 1) return false;
    return true;
}

static void config_for(char *buf, size_t cap, int port, const char *extra) {
    snprintf(buf, cap,
             "{\"hub\": \"127.0.0.1:%d\", \"device-id\": \"c-hostile\", \"policy\": {\"kind\": "
             "\"fixed\", \"interval-ms\": 100}, \"queue\": {\"capacity\": 1000, "
             "\"max-payload-bytes\": 1024}%s}",
             port, extra ? extra : "");
}

static tether_device *device_on(int port, tether_device_options *o) {
    static char config[512];
    config_for(config, sizeof config, port, NULL);
    o->config_json = config;
    o->runtime = rt;
    if (!o->topic) o->topic = "tether/c-hostile";
    tether_error *err = NULL;
    tether_device *d = tether_device_new(o, &err);
    if (!d) {
        printf("FAIL making a device: %s\n", tether_error_message(err));
        tether_error_free(err);
        exit(1);
    }
    return d;
}

/* ---- bad arguments ---- */

static void bad_arguments(void) {
    tether_error *err = NULL;
    check(tether_device_new(NULL, &err) == NULL && err &&
              tether_error_kind_of(err) == TETHER_ERROR_ARGUMENT,
          "new(NULL) is an argument error", NULL);
    tether_error_free(err);
    err = NULL;
    tether_device_options o = {.runtime = rt, .config_json = "{\"hub\": \"127.0.0.1:1\", \"policy\": {\"initial-ms\": \"fast\"}}"};
    check(tether_device_new(&o, &err) == NULL && err &&
              strcmp(tether_error_field(err), "policy.initial-ms") == 0,
          "a bad configuration names its field", err ? tether_error_field(err) : "no error");
    tether_error_free(err);
    err = NULL;
    o = (tether_device_options){.runtime = rt, .config_json = "{\"hub\": \"127.0.0.1:1\"}", .tls_ca_file = "/nonexistent/ca.pem"};
    check(tether_device_new(&o, &err) == NULL && err && strcmp(tether_error_field(err), "tls_ca_file") == 0,
          "an unreadable CA file names tls_ca_file", err ? tether_error_message(err) : "no error");
    tether_error_free(err);
    err = NULL;
    o = (tether_device_options){.runtime = rt, .config_json = "{\"hub\": \"127.0.0.1:1\"}", .mqtt_version = 7};
    check(tether_device_new(&o, &err) == NULL && err && strcmp(tether_error_field(err), "mqtt_version") == 0,
          "MQTT version 7 names mqtt_version", NULL);
    tether_error_free(err);
    err = NULL;
    check(tether_device_new_from_connection_string(NULL, NULL, &err) == NULL && err,
          "a NULL connection string is refused", NULL);
    tether_error_free(err);
    err = NULL;
    const char *secret = "c2VjcmV0LWtleS1kby1ub3Qtc2hvdw==";
    char cs[256];
    snprintf(cs, sizeof cs, "HostName=hub.example;SharedAccessKey=%s", secret);
    tether_device *d = tether_device_new_from_connection_string(cs, &(tether_device_options){.runtime = rt}, &err);
    check(d == NULL && err && strstr(tether_error_message(err), secret) == NULL &&
              strstr(tether_error_field(err), secret) == NULL &&
              strstr(tether_error_field(err), "DeviceId") != NULL,
          "a connection string without DeviceId is refused naming it, not the key",
          err ? tether_error_message(err) : "no error");
    tether_error_free(err);
    err = NULL;
    snprintf(cs, sizeof cs, "HostName=hub.example;DeviceId=dev;SharedAccessKey=%s", secret);
    tether_device_options hub = {.runtime = rt, .client_id = "mine"};
    check(tether_device_new_from_connection_string(cs, &hub, &err) == NULL && err &&
              strcmp(tether_error_field(err), "client_id") == 0,
          "IoT Hub refuses a client_id of its own", NULL);
    tether_error_free(err);
    err = NULL;
    hub = (tether_device_options){.runtime = rt, .config_json = "[1]"};
    check(tether_device_new_from_connection_string(cs, &hub, &err) == NULL && err &&
              strcmp(tether_error_field(err), "config_json") == 0,
          "IoT Hub's extra configuration must be an object", NULL);
    tether_error_free(err);
    err = NULL;
    d = tether_device_new_from_connection_string(cs, &(tether_device_options){.runtime = rt}, &err);
    check(d != NULL && strcmp(tether_device_topic(d), "devices/dev/messages/events/") == 0,
          "a connection string's device has the telemetry topic", d ? tether_device_topic(d) : tether_error_message(err));
    tether_error_free(err);
    tether_device_free(d);

    /* NULL devices */
    tether_status_change s;
    check(tether_device_start(NULL) == TETHER_ERR_ARGUMENT, "start(NULL)", NULL);
    check(tether_device_publish(NULL, "t", "x", 1, NULL, NULL, NULL) == TETHER_ERR_ARGUMENT,
          "publish(NULL)", NULL);
    check(tether_device_run(NULL) == TETHER_ERR_ARGUMENT, "run(NULL)", NULL);
    check(tether_device_step(NULL, 0) == TETHER_ERR_ARGUMENT, "step(NULL)", NULL);
    check(tether_device_stop(NULL) == TETHER_ERR_ARGUMENT, "stop(NULL)", NULL);
    check(tether_device_fd(NULL) == -1 && tether_device_next_timeout_ms(NULL) == -1, "fd(NULL)", NULL);
    check(tether_device_status(NULL, &s) == TETHER_ERR_ARGUMENT && tether_device_pending(NULL) == 0,
          "status(NULL)", NULL);
    check(strstr(tether_device_last_error(NULL), "not a live") != NULL, "last_error(NULL)", NULL);
    tether_device_free(NULL);
    tether_device_stop_async(NULL);
    int not_a_device = 0;
    check(tether_device_publish((tether_device *)&not_a_device, "t", "x", 1, NULL, NULL, NULL) ==
              TETHER_ERR_ARGUMENT,
          "publish on something that is no device", NULL);
}

/* ---- refusals, stop, free ---- */

static void refusals_and_stop(int dead_port) {
    reset_counts();
    tether_device_options o = {0};
    o.outcome = NULL;
    tether_device *d = device_on(dead_port, &o);
    uint64_t ids[16];
    size_t n = 0;
    tether_device_start(d);
    check(tether_device_publish(d, NULL, NULL, 5, count_outcome, NULL, NULL) == TETHER_ERR_ARGUMENT &&
              strstr(tether_device_last_error(d), "payload is NULL") != NULL,
          "a NULL payload with a length is an argument error", tether_device_last_error(d));
    static char big[2000];
    memset(big, 'x', sizeof big);
    check(tether_device_publish(d, NULL, big, sizeof big, count_outcome, NULL, NULL) ==
              TETHER_PUBLISH_PAYLOAD_TOO_LARGE &&
              strstr(tether_device_last_error(d), "payload-too-large") != NULL,
          "a payload over the limit is payload-too-large", tether_device_last_error(d));
    tether_device_options no_topic = {.runtime = rt};
    static char config[300];
    snprintf(config, sizeof config, "{\"hub\": \"127.0.0.1:%d\"}", dead_port);
    no_topic.config_json = config;
    tether_device *d2 = tether_device_new(&no_topic, NULL);
    check(d2 && tether_device_publish(d2, NULL, "x", 1, NULL, NULL, NULL) == TETHER_ERR_ARGUMENT,
          "publish without any topic is an argument error", NULL);
    tether_device_free(d2);
    check(tether_device_publish(d, "", "x", 1, count_outcome, NULL, NULL) == TETHER_PUBLISH_EMPTY_TOPIC,
          "an empty topic is empty-topic", NULL);
    check(tether_device_publish(d, NULL, NULL, 0, count_outcome, NULL, &ids[n]) == TETHER_OK, "an empty payload is accepted", NULL);
    n++;
    for (int i = 0; i < 5; i++) tether_device_publish(d, NULL, "m", 1, count_outcome, NULL, &ids[n++]);
    tether_device_run_for(d, 300); /* refused links, retried */
    check(tether_device_pending(d) == n, "messages wait while the broker refuses", NULL);
    check(tether_device_stop(d) == TETHER_OK && each_once(ids, n) && failed_n == (int)n,
          "stop gives every waiting message one outcome (client-close)", NULL);
    check(tether_device_stop(d) == TETHER_OK, "a second stop does nothing", NULL);
    check(tether_device_publish(d, NULL, "x", 1, count_outcome, NULL, NULL) == TETHER_PUBLISH_STOPPED,
          "publish after stop is refused: stopped", tether_device_last_error(d));
    check(tether_device_run(d) == TETHER_INPUT_STOPPED, "run after stop", NULL);
    check(tether_device_next_timeout_ms(d) == -1, "no timeout after stop", NULL);
    tether_device_free(d);
    check(tether_device_publish(d, NULL, "x", 1, NULL, NULL, NULL) == TETHER_ERR_ARGUMENT,
          "publish after free is an argument error", NULL);
    check(tether_device_run(d) == TETHER_ERR_ARGUMENT && tether_device_stop(d) == TETHER_ERR_ARGUMENT,
          "run and stop after free", NULL);
    check(strstr(tether_device_last_error(d), "not a live") != NULL, "last_error after free", NULL);
    tether_device_free(d); /* twice: nothing */
    /* free with messages waiting: their outcomes come first */
    reset_counts();
    d = device_on(dead_port, &o);
    n = 0;
    for (int i = 0; i < 3; i++) tether_device_publish(d, NULL, "m", 1, count_outcome, NULL, &ids[n++]);
    tether_device_free(d);
    check(each_once(ids, n), "free gives waiting messages their outcome", NULL);
}

/* ---- callbacks that misbehave ---- */

typedef struct {
    tether_device *d;
    int statuses;
    tether_rc run_rc, step_rc;
    bool free_in_callback;
    bool stop_in_callback;
} misbehave;

static void bad_status(void *u, const tether_status_change *s) {
    (void)s;
    misbehave *m = u;
    m->statuses++;
    m->run_rc = tether_device_run(m->d);
    m->step_rc = tether_device_step(m->d, 10);
    /* Re-entry that is allowed: publishing from a callback. */
    tether_device_publish(m->d, NULL, "from-a-callback", 15, count_outcome, NULL, NULL);
    if (m->stop_in_callback) tether_device_stop(m->d);
    if (m->free_in_callback) tether_device_free(m->d);
}

static void callbacks(int port) {
    reset_counts();
    misbehave m = {0};
    tether_device_options o = {.status = bad_status, .user = &m};
    m.d = device_on(port, &o);
    tether_device_run_for(m.d, 1500);
    check(m.statuses >= 1, "the status callback ran", NULL);
    check(m.run_rc == TETHER_ERR_REENTRANT && m.step_rc == TETHER_ERR_REENTRANT,
          "run and step from a callback are refused (re-entrant)", tether_device_last_error(m.d));
    tether_device_run_for(m.d, 500);
    check(delivered_n >= 1, "a publish from a callback is delivered", NULL);
    tether_device_free(m.d);

    /* A callback that frees its device: the free waits for the loop. */
    reset_counts();
    misbehave f = {.free_in_callback = true};
    tether_device_options fo = {.status = bad_status, .user = &f};
    f.d = device_on(port, &fo);
    tether_rc rc = tether_device_run_for(f.d, 3000);
    check(rc == TETHER_OK, "run_for returns when a callback freed the device", tether_rc_name(rc));
    check(tether_device_publish(f.d, NULL, "x", 1, NULL, NULL, NULL) == TETHER_ERR_ARGUMENT,
          "the device freed from its callback is gone afterwards", NULL);
    check(failed_n + delivered_n == 1, "its one message got one outcome", NULL);
}

/* ---- threads ---- */

typedef struct {
    tether_device *d;
    tether_rc rc;
} runner;

static void *run_thread(void *u) {
    runner *r = u;
    r->rc = tether_device_run(r->d);
    return NULL;
}

static void threads(int port) {
    reset_counts();
    tether_device_options o = {0};
    tether_device *d = device_on(port, &o);
    runner r = {.d = d};
    pthread_t t;
    pthread_create(&t, NULL, run_thread, &r);
    uint64_t ids[200];
    size_t n = 0;
    for (int i = 0; i < 200; i++) {
        if (tether_device_publish(d, NULL, "threaded", 8, count_outcome, NULL, &ids[n]) == TETHER_OK) n++;
        if (i % 20 == 0) usleep(20000);
    }
    check(tether_device_step(d, 0) == TETHER_ERR_REENTRANT || tether_device_pending(d) == 0,
          "step while another thread runs the loop is refused", tether_device_last_error(d));
    for (int i = 0; i < 200 && tether_device_pending(d) > 0; i++) usleep(20000);
    check(delivered_n == (int)n && each_once(ids, n), "200 publishes from another thread are delivered", NULL);
    tether_device_stop(d);
    pthread_join(t, NULL);
    check(r.rc == TETHER_OK, "stop from another thread ends run", tether_rc_name(r.rc));
    tether_device_free(d);

    /* free from another thread while the loop runs */
    reset_counts();
    d = device_on(port, &o);
    r = (runner){.d = d};
    pthread_create(&t, NULL, run_thread, &r);
    n = 0;
    for (int i = 0; i < 20; i++)
        if (tether_device_publish(d, NULL, "m", 1, count_outcome, NULL, &ids[n]) == TETHER_OK) n++;
    usleep(300000); /* the loop is running by now */
    tether_device_free(d);
    pthread_join(t, NULL);
    check(r.rc == TETHER_OK, "free from another thread ends run", tether_rc_name(r.rc));
    check(each_once(ids, n), "and every message has one outcome", NULL);
    check(tether_device_publish(d, NULL, "x", 1, NULL, NULL, NULL) == TETHER_ERR_ARGUMENT,
          "the device is gone after its loop returned", NULL);

    /* stop_async (what a signal handler may call) */
    d = device_on(port, &o);
    r = (runner){.d = d};
    pthread_create(&t, NULL, run_thread, &r);
    usleep(100000);
    tether_device_stop_async(d);
    pthread_join(t, NULL);
    check(r.rc == TETHER_OK, "stop_async ends run", NULL);
    tether_device_free(d);
}

/* ---- the outbox ---- */

#ifdef TETHER_HAS_OUTBOX
static int kept_n, resent_n, resent_refused_n;

static void count_kept(void *u, uint64_t message, int64_t key, void *outcome_user) {
    (void)u;
    (void)message;
    (void)key;
    (void)outcome_user;
    kept_n++;
}

static void count_resent(void *u, tether_rc rc, uint64_t message, int64_t key, const char *topic,
                         const void *payload, size_t len) {
    (void)u;
    (void)message;
    (void)key;
    (void)topic;
    (void)payload;
    (void)len;
    if (rc == TETHER_OK) resent_n++;
    else resent_refused_n++;
}

static tether_device *outbox_device(int port, const char *path, tether_error **err) {
    static char config[512];
    config_for(config, sizeof config, port, NULL);
    tether_device_options o = {.runtime = rt,
                               .config_json = config,
                               .topic = "tether/c-outbox",
                               .outbox_path = path,
                               .outcome = count_outcome,
                               .kept = count_kept,
                               .resent = count_resent};
    return tether_device_new(&o, err);
}

static long file_size(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void write_file(const char *path, const char *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (f) {
        if (len) fwrite(data, 1, len, f);
        fclose(f);
    }
}

static void outbox(int port) {
    char dir[] = "/tmp/tether-c-outbox-XXXXXX";
    if (!mkdtemp(dir)) {
        check(false, "outbox: a scratch folder", strerror(errno));
        return;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/outbox.db", dir);
    tether_error *err = NULL;
    reset_counts();
    kept_n = resent_n = resent_refused_n = 0;

    /* Nobody listens on port 1: three messages wait, and are kept at the stop. */
    tether_device *d = outbox_device(1, path, &err);
    check(d != NULL, "outbox: a new store is made", err ? tether_error_message(err) : NULL);
    tether_error_free(err);
    err = NULL;
    if (!d) return;
    tether_device_start(d);
    for (int i = 0; i < 3; i++)
        check(tether_device_publish(d, NULL, "m", 1, count_outcome, NULL, NULL) == TETHER_OK,
              "outbox: publish", tether_device_last_error(d));
    tether_device *second = outbox_device(1, path, &err);
    check(!second && err && tether_error_kind_of(err) == TETHER_ERROR_IO &&
              strcmp(tether_error_field(err), "outbox_path") == 0 &&
              strstr(tether_error_message(err), "open in another process") &&
              strstr(tether_error_message(err), path),
          "outbox: a second device on the same store is refused",
          err ? tether_error_message(err) : "made");
    tether_error_free(err);
    err = NULL;
    tether_device_free(second);
    tether_device_free(d);
    check(kept_n == 3 && delivered_n + failed_n == 0, "outbox: the stop keeps, reports no outcome",
          NULL);

    /* The next run, with a broker: resent and delivered, one outcome each. */
    reset_counts();
    d = outbox_device(port, path, &err);
    check(d != NULL, "outbox: the store opens again", err ? tether_error_message(err) : NULL);
    tether_error_free(err);
    err = NULL;
    if (!d) return;
    tether_device_start(d);
    check(resent_n == 3, "outbox: the kept messages are resent at start", NULL);
    for (int i = 0; i < 100 && delivered_n < 3; i++) tether_device_run_for(d, 100);
    check(delivered_n == 3 && failed_n == 0, "outbox: the resent messages are delivered", NULL);
    tether_device_free(d);
    long whole = file_size(path);
    char *intact = malloc((size_t)whole);
    FILE *f = fopen(path, "rb");
    size_t got = f && intact ? fread(intact, 1, (size_t)whole, f) : 0;
    if (f) fclose(f);
    check(whole > 0 && got == (size_t)whole, "outbox: closed to one file", NULL);

    /* Damaged stores: refused, naming the file, left as they were. */
    struct {
        const char *what;
        const char *data;
        size_t len;
    } cases[] = {
        {"empty", "", 0},
        {"cut to 50 bytes", intact, 50},
        {"cut in half", intact, got / 2},
        {"cut by one byte", intact, got - 1},
        {"not SQLite", "this is not a database, it is a text file of some length........"
                       "..................................................................",
         132},
    };
    for (size_t i = 0; intact && i < sizeof cases / sizeof cases[0]; i++) {
        write_file(path, cases[i].data, cases[i].len);
        d = outbox_device(port, path, &err);
        char what[96];
        snprintf(what, sizeof what, "outbox: a store %s is refused", cases[i].what);
        check(!d && err && tether_error_kind_of(err) == TETHER_ERROR_IO &&
                  strstr(tether_error_message(err), "the store is damaged") &&
                  strstr(tether_error_message(err), path) &&
                  file_size(path) == (long)cases[i].len,
              what, err ? tether_error_message(err) : "made");
        tether_error_free(err);
        err = NULL;
        tether_device_free(d);
    }
    write_file(path, intact, got);
    d = outbox_device(port, path, &err);
    check(d != NULL, "outbox: the intact store opens", err ? tether_error_message(err) : NULL);
    tether_error_free(err);
    tether_device_free(d);
    free(intact);
    unlink(path);
    rmdir(dir);
}
#else
static void outbox(int port) {
    (void)port;
    static char config[512];
    config_for(config, sizeof config, 1, NULL);
    tether_device_options o = {.runtime = rt, .config_json = config, .outbox_path = "o.db"};
    tether_error *err = NULL;
    tether_device *d = tether_device_new(&o, &err);
    check(!d && err && strcmp(tether_error_field(err), "outbox_path") == 0,
          "outbox_path without SQLite in the build is refused",
          err ? tether_error_message(err) : "made");
    tether_error_free(err);
    tether_device_free(d);
}
#endif

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: tether_device_test PORT (a mosquitto on 127.0.0.1)\n");
        return 2;
    }
    int port = atoi(argv[1]);
    tether_error *err = NULL;
    rt = tether_runtime_new_embedded(&err);
    if (!rt) {
        printf("FAIL the embedded runtime: %s\n", tether_error_message(err));
        tether_error_free(err);
        return 1;
    }
    mapping();
    bad_arguments();
    refusals_and_stop(1); /* port 1: nothing listens, every attempt is refused */
    callbacks(port);
    threads(port);
    outbox(port);
    /* The one device that owns its runtime (the embedded component). */
    tether_device_options own = {.config_json = "{\"hub\": \"127.0.0.1:1\"}", .topic = "t"};
    tether_device *d = tether_device_new(&own, &err);
    check(d && tether_device_publish(d, NULL, "x", 1, NULL, NULL, NULL) == TETHER_OK,
          "a device with the embedded component of its own", err ? tether_error_message(err) : NULL);
    tether_error_free(err);
    tether_device_free(d);
    tether_runtime_free(rt);
    printf("%d passed, %d failed\n", passed, failures);
    return failures ? 1 : 0;
}
