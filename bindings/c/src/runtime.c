/*
 * runtime.c: tether_runtime (the engine, the compiled component, the linker and
 * the export indices) and store_inst (one store with one instance), with the
 * one function every call into the component goes through.
 *
 * Apart because connections and the decisions store are both built on it, and
 * it is where engine errors turn into rc codes and dead stores.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IFACE_CONNECTION "tether:reconnect/connection@0.1.0"
#define IFACE_DECISIONS "tether:reconnect/decisions@0.1.0"
#define IFACE_IDENTITY "tether:reconnect/identity@0.1.0"

/* The interface and name of every F_* export: resolved once per runtime. */
static const struct {
    const char *iface, *name;
} EXPORTS[F_COUNT] = {
    [F_CONN_CREATE] = {IFACE_CONNECTION, "[static]connection.create"},
    [F_CONN_START] = {IFACE_CONNECTION, "[method]connection.start"},
    [F_CONN_ON_OPENED] = {IFACE_CONNECTION, "[method]connection.on-opened"},
    [F_CONN_ON_FAILED] = {IFACE_CONNECTION, "[method]connection.on-failed"},
    [F_CONN_ON_CLOSED] = {IFACE_CONNECTION, "[method]connection.on-closed"},
    [F_CONN_ON_ACKED] = {IFACE_CONNECTION, "[method]connection.on-acked"},
    [F_CONN_ON_REFUSED] = {IFACE_CONNECTION, "[method]connection.on-refused"},
    [F_CONN_ON_PROVISIONED] = {IFACE_CONNECTION, "[method]connection.on-provisioned"},
    [F_CONN_ON_CREDENTIAL] = {IFACE_CONNECTION, "[method]connection.on-credential"},
    [F_CONN_ON_WAKE] = {IFACE_CONNECTION, "[method]connection.on-wake"},
    [F_CONN_PUBLISH] = {IFACE_CONNECTION, "[method]connection.publish"},
    [F_CONN_SUBSCRIBE] = {IFACE_CONNECTION, "[method]connection.subscribe"},
    [F_CONN_SUBSCRIPTIONS] = {IFACE_CONNECTION, "[method]connection.subscriptions"},
    [F_CONN_STOP] = {IFACE_CONNECTION, "[method]connection.stop"},
    [F_CONN_CURRENT_STATUS] = {IFACE_CONNECTION, "[method]connection.current-status"},
    [F_CONN_NEXT_WAKE] = {IFACE_CONNECTION, "[method]connection.next-wake"},
    [F_CONN_PENDING] = {IFACE_CONNECTION, "[method]connection.pending-messages"},
    [F_CLASSIFY] = {IFACE_DECISIONS, "classify"},
    [F_TABLE_VERSION] = {IFACE_DECISIONS, "table-version"},
    [F_VALIDATE] = {IFACE_DECISIONS, "validate-config"},
    [F_SCHED_CREATE] = {IFACE_DECISIONS, "[static]retry-schedule.create"},
    [F_SCHED_NEXT] = {IFACE_DECISIONS, "[method]retry-schedule.next"},
    [F_SCHED_ATTEMPTS] = {IFACE_DECISIONS, "[method]retry-schedule.attempts"},
    [F_SCHED_CONNECTED] = {IFACE_DECISIONS, "[method]retry-schedule.connected"},
    [F_SCHED_DROPPED] = {IFACE_DECISIONS, "[method]retry-schedule.dropped"},
    [F_SCHED_RESET] = {IFACE_DECISIONS, "[method]retry-schedule.reset"},
    [F_ID_PARSE] = {IFACE_IDENTITY, "parse-connection-string"},
    [F_ID_STRING_TOKEN] = {IFACE_IDENTITY, "connection-string-token"},
    [F_ID_SAS_TOKEN] = {IFACE_IDENTITY, "sas-token"},
    [F_ID_RESOURCE_URI] = {IFACE_IDENTITY, "hub-resource-uri"},
    [F_ID_DPS_TOKEN] = {IFACE_IDENTITY, "dps-token"},
    [F_ID_DERIVE_KEY] = {IFACE_IDENTITY, "derive-device-key"},
    [F_ID_MQTT_SETTINGS] = {IFACE_IDENTITY, "hub-mqtt-settings"},
    [F_ID_TELEMETRY_TOPIC] = {IFACE_IDENTITY, "telemetry-topic"},
};

/* The interfaces the EXPORTS live in. */
static const char *const IFACES[] = {IFACE_CONNECTION, IFACE_DECISIONS, IFACE_IDENTITY};

/* A runtime with its engine (the settings every tether host uses; a precompiled
 * component must have been made with the same), nothing loaded yet. */
static tether_runtime *runtime_with_engine(tether_error **err) {
    tether_runtime *rt = calloc(1, sizeof *rt);
    if (!rt) {
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "out of memory");
        return NULL;
    }
    wasm_config_t *config = wasm_config_new();
    if (config) {
        wasmtime_config_wasm_component_model_set(config, true);
        rt->engine = wasm_engine_new_with_config(config); /* takes the config */
    }
    if (!rt->engine) {
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL,
                                  "out of memory creating the engine");
        tether_runtime_free(rt);
        return NULL;
    }
    return rt;
}

static tether_runtime *link_component(tether_runtime *rt, tether_error **err);

tether_runtime *tether_runtime_new_from_bytes(const uint8_t *bytes, size_t len,
                                              tether_error **err) {
    if (err) *err = NULL;
    if (!bytes) {
        tether_internal_set_error(err, TETHER_ERROR_ARGUMENT, NULL, "no component bytes given");
        return NULL;
    }
#ifdef TETHER_PRECOMPILED_ONLY
    (void)len;
    tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL,
                              "this libtether has no compiler (built with "
                              "TETHER_PRECOMPILED_ONLY): load a component made by "
                              "`tether compile` with tether_runtime_new_precompiled");
    return NULL;
#else
    tether_runtime *rt = runtime_with_engine(err);
    if (!rt) return NULL;
    wasmtime_error_t *e = wasmtime_component_new(rt->engine, bytes, len, &rt->component);
    if (e) {
        char *m = tether_internal_take_wasmtime_error(e);
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL,
                                  "compiling the tether component: %s", m ? m : "?");
        free(m);
        tether_runtime_free(rt);
        return NULL;
    }
    return link_component(rt, err);
#endif
}

tether_runtime *tether_runtime_new_precompiled(const uint8_t *bytes, size_t len,
                                               tether_error **err) {
    if (err) *err = NULL;
    if (!bytes) {
        tether_internal_set_error(err, TETHER_ERROR_ARGUMENT, NULL, "no component bytes given");
        return NULL;
    }
    /* wasmtime's own checks come after these two, with their own words. */
    if (len >= 4 && memcmp(bytes, "\0asm", 4) == 0) {
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL,
                                  "loading the precompiled tether component: this is a plain "
                                  ".wasm component, not a precompiled one (make one with "
                                  "`tether compile`)");
        return NULL;
    }
    if (len < 4 || memcmp(bytes, "\x7f" "ELF", 4) != 0) {
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL,
                                  "loading the precompiled tether component: this is not a "
                                  "precompiled wasmtime file");
        return NULL;
    }
    tether_runtime *rt = runtime_with_engine(err);
    if (!rt) return NULL;
    /* wasmtime checks the file's compatibility header (wasmtime version, target,
     * engine settings) but cannot check the machine code: see tether.h. */
    wasmtime_error_t *e = wasmtime_component_deserialize(rt->engine, bytes, len, &rt->component);
    if (e) {
        char *m = tether_internal_take_wasmtime_error(e);
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL,
                                  "loading the precompiled tether component: its compatibility "
                                  "header does not match this engine (made by another wasmtime "
                                  "version, for another target or engine configuration, or "
                                  "damaged; remake it with `tether compile`): %s",
                                  m ? m : "?");
        free(m);
        tether_runtime_free(rt);
        return NULL;
    }
    return link_component(rt, err);
}

/* Link the loaded component against the host's imports and find its exports. */
static tether_runtime *link_component(tether_runtime *rt, tether_error **err) {
    wasmtime_error_t *e = NULL;
    rt->linker = wasmtime_component_linker_new(rt->engine);
    if (!rt->linker) goto oom;
    e = tether_internal_define_imports(rt->linker);
    if (e) {
        char *m = tether_internal_take_wasmtime_error(e);
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "defining the host imports: %s",
                                  m ? m : "?");
        free(m);
        tether_runtime_free(rt);
        return NULL;
    }
    wasmtime_component_export_index_t *ifaces[COUNT(IFACES)] = {0};
    const char *missing = NULL;
    for (size_t i = 0; i < COUNT(IFACES) && !missing; i++) {
        ifaces[i] = wasmtime_component_get_export_index(rt->component, NULL, IFACES[i],
                                                        strlen(IFACES[i]));
        if (!ifaces[i]) missing = IFACES[i];
    }
    for (int i = 0; i < F_COUNT && !missing; i++) {
        wasmtime_component_export_index_t *iface = NULL;
        for (size_t k = 0; k < COUNT(IFACES); k++)
            if (strcmp(EXPORTS[i].iface, IFACES[k]) == 0) iface = ifaces[k];
        rt->exports[i] = wasmtime_component_get_export_index(rt->component, iface,
                                                            EXPORTS[i].name,
                                                            strlen(EXPORTS[i].name));
        if (!rt->exports[i]) missing = EXPORTS[i].name;
    }
    for (size_t i = 0; i < COUNT(IFACES); i++)
        if (ifaces[i]) wasmtime_component_export_index_delete(ifaces[i]);
    if (missing) {
        tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL,
                                  "the component does not export `%s`: it is not a tether "
                                  "component of this contract version",
                                  missing);
        tether_runtime_free(rt);
        return NULL;
    }
    return rt;
oom:
    tether_internal_set_error(err, TETHER_ERROR_ENGINE, NULL, "out of memory linking the component");
    tether_runtime_free(rt);
    return NULL;
}

/* Read `wasm_path` and hand its bytes to `load`; errors name the file. */
static tether_runtime *load_file(const char *wasm_path,
                                 tether_runtime *(*load)(const uint8_t *, size_t, tether_error **),
                                 tether_error **err) {
    if (err) *err = NULL;
    if (!wasm_path) {
        tether_internal_set_error(err, TETHER_ERROR_ARGUMENT, NULL, "no component path given");
        return NULL;
    }
    FILE *f = fopen(wasm_path, "rb");
    if (!f) {
        tether_internal_set_error(err, TETHER_ERROR_IO, NULL, "cannot open %s: %s", wasm_path,
                                  strerror(errno));
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 18;
            uint8_t *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                tether_internal_set_error(err, TETHER_ERROR_IO, NULL, "out of memory reading %s",
                                          wasm_path);
                return NULL;
            }
            buf = nb;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    bool failed = ferror(f);
    int read_errno = errno;
    fclose(f);
    if (failed) {
        free(buf);
        tether_internal_set_error(err, TETHER_ERROR_IO, NULL, "cannot read %s: %s", wasm_path,
                                  strerror(read_errno));
        return NULL;
    }
    tether_error *inner = NULL;
    tether_runtime *rt = load(buf, len, &inner);
    free(buf);
    if (!rt) {
        /* tether_error is opaque outside error.c: its kind through the public API. */
        tether_error_kind kind = inner ? tether_error_kind_of(inner) : TETHER_ERROR_ENGINE;
        tether_internal_set_error(err, kind, NULL, "loading %s: %s", wasm_path,
                                  tether_error_message(inner));
        tether_error_free(inner);
    }
    return rt;
}

tether_runtime *tether_runtime_new(const char *wasm_path, tether_error **err) {
    return load_file(wasm_path, tether_runtime_new_from_bytes, err);
}

tether_runtime *tether_runtime_new_precompiled_file(const char *path, tether_error **err) {
    return load_file(path, tether_runtime_new_precompiled, err);
}

void tether_runtime_free(tether_runtime *rt) {
    if (!rt) return;
    tether_internal_store_inst_free(rt->decisions);
    for (int i = 0; i < F_COUNT; i++) {
        if (rt->exports[i]) wasmtime_component_export_index_delete(rt->exports[i]);
    }
    if (rt->linker) wasmtime_component_linker_delete(rt->linker);
    if (rt->component) wasmtime_component_delete(rt->component);
    if (rt->engine) wasm_engine_delete(rt->engine);
    free(rt);
}

const char *tether_runtime_last_error(const tether_runtime *rt) {
    if (!rt) return "no runtime";
    return rt->decisions && rt->decisions->error[0] ? rt->decisions->error : rt->error;
}

/* A fresh store and instance whose data is `h` (taken: freed with the store). */
store_inst *tether_internal_store_inst_new(tether_runtime *rt, host *h, int first, int last,
                                           char *errbuf, size_t errlen) {
    store_inst *si = calloc(1, sizeof *si);
    if (!si) {
        tether_internal_host_free(h);
        snprintf(errbuf, errlen, "out of memory");
        return NULL;
    }
    si->h = h;
    si->store = wasmtime_store_new(rt->engine, h, tether_internal_host_free);
    if (!si->store) {
        tether_internal_host_free(h);
        free(si);
        snprintf(errbuf, errlen, "out of memory creating a store");
        return NULL;
    }
    si->ctx = wasmtime_store_context(si->store);
    si->in_call = true; /* instantiation runs the component's start code */
    wasmtime_error_t *e =
        wasmtime_component_linker_instantiate(rt->linker, si->ctx, rt->component, &si->instance);
    si->in_call = false;
    if (e) {
        char *m = tether_internal_take_wasmtime_error(e);
        snprintf(errbuf, errlen, "instantiating the tether component: %s", m ? m : "?");
        free(m);
        tether_internal_store_inst_free(si);
        return NULL;
    }
    for (int i = first; i < last; i++) {
        if (!wasmtime_component_instance_get_func(&si->instance, si->ctx, rt->exports[i],
                                                  &si->funcs[i])) {
            snprintf(errbuf, errlen, "the instance lacks the export `%s`", EXPORTS[i].name);
            tether_internal_store_inst_free(si);
            return NULL;
        }
    }
    return si;
}

void tether_internal_store_inst_free(store_inst *si) {
    if (!si) return;
    if (si->store) wasmtime_store_delete(si->store); /* frees si->h */
    free(si);
}

/* One call into the component. On an engine error the store is marked dead. */
tether_rc tether_internal_call(store_inst *si, int fn, const val *args, size_t nargs,
                               val *results, size_t nresults) {
    if (si->dead) return TETHER_ERR_ENGINE;
    if (si->in_call) {
        snprintf(si->error, sizeof si->error,
                 "called from inside the now or random_u64 callback while the component runs");
        return TETHER_ERR_REENTRANT;
    }
    for (size_t i = 0; i < nresults; i++) {
        results[i].kind = WASMTIME_COMPONENT_BOOL;
        results[i].of.boolean = false;
    }
    si->in_call = true;
    wasmtime_error_t *e =
        wasmtime_component_func_call(&si->funcs[fn], si->ctx, args, nargs, results, nresults);
    si->in_call = false;
    if (e) {
        char *m = tether_internal_take_wasmtime_error(e);
        snprintf(si->error, sizeof si->error, "%s failed: %s", EXPORTS[fn].name,
                 m ? m : "out of memory");
        free(m);
        si->dead = true;
        return TETHER_ERR_ENGINE;
    }
    return TETHER_OK;
}

tether_rc tether_internal_engine_shape_error(store_inst *si, int fn, val *results, size_t n) {
    snprintf(si->error, sizeof si->error, "%s returned a value of an unexpected shape",
             EXPORTS[fn].name);
    for (size_t i = 0; i < n; i++) wasmtime_component_val_delete(&results[i]);
    si->dead = true;
    return TETHER_ERR_ENGINE;
}

tether_rc tether_internal_arg_error(store_inst *si, const char *what) {
    snprintf(si->error, sizeof si->error, "invalid argument: %s", what);
    return TETHER_ERR_ARGUMENT;
}
