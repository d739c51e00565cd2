/* log: diagnostics on stderr with secrets masked.  See include/ami/log.h. */
#include "ami/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SECRET_MAX 16

static log_level current_level = LOG_WARN;
static FILE *log_file;
static char *secrets[SECRET_MAX];
static size_t secret_count;

void log_init(void) {
    const char *lv = getenv("AMI_LOG");
    if (lv && *lv) {
        static const char *names[] = {"debug", "info", "warn", "error", "off"};
        for (int i = 0; i <= LOG_OFF; i++)
            if (strcasecmp(lv, names[i]) == 0)
                current_level = (log_level)i;
    }
    const char *path = getenv("AMI_LOG_FILE");
    if (path && *path && !log_file)
        log_file = fopen(path, "a");
}

void log_set_level(log_level level) {
    current_level = level;
}

int log_enabled(log_level level) {
    return level >= current_level && level != LOG_OFF;
}

void log_msg(log_level level, const char *fmt, ...) {
    if (!log_enabled(level))
        return;
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    secret_redact(line);
    FILE *out = log_file ? log_file : stderr;
    fprintf(out, "ami: %s\n", line);
    fflush(out);
}

void secret_add(const char *secret) {
    if (!secret || strlen(secret) < 4)
        return;
    for (size_t i = 0; i < secret_count; i++)
        if (strcmp(secrets[i], secret) == 0)
            return;
    if (secret_count == SECRET_MAX) {
        /* Drop the oldest: a long-running host may see keys rotate. */
        free(secrets[0]);
        memmove(secrets, secrets + 1, (SECRET_MAX - 1) * sizeof *secrets);
        secret_count--;
    }
    char *copy = strdup(secret);
    if (copy)
        secrets[secret_count++] = copy;
}

static const char *find_mem(const char *hay, size_t hlen, const char *needle, size_t nlen) {
    if (nlen == 0 || hlen < nlen)
        return NULL;
    for (const char *p = hay; p + nlen <= hay + hlen; p++) {
        p = memchr(p, needle[0], (size_t)(hay + hlen - p));
        if (!p || p + nlen > hay + hlen)
            return NULL;
        if (memcmp(p, needle, nlen) == 0)
            return p;
    }
    return NULL;
}

char *secret_redact(char *s) {
    if (!s)
        return s;
    size_t len = strlen(s);
    for (size_t i = 0; i < secret_count; i++) {
        size_t n = strlen(secrets[i]);
        const char *p;
        while ((p = find_mem(s, len, secrets[i], n)) != NULL)
            memset(s + (p - s), '*', n);
    }
    return s;
}

int secret_found(const char *s, size_t len) {
    for (size_t i = 0; i < secret_count; i++)
        if (find_mem(s, len, secrets[i], strlen(secrets[i])))
            return 1;
    return 0;
}

void secret_clear(void) {
    for (size_t i = 0; i < secret_count; i++) {
        volatile char *p = secrets[i];
        while (*p)
            *p++ = 0;
        free(secrets[i]);
    }
    secret_count = 0;
}
