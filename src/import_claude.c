/* import: the Claude reader: conversations.json from a Claude data export.
 *
 * An array of conversations, each with its messages in one array:
 *
 *   [{"uuid": "…", "name": "…", "created_at": "2024-06-10T08:00:00.000000Z",
 *     "updated_at": "…",
 *     "chat_messages": [{"uuid": "…", "sender": "human" | "assistant",
 *                        "created_at": "…", "text": "…", "content": […]}]}]
 *
 * Where things are (depth = containers around the token; levels count from 0):
 *   [i] conversation (1) .chat_messages (2) [j] message (3) {uuid, sender, ...}
 * The export names no model: every model is unknown, unless a message has a "model".
 */
#include "import_internal.h"

/* ---- Claude -------------------------------------------------------------------------------- */

int import_claude_event(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    import_conv *c = &r->c;
    size_t d = ev->depth;
    const char *f = import_key_at(p, 1);
    if (d == 2) {
        if (ev->kind == JSONSAX_KEY) {
            if (import_is(ev, "chat_messages"))
                c->signature = 1;
            else if (!import_is(ev, "uuid") && !import_is(ev, "name") &&
                     !import_is(ev, "created_at") && !import_is(ev, "updated_at"))
                jsonsax_skip(p);
            return 0;
        }
        if (import_streq(f, "chat_messages")) {
            if (ev->kind != JSONSAX_BEGIN_ARRAY && ev->kind != JSONSAX_END_ARRAY &&
                ev->kind != JSONSAX_END_OBJECT)
                import_wrong_kind(r, p, ev, "chat_messages", "an array");
        } else if (import_streq(f, "uuid")) {
            c->has_id = import_set_str(r, p, ev, &c->id, IMPORT_MAX_ID, "uuid", &c->id_too_long);
        } else if (import_streq(f, "name")) {
            if (ev->kind != JSONSAX_NULL)
                import_set_str(r, p, ev, &c->title, IMPORT_MAX_TITLE, "name", NULL);
        } else if (import_streq(f, "created_at")) {
            import_set_time(r, p, ev, &c->created, "created_at");
        } else if (import_streq(f, "updated_at")) {
            import_set_time(r, p, ev, &c->updated, "updated_at");
        }
        return r->status;
    }
    if (!import_streq(f, "chat_messages"))
        return 0;
    if (d == 3) {
        if (ev->kind == JSONSAX_BEGIN_OBJECT)
            import_msg_begin(r, p, ev, NULL, ev->depth - 1, 0);
        else if (ev->kind == JSONSAX_END_OBJECT && r->in_msg)
            return import_msg_end(r);
        else if (ev->kind != JSONSAX_END_ARRAY)
            import_wrong_kind(r, p, ev, "chat_messages element", "an object");
        return r->status;
    }
    if (!r->in_msg || d != 4)
        return 0;
    import_cur_msg *cm = &r->cm;
    const char *g = import_key_at(p, 3);
    if (ev->kind == JSONSAX_KEY) {
        if (!import_is(ev, "uuid") && !import_is(ev, "sender") && !import_is(ev, "created_at") &&
            !import_is(ev, "model"))
            jsonsax_skip(p);
    } else if (import_streq(g, "uuid")) {
        cm->has_id = import_set_str(r, p, ev, &cm->id, IMPORT_MAX_ID, "uuid", NULL);
    } else if (import_streq(g, "sender")) {
        if (ev->kind == JSONSAX_STRING)
            cm->m.role = import_is(ev, "human")       ? IMPORT_ROLE_USER
                         : import_is(ev, "assistant") ? IMPORT_ROLE_ASSISTANT
                                                      : IMPORT_ROLE_OTHER;
        else
            import_wrong_kind(r, p, ev, "sender", "a string");
    } else if (import_streq(g, "created_at")) {
        import_set_time(r, p, ev, &cm->m.time, "created_at");
    } else if (import_streq(g, "model")) {
        if (ev->kind != JSONSAX_NULL)
            cm->has_model = import_set_str(r, p, ev, &cm->model, IMPORT_MAX_MODEL, "model", NULL);
    }
    return r->status;
}
