/* import: the ChatGPT reader: conversations.json from a ChatGPT data export.
 *
 * An array of conversations, each a tree of messages keyed by node id:
 *
 *   [{"id": "…", "conversation_id": "…", "title": "…", "create_time": 1718000000.5,
 *     "update_time": …, "default_model_slug": "gpt-4o",
 *     "mapping": {"<node id>": {"id": "…", "parent": "…", "children": […],
 *                               "message": null | {"id": "…", "author": {"role": "user"},
 *                                                  "create_time": …,
 *                                                  "content": {"content_type": "text",
 *                                                              "parts": ["…"]},
 *                                                  "metadata": {"model_slug": "…", …}}}}}]
 *
 * Where things are (depth = containers around the token; levels count from 0):
 *   [i] conversation (level 1) .mapping (2) .<node> (3) .message (4) {fields}
 *       .author.role  .content.{content_type, parts[], text}  .metadata.{...}
 * Every node's message is read, branches included.  What this reader notes, and
 * src/import_conversation.c applies: a hidden message, or an empty system one, is skipped;
 * an assistant step whose content is not text is role "other".
 */
#include "import_internal.h"

/* ---- ChatGPT ------------------------------------------------------------------------------ */

static int chatgpt_message(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    import_cur_msg *cm = &r->cm;
    size_t L = cm->level, d = ev->depth;
    const char *f = import_key_at(p, L);
    if (d == L + 1) {
        if (ev->kind == JSONSAX_KEY) {
            if (!import_is(ev, "id") && !import_is(ev, "author") && !import_is(ev, "create_time") &&
                !import_is(ev, "content") && !import_is(ev, "metadata"))
                jsonsax_skip(p);
            return 0;
        }
        if (import_streq(f, "id")) {
            cm->has_id = import_set_str(r, p, ev, &cm->id, IMPORT_MAX_ID, "id", NULL);
        } else if (import_streq(f, "create_time")) {
            import_set_time(r, p, ev, &cm->m.time, "create_time");
        } else if (ev->kind != JSONSAX_BEGIN_OBJECT && ev->kind != JSONSAX_END_OBJECT) {
            if (ev->kind != JSONSAX_END_ARRAY)
                import_wrong_kind(r, p, ev, f, "an object");
        }
        return 0;
    }
    const char *g = import_key_at(p, L + 1);
    if (import_streq(f, "author")) {
        if (d != L + 2)
            return 0;
        if (ev->kind == JSONSAX_KEY) {
            if (!import_is(ev, "role"))
                jsonsax_skip(p);
        } else if (import_streq(g, "role")) {
            import_set_role(r, p, ev, &cm->m.role);
        }
        return 0;
    }
    if (import_streq(f, "content")) {
        if (d == L + 2) {
            if (ev->kind == JSONSAX_KEY) {
                if (!import_is(ev, "content_type") && !import_is(ev, "parts") &&
                    !import_is(ev, "text"))
                    jsonsax_skip(p);
            } else if (import_streq(g, "content_type") && ev->kind == JSONSAX_STRING) {
                cm->m.ct_seen = 1;
                cm->m.ct_answer = import_is(ev, "text") || import_is(ev, "multimodal_text");
            } else if (import_streq(g, "text") && ev->kind == JSONSAX_STRING) {
                cm->m.nonempty |= ev->full_len > 0;
            } else if (ev->kind == JSONSAX_BEGIN_OBJECT) {
                jsonsax_skip(p);
            }
        } else if (d == L + 3 && import_streq(g, "parts")) {
            /* A part: a string, or an object (an image, a file): only emptiness matters. */
            if (ev->kind == JSONSAX_STRING)
                cm->m.nonempty |= ev->full_len > 0;
            else if (import_is_container(ev))
                cm->m.nonempty = 1;
            if (import_is_container(ev))
                jsonsax_skip(p);
        }
        return 0;
    }
    if (import_streq(f, "metadata") && d == L + 2) {
        if (ev->kind == JSONSAX_KEY) {
            if (!import_is(ev, "model_slug") && !import_is(ev, "default_model_slug") &&
                !import_is(ev, "is_visually_hidden_from_conversation"))
                jsonsax_skip(p);
        } else if (import_streq(g, "model_slug")) {
            cm->has_model =
                import_set_str(r, p, ev, &cm->model, IMPORT_MAX_MODEL, "model_slug", NULL);
        } else if (import_streq(g, "default_model_slug")) {
            cm->has_dmodel =
                import_set_str(r, p, ev, &cm->dmodel, IMPORT_MAX_MODEL, "default_model_slug", NULL);
        } else if (import_streq(g, "is_visually_hidden_from_conversation")) {
            cm->m.hidden = ev->kind == JSONSAX_TRUE;
        }
    }
    return 0;
}

int import_chatgpt_event(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    import_conv *c = &r->c;
    size_t d = ev->depth;
    const char *f = import_key_at(p, 1);
    if (d == 2) {
        if (ev->kind == JSONSAX_KEY) {
            if (import_is(ev, "mapping"))
                c->signature = 1;
            else if (!import_is(ev, "title") && !import_is(ev, "create_time") &&
                     !import_is(ev, "update_time") && !import_is(ev, "id") &&
                     !import_is(ev, "conversation_id") && !import_is(ev, "default_model_slug"))
                jsonsax_skip(p);
            return 0;
        }
        if (import_streq(f, "mapping")) {
            if (ev->kind != JSONSAX_BEGIN_OBJECT && ev->kind != JSONSAX_END_OBJECT &&
                ev->kind != JSONSAX_END_ARRAY)
                import_wrong_kind(r, p, ev, "mapping", "an object");
        } else if (import_streq(f, "title")) {
            if (ev->kind != JSONSAX_NULL)
                import_set_str(r, p, ev, &c->title, IMPORT_MAX_TITLE, "title", NULL);
        } else if (import_streq(f, "create_time")) {
            import_set_time(r, p, ev, &c->created, "create_time");
        } else if (import_streq(f, "update_time")) {
            import_set_time(r, p, ev, &c->updated, "update_time");
        } else if (import_streq(f, "id")) {
            c->has_id = import_set_str(r, p, ev, &c->id, IMPORT_MAX_ID, "id", &c->id_too_long);
        } else if (import_streq(f, "conversation_id")) {
            int too_long = 0;
            c->has_alt_id =
                import_set_str(r, p, ev, &c->alt_id, IMPORT_MAX_ID, "conversation_id", &too_long) &&
                !too_long;
        } else if (import_streq(f, "default_model_slug")) {
            if (ev->kind != JSONSAX_NULL)
                c->has_dmodel = import_set_str(r, p, ev, &c->dmodel, IMPORT_MAX_MODEL,
                                               "default_model_slug", NULL);
        }
        return r->status;
    }
    if (!import_streq(f, "mapping"))
        return 0;
    if (d == 3) {
        /* A node: an object keyed by its id. */
        if (ev->kind != JSONSAX_KEY && ev->kind != JSONSAX_BEGIN_OBJECT &&
            ev->kind != JSONSAX_END_OBJECT && ev->kind != JSONSAX_END_ARRAY)
            import_wrong_kind(r, p, ev, "mapping node", "an object");
        return 0;
    }
    if (d == 4) {
        if (ev->kind == JSONSAX_KEY) {
            if (!import_is(ev, "message"))
                jsonsax_skip(p);
        } else if (import_streq(import_key_at(p, 3), "message")) {
            if (ev->kind == JSONSAX_BEGIN_OBJECT)
                import_msg_begin(r, p, ev, import_key_at(p, 2), 2, 0);
            else if (ev->kind == JSONSAX_END_OBJECT && r->in_msg)
                return import_msg_end(r);
            else if (ev->kind != JSONSAX_NULL && ev->kind != JSONSAX_END_ARRAY)
                import_wrong_kind(r, p, ev, "message", "an object or null");
        }
        return r->status;
    }
    if (r->in_msg)
        chatgpt_message(r, p, ev);
    return r->status;
}
