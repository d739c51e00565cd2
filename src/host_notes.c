/* host_notes: the margin notes' side of the msgpack-RPC host (src/host.c).
 *
 *   event note          {id, uid, seq, kind, quote, anchor, tier, similarity, range, words,
 *                        created}: a critique's note, as soon as its words are complete;
 *                        range = {start_line, start_col, end_line, end_col} (0-based, byte
 *                        columns, end exclusive) in the document as sent, absent when the words
 *                        were found nowhere; words = the document's bytes in that range.
 *   event note_comment  {id, uid, seq, comment}: its comment is complete.
 *   notes_load({document, text}) -> {token}; then {type = "notes_loaded", token, document,
 *                        notes = {{uid, seq, kind, quote, comment, state, anchor, model,
 *                        created, range, words}, ...}}: the ledger's notes of a document,
 *                        found again by their words in text (the buffer as it is now).
 *   notes_state(uids, state, ranges?) -> true: the notes' new state (and last ranges).
 *   notes_dismiss_all(document) -> true.
 */
#include "ami/anchor.h"
#include "ami/ledger_notes.h"
#include "ami/log.h"
#include "host_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static void pack_range(host *h, long sl, long sc, long el, long ec) {
    msgpack_packer *pk = host_ev_key(h, "range");
    msgpack_pack_array(pk, 4);
    msgpack_pack_int64(pk, sl);
    msgpack_pack_int64(pk, sc);
    msgpack_pack_int64(pk, el);
    msgpack_pack_int64(pk, ec);
}

void host_note_event(host *h, request *r, const request_note *n) {
    if (!n)
        return;
    switch (n->phase) {
    case REQUEST_NOTE_QUOTE:
        host_ev_begin(h, "note");
        host_ev_int(h, "id", request_id(r));
        host_ev_str(h, "uid", n->uid);
        host_ev_int(h, "seq", n->seq);
        host_ev_str(h, "kind", n->kind);
        host_ev_str(h, "quote", n->quote);
        host_ev_str(h, "anchor", n->anchor);
        host_ev_str(h, "tier", n->tier);
        host_ev_num(h, "similarity", n->similarity);
        if (n->has_range) {
            pack_range(h, n->start_line, n->start_col, n->end_line, n->end_col);
            rpc_pack_str(host_ev_key(h, "words"), n->words, n->words_len);
        }
        host_ev_int(h, "created", (int64_t)time(NULL));
        host_ev_end(h);
        return;
    case REQUEST_NOTE_DONE:
        host_ev_begin(h, "note_comment");
        host_ev_int(h, "id", request_id(r));
        host_ev_str(h, "uid", n->uid);
        host_ev_int(h, "seq", n->seq);
        host_ev_str(h, "comment", n->comment);
        host_ev_end(h);
        return;
    case REQUEST_NOTE_OVER_CAP: {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "the answer has more than %ld notes: ami places the first %ld on the text; the "
                 "others are in the answer",
                 n->cap, n->cap);
        host_ev_begin(h, "notice");
        host_ev_int(h, "id", request_id(r));
        host_ev_str(h, "message", msg);
        host_ev_end(h);
        return;
    }
    case REQUEST_NOTE_GENERAL:
        return; /* the thread shows the whole answer */
    }
}

/* ---- notes_load --------------------------------------------------------------------------- */

typedef struct load_ctx {
    host *h;
    uint32_t token;
    char *document;
    char *text;
    size_t text_len;
} load_ctx;

/* A stored note found again in today's text: its state (see doc/ami.txt, ami-notes). */
static const char *reanchored_state(const char *stored, const anchor_result *res) {
    if (strcmp(stored, LEDGER_NOTE_DISMISSED) == 0)
        return LEDGER_NOTE_DISMISSED;
    if (res->status == ANCHOR_UNANCHORED)
        return LEDGER_NOTE_UNANCHORED;
    if (strcmp(stored, LEDGER_NOTE_STALE) == 0)
        return LEDGER_NOTE_STALE;
    if (res->status == ANCHOR_EXACT)
        return strcmp(stored, LEDGER_NOTE_APPROXIMATE) == 0 ? LEDGER_NOTE_APPROXIMATE
                                                            : LEDGER_NOTE_ANCHORED;
    /* Found only by similarity: words it once found exactly have been edited since. */
    return strcmp(stored, LEDGER_NOTE_ANCHORED) == 0 ? LEDGER_NOTE_STALE : LEDGER_NOTE_APPROXIMATE;
}

static void on_notes_read(void *ud, int rc, const ledger_note *notes, size_t n, const char *err) {
    load_ctx *c = ud;
    host *h = c->h;
    anchor_doc *d = rc == 0 && n ? anchor_doc_new(c->text, c->text_len) : NULL;
    if (!h->stopping) {
        ledger *l = engine_ledger(h->eng);
        host_ev_begin(h, "notes_loaded");
        host_ev_int(h, "token", c->token);
        host_ev_str(h, "document", c->document);
        host_ev_str(h, "error", rc == 0 ? NULL : err);
        msgpack_packer *pk = host_ev_key(h, "notes");
        msgpack_pack_array(pk, rc == 0 ? (uint32_t)n : 0);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            const ledger_note *nt = &notes[i];
            anchor_result res;
            memset(&res, 0, sizeof res);
            int dismissed = strcmp(nt->state, LEDGER_NOTE_DISMISSED) == 0;
            if (d && !dismissed)
                anchor_find(d, nt->passage_start, nt->passage_end, nt->quote, strlen(nt->quote),
                            &res);
            const char *state = reanchored_state(nt->state, &res);
            int placed = !dismissed && res.status != ANCHOR_UNANCHORED;
            msgpack_pack_map(pk, 9 + (nt->kind ? 1 : 0) + (nt->model ? 1 : 0) + (placed ? 2 : 0));
            host_kv_str(pk, "uid", nt->uid);
            host_kv_int(pk, "seq", nt->seq);
            if (nt->kind)
                host_kv_str(pk, "kind", nt->kind);
            host_kv_str(pk, "quote", nt->quote);
            host_kv_str(pk, "comment", nt->comment ? nt->comment : "");
            host_kv_str(pk, "state", state);
            host_kv_str(pk, "anchor", nt->anchor ? nt->anchor : "unanchored");
            if (nt->model)
                host_kv_str(pk, "model", nt->model);
            host_kv_int(pk, "created", (int64_t)nt->created);
            host_kv_str(pk, "request_uid", nt->request_uid ? nt->request_uid : "");
            host_kv_str(pk, "document", nt->document);
            if (placed) {
                long sl, sc, el, ec;
                anchor_doc_position(d, res.start, &sl, &sc);
                anchor_doc_position(d, res.end, &el, &ec);
                rpc_pack_cstr(pk, "range");
                msgpack_pack_array(pk, 4);
                msgpack_pack_int64(pk, sl);
                msgpack_pack_int64(pk, sc);
                msgpack_pack_int64(pk, el);
                msgpack_pack_int64(pk, ec);
                rpc_pack_cstr(pk, "words");
                rpc_pack_str(pk, c->text + res.start, res.end - res.start);
            }
            /* Keep what was found again: `ami` and the next Neovim see the same. */
            if (l && strcmp(state, nt->state) != 0) {
                const char *uid = nt->uid;
                (void)ledger_notes_set_state(l, &uid, 1, state, NULL, NULL, NULL);
            }
        }
        host_ev_end(h);
    }
    anchor_doc_free(d);
    free(c->document);
    free(c->text);
    free(c);
}

void host_m_notes_load(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    const msgpack_object *p = msg->params->via.array.size ? &msg->params->via.array.ptr[0] : NULL;
    const msgpack_object *text = rpc_map_get(p, "text");
    char *document = rpc_obj_strdup(rpc_map_get(p, "document"));
    if (!document || !text ||
        (text->type != MSGPACK_OBJECT_STR && text->type != MSGPACK_OBJECT_BIN)) {
        free(document);
        rpc_reply_error(ch, msg->msgid,
                        "notes_load: expected {document = path, text = the buffer}");
        return;
    }
    load_ctx *c = calloc(1, sizeof *c);
    const char *bytes = text->type == MSGPACK_OBJECT_STR ? text->via.str.ptr : text->via.bin.ptr;
    size_t len = text->type == MSGPACK_OBJECT_STR ? text->via.str.size : text->via.bin.size;
    if (c)
        c->text = malloc(len + 1);
    if (!c || !c->text) {
        free(document);
        if (c)
            free(c);
        rpc_reply_error(ch, msg->msgid, "notes_load: out of memory");
        return;
    }
    memcpy(c->text, bytes, len);
    c->text[len] = '\0';
    c->text_len = len;
    c->h = h;
    c->document = document;
    c->token = host_reply_token(ch, msg, ++h->next_token);
    ledger *l = engine_ledger(h->eng);
    int rc = l ? ledger_notes_for(l, document, 0, on_notes_read, c) : LEDGER_EUNUSABLE;
    if (rc != 0)
        on_notes_read(c, rc, NULL, 0,
                      l && ledger_error(l) ? ledger_error(l) : "the ledger is turned off");
}

/* ---- changes ------------------------------------------------------------------------------- */

static void reply_true(rpc_channel *ch, const rpc_message *msg) {
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (pk) {
        msgpack_pack_true(pk);
        rpc_reply_end(ch);
    }
}

static void on_changed(void *ud, int rc, const char *err) {
    (void)ud;
    if (rc != 0)
        log_warn("notes: %s", err ? err : "could not be saved");
}

void host_m_notes_state(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    const msgpack_object *a = msg->params->via.array.ptr;
    uint32_t na = msg->params->via.array.size;
    const msgpack_object *uids = na > 0 ? &a[0] : NULL;
    char *state = na > 1 ? rpc_obj_strdup(&a[1]) : NULL;
    const msgpack_object *ranges = na > 2 && a[2].type == MSGPACK_OBJECT_ARRAY ? &a[2] : NULL;
    if (!uids || uids->type != MSGPACK_OBJECT_ARRAY || !state ||
        uids->via.array.size > LEDGER_NOTES_MAX) {
        free(state);
        rpc_reply_error(ch, msg->msgid, "notes_state: expected (uids, state, ranges?)");
        return;
    }
    size_t n = uids->via.array.size;
    char **list = calloc(n ? n : 1, sizeof *list);
    long *r = ranges && ranges->via.array.size == n * 4 ? calloc(n * 4 + 1, sizeof *r) : NULL;
    for (size_t i = 0; list && i < n; i++)
        list[i] = rpc_obj_strdup(&uids->via.array.ptr[i]);
    for (size_t i = 0; r && i < n * 4; i++) {
        const msgpack_object *o = &ranges->via.array.ptr[i];
        r[i] = o->type == MSGPACK_OBJECT_POSITIVE_INTEGER   ? (long)o->via.u64
               : o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ? (long)o->via.i64
                                                            : -1;
    }
    ledger *l = engine_ledger(h->eng);
    int rc = LEDGER_EINVAL;
    if (list && l)
        rc = ledger_notes_set_state(l, (const char *const *)list, n, state, r, on_changed, NULL);
    for (size_t i = 0; list && i < n; i++)
        free(list[i]);
    free(list);
    free(r);
    free(state);
    if (rc == LEDGER_EINVAL)
        rpc_reply_error(ch, msg->msgid,
                        "notes_state: the state must be anchored, approximate, stale, unanchored "
                        "or dismissed, and every uid a string");
    else
        reply_true(ch, msg); /* an unusable ledger was reported once already */
}

void host_m_notes_dismiss_all(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    char *document =
        msg->params->via.array.size ? rpc_obj_strdup(&msg->params->via.array.ptr[0]) : NULL;
    if (!document) {
        rpc_reply_error(ch, msg->msgid, "notes_dismiss_all: expected a document path");
        return;
    }
    ledger *l = engine_ledger(h->eng);
    if (l)
        (void)ledger_notes_dismiss_all(l, document, on_changed, NULL);
    free(document);
    reply_true(ch, msg);
}
