/* http_receive: the easy handle's callbacks while the response arrives, each given its
 * transfer (CURLOPT_HEADERDATA, _WRITEDATA, _XFERINFODATA).  They run inside
 * curl_multi_socket_action(), so what they call of the user (on_response, on_data) may only
 * queue multi calls (src/http.c); a transfer cancelled meanwhile is stopped here, by returning
 * CURL_WRITEFUNC_ERROR.  A reason to stop of our own is left in t->abort for
 * src/http_classify.c to name.
 */
#include "ami/buf.h"
#include "http_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Seconds from now named by a Retry-After value: delta-seconds or an HTTP-date (RFC 9110
 * 10.2.3).  -1 when unreadable. */
static long parse_retry_after(const char *v, size_t len) {
    char tmp[128];
    if (len == 0 || len >= sizeof tmp)
        return -1;
    memcpy(tmp, v, len);
    tmp[len] = '\0';
    size_t digits = strspn(tmp, "0123456789");
    if (digits == len) {
        long secs = 0;
        for (size_t i = 0; i < len; i++) {
            if (secs > (LONG_MAX - 9) / 10)
                return LONG_MAX;
            secs = secs * 10 + (tmp[i] - '0');
        }
        return secs;
    }
    time_t when = curl_getdate(tmp, NULL);
    if (when == (time_t)-1)
        return -1;
    time_t now = time(NULL);
    return when > now ? (long)(when - now) : 0;
}

static int header_is(const char *line, size_t name_len, const char *name) {
    return strlen(name) == name_len && strncasecmp(line, name, name_len) == 0;
}

/* "HTTP/1.1 429 Too Many Requests" -> "Too Many Requests" (printable ASCII, bounded). */
static void keep_reason(http_transfer *t, const char *line, size_t len) {
    t->reason[0] = '\0';
    const char *p = memchr(line, ' ', len);
    if (!p)
        return;
    const char *end = line + len;
    p++;
    while (p < end && *p >= '0' && *p <= '9')
        p++;
    while (p < end && *p == ' ')
        p++;
    size_t n = 0;
    while (p < end && *p != '\r' && *p != '\n' && n + 1 < sizeof t->reason) {
        t->reason[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
        p++;
    }
    while (n > 0 && t->reason[n - 1] == ' ')
        n--;
    t->reason[n] = '\0';
}

/* CURLOPT_HEADERFUNCTION: one header line at a time, CRLF included.  Heads of 1xx interim
 * responses come first and are dropped; the final head ends with an empty line, where
 * on_response runs.  Trailers after the body are ignored. */
size_t http__on_curl_header(char *line, size_t size, size_t nitems, void *userp) {
    http_transfer *t = userp;
    size_t n = size * nitems;
    if (t->cancelled)
        return CURL_WRITEFUNC_ERROR;
    t->quiet_since = uv_hrtime();
    if (t->head_done)
        return n;

    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        t->head_started = 1;
        free(t->content_type);
        t->content_type = NULL;
        t->retry_after = -1;
        keep_reason(t, line, n);
        return n;
    }

    size_t len = n;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (len == 0) {
        long status = 0;
        if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
            status = 0; /* unknown: treated as final, and never >= 400 */
        if (status >= 100 && status < 200)
            return n; /* interim: the real head follows */
        t->status = status;
        t->head_done = 1;
        if (t->cbs.on_response) {
            http_response r = {status, t->content_type, t->retry_after};
            t->cbs.on_response(t->ud, &r);
            if (t->cancelled)
                return CURL_WRITEFUNC_ERROR;
        }
        return n;
    }

    const char *colon = memchr(line, ':', len);
    if (!colon)
        return n;
    size_t name_len = (size_t)(colon - line);
    const char *v = colon + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vlen = (size_t)(end - v);

    if (header_is(line, name_len, "content-type")) {
        char *ct = malloc(vlen + 1);
        if (!ct) {
            t->abort = ABORT_NOMEM;
            return CURL_WRITEFUNC_ERROR;
        }
        memcpy(ct, v, vlen);
        ct[vlen] = '\0';
        free(t->content_type);
        t->content_type = ct;
    } else if (header_is(line, name_len, "retry-after")) {
        t->retry_after = parse_retry_after(v, vlen);
    }
    return n;
}

/* CURLOPT_XFERINFOFUNCTION: the stall watch.  libcurl's own low-speed limit averages the
 * speed over a window of about 5 s, so a server that went silent after a burst was noticed
 * seconds late.  libcurl calls this at least once a second even when nothing arrives (the
 * low-speed limit, kept as a distant backstop, makes it wake up), and the clock starts only
 * once the request is on its way, so a slow connect is the connect timeout's business. */
int http__on_curl_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                           curl_off_t ulnow) {
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    http_transfer *t = userp;
    if (t->low_speed_secs <= 0 || t->cancelled)
        return 0;
    uint64_t now = uv_hrtime();
    if (t->quiet_since == 0) {
        curl_off_t pre = 0;
        if (curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pre) == CURLE_OK && pre > 0)
            t->quiet_since = now;
        return 0;
    }
    if (now - t->quiet_since >= (uint64_t)t->low_speed_secs * 1000000000ull) {
        t->abort = ABORT_STALL;
        return 1;
    }
    return 0;
}

/* CURLOPT_WRITEFUNCTION: body bytes, already de-chunked.  The hot path of every streamed
 * answer: no allocation and no copy for a 2xx body, just bookkeeping and the user's call. */
size_t http__on_curl_write(char *data, size_t size, size_t nmemb, void *userp) {
    http_transfer *t = userp;
    size_t n = size * nmemb;
    if (t->cancelled)
        return CURL_WRITEFUNC_ERROR;
    if (n == 0)
        return 0;
    uint64_t now = uv_hrtime();
    t->quiet_since = now;
    if (t->body_bytes == 0)
        t->ttfb_secs = (double)(now - t->start_ns) / 1e9;
    t->body_bytes += n;
    if (t->max_body && t->body_bytes > t->max_body) {
        t->abort = ABORT_TOOBIG;
        return CURL_WRITEFUNC_ERROR;
    }
    if (t->status >= 400) {
        if (t->error_body.len < t->max_error_body) {
            size_t room = t->max_error_body - t->error_body.len;
            if (buf_append(&t->error_body, data, n < room ? n : room) != 0) {
                t->abort = ABORT_NOMEM;
                return CURL_WRITEFUNC_ERROR;
            }
        }
        return n;
    }
    if (t->cbs.on_data) {
        t->cbs.on_data(t->ud, data, n);
        if (t->cancelled)
            return CURL_WRITEFUNC_ERROR;
    }
    return n;
}
