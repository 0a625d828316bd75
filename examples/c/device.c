/* A telemetry device: 20 numbered QoS 1 messages, tether deciding every reconnect.
 *   device HOST[:PORT]    or, for Azure IoT Hub, IOTHUB_DEVICE_CONNECTION_STRING=... device
 * cc device.c $(pkg-config --cflags --libs --static tether) -o device */
#include <stdio.h>
#include <stdlib.h>
#include <tether_device.h>

static int delivered;
static void on_status(void *u, const tether_status_change *s) { printf("status %s %s\n", tether_status_name(s->status), tether_reason_name(s->reason)); }
static void on_outcome(void *u, uint64_t id, const tether_outcome *o) {
    delivered += o->delivered;
    printf("outcome %d %s\n", (int)id, o->delivered ? "delivered" : tether_message_failure_name(o->failure));
}
int main(int argc, char **argv) {
    const char *cs = getenv("IOTHUB_DEVICE_CONNECTION_STRING"), *hub = argc > 1 ? argv[1] : "127.0.0.1";
    char config[300], payload[16];
    snprintf(config, sizeof config, "{\"hub\": \"%s\", \"device-id\": \"sensor-1\"}", hub);
    tether_device_options o = {.config_json = cs ? NULL : config, .topic = cs ? NULL : "sensors/1", .status = on_status, .outcome = on_outcome};
    tether_error *err = NULL;
    tether_device *d = cs ? tether_device_new_from_connection_string(cs, &o, &err) : tether_device_new(&o, &err);
    if (!d) return fprintf(stderr, "%s\n", tether_error_message(err)), 2;
    for (int n = 1; n <= 20; n++, tether_device_run_for(d, 200))
        tether_device_publish(d, NULL, payload, (size_t)snprintf(payload, sizeof payload, "%d", n), NULL, NULL, NULL);
    while (tether_device_pending(d) > 0 && tether_device_run_for(d, 100) == TETHER_OK) {}
    tether_device_free(d); /* stops: anything left fails with client-close */
    return delivered == 20 ? 0 : 1;
}
