/* request_result: what an answer came to, once it has ended: the tokens as the provider
 * reported them or else estimated from the text, the cost (reported, estimated or unknown,
 * ami/cost.h), the carbon, and the row the request leaves in the ledger.  request__finish()
 * (src/request.c) calls both, in that order; the row is written on the ledger's thread pool
 * and the request does not wait for it.
 */
#include "ami/cost.h"
#include "ami/ledger.h"
#include "request_internal.h"

#include <cJSON.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void request__result(request *r, request_state s, const char *kind, const char *message) {
    request_result *res = &r->result;
    memset(res, 0, sizeof *res);
    res->state = s;
    res->provider = r->provider_name;
    res->model = r->model;
    res->model_answered = r->model_answered;
    res->finish_reason = r->finish_reason;
    res->error_kind = kind;
    res->http_status = r->http_status;
    res->message = message;
    res->text_bytes = r->answer.len;
    res->ttft_ms = r->t_first_text ? (long)((r->t_first_text - r->t_start) / 1000000) : -1;
    res->duration_ms = (long)((r->t_end - r->t_start) / 1000000);

    /* Tokens: as reported; otherwise estimated from the text when something was sent. */
    res->prompt_tokens = r->usage.prompt_tokens;
    res->completion_tokens = r->usage.completion_tokens;
    int sent = r->streamed;
    if (sent && res->prompt_tokens < 0) {
        res->prompt_tokens = r->prompt.prompt_tokens;
        res->tokens_estimated = 1;
    }
    if (sent && res->completion_tokens < 0) {
        res->completion_tokens =
            cost_estimate_tokens(r->answer.data ? r->answer.data : "", r->answer.len);
        res->tokens_estimated = 1;
    }
    if (!sent) {
        res->prompt_tokens = res->completion_tokens = 0;
    }
    double pp = -1, cp = -1;
    long ctx;
    engine_model_info(r->e, r->provider_name, r->model_answered ? r->model_answered : r->model,
                      &ctx, &pp, &cp);
    if ((pp < 0 || cp < 0) && r->model_answered)
        engine_model_info(r->e, r->provider_name, r->model, &ctx, &pp, &cp);
    cost_price price = {pp, cp, pp >= 0 && cp >= 0};
    cost_result c = cost_of(res->prompt_tokens, res->completion_tokens, r->usage.cost,
                            r->usage.has_cost, price);
    if (!sent) {
        c.usd = 0;
        c.source = COST_REPORTED; /* nothing was sent: nothing was spent */
    }
    res->cost_usd = c.usd;
    res->cost_source = c.source;
    const ami_config *cfg = engine_config(r->e);
    res->co2e_g = cfg->carbon_enabled && sent
                      ? cost_carbon_g(res->prompt_tokens, res->completion_tokens,
                                      cfg->carbon_points, cfg->n_carbon_points)
                      : -1;
}

static void on_recorded(void *ud, int rc, const char *err) {
    engine *e = ud;
    if (rc != 0 && !e->ledger_told) {
        e->ledger_told = 1;
        char msg[600];
        snprintf(msg, sizeof msg, "the usage ledger could not record a request: %s", err);
        engine_notice(e, NULL, msg);
    }
}

static ledger_status ledger_status_of(request_state s) {
    switch (s) {
    case REQUEST_DONE:
        return LEDGER_STATUS_OK;
    case REQUEST_INTERRUPTED:
        return LEDGER_STATUS_INTERRUPTED;
    case REQUEST_CANCELLED:
        return LEDGER_STATUS_CANCELLED;
    case REQUEST_REFUSED:
        return LEDGER_STATUS_REFUSED;
    default:
        return LEDGER_STATUS_ERROR;
    }
}

/* What was asked, without the document: the ledger's `turn` column, from which a thread is
 * shown again after a restart.  NULL when out of memory. */
static char *turn_json(const request *r) {
    if (!r->n_turns)
        return NULL;
    const prompt_turn *t = &r->turns[r->n_turns - 1];
    static const char *const kinds[] = {"ask", "critique", "explain", "explore"};
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "kind", (unsigned)t->kind < 4 ? kinds[t->kind] : "ask");
    if (t->question)
        cJSON_AddStringToObject(o, "question", t->question);
    if (t->name)
        cJSON_AddStringToObject(o, "name", t->name);
    if (t->path)
        cJSON_AddStringToObject(o, "path", t->path);
    if (t->kind == PROMPT_CRITIQUE) {
        cJSON_AddNumberToObject(o, "line_start", (double)t->line_start);
        cJSON_AddNumberToObject(o, "line_end", (double)t->line_end);
    }
    if (t->note_quote)
        cJSON_AddStringToObject(o, "note_quote", t->note_quote);
    if (t->note_kind)
        cJSON_AddStringToObject(o, "note_kind", t->note_kind);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

void request__record(request *r, const request_result *res) {
    ledger *l = r->no_ledger ? NULL : engine_ledger(r->e);
    if (!l)
        return;
    ledger_row row;
    memset(&row, 0, sizeof row);
    row.started_at = r->wall_start;
    row.ended_at = time(NULL);
    row.client = r->e->client;
    row.command = r->command;
    row.provider = res->provider;
    row.model_requested = res->model;
    row.model_answered = res->model_answered;
    row.document = r->document;
    row.thread = r->thread;
    row.prompt_tokens = res->prompt_tokens;
    row.completion_tokens = res->completion_tokens;
    row.cost_usd = res->cost_usd;
    row.cost_source = (cost_source)res->cost_source;
    if (res->state == REQUEST_REFUSED) {
        /* doc/LEDGER.md: a refused row keeps the estimate that was refused, so the reader can
         * see what the cap prevented.  Nothing was spent: the months view leaves refused rows
         * out of every total.  An unknown price is stored as unknown, never as 0. */
        row.cost_usd = r->budget_estimate_known ? r->budget_estimate : NAN;
        row.cost_source = r->budget_estimate_known ? COST_ESTIMATED : COST_UNKNOWN;
    }
    row.co2e_g = res->co2e_g;
    row.status = ledger_status_of(res->state);
    row.error = res->state != REQUEST_DONE ? res->message : NULL;
    row.finish_reason = res->finish_reason;
    row.ttft_ms = res->ttft_ms;
    row.duration_ms = res->duration_ms;
    buf prompt = {0};
    if (r->prompt.system) {
        buf_printf(&prompt, "[system]\n%s\n", r->prompt.system);
        for (size_t i = 0; i < r->prompt.n_messages; i++) {
            buf_printf(&prompt, "\n[%s]\n", r->prompt.messages[i].role);
            buf_append(&prompt, r->prompt.messages[i].content, r->prompt.messages[i].content_len);
            buf_append_byte(&prompt, '\n');
        }
    }
    row.prompt_text = prompt.data;
    row.answer_text = r->answer.data ? r->answer.data : "";
    row.uid = r->uid;
    char *turn = turn_json(r);
    row.turn = turn;
    row.sent_url = r->sent_url;
    row.sent_headers = r->sent_headers;
    row.sent_body = r->sent_body;
    if (ledger_record(l, &row, on_recorded, r->e) != 0)
        on_recorded(r->e, -1, ledger_error(l) ? ledger_error(l) : "the ledger is closed");
    buf_free(&prompt);
    free(turn);
}
