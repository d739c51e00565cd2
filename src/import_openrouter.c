/* import: the OpenRouter reader: the body of OpenRouter's GET /api/v1/activity.
 *
 * One object whose "data" array holds daily totals, one row per model endpoint and UTC day:
 *
 *   {"data": [{"date": "2025-06-01", "model": "openai/gpt-4o",
 *              "model_permaslug": "openai/gpt-4o-2024-08-06", "endpoint_id": "…",
 *              "provider_name": "OpenAI", "usage": 0.0123, "byok_usage_inference": 0,
 *              "requests": 3, "prompt_tokens": 1200, "completion_tokens": 340,
 *              "reasoning_tokens": 0}]}
 *
 * or, when the request failed, {"error": {"message": "…"}} (or "error": "…"), reported as
 * such.  The SDKs' camelCase spellings (modelPermaslug, endpointId...) are accepted too.
 * Where things are: .data (0) [i] row (2) {fields}.  A row is delivered at its '}', unless
 * the same day and endpoint came earlier in the file.
 */
#include "import_internal.h"

#include "ami/utf8.h"

/* ---- OpenRouter activity ------------------------------------------------------------------- */

static void row_reset(import_activity_row *a) {
    buf_clear(&a->date);
    buf_clear(&a->model);
    buf_clear(&a->permaslug);
    buf_clear(&a->endpoint);
    buf_clear(&a->provider);
    buf_clear(&a->workspace);
    a->usd = a->byok = IMPORT_UNKNOWN_USD;
    a->requests = a->prompt = a->completion = a->reasoning = IMPORT_UNKNOWN;
}

void import_activity_row_free(import_activity_row *a) {
    buf_free(&a->date);
    buf_free(&a->model);
    buf_free(&a->permaslug);
    buf_free(&a->endpoint);
    buf_free(&a->provider);
    buf_free(&a->workspace);
}

static const char *str_or_empty(const buf *b) {
    return b->data ? b->data : "";
}

static int row_end(import_reader *r) {
    import_activity_row *a = &r->a;
    long long day;
    if (a->date.len != 10 || import_time_iso8601(a->date.data, 10, &day) != 0 ||
        !import_plausible(day)) {
        r->st.skipped++;
        if (a->date.len)
            import_warn(r, r->item_offset,
                        "\"date\" \"%.40s\" is not a plausible YYYY-MM-DD: skipped", a->date.data);
        else
            import_warn(r, r->item_offset, "no \"date\": skipped");
        return 0;
    }
    /* The row's key, as in the table's UNIQUE constraint; 0x1F cannot appear in the parts
     * (control characters would have been escaped and are allowed, but this is only a
     * repeat detector: a false repeat needs a field holding 0x1F). */
    buf_clear(&r->scratch);
    buf_printf(&r->scratch, "%s\x1f%s\x1f%s\x1f%s\x1f%s", a->date.data, str_or_empty(&a->endpoint),
               str_or_empty(&a->permaslug), str_or_empty(&a->provider),
               str_or_empty(&a->workspace));
    size_t first;
    int repeated =
        import_item_repeated(r, r->scratch.data ? r->scratch.data : "", r->scratch.len, &first);
    if (repeated < 0)
        return r->status;
    if (repeated == 1)
        import_warn(r, r->item_offset,
                    "the same day and endpoint as row %zu (%s, %.60s): this copy and any later "
                    "one are skipped",
                    first, a->date.data, str_or_empty(&a->permaslug));
    if (repeated)
        return 0;
    import_activity out;
    out.index = r->item_index;
    out.offset = r->item_offset;
    out.date = a->date.data;
    out.day = day;
    out.model = str_or_empty(&a->model);
    out.permaslug = str_or_empty(&a->permaslug);
    out.endpoint_id = str_or_empty(&a->endpoint);
    out.provider = str_or_empty(&a->provider);
    out.workspace_id = str_or_empty(&a->workspace);
    out.usd = a->usd;
    out.byok_usd = a->byok;
    out.requests = a->requests;
    out.prompt_tokens = a->prompt;
    out.completion_tokens = a->completion;
    out.reasoning_tokens = a->reasoning;
    r->st.activity_rows++;
    if (!r->cb.activity)
        return 0;
    r->in_cb = 1;
    int stop = r->cb.activity(r->ud, &out);
    r->in_cb = 0;
    if (stop)
        return import_fail(r, IMPORT_STOPPED, r->item_offset, "stopped by the caller");
    return 0;
}

/* Field names: the API's snake_case, and the SDKs' camelCase. */
static int row_field(const char *k, const char *snake, const char *camel) {
    return import_streq(k, snake) || (camel && import_streq(k, camel));
}

int import_openrouter_event(import_reader *r, jsonsax *p, const jsonsax_event *ev) {
    char s[64];
    size_t d = ev->depth;
    if (d == 0) {
        if (ev->kind == JSONSAX_BEGIN_OBJECT || ev->kind == JSONSAX_END_OBJECT)
            return 0;
        return import_fail_format(r, ev->offset, "the file holds %s", import_shown(ev, s));
    }
    const char *f = import_key_at(p, 0);
    if (d == 1) {
        if (ev->kind == JSONSAX_KEY) {
            if (!import_is(ev, "data") && !import_is(ev, "error"))
                jsonsax_skip(p);
        } else if (import_streq(f, "data")) {
            if (ev->kind == JSONSAX_BEGIN_ARRAY)
                r->saw_data = 1;
            else if (ev->kind != JSONSAX_END_ARRAY)
                return import_fail_format(r, ev->offset, "\"data\" is %s", import_shown(ev, s));
        } else if (import_streq(f, "error")) {
            if (ev->kind == JSONSAX_STRING)
                buf_append(&r->or_error, ev->str, utf8_cut(ev->str, ev->len, 200));
            else if (ev->kind == JSONSAX_BEGIN_ARRAY)
                jsonsax_skip(p);
        }
        return r->status;
    }
    if (import_streq(f, "error")) {
        if (d == 2 && ev->kind == JSONSAX_KEY && !import_is(ev, "message"))
            jsonsax_skip(p);
        else if (d == 2 && ev->kind == JSONSAX_STRING &&
                 import_streq(import_key_at(p, 1), "message"))
            buf_append(&r->or_error, ev->str, utf8_cut(ev->str, ev->len, 200));
        return r->status;
    }
    if (!import_streq(f, "data"))
        return 0;
    if (d == 2) {
        switch (ev->kind) {
        case JSONSAX_BEGIN_OBJECT:
            if (import_item_begin(r, ev))
                return r->status;
            row_reset(&r->a);
            return 0;
        case JSONSAX_END_OBJECT: {
            int rc = row_end(r);
            r->in_item = 0;
            return rc;
        }
        case JSONSAX_END_ARRAY:
            return 0;
        default:
            return import_item_not_object(r, p, ev);
        }
    }
    if (d != 3 || !r->in_item)
        return 0;
    if (ev->kind == JSONSAX_KEY) {
        /* clang-format off */
        static const char *const keep[] = {
            "date", "model", "model_permaslug", "modelPermaslug", "endpoint_id", "endpointId",
            "provider_name", "providerName", "workspace_id", "workspaceId", "usage",
            "byok_usage_inference", "byokUsageInference", "requests", "prompt_tokens",
            "promptTokens", "completion_tokens", "completionTokens", "reasoning_tokens",
            "reasoningTokens"};
        /* clang-format on */
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++)
            if (import_is(ev, keep[i]))
                return 0;
        jsonsax_skip(p);
        return 0;
    }
    import_activity_row *a = &r->a;
    const char *k = import_key_at(p, 2);
    if (import_streq(k, "date"))
        import_set_str(r, p, ev, &a->date, 16, "date", NULL);
    else if (import_streq(k, "model"))
        import_set_str(r, p, ev, &a->model, IMPORT_MAX_MODEL, "model", NULL);
    else if (row_field(k, "model_permaslug", "modelPermaslug"))
        import_set_str(r, p, ev, &a->permaslug, IMPORT_MAX_MODEL, k, NULL);
    else if (row_field(k, "endpoint_id", "endpointId"))
        import_set_str(r, p, ev, &a->endpoint, IMPORT_MAX_ID, k, NULL);
    else if (row_field(k, "provider_name", "providerName"))
        import_set_str(r, p, ev, &a->provider, IMPORT_MAX_MODEL, k, NULL);
    else if (row_field(k, "workspace_id", "workspaceId"))
        import_set_str(r, p, ev, &a->workspace, IMPORT_MAX_ID, k, NULL);
    else if (import_streq(k, "usage"))
        import_set_usd(r, p, ev, &a->usd, k);
    else if (row_field(k, "byok_usage_inference", "byokUsageInference"))
        import_set_usd(r, p, ev, &a->byok, k);
    else if (import_streq(k, "requests"))
        import_set_count(r, p, ev, &a->requests, k);
    else if (row_field(k, "prompt_tokens", "promptTokens"))
        import_set_count(r, p, ev, &a->prompt, k);
    else if (row_field(k, "completion_tokens", "completionTokens"))
        import_set_count(r, p, ev, &a->completion, k);
    else if (row_field(k, "reasoning_tokens", "reasoningTokens"))
        import_set_count(r, p, ev, &a->reasoning, k);
    return r->status;
}
