/* request: one answer's life.  See include/ami/request.h for the state diagram.
 *
 * This file walks it: the kick-off, the key, the budget and the end (request__finish), and
 * frees the request once nothing refers to it.  Each attempt on the wire (sending, waiting,
 * streaming) is src/request_attempt.c; what the answer came to, and its ledger row,
 * src/request_result.c.  They share src/request_internal.h.
 */
#include "ami/request.h"

#include "ami/budget.h"
#include "ami/buf.h"
#include "ami/cost.h"
#include "ami/log.h"
#include "ami/ledger_notes.h"
#include "ami/sse.h"
#include "engine_internal.h"
#include "request_internal.h"
#include "request_notes.h"
#include "request_secrets.h"

#include <unistd.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define USAGE_UNKNOWN (-1)

/* Two requests compared side by side (request_params.pair_with) share a pair: the budget
 * sees them as one, deciding once for both, on the sum of their estimates.  Each member holds a
 * reference; the last one released frees it. */
struct request_pair {
    request *member[2]; /* NULL once released */
    int refs;
};

static const char *state_names[] = {"queued",      "key",       "budget", "sending",
                                    "waiting",     "streaming", "done",   "error",
                                    "interrupted", "cancelled", "refused"};

const char *request_state_name(request_state s) {
    return (unsigned)s < sizeof state_names / sizeof state_names[0] ? state_names[s] : "?";
}

uint32_t request_id(const request *r) {
    return r->id;
}
void *request_ud(const request *r) {
    return r->ud;
}
request_state request_get_state(const request *r) {
    return r->state;
}
const char *request_thread(const request *r) {
    return r->thread;
}
const char *request_document(const request *r) {
    return r->document;
}
const char *request_uid(const request *r) {
    return r->uid;
}

void request__set_state(request *r, request_state s) {
    if (r->state == s)
        return;
    log_debug("request %u: %s → %s", r->id, request_state_name(r->state), request_state_name(s));
    r->state = s;
}

void request__emit(request *r, const request_event *ev) {
    if (r->e->sink.event)
        r->e->sink.event(r->e->sink_ud, r, ev);
}

static char *dup_or_null(const char *s) {
    return s ? strdup(s) : NULL;
}

static void wipe_free(char *s) {
    if (!s)
        return;
    volatile char *p = s;
    while (*p)
        *p++ = 0;
    free(s);
}

/* ---- the end --------------------------------------------------------------------------- */

/* Frees what the request owns.  Runs last, from release(): never from inside a parser or
 * decoder callback, which may still be on the stack when the request ends. */
static void request_free_fields(request *r) {
    engine_provider_clear(&r->prov);
    sse_parser_free(r->sse);
    provider_decoder_free(r->dec);
    stream_free(r->out);
    wipe_free(r->key);
    free(r->command);
    free(r->provider_name);
    free(r->model);
    free(r->system);
    free(r->document);
    free(r->thread);
    for (size_t i = 0; i < r->n_turns; i++) {
        free((char *)r->turns[i].document);
        free((char *)r->turns[i].path);
        free((char *)r->turns[i].question);
        free((char *)r->turns[i].name);
        free((char *)r->turns[i].answer);
        free((char *)r->turns[i].note_quote);
        free((char *)r->turns[i].note_comment);
        free((char *)r->turns[i].note_kind);
    }
    free(r->turns);
    rnotes_free(r->notes);
    for (size_t i = 0; i < r->n_dismissed; i++) {
        free((char *)r->dismissed[i].kind);
        free((char *)r->dismissed[i].quote);
        free((char *)r->dismissed[i].comment);
    }
    free(r->dismissed);
    free(r->dismissed_view);
    prompt_result_free(&r->prompt);
    free(r->input_error);
    free(r->sent_url);
    free(r->sent_headers);
    free(r->sent_body);
    buf_free(&r->answer);
    buf_free(&r->body_head);
    free(r->model_answered);
    free(r->finish_reason);
    free(r->err_kind);
    free(r->err_message);
}

/* The memory goes once the timer has closed and no ledger query still refers to it. */
static void release(request *r) {
    if (!r->timer_closed || r->ledger_pending)
        return;
    engine *e = r->e;
    if (r->pair) {
        r->pair->member[r->pair_slot] = NULL;
        if (--r->pair->refs == 0)
            free(r->pair);
    }
    request_free_fields(r);
    free(r);
    e->pending_closes--;
    engine_request_freed(e);
}

static void on_timer_closed(uv_handle_t *h) {
    request *r = h->data;
    free(h);
    r->timer_closed = 1;
    release(r);
}

static void on_models_ready(void *ud, const provider_model *models, size_t n, const char *err);

/* Takes the request out of the engine and stops everything it started; the memory is freed
 * later (release()). */
static void request_destroy(request *r) {
    for (request **pp = &r->e->requests; *pp; pp = &(*pp)->next)
        if (*pp == r) {
            *pp = r->next;
            break;
        }
    if (r->waiting_models)
        engine_models_forget(r->e, r->provider_name, on_models_ready, r);
    if (r->key_req)
        keys_cancel(r->key_req);
    r->key_req = NULL;
    if (r->xfer)
        http_cancel(r->xfer);
    r->xfer = NULL;
    uv_timer_stop(r->timer);
    uv_close((uv_handle_t *)r->timer, on_timer_closed);
}

/* The pair's other member, while it has not ended. */
static request *partner(const request *r) {
    request *o = r->pair ? r->pair->member[1 - r->pair_slot] : NULL;
    return o && !o->ended ? o : NULL;
}

static void budget_query(request *r);

/* Ends the request: delivers the text still pending, computes the cost, records the row,
 * reports the end, and frees the request. */
void request__finish(request *r, request_state s, const char *kind, const char *message) {
    if (r->ended)
        return;
    r->ended = 1;
    /* A pair's other answer waiting for this one at the budget stage decides alone now. */
    request *o = partner(r);
    if (o && o->budget_ready) {
        o->budget_ready = 0;
        budget_query(o);
    }
    if (r->key_req) {
        keys_cancel(r->key_req);
        r->key_req = NULL;
    }
    if (r->xfer) {
        http_cancel(r->xfer);
        r->xfer = NULL;
    }
    uv_timer_stop(r->timer);
    if (r->out)
        stream_end(r->out);
    rnotes_finish(r->notes); /* the last note, with what it has */
    request__set_state(r, s);
    r->t_end = uv_hrtime();

    request__result(r, s, kind, message);
    const request_result *res = &r->result;
    char cost_text[48];
    cost_format(res->cost_usd, (cost_source)res->cost_source, cost_text, sizeof cost_text);
    log_info("request %u: %s (%ld in, %ld out, %s)%s%s", r->id, request_state_name(s),
             res->prompt_tokens, res->completion_tokens, cost_text, message ? ": " : "",
             message ? message : "");
    request__record(r, res);
    request_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = REQUEST_EV_DONE;
    ev.result = res;
    request__emit(r, &ev);
    request_destroy(r);
}

/* Ends with an error whose message is built here (and masked: a provider may echo a key). */
void request__finishf(request *r, request_state s, const char *kind, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    secret_redact(msg);
    request__finish(r, s, kind, msg);
}

void request_cancel(request *r, const char *why) {
    if (r->ended)
        return;
    request__finish(r, REQUEST_CANCELLED, "cancelled", why ? why : "stopped by the user");
}

void request_cancel_all(engine *e, const char *why) {
    while (e->requests)
        request_cancel(e->requests, why);
}

request *request_find(engine *e, uint32_t id) {
    for (request *r = e->requests; r; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

void request_each(engine *e, void (*fn)(request *r, void *ud), void *ud) {
    request *r = e->requests;
    while (r) {
        request *next = r->next; /* fn may end r */
        fn(r, ud);
        r = next;
    }
}

size_t request_count(const engine *e) {
    size_t n = 0;
    for (const request *r = e->requests; r; r = r->next)
        n++;
    return n;
}
/* ---- budget --------------------------------------------------------------------------------- */

/* The budget's verdict for r, and for its pair's other member when that one waits at the
 * budget stage too: one decision on the sum of their estimates, applied to both. */
static void on_month(void *ud, int rc, const ledger_totals *t, const char *err) {
    request *r = ud;
    r->ledger_pending = 0;
    if (r->ended) {
        release(r);
        return;
    }
    request *o = partner(r);
    if (o && !o->budget_ready)
        o = NULL;
    const ami_config *cfg = engine_config(r->e);
    budget_request br;
    memset(&br, 0, sizeof br);
    br.month_spent_usd = rc == 0 && t ? t->cost_usd : 0;
    br.ledger_ok = rc == 0;
    br.ledger_error = err;
    br.estimate_usd = r->budget_estimate + (o ? o->budget_estimate : 0);
    br.estimate_known = r->budget_estimate_known && (!o || o->budget_estimate_known);
    br.prompt_tokens = r->prompt.prompt_tokens + (o ? o->prompt.prompt_tokens : 0);
    br.max_output_tokens = r->max_tokens + (o ? o->max_tokens : 0);
    char msg[768];
    budget_verdict verdict = budget_decide(cfg, &br, msg, sizeof msg);
    /* The verdict's sentence starts with "ami: "; the sinks add their own prefix. */
    const char *text = strncmp(msg, "ami: ", 5) == 0 ? msg + 5 : msg;
    char both[900];
    if (o && verdict != BUDGET_OK) {
        snprintf(both, sizeof both, "%s (the two answers of the comparison, together)", text);
        text = both;
    }
    if (o)
        o->budget_ready = 0;
    if (verdict == BUDGET_REFUSED) {
        if (o)
            request__finish(o, REQUEST_REFUSED, "budget", text);
        request__finish(r, REQUEST_REFUSED, "budget", text);
        return;
    }
    if (verdict == BUDGET_UNENFORCED)
        engine_notice(r->e, r, text);
    request__send(r);
    if (o && !o->ended)
        request__send(o);
}

static void budget_query(request *r) {
    ledger *l = engine_ledger(r->e);
    int rc = l ? ledger_month(l, NULL, on_month, r) : LEDGER_EUNUSABLE;
    if (rc == 0)
        r->ledger_pending = 1;
    else
        on_month(r, rc, NULL,
                 !l                ? "the ledger is turned off (ledger.enabled = false)"
                 : ledger_error(l) ? ledger_error(l)
                                   : "the ledger cannot be read");
}

static void check_budget(request *r) {
    const ami_config *cfg = engine_config(r->e);
    if (cfg->budget_monthly_usd < 0 && cfg->budget_per_request_usd < 0) {
        request__send(r);
        return;
    }
    request__set_state(r, REQUEST_BUDGET);
    long ctx;
    double pp = -1, cp = -1;
    engine_model_info(r->e, r->provider_name, r->model, &ctx, &pp, &cp);
    r->budget_estimate_known = pp >= 0 && cp >= 0;
    r->budget_estimate =
        r->budget_estimate_known
            ? ((double)r->prompt.prompt_tokens * pp + (double)r->max_tokens * cp) / 1e6
            : 0;
    request *o = partner(r);
    if (o && !o->budget_ready) {
        r->budget_ready = 1; /* the other answer decides for both when it gets here */
        return;
    }
    budget_query(r);
}

/* ---- key, kick-off -------------------------------------------------------------------------- */

static void on_key(void *ud, const char *key, const char *source, const char *err) {
    request *r = ud;
    r->key_req = NULL;
    if (r->ended)
        return;
    if (err) {
        request__finish(r, REQUEST_ERROR, "key", err);
        return;
    }
    (void)source;
    r->key = key ? strdup(key) : NULL;
    check_budget(r);
}

static void emit_note(void *ud, const request_note *note) {
    request *r = ud;
    request_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = REQUEST_EV_NOTE;
    ev.margin_note = note;
    request__emit(r, &ev);
}

/* The note cutter, on the document of the last turn (the critique). */
static int start_notes(request *r) {
    const prompt_turn *t = &r->turns[r->n_turns - 1];
    rnotes_info info;
    memset(&info, 0, sizeof info);
    info.request_uid = r->uid;
    info.document = r->document;
    info.thread = r->thread;
    info.text = t->document;
    info.text_len = t->document_len;
    info.passage_start = t->line_start;
    info.passage_end = t->line_end;
    r->notes = rnotes_new(&info, r->no_ledger ? NULL : engine_ledger(r->e), emit_note, r);
    return r->notes ? 0 : -1;
}

/* Every text that will leave the machine, masked (request_secrets.h), and the writer told
 * what was masked.  0, or -1 (-2: a bad allow pattern) with err set: then nothing must be
 * sent. */
static int mask_secrets(request *r, char *err, size_t errlen) {
    const ami_config *cfg = engine_config(r->e);
    if (!cfg->secrets_mask)
        return 0;
    rsecrets_report rep;
    int rc =
        rsecrets_mask(r->turns, r->n_turns, &r->system, (const char *const *)cfg->secrets_allow,
                      cfg->n_secrets_allow, &rep, err, errlen);
    if (rc != 0)
        return rc;
    if (rep.n_found || rep.elsewhere) {
        log_info("request %u: %zu secret%s masked in the document, %zu elsewhere", r->id,
                 rep.n_found, rep.n_found == 1 ? "" : "s", rep.elsewhere);
        request_event ev;
        memset(&ev, 0, sizeof ev);
        ev.type = REQUEST_EV_SECRETS;
        ev.secrets = rep.found;
        ev.n_secrets = rep.n_found;
        ev.secrets_elsewhere = rep.elsewhere;
        request__emit(r, &ev);
    }
    rsecrets_report_free(&rep);
    return 0;
}

/* Builds the prompt (now that the model's context length is known, if it can be), reports
 * the start, and looks for the key. */
static void begin(request *r) {
    const ami_config *cfg = engine_config(r->e);
    char err[512] = "";
    /* The notes are found in the document as the writer has it, before any secret is masked
     * (the cutter keeps its own copy); then every text is masked, before anything is built
     * from it. */
    if (r->want_notes && !r->notes && start_notes(r) != 0) {
        request__finish(r, REQUEST_ERROR, "memory", "out of memory");
        return;
    }
    int masked = mask_secrets(r, err, sizeof err);
    if (masked != 0) {
        request__finish(r, REQUEST_ERROR, masked == -2 ? "config" : "secrets", err);
        return;
    }
    long ctx = cfg->context_tokens > 0 ? cfg->context_tokens : r->prov.context_tokens;
    if (ctx <= 0) {
        double pp, cp;
        engine_model_info(r->e, r->provider_name, r->model, &ctx, &pp, &cp);
    }
    r->context_tokens = ctx;
    prompt_options po;
    memset(&po, 0, sizeof po);
    po.language = cfg->language;
    po.system = r->system;
    po.context_tokens = ctx;
    po.max_tokens = r->max_tokens;
    po.notes = r->want_notes;
    po.dismissed = r->dismissed_view;
    po.n_dismissed = r->n_dismissed;
    if (prompt_build(r->turns, r->n_turns, &po, &r->prompt, err, sizeof err) != 0) {
        request__finish(r, REQUEST_ERROR, "input", err);
        return;
    }
    request_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = REQUEST_EV_START;
    ev.provider = r->provider_name;
    ev.model = r->model;
    ev.language = r->prompt.language;
    ev.note = r->prompt.note;
    ev.prompt_tokens = r->prompt.prompt_tokens;
    request__emit(r, &ev);
    if (r->ended)
        return;
    request__set_state(r, REQUEST_KEY);
    keys_spec spec = engine_provider_keys(&r->prov, -1);
    r->key_req = keys_get(r->e->keys, &spec, on_key, r);
}

static void on_models_ready(void *ud, const provider_model *models, size_t n, const char *err) {
    (void)models;
    (void)n;
    request *r = ud;
    r->waiting_models = 0;
    if (r->ended)
        return;
    if (err)
        log_info("request %u: no model list: %s", r->id, err);
    begin(r);
}

/* Bytes of document text the thread sends, to tell whether the context length matters. */
static size_t document_bytes(const request *r) {
    size_t n = 0;
    for (size_t i = 0; i < r->n_turns; i++)
        n += r->turns[i].document_len;
    return n;
}

static void after_dismissed(request *r);

/* The notes the writer dismissed on this document, to tell the model not to repeat them. */
static void on_dismissed(void *ud, int rc, const ledger_note *notes, size_t n, const char *err) {
    request *r = ud;
    r->ledger_pending = 0;
    if (r->ended) {
        release(r);
        return;
    }
    if (rc < 0)
        log_info("request %u: no dismissed notes: %s", r->id, err ? err : "?");
    if (rc == 0 && n) {
        r->dismissed = calloc(n, sizeof *r->dismissed);
        r->dismissed_view = calloc(n, sizeof *r->dismissed_view);
        for (size_t i = 0; r->dismissed && r->dismissed_view && i < n; i++) {
            ledger_note *d = &r->dismissed[r->n_dismissed];
            d->kind = dup_or_null(notes[i].kind);
            d->quote = dup_or_null(notes[i].quote);
            d->comment = dup_or_null(notes[i].comment);
            if (!d->quote)
                break;
            prompt_dismissed *v = &r->dismissed_view[r->n_dismissed++];
            v->kind = d->kind;
            v->quote = d->quote;
            v->comment = d->comment;
        }
    }
    after_dismissed(r);
}

static void on_kickoff(uv_timer_t *t) {
    request *r = t->data;
    if (r->input_error) {
        request__finish(r, REQUEST_ERROR, r->input_kind, r->input_error);
        return;
    }
    ledger *l = r->want_notes && r->document && !r->no_ledger ? engine_ledger(r->e) : NULL;
    if (l && ledger_notes_for(l, r->document, 1, on_dismissed, r) == 0) {
        r->ledger_pending = 1;
        return;
    }
    after_dismissed(r);
}

static void after_dismissed(request *r) {
    /* Wait for the model list only when it matters: a large document whose model's context
     * is unknown, or a per-request cap whose price is unknown. */
    const ami_config *cfg = engine_config(r->e);
    long ctx;
    double pp, cp;
    engine_model_info(r->e, r->provider_name, r->model, &ctx, &pp, &cp);
    int need_context = ctx <= 0 && cfg->context_tokens <= 0 && r->prov.context_tokens <= 0 &&
                       document_bytes(r) > 32 * 1024;
    int need_price = cfg->budget_per_request_usd >= 0 && (pp < 0 || cp < 0);
    if (need_context || need_price) {
        r->waiting_models = 1;
        engine_models(r->e, r->provider_name, 0, on_models_ready, r);
        return;
    }
    begin(r);
}

static int copy_turns(request *r, const prompt_turn *turns, size_t n) {
    r->turns = calloc(n ? n : 1, sizeof *r->turns);
    if (!r->turns)
        return -1;
    r->n_turns = n;
    for (size_t i = 0; i < n; i++) {
        prompt_turn *d = &r->turns[i];
        const prompt_turn *s = &turns[i];
        *d = *s;
        d->document = NULL;
        d->path = d->question = d->name = d->answer = NULL;
        d->note_quote = d->note_comment = d->note_kind = NULL;
        if (s->document) {
            char *doc = malloc(s->document_len + 1);
            if (!doc)
                return -1;
            memcpy(doc, s->document, s->document_len);
            doc[s->document_len] = '\0';
            d->document = doc;
        }
        if ((s->path && !(d->path = strdup(s->path))) ||
            (s->question && !(d->question = strdup(s->question))) ||
            (s->name && !(d->name = strdup(s->name))) ||
            (s->answer && !(d->answer = strdup(s->answer))) ||
            (s->note_quote && !(d->note_quote = strdup(s->note_quote))) ||
            (s->note_comment && !(d->note_comment = strdup(s->note_comment))) ||
            (s->note_kind && !(d->note_kind = strdup(s->note_kind))))
            return -1;
    }
    return 0;
}

request *request_start(engine *e, const request_params *p, void *ud) {
    if (e->closing)
        return NULL;
    request *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->timer = malloc(sizeof *r->timer);
    if (!r->timer) {
        free(r);
        return NULL;
    }
    uv_timer_init(e->loop, r->timer);
    r->timer->data = r;
    r->e = e;
    r->ud = ud;
    r->id = ++e->next_id;
    r->t_start = uv_hrtime();
    r->wall_start = time(NULL);
    snprintf(r->uid, sizeof r->uid, "r-%llx-%lx-%x", (unsigned long long)r->wall_start,
             (unsigned long)getpid(), (unsigned)r->id);
    r->usage.prompt_tokens = r->usage.completion_tokens = USAGE_UNKNOWN;
    r->next = e->requests;
    e->requests = r;
    e->pending_closes++; /* until release() */

    const ami_config *cfg = engine_config(e);
    r->command = strdup(p->command ? p->command : "ask");
    r->provider_name = strdup(p->provider && *p->provider ? p->provider : cfg->provider);
    r->model = strdup(p->model && *p->model ? p->model : cfg->model);
    r->system = dup_or_null(p->system);
    r->document = dup_or_null(p->document);
    r->thread = dup_or_null(p->thread);
    r->no_ledger = p->no_ledger;
    if (p->pair_with && !p->pair_with->ended && !p->pair_with->pair) {
        request_pair *pr = calloc(1, sizeof *pr);
        if (pr) {
            pr->member[0] = p->pair_with;
            pr->member[1] = r;
            pr->refs = 2;
            p->pair_with->pair = pr;
            p->pair_with->pair_slot = 0;
            r->pair = pr;
            r->pair_slot = 1;
        }
    }
    /* Notes for a critique whose last turn has its document. */
    r->want_notes = p->notes && p->n_turns && p->turns[p->n_turns - 1].kind == PROMPT_CRITIQUE &&
                    p->turns[p->n_turns - 1].document;
    r->max_tokens = p->max_tokens > 0 ? p->max_tokens : cfg->max_tokens;
    r->temperature = cfg->temperature;
    r->out = stream_new(e->clock, r); /* the sink gets the request: request_id(), request_ud() */
    char err[512] = "";
    if (!r->command || !r->provider_name || !r->model || !r->out ||
        copy_turns(r, p->turns, p->n_turns) != 0) {
        r->input_error = strdup("out of memory");
        r->input_kind = "memory";
    } else if (engine_provider_resolve(e, r->provider_name, &r->prov, err, sizeof err) != 0) {
        r->input_error = strdup(err);
        r->input_kind = "config";
    }
    uv_timer_start(r->timer, on_kickoff, 0, 0);
    return r;
}