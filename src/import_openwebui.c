/* import: the Open WebUI reader: Open WebUI's chat export.
 *
 * An array of chat rows, each holding its chat twice over: the current branch as a list,
 * and every branch as a map by message id:
 *
 *   [{"id": "…", "user_id": "…", "title": "…", "created_at": 1718000000, "updated_at": …,
 *     "chat": {"id": "…", "title": "…", "models": ["llama3:8b"], "timestamp": …,
 *              "messages": [{"id": "…", "parentId": …, "childrenIds": […],
 *                            "role": "user", "content": "…", "model": "…",
 *                            "timestamp": …, "usage": {"prompt_tokens": 12, …}}],
 *              "history": {"messages": {"<id>": {…the same…}}, "currentId": "…"}}}]
 *
 * Where things are (depth = containers around the token; levels count from 0):
 *   [i] chat row (1) .chat (2) .messages (3) [j] message (4) {fields, usage{}}
 *                              .history (3) .messages (4) .<id> message (5)
 * Both layouts are read and merged by message id (src/import_conversation.c).
 */
#include "import_internal.h"

/* ---- Open WebUI ---------------------------------------------------------------------------- */

/* Usage keys, best first: the rank decides when a message has several. */
static int usage_rank(const jsonsax_event *ev, int *is_in) {
    static const char *const in[] = {"prompt_tokens", "input_tokens", "prompt_eval_count"};
    static const char *const out[] = {"completion_tokens", "output_tokens", "eval_count"};
    for (int i = 0; i < 3; i++) {
        if (import_is(ev, in[i])) {
            *is_in = 1;
            return i;
        }
        if (import_is(ev, out[i])) {
            *is_in = 0;
            return i;
        }
    }
    return -1;
}

static int owui_message(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    import_cur_msg *cm = &r->cm;
    size_t L = cm->level, d = ev->depth;
    const char *f = import_key_at(p, L);
    if (d == L + 1) {
        if (ev->kind == JSONSAX_KEY) {
            if (!import_is(ev, "id") && !import_is(ev, "role") && !import_is(ev, "model") &&
                !import_is(ev, "timestamp") && !import_is(ev, "usage"))
                jsonsax_skip(p);
        } else if (import_streq(f, "id")) {
            cm->has_id = import_set_str(r, p, ev, &cm->id, IMPORT_MAX_ID, "id", NULL);
        } else if (import_streq(f, "role")) {
            import_set_role(r, p, ev, &cm->m.role);
        } else if (import_streq(f, "model")) {
            if (ev->kind != JSONSAX_NULL)
                cm->has_model =
                    import_set_str(r, p, ev, &cm->model, IMPORT_MAX_MODEL, "model", NULL);
        } else if (import_streq(f, "timestamp")) {
            import_set_time(r, p, ev, &cm->m.time, "timestamp");
        } else if (import_streq(f, "usage")) {
            if (ev->kind != JSONSAX_BEGIN_OBJECT && ev->kind != JSONSAX_END_OBJECT &&
                ev->kind != JSONSAX_END_ARRAY)
                import_wrong_kind(r, p, ev, "usage", "an object");
        }
        return r->status;
    }
    if (d != L + 2 || !import_streq(f, "usage"))
        return 0;
    if (ev->kind == JSONSAX_KEY) {
        int in;
        if (usage_rank(ev, &in) < 0 && !import_is(ev, "cost"))
            jsonsax_skip(p);
        return 0;
    }
    jsonsax_level l;
    jsonsax_path(p, L + 1, &l);
    jsonsax_event kev = {JSONSAX_KEY, l.key, l.key_len, l.key_len, l.key_truncated, 0, 0};
    int in = 0;
    int rank = usage_rank(&kev, &in);
    if (rank >= 0) {
        long long v = IMPORT_UNKNOWN;
        import_set_count(r, p, ev, &v, l.key);
        if (v != IMPORT_UNKNOWN) {
            if (in && rank < cm->m.tin_rank) {
                cm->m.tin = v;
                cm->m.tin_rank = rank;
            } else if (!in && rank < cm->m.tout_rank) {
                cm->m.tout = v;
                cm->m.tout_rank = rank;
            }
        }
    } else if (import_streq(l.key, "cost")) {
        import_set_usd(r, p, ev, &cm->m.cost, "cost");
    }
    return r->status;
}

int import_owui_event(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    import_conv *c = &r->c;
    size_t d = ev->depth;
    const char *f = import_key_at(p, 1);
    if (d == 2) {
        if (ev->kind == JSONSAX_KEY) {
            if (import_is(ev, "chat"))
                c->signature = 1;
            else if (!import_is(ev, "id") && !import_is(ev, "title") &&
                     !import_is(ev, "created_at") && !import_is(ev, "updated_at"))
                jsonsax_skip(p);
            return 0;
        }
        if (import_streq(f, "chat")) {
            if (ev->kind != JSONSAX_BEGIN_OBJECT && ev->kind != JSONSAX_END_OBJECT &&
                ev->kind != JSONSAX_END_ARRAY)
                import_wrong_kind(r, p, ev, "chat", "an object");
        } else if (import_streq(f, "id")) {
            c->has_id = import_set_str(r, p, ev, &c->id, IMPORT_MAX_ID, "id", &c->id_too_long);
        } else if (import_streq(f, "title")) {
            if (ev->kind != JSONSAX_NULL)
                import_set_str(r, p, ev, &c->title, IMPORT_MAX_TITLE, "title", NULL);
        } else if (import_streq(f, "created_at")) {
            import_set_time(r, p, ev, &c->created, "created_at");
        } else if (import_streq(f, "updated_at")) {
            import_set_time(r, p, ev, &c->updated, "updated_at");
        }
        return r->status;
    }
    if (!import_streq(f, "chat"))
        return 0;
    const char *g = import_key_at(p, 2);
    if (d == 3) {
        if (ev->kind == JSONSAX_KEY) {
            if (!import_is(ev, "id") && !import_is(ev, "title") && !import_is(ev, "models") &&
                !import_is(ev, "messages") && !import_is(ev, "history") &&
                !import_is(ev, "timestamp"))
                jsonsax_skip(p);
        } else if (import_streq(g, "id")) {
            int too_long = 0;
            c->has_alt_id =
                import_set_str(r, p, ev, &c->alt_id, IMPORT_MAX_ID, "chat.id", &too_long) &&
                !too_long;
        } else if (import_streq(g, "title")) {
            if (ev->kind != JSONSAX_NULL)
                import_set_str(r, p, ev, &c->alt_title, IMPORT_MAX_TITLE, "chat.title", NULL);
        } else if (import_streq(g, "timestamp")) {
            import_set_time(r, p, ev, &c->ts_fallback, "chat.timestamp");
        } else if (import_streq(g, "models") || import_streq(g, "messages")) {
            if (ev->kind != JSONSAX_BEGIN_ARRAY && ev->kind != JSONSAX_END_ARRAY &&
                ev->kind != JSONSAX_END_OBJECT)
                import_wrong_kind(r, p, ev, g, "an array");
        } else if (import_streq(g, "history")) {
            if (ev->kind != JSONSAX_BEGIN_OBJECT && ev->kind != JSONSAX_END_OBJECT &&
                ev->kind != JSONSAX_END_ARRAY)
                import_wrong_kind(r, p, ev, "history", "an object");
        }
        return r->status;
    }
    if (import_streq(g, "models")) {
        if (d == 4 && ev->kind == JSONSAX_STRING && ev->len) {
            if (c->listed_models++ == 0)
                import_set_str(r, p, ev, &c->listed_model, IMPORT_MAX_MODEL, "models", NULL);
        } else if (d == 4 && import_is_container(ev)) {
            jsonsax_skip(p);
        }
        return r->status;
    }
    if (import_streq(g, "messages")) {
        if (d == 4) {
            if (ev->kind == JSONSAX_BEGIN_OBJECT)
                import_msg_begin(r, p, ev, NULL, ev->depth - 1, 0);
            else if (ev->kind == JSONSAX_END_OBJECT && r->in_msg)
                return import_msg_end(r);
            else if (ev->kind != JSONSAX_END_ARRAY)
                import_wrong_kind(r, p, ev, "messages element", "an object");
            return r->status;
        }
        return r->in_msg ? owui_message(r, p, ev) : 0;
    }
    if (!import_streq(g, "history"))
        return 0;
    if (d == 4) {
        if (ev->kind == JSONSAX_KEY) {
            if (!import_is(ev, "messages"))
                jsonsax_skip(p);
        } else if (ev->kind != JSONSAX_BEGIN_OBJECT && ev->kind != JSONSAX_END_OBJECT &&
                   ev->kind != JSONSAX_END_ARRAY) {
            import_wrong_kind(r, p, ev, "history.messages", "an object");
        }
        return r->status;
    }
    if (!import_streq(import_key_at(p, 3), "messages"))
        return 0;
    if (d == 5) {
        if (ev->kind == JSONSAX_BEGIN_OBJECT)
            import_msg_begin(r, p, ev, import_key_at(p, 4), 3, 1);
        else if (ev->kind == JSONSAX_END_OBJECT && r->in_msg)
            return import_msg_end(r);
        else if (ev->kind != JSONSAX_KEY && ev->kind != JSONSAX_END_ARRAY)
            import_wrong_kind(r, p, ev, "history message", "an object");
        return r->status;
    }
    return r->in_msg ? owui_message(r, p, ev) : 0;
}
