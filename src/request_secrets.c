/* request_secrets: masking a request's texts.  See request_secrets.h. */
#include "request_secrets.h"

#include "ami/secrets.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One text to mask: where its pointer and length live. */
typedef struct slot {
    const char **text;
    size_t *len; /* NULL: NUL-terminated */
    int is_doc;  /* the last turn's document */
} slot;

static size_t slot_len(const slot *s) {
    return s->len ? *s->len : (*s->text ? strlen(*s->text) : 0);
}

static char *keep(rsecrets_report *r, const char *s) {
    char **m = realloc(r->strings, (r->n_strings + 1) * sizeof *m);
    if (!m)
        return NULL;
    r->strings = m;
    char *c = strdup(s);
    if (c)
        r->strings[r->n_strings++] = c;
    return c;
}

/* Line (0-based) and byte column of each finding, in one pass over the document. */
static int report_doc(rsecrets_report *r, const char *doc, size_t len, const secrets_finding *f,
                      size_t n) {
    r->found = calloc(n ? n : 1, sizeof *r->found);
    if (!r->found)
        return -1;
    long line = 0;
    size_t line_start = 0, i = 0;
    for (size_t k = 0; k < n; k++) {
        size_t ends[2] = {f[k].start, f[k].start + f[k].len};
        long pos[2][2];
        for (int e = 0; e < 2; e++) {
            for (; i < ends[e] && i < len; i++)
                if (doc[i] == '\n') {
                    line++;
                    line_start = i + 1;
                }
            pos[e][0] = line;
            pos[e][1] = (long)(ends[e] - line_start);
        }
        request_secret *s = &r->found[r->n_found++];
        s->start_line = pos[0][0];
        s->start_col = pos[0][1];
        s->end_line = pos[1][0];
        s->end_col = pos[1][1];
        s->rule = keep(r, f[k].rule);
        s->placeholder = keep(r, f[k].placeholder);
        if (!s->rule || !s->placeholder)
            return -1;
    }
    return 0;
}

int rsecrets_mask(prompt_turn *turns, size_t n, char **system, const char *const *allow,
                  size_t n_allow, rsecrets_report *out, char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    secrets_session *ss = secrets_session_new();
    size_t n_slots = n * 6 + 1;
    slot *slots = calloc(n_slots, sizeof *slots);
    if (!ss || !slots) {
        secrets_session_free(ss);
        free(slots);
        snprintf(err, errlen, "out of memory while looking for secrets; nothing was sent");
        return -1;
    }
    for (size_t i = 0; i < n_allow; i++) {
        char why[256];
        if (secrets_allow(ss, allow[i], why, sizeof why) != SECRETS_OK) {
            snprintf(err, errlen, "secrets.allow[%zu]: %s; nothing was sent", i + 1, why);
            secrets_session_free(ss);
            free(slots);
            return -2;
        }
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        prompt_turn *t = &turns[i];
        slots[k++] = (slot){&t->document, &t->document_len, i + 1 == n};
        slots[k++] = (slot){&t->question, NULL, 0};
        slots[k++] = (slot){&t->name, NULL, 0};
        slots[k++] = (slot){&t->answer, NULL, 0};
        slots[k++] = (slot){&t->note_quote, NULL, 0};
        slots[k++] = (slot){&t->note_comment, NULL, 0};
    }
    slots[k++] = (slot){(const char **)system, NULL, 0};
    /* Scan everything first, so that a secret a later text reveals is masked in the earlier
     * ones too, and the numbering is that of the texts' order. */
    int rc = SECRETS_OK;
    for (size_t i = 0; i < k && rc == SECRETS_OK; i++) {
        if (!*slots[i].text)
            continue;
        secrets_finding *f = NULL;
        size_t nf = 0;
        rc = secrets_scan(ss, *slots[i].text, slot_len(&slots[i]), &f, &nf);
        free(f);
    }
    for (size_t i = 0; i < k && rc == SECRETS_OK; i++) {
        if (!*slots[i].text)
            continue;
        char *masked = NULL;
        size_t masked_len = 0, nf = 0;
        secrets_finding *f = NULL;
        size_t len = slot_len(&slots[i]);
        rc = secrets_mask(ss, *slots[i].text, len, &masked, &masked_len, &f, &nf);
        if (rc != SECRETS_OK)
            break;
        if (slots[i].is_doc) {
            if (report_doc(out, *slots[i].text, len, f, nf) != 0)
                rc = SECRETS_ENOMEM;
        } else {
            out->elsewhere += nf;
        }
        if (nf && rc == SECRETS_OK) {
            free((char *)*slots[i].text);
            *slots[i].text = masked;
            if (slots[i].len)
                *slots[i].len = masked_len;
        } else {
            free(masked);
        }
        free(f);
    }
    secrets_session_free(ss);
    free(slots);
    if (rc != SECRETS_OK) {
        snprintf(err, errlen, "could not look for secrets in the text (%s); nothing was sent",
                 secrets_strerror(rc));
        rsecrets_report_free(out);
        return -1;
    }
    return 0;
}

void rsecrets_report_free(rsecrets_report *r) {
    for (size_t i = 0; i < r->n_strings; i++)
        free(r->strings[i]);
    free(r->strings);
    free(r->found);
    memset(r, 0, sizeof *r);
}
