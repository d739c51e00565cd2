/* host_answers: the methods that start and stop answers.  start() reads the thread's turns
 * from Lua (host_start_params_parse(), which compare() in src/host_arena.c uses too) and
 * starts one request; cancel() stops answers by id.  The answers themselves come back as
 * events (src/host_events.c).
 */
#include "ami/request.h"
#include "ami/rpc.h"
#include "host_internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- reading parameters ------------------------------------------------------------------- */

/* A string field of a map, NUL-terminated and owned by the caller, or NULL. */
static char *get_str(const msgpack_object *map, const char *key) {
    return rpc_obj_strdup(rpc_map_get(map, key));
}

static long get_int(const msgpack_object *map, const char *key, long dflt) {
    const msgpack_object *v = rpc_map_get(map, key);
    if (!v)
        return dflt;
    if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
        return v->via.u64 > (uint64_t)LONG_MAX ? LONG_MAX : (long)v->via.u64;
    if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
        return (long)v->via.i64;
    if (v->type == MSGPACK_OBJECT_FLOAT64 || v->type == MSGPACK_OBJECT_FLOAT32)
        return (long)v->via.f64;
    return dflt;
}

static prompt_kind kind_of(const msgpack_object *v) {
    if (rpc_obj_streq(v, "critique"))
        return PROMPT_CRITIQUE;
    if (rpc_obj_streq(v, "explain"))
        return PROMPT_EXPLAIN;
    if (rpc_obj_streq(v, "explore"))
        return PROMPT_EXPLORE;
    return PROMPT_ASK;
}

/* Strings of a turn that host_m_start copies: path, question, name, answer, note_quote,
 * note_comment, note_kind. */
#define TURN_STRINGS 7

/* start({command, turns = {{kind, document, path, line_start, line_end, question, name,
 * answer, note_quote, note_comment, note_kind}, ...}, provider, model, max_tokens, system,
 * document, thread, notes}) -> {id = N}
 * The answer arrives as events: start, model, retry, notice, delta..., note, note_comment,
 * done.  notes (a critique): cut the answer into margin notes, found in the last turn's
 * document. */
int host_start_params_parse(const msgpack_object *p, host_start_params *sp) {
    memset(sp, 0, sizeof *sp);
    const msgpack_object *turns = rpc_map_get(p, "turns");
    if (!p || p->type != MSGPACK_OBJECT_MAP || !turns || turns->type != MSGPACK_OBJECT_ARRAY ||
        turns->via.array.size == 0 || turns->via.array.size > 1000)
        return -1;
    size_t n = turns->via.array.size;
    sp->n = n;
    sp->turns = calloc(n, sizeof *sp->turns);
    sp->owned = calloc(n * TURN_STRINGS, sizeof *sp->owned);
    if (!sp->turns || !sp->owned)
        return -2;
    prompt_turn *t = sp->turns;
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *o = &turns->via.array.ptr[i];
        const msgpack_object *doc = rpc_map_get(o, "document");
        t[i].kind = kind_of(rpc_map_get(o, "kind"));
        if (doc && doc->type == MSGPACK_OBJECT_STR) {
            t[i].document = doc->via.str.ptr; /* borrowed: request_start copies */
            t[i].document_len = doc->via.str.size;
        } else if (doc && doc->type == MSGPACK_OBJECT_BIN) {
            t[i].document = doc->via.bin.ptr;
            t[i].document_len = doc->via.bin.size;
        }
        char **own = &sp->owned[i * TURN_STRINGS];
        t[i].path = own[0] = get_str(o, "path");
        t[i].question = own[1] = get_str(o, "question");
        t[i].name = own[2] = get_str(o, "name");
        t[i].answer = own[3] = get_str(o, "answer");
        t[i].note_quote = own[4] = get_str(o, "note_quote");
        t[i].note_comment = own[5] = get_str(o, "note_comment");
        t[i].note_kind = own[6] = get_str(o, "note_kind");
        t[i].line_start = get_int(o, "line_start", 0);
        t[i].line_end = get_int(o, "line_end", t[i].line_start);
    }
    request_params *rp = &sp->rp;
    rp->command = sp->command = get_str(p, "command");
    rp->provider = sp->provider = get_str(p, "provider");
    rp->model = sp->model = get_str(p, "model");
    rp->system = sp->system = get_str(p, "system");
    rp->document = sp->document = get_str(p, "document");
    rp->thread = sp->thread = get_str(p, "thread");
    rp->turns = t;
    rp->n_turns = n;
    rp->max_tokens = get_int(p, "max_tokens", 0);
    const msgpack_object *notes = rpc_map_get(p, "notes");
    rp->notes = notes && notes->type == MSGPACK_OBJECT_BOOLEAN && notes->via.boolean;
    return 0;
}

void host_start_params_free(host_start_params *sp) {
    for (size_t i = 0; sp->owned && i < sp->n * TURN_STRINGS; i++)
        free(sp->owned[i]);
    free(sp->owned);
    free(sp->turns);
    free(sp->command);
    free(sp->provider);
    free(sp->model);
    free(sp->system);
    free(sp->document);
    free(sp->thread);
    memset(sp, 0, sizeof *sp);
}

void host_m_start(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    if (msg->kind != RPC_REQUEST)
        return;
    const msgpack_object *p = msg->params->via.array.size ? &msg->params->via.array.ptr[0] : NULL;
    host_start_params sp;
    int rc = host_start_params_parse(p, &sp);
    if (rc == -1) {
        host_start_params_free(&sp);
        rpc_reply_error(ch, msg->msgid,
                        "start: expected {command, turns = {...}} with at least one turn");
        return;
    }
    request *r = rc == 0 ? request_start(h->eng, &sp.rp, NULL) : NULL;
    if (r) {
        msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
        if (pk) {
            msgpack_pack_map(pk, 1);
            host_kv_int(pk, "id", request_id(r));
            rpc_reply_end(ch);
        }
    } else {
        rpc_reply_error(ch, msg->msgid, "start: out of memory, or ami is shutting down");
    }
    host_start_params_free(&sp);
}

/* cancel(ids) -> number of answers stopped.  ids: a list of request ids. */
void host_m_cancel(rpc_channel *ch, const rpc_message *msg, void *ud) {
    host *h = ud;
    int64_t count = 0;
    const msgpack_object *ids = msg->params->via.array.size ? &msg->params->via.array.ptr[0] : NULL;
    if (ids && ids->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < ids->via.array.size; i++) {
            const msgpack_object *o = &ids->via.array.ptr[i];
            if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX)
                continue;
            request *r = request_find(h->eng, (uint32_t)o->via.u64);
            if (r) {
                request_cancel(r, "stopped by the user");
                count++;
            }
        }
    }
    if (msg->kind != RPC_REQUEST)
        return;
    msgpack_packer *pk = rpc_reply_begin(ch, msg->msgid);
    if (pk) {
        msgpack_pack_int64(pk, count);
        rpc_reply_end(ch);
    }
}
