/* usage_html: `ami usage --html FILE`, one self-contained page (include/ami/usage_report.h).
 *
 * Self-contained means: inline SVG drawn by chart.c, one <style>, no script, no font, no
 * image, no link to anything; a Content-Security-Policy says so to the browser too, so the
 * page can be published as it is and opened offline.  Everything that comes from the ledger
 * (model names, file names) is escaped.  Documents are named by their file name only: the
 * directories they live in are nobody else's business.
 */
#include "ami/usage_report.h"

#include "usage_report_internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char page_css[] =
    ":root{color-scheme:light dark;--fg:#222;--bg:#fff;--muted:#666;--rule:#ddd}\n"
    "@media (prefers-color-scheme:dark){:root{--fg:#ddd;--bg:#181818;--muted:#999;"
    "--rule:#333}}\n"
    "body{margin:0;background:var(--bg);color:var(--fg);"
    "font:15px/1.5 system-ui,-apple-system,\"Segoe UI\",sans-serif}\n"
    "main{max-width:760px;margin:0 auto;padding:24px 16px 48px}\n"
    "h1{font-size:1.6em;margin:0 0 .3em}h2{font-size:1.15em;margin:2em 0 .5em}\n"
    ".summary{font-size:1.05em}.muted,footer{color:var(--muted);font-size:.9em}\n"
    "svg{max-width:100%;height:auto;display:block}\n"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}\n"
    "th,td{padding:3px 8px;border-bottom:1px solid var(--rule);text-align:right;"
    "white-space:nowrap}\n"
    "th:first-child,td:first-child{text-align:left;white-space:normal;word-break:break-all}\n"
    "tr.total td{font-weight:bold}.warn{color:#c0392b}\n";

/* Words of the page, per locale. */
typedef enum {
    W_TITLE,
    W_SUMMARY,
    W_SPENT,
    W_THREADS,
    W_ANSWERS,
    W_TOKENS_IN,
    W_TOKENS_OUT,
    W_CARBON,
    W_BY_MONTH,
    W_BY_SOURCE,
    W_BY_MODEL,
    W_BY_DOCUMENT,
    W_MONTH,
    W_SOURCE,
    W_MODEL,
    W_SOURCES,
    W_DOCUMENT,
    W_COST,
    W_REQUESTS,
    W_TOTAL,
    W_CARBON_TITLE,
    W_HOW,
    W_MISMATCH,
    W_MADE,
    W_NO_DOCS,
    W_N
} word;

static const char *const words_en[W_N] = {
    "My LLM use",
    "Over these twelve months",
    "spent",
    "threads",
    "answers",
    "tokens in",
    "tokens out",
    "carbon (est.)",
    "By month",
    "By source",
    "By model",
    "The documents that cost the most (ami)",
    "month",
    "source",
    "model",
    "sources",
    "document",
    "cost",
    "requests",
    "total",
    "Carbon estimate",
    "How this is counted",
    "Days where ami recorded more than OpenRouter reports",
    "Made by ami from its usage ledger",
    "No document was asked about in these months.",
};

static const char *const words_fr[W_N] = {
    "Mon usage des LLM",
    "Sur ces douze mois",
    "dépensés",
    "fils de discussion",
    "réponses",
    "jetons envoyés",
    "jetons reçus",
    "carbone (est.)",
    "Par mois",
    "Par source",
    "Par modèle",
    "Les documents qui ont coûté le plus (ami)",
    "mois",
    "source",
    "modèle",
    "sources",
    "document",
    "coût",
    "requêtes",
    "total",
    "Estimation carbone",
    "Comment c'est compté",
    "Jours où ami a enregistré plus que ce qu'OpenRouter indique",
    "Fait par ami à partir de son registre d'usage",
    "Aucun document n'a été soumis ces mois-ci.",
};

static const char *W(chart_locale l, word w) {
    return (l == CHART_FR ? words_fr : words_en)[w];
}

/* ---- writing ------------------------------------------------------------------------------ */

typedef struct page {
    buf *b;
    chart_locale l;
    int err;
} page;

static void put(page *p, const char *s) {
    if (!p->err && buf_append_str(p->b, s))
        p->err = CHART_ENOMEM;
}

static void put_escaped(page *p, const char *s) {
    for (; s && *s && !p->err; s++) {
        switch (*s) {
        case '&':
            put(p, "&amp;");
            break;
        case '<':
            put(p, "&lt;");
            break;
        case '>':
            put(p, "&gt;");
            break;
        case '"':
            put(p, "&quot;");
            break;
        case '\'':
            put(p, "&#39;");
            break;
        default:
            if (buf_append_byte(p->b, *s))
                p->err = CHART_ENOMEM;
        }
    }
}

static void putf(page *p, const char *fmt, const char *a) {
    if (!p->err && buf_printf(p->b, fmt, a))
        p->err = CHART_ENOMEM;
}

/* <td data-value="raw">text</td>; raw is what a reader of the page's numbers compares. */
static void td_num(page *p, double raw, const char *text) {
    char v[64];
    if (isfinite(raw))
        snprintf(v, sizeof v, "%.10g", raw);
    else
        snprintf(v, sizeof v, "unknown");
    putf(p, "<td data-value=\"%s\">", v);
    put_escaped(p, text);
    put(p, "</td>");
}

static void td_count(page *p, long long v) {
    buf t = {0};
    if (usage_report_count(p->l, v, &t))
        p->err = CHART_ENOMEM;
    td_num(p, v < 0 ? NAN : (double)v, t.data ? t.data : "");
    buf_free(&t);
}

static void td_tokens(page *p, long long v, const usage_cell *c) {
    buf t = {0};
    int unknown = c->tokens_unknown >= c->answers && v == 0 && c->answers > 0;
    if (c->answers <= 0 && v == 0)
        buf_append_str(&t, "-");
    else if (unknown)
        buf_append_str(&t, "?");
    else if (chart_format_count(p->l, (double)v, &t) ||
             (c->tokens_unknown > 0 && buf_append_str(&t, "+?")))
        p->err = CHART_ENOMEM;
    td_num(p, unknown ? NAN : (double)v, t.data ? t.data : "");
    buf_free(&t);
}

static void td_money(page *p, const usage_cell *c) {
    buf t = {0};
    if (usage_report_money(p->l, c, &t))
        p->err = CHART_ENOMEM;
    int unknown = c->answers > 0 && c->cost_unknown >= c->answers && c->cost_usd == 0;
    td_num(p, unknown ? NAN : c->cost_usd, t.data ? t.data : "");
    buf_free(&t);
}

static void td_carbon(page *p, double g) {
    buf t = {0};
    if (g > 0) {
        /* grams, as chart.c writes numbers: "~1.3 gCO₂e", kilograms from 1000 g */
        double v = g >= 1000 ? g / 1000 : g;
        char num[32];
        snprintf(num, sizeof num, v >= 100 ? "%.0f" : v >= 10 ? "%.1f" : "%.2f", v);
        if (p->l == CHART_FR)
            for (char *c = num; *c; c++)
                if (*c == '.')
                    *c = ',';
        if (buf_printf(&t,
                       "~%s %sCO\xE2\x82\x82"
                       "e",
                       num, g >= 1000 ? "kg" : "g"))
            p->err = CHART_ENOMEM;
    } else {
        buf_append_str(&t, "-");
    }
    td_num(p, g, t.data ? t.data : "");
    buf_free(&t);
}

static void cell_row(page *p, const char *name, const char *cls, const usage_cell *c) {
    putf(p, "<tr%s>", cls);
    put(p, "<td>");
    put_escaped(p, name);
    put(p, "</td>");
    td_count(p, c->threads);
    td_count(p, c->answers);
    td_tokens(p, c->tokens_in, c);
    td_tokens(p, c->tokens_out, c);
    td_money(p, c);
    td_carbon(p, c->co2e_g);
    put(p, "</tr>\n");
}

/* <table id="id"><thead> with the columns' words, and the <tbody> opened. */
static void table_head(page *p, const char *id, const word *cols, size_t n) {
    putf(p, "<table id=\"%s\"><thead><tr>", id);
    for (size_t i = 0; i < n; i++) {
        put(p, "<th>");
        put(p, W(p->l, cols[i]));
        put(p, "</th>");
    }
    put(p, "</tr></thead>\n<tbody>\n");
}

static void cell_header(page *p, const char *id, word first) {
    const word cols[] = {first, W_THREADS, W_ANSWERS, W_TOKENS_IN, W_TOKENS_OUT, W_COST, W_CARBON};
    table_head(p, id, cols, sizeof cols / sizeof cols[0]);
}

static void svg(page *p, const usage_series *s, chart_unit unit, chart_mode mode,
                const char *title) {
    chart_opts o;
    chart_opts_default(&o);
    o.locale = p->l;
    o.unit = unit;
    o.mode = mode;
    o.title = title;
    chart_data d = {s->labels, USAGE_MONTHS, s->series, s->n};
    buf b = {0};
    int rc = chart_bars_svg(&d, &o, &b);
    if (rc)
        p->err = rc;
    else
        put(p, b.data);
    buf_free(&b);
}

static void section(page *p, const char *id, const char *title) {
    putf(p, "<section id=\"%s\">\n<h2>", id);
    put_escaped(p, title);
    put(p, "</h2>\n");
}

static const char *basename_of(const char *path) {
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

/* One figure of the summary: sep, <b data-value="raw">text</b>, then its word. */
static void summary_item(page *p, const char *sep, double raw, const buf *text, word what) {
    char v[64];
    snprintf(v, sizeof v, "%.10g", raw);
    put(p, sep);
    putf(p, "<b data-value=\"%s\">", v);
    put_escaped(p, text->data);
    put(p, "</b> ");
    put(p, W(p->l, what));
}

/* ---- the page ----------------------------------------------------------------------------- */

static void notes(page *p, const usage_data *d) {
    section(p, "how", W(p->l, W_HOW));
    put(p, "<ul class=\"muted\">\n");
    if (p->l == CHART_FR) {
        put(p, "<li>ami : chaque requête envoyée (celles que le budget a refusées n'ont pas été "
               "envoyées) ; coût indiqué par le fournisseur, ou estimé d'après les prix "
               "(marqué ~).</li>\n"
               "<li>OpenRouter (hors ami) : l'activité quotidienne d'OpenRouter moins les "
               "requêtes d'ami du même jour et du même modèle ; jours UTC.</li>\n"
               "<li>Exports (Open WebUI, ChatGPT, Claude) : un fil par conversation, une "
               "réponse par message de l'assistant ; jetons et coût seulement quand l'export "
               "les donne (+? : une partie est inconnue, ? : rien n'est connu).</li>\n"
               "<li>Les réponses d'Open WebUI d'un modèle que l'activité d'OpenRouter liste le "
               "même mois sont comptées une fois, dans les chiffres d'OpenRouter.</li>\n"
               "<li>Le carbone est un ordre de grandeur estimé d'après les jetons.</li>\n");
    } else {
        put(p, "<li>ami: every request sent (those the budget refused were never sent); the "
               "cost the provider reported, or one estimated from prices (marked ~).</li>\n"
               "<li>OpenRouter (outside ami): OpenRouter's daily activity minus ami's own "
               "requests of the same day and model; UTC days.</li>\n"
               "<li>Exports (Open WebUI, ChatGPT, Claude): a thread per conversation, an answer "
               "per assistant message; tokens and cost only where the export has them (+?: part "
               "is unknown, ?: nothing is known).</li>\n"
               "<li>Open WebUI answers by a model that OpenRouter's activity lists in the same "
               "month are counted once, in OpenRouter's figures.</li>\n"
               "<li>Carbon is an order-of-magnitude estimate from token counts.</li>\n");
    }
    put(p, "</ul>\n</section>\n");
    if (d->n_mismatches == 0)
        return;
    section(p, "mismatches", W(p->l, W_MISMATCH));
    put(p, "<table id=\"mismatches\" class=\"warn\"><tbody>\n");
    for (size_t i = 0; i < d->n_mismatches; i++) {
        const usage_mismatch *m = &d->mismatches[i];
        buf a = {0}, r = {0};
        chart_format_money(p->l, m->ami_usd, &a);
        chart_format_money(p->l, m->openrouter_usd, &r);
        put(p, "<tr><td>");
        put_escaped(p, m->day);
        put(p, " ");
        put_escaped(p, m->model);
        put(p, "</td>");
        char n[64];
        snprintf(n, sizeof n, "ami %lld", m->ami_requests);
        td_num(p, (double)m->ami_requests, n);
        td_num(p, m->ami_usd, a.data ? a.data : "");
        snprintf(n, sizeof n, "OpenRouter %lld", m->openrouter_requests);
        td_num(p, (double)m->openrouter_requests, n);
        td_num(p, m->openrouter_usd, r.data ? r.data : "");
        put(p, "</tr>\n");
        buf_free(&a);
        buf_free(&r);
    }
    put(p, "</tbody></table>\n</section>\n");
}

int usage_report_html(const usage_data *d, const usage_report_opts *o, buf *out) {
    buf_clear(out);
    page P = {out, o->locale, 0};
    page *p = &P;
    chart_locale l = o->locale;
    const char *first = d->months[0].month, *last = d->months[USAGE_MONTHS - 1].month;
    const usage_cell *all = &d->period[USAGE_N_SOURCES];
    char range[64];
    snprintf(range, sizeof range, "%s \xE2\x80\x93 %s", first, last);
    const char *title = o->title ? o->title : W(l, W_TITLE);

    putf(p, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n",
         l == CHART_FR ? "fr" : "en");
    put(p, "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
           "style-src 'unsafe-inline'; img-src data:\">\n"
           "<link rel=\"icon\" href=\"data:,\">\n<title>");
    put_escaped(p, title);
    put(p, ", ");
    put_escaped(p, range);
    put(p, "</title>\n<style>\n");
    put(p, page_css);
    put(p, chart_svg_css());
    put(p, "</style>\n</head>\n<body>\n<main>\n<h1>");
    put_escaped(p, title);
    put(p, "</h1>\n<p class=\"muted\">");
    put_escaped(p, range);
    put(p, "</p>\n");

    /* The summary: the period's totals, counted once (the money as the tables write it). */
    buf fig[5] = {{0}, {0}, {0}, {0}, {0}};
    if (usage_report_money(l, all, &fig[0]) ||
        chart_format_count(l, (double)all->threads, &fig[1]) ||
        chart_format_count(l, (double)all->answers, &fig[2]) ||
        chart_format_tokens(l, (double)all->tokens_in, &fig[3]) ||
        chart_format_tokens(l, (double)all->tokens_out, &fig[4]))
        p->err = CHART_ENOMEM;
    put(p, "<p class=\"summary\" id=\"summary\">");
    put_escaped(p, W(l, W_SUMMARY));
    summary_item(p, ": ", all->cost_usd, &fig[0], W_SPENT);
    summary_item(p, ", ", (double)all->threads, &fig[1], W_THREADS);
    summary_item(p, ", ", (double)all->answers, &fig[2], W_ANSWERS);
    summary_item(p, ", ", (double)all->tokens_in, &fig[3], W_TOKENS_IN);
    summary_item(p, ", ", (double)all->tokens_out, &fig[4], W_TOKENS_OUT);
    put(p, ".</p>\n");
    for (int i = 0; i < 5; i++)
        buf_free(&fig[i]);

    /* The charts. */
    usage_series s;
    char t[160];
    usage_series_spending(d, USAGE_SERIES_MAX, &s);
    snprintf(t, sizeof t, "%s, %s", usage_words(l, USAGE_W_SPENDING),
             usage_words(l, USAGE_W_BY_MODEL));
    section(p, "spending", t);
    svg(p, &s, CHART_MONEY, CHART_STACKED, t);
    put(p, "</section>\n");
    usage_series_threads(d, &s);
    snprintf(t, sizeof t, "%s%s%s", usage_words(l, USAGE_W_THREADS), s.n > 1 ? ", " : "",
             s.n > 1 ? usage_words(l, USAGE_W_BY_SOURCE) : "");
    section(p, "threads", t);
    svg(p, &s, CHART_COUNT, CHART_STACKED, t);
    put(p, "</section>\n");
    usage_series_tokens(d, &s);
    section(p, "tokens", usage_words(l, USAGE_W_TOKENS));
    svg(p, &s, CHART_TOKENS, CHART_STACKED, usage_words(l, USAGE_W_TOKENS));
    put(p, "</section>\n");
    if (o->budget_usd > 0 && isfinite(o->budget_usd)) {
        snprintf(t, sizeof t, "%s (%s, ami)", usage_words(l, USAGE_W_BUDGET), last);
        section(p, "budget", t);
        chart_opts co;
        chart_opts_default(&co);
        co.locale = l;
        co.title = t;
        buf b = {0};
        int rc = chart_gauge_svg(d->months[USAGE_MONTHS - 1].src[USAGE_AMI].cost_usd, o->budget_usd,
                                 &co, &b);
        if (rc)
            p->err = rc;
        else
            put(p, b.data);
        buf_free(&b);
        put(p, "</section>\n");
    }

    /* By month, every source counted once. */
    section(p, "months", W(l, W_BY_MONTH));
    cell_header(p, "by-month", W_MONTH);
    for (int i = USAGE_MONTHS - 1; i >= 0; i--)
        cell_row(p, d->months[i].month, "", &d->months[i].total);
    cell_row(p, W(l, W_TOTAL), " class=\"total\"", all);
    put(p, "</tbody></table>\n</section>\n");

    /* By source, the whole period. */
    section(p, "sources", W(l, W_BY_SOURCE));
    cell_header(p, "by-source", W_SOURCE);
    for (int src = 0; src < USAGE_N_SOURCES; src++) {
        const usage_cell *c = &d->period[src];
        if (src != USAGE_AMI && c->answers <= 0 && c->threads <= 0 && c->cost_usd == 0)
            continue;
        putf(p, "<tr data-source=\"%s\"><td>", usage_source_name((usage_source)src));
        put_escaped(p, usage_source_label((usage_source)src));
        put(p, "</td>");
        td_count(p, c->threads);
        td_count(p, c->answers);
        td_tokens(p, c->tokens_in, c);
        td_tokens(p, c->tokens_out, c);
        td_money(p, c);
        td_carbon(p, c->co2e_g);
        put(p, "</tr>\n");
    }
    cell_row(p, W(l, W_TOTAL), " class=\"total\"", all);
    put(p, "</tbody></table>\n</section>\n");

    /* By model. */
    section(p, "models", W(l, W_BY_MODEL));
    static const word model_cols[] = {W_MODEL,     W_SOURCES,    W_ANSWERS,
                                      W_TOKENS_IN, W_TOKENS_OUT, W_COST};
    table_head(p, "by-model", model_cols, sizeof model_cols / sizeof model_cols[0]);
    for (size_t i = 0; i < d->n_models; i++) {
        const usage_model *m = &d->models[i];
        put(p, "<tr><td>");
        put_escaped(p, m->model);
        put(p, "</td><td>");
        int comma = 0;
        for (int src = 0; src < USAGE_N_SOURCES; src++)
            if (m->sources & (1u << src)) {
                put(p, comma ? ", " : "");
                put_escaped(p, usage_source_label((usage_source)src));
                comma = 1;
            }
        put(p, "</td>");
        td_count(p, m->c.answers);
        td_tokens(p, m->c.tokens_in, &m->c);
        td_tokens(p, m->c.tokens_out, &m->c);
        td_money(p, &m->c);
        put(p, "</tr>\n");
    }
    put(p, "</tbody></table>\n</section>\n");

    /* By document (ami's), file names only. */
    section(p, "documents", W(l, W_BY_DOCUMENT));
    if (d->n_documents == 0) {
        put(p, "<p class=\"muted\">");
        put(p, W(l, W_NO_DOCS));
        put(p, "</p>\n");
    } else {
        static const word doc_cols[] = {W_DOCUMENT,   W_REQUESTS, W_TOKENS_IN,
                                        W_TOKENS_OUT, W_COST,     W_CARBON};
        table_head(p, "by-document", doc_cols, sizeof doc_cols / sizeof doc_cols[0]);
        for (size_t i = 0; i < d->n_documents; i++) {
            const usage_document *doc = &d->documents[i];
            usage_cell c = {0};
            c.answers = doc->requests;
            c.tokens_in = doc->tokens_in;
            c.tokens_out = doc->tokens_out;
            c.cost_usd = doc->cost_usd;
            c.estimated_usd = doc->estimated_usd;
            c.cost_unknown = doc->cost_unknown;
            put(p, "<tr><td>");
            put_escaped(p, basename_of(doc->document));
            put(p, "</td>");
            td_count(p, doc->requests);
            td_tokens(p, doc->tokens_in, &c);
            td_tokens(p, doc->tokens_out, &c);
            td_money(p, &c);
            td_carbon(p, doc->co2e_g);
            put(p, "</tr>\n");
        }
        put(p, "</tbody></table>\n");
    }
    put(p, "</section>\n");

    /* The carbon estimate. */
    section(p, "carbon", W(l, W_CARBON_TITLE));
    put(p, "<table id=\"carbon-table\"><tbody>\n");
    for (int src = 0; src < USAGE_N_SOURCES; src++) {
        if (d->period[src].co2e_g <= 0 && src != USAGE_AMI)
            continue;
        put(p, "<tr><td>");
        put_escaped(p, usage_source_label((usage_source)src));
        put(p, "</td>");
        td_carbon(p, d->period[src].co2e_g);
        put(p, "</tr>\n");
    }
    put(p, "<tr class=\"total\"><td>");
    put(p, W(l, W_TOTAL));
    put(p, "</td>");
    td_carbon(p, all->co2e_g);
    put(p, "</tr>\n</tbody></table>\n<p class=\"muted\">");
    put(p, l == CHART_FR
               ? "Un ordre de grandeur, d'après les jetons (carbon.points) ; les réponses dont "
                 "les jetons sont inconnus n'y sont pas."
               : "An order of magnitude, from token counts (carbon.points); answers whose tokens "
                 "are unknown are not in it.");
    put(p, "</p>\n</section>\n");

    notes(p, d);

    put(p, "<footer><p>");
    put(p, W(l, W_MADE));
    if (o->now > 0) {
        time_t now = (time_t)o->now;
        struct tm tm;
        char day[16];
        if (localtime_r(&now, &tm) && strftime(day, sizeof day, "%Y-%m-%d", &tm))
            putf(p, ", %s", day);
    }
    put(p, ".</p></footer>\n</main>\n</body>\n</html>\n");
    if (P.err)
        buf_clear(out);
    return P.err;
}
