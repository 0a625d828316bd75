/*
 * identity.c: the component's `identity` interface (wit/identity.wit) for C:
 * connection strings, SAS and DPS tokens, group-enrollment keys and the IoT Hub
 * MQTT settings.
 *
 * Apart because it is its own interface with its own ownership rules (it hands
 * out strings and records the caller frees). It computes nothing: every answer
 * is the component's, called in the runtime's private decisions store, and this
 * file only lowers the arguments and lifts the answers.
 *
 * Keys pass through as arguments and derived keys and tokens come back as
 * results: no message made here quotes an argument's value, and result strings
 * are overwritten before the C API's copy of them is freed.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Overwrite n bytes; volatile so that the compiler keeps the stores before free. */
static void scrub(void *p, size_t n) {
    volatile unsigned char *b = p;
    while (n--) *b++ = 0;
}

void tether_string_free(char *s) {
    if (!s) return;
    scrub(s, strlen(s));
    free(s);
}

/* ---- the shape of every call ---- */

/* The decisions store for an identity call (the caller has cleared its output);
 * NULL with *rc (and *err) set when there is none or no output was given. */
static store_inst *begin(tether_runtime *rt, bool has_out, tether_error **err, tether_rc *rc) {
    if (err) *err = NULL;
    if (!rt) {
        tether_internal_set_error(err, TETHER_ERROR_ARGUMENT, NULL, "no runtime given");
        *rc = TETHER_ERR_ARGUMENT;
        return NULL;
    }
    store_inst *si = tether_internal_decisions(rt);
    if (!si) {
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", rt->error);
        *rc = TETHER_ERR_ENGINE;
        return NULL;
    }
    if (!has_out) {
        tether_internal_set_error(err, TETHER_ERROR_ARGUMENT, NULL, "no output given");
        *rc = tether_internal_arg_error(si, "no output given");
        return NULL;
    }
    return si;
}

/* An invalid argument: `what` names the parameter, never its value. */
static tether_rc bad_arg(store_inst *si, tether_error **err, const char *what) {
    tether_internal_set_error(err, TETHER_ERROR_ARGUMENT, NULL, "invalid argument: %s", what);
    return tether_internal_arg_error(si, what);
}

/* A host-side failure after the call started: the store's message in *err. */
static tether_rc engine(store_inst *si, tether_error **err, tether_rc rc) {
    if (err && !*err) tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "%s", si->error);
    return rc;
}

static tether_rc out_of_memory(store_inst *si, tether_error **err) {
    snprintf(si->error, sizeof si->error, "out of memory");
    return engine(si, err, TETHER_ERR_ENGINE);
}

/* Call fn; for a result<T, config-error> (fallible) leave *ok pointing at the T,
 * else at the plain result. On TETHER_OK the caller deletes *res. */
static tether_rc call(store_inst *si, int fn, const val *args, size_t nargs, bool fallible,
                      val *res, const val **ok, tether_error **err) {
    tether_rc rc = tether_internal_call(si, fn, args, nargs, res, 1);
    if (rc != TETHER_OK) return engine(si, err, rc);
    if (!fallible) {
        *ok = res;
        return TETHER_OK;
    }
    rc = tether_internal_config_result(si, fn, res, err);
    if (rc != TETHER_OK) return rc == TETHER_CONFIG_INVALID ? rc : engine(si, err, rc);
    *ok = res->of.result.val;
    if (!*ok) return engine(si, err, tether_internal_engine_shape_error(si, fn, res, 1));
    return TETHER_OK;
}

/* A call whose answer is a string (possibly a secret): *out gets a copy. */
static tether_rc string_call(store_inst *si, int fn, const val *args, size_t nargs,
                             bool fallible, char **out, tether_error **err) {
    val res;
    const val *ok;
    tether_rc rc = call(si, fn, args, nargs, fallible, &res, &ok, err);
    if (rc != TETHER_OK) return rc;
    if (ok->kind != WASMTIME_COMPONENT_STRING)
        return engine(si, err, tether_internal_engine_shape_error(si, fn, &res, 1));
    char *copy = get_string(ok);
    scrub(ok->of.string.data, ok->of.string.size);
    wasmtime_component_val_delete(&res);
    if (!copy) return out_of_memory(si, err);
    *out = copy;
    return TETHER_OK;
}

static bool opt_valid(const char *s) { return !s || tether_internal_valid_str(s); }

static void set_opt_str(val *v, val *some, const char *s) {
    v->kind = WASMTIME_COMPONENT_OPTION;
    v->of.option = NULL;
    if (s) {
        set_str(some, s);
        v->of.option = some;
    }
}

/* ---- connection strings ---- */

static char *take_string(const val *v, bool *ok) {
    char *s = get_string(v);
    if (!s) *ok = false;
    return s;
}

static char *take_opt_string(const val *v, bool *ok) {
    char *s = NULL;
    if (!tether_internal_get_opt_string(v, &s)) *ok = false;
    return s;
}

void tether_hub_identity_free(tether_hub_identity *id) {
    if (!id) return;
    free((char *)id->host_name);
    free((char *)id->device_id);
    free((char *)id->module_id);
    free((char *)id->gateway_host_name);
    free((char *)id->key_name);
    free(id);
}

tether_rc tether_parse_connection_string(tether_runtime *rt, const char *text,
                                         tether_hub_identity **out, tether_error **err) {
    tether_rc rc;
    if (out) *out = NULL;
    store_inst *si = begin(rt, out != NULL, err, &rc);
    if (!si) return rc;
    if (!tether_internal_valid_str(text))
        return bad_arg(si, err, "the connection string is missing or not UTF-8");
    val arg, res;
    const val *r;
    set_str(&arg, text);
    rc = call(si, F_ID_PARSE, &arg, 1, true, &res, &r, err);
    if (rc != TETHER_OK) return rc;
    tether_hub_identity *id = calloc(1, sizeof *id);
    if (!id) {
        wasmtime_component_val_delete(&res);
        return out_of_memory(si, err);
    }
    bool ok = true;
    id->host_name = take_string(record_field(r, "host-name"), &ok);
    id->device_id = take_string(record_field(r, "device-id"), &ok);
    id->module_id = take_opt_string(record_field(r, "module-id"), &ok);
    id->gateway_host_name = take_opt_string(record_field(r, "gateway-host-name"), &ok);
    id->key_name = take_opt_string(record_field(r, "key-name"), &ok);
    const val *auth = record_field(r, "auth");
    int a = auth ? enum_of(auth, NAMES_AUTH_METHODS) : -1;
    id->auth = a < 0 ? TETHER_AUTH_SHARED_ACCESS_KEY : (tether_auth_method)a;
    if (!ok || a < 0) {
        /* A missing string is a wrong shape or out of memory; either way unusable. */
        tether_hub_identity_free(id);
        return engine(si, err, tether_internal_engine_shape_error(si, F_ID_PARSE, &res, 1));
    }
    wasmtime_component_val_delete(&res);
    *out = id;
    return TETHER_OK;
}

tether_rc tether_connection_string_token(tether_runtime *rt, const char *text, uint64_t expiry,
                                         char **token, tether_error **err) {
    tether_rc rc;
    if (token) *token = NULL;
    store_inst *si = begin(rt, token != NULL, err, &rc);
    if (!si) return rc;
    if (!tether_internal_valid_str(text))
        return bad_arg(si, err, "the connection string is missing or not UTF-8");
    val args[2];
    set_str(&args[0], text);
    set_u64(&args[1], expiry);
    return string_call(si, F_ID_STRING_TOKEN, args, 2, true, token, err);
}

/* ---- tokens and keys ---- */

tether_rc tether_sas_token(tether_runtime *rt, const char *resource_uri, const char *key,
                           const char *key_name, uint64_t expiry, char **token,
                           tether_error **err) {
    tether_rc rc;
    if (token) *token = NULL;
    store_inst *si = begin(rt, token != NULL, err, &rc);
    if (!si) return rc;
    if (!tether_internal_valid_str(resource_uri))
        return bad_arg(si, err, "resource_uri is missing or not UTF-8");
    if (!tether_internal_valid_str(key)) return bad_arg(si, err, "key is missing or not UTF-8");
    if (!opt_valid(key_name)) return bad_arg(si, err, "key_name is not UTF-8");
    val args[4], name;
    set_str(&args[0], resource_uri);
    set_str(&args[1], key);
    set_opt_str(&args[2], &name, key_name);
    set_u64(&args[3], expiry);
    return string_call(si, F_ID_SAS_TOKEN, args, 4, true, token, err);
}

tether_rc tether_hub_resource_uri(tether_runtime *rt, const char *host_name,
                                  const char *device_id, const char *module_id, char **uri,
                                  tether_error **err) {
    tether_rc rc;
    if (uri) *uri = NULL;
    store_inst *si = begin(rt, uri != NULL, err, &rc);
    if (!si) return rc;
    if (!tether_internal_valid_str(host_name))
        return bad_arg(si, err, "host_name is missing or not UTF-8");
    if (!tether_internal_valid_str(device_id))
        return bad_arg(si, err, "device_id is missing or not UTF-8");
    if (!opt_valid(module_id)) return bad_arg(si, err, "module_id is not UTF-8");
    val args[3], module;
    set_str(&args[0], host_name);
    set_str(&args[1], device_id);
    set_opt_str(&args[2], &module, module_id);
    return string_call(si, F_ID_RESOURCE_URI, args, 3, false, uri, err);
}

tether_rc tether_dps_token(tether_runtime *rt, const char *id_scope,
                           const char *registration_id, const char *key, uint64_t expiry,
                           char **token, tether_error **err) {
    tether_rc rc;
    if (token) *token = NULL;
    store_inst *si = begin(rt, token != NULL, err, &rc);
    if (!si) return rc;
    if (!tether_internal_valid_str(id_scope))
        return bad_arg(si, err, "id_scope is missing or not UTF-8");
    if (!tether_internal_valid_str(registration_id))
        return bad_arg(si, err, "registration_id is missing or not UTF-8");
    if (!tether_internal_valid_str(key)) return bad_arg(si, err, "key is missing or not UTF-8");
    val args[4];
    set_str(&args[0], id_scope);
    set_str(&args[1], registration_id);
    set_str(&args[2], key);
    set_u64(&args[3], expiry);
    return string_call(si, F_ID_DPS_TOKEN, args, 4, true, token, err);
}

tether_rc tether_derive_device_key(tether_runtime *rt, const char *group_key,
                                   const char *registration_id, char **device_key,
                                   tether_error **err) {
    tether_rc rc;
    if (device_key) *device_key = NULL;
    store_inst *si = begin(rt, device_key != NULL, err, &rc);
    if (!si) return rc;
    if (!tether_internal_valid_str(group_key))
        return bad_arg(si, err, "group_key is missing or not UTF-8");
    if (!tether_internal_valid_str(registration_id))
        return bad_arg(si, err, "registration_id is missing or not UTF-8");
    val args[2];
    set_str(&args[0], group_key);
    set_str(&args[1], registration_id);
    return string_call(si, F_ID_DERIVE_KEY, args, 2, true, device_key, err);
}

/* ---- MQTT ---- */

void tether_mqtt_settings_free(tether_mqtt_settings *s) {
    if (!s) return;
    free((char *)s->host);
    free((char *)s->client_id);
    free((char *)s->user_name);
    free((char *)s->telemetry_topic);
    free((char *)s->cloud_to_device_filter);
    free(s);
}

/* hub-identity -> record; a message naming the bad field, or NULL. */
static const char *build_identity(arena *a, val *v, const tether_hub_identity *id) {
    if (!id) return "no identity given";
    if (!tether_internal_valid_str(id->host_name))
        return "identity.host_name is missing or not UTF-8";
    if (!tether_internal_valid_str(id->device_id))
        return "identity.device_id is missing or not UTF-8";
    if (!opt_valid(id->module_id)) return "identity.module_id is not UTF-8";
    if (!opt_valid(id->gateway_host_name)) return "identity.gateway_host_name is not UTF-8";
    if (!opt_valid(id->key_name)) return "identity.key_name is not UTF-8";
    const char *auth = tether_internal_name_at(NAMES_AUTH_METHODS, (unsigned)id->auth);
    if (!auth) return "identity.auth is out of range";
    wasmtime_component_valrecord_entry_t *e = set_record(a, v, 6);
    val *some[3] = {a_val(a), a_val(a), a_val(a)};
    if (!e || !some[0] || !some[1] || !some[2]) return "out of scratch space";
    e[0].name = lit("host-name");
    set_str(&e[0].val, id->host_name);
    e[1].name = lit("device-id");
    set_str(&e[1].val, id->device_id);
    e[2].name = lit("module-id");
    set_opt_str(&e[2].val, some[0], id->module_id);
    e[3].name = lit("gateway-host-name");
    set_opt_str(&e[3].val, some[1], id->gateway_host_name);
    e[4].name = lit("key-name");
    set_opt_str(&e[4].val, some[2], id->key_name);
    e[5].name = lit("auth");
    set_enum(&e[5].val, auth);
    return NULL;
}

/* mqtt-options -> record (NULL options: every field none). */
static const char *build_options(arena *a, val *v, const tether_mqtt_options *o) {
    static const tether_mqtt_options DEFAULTS = {0};
    if (!o) o = &DEFAULTS;
    if (!opt_valid(o->api_version)) return "options.api_version is not UTF-8";
    if (!opt_valid(o->user_agent)) return "options.user_agent is not UTF-8";
    if (!opt_valid(o->model_id)) return "options.model_id is not UTF-8";
    wasmtime_component_valrecord_entry_t *e = set_record(a, v, 4);
    val *some[3] = {a_val(a), a_val(a), a_val(a)}, *keep_alive;
    if (!e || !some[0] || !some[1] || !some[2]) return "out of scratch space";
    e[0].name = lit("api-version");
    set_opt_str(&e[0].val, some[0], o->api_version);
    e[1].name = lit("user-agent");
    set_opt_str(&e[1].val, some[1], o->user_agent);
    e[2].name = lit("model-id");
    set_opt_str(&e[2].val, some[2], o->model_id);
    e[3].name = lit("keep-alive-s");
    if (!set_option(a, &e[3].val, o->has_keep_alive, &keep_alive)) return "out of scratch space";
    if (keep_alive) {
        keep_alive->kind = WASMTIME_COMPONENT_U32;
        keep_alive->of.u32 = o->keep_alive_s;
    }
    return NULL;
}

tether_rc tether_hub_mqtt_settings(tether_runtime *rt, const tether_hub_identity *identity,
                                   const tether_mqtt_options *options,
                                   tether_mqtt_settings **out, tether_error **err) {
    tether_rc rc;
    if (out) *out = NULL;
    store_inst *si = begin(rt, out != NULL, err, &rc);
    if (!si) return rc;
    arena a = {0};
    val args[2], res;
    const char *bad = build_identity(&a, &args[0], identity);
    if (!bad) bad = build_options(&a, &args[1], options);
    if (bad) return bad_arg(si, err, bad);
    const val *r;
    rc = call(si, F_ID_MQTT_SETTINGS, args, 2, true, &res, &r, err);
    if (rc != TETHER_OK) return rc;
    tether_mqtt_settings *s = calloc(1, sizeof *s);
    if (!s) {
        wasmtime_component_val_delete(&res);
        return out_of_memory(si, err);
    }
    bool ok = true;
    s->host = take_string(record_field(r, "host"), &ok);
    s->client_id = take_string(record_field(r, "client-id"), &ok);
    s->user_name = take_string(record_field(r, "user-name"), &ok);
    s->telemetry_topic = take_string(record_field(r, "telemetry-topic"), &ok);
    s->cloud_to_device_filter = take_opt_string(record_field(r, "cloud-to-device-filter"), &ok);
    const val *port = record_field(r, "port"), *clean = record_field(r, "clean-session");
    if (port && port->kind == WASMTIME_COMPONENT_U16)
        s->port = port->of.u16;
    else
        ok = false;
    if (clean && clean->kind == WASMTIME_COMPONENT_BOOL)
        s->clean_session = clean->of.boolean;
    else
        ok = false;
    if (!get_u32(record_field(r, "keep-alive-s"), &s->keep_alive_s)) ok = false;
    if (!ok) {
        tether_mqtt_settings_free(s);
        return engine(si, err,
                      tether_internal_engine_shape_error(si, F_ID_MQTT_SETTINGS, &res, 1));
    }
    wasmtime_component_val_delete(&res);
    *out = s;
    return TETHER_OK;
}

tether_rc tether_telemetry_topic(tether_runtime *rt, const char *device_id,
                                 const char *module_id, const tether_property *properties,
                                 size_t count, char **topic, tether_error **err) {
    tether_rc rc;
    if (topic) *topic = NULL;
    store_inst *si = begin(rt, topic != NULL, err, &rc);
    if (!si) return rc;
    if (!tether_internal_valid_str(device_id))
        return bad_arg(si, err, "device_id is missing or not UTF-8");
    if (!opt_valid(module_id)) return bad_arg(si, err, "module_id is not UTF-8");
    if (count && !properties) return bad_arg(si, err, "properties is NULL");
    for (size_t i = 0; i < count; i++) {
        if (!tether_internal_valid_str(properties[i].name) ||
            !tether_internal_valid_str(properties[i].value)) {
            char what[96];
            snprintf(what, sizeof what, "properties[%zu] has a missing or non-UTF-8 name or value",
                     i);
            return bad_arg(si, err, what);
        }
    }
    /* list<tuple<string, string>>: `count` tuples, then their 2 * count strings. */
    val *items = NULL;
    if (count) {
        if (count > SIZE_MAX / (3 * sizeof *items)) return out_of_memory(si, err);
        items = calloc(3 * count, sizeof *items);
        if (!items) return out_of_memory(si, err);
    }
    for (size_t i = 0; i < count; i++) {
        val *pair = &items[count + 2 * i];
        set_str(&pair[0], properties[i].name);
        set_str(&pair[1], properties[i].value);
        items[i].kind = WASMTIME_COMPONENT_TUPLE;
        items[i].of.tuple.size = 2;
        items[i].of.tuple.data = pair;
    }
    val args[3], module;
    set_str(&args[0], device_id);
    set_opt_str(&args[1], &module, module_id);
    args[2].kind = WASMTIME_COMPONENT_LIST;
    args[2].of.list.size = count;
    args[2].of.list.data = items;
    rc = string_call(si, F_ID_TELEMETRY_TOPIC, args, 3, true, topic, err);
    free(items);
    return rc;
}
