/*
 * tether_api_test: the C API's contract at its edges: bad input gives an error
 * value (never an abort), refusals come back as codes, callbacks arrive after the
 * component call and in the component's order, callbacks may call back in, and
 * a connection may be freed from inside its own callback; and the identity
 * functions' answers, ownership and refusals; subscriptions kept across links, and
 * the wall clock a minted token's expiry comes from.
 *
 *   tether_api_test <tether.wasm>
 *
 * Ends with `api: N passed, N failed`; exit status 1 when any check failed.
 * tests/c_host.rs runs it, also under valgrind.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tether.h"

static int passed, failed;

static void check(bool ok, const char *fmt, ...) {
    if (ok) {
        passed++;
        return;
    }
    failed++;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAILED: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- a recording of the callbacks ---- */

typedef struct rec {
    char log[8192];
    uint64_t now_ns;
    uint64_t wall_ns;
    uint64_t last_link;
    tether_connection *conn;
    tether_runtime *rt;
    bool fail_open_at_once; /* answer `open` with on_failed from inside the callback */
    tether_rc nested_rc;
    bool free_in_status;     /* free the connection from inside `status` */
    bool reenter_from_now;   /* call tether from inside `now` */
    tether_rc reentrant_rc;
    bool in_now;
} rec;

static void logf_(rec *r, const char *fmt, ...) {
    size_t len = strlen(r->log);
    if (len) {
        strncat(r->log, " ; ", sizeof r->log - len - 1);
        len = strlen(r->log);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->log + len, sizeof r->log - len, fmt, ap);
    va_end(ap);
}

static void cb_open(void *u, uint64_t link, const char *hub, const char *device_id,
                    const char *credential) {
    rec *r = u;
    r->last_link = link;
    logf_(r, "open %llu %s %s %s", (unsigned long long)link, hub, device_id ? device_id : "-",
          credential ? credential : "-");
    if (r->fail_open_at_once) {
        r->fail_open_at_once = false;
        tether_failure f = tether_failure_network(TETHER_NET_REFUSED);
        r->nested_rc = tether_on_failed(r->conn, link, &f);
        logf_(r, "(on_failed returned)");
    }
}
static void cb_close(void *u, uint64_t link) { logf_(u, "close %llu", (unsigned long long)link); }
static void cb_status(void *u, const tether_status_change *s) {
    rec *r = u;
    logf_(r, "status %s %s", tether_status_name(s->status), tether_reason_name(s->reason));
    if (r->free_in_status) {
        r->free_in_status = false;
        tether_connection_free(r->conn);
        r->conn = NULL;
        logf_(r, "(freed)");
    }
}
static void cb_decided(void *u, const tether_decision_event *d) {
    logf_(u, "decide %s cause=%s", tether_action_name(d->action),
          d->has_cause ? d->cause.rule : "-");
}
static void cb_outcome(void *u, uint64_t m, const tether_outcome *o) {
    logf_(u, "outcome %llu %s", (unsigned long long)m,
          o->delivered ? "delivered" : tether_message_failure_name(o->failure));
}
static void cb_wake_at(void *u, uint64_t d) {
    logf_(u, "wake-at %llu", (unsigned long long)(d / 1000000u));
}
static uint64_t cb_now(void *u) {
    rec *r = u;
    if (r->reenter_from_now && !r->in_now) {
        r->in_now = true;
        r->reentrant_rc = tether_on_wake(r->conn);
        r->in_now = false;
    }
    return r->now_ns;
}

static uint64_t cb_wall(void *u) { return ((rec *)u)->wall_ns; }
static void cb_subscribe(void *u, uint64_t link, const char *const *filters, size_t n) {
    char joined[2048] = "";
    for (size_t i = 0; i < n; i++) {
        if (i) strncat(joined, ",", sizeof joined - strlen(joined) - 1);
        strncat(joined, filters[i], sizeof joined - strlen(joined) - 1);
    }
    logf_(u, "subscribe %llu %s", (unsigned long long)link, joined);
}

static void cb_plugin_fault(void *u, const tether_plugin_fault *f) {
    logf_(u, "plugin-fault %s %s %u%s used=%llu", f->plugin,
          tether_plugin_fault_reason_name(f->reason), f->consecutive,
          f->quarantined ? " quarantined" : "", (unsigned long long)f->used.delay_ms);
}

static const tether_callbacks CALLBACKS = {
    .open = cb_open,
    .close = cb_close,
    .status = cb_status,
    .decided = cb_decided,
    .outcome = cb_outcome,
    .wake_at = cb_wake_at,
    .now = cb_now,
};

#define CONFIG "{\"hub\": \"hub-a\", \"device-id\": \"d1\", \"seed\": 5}"

static tether_connection *connect_rec(tether_runtime *rt, rec *r) {
    memset(r, 0, sizeof *r);
    r->rt = rt;
    tether_error *err = NULL;
    r->conn = tether_connection_new(rt, CONFIG, &CALLBACKS, r, &err);
    check(r->conn != NULL, "connection_new: %s", tether_error_message(err));
    tether_error_free(err);
    err = NULL;
    return r->conn;
}

static bool same(const char *a, const char *b) { return a && b && strcmp(a, b) == 0; }

/* ---- subscriptions: kept by the component, restored on every link ---- */

#define DEVICEBOUND "devices/d1/messages/devicebound/#"

static void subscription_checks(tether_runtime *rt) {
    static const tether_callbacks WITH_SUBSCRIBE = {
        .open = cb_open,
        .close = cb_close,
        .status = cb_status,
        .wake_at = cb_wake_at,
        .now = cb_now,
        .subscribe = cb_subscribe,
    };
    rec r;
    memset(&r, 0, sizeof r);
    tether_error *err = NULL;
    tether_connection *conn = tether_connection_new(rt, CONFIG, &WITH_SUBSCRIBE, &r, &err);
    check(conn != NULL, "subscribing connection: %s", tether_error_message(err));
    tether_error_free(err);
    if (!conn) return;
    r.conn = conn;
    check(tether_subscribe(conn, DEVICEBOUND) == TETHER_OK && r.log[0] == '\0',
          "a filter given before any link is kept, nothing sent: %s", r.log);
    check(tether_subscribe(conn, "") == TETHER_SUBSCRIBE_EMPTY_FILTER,
          "an empty filter is refused by the component");
    check(tether_subscribe(conn, NULL) == TETHER_ERR_ARGUMENT, "a NULL filter");
    check(tether_subscribe(conn, "a/\xff") == TETHER_ERR_ARGUMENT &&
              strstr(tether_connection_last_error(conn), "UTF-8"),
          "a filter that is not UTF-8: %s", tether_connection_last_error(conn));
    tether_start(conn);
    r.log[0] = '\0';
    check(tether_on_opened(conn, 1) == TETHER_OK &&
              strstr(r.log, "subscribe 1 " DEVICEBOUND) && !strstr(r.log, DEVICEBOUND ",") &&
              strstr(r.log, "status connected"),
          "the kept filter is subscribed on the new link: %s", r.log);
    r.log[0] = '\0';
    check(tether_subscribe(conn, "app/commands") == TETHER_OK &&
              strcmp(r.log, "subscribe 1 app/commands") == 0,
          "a filter given while connected is subscribed at once, alone: %s", r.log);
    r.log[0] = '\0';
    check(tether_subscribe(conn, "app/commands") == TETHER_OK && r.log[0] == '\0',
          "a filter already kept changes nothing: %s", r.log);

    char **list = NULL;
    size_t n = 99;
    check(tether_subscriptions(conn, &list, &n) == TETHER_OK && n == 2 && list &&
              same(list[0], DEVICEBOUND) && same(list[1], "app/commands") && !list[2],
          "subscriptions in the order first given: %zu", n);
    tether_subscriptions_free(list);
    tether_subscriptions_free(NULL);
    check(tether_subscriptions(conn, NULL, &n) == TETHER_ERR_ARGUMENT && n == 0,
          "subscriptions needs somewhere to put them");

    /* the link drops: the next one gets every filter again, in one call */
    tether_failure reset = tether_failure_network(TETHER_NET_RESET);
    r.now_ns = 5000000000u;
    tether_on_closed(conn, 1, &reset);
    uint64_t wake = 0;
    check(tether_next_wake(conn, &wake), "a reconnect is due");
    r.now_ns = wake;
    tether_on_wake(conn);
    r.log[0] = '\0';
    check(r.last_link == 2 && tether_on_opened(conn, 2) == TETHER_OK &&
              strstr(r.log, "subscribe 2 " DEVICEBOUND ",app/commands"),
          "restored on the new link: %s", r.log);

    /* the component keeps at most 32 */
    int kept = 0;
    tether_rc rc = TETHER_OK;
    for (int i = 0; i < 40 && rc == TETHER_OK; i++) {
        char filter[32];
        snprintf(filter, sizeof filter, "more/%d", i);
        r.log[0] = '\0';
        rc = tether_subscribe(conn, filter);
        if (rc == TETHER_OK) kept++;
    }
    check(rc == TETHER_SUBSCRIBE_TOO_MANY && kept == 30 && r.log[0] == '\0',
          "the 33rd filter is too many: %s after %d", tether_rc_name(rc), kept);
    check(tether_subscriptions(conn, &list, &n) == TETHER_OK && n == 32 && !list[32],
          "32 kept: %zu", n);
    tether_subscriptions_free(list);

    tether_stop(conn);
    check(tether_subscribe(conn, "late") == TETHER_SUBSCRIBE_STOPPED,
          "a stopped connection refuses subscriptions");
    tether_connection_free(conn);

    /* without the callback the filter could never be subscribed: refused */
    memset(&r, 0, sizeof r);
    conn = tether_connection_new(rt, CONFIG, &CALLBACKS, &r, &err);
    tether_error_free(err);
    err = NULL;
    if (conn) {
        check(tether_subscribe(conn, DEVICEBOUND) == TETHER_ERR_ARGUMENT &&
                  strstr(tether_connection_last_error(conn), "no subscribe"),
              "no subscribe callback: %s", tether_connection_last_error(conn));
        check(tether_subscriptions(conn, &list, &n) == TETHER_OK && n == 0 && list && !list[0],
              "nothing kept");
        tether_subscriptions_free(list);
        tether_connection_free(conn);
    }
    check(tether_subscribe(NULL, "x") == TETHER_ERR_ARGUMENT &&
              tether_subscriptions(NULL, &list, &n) == TETHER_ERR_ARGUMENT && list == NULL,
          "NULL connections");
}

/* ---- the wall clock: a token minted from a key expires after its lifetime ---- */

#define KEYED_CONFIG                                                                          \
    "{\"connection-string\": \"HostName=my.host.name;DeviceId=my-device;"                      \
    "SharedAccessKey=cGFzc3dvcmQ=\", \"seed\": 28, \"credential\": {\"token-lifetime-s\": 10}}"

/* The `se=` of the token the first `open` carried, or 0. */
static unsigned long long minted_expiry(tether_runtime *rt, const tether_callbacks *cb,
                                        uint64_t wall_ns) {
    rec r;
    memset(&r, 0, sizeof r);
    r.wall_ns = wall_ns;
    tether_error *err = NULL;
    tether_connection *conn = tether_connection_new(rt, KEYED_CONFIG, cb, &r, &err);
    check(conn != NULL, "keyed connection: %s", tether_error_message(err));
    tether_error_free(err);
    if (!conn) return 0;
    check(tether_start(conn) == TETHER_OK && !strstr(r.log, "renew ") &&
              strstr(r.log, "open 1 my.host.name my-device SharedAccessSignature sr="),
          "the component mints the token itself: %s", r.log);
    tether_connection_free(conn);
    const char *se = strstr(r.log, "&se=");
    return se ? strtoull(se + 4, NULL, 10) : 0;
}

/* Whole seconds of CLOCK_REALTIME: what tether_wall_ns reads. Not time(NULL): glibc
 * answers it from the coarse clock, which can still show the previous second for a
 * tick after the precise one has moved on. */
static unsigned long long realtime_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (unsigned long long)ts.tv_sec;
}

static void wall_clock_checks(tether_runtime *rt) {
    static const tether_callbacks VIRTUAL_WALL = {
        .open = cb_open, .now = cb_now, .wall_ns = cb_wall};
    /* 1.5 s after the virtual epoch: whole seconds, plus the 10 s lifetime */
    unsigned long long se =
        minted_expiry(rt, &VIRTUAL_WALL, TETHER_VIRTUAL_EPOCH_S * 1000000000u + 1500000000u);
    check(se == TETHER_VIRTUAL_EPOCH_S + 11, "expiry from the wall_ns callback: %llu", se);
    /* no callback: the system's time of day */
    static const tether_callbacks REAL_WALL = {.open = cb_open, .now = cb_now};
    unsigned long long before = realtime_s();
    se = minted_expiry(rt, &REAL_WALL, 0);
    unsigned long long after = realtime_s();
    check(se >= before + 10 && se <= after + 10, "expiry from tether_wall_ns: %llu in %llu..%llu",
          se, before + 10, after + 10);
    uint64_t wall = tether_wall_ns();
    check(wall / 1000000000u >= before && wall / 1000000000u <= realtime_s(),
          "tether_wall_ns is the time of day");
}

/* ---- identity: answers, ownership, refusals naming the field, no key in errors ---- */

#define CLI_KEY "+XLy+MVZ+aTeOnVzN2kLeB16O+kSxmz6g3rS6fAf6rw="
#define CLI_STRING                                                                            \
    "HostName=iot-hub-for-test.azure-devices.net;DeviceId=iot-device-for-test;"              \
    "SharedAccessKey=" CLI_KEY
/* The Azure CLI's test token for CLI_STRING (tests/conformance/vectors/711-*). */
#define CLI_TOKEN                                                                             \
    "SharedAccessSignature sr=iot-hub-for-test.azure-devices.net%2Fdevices%2F"               \
    "iot-device-for-test&sig=SIumZ1ACqqPJZ2okHDlW9MSYKykEpqsQY3z6FMOICd4%3D&se=1471940363"

/* Free an error and forget it: a check's message arguments may be evaluated
 * before its condition, so they must never see a freed error. */
static void drop(tether_error **err) {
    tether_error_free(*err);
    *err = NULL;
}

static void identity_checks(tether_runtime *rt) {
    tether_error *err = NULL;
    char *s = NULL;

    /* A token minted from a connection string, byte for byte the Azure CLI's. */
    check(tether_connection_string_token(rt, CLI_STRING, 1471940363, &s, &err) == TETHER_OK &&
              err == NULL && same(s, CLI_TOKEN),
          "connection-string token: %s", err ? tether_error_message(err) : "wrong token");
    tether_string_free(s);
    s = NULL;

    /* A parsed identity is owned by tether and goes straight into the MQTT settings. */
    tether_hub_identity *id = NULL;
    check(tether_parse_connection_string(
              rt, "HostName=my.host.name;DeviceId=my-device;ModuleId=my-module;"
                  "SharedAccessKeyName=policy;SharedAccessKey=Zm9vYmFy",
              &id, &err) == TETHER_OK &&
              id && same(id->host_name, "my.host.name") && same(id->module_id, "my-module") &&
              id->gateway_host_name == NULL && same(id->key_name, "policy") &&
              id->auth == TETHER_AUTH_SHARED_ACCESS_KEY,
          "parse a module string: %s", err ? tether_error_message(err) : "wrong fields");
    tether_mqtt_settings *m = NULL;
    tether_mqtt_options opts = {.model_id = "dtmi:x:y;1", .has_keep_alive = true,
                                .keep_alive_s = 5000};
    check(id && tether_hub_mqtt_settings(rt, id, &opts, &m, &err) == TETHER_OK && m &&
              same(m->host, "my.host.name") && m->port == 8883 &&
              same(m->client_id, "my-device/my-module") &&
              same(m->user_name, "my.host.name/my-device/my-module/?api-version=2021-04-12"
                                 "&model-id=dtmi%3Ax%3Ay%3B1") &&
              m->cloud_to_device_filter == NULL && m->keep_alive_s == 1177 && !m->clean_session,
          "module settings: %s", m ? m->user_name : tether_error_message(err));
    tether_mqtt_settings_free(m);
    m = NULL;
    tether_hub_identity mine = {.host_name = "h.example", .device_id = "d"};
    check(tether_hub_mqtt_settings(rt, &mine, NULL, &m, &err) == TETHER_OK &&
              same(m->cloud_to_device_filter, "devices/d/messages/devicebound/#") &&
              m->keep_alive_s == 60,
          "a caller's identity with default options");
    tether_mqtt_settings_free(m);
    m = NULL;
    tether_hub_identity_free(id);
    tether_hub_identity_free(NULL);

    /* A refusal: TETHER_CONFIG_INVALID, the field named, nothing returned, no key. */
    id = (tether_hub_identity *)&mine;
    check(tether_parse_connection_string(rt, "HostName=h;DeviceId=d;SharedAccessKey=not*base64",
                                         &id, &err) == TETHER_CONFIG_INVALID &&
              id == NULL && tether_error_kind_of(err) == TETHER_ERROR_CONFIG &&
              same(tether_error_field(err), "SharedAccessKey") &&
              !strstr(tether_error_message(err), "not*base64"),
          "a bad key is named, not quoted: %s: %s", tether_error_field(err),
          tether_error_message(err));
    drop(&err);
    s = (char *)"unchanged";
    check(tether_sas_token(rt, "", "Zm9vYmFy", NULL, 1, &s, &err) == TETHER_CONFIG_INVALID &&
              s == NULL && same(tether_error_field(err), "resource-uri"),
          "an empty resource: %s", tether_error_field(err));
    drop(&err);
    check(tether_connection_string_token(rt, "HostName=h;DeviceId=d;x509=true", 1, &s, &err) ==
                  TETHER_CONFIG_INVALID &&
              same(tether_error_field(err), "x509"),
          "an X.509 string has no token");
    drop(&err);
    mine.auth = (tether_auth_method)7;
    check(tether_hub_mqtt_settings(rt, &mine, NULL, &m, &err) == TETHER_ERR_ARGUMENT &&
              m == NULL && tether_error_kind_of(err) == TETHER_ERROR_ARGUMENT &&
              strstr(tether_error_message(err), "identity.auth"),
          "auth out of range: %s", tether_error_message(err));
    drop(&err);

    /* Keys and the DPS token of a group enrollment (Azure's documented example). */
    char *key = NULL;
    const char *group_key = "8isrFI1sGsIlvvFSSFRiMfCNzv21fjbE/+ah/lSh3lF8e2YG1Te7w1KpZhJF"
                            "FXJrqYKi9yegxkqIChbqOS9Egw==";
    check(tether_derive_device_key(rt, group_key, "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6", &key,
                                   &err) == TETHER_OK &&
              same(key, "Jsm0lyGpjaVYVP2g3FnmnmG9dI/9qU24wNoykUmermc="),
          "derived key");
    check(key && tether_dps_token(rt, "0ne00000A0A", "sn-007-888-abc-mac-a1-b2-c3-d4-e5-f6", key,
                                  1700000000, &s, &err) == TETHER_OK &&
              s && strstr(s, "&skn=registration") && !strstr(s, key),
          "a DPS token from the derived key");
    tether_string_free(s);
    s = NULL;
    tether_string_free(key);
    tether_string_free(NULL);
    check(tether_sas_token(rt, "uri", CLI_KEY, "iothubowner", 9, &s, &err) == TETHER_OK &&
              strstr(s, "sr=uri&sig=") && strstr(s, "&se=9&skn=iothubowner"),
          "a SAS token with a key name");
    tether_string_free(s);
    s = NULL;
    check(tether_hub_resource_uri(rt, "h", "d", "m", &s, &err) == TETHER_OK &&
              same(s, "h/devices/d/modules/m"),
          "a module resource");
    tether_string_free(s);
    s = NULL;

    /* list<tuple<string, string>>: the properties in order, empty when there are none. */
    tether_property props[] = {{"$.ct", "application/json"}, {"temp", "21.5"}};
    check(tether_telemetry_topic(rt, "d", NULL, props, 2, &s, &err) == TETHER_OK &&
              same(s, "devices/d/messages/events/%24.ct=application%2Fjson&temp=21.5"),
          "telemetry topic: %s", s ? s : tether_error_message(err));
    tether_string_free(s);
    s = NULL;
    check(tether_telemetry_topic(rt, "d", "m", NULL, 0, &s, &err) == TETHER_OK &&
              same(s, "devices/d/modules/m/messages/events/"),
          "no properties");
    tether_string_free(s);
    s = NULL;
    props[1].name = "";
    check(tether_telemetry_topic(rt, "d", NULL, props, 2, &s, &err) == TETHER_CONFIG_INVALID &&
              same(tether_error_field(err), "properties[1]"),
          "an empty property name is named by index: %s", tether_error_field(err));
    drop(&err);

    /* Host-side refusals: NULL, not UTF-8, no output. Nothing reaches the component. */
    check(tether_telemetry_topic(rt, "d", NULL, NULL, 1, &s, &err) == TETHER_ERR_ARGUMENT,
          "NULL properties with a count");
    drop(&err);
    props[1].value = "\xff";
    check(tether_telemetry_topic(rt, "d", NULL, props, 2, &s, &err) == TETHER_ERR_ARGUMENT &&
              strstr(tether_error_message(err), "properties[1]"),
          "a property that is not UTF-8: %s", tether_error_message(err));
    drop(&err);
    check(tether_sas_token(rt, "uri", "key-\xc0\xaf", NULL, 1, &s, &err) == TETHER_ERR_ARGUMENT &&
              s == NULL && !strstr(tether_error_message(err), "key-"),
          "a key that is not UTF-8 is refused without quoting it: %s", tether_error_message(err));
    drop(&err);
    check(tether_dps_token(rt, "scope", "reg", NULL, 1, &s, NULL) == TETHER_ERR_ARGUMENT,
          "a NULL key, and a NULL err pointer");
    check(tether_derive_device_key(rt, "Zm9vYmFy", "reg", NULL, &err) == TETHER_ERR_ARGUMENT &&
              err != NULL,
          "no output");
    drop(&err);
    check(tether_hub_resource_uri(NULL, "h", "d", NULL, &s, &err) == TETHER_ERR_ARGUMENT,
          "no runtime");
    drop(&err);
    check(tether_hub_resource_uri(rt, "h", "d", NULL, &s, NULL) == TETHER_OK &&
              same(s, "h/devices/d"),
          "the runtime still answers after refusals");
    tether_string_free(s);
    s = NULL;
    check(same(tether_auth_method_name(TETHER_AUTH_X509), "x509") &&
              tether_auth_method_from_name("shared-access-signature") ==
                  TETHER_AUTH_SHARED_ACCESS_SIGNATURE &&
              tether_auth_method_from_name("X509") == -1,
          "auth method names");
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: tether_api_test <tether.wasm>\n");
        return 2;
    }
    tether_error *err = NULL;

    /* ---- loading ---- */
    check(tether_runtime_new(NULL, &err) == NULL && tether_error_kind_of(err) ==
                                                         TETHER_ERROR_ARGUMENT,
          "a NULL path is an argument error");
    tether_error_free(err);
    err = NULL;
    check(tether_runtime_new("/nonexistent/tether.wasm", &err) == NULL &&
              tether_error_kind_of(err) == TETHER_ERROR_IO &&
              strstr(tether_error_message(err), "/nonexistent/tether.wasm"),
          "a missing file names the path: %s", tether_error_message(err));
    tether_error_free(err);
    err = NULL;
    const uint8_t junk[] = "not wasm";
    check(tether_runtime_new_from_bytes(junk, sizeof junk, &err) == NULL &&
              tether_error_kind_of(err) == TETHER_ERROR_ENGINE &&
              strstr(tether_error_message(err), "compiling the tether component"),
          "junk bytes do not compile: %s", tether_error_message(err));
    tether_error_free(err);
    err = NULL;
    check(tether_runtime_new("/nonexistent", NULL) == NULL, "a NULL err pointer is allowed");

    tether_runtime *rt = tether_runtime_new(argv[1], &err);
    if (!rt) {
        fprintf(stderr, "cannot load %s: %s\n", argv[1], tether_error_message(err));
        tether_error_free(err);
    err = NULL;
        return 2;
    }

    /* ---- decisions ---- */
    tether_classification c;
    tether_failure f = tether_failure_mqtt_reason(0x87);
    check(tether_classify(rt, &f, &c) == TETHER_OK && strcmp(c.rule, "mqtt5/0x87") == 0 &&
              c.verdict == TETHER_VERDICT_RENEW_CREDENTIAL,
          "classify 0x87: %s", c.rule);
    f = (tether_failure){.kind = TETHER_FAILURE_HTTP, .http_status = 403, .has_hub_code = true,
                         .hub_code = 403002};
    check(tether_classify(rt, &f, &c) == TETHER_OK && strcmp(c.rule, "http/403002") == 0,
          "classify 403002: %s", c.rule);
    check(tether_classify(rt, NULL, &c) == TETHER_ERR_ARGUMENT, "classify NULL");
    f = (tether_failure){.kind = (tether_failure_kind)99};
    check(tether_classify(rt, &f, &c) == TETHER_ERR_ARGUMENT &&
              strstr(tether_runtime_last_error(rt), "out of range"),
          "a failure kind out of range: %s", tether_runtime_last_error(rt));
    f = tether_failure_network((tether_network_error)42);
    check(tether_classify(rt, &f, &c) == TETHER_ERR_ARGUMENT, "a network error out of range");
    f = (tether_failure){.kind = TETHER_FAILURE_AMQP, .amqp = "amqp:\xff\xfe"};
    check(tether_classify(rt, &f, &c) == TETHER_ERR_ARGUMENT &&
              strstr(tether_runtime_last_error(rt), "UTF-8"),
          "an AMQP condition that is not UTF-8: %s", tether_runtime_last_error(rt));
    f = (tether_failure){.kind = TETHER_FAILURE_AMQP, .amqp = NULL};
    check(tether_classify(rt, &f, &c) == TETHER_ERR_ARGUMENT, "a NULL AMQP condition");
    f = (tether_failure){.kind = TETHER_FAILURE_AMQP, .amqp = "amqp:not-found",
                         .server_reference = "hub-\xc0"};
    check(tether_classify(rt, &f, &c) == TETHER_ERR_ARGUMENT, "an overlong UTF-8 encoding");
    f = tether_failure_network(TETHER_NET_DNS);
    check(tether_classify(rt, &f, &c) == TETHER_OK && strcmp(c.rule, "net/dns") == 0,
          "the runtime still works after refused arguments");
    check(tether_table_version(rt) >= 1, "table version");

    check(tether_validate_config(rt, "{\"hub\": \"h\", \"policy\": {\"initial-ms\": \"fast\"}}",
                                 &err) == TETHER_CONFIG_INVALID &&
              strcmp(tether_error_field(err), "policy.initial-ms") == 0,
          "validate names the field: %s", tether_error_field(err));
    tether_error_free(err);
    err = NULL;
    check(tether_validate_config(rt, "{\"hub\": \"h\"}", &err) == TETHER_OK && err == NULL,
          "validate ok");
    check(tether_validate_config(rt, NULL, &err) == TETHER_ERR_ARGUMENT, "validate NULL");
    tether_error_free(err);
    err = NULL;

    tether_schedule *s = tether_schedule_new(rt, "{\"kind\": \"bogus\"}", 1, &err);
    check(s == NULL && tether_error_kind_of(err) == TETHER_ERROR_CONFIG &&
              strcmp(tether_error_field(err), "policy.kind") == 0,
          "a bad policy names its field: %s: %s", tether_error_field(err),
          tether_error_message(err));
    tether_error_free(err);
    err = NULL;
    s = tether_schedule_new(rt, "{\"kind\": \"fixed\", \"interval-ms\": 250}", 1, &err);
    check(s != NULL, "schedule_new: %s", s ? "" : tether_error_message(err));
    if (s) {
        tether_decision d;
        check(tether_schedule_next(s, NULL, NULL, &d) == TETHER_OK && !d.is_give_up &&
                  d.delay_ms == 250,
              "fixed 250: %llu", (unsigned long long)d.delay_ms);
        check(tether_schedule_attempts(s) == 1, "one attempt counted");
        f = tether_failure_mqtt_reason(0x8A); /* banned: unrecoverable */
        check(tether_schedule_next(s, &f, NULL, &d) == TETHER_OK && d.is_give_up &&
                  d.give_up == TETHER_GIVE_UP_UNRECOVERABLE,
              "an unrecoverable failure gives up");
        check(tether_schedule_reset(s) == TETHER_OK && tether_schedule_attempts(s) == 0,
              "reset");
        check(tether_schedule_next(s, NULL, NULL, NULL) == TETHER_ERR_ARGUMENT, "next NULL out");
        tether_schedule_free(s);
    }
    tether_schedule_free(NULL);

    /* ---- connections: creating ---- */
    tether_connection *conn =
        tether_connection_new(rt, "{\"hub\": \"h\", \"policy\": {\"kind\": \"bogus\"}}", NULL,
                              NULL, &err);
    check(conn == NULL && tether_error_kind_of(err) == TETHER_ERROR_CONFIG &&
              strcmp(tether_error_field(err), "policy.kind") == 0,
          "a bad config names its field: %s", tether_error_field(err));
    tether_error_free(err);
    err = NULL;
    check(tether_connection_new(rt, "{\"hub\": \"\xff\"}", NULL, NULL, &err) == NULL &&
              tether_error_kind_of(err) == TETHER_ERROR_ARGUMENT,
          "a config that is not UTF-8 is an argument error");
    tether_error_free(err);
    err = NULL;
    check(tether_connection_new(NULL, CONFIG, NULL, NULL, &err) == NULL, "NULL runtime");
    tether_error_free(err);
    err = NULL;
    check(tether_start(NULL) == TETHER_ERR_ARGUMENT && tether_publish(NULL, "t", NULL, 0, NULL) ==
                                                          TETHER_ERR_ARGUMENT,
          "NULL connections are argument errors");
    tether_connection_free(NULL);

    /* ---- a normal exchange, in order ---- */
    rec r;
    conn = connect_rec(rt, &r);
    if (conn) {
        check(tether_start(conn) == TETHER_OK, "start");
        check(strcmp(r.log, "decide connect cause=- ; open 1 hub-a d1 -") == 0,
              "start connects: %s", r.log);
        check(tether_on_opened(conn, 7) == TETHER_INPUT_UNEXPECTED,
              "a link never opened is unexpected");
        r.log[0] = '\0';
        r.now_ns = 50000000;
        check(tether_on_opened(conn, 1) == TETHER_OK, "opened");
        check(strcmp(r.log, "status connected connection-ok") == 0, "connected: %s", r.log);
        uint64_t id = 0;
        check(tether_publish(conn, "t\xff", (const uint8_t *)"x", 1, &id) == TETHER_ERR_ARGUMENT &&
                  strstr(tether_connection_last_error(conn), "UTF-8"),
              "a topic that is not UTF-8: %s", tether_connection_last_error(conn));
        check(tether_publish(conn, "t", NULL, 3, &id) == TETHER_ERR_ARGUMENT,
              "a NULL payload with a length");
        check(tether_publish(conn, "", (const uint8_t *)"x", 1, &id) == TETHER_PUBLISH_EMPTY_TOPIC,
              "an empty topic is refused by the component");
        check(tether_publish(conn, "t", NULL, 0, &id) == TETHER_OK && id == 1,
              "an empty payload is a message");
        check(tether_on_acked(conn, 99) == TETHER_INPUT_UNKNOWN_MESSAGE, "unknown ack");
        tether_failure not_authorized = tether_failure_mqtt_reason(0x87);
        check(tether_on_refused(conn, 99, &not_authorized) == TETHER_INPUT_UNKNOWN_MESSAGE,
              "unknown refusal");
        check(tether_on_refused(conn, 1, NULL) == TETHER_ERR_ARGUMENT, "a refusal without failure");
        uint64_t second = 0;
        check(tether_publish(conn, "t", (const uint8_t *)"y", 1, &second) == TETHER_OK && second == 2,
              "a second message");
        r.log[0] = '\0';
        check(tether_on_refused(conn, second, &not_authorized) == TETHER_OK &&
                  strstr(r.log, "outcome 2 not-authorized"),
              "a refusal resending cannot fix ends the message: %s", r.log);
        check(tether_pending_messages(conn) == 1, "one pending");
        tether_status_change st;
        check(tether_current_status(conn, &st) == TETHER_OK &&
                  st.status == TETHER_STATUS_CONNECTED,
              "current status");
        check(tether_on_credential(conn, NULL, NULL) == TETHER_ERR_ARGUMENT,
              "a credential answer needs exactly one of ok and error");
        tether_provisioning_result pr = {.kind = TETHER_PROVISIONING_ASSIGNED, .hub = NULL};
        check(tether_on_provisioned(conn, &pr) == TETHER_ERR_ARGUMENT, "an assignment without hub");
        r.log[0] = '\0';
        check(tether_stop(conn) == TETHER_OK, "stop");
        check(strstr(r.log, "outcome 1 client-close") && strstr(r.log, "close 1") &&
                  strstr(r.log, "status disabled client-close"),
              "stop closes and fails the queue: %s", r.log);
        check(tether_on_opened(conn, 1) == TETHER_INPUT_STOPPED,
              "a stopped connection refuses inputs");
        tether_connection_free(conn);
    }

    /* ---- a callback answers at once: order is kept ---- */
    conn = connect_rec(rt, &r);
    if (conn) {
        r.fail_open_at_once = true;
        check(tether_start(conn) == TETHER_OK, "start (failing open)");
        check(r.nested_rc == TETHER_OK, "on_failed from inside open: %s",
              tether_rc_name(r.nested_rc));
        /* The nested input's calls follow everything the outer input made. */
        const char *open = strstr(r.log, "open 1"), *ret = strstr(r.log, "(on_failed returned)"),
                   *backoff = strstr(r.log, "decide backoff cause=net/refused");
        check(open && ret && backoff && open < ret && ret < backoff,
              "nested events are delivered after the call, in order: %s", r.log);
        uint64_t wake;
        check(tether_next_wake(conn, &wake) && wake > 0, "a wake-up is due");
        /* re-entering from inside `now` is refused, and the outer call still works */
        r.reenter_from_now = true;
        r.now_ns = wake;
        check(tether_on_wake(conn) == TETHER_OK, "on_wake with a re-entering clock");
        check(r.reentrant_rc == TETHER_ERR_REENTRANT, "re-entry from now: %s",
              tether_rc_name(r.reentrant_rc));
        r.reenter_from_now = false;
        check(r.last_link == 2, "the wake opened link 2: %llu", (unsigned long long)r.last_link);
        tether_connection_free(conn);
    }

    /* ---- a connection freed from inside its own callback ---- */
    conn = connect_rec(rt, &r);
    if (conn) {
        tether_start(conn);
        r.free_in_status = true;
        r.log[0] = '\0';
        tether_rc rc = tether_on_opened(conn, 1); /* status connected -> freed */
        check(rc == TETHER_OK && r.conn == NULL && strstr(r.log, "(freed)"),
              "freed from inside status: %s", r.log);
    }

    /* ---- a custom policy: this host runs no plugins, the fallback decides ---- */
    {
        static const tether_callbacks WITH_FAULTS = {
            .open = cb_open,
            .close = cb_close,
            .status = cb_status,
            .decided = cb_decided,
            .outcome = cb_outcome,
            .wake_at = cb_wake_at,
            .now = cb_now,
            .plugin_fault = cb_plugin_fault,
        };
        memset(&r, 0, sizeof r);
        r.rt = rt;
        r.conn = tether_connection_new(
            rt,
            "{\"hub\": \"hub-a\", \"seed\": 5, \"policy\": {\"kind\": \"custom\", "
            "\"plugin\": \"policy.wasm\", \"fallback\": {\"kind\": \"fixed\", "
            "\"interval-ms\": 1000}}}",
            &WITH_FAULTS, &r, &err);
        check(r.conn != NULL, "custom policy connection: %s", tether_error_message(err));
        tether_error_free(err);
        err = NULL;
        if (r.conn) {
            r.fail_open_at_once = true;
            tether_start(r.conn);
            for (int i = 0; i < 3; i++) {
                r.now_ns += 1000000000u;
                r.fail_open_at_once = true;
                tether_on_wake(r.conn);
            }
            check(strstr(r.log, "plugin-fault policy.wasm unavailable 1 used=1000") &&
                      strstr(r.log, "plugin-fault policy.wasm unavailable 2 used=1000") &&
                      strstr(r.log, "plugin-fault policy.wasm unavailable 3 quarantined used=1000") &&
                      !strstr(r.log, "unavailable 4"),
                  "faults reported, then quarantined: %s", r.log);
            tether_connection_free(r.conn);
        }
    }

    identity_checks(rt);
    subscription_checks(rt);
    wall_clock_checks(rt);

    /* ---- names ---- */
    for (int rc = -3; rc <= 12; rc++) check(tether_rc_name((tether_rc)rc)[0] != '\0', "rc name");
    check(strcmp(tether_rc_name(TETHER_INPUT_STALE_LINK), "stale-link") == 0 &&
              strcmp(tether_rc_name(TETHER_PUBLISH_PAYLOAD_TOO_LARGE), "payload-too-large") == 0 &&
              strcmp(tether_rc_name(TETHER_SUBSCRIBE_EMPTY_FILTER), "empty-filter") == 0 &&
              strcmp(tether_rc_name(TETHER_SUBSCRIBE_STOPPED), "stopped") == 0,
          "refusals have their WIT names");
    check(strcmp(tether_reason_name(TETHER_REASON_CLIENT_CLOSE), "client-close") == 0 &&
              tether_reason_name((tether_reason)99)[0] == '\0',
          "reason names");
    check(tether_network_error_from_name("tls") == TETHER_NET_TLS &&
              tether_network_error_from_name("bogus") == -1,
          "network error from name");

    tether_runtime_free(rt);
    printf("api: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
