/*
 * connection.c: tether_connection, one store and instance running the
 * `connection` resource, and the inputs and queries of tether.h on it.
 *
 * Apart because it owns the delivery of queued import calls to the
 * application's callbacks, and with it the rules for re-entry and for a
 * connection freed from inside its own callback.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tether_connection {
    tether_runtime *rt;
    store_inst *si;
    wasmtime_component_resource_any_t *handle;
    bool dispatching;
    bool free_requested;
};

static void connection_destroy(tether_connection *c) {
    if (c->si) {
        if (c->handle) {
            if (!c->si->dead) {
                wasmtime_error_t *e = wasmtime_component_resource_any_drop(c->si->ctx, c->handle);
                if (e) wasmtime_error_delete(e);
            }
            wasmtime_component_resource_any_delete(c->handle);
        }
        tether_internal_store_inst_free(c->si);
    }
    free(c);
}

/* Deliver the queued import calls, in order. A nested input made from a
 * callback only appends: the outermost delivery loop delivers everything. */
static void dispatch(tether_connection *c) {
    if (c->dispatching) return;
    c->dispatching = true;
    host *h = c->si->h;
    while (h->q_head < h->q_len) {
        event e = h->q[h->q_head++];
        const tether_callbacks *cb = &h->cb;
        void *u = h->user;
        if (!c->free_requested) {
            switch (e.kind) {
            case EV_OPEN:
                if (cb->open) cb->open(u, e.link, e.s1, e.s2, e.s3);
                break;
            case EV_SEND:
                if (cb->send) cb->send(u, e.link, e.message, e.s1, e.bytes, e.len);
                break;
            case EV_CLOSE:
                if (cb->close) cb->close(u, e.link);
                break;
            case EV_REGISTER:
                if (cb->provision_register) cb->provision_register(u);
                break;
            case EV_POLL:
                if (cb->provision_poll) cb->provision_poll(u, e.s1);
                break;
            case EV_RENEW:
                if (cb->credential_renew) cb->credential_renew(u);
                break;
            case EV_STATUS:
                if (cb->status) cb->status(u, &e.status);
                break;
            case EV_DECIDED:
                if (cb->decided) cb->decided(u, &e.decision);
                break;
            case EV_OUTCOME:
                if (cb->outcome) cb->outcome(u, e.message, &e.outcome);
                break;
            case EV_WAKE_AT:
                if (cb->wake_at) cb->wake_at(u, e.deadline);
                break;
            case EV_SUBSCRIBE:
                if (cb->subscribe)
                    cb->subscribe(u, e.link, (const char *const *)e.strs, e.n_strs);
                break;
            case EV_PLUGIN_FAULT:
                e.fault.plugin = e.s1;
                e.fault.detail = e.s2;
                if (cb->plugin_fault) cb->plugin_fault(u, &e.fault);
                break;
            }
        }
        tether_internal_event_free(&e);
    }
    h->q_len = h->q_head = 0;
    c->dispatching = false;
}

/* After an input: deliver the callbacks, honour a free asked for meanwhile. */
static tether_rc finish(tether_connection *c, tether_rc rc) {
    /* A re-entrant call (from `now` or `random_u64`) was refused; the component is
     * still running, and its calls are delivered when it returns. */
    if (c->si->in_call) return rc;
    if (c->si->h->oom && rc == TETHER_OK) rc = TETHER_ERR_ENGINE;
    c->si->h->oom = false;
    dispatch(c);
    if (c->free_requested && !c->dispatching) connection_destroy(c);
    return rc;
}

tether_connection *tether_connection_new(tether_runtime *rt, const char *config_json,
                                         const tether_callbacks *callbacks, void *user,
                                         tether_error **err) {
    if (err) *err = NULL;
    if (!rt) {
        tether_internal_set_error(err, TETHER_ERROR_ARGUMENT, NULL, "no runtime given");
        return NULL;
    }
    if (!config_json || !tether_internal_valid_str(config_json)) {
        tether_internal_set_error(err, TETHER_ERROR_ARGUMENT, NULL,
                                  config_json ? "the configuration is not UTF-8"
                                              : "no configuration given");
        return NULL;
    }
    host *h = calloc(1, sizeof *h);
    tether_connection *c = calloc(1, sizeof *c);
    if (!h || !c) {
        free(h);
        free(c);
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "out of memory");
        return NULL;
    }
    if (callbacks) h->cb = *callbacks;
    h->user = user;
    h->deliver = true;
    c->rt = rt;
    char msg[512];
    c->si = tether_internal_store_inst_new(rt, h, 0, F_CONN_COUNT, msg, sizeof msg);
    if (!c->si) {
        free(c);
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", msg);
        return NULL;
    }
    val arg, res;
    set_str(&arg, config_json);
    tether_rc rc = tether_internal_call(c->si, F_CONN_CREATE, &arg, 1, &res, 1);
    if (rc != TETHER_OK) {
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", c->si->error);
        connection_destroy(c);
        return NULL;
    }
    if (res.kind != WASMTIME_COMPONENT_RESULT || !res.of.result.val) {
        tether_internal_engine_shape_error(c->si, F_CONN_CREATE, &res, 1);
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", c->si->error);
        connection_destroy(c);
        return NULL;
    }
    const val *inner = res.of.result.val;
    if (!res.of.result.is_ok) {
        char *field = get_string(record_field(inner, "field"));
        char *message = get_string(record_field(inner, "message"));
        tether_internal_set_error(err, TETHER_ERROR_CONFIG, field ? field : "", "%s",
                                  message ? message : "");
        free(field);
        free(message);
        wasmtime_component_val_delete(&res);
        connection_destroy(c);
        return NULL;
    }
    if (inner->kind != WASMTIME_COMPONENT_RESOURCE) {
        tether_internal_engine_shape_error(c->si, F_CONN_CREATE, &res, 1);
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", c->si->error);
        connection_destroy(c);
        return NULL;
    }
    c->handle = wasmtime_component_resource_any_clone(inner->of.resource);
    wasmtime_component_val_delete(&res);
    /* `create` makes no transport calls; anything it queued is delivered now. */
    dispatch(c);
    return c;
}

void tether_connection_free(tether_connection *c) {
    if (!c) return;
    if (c->dispatching) {
        c->free_requested = true; /* freed when the delivery loop ends */
        return;
    }
    connection_destroy(c);
}

const char *tether_connection_last_error(const tether_connection *c) {
    return c ? c->si->error : "no connection";
}

static bool usable(tether_connection *c) { return c && !c->free_requested; }

/* The connection resource as a borrow argument. */
static void set_self(val *v, tether_connection *c) {
    v->kind = WASMTIME_COMPONENT_RESOURCE;
    v->of.resource = c->handle;
}

/* result<_, input-error> -> tether_rc; deletes the result. */
static tether_rc input_result(store_inst *si, int fn, val *res) {
    if (res->kind != WASMTIME_COMPONENT_RESULT)
        return tether_internal_engine_shape_error(si, fn, res, 1);
    if (res->of.result.is_ok) {
        wasmtime_component_val_delete(res);
        return TETHER_OK;
    }
    int idx = res->of.result.val ? enum_of(res->of.result.val, NAMES_INPUT_ERRORS) : -1;
    if (idx < 0) return tether_internal_engine_shape_error(si, fn, res, 1);
    wasmtime_component_val_delete(res);
    return (tether_rc)(TETHER_INPUT_STALE_LINK + idx);
}

/* Call input `fn` with self plus `extra` arguments, expecting result<_, input-error>. */
static tether_rc input(tether_connection *c, int fn, const val *extra, size_t nextra) {
    val args[3], res;
    set_self(&args[0], c);
    for (size_t i = 0; i < nextra; i++) args[1 + i] = extra[i];
    tether_rc rc = tether_internal_call(c->si, fn, args, 1 + nextra, &res, 1);
    if (rc == TETHER_OK) rc = input_result(c->si, fn, &res);
    return finish(c, rc);
}

tether_rc tether_start(tether_connection *c) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    return input(c, F_CONN_START, NULL, 0);
}

tether_rc tether_on_opened(tether_connection *c, uint64_t link) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    val l;
    set_u64(&l, link);
    return input(c, F_CONN_ON_OPENED, &l, 1);
}

/* An input of an id (a link or a message) and a failure. */
static tether_rc link_failure(tether_connection *c, int fn, uint64_t link,
                              const tether_failure *f) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    arena a = {0};
    val extra[2];
    set_u64(&extra[0], link);
    const char *bad = tether_internal_build_failure(&a, &extra[1], f);
    if (bad) return tether_internal_arg_error(c->si, bad);
    return input(c, fn, extra, 2);
}

tether_rc tether_on_failed(tether_connection *c, uint64_t link, const tether_failure *f) {
    return link_failure(c, F_CONN_ON_FAILED, link, f);
}

tether_rc tether_on_closed(tether_connection *c, uint64_t link, const tether_failure *f) {
    return link_failure(c, F_CONN_ON_CLOSED, link, f);
}

tether_rc tether_on_acked(tether_connection *c, uint64_t message) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    val m;
    set_u64(&m, message);
    return input(c, F_CONN_ON_ACKED, &m, 1);
}

tether_rc tether_on_refused(tether_connection *c, uint64_t message, const tether_failure *f) {
    return link_failure(c, F_CONN_ON_REFUSED, message, f);
}

tether_rc tether_on_provisioned(tether_connection *c, const tether_provisioning_result *r) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    if (!r) return tether_internal_arg_error(c->si, "no provisioning result given");
    arena a = {0};
    val v, *payload = NULL;
    const char *bad = NULL;
    switch (r->kind) {
    case TETHER_PROVISIONING_ASSIGNED: {
        if (!tether_internal_valid_str(r->hub) || !tether_internal_valid_str(r->device_id))
            return tether_internal_arg_error(
                c->si, "the assignment's hub or device id is missing or not UTF-8");
        wasmtime_component_valrecord_entry_t *e = NULL;
        if (!set_variant(&a, &v, "assigned", &payload) || !(e = set_record(&a, payload, 3)))
            return tether_internal_arg_error(c->si, "out of scratch space");
        e[0].name = lit("hub");
        set_str(&e[0].val, r->hub);
        e[1].name = lit("device-id");
        set_str(&e[1].val, r->device_id);
        e[2].name = lit("credential");
        val *some;
        if (!set_option(&a, &e[2].val, r->has_credential, &some))
            return tether_internal_arg_error(c->si, "out of scratch space");
        if (some) bad = tether_internal_build_credential(&a, some, &r->credential);
        break;
    }
    case TETHER_PROVISIONING_PENDING: {
        if (!tether_internal_valid_str(r->operation_id))
            return tether_internal_arg_error(c->si, "the operation id is missing or not UTF-8");
        wasmtime_component_valrecord_entry_t *e = NULL;
        if (!set_variant(&a, &v, "pending", &payload) || !(e = set_record(&a, payload, 2)))
            return tether_internal_arg_error(c->si, "out of scratch space");
        e[0].name = lit("operation-id");
        set_str(&e[0].val, r->operation_id);
        e[1].name = lit("retry-after-ms");
        if (!set_opt_u64(&a, &e[1].val, r->has_retry_after, r->retry_after_ms))
            return tether_internal_arg_error(c->si, "out of scratch space");
        break;
    }
    case TETHER_PROVISIONING_FAILED:
        if (!set_variant(&a, &v, "failed", &payload))
            return tether_internal_arg_error(c->si, "out of scratch space");
        bad = tether_internal_build_failure(&a, payload, &r->failure);
        break;
    default: return tether_internal_arg_error(c->si, "provisioning result kind out of range");
    }
    if (bad) return tether_internal_arg_error(c->si, bad);
    return input(c, F_CONN_ON_PROVISIONED, &v, 1);
}

tether_rc tether_on_credential(tether_connection *c, const tether_credential *credential,
                               const tether_failure *failure) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    if ((credential == NULL) == (failure == NULL))
        return tether_internal_arg_error(c->si, "give exactly one of a credential and a failure");
    arena a = {0};
    val v, *inner = a_val(&a);
    v.kind = WASMTIME_COMPONENT_RESULT;
    v.of.result.is_ok = credential != NULL;
    v.of.result.val = inner;
    const char *bad = credential ? tether_internal_build_credential(&a, inner, credential)
                                 : tether_internal_build_failure(&a, inner, failure);
    if (bad) return tether_internal_arg_error(c->si, bad);
    return input(c, F_CONN_ON_CREDENTIAL, &v, 1);
}

tether_rc tether_on_wake(tether_connection *c) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    val self;
    set_self(&self, c);
    return finish(c, tether_internal_call(c->si, F_CONN_ON_WAKE, &self, 1, NULL, 0));
}

tether_rc tether_stop(tether_connection *c) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    val self;
    set_self(&self, c);
    return finish(c, tether_internal_call(c->si, F_CONN_STOP, &self, 1, NULL, 0));
}

tether_rc tether_publish(tether_connection *c, const char *topic, const uint8_t *payload,
                         size_t payload_len, uint64_t *id) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    if (!topic || !tether_internal_valid_str(topic))
        return tether_internal_arg_error(c->si, "the topic is missing or not UTF-8");
    if (!payload && payload_len)
        return tether_internal_arg_error(c->si, "a NULL payload with a length");
    val *bytes = NULL;
    if (payload_len) {
        bytes = malloc(payload_len * sizeof *bytes);
        if (!bytes) return tether_internal_arg_error(c->si, "out of memory for the payload");
        for (size_t i = 0; i < payload_len; i++) {
            bytes[i].kind = WASMTIME_COMPONENT_U8;
            bytes[i].of.u8 = payload[i];
        }
    }
    val args[3], res;
    set_self(&args[0], c);
    set_str(&args[1], topic);
    args[2].kind = WASMTIME_COMPONENT_LIST;
    args[2].of.list.size = payload_len;
    args[2].of.list.data = bytes;
    tether_rc rc = tether_internal_call(c->si, F_CONN_PUBLISH, args, 3, &res, 1);
    free(bytes);
    if (rc == TETHER_OK) {
        const val *inner = res.of.result.val;
        if (res.kind != WASMTIME_COMPONENT_RESULT || !inner) {
            rc = tether_internal_engine_shape_error(c->si, F_CONN_PUBLISH, &res, 1);
        } else if (res.of.result.is_ok) {
            uint64_t got;
            if (!get_u64(inner, &got)) {
                rc = tether_internal_engine_shape_error(c->si, F_CONN_PUBLISH, &res, 1);
            } else {
                if (id) *id = got;
                wasmtime_component_val_delete(&res);
            }
        } else {
            int idx = enum_of(inner, NAMES_PUBLISH_ERRORS);
            if (idx < 0) {
                rc = tether_internal_engine_shape_error(c->si, F_CONN_PUBLISH, &res, 1);
            } else {
                rc = (tether_rc)(TETHER_PUBLISH_QUEUE_FULL + idx);
                wasmtime_component_val_delete(&res);
            }
        }
    }
    return finish(c, rc);
}

tether_rc tether_subscribe(tether_connection *c, const char *filter) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    /* Without the callback the component's transport.subscribe calls would be
     * dropped: the filter would look kept and never be subscribed. */
    if (!c->si->h->cb.subscribe)
        return tether_internal_arg_error(
            c->si, "the callbacks have no subscribe: this transport cannot carry subscriptions");
    if (!filter || !tether_internal_valid_str(filter))
        return tether_internal_arg_error(c->si, "the filter is missing or not UTF-8");
    val args[2], res;
    set_self(&args[0], c);
    set_str(&args[1], filter);
    tether_rc rc = tether_internal_call(c->si, F_CONN_SUBSCRIBE, args, 2, &res, 1);
    if (rc == TETHER_OK) {
        if (res.kind != WASMTIME_COMPONENT_RESULT) {
            rc = tether_internal_engine_shape_error(c->si, F_CONN_SUBSCRIBE, &res, 1);
        } else if (res.of.result.is_ok) {
            wasmtime_component_val_delete(&res);
        } else {
            int idx =
                res.of.result.val ? enum_of(res.of.result.val, NAMES_SUBSCRIBE_ERRORS) : -1;
            if (idx < 0) {
                rc = tether_internal_engine_shape_error(c->si, F_CONN_SUBSCRIBE, &res, 1);
            } else {
                rc = (tether_rc)(TETHER_SUBSCRIBE_EMPTY_FILTER + idx);
                wasmtime_component_val_delete(&res);
            }
        }
    }
    return finish(c, rc);
}

void tether_subscriptions_free(char **filters) {
    if (!filters) return;
    for (char **f = filters; *f; f++) free(*f);
    free(filters);
}

/* list<string> -> a NULL-terminated array of copies; NULL on a wrong shape or no memory. */
static char **string_list(const val *v, size_t *n) {
    if (v->kind != WASMTIME_COMPONENT_LIST) return NULL;
    const wasmtime_component_vallist_t *list = &v->of.list;
    char **out = calloc(list->size + 1, sizeof *out);
    if (!out) return NULL;
    for (size_t i = 0; i < list->size; i++) {
        if (!(out[i] = get_string(&list->data[i]))) {
            tether_subscriptions_free(out);
            return NULL;
        }
    }
    *n = list->size;
    return out;
}

tether_rc tether_subscriptions(tether_connection *c, char ***filters, size_t *count) {
    if (filters) *filters = NULL;
    if (count) *count = 0;
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    if (!filters) return tether_internal_arg_error(c->si, "no output given");
    val self, res;
    set_self(&self, c);
    tether_rc rc = tether_internal_call(c->si, F_CONN_SUBSCRIPTIONS, &self, 1, &res, 1);
    if (rc == TETHER_OK) {
        size_t n = 0;
        char **list = string_list(&res, &n);
        if (!list) {
            rc = tether_internal_engine_shape_error(c->si, F_CONN_SUBSCRIPTIONS, &res, 1);
        } else {
            *filters = list;
            if (count) *count = n;
            wasmtime_component_val_delete(&res);
        }
    }
    return finish(c, rc);
}

bool tether_next_wake(tether_connection *c, uint64_t *deadline_ns) {
    if (!usable(c)) return false;
    val self, res;
    set_self(&self, c);
    tether_rc rc = tether_internal_call(c->si, F_CONN_NEXT_WAKE, &self, 1, &res, 1);
    bool have = false;
    if (rc == TETHER_OK) {
        if (res.kind != WASMTIME_COMPONENT_OPTION) {
            tether_internal_engine_shape_error(c->si, F_CONN_NEXT_WAKE, &res, 1);
        } else {
            uint64_t d;
            if (res.of.option && get_u64(res.of.option, &d)) {
                have = true;
                if (deadline_ns) *deadline_ns = d;
            }
            wasmtime_component_val_delete(&res);
        }
    }
    finish(c, rc);
    return have;
}

tether_rc tether_current_status(tether_connection *c, tether_status_change *out) {
    if (!usable(c)) return TETHER_ERR_ARGUMENT;
    if (!out) return tether_internal_arg_error(c->si, "no output given");
    val self, res;
    set_self(&self, c);
    tether_rc rc = tether_internal_call(c->si, F_CONN_CURRENT_STATUS, &self, 1, &res, 1);
    if (rc == TETHER_OK) {
        if (!tether_internal_read_status_change(&res, out))
            rc = tether_internal_engine_shape_error(c->si, F_CONN_CURRENT_STATUS, &res, 1);
        else
            wasmtime_component_val_delete(&res);
    }
    return finish(c, rc);
}

uint32_t tether_pending_messages(tether_connection *c) {
    if (!usable(c)) return 0;
    val self, res;
    set_self(&self, c);
    uint32_t n = 0;
    tether_rc rc = tether_internal_call(c->si, F_CONN_PENDING, &self, 1, &res, 1);
    if (rc == TETHER_OK) {
        if (!get_u32(&res, &n))
            tether_internal_engine_shape_error(c->si, F_CONN_PENDING, &res, 1);
        else
            wasmtime_component_val_delete(&res);
    }
    finish(c, rc);
    return n;
}
