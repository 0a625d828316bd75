/*
 * tether_device.h: a ready MQTT device client on libmosquitto, with tether
 * deciding every reconnect.
 *
 * A tether_device is a tether_connection, a libmosquitto transport and the loop
 * in one object. The transport opens a fresh mosquitto client for each link the
 * component asks for (libmosquitto's own reconnecting is never used), maps every
 * libmosquitto error to the contract's failure (the table in bindings/c/README.md;
 * the Rust transport, host/device/src/mqtt.rs, is the specification) and hands
 * PUBACKs back by message id. It decides nothing: every wait, retry and give-up
 * comes from the component.
 *
 * Present when libtether was built with TETHER_WITH_MOSQUITTO (the default when
 * libmosquitto is found; TETHER_HAS_DEVICE is then defined by tether's cmake
 * target and pkg-config file). Link with -lmosquitto. The persistent outbox
 * (options.outbox_path) is there when it was also built with TETHER_WITH_SQLITE
 * (the default when libsqlite3 is found; TETHER_HAS_OUTBOX, -lsqlite3).
 *
 * The loop: tether_device_run() blocks until tether_device_stop(); an application
 * with its own poll loop watches tether_device_fd() (readable: call
 * tether_device_step(d, 0)) and calls it again after tether_device_next_timeout_ms().
 * tether_device_run_for(d, ms) runs the loop for a while (simple programs).
 *
 * Threads: every function may be called from any thread; the device serialises
 * them with its own lock. Callbacks run on the thread that runs the loop (or
 * inside the call that caused them, e.g. stop), with that lock held: a callback
 * may call back into its device (publish, stop), but must not wait for another
 * thread that is calling into it.
 *
 * Errors: functions return a tether_rc. A device pointer that is NULL, freed or
 * never made is TETHER_ERR_ARGUMENT (the device keeps a registry of live
 * handles, so a stale pointer is never dereferenced); tether_device_last_error
 * says what went wrong in a sentence. Keys, tokens and passwords are never in an
 * error or a log line.
 */
#ifndef TETHER_DEVICE_H
#define TETHER_DEVICE_H

#include "tether.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- logging ---- */

typedef enum tether_log_level {
    TETHER_LOG_ERROR,
    TETHER_LOG_WARN,
    TETHER_LOG_INFO,
    TETHER_LOG_DEBUG,
} tether_log_level;

/** Receives tether's log lines: statuses and decisions (with the classifier's
 *  rule) at INFO, each link's connect and end (with the libmosquitto error behind
 *  it) at DEBUG, refusals at WARN. NULL (the default) logs nothing. May be called
 *  from any thread running a device; the message is valid during the call only. */
typedef void (*tether_log_fn)(void *user, tether_log_level level, const char *message);

/** Set the process-wide log callback and the most verbose level it gets. */
void tether_set_log_callback(tether_log_fn fn, tether_log_level max_level, void *user);
/** "error", "warn", "info", "debug" ("" if out of range). */
const char *tether_log_level_name(tether_log_level level);

/* ---- the device ---- */

typedef struct tether_device tether_device;

/** The outcome of one accepted message: exactly once per accepted message. */
typedef void (*tether_device_outcome_fn)(void *user, uint64_t message,
                                         const tether_outcome *outcome);

/** How the device is made. Zero-initialise and set what applies. */
typedef struct tether_device_options {
    /** The component to use; NULL: the one built into libtether, owned by the
     *  device. A runtime given here must outlive the device and must not be used
     *  by another thread while the device runs. */
    tether_runtime *runtime;
    /** tether_device_new: the component's configuration document (JSON: hub,
     *  device-id, credential, policy, queue, ...). tether_device_new_from_connection_string:
     *  more of it as a JSON object (policy, queue, seed), or NULL. */
    const char *config_json;
    /** The topic tether_device_publish uses when given NULL (from a connection
     *  string: the device's telemetry topic). */
    const char *topic;
    /** 4 (MQTT 3.1.1, the default when 0) or 5. IoT Hub: 4 only. */
    int mqtt_version;
    /** The port of a hub given without one (DPS assigns bare host names);
     *  0: 8883 with TLS, 1883 without. */
    uint16_t port;
    /** 0: 30 s (IoT Hub: the component's 60 s). At least 5. */
    uint32_t keep_alive_s;
    /** TCP, TLS and CONNACK together; 0: 10000 ms. */
    uint32_t connect_timeout_ms;
    /** TLS (implied by tls_ca_file and by a connection string). */
    bool tls;
    /** The CA certificates (PEM) to trust; NULL: the system's. */
    const char *tls_ca_file;
    /** A client certificate and its key (PEM), or NULL. */
    const char *tls_cert_file;
    const char *tls_key_file;
    /** Plain MQTT: the client id (NULL: the device id) and user name (NULL: the
     *  device id when there is a credential). Refused with a connection string. */
    const char *client_id;
    const char *username;

    /** Callbacks, each may be NULL; `user` is passed to all of them. */
    void (*status)(void *user, const tether_status_change *change);
    void (*decided)(void *user, const tether_decision_event *decision);
    /** Every message's outcome (after the one given to tether_device_publish). */
    tether_device_outcome_fn outcome;
    /** The component asks for a new credential (set "credential": {"renewable":
     *  true} in config_json): return the secret (copied at once), or NULL to
     *  refuse. Not needed with a connection string's key (the component mints). */
    const char *(*renew)(void *user);
    void *user;

    /** The persistent outbox (TETHER_HAS_OUTBOX: libtether built with SQLite): the
     *  store file, made when missing; NULL: none (messages live in memory). Every
     *  accepted message is committed there before tether_device_publish returns
     *  and removed when its outcome arrives (removed first, reported after, so no
     *  restart reports an outcome twice). tether_device_new refuses a store that
     *  is damaged (cut short, not SQLite, empty, another program's file) or open
     *  in another process: NULL and a TETHER_ERROR_IO naming the file, which is
     *  left as it was. Without SQLite in the build, a path is a TETHER_ERROR_CONFIG. */
    const char *outbox_path;
    /** At start, each message an earlier run left in the outbox is published
     *  again, in the order it was first accepted: TETHER_OK with this run's id
     *  (its outcome goes to `outcome`), or the refusal (id 0; a message this
     *  configuration no longer accepts, removed from the store). `key` is its
     *  durable key; topic and payload are valid during the call. May be NULL. */
    void (*resent)(void *user, tether_rc rc, uint64_t message, int64_t key, const char *topic,
                   const void *payload, size_t len);
    /** At stop, with an outbox, a message without an outcome is kept in the store
     *  for the next run instead of failing with client-close: neither outcome
     *  callback is called for it; this one is, with the `outcome_user` it was
     *  published with. May be NULL. */
    void (*kept)(void *user, uint64_t message, int64_t key, void *outcome_user);
} tether_device_options;

/**
 * A device on plain MQTT (or TLS) from `options->config_json`. NULL and *err on
 * a refused configuration (TETHER_ERROR_CONFIG naming the field: the component's
 * own, such as "policy.initial-ms", or this library's, such as "tls_ca_file"),
 * a bad argument, or an engine error.
 */
tether_device *tether_device_new(const tether_device_options *options, tether_error **err);

/**
 * An Azure IoT Hub device from its connection string: TLS on 8883 (unless
 * options->port), MQTT 3.1.1, the client id, user name and telemetry topic from
 * the component's hub-mqtt-settings for the hub of each link, every SAS token
 * minted by the component from SharedAccessKey (and renewed before it expires).
 * x509=true sends no password (give tls_cert_file and tls_key_file). A bad string
 * is a TETHER_ERROR_CONFIG naming the key, never quoting the secret. `options`
 * may be NULL.
 */
tether_device *tether_device_new_from_connection_string(const char *connection_string,
                                                        const tether_device_options *options,
                                                        tether_error **err);

/** Begin connecting (once; later calls do nothing). */
tether_rc tether_device_start(tether_device *d);

/**
 * Queue `payload` at QoS 1 on `topic` (NULL: options->topic). TETHER_OK with *id
 * (id may be NULL) when accepted: `on_outcome` (may be NULL) then gets its one
 * outcome, from the loop or from stop/free (with an outbox, a message kept at
 * stop goes to options->kept instead). Otherwise nothing is called: a
 * TETHER_PUBLISH_* refusal (payload-too-large, queue-full, stopped, empty-topic),
 * TETHER_ERR_ARGUMENT (NULL payload with len > 0, no topic) or TETHER_ERR_OUTBOX
 * (the outbox could not store it).
 */
tether_rc tether_device_publish(tether_device *d, const char *topic, const void *payload,
                                size_t len, tether_device_outcome_fn on_outcome,
                                void *outcome_user, uint64_t *id);

/** Run the loop until tether_device_stop (from a callback, another thread or a
 *  signal handler through tether_device_stop_async). TETHER_INPUT_STOPPED when
 *  already stopped, TETHER_ERR_REENTRANT from inside a callback or while another
 *  thread runs the loop. */
tether_rc tether_device_run(tether_device *d);
/** Run the loop for `ms` milliseconds, or until stopped. */
tether_rc tether_device_run_for(tether_device *d, uint32_t ms);
/** One pass of the loop: wait up to `wait_ms` for the device's file descriptor
 *  (0: do not wait), then handle the sockets and every deadline that is due. */
tether_rc tether_device_step(tether_device *d, uint32_t wait_ms);
/** A file descriptor that is readable when tether_device_step has work (an
 *  epoll descriptor over the link's socket and the device's wake-up); -1 on a bad
 *  device. Owned by the device. */
int tether_device_fd(tether_device *d);
/** Milliseconds until tether_device_step must run again even if the descriptor
 *  stays quiet (a tether deadline, a CONNACK timeout, libmosquitto's keep-alive):
 *  at most 1000 (10 while a TLS handshake is under way); 0 when something is due;
 *  -1 on a bad device or once stopped. */
int tether_device_next_timeout_ms(tether_device *d);

/**
 * Stop: close the link (DISCONNECT) and fail every message without an outcome
 * with client-close; their outcome callbacks run on the calling thread before
 * this returns, and a loop running on another thread returns. Calling it again
 * does nothing.
 */
tether_rc tether_device_stop(tether_device *d);
/** Ask the loop to stop without waiting: only sets a flag and wakes the loop
 *  (async-signal-safe for a device that is alive). */
void tether_device_stop_async(tether_device *d);

/** The current status. */
tether_rc tether_device_status(tether_device *d, tether_status_change *out);
/** Messages accepted and not yet given an outcome (0 on a bad device). */
uint32_t tether_device_pending(tether_device *d);
/** The topic publish uses by default ("" if none), valid until the device is freed. */
const char *tether_device_topic(tether_device *d);
/** What the last failed call on `d` was about; for a device that is not live, a
 *  sentence saying so. Never NULL. Valid until the next call on `d`. */
const char *tether_device_last_error(const tether_device *d);

/**
 * Stop (as tether_device_stop) and free the device. From inside one of its
 * callbacks, or while another thread runs its loop, the free happens when the
 * loop returns. Afterwards every call with the pointer is TETHER_ERR_ARGUMENT.
 * NULL is fine.
 */
void tether_device_free(tether_device *d);

/* ---- the transport's mapping, for tests and other loops ---- */

/** What the transport makes of a libmosquitto result: `mosq_rc` (a MOSQ_ERR_*
 *  value, or for a lost link the on_disconnect code), `err_no` (errno when
 *  MOSQ_ERR_ERRNO), for an MQTT `version` (4 or 5). */
tether_failure tether_mosquitto_failure(int mosq_rc, int err_no, int version);
/** The failure of a refused CONNACK: 3.1.1 return code or MQTT 5 reason code. */
tether_failure tether_mosquitto_connack_failure(int code, int version);

#ifdef __cplusplus
}
#endif

#endif /* TETHER_DEVICE_H */
