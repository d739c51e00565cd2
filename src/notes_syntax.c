/* notes_syntax: what one line of a critique answer is, read from its bytes alone: blank, a
 * thematic break, a code fence, a blockquote, an ATX heading; a note heading's label (note
 * word, number, kind, title, a quote in it); the kind words in six languages; quotation
 * marks, emphasis and their cleaning off a quote.  Pure functions with no state: the
 * streaming state machine in notes.c decides what a line means where it comes.  See
 * include/ami/notes.h for the format and src/notes_internal.h for what notes.c uses; the
 * few recognisers it asks of every line are defined there, inline (blank, indent, thematic
 * break, ATX heading, the start of a `>` line).
 */
#include "ami/notes.h"

#include "ami/utf8.h"
#include "notes_internal.h"

#include <stdint.h>
#include <string.h>

/* ---- small text helpers (notes_is_ws, notes_indent, notes_blank: notes_internal.h) -- */

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
        if (notes_is_ws((unsigned char)s[i]) || (emph && (s[i] == '*' || s[i] == '_'))) {
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
void notes_trim(const char *s, size_t *a, size_t *b, int emph) {
    *a = skip_space(s, *b, *a, emph);
    while (*b > *a) {
        unsigned char c = (unsigned char)s[*b - 1];
        if (notes_is_ws(c) || (emph && (c == '*' || c == '_'))) {
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
        if (k || notes_is_ws((unsigned char)s[i])) {
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
        notes_trim(word, &a, &b, 1);
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
int notes_unquote(const char *s, size_t *pa, size_t *pb) {
    size_t a = *pa, b = *pb;
    notes_trim(s, &a, &b, 0);
    for (int i = 0; i < 3 && b > a && unwrap_emphasis(s, &a, &b); i++)
        notes_trim(s, &a, &b, 0);
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
        notes_trim(s, &ia, &ib, 0);
        if (ib <= ia)
            return 0;
        *pa = ia;
        *pb = ib;
        return 1;
    }
    return 0;
}

/* True when s[a, b) holds nothing but quotation marks, emphasis, ellipses and spaces. */
int notes_only_marks(const char *s, size_t a, size_t b) {
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
void notes_clean_quote(const char *s, size_t *a, size_t *b) {
    for (int round = 0; round < 4; round++) {
        size_t a0 = *a, b0 = *b;
        notes_trim(s, a, b, 0);
        if (*b > *a)
            unwrap_emphasis(s, a, b);
        notes_trim(s, a, b, 0);
        notes_unquote(s, a, b);
        if (*a == a0 && *b == b0)
            break;
    }
}

/* ---- line kinds (breaks, ATX headings, `>` prefixes: notes_internal.h) -------------------- */

/* An opening code fence: sets the character and length. */
int notes_fence_open(const char *s, size_t n, char *ch, size_t *len) {
    size_t i = notes_indent(s, n), k = 0;
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

int notes_fence_close(const char *s, size_t n, char ch, size_t len) {
    size_t i = notes_indent(s, n), k = 0;
    if (i > 3)
        return 0;
    while (i + k < n && s[i + k] == ch)
        k++;
    return k >= len && notes_blank(s + i + k, n - i - k);
}

/* A blockquote line: sets the content (markers, nesting and spaces removed). */
int notes_blockquote(const char *s, size_t n, size_t *ca, size_t *cb) {
    size_t i = notes_indent(s, n);
    if (i > 3 || i >= n || s[i] != '>')
        return 0;
    while (i < n && s[i] == '>') {
        i++;
        i = skip_space(s, n, i, 0);
    }
    *ca = i;
    *cb = n;
    notes_trim(s, ca, cb, 0);
    return 1;
}

/* ---- the heading's label ------------------------------------------------------------------ */

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
        if (c == '-' && i > 0 && notes_is_ws((unsigned char)s[i - 1])) {
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
int notes_parse_label(const char *L, size_t n, notes_heading *h) {
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
                notes_trim(L, &ka, &kb, 1);
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
    notes_trim(L, &ra, &rb, 1);
    if (h->kind == NOTES_KIND_NONE && rb > ra) {
        size_t skip, e = kind_end(L + ra, rb - ra, &skip);
        notes_kind k = notes_kind_parse(L + ra, e);
        if (k != NOTES_KIND_NONE) {
            size_t ka = ra, kb = ra + e;
            notes_trim(L, &ka, &kb, 1);
            h->kind = k;
            h->kind_text = L + ka;
            h->kind_len = kb - ka;
            ra = ra + e + skip;
            notes_trim(L, &ra, &rb, 1);
        }
    }
    h->title = L + ra;
    h->title_len = rb > ra ? rb - ra : 0;
    size_t qa = ra, qb = rb;
    if (rb > ra && notes_unquote(L, &qa, &qb)) {
        h->quote = L + qa;
        h->quote_len = qb - qa;
    }
    return 1;
}
