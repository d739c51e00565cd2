/* The HTTP client's insides, shared by its own files (src/http*.c); not for other modules.
 * Nothing here is API: every function's name starts with http__.
 *
 *   src/http.c           libcurl's multi interface on the loop (sockets, the timer, settle()),
 *                        the transfer's lifecycle with its diagram, http_request(),
 *                        http_cancel() and the client;
 *   src/http_receive.c   the easy handle's callbacks while the response arrives: its head
 *                        (status, Content-Type, Retry-After, reason), its body (to on_data, or
 *                        kept when >= 400), the stall watch;
 *   src/http_classify.c  how a transfer ended: libcurl's code and what the callbacks saw,
 *                        turned into an http_code and one sentence;
 *   src/http_trace.c     AMI_HTTP_TRACE=1: headers and libcurl's notes logged line by line,
 *                        credential values redacted (http_redact_credentials()).
 */
#ifndef AMI_HTTP_INTERNAL_H
#define AMI_HTTP_INTERNAL_H

#include "ami/buf.h"
#include "ami/http.h"

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_MESSAGE_MAX 512
#define HTTP_REASON_MAX  64

/* Why our own write/header callback stopped a transfer. */
typedef enum { ABORT_NONE = 0, ABORT_TOOBIG, ABORT_NOMEM, ABORT_STALL } http_abort;

struct http_transfer {
    http_client *c;
    CURL *easy;
    http_callbacks cbs;
    void *ud;
    unsigned id;

    /* receive path (write callback) */
    int cancelled;
    long status; /* final status, set when the head is complete */
    size_t body_bytes;
    size_t max_body;
    size_t max_error_body;
    buf error_body;
    double ttfb_secs;
    uint64_t start_ns;
    http_abort abort;

    /* response head */
    int head_started; /* any status line seen */
    int head_done;    /* final head complete; later header lines are trailers */
    char *content_type;
    long retry_after;
    char reason[HTTP_REASON_MAX];

    /* request */
    struct curl_slist *headers;
    char *body;
    char *host;
    long port;
    int tls;
    long low_speed_secs;   /* 0: off */
    uint64_t quiet_since;  /* when the last byte arrived, or the request went out (0: not yet) */
    long total_timeout_ms; /* 0: none */

    /* lifecycle */
    int added;     /* in the multi handle */
    int queued;    /* on the client's work queue */
    int finishing; /* on_done is running */
    http_transfer *prev, *next;
    http_transfer *qnext;

    char errbuf[CURL_ERROR_SIZE];
    char message[HTTP_MESSAGE_MAX];
};

/* ---- http.c ------------------------------------------------------------------------------- */

/* References of http_global_init() held now (the program's own and one per client that has
 * sent a request): the unit tests check that a client takes one only when it sends. */
int http__global_refs(void);

/* ---- http_classify.c ---------------------------------------------------------------------- */

/* Writes one sentence into t->message (control characters become spaces, registered secrets
 * are masked) and returns it. */
const char *http__set_message(http_transfer *t, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Maps how libcurl ended (rc) and what the callbacks saw into the result's code, with the
 * sentence in t->message. */
http_code http__classify(http_transfer *t, CURLcode rc);

/* ---- http_receive.c: the easy handle's callbacks, their data a transfer -------------------- */

size_t http__on_curl_header(char *line, size_t size, size_t nitems, void *userp);
int http__on_curl_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                           curl_off_t ulnow);
size_t http__on_curl_write(char *data, size_t size, size_t nmemb, void *userp);

/* ---- http_trace.c ------------------------------------------------------------------------- */

/* CURLOPT_DEBUGFUNCTION, its data a transfer; installed only when the client traces. */
int http__on_curl_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *userp);

#endif
