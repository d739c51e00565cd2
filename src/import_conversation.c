/* import: what the three conversation formats (ChatGPT, Claude, Open WebUI) share.
 *
 * Each of their exports is a JSON array of conversations (Open WebUI calls them chats):
 *
 *   [ {conversation 0 ... its messages somewhere inside}, {conversation 1 ...}, ... ]
 *
 * import_conv_top() reads the array and its elements and hands every event inside one to
 * the format's reader (src/import_chatgpt.c, import_claude.c, import_openwebui.c); that
 * reader marks where a message's object begins and ends (import_msg_begin, import_msg_end)
 * and sets the fields it finds.  Here a message is kept at its '}' (or merged with the copy of the
 * same id already kept: Open WebUI's two layouts), and a conversation is checked (its format's
 * mark, an id, not a repeat) and delivered at its own '}', after which everything it held is
 * cleared but not freed.
 */
#include "import_internal.h"

#include <stdlib.h>
#include <string.h>

/* ---- conversations: state ------------------------------------------------------------------ */

static void conv_reset(import_conv *c) {
    buf_clear(&c->id);
    buf_clear(&c->alt_id);
    buf_clear(&c->title);
    buf_clear(&c->alt_title);
    buf_clear(&c->dmodel);
    buf_clear(&c->listed_model);
    c->has_id = c->has_alt_id = c->id_too_long = c->has_dmodel = 0;
    c->listed_models = 0;
    c->created = c->updated = c->ts_fallback = IMPORT_UNKNOWN;
    c->signature = 0;
    c->history_msgs = 0;
    c->n_msgs = 0;
    import_strset_clear(&c->ids);
    import_strset_clear(&c->models);
}

void import_conv_free(import_conv *c) {
    buf_free(&c->id);
    buf_free(&c->alt_id);
    buf_free(&c->title);
    buf_free(&c->alt_title);
    buf_free(&c->dmodel);
    buf_free(&c->listed_model);
    free(c->msgs);
    import_strset_free(&c->ids);
    import_strset_free(&c->models);
}

/* A message's object begins.  Without an id of its own it will be called fallback (a mapping
 * or history key), else "#<i>", i its position at path level idx_level. */
void import_msg_begin(import_reader *r, jsonsax *p, const jsonsax_event *ev, const char *fallback,
                      size_t idx_level, int layout_b) {
    import_cur_msg *cm = &r->cm;
    memset(&cm->m, 0, sizeof cm->m);
    cm->m.model = cm->m.dmodel = -1;
    cm->m.role = -1;
    cm->m.time = cm->m.tin = cm->m.tout = IMPORT_UNKNOWN;
    cm->m.tin_rank = cm->m.tout_rank = 99;
    cm->m.cost = IMPORT_UNKNOWN_USD;
    cm->m.layout_b = (unsigned char)layout_b;
    cm->level = ev->depth;
    cm->offset = ev->offset;
    cm->has_id = cm->has_model = cm->has_dmodel = 0;
    buf_clear(&cm->id);
    buf_clear(&cm->model);
    buf_clear(&cm->dmodel);
    buf_clear(&cm->fallback);
    if (fallback && fallback[0]) {
        buf_append_str(&cm->fallback, fallback);
    } else {
        /* "#<index in its array>" */
        jsonsax_level l;
        size_t idx = 0;
        if (jsonsax_path(p, idx_level, &l) == 0)
            idx = l.index;
        buf_printf(&cm->fallback, "#%zu", idx);
        cm->m.no_id = 1;
    }
    r->in_msg = 1;
}

/* Interns a model name in the conversation's set; -1 when out of memory. */
static long intern_model(import_reader *r, const buf *name) {
    size_t idx;
    if (import_strset_get(&r->c.models, name->data ? name->data : "", name->len, &idx) < 0) {
        import_fail(r, IMPORT_ENOMEM, r->cm.offset, "out of memory");
        return -1;
    }
    return (long)idx;
}

static void merge(import_msg *into, const import_msg *from) {
    if (into->role < 0)
        into->role = from->role;
    if (into->model < 0)
        into->model = from->model;
    if (into->dmodel < 0)
        into->dmodel = from->dmodel;
    if (into->time == IMPORT_UNKNOWN)
        into->time = from->time;
    if (from->tin_rank < into->tin_rank) {
        into->tin = from->tin;
        into->tin_rank = from->tin_rank;
    }
    if (from->tout_rank < into->tout_rank) {
        into->tout = from->tout;
        into->tout_rank = from->tout_rank;
    }
    if (into->cost < 0)
        into->cost = from->cost;
    into->hidden |= from->hidden;
    into->nonempty |= from->nonempty;
    if (!into->ct_seen) {
        into->ct_seen = from->ct_seen;
        into->ct_answer = from->ct_answer;
    }
    into->no_id &= from->no_id;
    into->layout_b |= from->layout_b;
}

/* The message object ended: keep it, merge it with its earlier copy, or drop it. */
int import_msg_end(import_reader *r) {
    import_cur_msg *cm = &r->cm;
    import_conv *c = &r->c;
    import_msg m = cm->m;
    r->in_msg = 0;
    if (r->fmt == IMPORT_CHATGPT && (m.hidden || (m.role == IMPORT_ROLE_SYSTEM && !m.nonempty))) {
        r->st.hidden_messages++;
        return 0;
    }
    if (cm->has_model && cm->model.len && (m.model = intern_model(r, &cm->model)) < 0)
        return r->status;
    if (cm->has_dmodel && cm->dmodel.len && (m.dmodel = intern_model(r, &cm->dmodel)) < 0)
        return r->status;
    const buf *id = cm->has_id && cm->id.len ? &cm->id : &cm->fallback;
    if (id == &cm->id)
        m.no_id = 0;
    size_t idx;
    int found = import_strset_get(&c->ids, id->data, id->len, &idx);
    if (found < 0)
        return import_fail(r, IMPORT_ENOMEM, cm->offset, "out of memory");
    if (m.layout_b)
        c->history_msgs++;
    if (found) {
        merge(&c->msgs[c->ids.ents[idx].val], &m);
        return 0;
    }
    if (c->n_msgs >= IMPORT_MAX_MESSAGES)
        return import_fail(r, IMPORT_ELIMIT, cm->offset, "more than %d messages in one %s",
                           IMPORT_MAX_MESSAGES, import_item_word(r));
    if (c->n_msgs == c->msgs_cap) {
        size_t cap = c->msgs_cap ? c->msgs_cap * 2 : 64;
        import_msg *nm = realloc(c->msgs, cap * sizeof *nm);
        if (!nm)
            return import_fail(r, IMPORT_ENOMEM, cm->offset, "out of memory");
        c->msgs = nm;
        c->msgs_cap = cap;
    }
    m.id = idx;
    c->ids.ents[idx].val = c->n_msgs;
    c->msgs[c->n_msgs++] = m;
    return 0;
}

static int reserve_out(import_reader *r, size_t n_msgs, size_t n_models) {
    if (n_msgs > r->out_msgs_cap) {
        import_message *m = realloc(r->out_msgs, n_msgs * sizeof *m);
        if (!m)
            return -1;
        r->out_msgs = m;
        r->out_msgs_cap = n_msgs;
    }
    if (n_models > r->out_models_cap) {
        import_model_use *u = realloc(r->out_models, n_models * sizeof *u);
        if (!u)
            return -1;
        r->out_models = u;
        r->out_models_cap = n_models;
    }
    return 0;
}

static void add_known(long long *sum, long long v) {
    if (v == IMPORT_UNKNOWN)
        return;
    *sum = *sum == IMPORT_UNKNOWN ? v : *sum + v;
}

static void add_usd(double *sum, double v) {
    if (v < 0)
        return;
    *sum = *sum < 0 ? v : *sum + v;
}

/* The conversation object ended: check it and deliver it. */
static int conv_end(import_reader *r) {
    import_conv *c = &r->c;
    const char *word = import_item_word(r);
    if (!c->signature) {
        if (r->item_index == 0)
            return import_fail_format(r, r->item_offset, "%s 0 (byte %zu) has no %s", word,
                                      r->item_offset,
                                      r->fmt == IMPORT_CHATGPT  ? "\"mapping\""
                                      : r->fmt == IMPORT_CLAUDE ? "\"chat_messages\""
                                                                : "\"chat\"");
        r->st.skipped++;
        import_warn(r, r->item_offset, "no %s: not a %s, skipped",
                    r->fmt == IMPORT_CHATGPT  ? "\"mapping\""
                    : r->fmt == IMPORT_CLAUDE ? "\"chat_messages\""
                                              : "\"chat\"",
                    word);
        return 0;
    }
    const buf *id = c->has_id && c->id.len           ? &c->id
                    : c->has_alt_id && c->alt_id.len ? &c->alt_id
                                                     : NULL;
    if (!id) {
        r->st.skipped++;
        import_warn(r, r->item_offset, "no id (%s): skipped",
                    r->fmt == IMPORT_CHATGPT  ? "\"id\" or \"conversation_id\""
                    : r->fmt == IMPORT_CLAUDE ? "\"uuid\""
                                              : "\"id\" or \"chat.id\"");
        return 0;
    }
    if (id == &c->id && c->id_too_long) {
        r->st.skipped++;
        import_warn(r, r->item_offset, "an id longer than %d bytes: skipped", IMPORT_MAX_ID);
        return 0;
    }
    size_t first;
    int repeated = import_item_repeated(r, id->data, id->len, &first);
    if (repeated < 0)
        return r->status;
    if (repeated == 1)
        import_warn(r, r->item_offset,
                    "the id \"%.80s\" was already used by %s %zu: this copy and any later one are "
                    "skipped",
                    id->data, word, first);
    if (repeated)
        return 0;

    /* Open WebUI: messages without an id from chat.messages duplicate history's. */
    size_t n = 0;
    for (size_t i = 0; i < c->n_msgs; i++) {
        import_msg *m = &c->msgs[i];
        m->dropped = r->fmt == IMPORT_OPENWEBUI && c->history_msgs && m->no_id && !m->layout_b;
        n += !m->dropped;
    }

    /* The conversation's default model for assistant messages without one. */
    long conv_model = -1;
    if (r->fmt == IMPORT_CHATGPT && c->has_dmodel && c->dmodel.len)
        conv_model = intern_model(r, &c->dmodel);
    else if (r->fmt == IMPORT_OPENWEBUI && c->listed_models == 1 && c->listed_model.len)
        conv_model = intern_model(r, &c->listed_model);
    if (r->status)
        return r->status;

    if (reserve_out(r, n, c->models.n) != 0)
        return import_fail(r, IMPORT_ENOMEM, r->item_offset, "out of memory");

    import_conversation out;
    memset(&out, 0, sizeof out);
    out.first_message = out.last_message = IMPORT_UNKNOWN;
    for (size_t i = 0; i < c->n_msgs; i++) {
        const import_msg *m = &c->msgs[i];
        if (m->dropped || m->time == IMPORT_UNKNOWN)
            continue;
        if (out.first_message == IMPORT_UNKNOWN || m->time < out.first_message)
            out.first_message = m->time;
        if (out.last_message == IMPORT_UNKNOWN || m->time > out.last_message)
            out.last_message = m->time;
    }
    out.created = c->created != IMPORT_UNKNOWN       ? c->created
                  : c->ts_fallback != IMPORT_UNKNOWN ? c->ts_fallback
                                                     : out.first_message;
    out.updated = c->updated != IMPORT_UNKNOWN         ? c->updated
                  : out.last_message != IMPORT_UNKNOWN ? out.last_message
                                                       : out.created;
    out.tokens_in = out.tokens_out = IMPORT_UNKNOWN;
    out.cost_usd = IMPORT_UNKNOWN_USD;

    import_model_use *use = r->out_models;
    for (size_t k = 0; k < c->models.n; k++) {
        use[k].model = import_strset_key(&c->models, k);
        use[k].messages = 0;
        use[k].tokens_in = use[k].tokens_out = IMPORT_UNKNOWN;
        use[k].cost_usd = IMPORT_UNKNOWN_USD;
    }
    size_t k = 0;
    for (size_t i = 0; i < c->n_msgs; i++) {
        const import_msg *m = &c->msgs[i];
        if (m->dropped)
            continue;
        import_message *o = &r->out_msgs[k++];
        int role = m->role < 0 ? IMPORT_ROLE_OTHER : m->role;
        if (r->fmt == IMPORT_CHATGPT && role == IMPORT_ROLE_ASSISTANT && m->ct_seen &&
            !m->ct_answer)
            role = IMPORT_ROLE_OTHER;
        long model = m->model;
        if (model < 0 && role == IMPORT_ROLE_ASSISTANT)
            model = m->dmodel >= 0 ? m->dmodel : conv_model;
        o->id = import_strset_key(&c->ids, m->id);
        o->role = (import_role)role;
        o->model = model >= 0 ? import_strset_key(&c->models, (size_t)model) : NULL;
        o->time = m->time != IMPORT_UNKNOWN ? m->time : out.created;
        o->time_estimated = m->time == IMPORT_UNKNOWN;
        o->tokens_in = m->tin;
        o->tokens_out = m->tout;
        o->cost_usd = m->cost;
        if (role == IMPORT_ROLE_USER)
            out.user_messages++;
        else if (role == IMPORT_ROLE_ASSISTANT)
            out.assistant_messages++;
        else
            out.other_messages++;
        if (m->tin != IMPORT_UNKNOWN || m->tout != IMPORT_UNKNOWN)
            out.messages_with_tokens++;
        add_known(&out.tokens_in, m->tin);
        add_known(&out.tokens_out, m->tout);
        add_usd(&out.cost_usd, m->cost);
        if (role == IMPORT_ROLE_ASSISTANT && model >= 0) {
            import_model_use *u = &use[model];
            u->messages++;
            add_known(&u->tokens_in, m->tin);
            add_known(&u->tokens_out, m->tout);
            add_usd(&u->cost_usd, m->cost);
        }
    }
    /* Keep the models with answers, in order of first mention. */
    size_t nm = 0;
    for (size_t j = 0; j < c->models.n; j++)
        if (use[j].messages)
            use[nm++] = use[j];

    out.source = r->fmt;
    out.index = r->item_index;
    out.offset = r->item_offset;
    out.id = id->data;
    const buf *title = c->title.len ? &c->title : c->alt_title.len ? &c->alt_title : NULL;
    out.title = title ? title->data : NULL;
    out.models = use;
    out.n_models = nm;
    out.messages = r->out_msgs;
    out.n_messages = n;
    r->st.conversations++;
    r->st.messages += n;
    if (!r->cb.conversation)
        return 0;
    r->in_cb = 1;
    int stop = r->cb.conversation(r->ud, &out);
    r->in_cb = 0;
    if (stop)
        return import_fail(r, IMPORT_STOPPED, r->item_offset, "stopped by the caller");
    return 0;
}

/* ---- conversations: the top level ---------------------------------------------------------- */

int import_conv_top(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    char s[64];
    if (ev->depth == 0) {
        if (ev->kind == JSONSAX_BEGIN_ARRAY || ev->kind == JSONSAX_END_ARRAY)
            return 0;
        return import_fail_format(r, ev->offset, "the file holds %s", import_shown(ev, s));
    }
    if (ev->depth == 1) {
        switch (ev->kind) {
        case JSONSAX_BEGIN_OBJECT:
            if (import_item_begin(r, ev))
                return r->status;
            conv_reset(&r->c);
            return 0;
        case JSONSAX_END_OBJECT: {
            int rc = conv_end(r);
            r->in_item = 0;
            r->in_msg = 0;
            return rc;
        }
        case JSONSAX_END_ARRAY:
            return 0; /* a skipped element's end */
        default:
            return import_item_not_object(r, p, ev);
        }
    }
    if (!r->in_item)
        return 0;
    switch (r->fmt) {
    case IMPORT_CHATGPT:
        return import_chatgpt_event(r, p, ev);
    case IMPORT_CLAUDE:
        return import_claude_event(r, p, ev);
    default:
        return import_owui_event(r, p, ev);
    }
}
