/*
 * device.c: tether_device, a tether_connection with a libmosquitto transport and
 * the loop that drives both (tether_device.h).
 *
 * The transport: one mosquitto client per link, made when the component's
 * `open` asks and destroyed at the link's first failure or at `close`;
 * libmosquitto never reconnects (no loop_forever, loop_start or reconnect). Its
 * callbacks only record what happened on the link; after mosquitto_loop returns
 * the records are reported to the component (so no client is destroyed inside
 * its own callback). The first failure ends a link: on-failed before the CONNACK,
 * on-closed after. PUBACKs go back by message id through the mid each
 * mosquitto_publish returned.
 *
 * The loop: one epoll descriptor over each link's socket and an eventfd that
 * other threads (publish, stop) use to wake it. A step services every link
 * (mosquitto_loop with a zero timeout: reads, writes, keep-alive), the CONNACK
 * timers and the component's wake deadline.
 *
 * Every public function takes the device's (recursive) lock; callbacks run with
 * it held. A registry of live devices turns a stale pointer into an error.
 *
 * The outbox (options.outbox_path, outbox.c): a message is stored before the
 * component sees it, its durable key kept in its outcome slot; an outcome removes
 * the record before any callback hears of it; client-close (the stop) keeps it
 * for the next run; the records an earlier run left are published again right
 * after tether_start. The component decides everything else about them.
 */
#include "device_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#define DEFAULT_KEEP_ALIVE_S 30
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define MAX_STEP_MS 1000
#define HANDSHAKE_POLL_MS 10
#define USER_AGENT "DeviceClientType=tether-c%2F0.1.0"
#define HOST_MAX 256

/* ---- logging ---- */

static tether_log_fn log_fn;
static void *log_user;
static tether_log_level log_max = TETHER_LOG_INFO;

void tether_set_log_callback(tether_log_fn fn, tether_log_level max_level, void *user) {
    log_user = user;
    log_max = max_level;
    log_fn = fn;
}

const char *tether_log_level_name(tether_log_level level) {
    switch (level) {
    case TETHER_LOG_ERROR: return "error";
    case TETHER_LOG_WARN: return "warn";
    case TETHER_LOG_INFO: return "info";
    case TETHER_LOG_DEBUG: return "debug";
    }
    return "";
}

__attribute__((format(printf, 2, 3))) static void tlog(tether_log_level level, const char *fmt,
                                                       ...) {
    tether_log_fn fn = log_fn;
    if (!fn || level > log_max) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fn(log_user, level, buf);
}

/* ---- the device ---- */

typedef enum { EV_CONNACK, EV_PUBACK, EV_LOST } ev_kind;

typedef struct {
    ev_kind kind;
    int code;   /* CONNACK: return/reason code; PUBACK: reason; LOST: on_disconnect rc */
    int err_no; /* LOST */
    int mid;    /* PUBACK */
    char *server_reference;
} link_event;

typedef struct {
    int mid;
    uint64_t message;
} mid_entry;

typedef struct dlink {
    uint64_t id;
    struct tether_device *dev;
    struct mosquitto *mosq;
    int sock;
    uint32_t watching; /* epoll events registered for sock */
    bool tcp_up, connacked;
    uint64_t opened_ns;
    mid_entry *mids;
    size_t n_mids, cap_mids;
    link_event *events;
    size_t n_events, cap_events;
    struct dlink *next;
} dlink;

typedef struct {
    uint64_t id;
    tether_device_outcome_fn fn;
    void *user;
    int64_t key; /* in the outbox; 0: none */
} outcome_slot;

typedef struct {
    uint64_t id;
    tether_outcome outcome;
} early_outcome;

struct tether_device {
    pthread_mutex_t lock;
    tether_runtime *rt;
    bool own_rt;
    tether_connection *conn;
    tether_device_options o; /* its strings point at the copies below */
    char *topic, *ca, *cert, *key, *client_id, *username;
    tether_hub_identity *identity; /* IoT Hub profile: the connection string's */
    int version;
    uint16_t port;
    uint32_t keep_alive_s, connect_timeout_ms;
    bool tls;
    dlink *links;
    outcome_slot *slots;
    size_t n_slots, cap_slots;
    early_outcome *early;
    size_t n_early, cap_early;
    bool publishing; /* inside tether_publish: an outcome may precede its id */
    int epfd, wakefd;
    volatile sig_atomic_t stop_requested;
    bool started, stopped, free_requested, loop_active;
    pthread_t loop_thread;
    int calls;    /* public calls in progress on the holder's thread (lock is recursive) */
    int cb_depth; /* user callbacks in progress */
    char last_error[300];
#ifdef TETHER_HAS_OUTBOX
    tether_outbox *outbox;
    tether_outbox_record *recovered; /* left by an earlier run, published at start */
    size_t n_recovered;
#endif
    /* registry */
    int refs;
    bool dead;
    struct tether_device *next_live;
};

/* ---- the registry of live devices ---- */

static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER;
static tether_device *live;
static pthread_once_t mosq_once = PTHREAD_ONCE_INIT;

static void mosq_init(void) { mosquitto_lib_init(); }

static void destroy(tether_device *d);

/* libmosquitto writes with write(2): a write to a reset socket raises SIGPIPE,
 * which would end the process. While a call is inside the device, SIGPIPE is
 * blocked on the calling thread, and one it raised is taken before unblocking
 * (the write itself fails with EPIPE, which the transport reports). */
static __thread int pipe_depth;
static __thread sigset_t pipe_old;
static __thread bool pipe_was_pending;

static void pipe_block(void) {
    if (pipe_depth++ > 0) return;
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, &pipe_old);
    sigpending(&pending);
    pipe_was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void pipe_unblock(void) {
    if (--pipe_depth > 0) return;
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pending);
    if (!pipe_was_pending && sigismember(&pending, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};
        sigtimedwait(&set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &pipe_old, NULL);
}

/* Lock `d` when it is a live device; false (nothing locked) otherwise. */
static bool acquire(tether_device *d) {
    if (!d) return false;
    pthread_mutex_lock(&registry);
    tether_device *p = live;
    while (p && p != d) p = p->next_live;
    bool ok = p && !p->dead;
    if (ok) d->refs++;
    pthread_mutex_unlock(&registry);
    if (!ok) return false;
    pipe_block();
    pthread_mutex_lock(&d->lock);
    d->calls++;
    return true;
}

static void finish_free(tether_device *d);

static void release(tether_device *d) {
    d->calls--;
    if (d->calls == 0 && d->free_requested && !d->loop_active && !d->dead) finish_free(d);
    pthread_mutex_unlock(&d->lock);
    pthread_mutex_lock(&registry);
    d->refs--;
    bool gone = d->dead && d->refs == 0;
    if (gone) {
        tether_device **pp = &live;
        while (*pp && *pp != d) pp = &(*pp)->next_live;
        if (*pp) *pp = d->next_live;
    }
    pthread_mutex_unlock(&registry);
    if (gone) destroy(d);
    pipe_unblock();
}

__attribute__((format(printf, 2, 3))) static tether_rc fail_with(tether_device *d,
                                                                 const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->last_error, sizeof d->last_error, fmt, ap);
    va_end(ap);
    tlog(TETHER_LOG_WARN, "%s", d->last_error);
    return TETHER_ERR_ARGUMENT;
}

static const char NOT_LIVE[] = "not a live tether_device (NULL, freed, or never made)";

const char *tether_device_last_error(const tether_device *d) {
    if (!acquire((tether_device *)d)) return NOT_LIVE;
    const char *s = d->last_error;
    release((tether_device *)d);
    return s;
}

static void *grow(void *p, size_t *cap, size_t elem) {
    size_t n = *cap ? *cap * 2 : 8;
    void *q = realloc(p, n * elem);
    if (!q) return NULL;
    *cap = n;
    return q;
}

static void wake(tether_device *d) {
    uint64_t one = 1;
    ssize_t w = write(d->wakefd, &one, sizeof one);
    (void)w; /* a full counter already wakes */
}

/* ---- links ---- */

static dlink *find_link(tether_device *d, uint64_t id) {
    for (dlink *l = d->links; l; l = l->next)
        if (l->id == id) return l;
    return NULL;
}

static void free_events(link_event *ev, size_t n) {
    for (size_t i = 0; i < n; i++) free(ev[i].server_reference);
    free(ev);
}

/* Unlink and destroy a link's client; nothing more is reported about it. */
static void link_destroy(tether_device *d, dlink *l, bool polite) {
    dlink **pp = &d->links;
    while (*pp && *pp != l) pp = &(*pp)->next;
    if (*pp) *pp = l->next;
    if (l->mosq) {
        if (l->sock >= 0) epoll_ctl(d->epfd, EPOLL_CTL_DEL, l->sock, NULL);
        /* DISCONNECT goes out at once (written directly outside callbacks). */
        if (polite && l->connacked) mosquitto_disconnect(l->mosq);
        mosquitto_destroy(l->mosq);
    }
    free(l->mids);
    free_events(l->events, l->n_events);
    free(l);
}

static const char *failure_text(const tether_failure *f, char *buf, size_t cap) {
    switch (f->kind) {
    case TETHER_FAILURE_NETWORK:
        snprintf(buf, cap, "net:%s", tether_network_error_name(f->network));
        break;
    case TETHER_FAILURE_MQTT_CONNACK: snprintf(buf, cap, "mqtt311:%u", f->code); break;
    case TETHER_FAILURE_MQTT_REASON: snprintf(buf, cap, "mqtt5:0x%02X", f->code); break;
    case TETHER_FAILURE_KEEP_ALIVE_LOST: snprintf(buf, cap, "keep-alive-lost"); break;
    case TETHER_FAILURE_APPLICATION:
        snprintf(buf, cap, "app:%s", tether_application_error_name(f->application));
        break;
    default: snprintf(buf, cap, "failure"); break;
    }
    return buf;
}

static void report_rc(tether_device *d, const char *what, tether_rc rc) {
    if (rc == TETHER_OK) return;
    tlog(TETHER_LOG_WARN, "%s not taken: %s%s%s", what, tether_rc_name(rc), rc < 0 ? ": " : "",
         rc < 0 ? tether_connection_last_error(d->conn) : "");
}

/* The first failure ends a link: on-failed before the CONNACK, on-closed after. */
static void link_end(tether_device *d, dlink *l, tether_failure f, const char *why) {
    uint64_t id = l->id;
    bool open = l->connacked;
    char buf[64];
    tlog(TETHER_LOG_DEBUG, "link %" PRIu64 ": %s %s (%s)", id, open ? "lost" : "failed",
         failure_text(&f, buf, sizeof buf), why);
    link_destroy(d, l, false);
    if (open)
        report_rc(d, "on-closed", tether_on_closed(d->conn, id, &f));
    else
        report_rc(d, "on-failed", tether_on_failed(d->conn, id, &f));
}

static link_event *push_event(dlink *l, ev_kind kind) {
    if (l->n_events == l->cap_events) {
        link_event *e = grow(l->events, &l->cap_events, sizeof *e);
        if (!e) return NULL;
        l->events = e;
    }
    link_event *e = &l->events[l->n_events++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    return e;
}

/* libmosquitto's callbacks: record only. */
static void mq_connect(struct mosquitto *m, void *obj, int rc, int flags,
                       const mosquitto_property *props) {
    (void)m;
    (void)flags;
    dlink *l = obj;
    link_event *e = push_event(l, EV_CONNACK);
    if (!e) return;
    e->code = rc;
    char *ref = NULL;
    if (props && mosquitto_property_read_string(props, MQTT_PROP_SERVER_REFERENCE, &ref, false))
        e->server_reference = ref;
}

static void mq_disconnect(struct mosquitto *m, void *obj, int rc,
                          const mosquitto_property *props) {
    (void)m;
    (void)props;
    int saved = errno;
    dlink *l = obj;
    link_event *e = push_event(l, EV_LOST);
    if (!e) return;
    e->code = rc;
    e->err_no = saved;
}

static void mq_publish(struct mosquitto *m, void *obj, int mid, int reason,
                       const mosquitto_property *props) {
    (void)m;
    (void)props;
    dlink *l = obj;
    link_event *e = push_event(l, EV_PUBACK);
    if (!e) return;
    e->mid = mid;
    e->code = reason;
}

static bool has_lost(const dlink *l) {
    for (size_t i = 0; i < l->n_events; i++)
        if (l->events[i].kind == EV_LOST) return true;
    return false;
}

/* Report what a link's callbacks recorded, in order, until the link is gone. */
static void link_report(tether_device *d, dlink *l) {
    uint64_t id = l->id;
    while (l && l->n_events > 0) {
        link_event *ev = l->events;
        size_t n = l->n_events;
        l->events = NULL;
        l->n_events = l->cap_events = 0;
        for (size_t i = 0; i < n && l; i++) {
            link_event *e = &ev[i];
            if (e->kind == EV_PUBACK) {
                for (size_t k = 0; k < l->n_mids; k++) {
                    if (l->mids[k].mid != e->mid) continue;
                    uint64_t message = l->mids[k].message;
                    l->mids[k] = l->mids[--l->n_mids];
                    /* A refusal (MQTT 5, 0x80 or more) goes to the component,
                     * which resends the message later or ends it, per its table. */
                    if (e->code < 0x80) {
                        report_rc(d, "on-acked", tether_on_acked(d->conn, message));
                    } else {
                        tlog(TETHER_LOG_DEBUG,
                             "link %" PRIu64 ": message %" PRIu64 " refused, reason 0x%02X", id,
                             message, e->code);
                        tether_failure f = tether_failure_mqtt_reason((uint8_t)e->code);
                        report_rc(d, "on-refused", tether_on_refused(d->conn, message, &f));
                    }
                    break;
                }
            } else if (e->kind == EV_CONNACK) {
                if (e->code == 0 && !l->connacked) {
                    l->connacked = true;
                    tlog(TETHER_LOG_DEBUG, "link %" PRIu64 ": connected", id);
                    report_rc(d, "on-opened", tether_on_opened(d->conn, id));
                } else if (e->code != 0) {
                    tether_failure f = tether_mosquitto_connack_failure(e->code, d->version);
                    f.server_reference = e->server_reference;
                    char why[40];
                    snprintf(why, sizeof why, "CONNACK code %d", e->code);
                    link_end(d, l, f, why);
                }
            } else {
                tether_failure f = tether_mosquitto_failure(e->code, e->err_no, d->version);
                /* EPROTO is OpenSSL failing a read or write: after the handshake
                 * and the CONNACK that is the stream ending, not a certificate. */
                if (l->connacked && e->code == MOSQ_ERR_ERRNO && e->err_no == EPROTO)
                    f = tether_failure_network(TETHER_NET_CLOSED);
                char why[120];
                snprintf(why, sizeof why, "libmosquitto: %s%s%s", mosquitto_strerror(e->code),
                         e->code == MOSQ_ERR_ERRNO ? ": " : "",
                         e->code == MOSQ_ERR_ERRNO ? strerror(e->err_no) : "");
                link_end(d, l, f, why);
            }
            l = find_link(d, id);
        }
        free_events(ev, n);
    }
}

/* Reads, writes and keep-alive for one link, then its report. */
static void link_service(tether_device *d, dlink *l) {
    uint64_t id = l->id;
    if (!l->tcp_up) {
        /* The connect's own result first: libmosquitto would see only "lost". */
        struct pollfd p = {.fd = l->sock, .events = POLLOUT};
        if (poll(&p, 1, 0) <= 0) return;
        int so = 0;
        socklen_t len = sizeof so;
        if (getsockopt(l->sock, SOL_SOCKET, SO_ERROR, &so, &len) != 0) so = errno;
        if (so != 0) {
            char why[120];
            snprintf(why, sizeof why, "connect: %s", strerror(so));
            link_end(d, l, tether_mosquitto_failure(MOSQ_ERR_ERRNO, so, d->version), why);
            return;
        }
        l->tcp_up = true;
    }
    /* A reset leaves its errno on the socket; read it before libmosquitto turns
     * it into "connection lost" (or, under TLS, into OpenSSL's EPROTO). */
    int so = 0;
    socklen_t so_len = sizeof so;
    if (getsockopt(l->sock, SOL_SOCKET, SO_ERROR, &so, &so_len) == 0 && so != 0) {
        char why[120];
        snprintf(why, sizeof why, "socket: %s", strerror(so));
        link_end(d, l, tether_mosquitto_failure(MOSQ_ERR_ERRNO, so, d->version), why);
        return;
    }
    if (!l->connacked) {
        /* The server hung up before its CONNACK: libmosquitto would go on waiting
         * for a TLS handshake on a closed socket (SSL_ERROR_SYSCALL) until the
         * CONNACK timer; the end of the stream says it now. */
        struct pollfd p = {.fd = l->sock, .events = POLLIN};
        char c;
        if (poll(&p, 1, 0) > 0 && recv(l->sock, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
            link_end(d, l, tether_failure_network(TETHER_NET_CLOSED),
                     "the server closed the connection before its CONNACK");
            return;
        }
    }
    errno = 0;
    int rc = mosquitto_loop(l->mosq, 0, 1);
    int saved = errno;
    if (rc != MOSQ_ERR_SUCCESS && !has_lost(l)) {
        /* Ended without on_disconnect (a failed TLS handshake returns here). */
        link_event *e = push_event(l, EV_LOST);
        if (e) {
            e->code = rc;
            e->err_no = saved;
        }
    }
    link_report(d, l);
    l = find_link(d, id);
    if (!l) return;
    /* During a TLS handshake libmosquitto keeps asking to write after OpenSSL has
     * written (want_write stays set until the next SSL_write): rather than spin on
     * a writable socket, the handshake is driven every HANDSHAKE_POLL_MS. */
    bool handshake = d->tls && !l->connacked;
    uint32_t want =
        EPOLLIN | ((!l->tcp_up || (!handshake && mosquitto_want_write(l->mosq))) ? EPOLLOUT : 0);
    if (want != l->watching && l->sock >= 0) {
        struct epoll_event ev = {.events = want, .data.u64 = l->id};
        if (epoll_ctl(d->epfd, EPOLL_CTL_MOD, l->sock, &ev) == 0) l->watching = want;
    }
}

/* ---- the session of a link ---- */

typedef struct {
    char *client_id, *user, *password; /* malloc'ed or NULL */
    int keep_alive_s;
    bool clean;
} session;

static void session_free(session *s) {
    free(s->client_id);
    free(s->user);
    if (s->password) {
        memset(s->password, 0, strlen(s->password));
        free(s->password);
    }
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static bool make_session(tether_device *d, const char *host, const char *device_id,
                         const char *credential, session *s) {
    memset(s, 0, sizeof *s);
    if (!d->identity) {
        const char *dev = device_id ? device_id : "tether-device";
        s->client_id = strdup(d->client_id ? d->client_id : dev);
        if (credential) {
            s->user = strdup(d->username ? d->username : dev);
            s->password = strdup(credential);
        } else {
            s->user = dup_or_null(d->username);
        }
        s->keep_alive_s = (int)d->keep_alive_s;
        s->clean = true;
        return s->client_id != NULL;
    }
    /* IoT Hub: the connection string's identity where it says the device is,
     * else (a hub assigned elsewhere) an identity for that hub. */
    const tether_hub_identity *id = d->identity;
    const char *home = id->gateway_host_name ? id->gateway_host_name : id->host_name;
    tether_hub_identity other = {.host_name = host,
                                 .device_id = device_id ? device_id : id->device_id,
                                 .auth = id->auth};
    bool same = strcmp(host, home) == 0 && (!device_id || strcmp(device_id, id->device_id) == 0);
    tether_mqtt_options mo = {.user_agent = USER_AGENT,
                              .has_keep_alive = d->keep_alive_s != 0,
                              .keep_alive_s = d->keep_alive_s};
    tether_mqtt_settings *ms = NULL;
    tether_error *err = NULL;
    tether_rc rc = tether_hub_mqtt_settings(d->rt, same ? id : &other, &mo, &ms, &err);
    if (rc != TETHER_OK) {
        tlog(TETHER_LOG_WARN, "no IoT Hub session for %s: %s", host,
             err ? tether_error_message(err) : tether_rc_name(rc));
        tether_error_free(err);
        return false;
    }
    s->client_id = strdup(ms->client_id);
    s->user = strdup(ms->user_name);
    /* X.509 devices send no password: the certificate is in TLS. */
    s->password = id->auth == TETHER_AUTH_X509 ? NULL : dup_or_null(credential);
    s->keep_alive_s = (int)ms->keep_alive_s;
    s->clean = ms->clean_session;
    tether_mqtt_settings_free(ms);
    return s->client_id && s->user;
}

/* Apply the TLS options to a client. MOSQ_ERR_SUCCESS or libmosquitto's error. */
static int apply_tls(tether_device *d, struct mosquitto *m) {
    if (!d->tls) return MOSQ_ERR_SUCCESS;
    int rc;
    if (d->ca) {
        rc = mosquitto_tls_set(m, d->ca, NULL, d->cert, d->key, NULL);
    } else {
        rc = mosquitto_int_option(m, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
        if (rc == MOSQ_ERR_SUCCESS && d->cert)
            rc = mosquitto_tls_set(m, NULL, "/etc/ssl/certs", d->cert, d->key, NULL);
    }
    return rc;
}

/* ---- the component's callbacks ---- */

static void t_open(void *u, uint64_t link, const char *hub, const char *device_id,
                   const char *credential) {
    tether_device *d = u;
    char host[HOST_MAX];
    uint16_t port = 0;
    uint16_t default_port = d->port ? d->port : (d->tls ? 8883 : 1883);
    if (!tether_internal_split_address(hub, default_port, host, sizeof host, &port)) {
        /* No hub can answer at an address that does not parse. */
        tlog(TETHER_LOG_DEBUG, "link %" PRIu64 ": \"%s\" is no address: bad-endpoint", link,
             hub ? hub : "");
        tether_failure f = tether_failure_application(TETHER_APP_BAD_ENDPOINT);
        report_rc(d, "on-failed", tether_on_failed(d->conn, link, &f));
        return;
    }
    session s;
    if (!make_session(d, host, device_id, credential, &s)) {
        session_free(&s);
        tether_failure f = tether_failure_application(TETHER_APP_BAD_ENDPOINT);
        report_rc(d, "on-failed", tether_on_failed(d->conn, link, &f));
        return;
    }
    dlink *l = calloc(1, sizeof *l);
    tether_failure f = tether_failure_network(TETHER_NET_CLOSED);
    const char *why = "out of memory";
    int rc = MOSQ_ERR_NOMEM;
    if (l) {
        l->id = link;
        l->dev = d;
        l->sock = -1;
        l->mosq = mosquitto_new(s.client_id, s.clean, l);
    }
    if (l && l->mosq) {
        mosquitto_int_option(l->mosq, MOSQ_OPT_PROTOCOL_VERSION,
                             d->version == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
        mosquitto_connect_v5_callback_set(l->mosq, mq_connect);
        mosquitto_disconnect_v5_callback_set(l->mosq, mq_disconnect);
        mosquitto_publish_v5_callback_set(l->mosq, mq_publish);
        rc = s.user ? mosquitto_username_pw_set(l->mosq, s.user, s.password) : MOSQ_ERR_SUCCESS;
        if (rc == MOSQ_ERR_SUCCESS) rc = apply_tls(d, l->mosq);
        why = "TLS options";
        if (rc == MOSQ_ERR_SUCCESS) {
            errno = 0;
            rc = mosquitto_connect_async(l->mosq, host, port, s.keep_alive_s);
            why = "connect";
        }
    }
    int saved = errno;
    session_free(&s);
    tlog(TETHER_LOG_DEBUG, "link %" PRIu64 ": connecting to %s:%u (%s, MQTT %s)", link, host,
         (unsigned)port, d->tls ? "TLS" : "TCP", d->version == 5 ? "5" : "3.1.1");
    if (rc == MOSQ_ERR_SUCCESS && (l->sock = mosquitto_socket(l->mosq)) >= 0) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = link};
        if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, l->sock, &ev) == 0) {
            l->watching = EPOLLIN | EPOLLOUT;
            l->opened_ns = tether_now_ns();
            l->next = d->links;
            d->links = l;
            return;
        }
        saved = errno;
        rc = MOSQ_ERR_ERRNO;
    }
    if (rc != MOSQ_ERR_NOMEM) f = tether_mosquitto_failure(rc, saved, d->version);
    char buf[64];
    tlog(TETHER_LOG_DEBUG, "link %" PRIu64 ": failed %s (%s: %s)", link,
         failure_text(&f, buf, sizeof buf), why,
         rc == MOSQ_ERR_ERRNO ? strerror(saved) : mosquitto_strerror(rc));
    if (l) {
        if (l->mosq) mosquitto_destroy(l->mosq);
        free(l);
    }
    report_rc(d, "on-failed", tether_on_failed(d->conn, link, &f));
}

static void t_send(void *u, uint64_t link, uint64_t message, const char *topic,
                   const uint8_t *payload, size_t len) {
    tether_device *d = u;
    dlink *l = find_link(d, link);
    if (!l || !l->connacked) return; /* a report about it is on its way */
    int mid = 0;
    int rc = len > INT32_MAX ? MOSQ_ERR_PAYLOAD_SIZE
                             : mosquitto_publish(l->mosq, &mid, topic, (int)len, payload, 1, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        /* This link cannot carry the message: it is as good as gone. */
        char why[80];
        snprintf(why, sizeof why, "publish: %s", mosquitto_strerror(rc));
        link_end(d, l, tether_failure_network(TETHER_NET_CLOSED), why);
        return;
    }
    if (l->n_mids == l->cap_mids) {
        mid_entry *m = grow(l->mids, &l->cap_mids, sizeof *m);
        if (!m) {
            link_end(d, l, tether_failure_network(TETHER_NET_CLOSED), "out of memory");
            return;
        }
        l->mids = m;
    }
    l->mids[l->n_mids++] = (mid_entry){mid, message};
}

static void t_close(void *u, uint64_t link) {
    tether_device *d = u;
    dlink *l = find_link(d, link);
    if (!l) return;
    tlog(TETHER_LOG_DEBUG, "link %" PRIu64 ": closing", link);
    link_destroy(d, l, true);
}

static void t_status(void *u, const tether_status_change *s) {
    tether_device *d = u;
    tlog(TETHER_LOG_INFO, "status %s %s", tether_status_name(s->status),
         tether_reason_name(s->reason));
    if (d->o.status) {
        d->cb_depth++;
        d->o.status(d->o.user, s);
        d->cb_depth--;
    }
}

static void t_decided(void *u, const tether_decision_event *e) {
    tether_device *d = u;
    const char *cause = e->has_cause ? e->cause.rule : "-";
    switch (e->action) {
    case TETHER_ACTION_CONNECT:
        tlog(TETHER_LOG_INFO, "decision connect link %" PRIu64 " to %s attempt %u cause=%s",
             e->link, e->hub ? e->hub : "", e->attempt, cause);
        break;
    case TETHER_ACTION_BACKOFF:
        tlog(TETHER_LOG_INFO,
             "decision backoff %" PRIu64 " ms after attempt %u (%s curve) cause=%s", e->delay_ms,
             e->attempt, tether_curve_name(e->curve), cause);
        break;
    case TETHER_ACTION_GIVE_UP:
        tlog(TETHER_LOG_INFO, "decision give-up %s cause=%s",
             tether_give_up_reason_name(e->give_up), cause);
        break;
    default:
        tlog(TETHER_LOG_INFO, "decision %s cause=%s", tether_action_name(e->action), cause);
        break;
    }
    if (d->o.decided) {
        d->cb_depth++;
        d->o.decided(d->o.user, e);
        d->cb_depth--;
    }
}

static void deliver(tether_device *d, uint64_t message, const tether_outcome *o) {
    tether_device_outcome_fn fn = NULL;
    void *user = NULL;
    int64_t key = 0;
    for (size_t i = 0; i < d->n_slots; i++) {
        if (d->slots[i].id != message) continue;
        fn = d->slots[i].fn;
        user = d->slots[i].user;
        key = d->slots[i].key;
        d->slots[i] = d->slots[--d->n_slots];
        break;
    }
#ifdef TETHER_HAS_OUTBOX
    if (key != 0 && d->outbox) {
        if (!o->delivered && o->failure == TETHER_MESSAGE_CLIENT_CLOSE) {
            /* The stop: kept for the next run, which reports its outcome. */
            tlog(TETHER_LOG_DEBUG, "message %" PRIu64 " kept in the outbox (key %" PRId64 ")",
                 message, key);
            if (d->o.kept) {
                d->cb_depth++;
                d->o.kept(d->o.user, message, key, user);
                d->cb_depth--;
            }
            return;
        }
        /* Removed first, reported after: a restart never reports it again. */
        char why[300];
        if (!tether_outbox_remove(d->outbox, key, why, sizeof why)) {
            snprintf(d->last_error, sizeof d->last_error,
                     "%s; message %" PRIu64 " stays in the outbox and is sent again after a "
                     "restart",
                     why, message);
            tlog(TETHER_LOG_ERROR, "%s", d->last_error);
        }
    }
#else
    (void)key;
#endif
    tlog(TETHER_LOG_DEBUG, "message %" PRIu64 " %s%s", message,
         o->delivered ? "delivered" : "failed ",
         o->delivered ? "" : tether_message_failure_name(o->failure));
    d->cb_depth++;
    if (fn) fn(user, message, o);
    if (d->o.outcome) d->o.outcome(d->o.user, message, o);
    d->cb_depth--;
}

static void t_outcome(void *u, uint64_t message, const tether_outcome *o) {
    tether_device *d = u;
    if (d->publishing) {
        /* Inside tether_publish the new message's id is not known yet: keep the
         * outcome until its callback is registered. */
        if (d->n_early == d->cap_early) {
            early_outcome *e = grow(d->early, &d->cap_early, sizeof *e);
            if (e) d->early = e;
        }
        if (d->n_early < d->cap_early) {
            d->early[d->n_early++] = (early_outcome){message, *o};
            return;
        }
    }
    deliver(d, message, o);
}

static void t_renew(void *u) {
    tether_device *d = u;
    const char *secret = NULL;
    if (d->o.renew) {
        d->cb_depth++;
        secret = d->o.renew(d->o.user);
        d->cb_depth--;
    }
    tlog(TETHER_LOG_INFO, "credential renewal: %s", secret ? "a new credential" : "refused");
    if (secret && *secret) {
        tether_credential c = {.secret = secret};
        report_rc(d, "on-credential", tether_on_credential(d->conn, &c, NULL));
    } else {
        tether_failure f = tether_failure_application(TETHER_APP_UNAUTHORIZED);
        report_rc(d, "on-credential", tether_on_credential(d->conn, NULL, &f));
    }
}

/* ---- making and freeing ---- */

static void destroy(tether_device *d) {
    while (d->links) link_destroy(d, d->links, false);
#ifdef TETHER_HAS_OUTBOX
    tether_outbox_close(d->outbox);
    tether_outbox_records_free(d->recovered, d->n_recovered);
#endif
    if (d->conn) tether_connection_free(d->conn);
    if (d->own_rt && d->rt) tether_runtime_free(d->rt);
    tether_hub_identity_free(d->identity);
    free(d->topic);
    free(d->ca);
    free(d->cert);
    free(d->key);
    free(d->client_id);
    free(d->username);
    free(d->slots);
    free(d->early);
    if (d->epfd >= 0) close(d->epfd);
    if (d->wakefd >= 0) close(d->wakefd);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

/* Copy a string option; false when it is given and is not a usable string. */
static bool copy_opt(const char *s, char **out) {
    *out = NULL;
    if (!s) return true;
    *out = strdup(s);
    return *out != NULL;
}

static bool readable(const char *path) { return access(path, R_OK) == 0; }

static tether_device *make(const tether_device_options *opt, const char *config, bool hub,
                           tether_hub_identity *identity, tether_error **err) {
    pthread_once(&mosq_once, mosq_init);
    tether_device_options o = {0};
    if (opt) o = *opt;
    const char *bad = NULL, *why = NULL;
    if (o.mqtt_version != 0 && o.mqtt_version != 4 && o.mqtt_version != 5)
        bad = "mqtt_version", why = "must be 4 (MQTT 3.1.1) or 5";
    else if (hub && o.mqtt_version == 5)
        bad = "mqtt_version", why = "IoT Hub takes MQTT 3.1.1 (4) only";
    else if (o.keep_alive_s != 0 && (o.keep_alive_s < 5 || o.keep_alive_s > 65535))
        bad = "keep_alive_s", why = "must be 5 to 65535 seconds (0: the default)";
    else if (o.tls_ca_file && !readable(o.tls_ca_file))
        bad = "tls_ca_file", why = "cannot be read";
    else if ((o.tls_cert_file != NULL) != (o.tls_key_file != NULL))
        bad = o.tls_cert_file ? "tls_key_file" : "tls_cert_file",
        why = "give tls_cert_file and tls_key_file together";
    else if (o.tls_cert_file && !readable(o.tls_cert_file))
        bad = "tls_cert_file", why = "cannot be read";
    else if (o.tls_key_file && !readable(o.tls_key_file))
        bad = "tls_key_file", why = "cannot be read";
    else if (hub && (o.client_id || o.username))
        bad = o.client_id ? "client_id" : "username", why = "the IoT Hub profile decides it";
    else if (o.outbox_path && !*o.outbox_path)
        bad = "outbox_path", why = "empty (NULL: no outbox)";
#ifndef TETHER_HAS_OUTBOX
    else if (o.outbox_path)
        bad = "outbox_path",
        why = "this libtether was built without SQLite (TETHER_WITH_SQLITE=OFF): no outbox";
#endif
    if (bad) {
        tether_internal_set_error(err, TETHER_ERROR_CONFIG, bad, "%s: %s", bad, why);
        tether_hub_identity_free(identity);
        return NULL;
    }
    tether_device *d = calloc(1, sizeof *d);
    if (!d) {
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "out of memory");
        tether_hub_identity_free(identity);
        return NULL;
    }
    d->epfd = d->wakefd = -1;
    d->identity = identity;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&d->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    d->version = o.mqtt_version ? o.mqtt_version : 4;
    d->port = o.port;
    d->keep_alive_s = o.keep_alive_s ? o.keep_alive_s : (hub ? 0 : DEFAULT_KEEP_ALIVE_S);
    d->connect_timeout_ms = o.connect_timeout_ms ? o.connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
    d->tls = hub || o.tls || o.tls_ca_file || o.tls_cert_file;
    bool ok = copy_opt(o.topic, &d->topic) && copy_opt(o.tls_ca_file, &d->ca) &&
              copy_opt(o.tls_cert_file, &d->cert) && copy_opt(o.tls_key_file, &d->key) &&
              copy_opt(o.client_id, &d->client_id) && copy_opt(o.username, &d->username);
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!ok || d->epfd < 0 || d->wakefd < 0) {
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "cannot set the device up: %s",
                                  ok ? strerror(errno) : "out of memory");
        destroy(d);
        return NULL;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0};
    epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->wakefd, &ev);
    o.topic = d->topic;
    o.tls_ca_file = d->ca;
    o.tls_cert_file = d->cert;
    o.tls_key_file = d->key;
    o.client_id = d->client_id;
    o.username = d->username;
    d->o = o;
    if (d->tls) {
        /* TLS files libmosquitto cannot use are refused now, not on every link. */
        struct mosquitto *probe = mosquitto_new("tether-probe", true, NULL);
        int rc = probe ? apply_tls(d, probe) : MOSQ_ERR_NOMEM;
        if (probe) mosquitto_destroy(probe);
        if (rc != MOSQ_ERR_SUCCESS) {
            const char *field = d->ca ? "tls_ca_file" : d->cert ? "tls_cert_file" : "tls";
            tether_internal_set_error(err, TETHER_ERROR_CONFIG, field,
                                      "%s: libmosquitto cannot use it (%s)", field,
                                      mosquitto_strerror(rc));
            destroy(d);
            return NULL;
        }
    }
    d->rt = o.runtime;
    if (!d->rt) {
        d->rt = tether_runtime_new_embedded(err);
        d->own_rt = true;
        if (!d->rt) {
            destroy(d);
            return NULL;
        }
    }
    tether_callbacks cb = {
        .open = t_open,
        .send = t_send,
        .close = t_close,
        .status = t_status,
        .decided = t_decided,
        .outcome = t_outcome,
        .credential_renew = t_renew,
    };
    d->conn = tether_connection_new(d->rt, config, &cb, d, err);
    if (!d->conn) {
        destroy(d);
        return NULL;
    }
    if (o.outbox_path) {
#ifdef TETHER_HAS_OUTBOX
        /* Last, so that nothing else can fail with the store's lock held. */
        d->outbox = tether_outbox_open(o.outbox_path, &d->recovered, &d->n_recovered, err);
        if (!d->outbox) {
            destroy(d);
            return NULL;
        }
#endif
    }
    d->o.outbox_path = NULL; /* the caller's string; the store has its own copy */
    pthread_mutex_lock(&registry);
    d->next_live = live;
    live = d;
    pthread_mutex_unlock(&registry);
    return d;
}

tether_device *tether_device_new(const tether_device_options *options, tether_error **err) {
    if (!options || !options->config_json) {
        tether_internal_set_error(err, TETHER_ERROR_ARGUMENT, NULL,
                                  "tether_device_new: options and options->config_json are "
                                  "required (the configuration document)");
        return NULL;
    }
    return make(options, options->config_json, false, NULL, err);
}

/* Append `s` to buf as a JSON string's contents. */
static bool json_escape(char *buf, size_t cap, size_t *at, const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char tmp[8];
        const char *out = tmp;
        if (*p == '"' || *p == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)*p;
            tmp[2] = 0;
        } else if (*p < 0x20) {
            snprintf(tmp, sizeof tmp, "\\u%04x", *p);
        } else {
            tmp[0] = (char)*p;
            tmp[1] = 0;
        }
        size_t n = strlen(out);
        if (*at + n + 1 > cap) return false;
        memcpy(buf + *at, out, n);
        *at += n;
        buf[*at] = 0;
    }
    return true;
}

tether_device *tether_device_new_from_connection_string(const char *cs,
                                                        const tether_device_options *options,
                                                        tether_error **err) {
    if (!cs) {
        tether_internal_set_error(err, TETHER_ERROR_ARGUMENT, "connection_string",
                                  "connection_string: NULL; give the device's connection string");
        return NULL;
    }
    tether_device_options o = {0};
    if (options) o = *options;
    /* The extra configuration must be an object: its members are spliced in. */
    const char *extra = o.config_json ? o.config_json : "{}";
    while (*extra == ' ' || *extra == '\n' || *extra == '\t' || *extra == '\r') extra++;
    size_t el = strlen(extra);
    while (el > 0 && strchr(" \n\t\r", extra[el - 1])) el--;
    if (el < 2 || extra[0] != '{' || extra[el - 1] != '}') {
        tether_internal_set_error(err, TETHER_ERROR_CONFIG, "config_json",
                                  "config_json: must be a JSON object (policy, queue, ...)");
        return NULL;
    }
    tether_runtime *rt = o.runtime;
    bool own = false;
    if (!rt) {
        rt = tether_runtime_new_embedded(err);
        if (!rt) return NULL;
        own = true;
    }
    tether_hub_identity *identity = NULL;
    tether_rc rc = tether_parse_connection_string(rt, cs, &identity, err);
    tether_mqtt_settings *ms = NULL;
    if (rc == TETHER_OK) {
        tether_mqtt_options mo = {.user_agent = USER_AGENT,
                                  .has_keep_alive = o.keep_alive_s != 0,
                                  .keep_alive_s = o.keep_alive_s};
        rc = tether_hub_mqtt_settings(rt, identity, &mo, &ms, err);
    }
    if (rc != TETHER_OK) {
        tether_hub_identity_free(identity);
        if (own) tether_runtime_free(rt);
        return NULL;
    }
    size_t cap = strlen(cs) * 6 + el + 64;
    char *config = malloc(cap);
    size_t at = 0;
    bool ok = config != NULL;
    if (ok) {
        at = (size_t)snprintf(config, cap, "{\"connection-string\": \"");
        ok = json_escape(config, cap, &at, cs);
    }
    if (ok) {
        const char *inner = extra + 1;
        size_t il = el - 2;
        bool empty = true;
        for (size_t i = 0; i < il; i++)
            if (!strchr(" \n\t\r", inner[i])) empty = false;
        at += (size_t)snprintf(config + at, cap - at, "\"%s%.*s}", empty ? "" : ", ",
                               empty ? 0 : (int)il, inner);
    }
    o.runtime = rt;
    if (!o.topic) o.topic = ms->telemetry_topic;
    if (!o.port) o.port = ms->port;
    tether_device *d = NULL;
    if (ok) {
        d = make(&o, config, true, identity, err);
        memset(config, 0, strlen(config)); /* it held the key */
    } else {
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "out of memory");
        tether_hub_identity_free(identity);
    }
    free(config);
    tether_mqtt_settings_free(ms);
    if (d) {
        d->own_rt = own;
    } else if (own) {
        tether_runtime_free(rt);
    }
    return d;
}

/* ---- the API ---- */

static bool grow_slots(tether_device *d) {
    outcome_slot *s = grow(d->slots, &d->cap_slots, sizeof *s);
    if (s) d->slots = s;
    return s != NULL;
}

/* Outcomes that came during a tether_publish (its message's, or one it pushed out
 * of a full queue), now that every callback is registered. */
static void deliver_early(tether_device *d) {
    while (d->n_early > 0) {
        early_outcome e = d->early[0];
        memmove(d->early, d->early + 1, --d->n_early * sizeof *d->early);
        deliver(d, e.id, &e.outcome);
    }
}

/* Publish what an earlier run left in the outbox, in key order. */
static void resend(tether_device *d) {
#ifdef TETHER_HAS_OUTBOX
    tether_outbox_record *r = d->recovered;
    size_t n = d->n_recovered;
    d->recovered = NULL;
    d->n_recovered = 0;
    for (size_t i = 0; i < n && !d->stopped; i++) {
        uint64_t mid = 0;
        tether_rc rc;
        if (d->n_slots == d->cap_slots && !grow_slots(d)) {
            /* Stays in the store for the next run. */
            tlog(TETHER_LOG_ERROR, "outbox: out of memory; key %" PRId64 " waits for a restart",
                 r[i].key);
            continue;
        }
        d->publishing = true;
        rc = tether_publish(d->conn, r[i].topic, r[i].payload, r[i].len, &mid);
        d->publishing = false;
        if (rc == TETHER_OK) {
            d->slots[d->n_slots++] = (outcome_slot){mid, NULL, NULL, r[i].key};
            tlog(TETHER_LOG_DEBUG, "outbox: key %" PRId64 " resent as message %" PRIu64, r[i].key,
                 mid);
        } else {
            /* It can never be sent (a payload over a new, lower limit, say):
             * reported, and not kept to be refused at every start. */
            char why[300];
            tlog(TETHER_LOG_ERROR, "outbox: key %" PRId64 " is refused by this configuration (%s): "
                 "removed", r[i].key, tether_rc_name(rc));
            if (!tether_outbox_remove(d->outbox, r[i].key, why, sizeof why))
                tlog(TETHER_LOG_ERROR, "%s", why);
            mid = 0;
        }
        if (d->o.resent) {
            d->cb_depth++;
            d->o.resent(d->o.user, rc, mid, r[i].key, r[i].topic, r[i].payload, r[i].len);
            d->cb_depth--;
        }
        deliver_early(d);
    }
    tether_outbox_records_free(r, n);
#else
    (void)d;
#endif
}

/* tether_start, then the outbox's leftovers. */
static tether_rc start_now(tether_device *d) {
    d->started = true;
    tlog(TETHER_LOG_INFO, "starting");
    tether_rc rc = tether_start(d->conn);
    if (rc == TETHER_OK) resend(d);
    return rc;
}

tether_rc tether_device_start(tether_device *d) {
    if (!acquire(d)) return TETHER_ERR_ARGUMENT;
    tether_rc rc = TETHER_OK;
    if (d->stopped) {
        rc = TETHER_INPUT_STOPPED;
        snprintf(d->last_error, sizeof d->last_error, "start: the device was stopped");
    } else if (!d->started) {
        rc = start_now(d);
        if (rc != TETHER_OK)
            snprintf(d->last_error, sizeof d->last_error, "start: %s%s%s", tether_rc_name(rc),
                     rc < 0 ? ": " : "", rc < 0 ? tether_connection_last_error(d->conn) : "");
        wake(d);
    }
    release(d);
    return rc;
}

tether_rc tether_device_publish(tether_device *d, const char *topic, const void *payload,
                                size_t len, tether_device_outcome_fn on_outcome,
                                void *outcome_user, uint64_t *id) {
    if (id) *id = 0;
    if (!acquire(d)) return TETHER_ERR_ARGUMENT;
    tether_rc rc;
    const char *t = topic ? topic : d->topic;
    if (!t) {
        rc = fail_with(d, "publish: no topic (give one, or options.topic)");
    } else if (!payload && len > 0) {
        rc = fail_with(d, "publish: payload is NULL with length %zu", len);
    } else if (d->n_slots == d->cap_slots && !grow_slots(d)) {
        rc = fail_with(d, "publish: out of memory");
    } else {
        uint64_t mid = 0;
        int64_t key = 0;
        const uint8_t *bytes = payload ? payload : (const uint8_t *)"";
        rc = TETHER_OK;
#ifdef TETHER_HAS_OUTBOX
        /* Committed before the component sees it: accepted means on disk. */
        char why[300];
        if (d->outbox && !d->stopped && !tether_outbox_store(d->outbox, t, bytes, len, &key, why,
                                                             sizeof why)) {
            fail_with(d, "publish: %s", why);
            rc = TETHER_ERR_OUTBOX;
        }
#endif
        if (rc == TETHER_OK) {
            d->publishing = true;
            rc = tether_publish(d->conn, t, bytes, len, &mid);
            d->publishing = false;
            if (rc == TETHER_OK) {
                d->slots[d->n_slots++] = (outcome_slot){mid, on_outcome, outcome_user, key};
                if (id) *id = mid;
            } else {
                snprintf(d->last_error, sizeof d->last_error, "publish refused: %s%s%s",
                         tether_rc_name(rc), rc < 0 ? ": " : "",
                         rc < 0 ? tether_connection_last_error(d->conn) : "");
                tlog(TETHER_LOG_WARN, "%s", d->last_error);
#ifdef TETHER_HAS_OUTBOX
                if (key != 0 && !tether_outbox_remove(d->outbox, key, why, sizeof why))
                    tlog(TETHER_LOG_ERROR, "%s; the refused message is sent after a restart", why);
#endif
            }
        }
        deliver_early(d);
        wake(d);
    }
    release(d);
    return rc;
}

static void do_stop(tether_device *d) {
    if (d->stopped) return;
    d->stopped = true;
    tlog(TETHER_LOG_INFO, "stopping");
    tether_rc rc = tether_stop(d->conn);
    report_rc(d, "stop", rc);
    while (d->links) link_destroy(d, d->links, true);
    /* Exactly one outcome each, even if the engine failed and gave none. */
    while (d->n_slots > 0) {
        tether_outcome o = {.delivered = false, .failure = TETHER_MESSAGE_CLIENT_CLOSE};
        deliver(d, d->slots[0].id, &o);
    }
#ifdef TETHER_HAS_OUTBOX
    /* What is kept stays; the file's lock is released for the next run. */
    tether_outbox_close(d->outbox);
    d->outbox = NULL;
#endif
    wake(d);
}

static void finish_free(tether_device *d) {
    d->free_requested = false;
    do_stop(d);
    pthread_mutex_lock(&registry);
    d->dead = true;
    pthread_mutex_unlock(&registry);
}

tether_rc tether_device_stop(tether_device *d) {
    if (!acquire(d)) return TETHER_ERR_ARGUMENT;
    do_stop(d);
    release(d);
    return TETHER_OK;
}

void tether_device_stop_async(tether_device *d) {
    if (!d) return;
    d->stop_requested = 1;
    wake(d);
}

/* Every deadline that is due: the component's wake-up, the CONNACK timers. */
static void due(tether_device *d) {
    for (bool again = true; again && !d->stopped;) {
        again = false;
        uint64_t now = tether_now_ns();
        for (dlink *l = d->links; l; l = l->next) {
            if (l->connacked || now - l->opened_ns < (uint64_t)d->connect_timeout_ms * 1000000u)
                continue;
            char why[64];
            snprintf(why, sizeof why, "no CONNACK within %u ms", d->connect_timeout_ms);
            link_end(d, l, tether_failure_network(TETHER_NET_TIMEOUT), why);
            again = true; /* the list changed */
            break;
        }
    }
    uint64_t deadline = 0;
    if (!d->stopped && tether_next_wake(d->conn, &deadline) && tether_now_ns() >= deadline)
        report_rc(d, "wake", tether_on_wake(d->conn));
}

static int timeout_ms(tether_device *d) {
    uint64_t now = tether_now_ns();
    uint64_t ms = MAX_STEP_MS;
    uint64_t deadline = 0;
    if (tether_next_wake(d->conn, &deadline)) {
        uint64_t left = deadline > now ? (deadline - now + 999999u) / 1000000u : 0;
        if (left < ms) ms = left;
    }
    for (dlink *l = d->links; l; l = l->next) {
        if (l->connacked) continue;
        if (d->tls && l->tcp_up && ms > HANDSHAKE_POLL_MS) ms = HANDSHAKE_POLL_MS;
        uint64_t end = l->opened_ns + (uint64_t)d->connect_timeout_ms * 1000000u;
        uint64_t left = end > now ? (end - now + 999999u) / 1000000u : 0;
        if (left < ms) ms = left;
    }
    return (int)ms;
}

int tether_device_next_timeout_ms(tether_device *d) {
    if (!acquire(d)) return -1;
    int ms = d->stopped ? -1 : timeout_ms(d);
    release(d);
    return ms;
}

int tether_device_fd(tether_device *d) {
    if (!acquire(d)) return -1;
    int fd = d->epfd;
    release(d);
    return fd;
}

/* One pass, with the lock held by this thread exactly once (d->calls == 1 for
 * the waiting part). */
static void step_locked(tether_device *d, uint32_t wait_ms) {
    if (!d->stopped && !d->stop_requested && wait_ms > 0) {
        int t = timeout_ms(d);
        if ((uint32_t)t > wait_ms) t = (int)wait_ms;
        struct epoll_event evs[8];
        d->loop_active = true;
        d->loop_thread = pthread_self();
        pthread_mutex_unlock(&d->lock);
        int n = epoll_wait(d->epfd, evs, 8, t);
        (void)n;
        pthread_mutex_lock(&d->lock);
    }
    uint64_t count;
    while (read(d->wakefd, &count, sizeof count) > 0) {
    }
    if (d->stop_requested || d->free_requested) do_stop(d);
    if (d->stopped) return;
    for (dlink *l = d->links; l;) {
        uint64_t next_id = l->next ? l->next->id : 0;
        bool has_next = l->next != NULL;
        link_service(d, l);
        l = has_next ? find_link(d, next_id) : NULL;
    }
    if (!d->stopped) due(d);
}

static tether_rc loop_check(tether_device *d, const char *what) {
    if (d->cb_depth > 0) {
        snprintf(d->last_error, sizeof d->last_error, "%s: called from inside a callback", what);
        return TETHER_ERR_REENTRANT;
    }
    if (d->loop_active && !pthread_equal(d->loop_thread, pthread_self())) {
        snprintf(d->last_error, sizeof d->last_error, "%s: another thread runs the loop", what);
        return TETHER_ERR_REENTRANT;
    }
    if (d->calls > 1) {
        snprintf(d->last_error, sizeof d->last_error, "%s: called from inside tether", what);
        return TETHER_ERR_REENTRANT;
    }
    return TETHER_OK;
}

static tether_rc run_until(tether_device *d, const char *what, uint64_t until_ns, bool once,
                           uint32_t wait_ms) {
    if (!acquire(d)) return TETHER_ERR_ARGUMENT;
    tether_rc rc = loop_check(d, what);
    if (rc == TETHER_OK && d->stopped && !once) {
        rc = TETHER_INPUT_STOPPED;
        snprintf(d->last_error, sizeof d->last_error, "%s: the device was stopped", what);
    }
    if (rc == TETHER_OK) {
        if (!d->started && !d->stopped) report_rc(d, "start", start_now(d));
        d->loop_active = true;
        d->loop_thread = pthread_self();
        if (once) {
            step_locked(d, wait_ms);
        } else {
            while (!d->stopped) {
                uint64_t now = tether_now_ns();
                if (until_ns && now >= until_ns) break;
                uint64_t left = until_ns ? (until_ns - now) / 1000000u + 1 : MAX_STEP_MS;
                step_locked(d, left > MAX_STEP_MS ? MAX_STEP_MS : (uint32_t)left);
            }
        }
        d->loop_active = false;
    }
    release(d);
    return rc;
}

tether_rc tether_device_run(tether_device *d) { return run_until(d, "run", 0, false, 0); }

tether_rc tether_device_run_for(tether_device *d, uint32_t ms) {
    uint64_t until = tether_now_ns() + (uint64_t)ms * 1000000u + 1;
    tether_rc rc = run_until(d, "run_for", until, false, 0);
    return rc == TETHER_INPUT_STOPPED ? TETHER_OK : rc;
}

tether_rc tether_device_step(tether_device *d, uint32_t wait_ms) {
    return run_until(d, "step", 0, true, wait_ms);
}

tether_rc tether_device_status(tether_device *d, tether_status_change *out) {
    if (!out) {
        if (acquire(d)) {
            fail_with(d, "status: out is NULL");
            release(d);
        }
        return TETHER_ERR_ARGUMENT;
    }
    if (!acquire(d)) return TETHER_ERR_ARGUMENT;
    tether_rc rc = tether_current_status(d->conn, out);
    release(d);
    return rc;
}

uint32_t tether_device_pending(tether_device *d) {
    if (!acquire(d)) return 0;
    uint32_t n = (uint32_t)d->n_slots;
    release(d);
    return n;
}

const char *tether_device_topic(tether_device *d) {
    if (!acquire(d)) return "";
    const char *t = d->topic ? d->topic : "";
    release(d);
    return t;
}

void tether_device_free(tether_device *d) {
    if (!acquire(d)) return;
    if (d->cb_depth > 0 || d->calls > 1 ||
        (d->loop_active && !pthread_equal(d->loop_thread, pthread_self()))) {
        /* Inside a callback, or another thread's loop: when it returns. */
        d->free_requested = true;
        d->stop_requested = 1;
        wake(d);
    } else {
        finish_free(d);
    }
    release(d);
}
