/*
 * names.c: the WIT enum and variant names of tether, as C string tables, and
 * everything that maps between them and the C enums of tether.h.
 *
 * tether.h's enums are indices into these tables, so they are kept together,
 * each in the same literal shape, where they can be read (and checked against
 * tether.h) in one place. The tables stay static: other units reach them only
 * through tether_internal_name_at and tether_internal_name_index.
 */
#include "internal.h"

#include <string.h>

static const char *const NETWORK_ERRORS[] = {"dns",     "refused", "reset", "unreachable",
                                             "timeout", "tls",     "closed"};
static const char *const APPLICATION_ERRORS[] = {
    "unauthorized",  "credential-expired", "forbidden", "device-not-found",
    "device-disabled", "quota-exceeded",   "throttled", "bad-endpoint"};
static const char *const LEVELS[] = {"network", "protocol", "application"};
static const char *const VERDICTS[] = {"retry", "retry-throttled", "renew-credential",
                                       "reprovision", "fatal"};
static const char *const STATUSES[] = {"connected", "disconnected-retrying", "disconnected",
                                       "disabled"};
static const char *const REASONS[] = {
    "connection-ok",      "credential-renewal", "expired-credential", "bad-credential",
    "device-disabled",    "device-not-found",   "retry-expired",      "no-network",
    "communication-error", "no-ping-response",  "quota-exceeded",     "throttled",
    "server-busy",        "server-moved",       "provisioning",       "protocol-error",
    "bad-endpoint",       "session-taken-over", "client-close"};
static const char *const GIVE_UP_REASONS[] = {"no-retry", "max-attempts", "retry-timeout",
                                              "unrecoverable", "plugin"};
static const char *const MESSAGE_FAILURES[] = {"operation-timeout", "no-retry",
                                               "queue-full",        "unrecoverable",
                                               "retry-expired",     "client-close",
                                               "not-authorized",    "topic-invalid",
                                               "payload-invalid",   "quota-exceeded",
                                               "refused"};
static const char *const CURVES[] = {"normal", "throttled", "server-hint", "plugin"};
static const char *const PLUGIN_FAULT_REASONS[] = {"trap",        "out-of-fuel",
                                                   "deadline",    "memory-limit",
                                                   "unavailable", "invalid-answer"};
static const char *const ACTIONS[] = {"connect",   "backoff",           "renew-credential",
                                      "provision", "poll-provisioning", "give-up"};
static const char *const INPUT_ERRORS[] = {"stale-link", "unexpected", "unknown-message",
                                           "stopped"};
static const char *const PUBLISH_ERRORS[] = {"queue-full", "payload-too-large", "empty-topic",
                                             "stopped"};
static const char *const SUBSCRIBE_ERRORS[] = {"empty-filter", "too-many", "stopped"};
static const char *const AUTH_METHODS[] = {"shared-access-key", "shared-access-signature",
                                           "x509"};

#define NAME_FN(fn, type, table)                                                               \
    const char *fn(type v) {                                                                   \
        return ((unsigned)v < COUNT(table)) ? table[(unsigned)v] : "";                         \
    }
NAME_FN(tether_network_error_name, tether_network_error, NETWORK_ERRORS)
NAME_FN(tether_application_error_name, tether_application_error, APPLICATION_ERRORS)
NAME_FN(tether_level_name, tether_level, LEVELS)
NAME_FN(tether_verdict_name, tether_verdict, VERDICTS)
NAME_FN(tether_status_name, tether_status, STATUSES)
NAME_FN(tether_reason_name, tether_reason, REASONS)
NAME_FN(tether_give_up_reason_name, tether_give_up_reason, GIVE_UP_REASONS)
NAME_FN(tether_message_failure_name, tether_message_failure, MESSAGE_FAILURES)
NAME_FN(tether_curve_name, tether_curve, CURVES)
NAME_FN(tether_plugin_fault_reason_name, tether_plugin_fault_reason, PLUGIN_FAULT_REASONS)
NAME_FN(tether_action_name, tether_action_kind, ACTIONS)
NAME_FN(tether_auth_method_name, tether_auth_method, AUTH_METHODS)

static int index_of(const char *const *table, size_t n, const char *name, size_t len) {
    for (size_t i = 0; i < n; i++) {
        if (strlen(table[i]) == len && memcmp(table[i], name, len) == 0) return (int)i;
    }
    return -1;
}

/* Every table, by its tether_internal_names index. */
static const struct {
    const char *const *names;
    size_t n;
} TABLES[NAMES_COUNT] = {
    [NAMES_NETWORK_ERRORS] = {NETWORK_ERRORS, COUNT(NETWORK_ERRORS)},
    [NAMES_APPLICATION_ERRORS] = {APPLICATION_ERRORS, COUNT(APPLICATION_ERRORS)},
    [NAMES_LEVELS] = {LEVELS, COUNT(LEVELS)},
    [NAMES_VERDICTS] = {VERDICTS, COUNT(VERDICTS)},
    [NAMES_STATUSES] = {STATUSES, COUNT(STATUSES)},
    [NAMES_REASONS] = {REASONS, COUNT(REASONS)},
    [NAMES_GIVE_UP_REASONS] = {GIVE_UP_REASONS, COUNT(GIVE_UP_REASONS)},
    [NAMES_MESSAGE_FAILURES] = {MESSAGE_FAILURES, COUNT(MESSAGE_FAILURES)},
    [NAMES_CURVES] = {CURVES, COUNT(CURVES)},
    [NAMES_PLUGIN_FAULT_REASONS] = {PLUGIN_FAULT_REASONS, COUNT(PLUGIN_FAULT_REASONS)},
    [NAMES_ACTIONS] = {ACTIONS, COUNT(ACTIONS)},
    [NAMES_INPUT_ERRORS] = {INPUT_ERRORS, COUNT(INPUT_ERRORS)},
    [NAMES_PUBLISH_ERRORS] = {PUBLISH_ERRORS, COUNT(PUBLISH_ERRORS)},
    [NAMES_SUBSCRIBE_ERRORS] = {SUBSCRIBE_ERRORS, COUNT(SUBSCRIBE_ERRORS)},
    [NAMES_AUTH_METHODS] = {AUTH_METHODS, COUNT(AUTH_METHODS)},
};

int tether_internal_name_index(tether_internal_names t, const char *name, size_t len) {
    return index_of(TABLES[t].names, TABLES[t].n, name, len);
}

const char *tether_internal_name_at(tether_internal_names t, unsigned i) {
    return i < TABLES[t].n ? TABLES[t].names[i] : NULL;
}

int tether_network_error_from_name(const char *name) {
    return name ? index_of(NETWORK_ERRORS, COUNT(NETWORK_ERRORS), name, strlen(name)) : -1;
}

int tether_application_error_from_name(const char *name) {
    return name ? index_of(APPLICATION_ERRORS, COUNT(APPLICATION_ERRORS), name, strlen(name))
                : -1;
}

int tether_auth_method_from_name(const char *name) {
    return name ? index_of(AUTH_METHODS, COUNT(AUTH_METHODS), name, strlen(name)) : -1;
}

const char *tether_rc_name(tether_rc rc) {
    switch (rc) {
    case TETHER_OK: return "ok";
    case TETHER_INPUT_STALE_LINK:
    case TETHER_INPUT_UNEXPECTED:
    case TETHER_INPUT_UNKNOWN_MESSAGE:
    case TETHER_INPUT_STOPPED: return INPUT_ERRORS[rc - TETHER_INPUT_STALE_LINK];
    case TETHER_PUBLISH_QUEUE_FULL:
    case TETHER_PUBLISH_PAYLOAD_TOO_LARGE:
    case TETHER_PUBLISH_EMPTY_TOPIC:
    case TETHER_PUBLISH_STOPPED: return PUBLISH_ERRORS[rc - TETHER_PUBLISH_QUEUE_FULL];
    case TETHER_CONFIG_INVALID: return "invalid configuration";
    case TETHER_SUBSCRIBE_EMPTY_FILTER:
    case TETHER_SUBSCRIBE_TOO_MANY:
    case TETHER_SUBSCRIBE_STOPPED: return SUBSCRIBE_ERRORS[rc - TETHER_SUBSCRIBE_EMPTY_FILTER];
    case TETHER_ERR_ARGUMENT: return "invalid argument";
    case TETHER_ERR_ENGINE: return "engine error";
    case TETHER_ERR_REENTRANT: return "re-entrant call";
    case TETHER_ERR_OUTBOX: return "outbox storage error";
    }
    return "unknown return code";
}
