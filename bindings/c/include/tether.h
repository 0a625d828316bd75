/*
 * tether.h: the C host of tether.
 *
 * tether's behaviour (classifying failures, retry policies, the reconnection
 * flow) lives in one WebAssembly component (tether.wasm) behind the WIT
 * contract in wit/. This library loads that component with the wasmtime C API
 * and hides the component model's dynamic values behind plain C structs. It
 * decides nothing: it hands every failure and event to the component and
 * reports what the component asked for through the callbacks.
 *
 * Objects and their order:
 *
 *   tether_runtime     one compiled component; create once per process
 *                      (compiling takes milliseconds, instantiating microseconds).
 *   tether_connection  one device link (the WIT `connection` resource) in its own
 *                      instance. Call order: tether_connection_new, tether_start,
 *                      then the tether_on_* inputs as the world answers the
 *                      callbacks, tether_on_wake at or after every wake_at deadline
 *                      (early or extra calls do nothing), tether_stop at the end,
 *                      tether_connection_free.
 *   tether_schedule    a retry policy with its state (the WIT `retry-schedule`),
 *                      for applications that keep their own loop.
 *
 * Callbacks are delivered AFTER the component call returns, in the order the
 * component made the import calls: an import never runs application code while
 * the component is executing. A callback may call back into the same
 * connection (for example tether_on_failed from inside `open` when the socket
 * is refused at once); the events of that nested input are queued behind the
 * ones still being delivered, so the order stays the component's order.
 *
 * Errors: nothing here aborts on bad input. Functions that create objects
 * return NULL and, when `err` is not NULL, a tether_error to read and free.
 * Inputs return a tether_rc: TETHER_OK, a positive code when the component
 * refused the input (nothing changed), or a negative code when the arguments
 * were invalid (nothing was passed on) or the engine failed (a trap: the
 * connection then refuses every further call). tether_connection_last_error
 * says what went wrong for the negative codes.
 *
 * Threads: a runtime and everything made from it are used from one thread at
 * a time (no internal locking); separate runtimes are independent.
 *
 * Times: an instant is a reading of the monotonic clock in nanoseconds (the
 * component's `wasi:clocks/monotonic-clock.now`); durations are milliseconds.
 */
#ifndef TETHER_H
#define TETHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- vocabulary (wit/types.wit); every enum keeps the WIT case order ---- */

/** A failure seen below the protocol. */
typedef enum tether_network_error {
    TETHER_NET_DNS,
    TETHER_NET_REFUSED,
    TETHER_NET_RESET,
    TETHER_NET_UNREACHABLE,
    TETHER_NET_TIMEOUT,
    TETHER_NET_TLS,
    TETHER_NET_CLOSED,
} tether_network_error;

/** A failure the application or the service states in its own terms. */
typedef enum tether_application_error {
    TETHER_APP_UNAUTHORIZED,
    TETHER_APP_CREDENTIAL_EXPIRED,
    TETHER_APP_FORBIDDEN,
    TETHER_APP_DEVICE_NOT_FOUND,
    TETHER_APP_DEVICE_DISABLED,
    TETHER_APP_QUOTA_EXCEEDED,
    TETHER_APP_THROTTLED,
    TETHER_APP_BAD_ENDPOINT,
} tether_application_error;

/** Which failure a tether_failure holds (the WIT failure-kind, flattened). */
typedef enum tether_failure_kind {
    /** network(network) */
    TETHER_FAILURE_NETWORK,
    /** protocol(mqtt-connack(code)): an MQTT 3.1.1 CONNACK return code. */
    TETHER_FAILURE_MQTT_CONNACK,
    /** protocol(mqtt-reason(code)): an MQTT 5 reason code. */
    TETHER_FAILURE_MQTT_REASON,
    /** protocol(amqp(amqp)): an AMQP error condition symbol. */
    TETHER_FAILURE_AMQP,
    /** protocol(http({http_status, hub_code})). */
    TETHER_FAILURE_HTTP,
    /** protocol(keep-alive-lost) */
    TETHER_FAILURE_KEEP_ALIVE_LOST,
    /** protocol(session-expired) */
    TETHER_FAILURE_SESSION_EXPIRED,
    /** protocol(link-detached) */
    TETHER_FAILURE_LINK_DETACHED,
    /** application(application) */
    TETHER_FAILURE_APPLICATION,
} tether_failure_kind;

/**
 * One failure as the host saw it, with any hints the server gave. Only the
 * fields of `kind` are read. Zero-initialise and set what applies, or use the
 * tether_failure_* helpers below.
 */
typedef struct tether_failure {
    tether_failure_kind kind;
    tether_network_error network;         /* TETHER_FAILURE_NETWORK */
    uint8_t code;                         /* MQTT_CONNACK, MQTT_REASON */
    const char *amqp;                     /* AMQP: the condition (UTF-8) */
    uint16_t http_status;                 /* HTTP */
    bool has_hub_code;                    /* HTTP: a six-digit IoT-hub code */
    uint32_t hub_code;
    tether_application_error application; /* APPLICATION */
    bool has_retry_after;                 /* the server's retry-after */
    uint64_t retry_after_ms;
    const char *server_reference; /* another server to use, or NULL */
} tether_failure;

static inline tether_failure tether_failure_network(tether_network_error e) {
    tether_failure f = {0};
    f.kind = TETHER_FAILURE_NETWORK;
    f.network = e;
    return f;
}
static inline tether_failure tether_failure_mqtt_connack(uint8_t code) {
    tether_failure f = {0};
    f.kind = TETHER_FAILURE_MQTT_CONNACK;
    f.code = code;
    return f;
}
static inline tether_failure tether_failure_mqtt_reason(uint8_t code) {
    tether_failure f = {0};
    f.kind = TETHER_FAILURE_MQTT_REASON;
    f.code = code;
    return f;
}
static inline tether_failure tether_failure_application(tether_application_error e) {
    tether_failure f = {0};
    f.kind = TETHER_FAILURE_APPLICATION;
    f.application = e;
    return f;
}

typedef enum tether_level {
    TETHER_LEVEL_NETWORK,
    TETHER_LEVEL_PROTOCOL,
    TETHER_LEVEL_APPLICATION,
} tether_level;

typedef enum tether_verdict {
    TETHER_VERDICT_RETRY,
    TETHER_VERDICT_RETRY_THROTTLED,
    TETHER_VERDICT_RENEW_CREDENTIAL,
    TETHER_VERDICT_REPROVISION,
    TETHER_VERDICT_FATAL,
} tether_verdict;

typedef enum tether_status {
    TETHER_STATUS_CONNECTED,
    TETHER_STATUS_DISCONNECTED_RETRYING,
    TETHER_STATUS_DISCONNECTED,
    TETHER_STATUS_DISABLED,
} tether_status;

typedef enum tether_reason {
    TETHER_REASON_CONNECTION_OK,
    TETHER_REASON_CREDENTIAL_RENEWAL,
    TETHER_REASON_EXPIRED_CREDENTIAL,
    TETHER_REASON_BAD_CREDENTIAL,
    TETHER_REASON_DEVICE_DISABLED,
    TETHER_REASON_DEVICE_NOT_FOUND,
    TETHER_REASON_RETRY_EXPIRED,
    TETHER_REASON_NO_NETWORK,
    TETHER_REASON_COMMUNICATION_ERROR,
    TETHER_REASON_NO_PING_RESPONSE,
    TETHER_REASON_QUOTA_EXCEEDED,
    TETHER_REASON_THROTTLED,
    TETHER_REASON_SERVER_BUSY,
    TETHER_REASON_SERVER_MOVED,
    TETHER_REASON_PROVISIONING,
    TETHER_REASON_PROTOCOL_ERROR,
    TETHER_REASON_BAD_ENDPOINT,
    TETHER_REASON_SESSION_TAKEN_OVER,
    TETHER_REASON_CLIENT_CLOSE,
} tether_reason;

typedef enum tether_give_up_reason {
    TETHER_GIVE_UP_NO_RETRY,
    TETHER_GIVE_UP_MAX_ATTEMPTS,
    TETHER_GIVE_UP_RETRY_TIMEOUT,
    TETHER_GIVE_UP_UNRECOVERABLE,
    TETHER_GIVE_UP_PLUGIN,
} tether_give_up_reason;

typedef enum tether_message_failure {
    TETHER_MESSAGE_OPERATION_TIMEOUT,
    TETHER_MESSAGE_NO_RETRY,
    TETHER_MESSAGE_QUEUE_FULL,
    TETHER_MESSAGE_UNRECOVERABLE,
    TETHER_MESSAGE_RETRY_EXPIRED,
    TETHER_MESSAGE_CLIENT_CLOSE,
    TETHER_MESSAGE_NOT_AUTHORIZED,
    TETHER_MESSAGE_TOPIC_INVALID,
    TETHER_MESSAGE_PAYLOAD_INVALID,
    TETHER_MESSAGE_QUOTA_EXCEEDED,
    TETHER_MESSAGE_REFUSED,
} tether_message_failure;

typedef enum tether_curve {
    TETHER_CURVE_NORMAL,
    TETHER_CURVE_THROTTLED,
    TETHER_CURVE_SERVER_HINT,
    TETHER_CURVE_PLUGIN,
} tether_curve;

/** Why a custom policy plugin's answer was not used (WIT `plugin-fault-reason`). */
typedef enum tether_plugin_fault_reason {
    TETHER_PLUGIN_TRAP,
    TETHER_PLUGIN_OUT_OF_FUEL,
    TETHER_PLUGIN_DEADLINE,
    TETHER_PLUGIN_MEMORY_LIMIT,
    TETHER_PLUGIN_UNAVAILABLE,
    TETHER_PLUGIN_INVALID_ANSWER,
} tether_plugin_fault_reason;

/** The longest classification rule name, with its terminating NUL. */
#define TETHER_RULE_MAX 128

/** The classifier's answer for one failure. */
typedef struct tether_classification {
    tether_level level;
    tether_verdict verdict;
    tether_reason reason;
    /** The table row that matched, for example "mqtt5/0x87". */
    char rule[TETHER_RULE_MAX];
} tether_classification;

/** A retry policy's answer after a failure (WIT `decision`). */
typedef struct tether_decision {
    /** false: retry after delay_ms; true: stop, for give_up. */
    bool is_give_up;
    uint64_t delay_ms;
    tether_give_up_reason give_up;
} tether_decision;

/** A status change. */
typedef struct tether_status_change {
    uint64_t at_ns;
    tether_status status;
    tether_reason reason;
} tether_status_change;

typedef enum tether_action_kind {
    /** Open link `link` to `hub` (attempt `attempt`). */
    TETHER_ACTION_CONNECT,
    /** Wait delay_ms (after failed attempt `attempt`, on `curve`), then reconnect
     *  or, when then_provision, register. */
    TETHER_ACTION_BACKOFF,
    /** Ask for a new credential (`routine` ahead of expiry). */
    TETHER_ACTION_RENEW_CREDENTIAL,
    /** Register with the provisioning service. */
    TETHER_ACTION_PROVISION,
    /** Poll a pending registration after poll_ms. */
    TETHER_ACTION_POLL_PROVISIONING,
    /** Stop trying, for give_up. */
    TETHER_ACTION_GIVE_UP,
} tether_action_kind;

/** A step the connection decided to take (WIT `decision-event`). Strings are
 *  valid during the callback only. */
typedef struct tether_decision_event {
    uint64_t at_ns;
    /** The classified failure behind the step; has_cause is false for routine steps. */
    bool has_cause;
    tether_classification cause;
    tether_action_kind action;
    uint64_t link;         /* CONNECT */
    const char *hub;       /* CONNECT */
    uint32_t attempt;      /* CONNECT, BACKOFF */
    uint64_t delay_ms;     /* BACKOFF */
    tether_curve curve;    /* BACKOFF */
    bool then_provision;   /* BACKOFF */
    bool routine;          /* RENEW_CREDENTIAL */
    uint64_t poll_ms;      /* POLL_PROVISIONING */
    tether_give_up_reason give_up; /* GIVE_UP */
} tether_decision_event;

/** The one outcome of an accepted message. */
typedef struct tether_outcome {
    bool delivered;
    /** Why it failed, when not delivered. */
    tether_message_failure failure;
} tether_outcome;

/** A credential: an opaque secret and, when known, how long it lasts. */
typedef struct tether_credential {
    const char *secret;
    bool has_lifetime;
    uint64_t lifetime_ms;
} tether_credential;

typedef enum tether_provisioning_kind {
    /** Assigned: hub, device_id and optionally a credential (has_credential). */
    TETHER_PROVISIONING_ASSIGNED,
    /** Pending: operation_id and optionally has_retry_after / retry_after_ms. */
    TETHER_PROVISIONING_PENDING,
    /** Failed: failure. */
    TETHER_PROVISIONING_FAILED,
} tether_provisioning_kind;

/** The answer to the `provision_register` or `provision_poll` callback. */
typedef struct tether_provisioning_result {
    tether_provisioning_kind kind;
    const char *hub;
    const char *device_id;
    bool has_credential;
    tether_credential credential;
    const char *operation_id;
    bool has_retry_after;
    uint64_t retry_after_ms;
    tether_failure failure;
} tether_provisioning_result;

/* ---- return codes and errors ---- */

typedef enum tether_rc {
    TETHER_OK = 0,
    /* The component refused an input (WIT input-error); nothing changed. */
    TETHER_INPUT_STALE_LINK = 1,
    TETHER_INPUT_UNEXPECTED = 2,
    TETHER_INPUT_UNKNOWN_MESSAGE = 3,
    TETHER_INPUT_STOPPED = 4,
    /* The component refused a message (WIT publish-error); it gets no outcome. */
    TETHER_PUBLISH_QUEUE_FULL = 5,
    TETHER_PUBLISH_PAYLOAD_TOO_LARGE = 6,
    TETHER_PUBLISH_EMPTY_TOPIC = 7,
    TETHER_PUBLISH_STOPPED = 8,
    /* The component refused a configuration document (tether_validate_config) or
     * an identity input (WIT config-error); the tether_error names the field. */
    TETHER_CONFIG_INVALID = 9,
    /* The component refused a subscription (WIT subscribe-error); nothing kept. */
    TETHER_SUBSCRIBE_EMPTY_FILTER = 10,
    TETHER_SUBSCRIBE_TOO_MANY = 11,
    TETHER_SUBSCRIBE_STOPPED = 12,
    /* Host-side errors; see tether_connection_last_error. */
    /** A NULL where an object was needed, a string that is not UTF-8, an enum
     *  value out of range, or a missing required field. Nothing was passed on. */
    TETHER_ERR_ARGUMENT = -1,
    /** wasmtime failed or the component trapped: the object is unusable now. */
    TETHER_ERR_ENGINE = -2,
    /** Called from inside the `now` or `random_u64` callback of the same
     *  connection, while the component is running. */
    TETHER_ERR_REENTRANT = -3,
    /** tether_device with an outbox: the store could not write or remove a
     *  message (a full disk, say); see tether_device_last_error. */
    TETHER_ERR_OUTBOX = -4,
} tether_rc;

/**
 * The WIT name of a refusal ("stale-link", "queue-full"), or a short
 * description of a host-side error ("invalid argument"). Never NULL.
 */
const char *tether_rc_name(tether_rc rc);

typedef enum tether_error_kind {
    /** The configuration (or policy) document was refused by the component;
     *  tether_error_field names the field. */
    TETHER_ERROR_CONFIG,
    /** An argument was invalid (NULL, not UTF-8). */
    TETHER_ERROR_ARGUMENT,
    /** Reading the component file failed. */
    TETHER_ERROR_IO,
    /** wasmtime failed: the component does not compile, link or instantiate, or trapped. */
    TETHER_ERROR_ENGINE,
} tether_error_kind;

/** An error from a constructor. Free with tether_error_free. */
typedef struct tether_error tether_error;

tether_error_kind tether_error_kind_of(const tether_error *err);
/** The field of a configuration error ("policy.initial-ms"); "" for other kinds. */
const char *tether_error_field(const tether_error *err);
/** What is wrong, in a sentence. */
const char *tether_error_message(const tether_error *err);
void tether_error_free(tether_error *err);

/* ---- the runtime ---- */

typedef struct tether_runtime tether_runtime;

/** Compile the component at `wasm_path` (a component of the `device` world) and
 *  link it against this host's imports. */
tether_runtime *tether_runtime_new(const char *wasm_path, tether_error **err);
/** The same from the component's bytes (copied as needed). */
tether_runtime *tether_runtime_new_from_bytes(const uint8_t *bytes, size_t len,
                                              tether_error **err);
/** A component precompiled by `tether compile` (no compiler runs: the only way to
 *  load a component in a libtether built with TETHER_PRECOMPILED_ONLY). wasmtime
 *  refuses a file made by another wasmtime version, for another target or engine
 *  configuration, or damaged, and the error says so. It cannot check the machine
 *  code itself: whoever can write the file can run code in this process, so load
 *  only files your own build made, from a place only it can write. */
tether_runtime *tether_runtime_new_precompiled(const uint8_t *bytes, size_t len,
                                               tether_error **err);
/** The same from a file; errors name it. */
tether_runtime *tether_runtime_new_precompiled_file(const char *path, tether_error **err);
/** The same with the component built into libtether (nothing read from a path). */
tether_runtime *tether_runtime_new_embedded(tether_error **err);
/** The bytes of the component built into libtether, and their length. */
const uint8_t *tether_embedded_component(size_t *len);
/** Free the runtime. Every connection and schedule made from it must be freed first. */
void tether_runtime_free(tether_runtime *rt);

/** The clock and entropy the runtime's decision functions (classify, validate,
 *  schedules) see; NULL for the real clock and the operating system's entropy.
 *  Called while the component runs: they must not call into tether. */
void tether_runtime_set_clock(tether_runtime *rt, uint64_t (*now)(void *user),
                              uint64_t (*random_u64)(void *user), void *user);

/** The real monotonic clock, in nanoseconds: what the component reads when no
 *  `now` callback is given. */
uint64_t tether_now_ns(void);

/** The system's time of day, in nanoseconds since the Unix epoch: what the
 *  component reads when no `wall_ns` callback is given. */
uint64_t tether_wall_ns(void);

/** Where a virtual clock's time of day starts, in seconds since the epoch
 *  (2023-11-14), in every host's conformance runner, so minted tokens are the same
 *  bytes everywhere. */
#define TETHER_VIRTUAL_EPOCH_S 1700000000ull

/* ---- stateless decisions (WIT `decisions`) ---- */

/** Classify one failure. */
tether_rc tether_classify(tether_runtime *rt, const tether_failure *failure,
                          tether_classification *out);
/** The version of the component's classification table, or 0 on an engine error. */
uint32_t tether_table_version(tether_runtime *rt);
/** Check a configuration document. TETHER_OK, or TETHER_CONFIG_INVALID with
 *  *err (when err is not NULL) naming the field and saying what is wrong. */
tether_rc tether_validate_config(tether_runtime *rt, const char *config_json,
                                 tether_error **err);
/** The last host-side error of the runtime's decision functions ("" if none). */
const char *tether_runtime_last_error(const tether_runtime *rt);

typedef struct tether_schedule tether_schedule;

/** A retry schedule from a policy document (the `policy` object of a
 *  configuration, as JSON) and a seed for the jitter. */
tether_schedule *tether_schedule_new(tether_runtime *rt, const char *policy_json,
                                     uint64_t seed, tether_error **err);
/** The decision after one more failed attempt. `failure` NULL means a plain
 *  recoverable failure; `elapsed_ms` NULL lets the schedule add up its own delays. */
tether_rc tether_schedule_next(tether_schedule *s, const tether_failure *failure,
                               const uint64_t *elapsed_ms, tether_decision *out);
/** Failed attempts counted in this outage (0 on an engine error). */
uint32_t tether_schedule_attempts(tether_schedule *s);
/** An attempt succeeded. */
tether_rc tether_schedule_connected(tether_schedule *s);
/** The link was lost after it held for held_ms. */
tether_rc tether_schedule_dropped(tether_schedule *s, uint64_t held_ms);
/** Start over. */
tether_rc tether_schedule_reset(tether_schedule *s);
void tether_schedule_free(tether_schedule *s);

/* ---- device identities (WIT `identity`) ---- */

/*
 * IoT Hub connection strings, SAS tokens for IoT Hub and DPS, group-enrollment
 * device keys and the MQTT settings IoT Hub expects, all computed by the
 * component (this library only converts), in the runtime's private instance
 * like the decisions above.
 *
 * Every function returns TETHER_OK with its answer in *out; TETHER_CONFIG_INVALID
 * when the component refused an input, with *err (kind TETHER_ERROR_CONFIG)
 * naming the field (`SharedAccessKey`, `resource-uri`, `properties[1]`); or a
 * negative code for a host-side error (a NULL or non-UTF-8 argument: kind
 * TETHER_ERROR_ARGUMENT; a trap: TETHER_ERROR_ENGINE), also with *err. *err is
 * set whenever the result is not TETHER_OK and err is not NULL; free it with
 * tether_error_free. *out is NULL unless TETHER_OK.
 *
 * Keys go in and only signatures come out: no error, here or from the
 * component, carries a key's value. Strings returned here (tokens, derived keys,
 * topics) are malloc'ed and NUL-terminated; free them with tether_string_free,
 * which overwrites them first since they may be secrets.
 */

/** How a device authenticates (WIT `auth-method`). */
typedef enum tether_auth_method {
    /** With a key: tokens are minted from it. */
    TETHER_AUTH_SHARED_ACCESS_KEY,
    /** With a ready-made token, used as given. */
    TETHER_AUTH_SHARED_ACCESS_SIGNATURE,
    /** With an X.509 client certificate in TLS; no token. */
    TETHER_AUTH_X509,
} tether_auth_method;

/**
 * A device or module on a hub, without its secret (WIT `hub-identity`). NULL
 * stands for an absent option. tether_parse_connection_string returns one that
 * tether owns (free it with tether_hub_identity_free); to describe an identity
 * yourself, fill one in with your own strings.
 */
typedef struct tether_hub_identity {
    const char *host_name;
    const char *device_id;
    const char *module_id;         /* NULL: a device identity */
    const char *gateway_host_name; /* NULL: no IoT Edge gateway */
    const char *key_name;          /* NULL: the device's own key */
    tether_auth_method auth;
} tether_hub_identity;

/** What the application may choose about its IoT Hub MQTT session (WIT
 *  `mqtt-options`). Zero-initialise for the defaults. */
typedef struct tether_mqtt_options {
    const char *api_version; /* NULL: 2021-04-12 */
    const char *user_agent;  /* a query parameter appended as given, or NULL */
    const char *model_id;    /* an IoT Plug and Play model id (dtmi:...), or NULL */
    bool has_keep_alive;     /* false: 60 s */
    uint32_t keep_alive_s;   /* clamped by the component to 1..=1177 */
} tether_mqtt_options;

/** The MQTT settings of one identity (WIT `mqtt-settings`). Owned by tether:
 *  free with tether_mqtt_settings_free. */
typedef struct tether_mqtt_settings {
    const char *host; /* the gateway when there is one, else the hub */
    uint16_t port;
    const char *client_id;
    const char *user_name;
    const char *telemetry_topic;        /* without a property bag */
    const char *cloud_to_device_filter; /* NULL for a module */
    uint32_t keep_alive_s;
    bool clean_session;
} tether_mqtt_settings;

/** One message property of a telemetry topic. */
typedef struct tether_property {
    const char *name;
    const char *value;
} tether_property;

/** Parse an IoT Hub connection string (at most 4096 bytes). */
tether_rc tether_parse_connection_string(tether_runtime *rt, const char *text,
                                         tether_hub_identity **out, tether_error **err);
/** Free an identity tether_parse_connection_string returned (NULL is fine). */
void tether_hub_identity_free(tether_hub_identity *identity);
/** The token of a connection string valid until `expiry` (Unix seconds): minted
 *  from its key, or its own SharedAccessSignature. An x509 string has none. */
tether_rc tether_connection_string_token(tether_runtime *rt, const char *text, uint64_t expiry,
                                         char **token, tether_error **err);
/** A token for `resource_uri` signed with `key` (base64) until `expiry`, with
 *  `skn` when key_name is not NULL. */
tether_rc tether_sas_token(tether_runtime *rt, const char *resource_uri, const char *key,
                           const char *key_name, uint64_t expiry, char **token,
                           tether_error **err);
/** `{host}/devices/{device}`, or with `/modules/{module}` when module_id is not NULL. */
tether_rc tether_hub_resource_uri(tether_runtime *rt, const char *host_name,
                                  const char *device_id, const char *module_id, char **uri,
                                  tether_error **err);
/** A DPS registration token (`skn=registration`) until `expiry`. */
tether_rc tether_dps_token(tether_runtime *rt, const char *id_scope,
                           const char *registration_id, const char *key, uint64_t expiry,
                           char **token, tether_error **err);
/** A group enrollment's device key for `registration_id`. A secret: free it
 *  with tether_string_free. */
tether_rc tether_derive_device_key(tether_runtime *rt, const char *group_key,
                                   const char *registration_id, char **device_key,
                                   tether_error **err);
/** The MQTT CONNECT fields and topics IoT Hub expects of `identity`;
 *  `options` NULL for the defaults. */
tether_rc tether_hub_mqtt_settings(tether_runtime *rt, const tether_hub_identity *identity,
                                   const tether_mqtt_options *options,
                                   tether_mqtt_settings **out, tether_error **err);
void tether_mqtt_settings_free(tether_mqtt_settings *settings);
/** The telemetry topic with `count` properties as its percent-encoded property
 *  bag (`properties` may be NULL when count is 0). */
tether_rc tether_telemetry_topic(tether_runtime *rt, const char *device_id,
                                 const char *module_id, const tether_property *properties,
                                 size_t count, char **topic, tether_error **err);
/** Overwrite and free a string returned by the identity functions (NULL is fine). */
void tether_string_free(char *s);

/* ---- connections (WIT `connection`) ---- */

/** A custom policy plugin failed one decision (WIT `plugin-fault-report`).
 *  Strings are valid during the callback only. */
typedef struct tether_plugin_fault {
    uint64_t at_ns;
    const char *plugin;
    tether_plugin_fault_reason reason;
    const char *detail;
    /** The fallback's decision, which was used. */
    tether_decision used;
    uint32_t consecutive;
    /** This fault put the plugin in quarantine. */
    bool quarantined;
} tether_plugin_fault;

/**
 * What the component asks of the host, delivered after each call returns.
 * Any callback may be NULL (the request is then dropped). Strings are
 * NUL-terminated copies, valid during the callback only.
 */
typedef struct tether_callbacks {
    /** transport.open: open link `link`; answer tether_on_opened or
     *  tether_on_failed, later tether_on_closed if it drops. device_id and
     *  credential may be NULL. */
    void (*open)(void *user, uint64_t link, const char *hub, const char *device_id,
                 const char *credential);
    /** transport.send: send message `message`; answer tether_on_acked. */
    void (*send)(void *user, uint64_t link, uint64_t message, const char *topic,
                 const uint8_t *payload, size_t payload_len);
    /** transport.close: close link `link`; no further reports about it. */
    void (*close)(void *user, uint64_t link);
    /** provisioning.register: answer tether_on_provisioned. */
    void (*provision_register)(void *user);
    /** provisioning.poll: answer tether_on_provisioned. */
    void (*provision_poll)(void *user, const char *operation_id);
    /** credentials.renew: answer tether_on_credential. */
    void (*credential_renew)(void *user);
    /** events.status-changed */
    void (*status)(void *user, const tether_status_change *change);
    /** events.decided */
    void (*decided)(void *user, const tether_decision_event *decision);
    /** events.message-outcome: exactly once per accepted message. */
    void (*outcome)(void *user, uint64_t message, const tether_outcome *outcome);
    /** events.wake-at: call tether_on_wake at or after deadline_ns. */
    void (*wake_at)(void *user, uint64_t deadline_ns);
    /** The clock the component reads, in ns. NULL: tether_now_ns. Called while
     *  the component runs: it must not call into tether. */
    uint64_t (*now)(void *user);
    /** Entropy for a default seed (read only when the configuration has no
     *  `seed`). NULL: the operating system's. Called while the component runs. */
    uint64_t (*random_u64)(void *user);
    /** events.plugin-fault: a custom policy's plugin did not decide and the
     *  fallback did. This host runs no plugins: it answers every
     *  policy-plugins.decide with `unavailable`, so the engine falls back and
     *  quarantines the plugin after `quarantine-after` faults. */
    void (*plugin_fault)(void *user, const tether_plugin_fault *fault);
    /** The time of day the component reads (`wasi:clocks/wall-clock`), in ns
     *  since the Unix epoch, only to set the expiry of a token it mints from a
     *  key. NULL: tether_wall_ns. Called while the component runs. */
    uint64_t (*wall_ns)(void *user);
    /** transport.subscribe: subscribe to the `n` topic filters at QoS 1 on open
     *  link `link`. Called with every kept filter on each new link, and with one
     *  when tether_subscribe is called while a link is up. A server that refuses
     *  a subscription closes the link: report tether_on_closed. NULL: this
     *  transport cannot subscribe, and tether_subscribe refuses
     *  (TETHER_ERR_ARGUMENT). The array and strings are valid during the
     *  callback only. */
    void (*subscribe)(void *user, uint64_t link, const char *const *filters, size_t n);
} tether_callbacks;

typedef struct tether_connection tether_connection;

/**
 * A connection in a fresh instance, from a configuration document (JSON). An
 * invalid document gives NULL and a TETHER_ERROR_CONFIG naming the field.
 * `callbacks` is copied; `user` is passed to every callback.
 */
tether_connection *tether_connection_new(tether_runtime *rt, const char *config_json,
                                         const tether_callbacks *callbacks, void *user,
                                         tether_error **err);
tether_rc tether_start(tether_connection *c);
tether_rc tether_on_opened(tether_connection *c, uint64_t link);
tether_rc tether_on_failed(tether_connection *c, uint64_t link, const tether_failure *failure);
tether_rc tether_on_closed(tether_connection *c, uint64_t link, const tether_failure *failure);
tether_rc tether_on_acked(tether_connection *c, uint64_t message);
/** The hub refused message `message` (an MQTT 5 PUBACK reason from 0x80, as a
 *  TETHER_FAILURE_MQTT_REASON failure): the component resends it later or ends it. */
tether_rc tether_on_refused(tether_connection *c, uint64_t message, const tether_failure *failure);
tether_rc tether_on_provisioned(tether_connection *c, const tether_provisioning_result *answer);
/** Exactly one of `credential` and `failure` is non-NULL. */
tether_rc tether_on_credential(tether_connection *c, const tether_credential *credential,
                               const tether_failure *failure);
tether_rc tether_on_wake(tether_connection *c);
/**
 * Queue a message. TETHER_OK with *id set when accepted (it will get exactly
 * one outcome), a TETHER_PUBLISH_* refusal, or a host-side error.
 */
tether_rc tether_publish(tether_connection *c, const char *topic, const uint8_t *payload,
                         size_t payload_len, uint64_t *id);
/**
 * Keep `filter` (an MQTT topic filter) subscribed on every link: the component
 * calls the `subscribe` callback at once when a link is up, and again with all
 * kept filters on each new link. A filter already kept is TETHER_OK and changes
 * nothing. A TETHER_SUBSCRIBE_* refusal (at most 32 filters), or
 * TETHER_ERR_ARGUMENT when `filter` is NULL or not UTF-8 or the callbacks have
 * no `subscribe`. Inbound messages go from the transport to the application.
 */
tether_rc tether_subscribe(tether_connection *c, const char *filter);
/**
 * The filters kept, in the order first subscribed: *filters is a NULL-terminated
 * array of *count strings (count may be NULL), owned by the caller; free it with
 * tether_subscriptions_free. On an error *filters is NULL.
 */
tether_rc tether_subscriptions(tether_connection *c, char ***filters, size_t *count);
/** Free what tether_subscriptions returned (NULL is fine). */
void tether_subscriptions_free(char **filters);
tether_rc tether_stop(tether_connection *c);
/** The next deadline at which the connection wants tether_on_wake: true and
 *  *deadline_ns, or false when it has none (or on an error). */
bool tether_next_wake(tether_connection *c, uint64_t *deadline_ns);
/** The current status. */
tether_rc tether_current_status(tether_connection *c, tether_status_change *out);
/** Messages accepted and not yet given an outcome (0 on an error). */
uint32_t tether_pending_messages(tether_connection *c);
/** What the last host-side error (a negative tether_rc) was; "" if none. */
const char *tether_connection_last_error(const tether_connection *c);
/** Drop the connection and its instance. Pending callbacks are discarded. */
void tether_connection_free(tether_connection *c);

/* ---- names: the WIT kebab-case spelling of each value ("" if out of range) ---- */

const char *tether_network_error_name(tether_network_error v);
const char *tether_application_error_name(tether_application_error v);
const char *tether_level_name(tether_level v);
const char *tether_verdict_name(tether_verdict v);
const char *tether_status_name(tether_status v);
const char *tether_reason_name(tether_reason v);
const char *tether_give_up_reason_name(tether_give_up_reason v);
const char *tether_message_failure_name(tether_message_failure v);
const char *tether_curve_name(tether_curve v);
const char *tether_plugin_fault_reason_name(tether_plugin_fault_reason v);
const char *tether_auth_method_name(tether_auth_method v);
const char *tether_action_name(tether_action_kind v);
/** Look a name up: the enum value, or -1 when `name` is no case of it. */
int tether_network_error_from_name(const char *name);
int tether_application_error_from_name(const char *name);
int tether_auth_method_from_name(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* TETHER_H */
