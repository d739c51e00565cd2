/* host_sent: what left the machine, for :AmiSent (src/host.c's method).
 *
 *   sent({id = N} | {document = path}) -> {id, uid, url, headers, body, when} | nil: the
 *       request's URL, its headers (the values of those that carry the key replaced by
 *       <redacted>: the key itself never leaves the engine) and its JSON body pretty-printed,
 *       secrets already masked; by request id, else the newest one about the document.  The
 *       host keeps the last HOST_SENT_KEEP in memory; nil when it has none of them (`ami log
 *       show` reads older ones from the ledger).
 */
#include "ami/log.h"
#include "host_internal.h"

#include <cJSON.h>
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

void host_m_sent(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    const msgpack_object *p = msg->params->via.array.size ? &msg->params->via.array.ptr[0] : NULL;
    const msgpack_object *idv = rpc_map_get(p, "id");
    char *document = rpc_obj_strdup(rpc_map_get(p, "document"));
    uint32_t id = idv && idv->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (uint32_t)idv->via.u64 : 0;
    const host_sent *found = NULL;
    for (unsigned k = 0; k < HOST_SENT_KEEP; k++) { /* newest first */
        const host_sent *s = &h->sent[(h->sent_next + HOST_SENT_KEEP - 1 - k) % HOST_SENT_KEEP];
        if (!s->body)
            continue;
        if ((id && s->id == id) ||
            (!id && document && s->document && strcmp(s->document, document) == 0)) {
            found = s;
            break;
        }
    }
    free(document);
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (!pk)
        return;
    if (!found) {
        msgpack_pack_nil(pk);
        rpc_reply_end(ch);
        return;
    }
    cJSON *j = cJSON_ParseWithLength(found->body, found->body_len);
    char *pretty = j ? cJSON_Print(j) : NULL;
    cJSON_Delete(j);
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
