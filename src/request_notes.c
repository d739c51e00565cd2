/* request_notes: a critique's margin notes as its answer streams.  See request_notes.h.
 *
 * Ownership: the rnotes owns its copies of the document and the names, the parser and the
 * anchor index; events hand out pointers valid during the emit call only.
 */
#include "request_notes.h"

#include "ami/anchor.h"
#include "ami/buf.h"
#include "ami/ledger_notes.h"
#include "ami/log.h"
#include "ami/notes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A note whose words were found: kept until its comment is complete. */
typedef struct pending {
    size_t seq;
    int has_range;
    long range[4];
} pending;

struct rnotes {
    char *request_uid, *document, *thread, *model;
    char *text;
    size_t text_len;
    long passage_start, passage_end;
    ledger *l;
    rnotes_emit_fn emit;
    void *ud;
    notes_parser *parser;
    anchor_doc *index; /* built on the first note */
    int index_failed;
    int finished;
    size_t notes, unanchored;
};

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

static const char *kind_of(notes_kind k) {
    return k == NOTES_KIND_NONE ? NULL : notes_kind_name(k);
}

static void note_uid(const rnotes *n, size_t seq, char *out, size_t len) {
    snprintf(out, len, "%s.%zu", n->request_uid, seq);
}

static const char *state_of(anchor_status s) {
    switch (s) {
    case ANCHOR_EXACT:
        return LEDGER_NOTE_ANCHORED;
    case ANCHOR_APPROXIMATE:
        return LEDGER_NOTE_APPROXIMATE;
    default:
        return LEDGER_NOTE_UNANCHORED;
    }
}

static void on_quote(rnotes *n, const notes_event *ev) {
    anchor_result res;
    memset(&res, 0, sizeof res);
    if (!n->index && !n->index_failed) {
        n->index = anchor_doc_new(n->text, n->text_len);
        n->index_failed = !n->index;
        if (n->index_failed)
            log_warn("notes: out of memory indexing the document; notes stay unanchored");
    }
    if (n->index)
        anchor_find(n->index, n->passage_start, n->passage_end, ev->quote, ev->quote_len, &res);
    char uid[160];
    note_uid(n, ev->seq, uid, sizeof uid);
    request_note rn;
    memset(&rn, 0, sizeof rn);
    rn.phase = REQUEST_NOTE_QUOTE;
    rn.seq = (long)ev->seq;
    rn.uid = uid;
    rn.kind = kind_of(ev->kind);
    rn.quote = ev->quote;
    rn.anchor = anchor_status_name(res.status);
    rn.tier = anchor_tier_name(res.tier);
    rn.similarity = res.similarity;
    rn.has_range = res.status != ANCHOR_UNANCHORED;
    if (rn.has_range) {
        anchor_doc_position(n->index, res.start, &rn.start_line, &rn.start_col);
        anchor_doc_position(n->index, res.end, &rn.end_line, &rn.end_col);
        rn.words = n->text + res.start;
        rn.words_len = res.end - res.start;
    } else {
        rn.start_line = rn.start_col = rn.end_line = rn.end_col = -1;
    }
    n->notes++;
    if (!rn.has_range)
        n->unanchored++;
    if (n->l && n->document) {
        ledger_note ln;
        memset(&ln, 0, sizeof ln);
        ln.uid = uid;
        ln.request_uid = n->request_uid;
        ln.document = n->document;
        ln.thread = n->thread;
        ln.seq = (long)ev->seq;
        ln.kind = rn.kind;
        ln.quote = ev->quote;
        ln.comment = "";
        ln.model = n->model;
        ln.anchor = rn.anchor;
        ln.state = state_of(res.status);
        ln.line_start = rn.start_line;
        ln.col_start = rn.start_col;
        ln.line_end = rn.end_line;
        ln.col_end = rn.end_col;
        ln.passage_start = n->passage_start;
        ln.passage_end = n->passage_end;
        /* A note that cannot be kept is still shown: the failure is the ledger's to report
         * (the request's own row reports an unusable ledger once). */
        (void)ledger_notes_add(n->l, &ln, NULL, NULL);
    }
    n->emit(n->ud, &rn);
}

static void on_note(rnotes *n, const notes_event *ev) {
    char uid[160];
    note_uid(n, ev->seq, uid, sizeof uid);
    if (n->l && n->document && ev->text_len)
        (void)ledger_notes_set_comment(n->l, uid, ev->text, NULL, NULL);
    request_note rn;
    memset(&rn, 0, sizeof rn);
    rn.phase = REQUEST_NOTE_DONE;
    rn.seq = (long)ev->seq;
    rn.uid = uid;
    rn.kind = kind_of(ev->kind);
    rn.quote = ev->quote;
    rn.comment = ev->text;
    n->emit(n->ud, &rn);
}

static int on_event(void *ud, const notes_event *ev) {
    rnotes *n = ud;
    request_note rn;
    switch (ev->type) {
    case NOTES_QUOTE:
        on_quote(n, ev);
        break;
    case NOTES_NOTE:
        on_note(n, ev);
        break;
    case NOTES_GENERAL:
        memset(&rn, 0, sizeof rn);
        rn.phase = REQUEST_NOTE_GENERAL;
        rn.seq = (long)ev->seq;
        rn.kind = kind_of(ev->kind);
        rn.comment = ev->text;
        n->emit(n->ud, &rn);
        break;
    case NOTES_OVER_CAP:
        memset(&rn, 0, sizeof rn);
        rn.phase = REQUEST_NOTE_OVER_CAP;
        rn.cap = NOTES_MAX_NOTES;
        n->emit(n->ud, &rn);
        break;
    }
    return 0;
}

rnotes *rnotes_new(const rnotes_info *info, ledger *l, rnotes_emit_fn emit, void *ud) {
    rnotes *n = calloc(1, sizeof *n);
    if (!n)
        return NULL;
    n->request_uid = dup_or_null(info->request_uid ? info->request_uid : "r");
    n->document = dup_or_null(info->document);
    n->thread = dup_or_null(info->thread);
    n->text = malloc(info->text_len + 1);
    n->parser = notes_parser_new(on_event, n);
    if (!n->request_uid || (info->document && !n->document) || (info->thread && !n->thread) ||
        !n->text || !n->parser) {
        rnotes_free(n);
        return NULL;
    }
    if (info->text_len)
        memcpy(n->text, info->text, info->text_len);
    n->text[info->text_len] = '\0';
    n->text_len = info->text_len;
    n->passage_start = info->passage_start;
    n->passage_end = info->passage_end;
    n->l = l;
    n->emit = emit;
    n->ud = ud;
    return n;
}

void rnotes_feed(rnotes *n, const char *text, size_t len) {
    if (n && !n->finished)
        (void)notes_parser_feed(n->parser, text, len);
}

void rnotes_set_model(rnotes *n, const char *model) {
    if (!n || !model)
        return;
    char *m = strdup(model);
    if (m) {
        free(n->model);
        n->model = m;
    }
}

void rnotes_finish(rnotes *n) {
    if (!n || n->finished)
        return;
    n->finished = 1;
    (void)notes_parser_finish(n->parser);
}

void rnotes_counts(const rnotes *n, size_t *notes, size_t *unanchored) {
    if (notes)
        *notes = n ? n->notes : 0;
    if (unanchored)
        *unanchored = n ? n->unanchored : 0;
}

void rnotes_free(rnotes *n) {
    if (!n)
        return;
    notes_parser_free(n->parser);
    anchor_doc_free(n->index);
    free(n->request_uid);
    free(n->document);
    free(n->thread);
    free(n->model);
    free(n->text);
    free(n);
}
