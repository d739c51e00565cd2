/* prompt: the words ami sends.  See include/ami/prompt.h. */
#include "ami/prompt.h"

#include "ami/buf.h"
#include "ami/cost.h"
#include "ami/notes.h"
#include "ami/utf8.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the persona ---------------------------------------------------------------------- */

static const char persona[] =
    "You are the writer's expert friend: an experienced editor and a knowledgeable reader. "
    "The writer wrote the text themselves, in their own words, and shares it with you to get "
    "your opinion, the way one asks a friend to read a draft.\n"
    "\n"
    "How you help:\n"
    "- Comment, ask questions, and point at specific words, phrases or sentences (quote at "
    "most a few words at a time).\n"
    "- Say what is clear and what is not, what a reader could misunderstand, what is missing "
    "or superfluous, and why.\n"
    "- Suggest directions the writer could take, as remarks or questions, not as finished "
    "sentences.\n"
    "- Never rewrite the passage and never give a replacement version of it, even partly: the "
    "writer rewrites it themselves, in their own voice.\n"
    "- Be concise, concrete and honest; no flattery, no filler.";

static const char explain_rules[] =
    "When the writer asks about a name (a project, product, company, tool or person): say in "
    "one or two sentences what it refers to, then where the name comes from: its origin and "
    "etymology, what it alludes to, who chose it and why, when that is known. Tell apart what "
    "you know from what you suppose, and say plainly when you are not sure rather than "
    "inventing an origin. Keep it short: the aim is to help the writer remember the name.";

static const char explore_rules[] =
    "When the writer shares an idea to explore, answer as a well-read friend would: say first "
    "whether it makes sense to you and why, or where it does not; then what it evokes: related "
    "concepts, authors, works, movements or debates, each on one line with why it is related. "
    "Name only authors and works you are sure exist, with the title as it was published; never "
    "invent a title, a quotation, a date or a reference, and say plainly when you are unsure or "
    "only recall something vaguely. A few solid leads are worth more than many vague ones. Do "
    "not write the writer's text for them.";

static const char default_explore_question[] =
    "Does this idea make sense to you? What does it evoke: which concepts, authors or works "
    "does it bring to mind, and why?";

const char *prompt_default_explore_question(void) {
    return default_explore_question;
}

static const char default_question[] =
    "Is this passage clear and explicit? What could a reader misunderstand, and how could its "
    "wording improve? Point at the specific words.";

const char *prompt_default_question(void) {
    return default_question;
}

/* ---- language ------------------------------------------------------------------------- */

typedef struct lang_words {
    const char *name;
    const char *words[24];
} lang_words;

/* Frequent short words that are rare in the other languages listed. */
static const lang_words languages[] = {
    {"French",
     {"le",  "la",   "les", "des", "est", "une", "et",   "pour", "que", "qui",   "dans", "pas",
      "sur", "avec", "je",  "ce",  "du",  "au",  "mais", "ne",   "à",   "cette", "sont", NULL}},
    {"English",
     {"the", "and",  "is",  "of",  "to", "that", "it",    "with", "for", "this", "are",  "was",
      "be",  "have", "not", "you", "on", "they", "which", "but",  "my",  "an",   "what", NULL}},
    {"German",
     {"der",  "die", "und", "das",  "ist", "nicht", "ich",  "mit",  "sich", "auf",  "dem", "ein",
      "eine", "zu",  "den", "auch", "es",  "wie",   "aber", "wird", "sind", "oder", "für", NULL}},
    {"Spanish",
     {"el", "los", "las",  "es",   "y",   "en", "que", "una",  "por", "con", "para", "del",
      "se", "lo",  "como", "pero", "más", "su", "al",  "está", "muy", "sus", "yo",   NULL}},
    {"Italian",
     {"il", "che", "di", "è",     "non",    "una", "per",  "sono", "gli", "della", "con",    "del",
      "si", "mi",  "ma", "anche", "questo", "nel", "alla", "come", "io",  "più",   "essere", NULL}},
    {"Portuguese",
     {"o",   "os",   "que", "não", "uma",  "com", "para", "do", "da",  "em",  "um",   "se",
      "por", "mais", "as",  "dos", "como", "mas", "foi",  "ao", "ele", "das", "você", NULL}},
};

#define N_LANG (sizeof languages / sizeof languages[0])

const char *prompt_detect_language(const char *text, size_t len) {
    if (len > 64 * 1024)
        len = 64 * 1024;
    long score[N_LANG] = {0};
    size_t i = 0;
    while (i < len) {
        /* A word: a run of letters (ASCII or any byte of a multibyte character). */
        while (i < len && !(isalpha((unsigned char)text[i]) || (unsigned char)text[i] >= 0x80))
            i++;
        size_t start = i;
        while (i < len && (isalpha((unsigned char)text[i]) || (unsigned char)text[i] >= 0x80))
            i++;
        size_t wl = i - start;
        if (wl == 0 || wl > 12)
            continue;
        char w[16];
        for (size_t k = 0; k < wl; k++)
            w[k] = (char)tolower((unsigned char)text[start + k]);
        w[wl] = '\0';
        for (size_t l = 0; l < N_LANG; l++)
            for (const char *const *p = languages[l].words; *p; p++)
                if (strcmp(*p, w) == 0)
                    score[l]++;
    }
    size_t best = 0, second = 1;
    if (score[second] > score[best]) {
        best = 1;
        second = 0;
    }
    for (size_t l = 2; l < N_LANG; l++) {
        if (score[l] > score[best]) {
            second = best;
            best = l;
        } else if (score[l] > score[second]) {
            second = l;
        }
    }
    /* Sure enough: a few hits, and clearly ahead of the runner-up. */
    if (score[best] >= 4 && score[best] * 2 >= score[second] * 3)
        return languages[best].name;
    return NULL;
}

/* ---- lines ---------------------------------------------------------------------------- */

long prompt_count_lines(const char *text, size_t len) {
    if (len == 0)
        return 0;
    long n = 0;
    for (const char *p = text; (p = memchr(p, '\n', len - (size_t)(p - text))) != NULL; p++)
        n++;
    if (text[len - 1] != '\n')
        n++;
    return n;
}

/* Byte offsets of the start of each line (index 0 = line 1), plus one past the end. */
static size_t *line_starts(const char *text, size_t len, long *nlines) {
    long n = prompt_count_lines(text, len);
    size_t *starts = malloc(((size_t)n + 2) * sizeof *starts);
    if (!starts)
        return NULL;
    long k = 0;
    starts[k++] = 0;
    for (size_t i = 0; i < len; i++)
        if (text[i] == '\n' && i + 1 < len)
            starts[k++] = i + 1;
    starts[k] = len;
    *nlines = n;
    return starts;
}

static int is_heading(const char *line, size_t len, const char *next, size_t next_len) {
    if (len > 0 && line[0] == '#')
        return 1; /* Markdown ATX */
    if (len > 1 && line[0] == '*' && line[1] == ' ')
        return 1; /* Org-mode */
    if (next && next_len >= 3) {
        size_t k = 0;
        while (k < next_len && (next[k] == '=' || next[k] == '-'))
            k++;
        while (k < next_len && (next[k] == ' ' || next[k] == '\r'))
            k++;
        if (k == next_len && len > 0 && (next[0] == '=' || next[0] == '-'))
            return 1; /* Markdown setext */
    }
    return 0;
}

/* ---- context shortening --------------------------------------------------------------- */

/* Appends the document, shortened to about budget tokens when it does not fit: keeps the
 * passage [ps, pe] (0 = none), the lines around it and the headings.  Returns 1 when it had
 * to shorten. */
static int append_document(buf *b, const char *doc, size_t len, long ps, long pe, long budget) {
    if (budget <= 0 || cost_estimate_tokens(doc, len) <= budget) {
        buf_append(b, doc, len);
        return 0;
    }
    long n;
    size_t *st = line_starts(doc, len, &n);
    if (!st) {
        buf_append(b, doc, len);
        return 0;
    }
    char *keep = calloc((size_t)n + 1, 1);
    if (!keep) {
        free(st);
        buf_append(b, doc, len);
        return 0;
    }
#define LINE_LEN(i) (st[(i)] - st[(i)-1])
    long used = 0;
    /* Headings first: they give the document's shape for a few tokens. */
    for (long i = 1; i <= n; i++) {
        const char *next = i < n ? doc + st[i] : NULL;
        size_t next_len = i < n ? st[i + 1] - st[i] - (doc[st[i + 1] - 1] == '\n') : 0;
        size_t l = LINE_LEN(i) - (doc[st[i] - 1] == '\n');
        if (is_heading(doc + st[i - 1], l, next, next_len)) {
            long t = cost_estimate_tokens(doc + st[i - 1], LINE_LEN(i));
            if (used + t > budget / 4)
                break;
            keep[i] = 1;
            used += t;
        }
    }
    /* The passage, whatever it costs, then the lines around it, alternately before and
     * after, while the budget lasts.  Without a passage: the beginning of the document. */
    long lo = ps > 0 ? ps : 1, hi = ps > 0 ? (pe < n ? pe : n) : 0;
    for (long i = lo; i <= hi; i++) {
        if (!keep[i])
            used += cost_estimate_tokens(doc + st[i - 1], LINE_LEN(i));
        keep[i] = 1;
    }
    /* keep[i]: 0 dropped, 1 kept whole, 2 kept in part (cut_from/cut_len).  A line next to
     * the window that is longer than what is left stops its side; once neither side can grow,
     * such lines share what is left of the budget, cut on a UTF-8 boundary. */
    size_t cut_from[2] = {0, 0}, cut_len[2] = {0, 0};
    long cut_line[2] = {0, 0};
    int open_side[2] = {1, 1};
    long before = lo - 1, after = hi + 1;
    while (open_side[0] || open_side[1]) {
        for (int side = 0; side < 2; side++) {
            long i = side == 0 ? after : before;
            if (!open_side[side])
                continue;
            if (i < 1 || i > n) {
                open_side[side] = 0;
                continue;
            }
            long t = keep[i] ? 0 : cost_estimate_tokens(doc + st[i - 1], LINE_LEN(i));
            if (used + t > budget) {
                cut_line[side] = i; /* cut later, if anything is left */
                open_side[side] = 0;
                continue;
            }
            used += t;
            keep[i] = 1;
            if (side == 0)
                after++;
            else
                before--;
        }
    }
    int pending = (cut_line[0] > 0) + (cut_line[1] > 0);
    long left = budget - used;
    for (int side = 0; side < 2 && pending && left > 0; side++) {
        long i = cut_line[side];
        if (i <= 0 || keep[i])
            continue;
        /* About 3 bytes a token: a little under the estimator's rate, so it fits. */
        size_t room = (size_t)(left / pending) * 3;
        size_t line_len = LINE_LEN(i);
        if (room > line_len)
            room = line_len;
        const char *from = side == 0 ? doc + st[i - 1] : doc + st[i - 1] + line_len - room;
        size_t take = utf8_cut(from, room, room);
        if (side == 1) {
            /* Keep the end of the line: skip continuation bytes at the front. */
            while (take > 0 && ((unsigned char)*from & 0xc0) == 0x80) {
                from++;
                take--;
            }
        }
        if (take > 0) {
            keep[i] = 2;
            cut_from[side] = (size_t)(from - doc);
            cut_len[side] = take;
        }
    }
    for (long i = 1; i <= n;) {
        if (keep[i] == 1) {
            buf_append(b, doc + st[i - 1], LINE_LEN(i));
            i++;
            continue;
        }
        if (keep[i] == 2) {
            int side = cut_line[0] == i && cut_len[0] ? 0 : 1;
            if (b->len && b->data[b->len - 1] != '\n')
                buf_append_byte(b, '\n');
            if (side == 1)
                buf_printf(b, "[… line %ld cut …] ", i);
            buf_append(b, doc + cut_from[side], cut_len[side]);
            if (side == 0)
                buf_printf(b, " [… line %ld cut …]", i);
            buf_append_byte(b, '\n');
            i++;
            continue;
        }
        long j = i;
        while (j + 1 <= n && !keep[j + 1])
            j++;
        if (b->len && b->data[b->len - 1] != '\n')
            buf_append_byte(b, '\n');
        if (i == j)
            buf_printf(b, "[… line %ld omitted …]\n", i);
        else
            buf_printf(b, "[… lines %ld–%ld omitted …]\n", i, j);
        i = j + 1;
    }
#undef LINE_LEN
    free(keep);
    free(st);
    return 1;
}

/* ---- messages --------------------------------------------------------------------------- */

static void trim_newline_end(buf *b) {
    while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == '\r'))
        b->len--;
    if (b->data)
        b->data[b->len] = '\0';
}

/* The text of lines [ps, pe] of doc. */
static void append_lines(buf *b, const char *doc, size_t len, long ps, long pe) {
    long line = 1;
    size_t i = 0, start = (size_t)-1;
    while (i < len && line < ps) {
        if (doc[i] == '\n')
            line++;
        i++;
    }
    start = i;
    while (i < len && line <= pe) {
        if (doc[i] == '\n')
            line++;
        i++;
    }
    buf_append(b, doc + start, i - start);
    trim_newline_end(b);
}

typedef struct build {
    buf user;
    const prompt_turn *last_turn;
    const prompt_options *opt;
    long budget; /* tokens available for one document; <= 0: unlimited */
    int shortened;
    const char *last_doc; /* the document last included in the thread */
    size_t last_doc_len;
} build;

static int same_doc(const build *bd, const prompt_turn *t) {
    return bd->last_doc && t->document && bd->last_doc_len == t->document_len &&
           memcmp(bd->last_doc, t->document, t->document_len) == 0;
}

#define DISMISSED_MAX 50

/* The remarks the writer set aside, so the friend does not repeat itself. */
static void append_dismissed(buf *b, const prompt_dismissed *d, size_t n) {
    buf_append_str(b, "\n\nI have already seen and set aside these remarks of an earlier reading; "
                      "do not make them again:");
    size_t from = n > DISMISSED_MAX ? n - DISMISSED_MAX : 0; /* the newest ones */
    for (size_t i = from; i < n; i++) {
        buf_append_str(b, "\n- ");
        if (d[i].kind && *d[i].kind)
            buf_printf(b, "(%s) ", d[i].kind);
        buf_append_str(b, "on \"");
        for (const char *q = d[i].quote ? d[i].quote : ""; *q; q++)
            buf_append_byte(b, *q == '\n' ? ' ' : *q);
        buf_append_str(b, "\"");
        if (d[i].comment && *d[i].comment) {
            buf_append_str(b, ": ");
            size_t len = strlen(d[i].comment);
            size_t cut = utf8_cut(d[i].comment, len, 300);
            for (size_t k = 0; k < cut; k++)
                buf_append_byte(b, d[i].comment[k] == '\n' ? ' ' : d[i].comment[k]);
            if (cut < len)
                buf_append_str(b, "…");
        }
    }
}

static int render_turn(build *bd, const prompt_turn *t, long nlines, char *err, size_t errlen) {
    buf *b = &bd->user;
    switch (t->kind) {
    case PROMPT_CRITIQUE: {
        const char *name = t->path && *t->path ? t->path : "untitled";
        if (same_doc(bd, t)) {
            buf_printf(b, "My document (\"%s\") is unchanged since I last sent it.\n\n", name);
        } else {
            buf_printf(b,
                       "Here is my whole document, for context (\"%s\", %ld line%s):\n\n"
                       "<document>\n",
                       name, nlines, nlines == 1 ? "" : "s");
            bd->shortened |= append_document(b, t->document, t->document_len, t->line_start,
                                             t->line_end, bd->budget);
            trim_newline_end(b);
            buf_append_str(b, "\n</document>\n\n");
            bd->last_doc = t->document;
            bd->last_doc_len = t->document_len;
        }
        /* A range that runs past the last line is the passage up to the last line: the label
         * must name the lines that were sent, not the ones that were asked for. */
        long end = t->line_end < nlines ? t->line_end : nlines;
        if (t->line_start == end)
            buf_printf(b, "I am asking about this passage (line %ld):\n\n", t->line_start);
        else
            buf_printf(b, "I am asking about this passage (lines %ld–%ld):\n\n", t->line_start,
                       end);
        buf_append_str(b, "<passage>\n");
        append_lines(b, t->document, t->document_len, t->line_start, t->line_end);
        buf_append_str(b, "\n</passage>\n\n");
        buf_printf(b, "My question: %s",
                   t->question && *t->question ? t->question : default_question);
        if (t == bd->last_turn && bd->opt->n_dismissed)
            append_dismissed(b, bd->opt->dismissed, bd->opt->n_dismissed);
        return 0;
    }
    case PROMPT_EXPLORE:
        buf_append_str(b, "Here is an idea I am exploring, in my own words:\n\n<idea>\n");
        bd->shortened |= append_document(b, t->document, t->document_len, 0, 0, bd->budget);
        trim_newline_end(b);
        buf_printf(b, "\n</idea>\n\nMy question: %s",
                   t->question && *t->question ? t->question : default_explore_question);
        return 0;
    case PROMPT_EXPLAIN:
        buf_printf(b, "What does the name \"%s\" refer to, and where does it come from?", t->name);
        if (t->document && t->document_len) {
            buf_append_str(b, "\n\nI came across it here:\n\n<context>\n");
            bd->shortened |= append_document(b, t->document, t->document_len, 0, 0, bd->budget);
            trim_newline_end(b);
            buf_append_str(b, "\n</context>");
        }
        return 0;
    case PROMPT_ASK:
        if (t->document && t->document_len) {
            buf_append_str(b, "<context>\n");
            bd->shortened |= append_document(b, t->document, t->document_len, 0, 0, bd->budget);
            trim_newline_end(b);
            buf_append_str(b, "\n</context>\n\n");
        }
        if (t->note_quote && *t->note_quote) {
            /* :AmiReply: a question about one of the remarks. */
            int k = t->note_kind && *t->note_kind;
            buf_printf(b, "About your remark%s%s%s on these words of my document:\n> ",
                       k ? " (" : "", k ? t->note_kind : "", k ? ")" : "");
            for (const char *q = t->note_quote; *q; q++) {
                buf_append_byte(b, *q);
                if (*q == '\n' && q[1])
                    buf_append_str(b, "> ");
            }
            buf_append_str(b, "\n\nYou wrote: ");
            buf_append_str(b, t->note_comment && *t->note_comment ? t->note_comment
                                                                  : "(your comment was cut off)");
            buf_append_str(b, "\n\nMy question: ");
        }
        buf_append_str(b, t->question);
        return 0;
    }
    snprintf(err, errlen, "unknown kind of question");
    return -1;
}

/* 1 when text holds nothing but spaces, tabs and line breaks (or nothing at all). */
static int blank(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (!isspace((unsigned char)text[i]))
            return 0;
    return 1;
}

static int check_turn(const prompt_turn *t, long *nlines, char *err, size_t errlen) {
    *nlines = 0;
    switch (t->kind) {
    case PROMPT_CRITIQUE:
        if (!t->document || blank(t->document, t->document_len)) {
            /* Only spaces and line breaks: the model would get an empty passage. */
            snprintf(err, errlen, "the document is empty: there is nothing to critique");
            return -1;
        }
        *nlines = prompt_count_lines(t->document, t->document_len);
        if (t->line_start < 1 || t->line_end < t->line_start) {
            snprintf(err, errlen, "the passage must be a range of lines A-B with 1 <= A <= B");
            return -1;
        }
        if (t->line_start > *nlines) {
            char range[64];
            if (t->line_start == t->line_end)
                snprintf(range, sizeof range, "line %ld", t->line_start);
            else
                snprintf(range, sizeof range, "lines %ld-%ld", t->line_start, t->line_end);
            snprintf(err, errlen, "the passage (%s) is past the end of the document (%ld line%s)",
                     range, *nlines, *nlines == 1 ? "" : "s");
            return -1;
        }
        return 0;
    case PROMPT_EXPLORE:
        if (!t->document || blank(t->document, t->document_len)) {
            snprintf(err, errlen,
                     "there is no idea to explore: select it, or put the cursor in "
                     "its paragraph");
            return -1;
        }
        return 0;
    case PROMPT_EXPLAIN:
        if (!t->name || !*t->name) {
            snprintf(err, errlen, "no name to explain");
            return -1;
        }
        return 0;
    case PROMPT_ASK:
        if (!t->question || !*t->question) {
            snprintf(err, errlen, "no question to ask");
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "unknown kind of question");
    return -1;
}

static int push_message(prompt_result *out, const char *role, buf *content) {
    chat_message *m = realloc(out->messages, (out->n_messages + 1) * sizeof *m);
    if (!m)
        return -1;
    out->messages = m;
    m[out->n_messages].role = role;
    m[out->n_messages].content_len = content->len;
    m[out->n_messages].content = buf_steal(content);
    if (!m[out->n_messages].content)
        return -1;
    out->n_messages++;
    return 0;
}

int prompt_build(const prompt_turn *turns, size_t n, const prompt_options *opt, prompt_result *out,
                 char *err, size_t errlen) {
    memset(out, 0, sizeof *out);
    if (n == 0) {
        snprintf(err, errlen, "nothing to ask");
        return -1;
    }
    build bd;
    memset(&bd, 0, sizeof bd);
    bd.opt = opt;
    if (opt->context_tokens > 0) {
        /* Leave room for the answer, the system prompt and the framing. */
        long reserve = (opt->max_tokens > 0 ? opt->max_tokens : 2048) + 800;
        bd.budget = opt->context_tokens - reserve;
        if (bd.budget < opt->context_tokens / 4)
            bd.budget = opt->context_tokens / 4;
    }

    /* The language: as configured, else the one of the newest document in the thread. */
    const char *lang = NULL;
    if (opt->language && *opt->language && strcmp(opt->language, "auto") != 0)
        lang = opt->language;
    for (size_t i = n; !lang && i > 0; i--) {
        /* The question and the document together: either alone may be too short to tell. */
        const prompt_turn *t = &turns[i - 1];
        buf sample = {0};
        if (t->question)
            buf_printf(&sample, "%s\n", t->question);
        if (t->document)
            buf_append(&sample, t->document, t->document_len < 65536 ? t->document_len : 65536);
        if (sample.len)
            lang = prompt_detect_language(sample.data, sample.len);
        buf_free(&sample);
    }
    buf sys = {0};
    if (opt->system && *opt->system) {
        buf_append_str(&sys, opt->system);
    } else {
        buf_append_str(&sys, persona);
        int any_explain = 0, any_explore = 0;
        for (size_t i = 0; i < n; i++) {
            any_explain |= turns[i].kind == PROMPT_EXPLAIN;
            any_explore |= turns[i].kind == PROMPT_EXPLORE;
        }
        if (any_explain)
            buf_printf(&sys, "\n\n%s", explain_rules);
        if (any_explore)
            buf_printf(&sys, "\n\n%s", explore_rules);
        if (opt->notes && turns[n - 1].kind == PROMPT_CRITIQUE)
            buf_printf(&sys, "\n\n%s", notes_prompt_rules());
        if (lang)
            buf_printf(&sys, "\n\nAnswer in %s.", lang);
        else
            buf_append_str(&sys, "\n\nAnswer in the language the writer uses.");
    }

    bd.last_turn = &turns[n - 1];
    for (size_t i = 0; i < n; i++) {
        long nlines;
        if (check_turn(&turns[i], &nlines, err, errlen) != 0)
            goto fail;
        if (render_turn(&bd, &turns[i], nlines, err, errlen) != 0)
            goto fail;
        if (push_message(out, "user", &bd.user) != 0)
            goto oom;
        if (i + 1 < n) {
            buf a = {0};
            const char *ans = turns[i].answer && *turns[i].answer
                                  ? turns[i].answer
                                  : "(no answer: it was interrupted before any text arrived)";
            buf_append_str(&a, ans);
            if (push_message(out, "assistant", &a) != 0)
                goto oom;
        }
    }
    out->system = buf_steal(&sys);
    if (!out->system)
        goto oom;
    out->language = lang ? strdup(lang) : NULL;
    long total = cost_estimate_tokens(out->system, strlen(out->system));
    for (size_t i = 0; i < out->n_messages; i++)
        total += cost_estimate_tokens(out->messages[i].content, out->messages[i].content_len) + 4;
    out->prompt_tokens = total;
    if (bd.shortened) {
        buf note = {0};
        buf_printf(&note,
                   "The document is larger than the model's context (%ld tokens), so ami sent "
                   "its headings and the text around the passage (about %ld tokens).",
                   opt->context_tokens, total);
        out->note = buf_steal(&note);
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    buf_free(&sys);
    buf_free(&bd.user);
    prompt_result_free(out);
    return -1;
}

void prompt_result_free(prompt_result *r) {
    free(r->system);
    for (size_t i = 0; i < r->n_messages; i++)
        free((char *)r->messages[i].content);
    free(r->messages);
    free(r->language);
    free(r->note);
    memset(r, 0, sizeof *r);
}
