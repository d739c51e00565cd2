/* host_sent: what left the machine, for :AmiSent (src/host.c's method).
 *
 *   sent({id = N} | {uid = U} | {document = path}) -> {id, uid, url, headers, body, when}
 *       | {token} | nil: the request's URL, its headers (the values of those that carry the
 *       key replaced by <redacted>: the key itself never leaves the engine) and its JSON body
 *       pretty-printed, secrets already masked; by request id, else by uid, else the newest
 *       one about the document.  The host keeps the last HOST_SENT_KEEP in memory and answers
 *       from there at once.  Otherwise it reads the ledger (by uid or document: ids are this
 *       engine's) and answers {token}; then {type = "sent", token, uid, url, headers, body,
 *       when, missing, error}: url absent when the ledger has no such request, body absent
 *       with `missing` saying why (not kept, refused, recorded before schema 6).  nil when
 *       there is nothing to look for or no ledger.
 */
#include "ami/ledger.h"
#include "ami/ledger_log.h"
#include "ami/log.h"
#include "host_internal.h"

#include <cJSON.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static void sent_clear(host_sent *s) {
    free(s->uid);
    free(s->document);
    free(s->url);
    free(s->headers);
    free(s->body);
    memset(s, 0, sizeof *s);
}

void host_sent_free(host *h) {
    for (unsigned i = 0; i < HOST_SENT_KEEP; i++)
        sent_clear(&h->sent[i]);
}

void host_sent_keep(host *h, request *r, const request_event *ev) {
    uint32_t id = request_id(r);
    host_sent *s = NULL;
    for (unsigned i = 0; i < HOST_SENT_KEEP && !s; i++) /* a retry replaces its own entry */
        if (h->sent[i].id == id && h->sent[i].body)
            s = &h->sent[i];
    if (!s)
        s = &h->sent[h->sent_next++ % HOST_SENT_KEEP];
    sent_clear(s);
    s->id = id;
    s->uid = strdup(request_uid(r));
    s->document = request_document(r) ? strdup(request_document(r)) : NULL;
    s->url = strdup(ev->url ? ev->url : "");
    s->headers = strdup(ev->headers ? ev->headers : "");
    s->body = malloc(ev->body_len + 1);
    if (s->body) {
        memcpy(s->body, ev->body, ev->body_len);
        s->body[ev->body_len] = '\0';
        s->body_len = ev->body_len;
    }
    s->when = time(NULL);
    if (!s->uid || !s->url || !s->headers || !s->body) {
        log_warn("sent: out of memory keeping what request %u sent", id);
        sent_clear(s);
    }
}

/* The body pretty-printed (malloc'd), or NULL when it is not JSON or out of memory. */
static char *pretty_json(const char *body, size_t len) {
    cJSON *j = cJSON_ParseWithLength(body, len);
    char *pretty = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
    return pretty;
}

/* A look in the ledger: the work fills sent on the pool thread, the loop sends the event. */
typedef struct sent_look {
    host *h;
    uint32_t token;
    char *uid, *document;
    ledger_sent sent;
    int found;
} sent_look;

static int sent_work(struct sqlite3 *db, int store_text, void *ud) {
    (void)store_text;
    sent_look *c = ud;
    int rc = ledger_log_sent(db, 0, c->uid, c->uid ? NULL : c->document, &c->sent);
    c->found = rc == 0;
    return rc == SQLITE_NOTFOUND ? 0 : rc;
}

static void sent_done(void *ud, int rc, const char *err) {
    sent_look *c = ud;
    host *h = c->h;
    if (!h->stopping) {
        const ledger_sent *s = &c->sent;
        host_ev_begin(h, "sent");
        host_ev_int(h, "token", c->token);
        host_ev_str(h, "error", rc == 0 ? NULL : err ? err : "the ledger cannot be read");
        if (rc == 0 && c->found) {
            char *pretty = s->body ? pretty_json(s->body, strlen(s->body)) : NULL;
            host_ev_int(h, "id", s->e.id);
            host_ev_str(h, "uid", s->e.uid ? s->e.uid : "");
            host_ev_str(h, "url", s->url ? s->url : "");
            host_ev_str(h, "headers", s->headers ? s->headers : "");
            host_ev_str(h, "body", pretty ? pretty : s->body);
            host_ev_str(h, "missing", ledger_sent_missing(s));
            host_ev_int(h, "when", (int64_t)s->e.started);
            free(pretty);
        }
        host_ev_end(h);
    }
    ledger_sent_free(&c->sent);
    free(c->uid);
    free(c->document);
    free(c);
}

static void sent_from_ledger(host *h, rpc_channel *ch, const rpc_message *msg, char *uid,
                             char *document) {
    sent_look *c = calloc(1, sizeof *c);
    if (!c) {
        free(uid);
        free(document);
        rpc_reply_error(ch, msg->msgid, "sent: out of memory");
        return;
    }
    c->h = h;
    c->uid = uid;
    c->document = document;
    c->token = host_reply_token(ch, msg, ++h->next_token);
    ledger *l = engine_ledger(h->eng);
    int rc = ledger_exec(l, "cannot read what was sent", sent_work, sent_done, c);
    if (rc != 0)
        sent_done(c, rc, ledger_error(l) ? ledger_error(l) : "the ledger is closed");
}

void host_m_sent(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    const msgpack_object *p = msg->params->via.array.size ? &msg->params->via.array.ptr[0] : NULL;
    const msgpack_object *idv = rpc_map_get(p, "id");
    char *document = rpc_obj_strdup(rpc_map_get(p, "document"));
    char *uid = rpc_obj_strdup(rpc_map_get(p, "uid"));
    uint32_t id = idv && idv->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (uint32_t)idv->via.u64 : 0;
    const host_sent *found = NULL;
    for (unsigned k = 0; k < HOST_SENT_KEEP; k++) { /* newest first */
        const host_sent *s = &h->sent[(h->sent_next + HOST_SENT_KEEP - 1 - k) % HOST_SENT_KEEP];
        if (!s->body)
            continue;
        /* A uid names one request for good; an id only within this engine's life. */
        if ((uid && strcmp(s->uid, uid) == 0) || (!uid && id && s->id == id) ||
            (!uid && !id && document && s->document && strcmp(s->document, document) == 0)) {
            found = s;
            break;
        }
    }
    if (!found && (uid || document) && engine_ledger(h->eng)) {
        sent_from_ledger(h, ch, msg, uid, document); /* takes uid and document */
        return;
    }
    free(uid);
    free(document);
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (!pk)
        return;
    if (!found) {
        msgpack_pack_nil(pk);
        rpc_reply_end(ch);
        return;
    }
    char *pretty = pretty_json(found->body, found->body_len);
    msgpack_pack_map(pk, 6);
    host_kv_int(pk, "id", found->id);
    host_kv_str(pk, "uid", found->uid);
    host_kv_str(pk, "url", found->url);
    host_kv_str(pk, "headers", found->headers);
    rpc_pack_cstr(pk, "body");
    if (pretty)
        rpc_pack_cstr(pk, pretty);
    else
        rpc_pack_str(pk, found->body, found->body_len);
    host_kv_int(pk, "when", (int64_t)found->when);
    rpc_reply_end(ch);
    free(pretty);
}
