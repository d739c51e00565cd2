/* http_trace: what AMI_HTTP_TRACE=1 logs (http_client_new() reads it), and the redaction that
 * makes it safe to log: header lines both ways and libcurl's notes, with credential values
 * replaced (http_redact_credentials(), also for callers outside) and registered secrets
 * masked.  Bodies are never traced.
 */
#include "ami/http.h"

#include "ami/log.h"
#include "http_internal.h"

#include <stddef.h>
#include <string.h>
#include <strings.h>

#define HTTP_TRACE_LINE_MAX 1024

/* Header names whose values are credentials. */
static const char *const credential_names[] = {
    "proxy-authorization", "authorization", "x-api-key", "api-key", "set-cookie", "cookie"};

/* Length of the credential header name (followed by ':') starting at p, or 0. */
static size_t credential_at(const char *p, const char *end) {
    for (size_t i = 0; i < sizeof credential_names / sizeof credential_names[0]; i++) {
        size_t n = strlen(credential_names[i]);
        if ((size_t)(end - p) > n && p[n] == ':' && strncasecmp(p, credential_names[i], n) == 0)
            return n;
    }
    return 0;
}

size_t http_redact_credentials(const char *in, size_t len, char *out, size_t outsize) {
    if (outsize == 0)
        return 0;
    const char *p = in, *end = in + len;
    size_t o = 0;
#define PUT(ch)                                                                                    \
    do {                                                                                           \
        if (o + 1 < outsize)                                                                       \
            out[o++] = (ch);                                                                       \
    } while (0)
    while (p < end) {
        /* A name counts only at the start of a token, so "x-api-key" is not also "api-key". */
        int boundary = p == in || p[-1] == ' ' || p[-1] == '[' || p[-1] == '\t';
        size_t n = boundary ? credential_at(p, end) : 0;
        if (n == 0) {
            PUT(*p);
            p++;
            continue;
        }
        for (size_t i = 0; i <= n; i++) /* the name and its ':' */
            PUT(p[i]);
        p += n + 1;
        for (const char *r = " [redacted]"; *r; r++)
            PUT(*r);
        /* The value runs to the end of the line, or to the ']' that closes libcurl's
         * "[name: value]" notation for HTTP/2 and HTTP/3 request headers. */
        while (p < end && *p != ']' && *p != '\r' && *p != '\n')
            p++;
    }
#undef PUT
    out[o] = '\0';
    return o;
}

static void trace_line(const http_transfer *t, const char *dir, const char *s, size_t len) {
    char out[HTTP_TRACE_LINE_MAX];
    http_redact_credentials(s, len, out, sizeof out);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    secret_redact(out);
    log_debug("http %u %s %s", t->id, dir, out);
}

/* CURLOPT_DEBUGFUNCTION, installed only with AMI_HTTP_TRACE=1: headers both ways and libcurl's
 * notes, line by line.  Bodies are never traced (prompts and answers are the user's text).
 * Notes are redacted like headers: over HTTP/2 libcurl reports each request header as a note
 * ("[authorization: Bearer ...]"). */
int http__on_curl_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *userp) {
    (void)easy;
    const char *dir;
    switch (type) {
    case CURLINFO_TEXT:
        dir = "*";
        break;
    case CURLINFO_HEADER_IN:
        dir = "<";
        break;
    case CURLINFO_HEADER_OUT:
        dir = ">";
        break;
    default:
        return 0;
    }
    const char *p = data, *end = data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *stop = nl ? nl : end;
        size_t len = (size_t)(stop - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len > 0)
            trace_line(userp, dir, p, len);
        p = nl ? nl + 1 : end;
    }
    return 0;
}
