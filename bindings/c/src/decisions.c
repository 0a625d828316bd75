/*
 * decisions.c: the runtime's private decisions store and what runs in it:
 * classify, table-version, validate-config and the retry schedules (and the
 * identity functions, in identity.c).
 *
 * Apart because none of it needs a connection: the store is created on first
 * use, its import calls are dropped, and schedules are resources in it.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

store_inst *tether_internal_decisions(tether_runtime *rt) {
    if (rt->decisions) return rt->decisions;
    host *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(rt->error, sizeof rt->error, "out of memory");
        return NULL;
    }
    h->deliver = false;
    h->cb.now = rt->decisions_clock.now;
    h->cb.random_u64 = rt->decisions_clock.random_u64;
    h->user = rt->decisions_user;
    rt->decisions =
        tether_internal_store_inst_new(rt, h, F_CONN_COUNT, F_COUNT, rt->error, sizeof rt->error);
    return rt->decisions;
}

void tether_runtime_set_clock(tether_runtime *rt, uint64_t (*now)(void *user),
                              uint64_t (*random_u64)(void *user), void *user) {
    if (!rt) return;
    rt->decisions_clock.now = now;
    rt->decisions_clock.random_u64 = random_u64;
    rt->decisions_user = user;
    if (rt->decisions) {
        rt->decisions->h->cb.now = now;
        rt->decisions->h->cb.random_u64 = random_u64;
        rt->decisions->h->user = user;
    }
}

tether_rc tether_classify(tether_runtime *rt, const tether_failure *failure,
                          tether_classification *out) {
    if (!rt) return TETHER_ERR_ARGUMENT;
    store_inst *si = tether_internal_decisions(rt);
    if (!si) return TETHER_ERR_ENGINE;
    if (!out) return tether_internal_arg_error(si, "no output given");
    arena a = {0};
    val arg, res;
    const char *bad = tether_internal_build_failure(&a, &arg, failure);
    if (bad) return tether_internal_arg_error(si, bad);
    tether_rc rc = tether_internal_call(si, F_CLASSIFY, &arg, 1, &res, 1);
    if (rc != TETHER_OK) return rc;
    if (!tether_internal_read_classification(&res, out))
        return tether_internal_engine_shape_error(si, F_CLASSIFY, &res, 1);
    wasmtime_component_val_delete(&res);
    return TETHER_OK;
}

uint32_t tether_table_version(tether_runtime *rt) {
    store_inst *si = rt ? tether_internal_decisions(rt) : NULL;
    if (!si) return 0;
    val res;
    uint32_t v = 0;
    if (tether_internal_call(si, F_TABLE_VERSION, NULL, 0, &res, 1) != TETHER_OK) return 0;
    if (!get_u32(&res, &v)) {
        tether_internal_engine_shape_error(si, F_TABLE_VERSION, &res, 1);
        return 0;
    }
    wasmtime_component_val_delete(&res);
    return v;
}

/* result<T, config-error>: TETHER_OK (res kept) or TETHER_CONFIG_INVALID with
 * *err set (res deleted). */
tether_rc tether_internal_config_result(store_inst *si, int fn, val *res, tether_error **err) {
    if (res->kind != WASMTIME_COMPONENT_RESULT)
        return tether_internal_engine_shape_error(si, fn, res, 1);
    if (res->of.result.is_ok) return TETHER_OK;
    const val *inner = res->of.result.val;
    char *field = inner ? get_string(record_field(inner, "field")) : NULL;
    char *message = inner ? get_string(record_field(inner, "message")) : NULL;
    if (!field || !message) {
        free(field);
        free(message);
        return tether_internal_engine_shape_error(si, fn, res, 1);
    }
    tether_internal_set_error(err, TETHER_ERROR_CONFIG, field, "%s", message);
    free(field);
    free(message);
    wasmtime_component_val_delete(res);
    return TETHER_CONFIG_INVALID;
}

tether_rc tether_validate_config(tether_runtime *rt, const char *config_json,
                                 tether_error **err) {
    if (err) *err = NULL;
    if (!rt) return TETHER_ERR_ARGUMENT;
    store_inst *si = tether_internal_decisions(rt);
    if (!si) return TETHER_ERR_ENGINE;
    if (!tether_internal_valid_str(config_json)) {
        tether_internal_set_error(err, TETHER_ERROR_ARGUMENT, NULL,
                                  "the configuration is missing or not UTF-8");
        return tether_internal_arg_error(si, "the configuration is missing or not UTF-8");
    }
    val arg, res;
    set_str(&arg, config_json);
    tether_rc rc = tether_internal_call(si, F_VALIDATE, &arg, 1, &res, 1);
    if (rc != TETHER_OK) return rc;
    rc = tether_internal_config_result(si, F_VALIDATE, &res, err);
    if (rc == TETHER_OK) wasmtime_component_val_delete(&res);
    return rc;
}

struct tether_schedule {
    tether_runtime *rt;
    wasmtime_component_resource_any_t *handle;
};

tether_schedule *tether_schedule_new(tether_runtime *rt, const char *policy_json, uint64_t seed,
                                     tether_error **err) {
    if (err) *err = NULL;
    if (!rt) {
        tether_internal_set_error(err, TETHER_ERROR_ARGUMENT, NULL, "no runtime given");
        return NULL;
    }
    store_inst *si = tether_internal_decisions(rt);
    if (!si) {
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", rt->error);
        return NULL;
    }
    if (!tether_internal_valid_str(policy_json)) {
        tether_internal_set_error(err, TETHER_ERROR_ARGUMENT, NULL,
                                  "the policy is missing or not UTF-8");
        return NULL;
    }
    val args[2], res;
    set_str(&args[0], policy_json);
    set_u64(&args[1], seed);
    tether_rc rc = tether_internal_call(si, F_SCHED_CREATE, args, 2, &res, 1);
    if (rc == TETHER_OK) rc = tether_internal_config_result(si, F_SCHED_CREATE, &res, err);
    if (rc == TETHER_CONFIG_INVALID) return NULL;
    if (rc != TETHER_OK) {
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", si->error);
        return NULL;
    }
    const val *inner = res.of.result.val;
    tether_schedule *s = calloc(1, sizeof *s);
    if (!inner || inner->kind != WASMTIME_COMPONENT_RESOURCE || !s) {
        free(s);
        if (!inner || inner->kind != WASMTIME_COMPONENT_RESOURCE) {
            tether_internal_engine_shape_error(si, F_SCHED_CREATE, &res, 1);
            tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", si->error);
        } else {
            wasmtime_component_val_delete(&res);
            tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "out of memory");
        }
        return NULL;
    }
    s->rt = rt;
    s->handle = wasmtime_component_resource_any_clone(inner->of.resource);
    wasmtime_component_val_delete(&res);
    return s;
}

void tether_schedule_free(tether_schedule *s) {
    if (!s) return;
    store_inst *si = s->rt->decisions;
    if (si && !si->dead) {
        wasmtime_error_t *e = wasmtime_component_resource_any_drop(si->ctx, s->handle);
        if (e) wasmtime_error_delete(e);
    }
    wasmtime_component_resource_any_delete(s->handle);
    free(s);
}

static tether_rc schedule_call(tether_schedule *s, int fn, const val *extra, size_t nextra,
                               val *res, size_t nres) {
    val args[3];
    args[0].kind = WASMTIME_COMPONENT_RESOURCE;
    args[0].of.resource = s->handle;
    for (size_t i = 0; i < nextra; i++) args[1 + i] = extra[i];
    return tether_internal_call(s->rt->decisions, fn, args, 1 + nextra, res, nres);
}

tether_rc tether_schedule_next(tether_schedule *s, const tether_failure *failure,
                               const uint64_t *elapsed_ms, tether_decision *out) {
    if (!s) return TETHER_ERR_ARGUMENT;
    store_inst *si = s->rt->decisions;
    if (!out) return tether_internal_arg_error(si, "no output given");
    arena a = {0};
    val extra[2], *some, res;
    set_option(&a, &extra[0], failure != NULL, &some);
    if (some) {
        const char *bad = tether_internal_build_failure(&a, some, failure);
        if (bad) return tether_internal_arg_error(si, bad);
    }
    set_opt_u64(&a, &extra[1], elapsed_ms != NULL, elapsed_ms ? *elapsed_ms : 0);
    tether_rc rc = schedule_call(s, F_SCHED_NEXT, extra, 2, &res, 1);
    if (rc != TETHER_OK) return rc;
    if (res.kind != WASMTIME_COMPONENT_VARIANT || !res.of.variant.val)
        return tether_internal_engine_shape_error(si, F_SCHED_NEXT, &res, 1);
    memset(out, 0, sizeof *out);
    const val *p = res.of.variant.val;
    if (name_is(&res.of.variant.discriminant, "retry-after") && get_u64(p, &out->delay_ms)) {
        out->is_give_up = false;
    } else if (name_is(&res.of.variant.discriminant, "give-up") &&
               enum_of(p, NAMES_GIVE_UP_REASONS) >= 0) {
        out->is_give_up = true;
        out->give_up = (tether_give_up_reason)enum_of(p, NAMES_GIVE_UP_REASONS);
    } else {
        return tether_internal_engine_shape_error(si, F_SCHED_NEXT, &res, 1);
    }
    wasmtime_component_val_delete(&res);
    return TETHER_OK;
}

uint32_t tether_schedule_attempts(tether_schedule *s) {
    if (!s) return 0;
    val res;
    uint32_t n = 0;
    if (schedule_call(s, F_SCHED_ATTEMPTS, NULL, 0, &res, 1) != TETHER_OK) return 0;
    if (!get_u32(&res, &n)) {
        tether_internal_engine_shape_error(s->rt->decisions, F_SCHED_ATTEMPTS, &res, 1);
        return 0;
    }
    wasmtime_component_val_delete(&res);
    return n;
}

tether_rc tether_schedule_connected(tether_schedule *s) {
    if (!s) return TETHER_ERR_ARGUMENT;
    return schedule_call(s, F_SCHED_CONNECTED, NULL, 0, NULL, 0);
}

tether_rc tether_schedule_dropped(tether_schedule *s, uint64_t held_ms) {
    if (!s) return TETHER_ERR_ARGUMENT;
    val held;
    set_u64(&held, held_ms);
    return schedule_call(s, F_SCHED_DROPPED, &held, 1, NULL, 0);
}

tether_rc tether_schedule_reset(tether_schedule *s) {
    if (!s) return TETHER_ERR_ARGUMENT;
    return schedule_call(s, F_SCHED_RESET, NULL, 0, NULL, 0);
}
