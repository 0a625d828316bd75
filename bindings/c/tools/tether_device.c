/*
 * tether_device: the command-line device on tether_device.h. It publishes a
 * numbered QoS 1 stream ("1", "2", ...) and prints every status, decision and
 * outcome, one line each, `[  1.234 s] <event>`:
 *
 *   [...] status connected connection-ok
 *   [...] decide backoff 212 ms after attempt 1 (throttled) cause=net/tls
 *   [...] accepted 7          [...] outcome 7 delivered     [...] refused 8 queue-full
 *   summary accepted=20 delivered=20 failed=0 refused=0
 *
 * With --outbox FILE (a libtether with TETHER_HAS_OUTBOX) the messages an earlier
 * run left are published again at the start (`resent 7 key=7`, their outcomes as
 * above), those without an outcome at the stop are kept (`kept 9 key=9`), the
 * stream's numbers start after the largest resent one (or at --first N), and a
 * line `outbox: resent R kept K` follows the summary; `stop` on stdin stops it
 * also with --messages N.
 *
 *   tether_device [--wasm PATH | --precompiled PATH] (--port PORT [--host H] | --hub H[:P]
 *                 | --connection-string CS | --config JSON) [--messages N (0: until `stop`
 *                 on stdin)] [--interval-ms MS] [--timeout-s S] [--device-id ID]
 *                 [--topic T] [--version 4|5] [--user U] [--password-file F] [--ca-file F]
 *                 [--default-port P] [--keep-alive-s S] [--connect-timeout-ms MS]
 *                 [--policy JSON] [--queue JSON] [--outbox FILE] [--first N] [--log]
 *                 [--quiet]
 *
 * Without --wasm/--precompiled it uses the component built into libtether.
 * --password-file: the credential, read again at each renewal. It runs its own
 * poll loop over tether_device_fd() and stdin (tether_device_step). Exit status
 * 0 when every accepted message has its outcome (or, with --outbox, is kept), 1
 * when --timeout-s ran out first or the outbox's store is damaged or in use, 2 on
 * a usage or setup error.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tether_device.h"

static uint64_t t0;
static bool quiet;
static unsigned accepted, delivered, failed, refused, resent, kept;
/* This run's ids of the resent messages, and their stream numbers. */
static uint64_t resent_id[4096];
static unsigned long resent_number[4096];
static const char *password_file;
static char password[512];

static void say(const char *fmt, ...) {
    if (quiet) return;
    va_list ap;
    printf("[%7.3f s] ", (double)(tether_now_ns() - t0) / 1e9);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static void on_log(void *u, tether_log_level level, const char *message) {
    (void)u;
    say("log %s %s", tether_log_level_name(level), message);
}

static void on_status(void *u, const tether_status_change *s) {
    (void)u;
    say("status %s %s", tether_status_name(s->status), tether_reason_name(s->reason));
}

static void on_decided(void *u, const tether_decision_event *d) {
    (void)u;
    const char *cause = d->has_cause ? d->cause.rule : "-";
    switch (d->action) {
    case TETHER_ACTION_CONNECT:
        say("decide connect link %" PRIu64 " to %s (attempt %u) cause=%s", d->link, d->hub,
            d->attempt, cause);
        break;
    case TETHER_ACTION_BACKOFF:
        say("decide backoff %" PRIu64 " ms after attempt %u (%s) cause=%s", d->delay_ms,
            d->attempt, tether_curve_name(d->curve), cause);
        break;
    case TETHER_ACTION_GIVE_UP:
        say("decide give-up %s cause=%s", tether_give_up_reason_name(d->give_up), cause);
        break;
    default: say("decide %s cause=%s", tether_action_name(d->action), cause); break;
    }
}

static void on_outcome(void *u, uint64_t message, const tether_outcome *o) {
    unsigned long n = (unsigned long)(uintptr_t)u;
    (void)message;
    if (o->delivered) {
        delivered++;
        say("outcome %lu delivered", n);
    } else {
        failed++;
        say("outcome %lu failed %s", n, tether_message_failure_name(o->failure));
    }
}

/* The stream number of a payload ("17"), 0 if none. */
static unsigned long number_of(const void *payload, size_t len) {
    char buf[24];
    if (len == 0 || len >= sizeof buf) return 0;
    memcpy(buf, payload, len);
    buf[len] = '\0';
    return strtoul(buf, NULL, 10);
}

static unsigned long first_after_resent = 1;

static void on_resent(void *u, tether_rc rc, uint64_t message, int64_t key, const char *topic,
                      const void *payload, size_t len) {
    (void)u;
    (void)topic;
    unsigned long n = number_of(payload, len);
    if (n >= first_after_resent) first_after_resent = n + 1;
    if (rc != TETHER_OK) {
        say("refused-resend %lu key=%lld %s", n, (long long)key, tether_rc_name(rc));
        return;
    }
    if (resent < sizeof resent_id / sizeof *resent_id) {
        resent_id[resent] = message;
        resent_number[resent] = n;
    }
    resent++;
    say("resent %lu key=%lld", n, (long long)key);
}

/* Every outcome; only the resent messages' are printed here (the others have
 * their own callback). */
static void on_any_outcome(void *u, uint64_t message, const tether_outcome *o) {
    (void)u;
    for (unsigned i = 0; i < resent && i < sizeof resent_id / sizeof *resent_id; i++) {
        if (resent_id[i] != message) continue;
        on_outcome((void *)(uintptr_t)resent_number[i], message, o);
        return;
    }
}

static void on_kept(void *u, uint64_t message, int64_t key, void *outcome_user) {
    (void)u;
    unsigned long n = (unsigned long)(uintptr_t)outcome_user;
    for (unsigned i = 0; !n && i < resent && i < sizeof resent_id / sizeof *resent_id; i++)
        if (resent_id[i] == message) n = resent_number[i];
    kept++;
    say("kept %lu key=%lld", n, (long long)key);
}

static const char *read_password(void) {
    FILE *f = fopen(password_file, "r");
    if (!f) return NULL;
    size_t n = fread(password, 1, sizeof password - 1, f);
    fclose(f);
    while (n > 0 && (password[n - 1] == '\n' || password[n - 1] == '\r' || password[n - 1] == ' '))
        n--;
    password[n] = '\0';
    return n ? password : NULL;
}

static const char *on_renew(void *u) {
    (void)u;
    return password_file ? read_password() : NULL;
}

static void usage(void) {
    fprintf(stderr, "usage: tether_device [--wasm PATH | --precompiled PATH] (--port PORT | --hub H[:P] | "
                    "--connection-string CS | --config JSON) [--messages N] [--interval-ms MS] "
                    "[--timeout-s S] [--device-id ID] [--topic T] [--version 4|5] [--user U] "
                    "[--password-file F] [--ca-file F] [--default-port P] [--keep-alive-s S] "
                    "[--connect-timeout-ms MS] [--policy JSON] [--queue JSON] [--outbox FILE] "
                    "[--first N] [--log] [--quiet]\n");
    exit(2);
}

int main(int argc, char **argv) {
    const char *wasm = getenv("TETHER_WASM"), *precompiled = getenv("TETHER_PRECOMPILED");
    const char *host = "127.0.0.1", *hub = NULL, *device_id = "c-device-1", *config = NULL,
               *cs = NULL, *topic = NULL, *user = NULL, *ca = NULL, *outbox = NULL;
    const char *policy = "{\"kind\": \"exponential\", \"initial-ms\": 200, \"max-ms\": 2000, "
                         "\"jitter\": \"equal\"}";
    const char *queue = "{\"capacity\": 256, \"max-in-flight\": 16}";
    long port = 0, messages = 20, interval_ms = 100, timeout_s = 60, version = 4, keep_alive = 0,
         connect_timeout = 0, default_port = 0, first = 1;
    bool log = false;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (strcmp(o, "--quiet") == 0) {
            quiet = true;
            continue;
        }
        if (strcmp(o, "--log") == 0) {
            log = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (!v) usage();
        if (strcmp(o, "--wasm") == 0) wasm = v;
        else if (strcmp(o, "--precompiled") == 0) precompiled = v;
        else if (strcmp(o, "--host") == 0) host = v;
        else if (strcmp(o, "--hub") == 0) hub = v;
        else if (strcmp(o, "--port") == 0) port = atol(v);
        else if (strcmp(o, "--messages") == 0) messages = atol(v);
        else if (strcmp(o, "--interval-ms") == 0) interval_ms = atol(v);
        else if (strcmp(o, "--timeout-s") == 0) timeout_s = atol(v);
        else if (strcmp(o, "--device-id") == 0) device_id = v;
        else if (strcmp(o, "--config") == 0) config = v;
        else if (strcmp(o, "--connection-string") == 0) cs = v;
        else if (strcmp(o, "--topic") == 0) topic = v;
        else if (strcmp(o, "--version") == 0) version = atol(v);
        else if (strcmp(o, "--user") == 0) user = v;
        else if (strcmp(o, "--password-file") == 0) password_file = v;
        else if (strcmp(o, "--ca-file") == 0) ca = v;
        else if (strcmp(o, "--default-port") == 0) default_port = atol(v);
        else if (strcmp(o, "--keep-alive-s") == 0) keep_alive = atol(v);
        else if (strcmp(o, "--connect-timeout-ms") == 0) connect_timeout = atol(v);
        else if (strcmp(o, "--policy") == 0) policy = v;
        else if (strcmp(o, "--queue") == 0) queue = v;
        else if (strcmp(o, "--outbox") == 0) outbox = v;
        else if (strcmp(o, "--first") == 0) first = atol(v);
        else usage();
    }
    if ((!config && !cs && !hub && port <= 0) || messages < 0 || interval_ms < 0 || timeout_s <= 0 ||
        default_port < 0 || default_port > 65535 || first < 1)
        usage();
    t0 = tether_now_ns();
    if (log) tether_set_log_callback(on_log, TETHER_LOG_DEBUG, NULL);

    tether_error *err = NULL;
    tether_runtime *rt = NULL;
    if (precompiled || wasm) {
        /* A component precompiled by `tether compile` loads without compiling (and
         * is the only kind a TETHER_PRECOMPILED_ONLY build loads). */
        rt = precompiled ? tether_runtime_new_precompiled_file(precompiled, &err)
                         : tether_runtime_new(wasm, &err);
        if (!rt) {
            fprintf(stderr, "tether_device: %s\n", tether_error_message(err));
            tether_error_free(err);
            return 2;
        }
    }
    char built[4096], extra[2048], default_topic[300];
    if (password_file && !read_password()) {
        fprintf(stderr, "tether_device: --password-file: cannot read %s\n", password_file);
        return 2;
    }
    if (!config && !cs) {
        char where[300];
        if (!hub) {
            snprintf(where, sizeof where, "%s:%ld", host, port);
            hub = where;
        }
        /* The password goes in as the credential; tests use plain ones. */
        char credential[700] = "";
        if (password_file)
            snprintf(credential, sizeof credential,
                     ", \"credential\": {\"secret\": \"%s\", \"renewable\": true}", password);
        snprintf(built, sizeof built,
                 "{\"hub\": \"%s\", \"device-id\": \"%s\", \"policy\": %s, \"queue\": %s%s}", hub,
                 device_id, policy, queue, credential);
        config = built;
        memset(credential, 0, sizeof credential);
    }
    if (!topic && !cs) {
        snprintf(default_topic, sizeof default_topic, "tether/%s/telemetry", device_id);
        topic = default_topic;
    }
    snprintf(extra, sizeof extra, "{\"policy\": %s, \"queue\": %s}", policy, queue);
    tether_device_options o = {
        .runtime = rt,
        .config_json = cs ? extra : config,
        .topic = topic,
        .mqtt_version = (int)version,
        .port = (uint16_t)default_port,
        .keep_alive_s = (uint32_t)keep_alive,
        .connect_timeout_ms = (uint32_t)connect_timeout,
        .tls_ca_file = ca,
        .username = user,
        .status = on_status,
        .decided = on_decided,
        .renew = on_renew,
        .outbox_path = outbox,
        .resent = on_resent,
        .outcome = on_any_outcome,
        .kept = on_kept,
    };
    tether_device *d = cs ? tether_device_new_from_connection_string(cs, &o, &err)
                          : tether_device_new(&o, &err);
    memset(built, 0, sizeof built);
    if (!d) {
        /* A store that is damaged or in use is not a usage error: exit status 1. */
        bool store = tether_error_kind_of(err) == TETHER_ERROR_IO &&
                     strcmp(tether_error_field(err), "outbox_path") == 0;
        if (store)
            fprintf(stderr, "tether_device: %s\n", tether_error_message(err));
        else
            fprintf(stderr, "tether_device: configuration refused: %s%s%s\n",
                    tether_error_field(err), *tether_error_field(err) ? ": " : "",
                    tether_error_message(err));
        tether_error_free(err);
        tether_runtime_free(rt);
        return store ? 1 : 2;
    }
    say("device publishing %ld messages on %s, one every %ld ms", messages,
        tether_device_topic(d), interval_ms);
    tether_device_start(d); /* publishes what the outbox held first */

    uint64_t deadline_all = t0 + (uint64_t)timeout_s * 1000000000u;
    uint64_t next_publish = tether_now_ns();
    /* A restarted stream goes on after the numbers the outbox held. */
    unsigned long number = (unsigned long)first > first_after_resent ? (unsigned long)first
                                                                     : first_after_resent;
    unsigned long last = messages > 0 ? number + (unsigned long)messages - 1 : 0;
    /* `stop` on stdin: with --messages 0, and with an outbox (stopping keeps). */
    bool timed_out = false, stopping = false, stdin_open = messages == 0 || outbox;
    char payload[32], line[64];
    for (;;) {
        uint64_t now = tether_now_ns();
        bool more = !stopping && (messages == 0 || number <= last);
        if (more && now >= next_publish) {
            int len = snprintf(payload, sizeof payload, "%lu", number);
            tether_rc rc = tether_device_publish(d, NULL, payload, (size_t)len, on_outcome,
                                                 (void *)(uintptr_t)number, NULL);
            if (rc == TETHER_OK) {
                accepted++;
                say("accepted %lu", number);
            } else {
                refused++;
                say("refused %lu %s", number, tether_rc_name(rc));
                if (rc != TETHER_PUBLISH_QUEUE_FULL) stopping = true;
            }
            number++;
            next_publish = now + (uint64_t)interval_ms * 1000000u;
            continue;
        }
        if (!more && delivered + failed + kept == accepted + resent) break;
        if (messages > 0 && now >= deadline_all) {
            timed_out = true;
            break;
        }
        /* Wait for the device's descriptor or stdin, at most until the next
         * publish or the device's next deadline. */
        int t = tether_device_next_timeout_ms(d);
        if (more) {
            uint64_t left = next_publish > now ? (next_publish - now + 999999u) / 1000000u : 0;
            if (t < 0 || (uint64_t)t > left) t = (int)left;
        }
        struct pollfd fds[2] = {{.fd = tether_device_fd(d), .events = POLLIN},
                                {.fd = 0, .events = POLLIN}};
        int n = poll(fds, stdin_open ? 2 : 1, t);
        if (n > 0 && stdin_open && (fds[1].revents & (POLLIN | POLLHUP))) {
            if (!fgets(line, sizeof line, stdin)) {
                stdin_open = false;
            } else if (strncmp(line, "stop", 4) == 0) {
                say("stopping");
                stopping = true;
                stdin_open = false;
                tether_device_stop(d);
            }
        }
        tether_device_step(d, 0);
    }
    if (timed_out) say("timed out after %ld s: stopping", timeout_s);
    tether_device_stop(d); /* closes the link; anything left fails with client-close */
    printf("summary accepted=%u delivered=%u failed=%u refused=%u\n", accepted, delivered, failed,
           refused);
    if (outbox) printf("outbox: resent %u kept %u\n", resent, kept);
    fflush(stdout);
    bool all_known = delivered + failed + kept == accepted + resent;
    tether_device_free(d);
    tether_runtime_free(rt);
    return (!timed_out && all_known) ? 0 : 1;
}
