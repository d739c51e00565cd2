/* http_classify: how a transfer ended, named.  libcurl's CURLcode, the status, the abort our
 * own callbacks chose and how far the transfer got (libcurl's phase times) become one
 * http_code and one sentence a user can act on: which host, which phase, what failed, never a
 * header value.  src/http.c calls http__classify() when libcurl reports a transfer done.
 */
#include "ami/log.h"
#include "http_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Writes one sentence into t->message: control characters become spaces (the detail comes
 * from libcurl and the network) and registered secrets are masked. */
const char *http__set_message(http_transfer *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->message, sizeof t->message, fmt, ap);
    va_end(ap);
    for (char *p = t->message; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    return secret_redact(t->message);
}

/* libcurl's detail for the failure: its error buffer when filled, else its generic text. */
static const char *curl_detail(const http_transfer *t, CURLcode rc) {
    return t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
}

/* "Connection refused" -> "connection refused", for use after a colon. */
static void lower_first(char *s) {
    if (s[0] >= 'A' && s[0] <= 'Z' && !(s[1] >= 'A' && s[1] <= 'Z'))
        s[0] = (char)(s[0] - 'A' + 'a');
}

static void message_connect(http_transfer *t, CURLcode rc) {
    long os_errno = 0;
    char reason[256];
    if (curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno > 0)
        snprintf(reason, sizeof reason, "%s", strerror((int)os_errno));
    else
        snprintf(reason, sizeof reason, "%s", curl_detail(t, rc));
    lower_first(reason);

    /* Through a proxy, the socket that failed is the proxy's: name it, not the target. */
    char *ip = NULL;
    long port = 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip && ip[0] &&
        curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_PORT, &port) == CURLE_OK && port > 0 &&
        port != t->port)
        http__set_message(t, "could not connect to the proxy %s port %ld for %s: %s", ip, port,
                          t->host, reason);
    else
        http__set_message(t, "could not connect to %s port %ld: %s", t->host, t->port, reason);
}

/* A phase's time in microseconds since the start; 0 when the phase was not reached (or
 * libcurl cannot say, which the callers treat the same way). */
static curl_off_t info_time(const http_transfer *t, CURLINFO what) {
    curl_off_t us = 0;
    if (curl_easy_getinfo(t->easy, what, &us) != CURLE_OK)
        return 0;
    return us;
}

/* The server went silent for low_speed_secs: before its response began, or within it.  Our
 * stall watch (src/http_receive.c) and libcurl's low-speed backstop both end up here. */
static http_code stalled(http_transfer *t) {
    if (!t->head_started)
        http__set_message(t, "no response from %s for %ld s after the request was sent", t->host,
                          t->low_speed_secs);
    else
        http__set_message(t, "no data from %s for %ld s", t->host, t->low_speed_secs);
    return HTTP_ESTALL;
}

/* CURLE_OPERATION_TIMEDOUT covers three limits; tell them apart by how far the transfer got
 * and how long it ran. */
static http_code classify_timeout(http_transfer *t) {
    curl_off_t name_us = info_time(t, CURLINFO_NAMELOOKUP_TIME_T);
    curl_off_t connect_us = info_time(t, CURLINFO_CONNECT_TIME_T);
    curl_off_t app_us = info_time(t, CURLINFO_APPCONNECT_TIME_T);
    curl_off_t pre_us = info_time(t, CURLINFO_PRETRANSFER_TIME_T);
    curl_off_t total_us = info_time(t, CURLINFO_TOTAL_TIME_T);
    long elapsed_ms = (long)(total_us / 1000);

    int connected = t->head_started || pre_us > 0 || (connect_us > 0 && (!t->tls || app_us > 0));
    if (!connected) {
        if (name_us == 0 && connect_us == 0)
            http__set_message(t, "resolving %s timed out after %ld ms", t->host, elapsed_ms);
        else if (connect_us > 0 && t->tls)
            http__set_message(t, "the TLS handshake with %s timed out after %ld ms", t->host,
                              elapsed_ms);
        else
            http__set_message(t, "connecting to %s port %ld timed out after %ld ms", t->host,
                              t->port, elapsed_ms);
        return HTTP_ETIMEOUT;
    }
    if (t->total_timeout_ms > 0 && elapsed_ms >= t->total_timeout_ms) {
        http__set_message(t, "the request to %s did not complete within %ld ms", t->host,
                          t->total_timeout_ms);
        return HTTP_ETIMEOUT;
    }
    if (t->low_speed_secs > 0)
        return stalled(t);
    http__set_message(t, "the request to %s timed out: %s", t->host, curl_detail(t, CURLE_OK));
    return HTTP_ETIMEOUT;
}

/* Maps how libcurl ended (rc) and what we saw into the result's code and message. */
http_code http__classify(http_transfer *t, CURLcode rc) {
    if (t->abort == ABORT_STALL && rc == CURLE_ABORTED_BY_CALLBACK)
        return stalled(t);
    if (t->status >= 400 && t->abort != ABORT_NOMEM) {
        /* The server's verdict is what the caller acts on (retry, re-auth), even if the
         * error body was cut short or too big afterwards. */
        if (t->reason[0])
            http__set_message(t, "%s answered HTTP %ld (%s)", t->host, t->status, t->reason);
        else
            http__set_message(t, "%s answered HTTP %ld", t->host, t->status);
        return HTTP_ESTATUS;
    }
    switch (rc) {
    case CURLE_OK:
        return HTTP_OK;
    case CURLE_COULDNT_RESOLVE_HOST:
        http__set_message(t, "could not resolve host %s", t->host);
        return HTTP_EDNS;
    case CURLE_COULDNT_RESOLVE_PROXY:
        http__set_message(t, "could not resolve the proxy for %s: %s", t->host, curl_detail(t, rc));
        return HTTP_EDNS;
    case CURLE_COULDNT_CONNECT:
        message_connect(t, rc);
        return HTTP_ECONNECT;
    case CURLE_PROXY:
        http__set_message(t, "the proxy refused the connection to %s: %s", t->host,
                          curl_detail(t, rc));
        return HTTP_ECONNECT;
    case CURLE_PEER_FAILED_VERIFICATION:
        http__set_message(t, "TLS certificate verification failed for %s: %s", t->host,
                          curl_detail(t, rc));
        return HTTP_ETLS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        http__set_message(t, "the TLS handshake with %s failed: %s", t->host, curl_detail(t, rc));
        return HTTP_ETLS;
    case CURLE_OPERATION_TIMEDOUT:
        return classify_timeout(t);
    case CURLE_PARTIAL_FILE:
        http__set_message(t,
                          "the connection to %s closed before the response was complete (%zu body "
                          "bytes received)",
                          t->host, t->body_bytes);
        return HTTP_ECLOSED;
    case CURLE_GOT_NOTHING:
        http__set_message(t, "%s closed the connection without sending a response", t->host);
        return HTTP_ECLOSED;
    case CURLE_RECV_ERROR:
        http__set_message(t, "lost the connection to %s while receiving: %s", t->host,
                          curl_detail(t, rc));
        return HTTP_ECLOSED;
    case CURLE_SEND_ERROR:
        http__set_message(t, "lost the connection to %s while sending the request: %s", t->host,
                          curl_detail(t, rc));
        return HTTP_ECLOSED;
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        http__set_message(t, "the HTTP/2 stream from %s failed: %s", t->host, curl_detail(t, rc));
        return HTTP_ECLOSED;
    case CURLE_WRITE_ERROR:
        if (t->abort == ABORT_TOOBIG) {
            http__set_message(t, "the response from %s is larger than the %zu-byte limit", t->host,
                              t->max_body);
            return HTTP_ETOOBIG;
        }
        if (t->abort == ABORT_NOMEM) {
            http__set_message(t, "out of memory while receiving from %s", t->host);
            return HTTP_ENOMEM;
        }
        break;
    case CURLE_OUT_OF_MEMORY:
        http__set_message(t, "out of memory while talking to %s", t->host);
        return HTTP_ENOMEM;
    case CURLE_WEIRD_SERVER_REPLY:
        http__set_message(t, "%s sent a reply that is not HTTP: %s", t->host, curl_detail(t, rc));
        return HTTP_EOTHER;
    default:
        break;
    }
    http__set_message(t, "the request to %s failed: %s", t->host, curl_detail(t, rc));
    return HTTP_EOTHER;
}
