/*
 * transport_mosquitto.c: what each libmosquitto result means in the contract's
 * terms. The Rust rumqttc transport (host/device/src/mqtt.rs) is the
 * specification; bindings/c/README.md has the table. Nothing here decides: the
 * component classifies what these functions name.
 */
#include "device_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>

static tether_failure errno_failure(int e) {
    switch (e) {
    case ECONNREFUSED: return tether_failure_network(TETHER_NET_REFUSED);
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE: return tether_failure_network(TETHER_NET_RESET);
    case ETIMEDOUT:
    case EAGAIN: return tether_failure_network(TETHER_NET_TIMEOUT);
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ENETDOWN:
    case EHOSTDOWN:
    case EADDRNOTAVAIL: return tether_failure_network(TETHER_NET_UNREACHABLE);
    /* libmosquitto sets EPROTO when OpenSSL fails a read or write. */
    case EPROTO: return tether_failure_network(TETHER_NET_TLS);
    default: return tether_failure_network(TETHER_NET_CLOSED);
    }
}

tether_failure tether_mosquitto_failure(int rc, int err_no, int version) {
    tether_failure keep_alive = {.kind = TETHER_FAILURE_KEEP_ALIVE_LOST};
    /* An MQTT 5 server's DISCONNECT: its reason code reaches on_disconnect as
     * is; libmosquitto's own codes are all below 0x80. */
    if (version == 5 && rc >= 0x80 && rc <= 0xff) return tether_failure_mqtt_reason((uint8_t)rc);
    switch (rc) {
    case MOSQ_ERR_KEEPALIVE: return keep_alive;
    case MOSQ_ERR_ERRNO: return errno_failure(err_no);
    case MOSQ_ERR_EAI:
    case MOSQ_ERR_LOOKUP: return tether_failure_network(TETHER_NET_DNS);
    case MOSQ_ERR_TLS:
    case MOSQ_ERR_TLS_HANDSHAKE:
    case MOSQ_ERR_OCSP: return tether_failure_network(TETHER_NET_TLS);
    case MOSQ_ERR_TIMEOUT: return tether_failure_network(TETHER_NET_TIMEOUT);
    /* The server broke the protocol: MQTT 5 names it, 3.1.1 has no code. */
    case MOSQ_ERR_MALFORMED_PACKET:
    case MOSQ_ERR_MALFORMED_UTF8:
    case MOSQ_ERR_DUPLICATE_PROPERTY:
    case MOSQ_ERR_OVERSIZE_PACKET:
        return version == 5 ? tether_failure_mqtt_reason(0x81)
                            : tether_failure_network(TETHER_NET_CLOSED);
    case MOSQ_ERR_PROTOCOL:
        return version == 5 ? tether_failure_mqtt_reason(0x82)
                            : tether_failure_network(TETHER_NET_CLOSED);
    /* No hub answers at an address libmosquitto refuses to use. */
    case MOSQ_ERR_INVAL: return tether_failure_application(TETHER_APP_BAD_ENDPOINT);
    default: return tether_failure_network(TETHER_NET_CLOSED); /* CONN_LOST, NO_CONN, ... */
    }
}

tether_failure tether_mosquitto_connack_failure(int code, int version) {
    if (version == 5) {
        /* A reason below 0x80 is no refusal; the link simply did not open. */
        if (code >= 0x80 && code <= 0xff) return tether_failure_mqtt_reason((uint8_t)code);
        return tether_failure_network(TETHER_NET_CLOSED);
    }
    if (code >= 1 && code <= 255) return tether_failure_mqtt_connack((uint8_t)code);
    return tether_failure_network(TETHER_NET_CLOSED);
}

/* `host:port`, `[v6]:port` or a bare host (the port then `default_port`). */
bool tether_internal_split_address(const char *address, uint16_t default_port, char *host,
                                   size_t host_cap, uint16_t *port) {
    if (!address) return false;
    while (*address == ' ' || *address == '\t') address++;
    size_t len = strlen(address);
    while (len > 0 && (address[len - 1] == ' ' || address[len - 1] == '\t')) len--;
    if (len == 0) return false;
    for (size_t i = 0; i < len; i++)
        if (address[i] == '/' || address[i] == ' ' || address[i] == '\t' || address[i] == '\n' ||
            address[i] == '\r')
            return false;
    const char *h = address;
    size_t hl;
    const char *p = NULL;
    size_t pl = 0;
    if (address[0] == '[') {
        const char *end = memchr(address, ']', len);
        if (!end || end == address + 1) return false;
        h = address + 1;
        hl = (size_t)(end - h);
        size_t rest = len - (size_t)(end + 1 - address);
        if (rest > 0) {
            if (end[1] != ':') return false;
            p = end + 2;
            pl = rest - 1;
        }
    } else {
        const char *colon = NULL;
        int colons = 0;
        for (size_t i = 0; i < len; i++)
            if (address[i] == ':') {
                colon = address + i;
                colons++;
            }
        if (colons > 1) return false; /* a bare IPv6 address needs brackets */
        if (colon) {
            hl = (size_t)(colon - address);
            p = colon + 1;
            pl = len - hl - 1;
        } else {
            hl = len;
        }
        if (hl == 0) return false;
    }
    if (hl + 1 > host_cap) return false;
    unsigned long v = default_port;
    if (p) {
        if (pl == 0 || pl > 5) return false;
        v = 0;
        for (size_t i = 0; i < pl; i++) {
            if (p[i] < '0' || p[i] > '9') return false;
            v = v * 10 + (unsigned long)(p[i] - '0');
        }
        if (v == 0 || v > 65535) return false;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    *port = (uint16_t)v;
    return true;
}
