/* notes: cut a critique answer into notes while it streams.  See include/ami/notes.h.
 *
 * Two machines.  Lines: bytes are gathered into the current line (at most NOTES_LINE_MAX
 * kept, the rest counted) until an LF; a line that lies whole in one feed is read in place.
 * Sections, run once per complete line (and, while a quote is open, on the first bytes of a
 * line still coming, so that the quote ends as soon as they show the line is not a `>` line):
 *
 *                note heading                       `>` line         not `>`
 *   ┌─────────┐ ─────────────► ┌──────┐ ──────────────────► ┌───────┐ ──────► QUOTE event
 *   │ GENERAL │                │ HEAD │                     │ QUOTE │           │
 *   └─────────┘ ◄───┐          └──────┘ ── quoted string ──────────────────────►│
 *        ▲          │             │        alone: QUOTE event                   ▼
 *        │          │             │ other line                ┌─────────┐ ◄─ readable
 *        │          │             ▼                           │ COMMENT │
 *        │          │          ┌──────┐ ◄── unreadable ─────── └─────────┘
 *        │          └───────── │ BODY │    (empty, too long)       │
 *        │   break / other     └──────┘                            │
 *        │   heading: GENERAL                                      │
 *        │   event (FROM_NOTE)                                     │
 *        └──────────────── break / other heading: NOTE event ──────┘
 *   COMMENT, BODY, HEAD ── note heading ──► (their event) HEAD
 *
 *   state     line                          action → next state
 *   GENERAL   note heading                  GENERAL event if not blank → HEAD (with a quote in
 *                                           the heading: QUOTE event → COMMENT)
 *             thematic break                GENERAL event if not blank → GENERAL after it
 *             anything else                 kept in the text
 *   HEAD      blank                         skipped
 *             `>` line                      the quote starts → QUOTE
 *             a quoted string alone         QUOTE event → COMMENT
 *             anything else                 → BODY, where the line is read
 *   QUOTE     `>` line                      joined to the quote
 *             anything else                 QUOTE event → COMMENT, or → BODY when the quote
 *                                           is unreadable; the line is read there
 *   COMMENT   note heading                  NOTE event → HEAD
 *             other heading                 NOTE event → GENERAL, which starts with the line
 *             thematic break                NOTE event → GENERAL after it
 *             anything else                 kept in the comment
 *   BODY      as COMMENT, but the event is GENERAL with NOTES_F_FROM_NOTE
 *   any       the (NOTES_MAX_NOTES + 1)th   OVER_CAP event → OVER: lines are only counted
 *             note heading
 *   any       finish                        the last line is read, the open section's event
 *                                           → DONE
 *   Inside a code fence (GENERAL, COMMENT, BODY), every line is text until the fence closes.
 *
 * Memory: the current line, the current section's text and quote, the heading's kind and
 * title, all capped (see notes.h), and cleared, not freed, between sections.
 */
#include "ami/notes.h"

#include "ami/buf.h"
#include "ami/utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { S_GENERAL, S_HEAD, S_QUOTE, S_COMMENT, S_BODY, S_OVER };

/* A heading label is read from at most this many bytes of its line. */
#define LABEL_MAX ((size_t)4096)

struct notes_parser {
    notes_event_fn cb;
    void *ud;
    int status; /* NOTES_OK or the final code */
    int in_cb;
    int done;

    /* the current line */
    buf line;          /* its first bytes (NOTES_LINE_MAX + 3 at most) */
    size_t line_start; /* its offset in the answer */
    size_t line_seen;  /* its bytes so far (may pass NOTES_LINE_MAX) */
    size_t pos;        /* bytes fed */

    /* the current section */
    int state;
    size_t sec_start;
    int fence;        /* inside a code fence */
    char fence_ch;    /* ` or ~ */
    size_t fence_len; /* its length */
    buf text;         /* comment, general text, or a note's body */
    int text_cut;     /* text reached NOTES_TEXT_MAX */
    int sec_cut;      /* a line of the section passed NOTES_LINE_MAX */
    buf quote;        /* the quote's lines joined */
    int quote_long;   /* it passed NOTES_QUOTE_MAX */
    size_t quote_start, quote_end;
    unsigned qflags;
    notes_kind kind;
    buf kind_text;
    buf title;
    int title_cut;
    size_t seq; /* the current note's seq (COMMENT) */

    buf scratch; /* a heading's label */

    size_t notes, general, headings, dropped, truncated;
};

/* ---- small text helpers ---------------------------------------------------------------- */

static int is_ws(unsigned char c) {
    return c == ' ' || c == '\t';
}

/* Length of NBSP (C2 A0) or NNBSP (E2 80 AF) or a thin/other space at s, else 0. */
static size_t uspace(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    if (n >= 2 && u[0] == 0xC2 && u[1] == 0xA0)
        return 2;
    if (n >= 3 && u[0] == 0xE2 && u[1] == 0x80 && (u[2] == 0xAF || (u[2] >= 0x80 && u[2] <= 0x8A)))
        return 3;
    return 0;
}

/* Skips spaces, tabs, NBSP, NNBSP; with emph, also * and _. */
static size_t skip_space(const char *s, size_t n, size_t i, int emph) {
    while (i < n) {
        if (is_ws((unsigned char)s[i]) || (emph && (s[i] == '*' || s[i] == '_'))) {
            i++;
            continue;
        }
        size_t k = uspace(s + i, n - i);
        if (!k)
            break;
        i += k;
    }
    return i;
}

/* Trims spaces (and NBSP/NNBSP, and with emph * _) at both ends of s[*a, *b). */
static void trim(const char *s, size_t *a, size_t *b, int emph) {
    *a = skip_space(s, *b, *a, emph);
    while (*b > *a) {
        unsigned char c = (unsigned char)s[*b - 1];
        if (is_ws(c) || (emph && (c == '*' || c == '_'))) {
            (*b)--;
            continue;
        }
        if (*b - *a >= 2 && c == 0xA0 && (unsigned char)s[*b - 2] == 0xC2) {
            *b -= 2;
            continue;
        }
        if (*b - *a >= 3 && (unsigned char)s[*b - 3] == 0xE2 && (unsigned char)s[*b - 2] == 0x80 &&
            (c == 0xAF || (c >= 0x80 && c <= 0x8A))) {
            *b -= 3;
            continue;
        }
        break;
    }
}

/* Leading spaces (0..4: 4 means "too many"). */
static size_t indent(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && i < 4 && s[i] == ' ')
        i++;
    return i;
}

static int blank(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!is_ws((unsigned char)s[i]) && s[i] != '\r')
            return 0;
    return 1;
}

/* A code point at s (ill-formed bytes: one byte, cp 0xFFFD). */
static size_t decode(const char *str, size_t n, uint32_t *cp) {
    const unsigned char *s = (const unsigned char *)str;
    unsigned c = s[0];
    *cp = 0xFFFD;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (!len || len > n || !utf8_valid(str, len))
        return 1;
    if (len == 2)
        *cp = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
    else if (len == 3)
        *cp = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    else
        *cp = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
              ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    return len;
}

/* The code point that ends at s[n] (n > 0). */
static size_t decode_back(const char *s, size_t n, uint32_t *cp) {
    for (size_t k = 1; k <= 4 && k <= n; k++) {
        if (((unsigned char)s[n - k] & 0xC0) != 0x80) {
            if (decode(s + n - k, k, cp) == k)
                return k;
            break;
        }
    }
    *cp = 0xFFFD;
    return 1;
}

static int is_letter(uint32_t cp) {
    return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
           (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7);
}

/* Folds s[0..n) into out (room for cap bytes): lower case; with plain, accents removed too
 * (é → e, ç → c, œ → oe, ß → ss); runs of spaces (NBSP, NNBSP too) become one.  Returns the
 * length, or cap + 1 when it does not fit. */
static size_t fold(const char *s, size_t n, char *out, size_t cap, int plain) {
    static const char base[65] = "aaaaaaaceeeeiiiidnooooo*ouuuuyts"  /* C0..DF (lower) */
                                 "aaaaaaaceeeeiiiidnooooo/ouuuuyty"; /* E0..FF */
    size_t o = 0, i = 0;
    int space = 0;
    while (i < n) {
        size_t k = uspace(s + i, n - i);
        if (k || is_ws((unsigned char)s[i])) {
            i += k ? k : 1;
            space = o > 0;
            continue;
        }
        uint32_t cp;
        k = decode(s + i, n - i, &cp);
        char tmp[4];
        size_t tn = 0;
        if (cp < 0x80) {
            tmp[tn++] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
        } else if (cp >= 0xC0 && cp <= 0xFF && cp != 0xD7 && cp != 0xF7) {
            uint32_t lo = cp <= 0xDE ? cp + 0x20 : cp;
            if (plain && lo == 0xDF) {
                tmp[tn++] = 's';
                tmp[tn++] = 's';
            } else if (plain && lo == 0xE6) {
                tmp[tn++] = 'a';
                tmp[tn++] = 'e';
            } else if (plain) {
                tmp[tn++] = base[lo - 0xC0];
            } else {
                tmp[tn++] = (char)(0xC0 | (lo >> 6));
                tmp[tn++] = (char)(0x80 | (lo & 0x3F));
            }
        } else if (plain && (cp == 0x152 || cp == 0x153)) {
            tmp[tn++] = 'o';
            tmp[tn++] = 'e';
        } else {
            memcpy(tmp, s + i, k);
            tn = k;
        }
        if (space) {
            if (o >= cap)
                return cap + 1;
            out[o++] = ' ';
            space = 0;
        }
        if (o + tn > cap)
            return cap + 1;
        memcpy(out + o, tmp, tn);
        o += tn;
        i += k;
    }
    return o;
}

/* ---- kinds and note words --------------------------------------------------------------- */

typedef struct kind_word {
    const char *word; /* folded plain: lower case, no accents */
    notes_kind kind;
} kind_word;

static const kind_word kind_words[] = {
    {"clarity", NOTES_KIND_CLARITY},
    {"clarte", NOTES_KIND_CLARITY},
    {"clearness", NOTES_KIND_CLARITY},
    {"lisibilite", NOTES_KIND_CLARITY},
    {"klarheit", NOTES_KIND_CLARITY},
    {"verstandlichkeit", NOTES_KIND_CLARITY},
    {"claridad", NOTES_KIND_CLARITY},
    {"chiarezza", NOTES_KIND_CLARITY},
    {"clareza", NOTES_KIND_CLARITY},
    {"ambiguity", NOTES_KIND_AMBIGUITY},
    {"ambiguite", NOTES_KIND_AMBIGUITY},
    {"ambigu", NOTES_KIND_AMBIGUITY},
    {"ambiguous", NOTES_KIND_AMBIGUITY},
    {"equivoque", NOTES_KIND_AMBIGUITY},
    {"mehrdeutigkeit", NOTES_KIND_AMBIGUITY},
    {"ambiguitat", NOTES_KIND_AMBIGUITY},
    {"ambiguedad", NOTES_KIND_AMBIGUITY},
    {"ambiguita", NOTES_KIND_AMBIGUITY},
    {"ambiguidade", NOTES_KIND_AMBIGUITY},
    {"question", NOTES_KIND_QUESTION},
    {"questions", NOTES_KIND_QUESTION},
    {"interrogation", NOTES_KIND_QUESTION},
    {"frage", NOTES_KIND_QUESTION},
    {"pregunta", NOTES_KIND_QUESTION},
    {"domanda", NOTES_KIND_QUESTION},
    {"pergunta", NOTES_KIND_QUESTION},
    {"questao", NOTES_KIND_QUESTION},
    {"argument", NOTES_KIND_ARGUMENT},
    {"argumentation", NOTES_KIND_ARGUMENT},
    {"raisonnement", NOTES_KIND_ARGUMENT},
    {"logique", NOTES_KIND_ARGUMENT},
    {"logic", NOTES_KIND_ARGUMENT},
    {"reasoning", NOTES_KIND_ARGUMENT},
    {"argumentacion", NOTES_KIND_ARGUMENT},
    {"argumento", NOTES_KIND_ARGUMENT},
    {"argomentazione", NOTES_KIND_ARGUMENT},
    {"argomento", NOTES_KIND_ARGUMENT},
    {"argumentacao", NOTES_KIND_ARGUMENT},
    {"structure", NOTES_KIND_STRUCTURE},
    {"struktur", NOTES_KIND_STRUCTURE},
    {"aufbau", NOTES_KIND_STRUCTURE},
    {"estructura", NOTES_KIND_STRUCTURE},
    {"struttura", NOTES_KIND_STRUCTURE},
    {"estrutura", NOTES_KIND_STRUCTURE},
    {"organisation", NOTES_KIND_STRUCTURE},
    {"organization", NOTES_KIND_STRUCTURE},
    {"composition", NOTES_KIND_STRUCTURE},
    {"style", NOTES_KIND_STYLE},
    {"stil", NOTES_KIND_STYLE},
    {"estilo", NOTES_KIND_STYLE},
    {"stile", NOTES_KIND_STYLE},
    {"ton", NOTES_KIND_STYLE},
    {"tone", NOTES_KIND_STYLE},
    {"praise", NOTES_KIND_PRAISE},
    {"eloge", NOTES_KIND_PRAISE},
    {"eloges", NOTES_KIND_PRAISE},
    {"point fort", NOTES_KIND_PRAISE},
    {"points forts", NOTES_KIND_PRAISE},
    {"force", NOTES_KIND_PRAISE},
    {"compliment", NOTES_KIND_PRAISE},
    {"strength", NOTES_KIND_PRAISE},
    {"strengths", NOTES_KIND_PRAISE},
    {"lob", NOTES_KIND_PRAISE},
    {"starke", NOTES_KIND_PRAISE},
    {"elogio", NOTES_KIND_PRAISE},
    {"punto fuerte", NOTES_KIND_PRAISE},
    {"punto di forza", NOTES_KIND_PRAISE},
    {"ponto forte", NOTES_KIND_PRAISE},
};

/* Note words, folded with case only (accents kept, so "Noté" is not "Note"). */
static const char *const note_words[] = {
    "note",      "remarque",    "commentaire", "nota",        "anmerkung",  "bemerkung",
    "kommentar", "hinweis",     "observación", "observacion", "comentario", "osservazione",
    "commento",  "observation", "remark",      "comment",     "opmerking",  "observação",
};

notes_kind notes_kind_parse(const char *word, size_t len) {
    if (!word)
        return NOTES_KIND_NONE;
    size_t a = 0, b = len;
    for (int round = 0; round < 3; round++) {
        trim(word, &a, &b, 1);
        while (b > a && (word[b - 1] == ':' || word[b - 1] == '.' || word[b - 1] == ','))
            b--;
        if (b - a >= 2 &&
            ((word[a] == '(' && word[b - 1] == ')') || (word[a] == '[' && word[b - 1] == ']'))) {
            a++;
            b--;
        }
    }
    char f[NOTES_KIND_TEXT_MAX + 1];
    size_t n = fold(word + a, b - a, f, NOTES_KIND_TEXT_MAX, 1);
    if (n == 0 || n > NOTES_KIND_TEXT_MAX)
        return NOTES_KIND_NONE;
    for (size_t i = 0; i < sizeof kind_words / sizeof *kind_words; i++)
        if (strlen(kind_words[i].word) == n && memcmp(kind_words[i].word, f, n) == 0)
            return kind_words[i].kind;
    return NOTES_KIND_NONE;
}

const char *notes_kind_name(notes_kind k) {
    switch (k) {
    case NOTES_KIND_CLARITY:
        return "clarity";
    case NOTES_KIND_AMBIGUITY:
        return "ambiguity";
    case NOTES_KIND_QUESTION:
        return "question";
    case NOTES_KIND_ARGUMENT:
        return "argument";
    case NOTES_KIND_STRUCTURE:
        return "structure";
    case NOTES_KIND_STYLE:
        return "style";
    case NOTES_KIND_PRAISE:
        return "praise";
    default:
        return "note";
    }
}

/* Length of the note word that starts s (0 when none): a word of letters, folded, in the
 * list. */
static size_t note_word(const char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        size_t k = decode(s + i, n - i, &cp);
        if (!is_letter(cp))
            break;
        i += k;
    }
    if (i == 0 || i > 32)
        return 0;
    char f[40];
    size_t fn = fold(s, i, f, 32, 0);
    if (fn > 32)
        return 0;
    for (size_t w = 0; w < sizeof note_words / sizeof *note_words; w++)
        if (strlen(note_words[w]) == fn && memcmp(note_words[w], f, fn) == 0)
            return i;
    return 0;
}

/* ---- quotation marks --------------------------------------------------------------------- */

typedef struct qpair {
    uint32_t open, close;
} qpair;

static const qpair qpairs[] = {
    {'"', '"'},       {0x201C, 0x201D}, {0x201D, 0x201D}, {0x201E, 0x201C}, {0x201E, 0x201D},
    {0xAB, 0xBB},     {0xBB, 0xAB},     {0x2018, 0x2019}, {'\'', '\''},     {0x2039, 0x203A},
    {0x201A, 0x2018}, {0x201A, 0x2019}, {0x2019, 0x2019},
};

static int has_cp(const char *s, size_t n, uint32_t want) {
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        i += decode(s + i, n - i, &cp);
        if (cp == want)
            return 1;
    }
    return 0;
}

/* Removes one pair of emphasis markers (1 to 3 * or _) around s[*a, *b), if there is one. */
static int unwrap_emphasis(const char *s, size_t *a, size_t *b) {
    size_t k = 0;
    char c = s[*a];
    if (c != '*' && c != '_')
        return 0;
    while (k < 3 && *a + k < *b && s[*a + k] == c)
        k++;
    if (*b - *a <= 2 * k)
        return 0;
    for (size_t i = 0; i < k; i++)
        if (s[*b - 1 - i] != c)
            return 0;
    *a += k;
    *b -= k;
    return 1;
}

/* When s[*a, *b) (spaces trimmed, emphasis removed) is one quoted string and nothing else,
 * sets the range to its inside (trimmed) and returns 1. */
static int unquote(const char *s, size_t *pa, size_t *pb) {
    size_t a = *pa, b = *pb;
    trim(s, &a, &b, 0);
    for (int i = 0; i < 3 && b > a && unwrap_emphasis(s, &a, &b); i++)
        trim(s, &a, &b, 0);
    if (b <= a)
        return 0;
    uint32_t open, close;
    size_t ko = decode(s + a, b - a, &open);
    size_t kc = decode_back(s + a, b - a, &close);
    if (ko + kc > b - a)
        return 0;
    for (size_t i = 0; i < sizeof qpairs / sizeof *qpairs; i++) {
        if (qpairs[i].open != open || qpairs[i].close != close)
            continue;
        size_t ia = a + ko, ib = b - kc;
        if (has_cp(s + ia, ib - ia, close))
            return 0;
        trim(s, &ia, &ib, 0);
        if (ib <= ia)
            return 0;
        *pa = ia;
        *pb = ib;
        return 1;
    }
    return 0;
}

/* True when s[a, b) holds nothing but quotation marks, emphasis, ellipses and spaces. */
static int only_marks(const char *s, size_t a, size_t b) {
    while (a < b) {
        size_t k = uspace(s + a, b - a);
        if (k) {
            a += k;
            continue;
        }
        uint32_t cp;
        k = decode(s + a, b - a, &cp);
        int mark = cp == ' ' || cp == '\t' || cp == '*' || cp == '_' || cp == '.' || cp == 0x2026;
        for (size_t i = 0; !mark && i < sizeof qpairs / sizeof *qpairs; i++)
            mark = cp == qpairs[i].open || cp == qpairs[i].close;
        if (!mark)
            return 0;
        a += k;
    }
    return 1;
}

/* Cleans a quote in place: quotation marks and emphasis around it, repeatedly. */
static void clean_quote(const char *s, size_t *a, size_t *b) {
    for (int round = 0; round < 4; round++) {
        size_t a0 = *a, b0 = *b;
        trim(s, a, b, 0);
        if (*b > *a)
            unwrap_emphasis(s, a, b);
        trim(s, a, b, 0);
        unquote(s, a, b);
        if (*a == a0 && *b == b0)
            break;
    }
}

/* ---- line kinds --------------------------------------------------------------------------- */

/* A thematic break: up to 3 spaces, then 3 or more of the same - * or _, spaces between. */
static int is_break(const char *s, size_t n) {
    size_t i = indent(s, n), count = 0;
    if (i > 3 || i >= n)
        return 0;
    char c = s[i];
    if (c != '-' && c != '*' && c != '_')
        return 0;
    for (; i < n; i++) {
        if (s[i] == c)
            count++;
        else if (!is_ws((unsigned char)s[i]))
            return 0;
    }
    return count >= 3;
}

/* An opening code fence: sets the character and length. */
static int fence_open(const char *s, size_t n, char *ch, size_t *len) {
    size_t i = indent(s, n), k = 0;
    if (i > 3 || i >= n || (s[i] != '`' && s[i] != '~'))
        return 0;
    char c = s[i];
    while (i + k < n && s[i + k] == c)
        k++;
    if (k < 3)
        return 0;
    if (c == '`' && memchr(s + i + k, '`', n - i - k))
        return 0; /* a backtick fence's info string has none */
    *ch = c;
    *len = k;
    return 1;
}

static int fence_close(const char *s, size_t n, char ch, size_t len) {
    size_t i = indent(s, n), k = 0;
    if (i > 3)
        return 0;
    while (i + k < n && s[i + k] == ch)
        k++;
    return k >= len && blank(s + i + k, n - i - k);
}

/* A blockquote line: sets the content (markers, nesting and spaces removed). */
static int blockquote(const char *s, size_t n, size_t *ca, size_t *cb) {
    size_t i = indent(s, n);
    if (i > 3 || i >= n || s[i] != '>')
        return 0;
    while (i < n && s[i] == '>') {
        i++;
        i = skip_space(s, n, i, 0);
    }
    *ca = i;
    *cb = n;
    trim(s, ca, cb, 0);
    return 1;
}

/* For a line that is still coming: 1 a `>` line, 0 not, -1 cannot tell yet. */
static int quote_prefix(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && i < 3 && s[i] == ' ')
        i++;
    if (i == n)
        return -1;
    return s[i] == '>';
}

/* An ATX heading: sets its content (trimmed, closing #s removed). */
static int atx(const char *s, size_t n, size_t *ca, size_t *cb) {
    size_t i = indent(s, n), h = 0;
    if (i > 3)
        return 0;
    while (i + h < n && s[i + h] == '#')
        h++;
    if (h < 1 || h > 6 || (i + h < n && !is_ws((unsigned char)s[i + h])))
        return 0;
    size_t a = i + h, b = n;
    trim(s, &a, &b, 0);
    /* A closing sequence: #s preceded by a space (or the whole content). */
    size_t e = b;
    while (e > a && s[e - 1] == '#')
        e--;
    if (e < b && (e == a || is_ws((unsigned char)s[e - 1]))) {
        b = e;
        trim(s, &a, &b, 0);
    }
    *ca = a;
    *cb = b;
    return 1;
}

/* ---- the heading's label ------------------------------------------------------------------ */

typedef struct heading {
    notes_kind kind;
    const char *kind_text; /* into the label */
    size_t kind_len;
    const char *title;
    size_t title_len;
    const char *quote; /* a quote in the title, or NULL */
    size_t quote_len;
} heading;

static int is_sep_at(const char *s, size_t n, size_t i, size_t *len) {
    unsigned char c = (unsigned char)s[i];
    if (c == ':' || c == '-' || c == '.' || c == ')' || c == '|') {
        *len = 1;
        return 1;
    }
    /* — – (E2 80 94 / 93), ： (EF BC 9A) */
    if (i + 2 < n && c == 0xE2 && (unsigned char)s[i + 1] == 0x80 &&
        ((unsigned char)s[i + 2] == 0x94 || (unsigned char)s[i + 2] == 0x93)) {
        *len = 3;
        return 1;
    }
    if (i + 2 < n && c == 0xEF && (unsigned char)s[i + 1] == 0xBC &&
        (unsigned char)s[i + 2] == 0x9A) {
        *len = 3;
        return 1;
    }
    return 0;
}

/* Where the kind ends in rest[0..n): the first separator, parenthesis, comma or quotation
 * mark; *skip is how many bytes of it to drop (0 for a mark or parenthesis, kept in the
 * title). */
static size_t kind_end(const char *s, size_t n, size_t *skip) {
    for (size_t i = 0; i < n;) {
        size_t k;
        unsigned char c = (unsigned char)s[i];
        if (c == ':' || c == '|' || c == ',' ||
            (i + 2 < n && c == 0xE2 && is_sep_at(s, n, i, &k))) {
            if (c == ':' || c == '|' || c == ',')
                k = 1;
            *skip = k;
            return i;
        }
        if (c == '-' && i > 0 && is_ws((unsigned char)s[i - 1])) {
            *skip = 1;
            return i;
        }
        uint32_t cp;
        size_t len = decode(s + i, n - i, &cp);
        if (cp == '(' || cp == '"' || cp == 0xAB || cp == 0xBB || cp == 0x201C || cp == 0x201E ||
            cp == 0x2018 || cp == 0x2039) {
            *skip = 0;
            return i;
        }
        i += len;
    }
    *skip = 0;
    return n;
}

/* Reads a note heading's label L[0..n): returns 1 and fills h when it starts with a note
 * word (after an optional number). */
static int parse_label(const char *L, size_t n, heading *h) {
    memset(h, 0, sizeof *h);
    h->kind_text = h->title = "";
    size_t i = skip_space(L, n, 0, 1), j = i;
    while (j < n && L[j] >= '0' && L[j] <= '9')
        j++;
    if (j > i && j < n && (L[j] == '.' || L[j] == ')'))
        i = skip_space(L, n, j + 1, 1);
    size_t w = note_word(L + i, n - i);
    if (!w)
        return 0;
    i = skip_space(L, n, i + w, 0);
    if (i < n && L[i] == '#')
        i++;
    while (i < n && L[i] >= '0' && L[i] <= '9')
        i++;
    i = skip_space(L, n, i, 1);
    if (i < n && (L[i] == '(' || L[i] == '[')) {
        char close = L[i] == '(' ? ')' : ']';
        const char *e = memchr(L + i + 1, close, n - i - 1);
        if (e) {
            size_t ka = i + 1, kb = (size_t)(e - L);
            notes_kind k = notes_kind_parse(L + ka, kb - ka);
            if (k != NOTES_KIND_NONE) {
                trim(L, &ka, &kb, 1);
                h->kind = k;
                h->kind_text = L + ka;
                h->kind_len = kb - ka;
                i = skip_space(L, n, kb + 1, 1);
            }
        }
    }
    size_t sl;
    if (i < n && is_sep_at(L, n, i, &sl))
        i = skip_space(L, n, i + sl, 1);
    size_t ra = i, rb = n;
    trim(L, &ra, &rb, 1);
    if (h->kind == NOTES_KIND_NONE && rb > ra) {
        size_t skip, e = kind_end(L + ra, rb - ra, &skip);
        notes_kind k = notes_kind_parse(L + ra, e);
        if (k != NOTES_KIND_NONE) {
            size_t ka = ra, kb = ra + e;
            trim(L, &ka, &kb, 1);
            h->kind = k;
            h->kind_text = L + ka;
            h->kind_len = kb - ka;
            ra = ra + e + skip;
            trim(L, &ra, &rb, 1);
        }
    }
    h->title = L + ra;
    h->title_len = rb > ra ? rb - ra : 0;
    size_t qa = ra, qb = rb;
    if (rb > ra && unquote(L, &qa, &qb)) {
        h->quote = L + qa;
        h->quote_len = qb - qa;
    }
    return 1;
}

/* ---- events ------------------------------------------------------------------------------- */

static int emit(notes_parser *p, notes_event *ev) {
    if (p->status != NOTES_OK)
        return p->status;
    p->in_cb = 1;
    int rc = p->cb(p->ud, ev);
    p->in_cb = 0;
    if (rc)
        p->status = NOTES_STOPPED;
    return p->status;
}

static void base_event(const notes_parser *p, notes_event *ev, notes_event_type type) {
    memset(ev, 0, sizeof *ev);
    ev->type = type;
    ev->kind_text = ev->title = ev->quote = ev->text = "";
    if (type != NOTES_GENERAL) {
        ev->kind = p->kind;
        ev->kind_text = p->kind_text.data ? p->kind_text.data : "";
        ev->kind_text_len = p->kind_text.len;
        ev->title = p->title.data ? p->title.data : "";
        ev->title_len = p->title.len;
    }
    ev->start = p->sec_start;
}

/* The text buffer, trimmed of white space at both ends (in place: it is cleared after). */
static void trimmed_text(notes_parser *p, const char **s, size_t *n) {
    size_t a = 0, b = p->text.len;
    const char *t = p->text.data ? p->text.data : "";
    while (a < b && (is_ws((unsigned char)t[a]) || t[a] == '\n'))
        a++;
    while (b > a && (is_ws((unsigned char)t[b - 1]) || t[b - 1] == '\n'))
        b--;
    if (p->text.data)
        p->text.data[b] = '\0';
    *s = t + a;
    *n = b - a;
}

static unsigned section_flags(const notes_parser *p) {
    unsigned f = 0;
    if (p->text_cut || p->sec_cut || p->title_cut)
        f |= NOTES_F_TRUNCATED;
    if (p->fence)
        f |= NOTES_F_UNCLOSED_FENCE;
    return f;
}

static void clear_section(notes_parser *p, size_t start) {
    buf_clear(&p->text);
    buf_clear(&p->quote);
    buf_clear(&p->kind_text);
    buf_clear(&p->title);
    p->text_cut = p->sec_cut = p->title_cut = p->quote_long = 0;
    p->qflags = 0;
    p->kind = NOTES_KIND_NONE;
    p->sec_start = start;
    p->quote_start = p->quote_end = 0;
    p->fence = 0;
}

/* Appends at most what fits under cap, never cutting a code point; sets *cut when it
 * did not all fit.  Returns 0 or -1 (memory). */
static int append_capped(buf *b, const char *s, size_t n, size_t cap, int *cut) {
    if (*cut)
        return 0;
    size_t room = b->len < cap ? cap - b->len : 0;
    if (n > room) {
        n = utf8_cut(s, n, room);
        *cut = 1;
    }
    return buf_append(b, s, n);
}

static int add_text_line(notes_parser *p, const char *s, size_t n) {
    if (p->text.len == 0 && blank(s, n))
        return 0; /* leading blank lines */
    if (append_capped(&p->text, s, n, NOTES_TEXT_MAX, &p->text_cut) ||
        append_capped(&p->text, "\n", 1, NOTES_TEXT_MAX, &p->text_cut)) {
        p->status = NOTES_ENOMEM;
        return NOTES_ENOMEM;
    }
    return 0;
}

static int start_general(notes_parser *p, size_t start) {
    clear_section(p, start);
    p->state = S_GENERAL;
    return p->status;
}

static int end_general(notes_parser *p, size_t end) {
    const char *t;
    size_t n;
    trimmed_text(p, &t, &n);
    if (n == 0)
        return p->status;
    notes_event ev;
    base_event(p, &ev, NOTES_GENERAL);
    ev.seq = p->general++;
    ev.text = t;
    ev.text_len = n;
    ev.end = end;
    ev.flags = section_flags(p);
    return emit(p, &ev);
}

/* The quote is complete: QUOTE and on to COMMENT, or BODY when it cannot be read. */
static int finish_quote(notes_parser *p) {
    size_t a = 0, b = p->quote.len;
    const char *q = p->quote.data ? p->quote.data : "";
    if (!p->quote_long)
        clean_quote(q, &a, &b);
    if (p->quote_long || b <= a || only_marks(q, a, b)) {
        p->state = S_BODY;
        return p->status;
    }
    /* Keep the cleaned quote at the start of the buffer, for the NOTE event too. */
    memmove(p->quote.data, q + a, b - a);
    p->quote.len = b - a;
    p->quote.data[p->quote.len] = '\0';
    p->seq = p->notes++;
    p->state = S_COMMENT;
    buf_clear(&p->text); /* the body held the quote's lines */
    p->text_cut = 0;
    notes_event ev;
    base_event(p, &ev, NOTES_QUOTE);
    ev.seq = p->seq;
    ev.quote = p->quote.data;
    ev.quote_len = p->quote.len;
    ev.end = p->quote_end;
    ev.quote_start = p->quote_start;
    ev.quote_end = p->quote_end;
    ev.flags = p->qflags;
    return emit(p, &ev);
}

static int end_note(notes_parser *p, size_t end) {
    if (p->state == S_QUOTE && finish_quote(p) != NOTES_OK)
        return p->status;
    const char *t;
    size_t n;
    trimmed_text(p, &t, &n);
    notes_event ev;
    if (p->state == S_COMMENT) {
        base_event(p, &ev, NOTES_NOTE);
        ev.seq = p->seq;
        ev.quote = p->quote.data;
        ev.quote_len = p->quote.len;
        ev.quote_start = p->quote_start;
        ev.quote_end = p->quote_end;
        ev.flags = p->qflags | section_flags(p);
    } else {
        base_event(p, &ev, NOTES_GENERAL);
        ev.kind = p->kind;
        ev.kind_text = p->kind_text.data ? p->kind_text.data : "";
        ev.kind_text_len = p->kind_text.len;
        ev.title = p->title.data ? p->title.data : "";
        ev.title_len = p->title.len;
        ev.seq = p->general++;
        ev.flags =
            NOTES_F_FROM_NOTE | section_flags(p) | (p->quote_long ? NOTES_F_QUOTE_TOO_LONG : 0);
    }
    ev.text = t;
    ev.text_len = n;
    ev.end = end;
    return emit(p, &ev);
}

/* Ends whatever section is open at offset end. */
static int end_section(notes_parser *p, size_t end) {
    if (p->state == S_GENERAL)
        return end_general(p, end);
    if (p->state == S_OVER)
        return p->status;
    return end_note(p, end);
}

static int start_note(notes_parser *p, const heading *h, size_t start, size_t line_end) {
    p->headings++;
    if (p->headings > NOTES_MAX_NOTES) {
        p->dropped++;
        clear_section(p, start);
        p->state = S_OVER;
        notes_event ev;
        base_event(p, &ev, NOTES_OVER_CAP);
        ev.seq = NOTES_MAX_NOTES;
        ev.end = start;
        return emit(p, &ev);
    }
    clear_section(p, start);
    p->kind = h->kind;
    if (append_capped(&p->kind_text, h->kind_text, h->kind_len, NOTES_KIND_TEXT_MAX,
                      &p->title_cut) ||
        append_capped(&p->title, h->title, h->title_len, NOTES_TITLE_MAX, &p->title_cut))
        return p->status = NOTES_ENOMEM;
    if (h->quote) {
        if (h->quote_len > NOTES_QUOTE_MAX) {
            p->quote_long = 1;
            p->state = S_BODY;
            return p->status;
        }
        if (buf_append(&p->quote, h->quote, h->quote_len))
            return p->status = NOTES_ENOMEM;
        p->quote_start = start;
        p->quote_end = line_end;
        p->qflags = NOTES_F_QUOTE_HEADING;
        p->state = S_QUOTE;
        return finish_quote(p);
    }
    p->state = S_HEAD;
    return p->status;
}

/* ---- one line ----------------------------------------------------------------------------- */

/* 1: a note heading (h filled), 2: another ATX heading, 0: neither.
 *
 * A line that starts with bold is a note heading only when the bold text starts with a note
 * word and what follows the bold is nothing, a kind, or a quoted string: `**Note:** style`
 * is a heading, `**Note:** this matters because…` in a comment is text. */
static int classify_heading(notes_parser *p, const char *s, size_t n, heading *h) {
    size_t a, b;
    int is_atx = atx(s, n, &a, &b);
    if (!is_atx) {
        size_t i = indent(s, n);
        if (i > 3 || i + 2 > n ||
            !((s[i] == '*' && s[i + 1] == '*') || (s[i] == '_' && s[i + 1] == '_')))
            return 0;
        a = i;
        b = n;
    }
    if (b - a > LABEL_MAX)
        b = a + utf8_cut(s + a, b - a, LABEL_MAX);
    const char *L = s + a;
    size_t ln = b - a;
    if (ln < 2 || !((L[0] == '*' && L[1] == '*') || (L[0] == '_' && L[1] == '_')))
        return is_atx ? (parse_label(L, ln, h) ? 1 : 2) : 0;
    /* The label is what is inside the first ** … ** followed by the rest of the line. */
    const char *close = NULL;
    for (size_t i = 2; i + 1 < ln; i++)
        if (L[i] == L[0] && L[i + 1] == L[0]) {
            close = L + i;
            break;
        }
    if (!close)
        return is_atx ? 2 : 0;
    size_t in = (size_t)(close - L) - 2, ta = in + 4, tb = ln;
    trim(L, &ta, &tb, 1);
    buf_clear(&p->scratch);
    if (buf_append(&p->scratch, L + 2, in) || buf_append(&p->scratch, close + 2, ln - in - 4)) {
        p->status = NOTES_ENOMEM;
        return 0;
    }
    if (!parse_label(p->scratch.data, p->scratch.len, h))
        return is_atx ? 2 : 0;
    if (!is_atx && tb > ta && h->kind == NOTES_KIND_NONE && !h->quote)
        return 0;
    return 1;
}

/* A line in GENERAL, COMMENT or BODY. */
static int section_line(notes_parser *p, const char *s, size_t n, size_t lstart, size_t cend,
                        size_t lend) {
    if (p->fence) {
        if (fence_close(s, n, p->fence_ch, p->fence_len))
            p->fence = 0;
        return add_text_line(p, s, n);
    }
    heading h;
    int kind = classify_heading(p, s, n, &h);
    if (p->status != NOTES_OK)
        return p->status;
    if (kind == 1) {
        if (end_section(p, lstart) != NOTES_OK)
            return p->status;
        return start_note(p, &h, lstart, cend);
    }
    if (kind == 2 && p->state != S_GENERAL) {
        if (end_section(p, lstart) != NOTES_OK || start_general(p, lstart) != NOTES_OK)
            return p->status;
        return add_text_line(p, s, n);
    }
    if (is_break(s, n)) {
        if (end_section(p, lstart) != NOTES_OK)
            return p->status;
        return start_general(p, lend);
    }
    if (fence_open(s, n, &p->fence_ch, &p->fence_len))
        p->fence = 1;
    return add_text_line(p, s, n);
}

static int add_quote_line(notes_parser *p, const char *s, size_t n, size_t ca, size_t cb,
                          size_t lstart, size_t lend) {
    if (p->quote.len == 0)
        p->quote_start = lstart;
    p->quote_end = lend;
    if (cb > ca && !p->quote_long) {
        size_t add = cb - ca + (p->quote.len ? 1 : 0);
        if (p->quote.len + add > NOTES_QUOTE_MAX) {
            p->quote_long = 1;
        } else if ((p->quote.len && buf_append_byte(&p->quote, ' ')) ||
                   buf_append(&p->quote, s + ca, cb - ca)) {
            return p->status = NOTES_ENOMEM;
        }
    }
    return add_text_line(p, s, n); /* the body, in case the quote cannot be read */
}

/* One complete line s[0..n) (LF and one CR before it removed), starting at lstart, its bytes
 * ending at cend (before its LF); the next line starts at lend.  cut: the line passed
 * NOTES_LINE_MAX. */
static int read_line(notes_parser *p, const char *s, size_t n, size_t lstart, size_t cend,
                     size_t lend) {
    size_t ca, cb;
    if (p->state == S_QUOTE && !blockquote(s, n, &ca, &cb) && finish_quote(p) != NOTES_OK)
        return p->status;
    switch (p->state) {
    case S_OVER: {
        if (p->fence) {
            if (fence_close(s, n, p->fence_ch, p->fence_len))
                p->fence = 0;
            return p->status;
        }
        heading h;
        if (classify_heading(p, s, n, &h) == 1) {
            p->headings++;
            p->dropped++;
        } else if (fence_open(s, n, &p->fence_ch, &p->fence_len)) {
            p->fence = 1;
        }
        return p->status;
    }
    case S_HEAD:
        if (blank(s, n))
            return p->status;
        if (blockquote(s, n, &ca, &cb)) {
            p->state = S_QUOTE;
            return add_quote_line(p, s, n, ca, cb, lstart, cend);
        }
        ca = 0;
        cb = n;
        if (unquote(s, &ca, &cb)) {
            if (cb - ca > NOTES_QUOTE_MAX)
                p->quote_long = 1;
            else if (buf_append(&p->quote, s + ca, cb - ca))
                return p->status = NOTES_ENOMEM;
            p->quote_start = lstart;
            p->quote_end = cend;
            p->qflags = NOTES_F_QUOTE_LINE;
            p->state = S_QUOTE;
            if (finish_quote(p) != NOTES_OK || p->state == S_COMMENT)
                return p->status;
            return add_text_line(p, s, n); /* too long: the line is the body */
        }
        p->state = S_BODY;
        return section_line(p, s, n, lstart, cend, lend);
    case S_QUOTE:
        blockquote(s, n, &ca, &cb);
        return add_quote_line(p, s, n, ca, cb, lstart, cend);
    default:
        return section_line(p, s, n, lstart, cend, lend);
    }
}

static int handle_line(notes_parser *p, const char *s, size_t n, size_t lstart, size_t cend,
                       size_t lend, int cut) {
    read_line(p, s, n, lstart, cend, lend);
    if (cut) {
        /* The section the line went to says so (not the one it may have ended). */
        p->truncated++;
        if (p->state != S_OVER)
            p->sec_cut = 1;
    }
    return p->status;
}

/* ---- feeding ------------------------------------------------------------------------------ */

notes_parser *notes_parser_new(notes_event_fn on_event, void *ud) {
    if (!on_event)
        return NULL;
    notes_parser *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->cb = on_event;
    p->ud = ud;
    p->state = S_GENERAL;
    return p;
}

void notes_parser_free(notes_parser *p) {
    if (!p)
        return;
    buf_free(&p->line);
    buf_free(&p->text);
    buf_free(&p->quote);
    buf_free(&p->kind_text);
    buf_free(&p->title);
    buf_free(&p->scratch);
    free(p);
}

void notes_parser_stats(const notes_parser *p, notes_stats *st) {
    memset(st, 0, sizeof *st);
    st->notes = p->notes;
    st->general = p->general;
    st->headings = p->headings;
    st->dropped = p->dropped;
    st->bytes = p->pos;
    st->truncated = p->truncated;
}

#define LINE_KEEP (NOTES_LINE_MAX + 3) /* 3 more bytes, so the cut can see a whole code point */

/* Ends the current line (in s[0..n), of line_seen bytes in all). */
static int line_done(notes_parser *p, const char *s, size_t n, size_t lend) {
    int cut = p->line_seen > NOTES_LINE_MAX;
    if (cut)
        n = utf8_cut(s, n, NOTES_LINE_MAX);
    else if (n && s[n - 1] == '\r')
        n--;
    return handle_line(p, s, n, p->line_start, p->line_start + p->line_seen, lend, cut);
}

int notes_parser_feed(notes_parser *p, const char *text, size_t len) {
    if (p->in_cb)
        return NOTES_EBUSY;
    if (p->status != NOTES_OK)
        return p->status;
    if (p->done)
        return NOTES_EDONE;
    size_t i = 0;
    while (i < len && p->status == NOTES_OK) {
        if (p->line_seen == 0)
            p->line_start = p->pos;
        const char *nl = memchr(text + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
        if (p->line_seen == 0 && nl) {
            /* The whole line is here: read it in place. */
            size_t keep = n < LINE_KEEP ? n : LINE_KEEP;
            p->line_seen = n;
            p->pos += n + 1;
            line_done(p, text + i, keep, p->pos);
            p->line_seen = 0;
            i += n + 1;
            continue;
        }
        size_t room = p->line.len < LINE_KEEP ? LINE_KEEP - p->line.len : 0;
        if (buf_append(&p->line, text + i, n < room ? n : room))
            return p->status = NOTES_ENOMEM;
        p->line_seen += n;
        p->pos += n;
        i += n;
        if (!nl) {
            /* A quote ends as soon as the next line shows it is not a `>` line. */
            if (p->state == S_QUOTE && quote_prefix(p->line.data, p->line.len) == 0)
                finish_quote(p);
            break;
        }
        p->pos++;
        i++;
        line_done(p, p->line.data, p->line.len, p->pos);
        buf_clear(&p->line);
        p->line_seen = 0;
    }
    return p->status;
}

int notes_parser_finish(notes_parser *p) {
    if (p->in_cb)
        return NOTES_EBUSY;
    if (p->status != NOTES_OK)
        return p->status;
    if (p->done)
        return NOTES_EDONE;
    p->done = 1;
    if (p->line_seen) {
        line_done(p, p->line.data, p->line.len, p->pos);
        buf_clear(&p->line);
        p->line_seen = 0;
    }
    if (p->status == NOTES_OK)
        end_section(p, p->pos);
    return p->status;
}

/* ---- the prompt --------------------------------------------------------------------------- */

static const char prompt_rules[] =
    "Write your remarks as notes, one remark per note, each in exactly this form:\n"
    "\n"
    "## Note: <kind>\n"
    "> <the exact words of the document the remark is about>\n"
    "<your remark>\n"
    "\n"
    "- <kind> is one of: clarity, ambiguity, question, argument, structure, style, praise "
    "(in English, lower case, whatever the document's language).\n"
    "- The line that starts with \"> \" quotes the document's own words, copied character for "
    "character: the same spelling, accents, case, punctuation and apostrophes. Quote briefly: "
    "a few words, at most one sentence, on one line. No quotation marks around them, no "
    "ellipsis, no words left out or added; quote only words that are in the document.\n"
    "- The remark follows on the next lines, in the document's language: a comment or a "
    "question about those words. Never a rewritten passage, never a replacement text, not even "
    "for part of a sentence.\n"
    "- One remark per note: two remarks on the same words are two notes.\n"
    "- A remark about the passage as a whole, not about particular words, goes before the "
    "first note, as plain text without a heading.\n"
    "- No other headings, and no text after the last note.";

const char *notes_prompt_rules(void) {
    return prompt_rules;
}
