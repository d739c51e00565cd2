/* rpc: msgpack-RPC framing over libuv streams.  See include/ami/rpc.h.
 *
 * Reader state machine (per message):
 *
 *     bytes ──► [shape guard] ──► [msgpack_unpacker] ──► whole object ──► [validate] ──► dispatch
 *                   │  ▲                  │   ▲ CONTINUE: keep the tail, wait for more bytes
 *                   │  └── more bytes ────┘   │
 *                   └─ container too large ─► FAILED ◄── PARSE_ERROR / not an RPC shape
 *
 * FAILED is final: once framing is lost nothing after it can be trusted.
 *
 * The shape guard walks the same bytes as msgpack-c, counting values still owed by the
 * current top-level object.  It exists because msgpack-c allocates an array's or map's
 * element table as soon as it sees the header: a five-byte header announcing four billion
 * elements would make it ask for ~100 GB.  The guard rejects containers larger than
 * RPC_MAX_ELEMS before msgpack-c sees them.
 */
#include "ami/rpc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RPC_MAX_ELEMS  (1u << 20) /* elements in one array, or pairs in one map */
#define RPC_READ_CHUNK (64 * 1024)

/* ---- shape guard ------------------------------------------------------------------------ */

typedef struct rpc_guard {
    uint64_t owed; /* values still to come in the current top-level object (0 = between) */
    uint64_t skip; /* payload bytes of a str/bin/ext still to skip */
    unsigned char hdr[9];
    unsigned hdr_len;  /* bytes of the current header seen so far */
    unsigned hdr_need; /* bytes the current header needs (0 = not in a header) */
} rpc_guard;

/* Size of the header that starts with byte b (type byte included). */
static unsigned guard_header_size(unsigned char b) {
    if (b <= 0x7f || b >= 0xe0 || (b >= 0x80 && b <= 0xbf) || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 1;
    switch (b) {
    case 0xc4:
    case 0xcc:
    case 0xd0:
    case 0xd9:
        return 2;
    case 0xc5:
    case 0xcd:
    case 0xd1:
    case 0xda:
    case 0xdc:
    case 0xde:
        return 3;
    case 0xd4: /* fixext 1: type byte, then 1 byte */
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        return 2;
    case 0xc7:
        return 3;
    case 0xc8:
        return 4;
    case 0xc6:
    case 0xca:
    case 0xce:
    case 0xd2:
    case 0xdb:
    case 0xdd:
    case 0xdf:
        return 5;
    case 0xc9:
        return 6;
    case 0xcb:
    case 0xcf:
    case 0xd3:
        return 9;
    default: /* 0xc1: never used */
        return 0;
    }
}

static uint64_t be(const unsigned char *p, unsigned n) {
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Header complete: how many child values and payload bytes it announces. */
static int guard_header_done(rpc_guard *g, char *err, size_t errlen) {
    const unsigned char *h = g->hdr;
    unsigned char b = h[0];
    uint64_t children = 0, payload = 0;
    if (b >= 0x90 && b <= 0x9f)
        children = b & 0x0f;
    else if (b >= 0x80 && b <= 0x8f)
        children = 2u * (b & 0x0f);
    else if (b >= 0xa0 && b <= 0xbf)
        payload = b & 0x1f;
    else {
        switch (b) {
        case 0xc4:
        case 0xd9:
            payload = h[1];
            break;
        case 0xc5:
        case 0xda:
            payload = be(h + 1, 2);
            break;
        case 0xc6:
        case 0xdb:
            payload = be(h + 1, 4);
            break;
        case 0xc7:
            payload = h[1];
            break; /* ext 8: len, type */
        case 0xc8:
            payload = be(h + 1, 2);
            break; /* ext 16 */
        case 0xc9:
            payload = be(h + 1, 4);
            break; /* ext 32 */
        case 0xd4:
            payload = 1;
            break; /* fixext: the type byte is in the header */
        case 0xd5:
            payload = 2;
            break;
        case 0xd6:
            payload = 4;
            break;
        case 0xd7:
            payload = 8;
            break;
        case 0xd8:
            payload = 16;
            break;
        case 0xdc:
            children = be(h + 1, 2);
            break;
        case 0xdd:
            children = be(h + 1, 4);
            break;
        case 0xde:
            children = 2 * be(h + 1, 2);
            break;
        case 0xdf:
            children = 2 * be(h + 1, 4);
            break;
        default:
            break;
        }
    }
    if (children > 2ull * RPC_MAX_ELEMS) {
        snprintf(err, errlen, "a msgpack array or map announces %llu elements (limit %u)",
                 (unsigned long long)children, RPC_MAX_ELEMS);
        return RPC_EINVALID;
    }
    g->owed += children;
    g->skip = payload;
    g->hdr_len = g->hdr_need = 0;
    g->owed--; /* this value itself is now accounted for */
    return RPC_OK;
}

/* Walks n bytes; on error *bad is the offset of the offending byte (the bytes before it are
 * well-formed and may still complete messages). */
static int guard_feed(rpc_guard *g, const unsigned char *p, size_t n, size_t *bad, char *err,
                      size_t errlen) {
    size_t i = 0;
    while (i < n) {
        if (g->skip) {
            size_t take = (uint64_t)(n - i) < g->skip ? n - i : (size_t)g->skip;
            g->skip -= take;
            i += take;
            continue;
        }
        if (g->hdr_need == 0) {
            if (g->owed == 0)
                g->owed = 1; /* a new top-level object starts */
            g->hdr_need = guard_header_size(p[i]);
            if (g->hdr_need == 0) {
                *bad = i;
                snprintf(err, errlen, "byte 0x%02x is not valid msgpack", p[i]);
                return RPC_EMALFORMED;
            }
        }
        g->hdr[g->hdr_len++] = p[i++];
        if (g->hdr_len == g->hdr_need) {
            int rc = guard_header_done(g, err, errlen);
            if (rc) {
                *bad = i >= g->hdr_len ? i - g->hdr_len : 0; /* header may span feeds */
                return rc;
            }
        }
    }
    return RPC_OK;
}

/* ---- reader ----------------------------------------------------------------------------- */

struct rpc_reader {
    msgpack_unpacker unp;
    msgpack_unpacked obj;
    rpc_guard guard;
    rpc_message_fn on_message;
    void *ud;
    uint64_t offset;
    int failed;
};

rpc_reader *rpc_reader_new(rpc_message_fn on_message, void *ud) {
    rpc_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    if (!msgpack_unpacker_init(&r->unp, RPC_READ_CHUNK)) {
        free(r);
        return NULL;
    }
    msgpack_unpacked_init(&r->obj);
    r->on_message = on_message;
    r->ud = ud;
    return r;
}

void rpc_reader_free(rpc_reader *r) {
    if (!r)
        return;
    msgpack_unpacked_destroy(&r->obj);
    msgpack_unpacker_destroy(&r->unp);
    free(r);
}

uint64_t rpc_reader_offset(const rpc_reader *r) {
    return r->offset;
}

static int valid_msgid(const msgpack_object *o, uint32_t *out) {
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > UINT32_MAX)
        return 0;
    *out = (uint32_t)o->via.u64;
    return 1;
}

static int valid_method(const msgpack_object *o) {
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size > 0 &&
           o->via.str.size <= RPC_METHOD_MAX;
}

/* Fills m from o; returns 0 when o is not a msgpack-RPC message. */
static int decode_message(const msgpack_object *o, rpc_message *m) {
    memset(m, 0, sizeof *m);
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 3)
        return 0;
    const msgpack_object *a = o->via.array.ptr;
    if (a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return 0;
    switch (a[0].via.u64) {
    case RPC_REQUEST:
        if (o->via.array.size != 4 || !valid_msgid(&a[1], &m->msgid) || !valid_method(&a[2]) ||
            a[3].type != MSGPACK_OBJECT_ARRAY)
            return 0;
        m->kind = RPC_REQUEST;
        m->method = a[2].via.str.ptr;
        m->method_len = a[2].via.str.size;
        m->params = &a[3];
        return 1;
    case RPC_RESPONSE:
        if (o->via.array.size != 4 || !valid_msgid(&a[1], &m->msgid))
            return 0;
        m->kind = RPC_RESPONSE;
        m->error = &a[2];
        m->result = &a[3];
        return 1;
    case RPC_NOTIFICATION:
        if (o->via.array.size != 3 || !valid_method(&a[1]) || a[2].type != MSGPACK_OBJECT_ARRAY)
            return 0;
        m->kind = RPC_NOTIFICATION;
        m->method = a[1].via.str.ptr;
        m->method_len = a[1].via.str.size;
        m->params = &a[2];
        return 1;
    default:
        return 0;
    }
}

/* Hands n well-formed bytes to msgpack-c and dispatches every complete message. */
static int unpack(rpc_reader *r, const char *data, size_t n, uint64_t start, char *err,
                  size_t errlen) {
    if (!msgpack_unpacker_reserve_buffer(&r->unp, n)) {
        snprintf(err, errlen, "out of memory reading msgpack-RPC input");
        return RPC_ENOMEM;
    }
    memcpy(msgpack_unpacker_buffer(&r->unp), data, n);
    msgpack_unpacker_buffer_consumed(&r->unp, n);
    for (;;) {
        msgpack_unpack_return ret = msgpack_unpacker_next(&r->unp, &r->obj);
        if (ret == MSGPACK_UNPACK_CONTINUE)
            return RPC_OK;
        if (ret != MSGPACK_UNPACK_SUCCESS) {
            snprintf(err, errlen,
                     ret == MSGPACK_UNPACK_NOMEM_ERROR
                         ? "msgpack input nested too deeply, or out of memory (near byte %llu)"
                         : "malformed msgpack input (near byte %llu)",
                     (unsigned long long)start);
            return ret == MSGPACK_UNPACK_NOMEM_ERROR ? RPC_EINVALID : RPC_EMALFORMED;
        }
        rpc_message m;
        if (!decode_message(&r->obj.data, &m)) {
            snprintf(err, errlen,
                     "received a msgpack value that is not a msgpack-RPC request, response or "
                     "notification (near byte %llu)",
                     (unsigned long long)start);
            return RPC_EINVALID;
        }
        r->on_message(r->ud, &m);
    }
}

int rpc_reader_feed(rpc_reader *r, const char *data, size_t len, char *err, size_t errlen) {
    if (r->failed) {
        snprintf(err, errlen, "the msgpack-RPC stream already failed");
        return RPC_EMALFORMED;
    }
    uint64_t start = r->offset;
    r->offset += len;
    size_t bad = len;
    char guard_err[160];
    int guard_rc =
        guard_feed(&r->guard, (const unsigned char *)data, len, &bad, guard_err, sizeof guard_err);
    /* The bytes before a bad one may still complete messages: deliver those first. */
    int rc = unpack(r, data, guard_rc ? bad : len, start, err, errlen);
    if (rc == RPC_OK && guard_rc) {
        rc = guard_rc;
        snprintf(err, errlen, "%s (byte %llu of the input)", guard_err,
                 (unsigned long long)(start + bad));
    }
    if (rc)
        r->failed = 1;
    return rc;
}

/* ---- channel ---------------------------------------------------------------------------- */

typedef struct rpc_pending {
    struct rpc_pending *next;
    uint32_t msgid;
    rpc_response_fn fn;
    void *ud;
} rpc_pending;

typedef struct rpc_write {
    uv_write_t req;
    rpc_channel *ch;
    char *data; /* owned: released from the channel's sbuffer */
    size_t len;
} rpc_write;

struct rpc_channel {
    uv_stream_t *in, *out;
    rpc_reader *reader;
    const rpc_method *methods;
    rpc_close_fn on_close;
    void *ud;
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
    rpc_pending *pending;
    rpc_response_fn begun_fn; /* request being packed */
    void *begun_ud;
    uint32_t begun_msgid;
    uint32_t next_msgid;
    size_t pending_bytes;
    unsigned writes_in_flight;
    int input_closed;
    int output_failed;
    int freed; /* rpc_channel_free() was called; the last write callback frees */
    char readbuf[RPC_READ_CHUNK];
};

static void channel_destroy(rpc_channel *ch) {
    rpc_reader_free(ch->reader);
    msgpack_sbuffer_destroy(&ch->sbuf);
    free(ch);
}

static void on_message(void *ud, const rpc_message *m) {
    rpc_channel *ch = ud;
    if (m->kind == RPC_RESPONSE) {
        for (rpc_pending **pp = &ch->pending; *pp; pp = &(*pp)->next) {
            if ((*pp)->msgid == m->msgid) {
                rpc_pending *p = *pp;
                *pp = p->next;
                if (p->fn)
                    p->fn(ch, m->error, m->result, p->ud);
                free(p);
                return;
            }
        }
        fprintf(stderr, "ami: ignoring a response to unknown request %u\n", m->msgid);
        return;
    }
    for (const rpc_method *rm = ch->methods; rm && rm->name; rm++) {
        if (strlen(rm->name) == m->method_len && memcmp(rm->name, m->method, m->method_len) == 0) {
            rm->fn(ch, m, ch->ud);
            return;
        }
    }
    char msg[RPC_METHOD_MAX + 64];
    snprintf(msg, sizeof msg, "unknown method: %.*s", (int)m->method_len, m->method);
    if (m->kind == RPC_REQUEST)
        rpc_reply_error(ch, m->msgid, msg);
    else
        fprintf(stderr, "ami: ignoring notification: %s\n", msg);
}

static void close_input(rpc_channel *ch, int reason, const char *message) {
    if (ch->input_closed)
        return;
    ch->input_closed = 1;
    uv_read_stop(ch->in);
    if (ch->on_close)
        ch->on_close(ch, reason, message, ch->ud);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    rpc_channel *ch = h->data;
    *buf = uv_buf_init(ch->readbuf, sizeof ch->readbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
    rpc_channel *ch = s->data;
    if (n == UV_EOF) {
        close_input(ch, RPC_OK, "end of input");
        return;
    }
    if (n < 0) {
        close_input(ch, (int)n, uv_strerror((int)n));
        return;
    }
    if (n == 0 || ch->input_closed)
        return;
    char err[256];
    int rc = rpc_reader_feed(ch->reader, buf->base, (size_t)n, err, sizeof err);
    if (rc)
        close_input(ch, rc, err);
}

rpc_channel *rpc_channel_new(uv_stream_t *in, uv_stream_t *out, const rpc_method *methods,
                             rpc_close_fn on_close, void *ud) {
    rpc_channel *ch = calloc(1, sizeof *ch);
    if (!ch)
        return NULL;
    ch->reader = rpc_reader_new(on_message, ch);
    if (!ch->reader)
        goto err;
    msgpack_sbuffer_init(&ch->sbuf);
    msgpack_packer_init(&ch->pk, &ch->sbuf, msgpack_sbuffer_write);
    ch->in = in;
    ch->out = out;
    ch->methods = methods;
    ch->on_close = on_close;
    ch->ud = ud;
    ch->next_msgid = 1;
    in->data = ch;
    if (uv_read_start(in, on_alloc, on_read) != 0)
        goto err;
    return ch;
err:
    if (ch->reader)
        rpc_reader_free(ch->reader);
    free(ch);
    return NULL;
}

void rpc_channel_free(rpc_channel *ch) {
    if (!ch)
        return;
    if (!ch->input_closed) {
        ch->input_closed = 1;
        uv_read_stop(ch->in);
    }
    while (ch->pending) {
        rpc_pending *p = ch->pending;
        ch->pending = p->next;
        if (p->fn)
            p->fn(ch, NULL, NULL, p->ud);
        free(p);
    }
    ch->in->data = NULL;
    ch->freed = 1;
    if (ch->writes_in_flight == 0)
        channel_destroy(ch);
}

size_t rpc_channel_pending_bytes(const rpc_channel *ch) {
    return ch->pending_bytes;
}

static void on_written(uv_write_t *req, int status) {
    rpc_write *w = (rpc_write *)req;
    rpc_channel *ch = w->ch;
    ch->pending_bytes -= w->len;
    ch->writes_in_flight--;
    if (status < 0 && status != UV_ECANCELED && !ch->output_failed) {
        ch->output_failed = 1;
        fprintf(stderr, "ami: cannot write to Neovim: %s\n", uv_strerror(status));
    }
    free(w->data);
    free(w);
    if (ch->freed && ch->writes_in_flight == 0)
        channel_destroy(ch);
}

/* Sends what the packer wrote since the last flush. */
static int channel_flush(rpc_channel *ch) {
    if (ch->sbuf.size == 0)
        return RPC_OK;
    if (ch->output_failed) {
        ch->sbuf.size = 0;
        return RPC_ECLOSED;
    }
    rpc_write *w = malloc(sizeof *w);
    if (!w) {
        ch->sbuf.size = 0;
        return RPC_ENOMEM;
    }
    w->ch = ch;
    w->len = ch->sbuf.size;
    w->data = msgpack_sbuffer_release(&ch->sbuf);
    uv_buf_t buf = uv_buf_init(w->data, (unsigned)w->len);
    int rc = uv_write(&w->req, ch->out, &buf, 1, on_written);
    if (rc != 0) {
        if (!ch->output_failed)
            fprintf(stderr, "ami: cannot write to Neovim: %s\n", uv_strerror(rc));
        ch->output_failed = 1;
        free(w->data);
        free(w);
        return RPC_ECLOSED;
    }
    ch->pending_bytes += w->len;
    ch->writes_in_flight++;
    return RPC_OK;
}

static int channel_writable(const rpc_channel *ch) {
    return !ch->freed && !ch->output_failed;
}

msgpack_packer *rpc_reply_begin(rpc_channel *ch, uint32_t msgid) {
    if (!channel_writable(ch))
        return NULL;
    msgpack_pack_array(&ch->pk, 4);
    msgpack_pack_uint32(&ch->pk, RPC_RESPONSE);
    msgpack_pack_uint32(&ch->pk, msgid);
    msgpack_pack_nil(&ch->pk);
    return &ch->pk;
}

int rpc_reply_end(rpc_channel *ch) {
    return channel_flush(ch);
}

int rpc_reply_error(rpc_channel *ch, uint32_t msgid, const char *message) {
    if (!channel_writable(ch))
        return RPC_ECLOSED;
    msgpack_pack_array(&ch->pk, 4);
    msgpack_pack_uint32(&ch->pk, RPC_RESPONSE);
    msgpack_pack_uint32(&ch->pk, msgid);
    msgpack_pack_array(&ch->pk, 2);
    msgpack_pack_int(&ch->pk, 0);
    rpc_pack_cstr(&ch->pk, message);
    msgpack_pack_nil(&ch->pk);
    return channel_flush(ch);
}

msgpack_packer *rpc_notify_begin(rpc_channel *ch, const char *method, uint32_t nparams) {
    if (!channel_writable(ch))
        return NULL;
    msgpack_pack_array(&ch->pk, 3);
    msgpack_pack_uint32(&ch->pk, RPC_NOTIFICATION);
    rpc_pack_cstr(&ch->pk, method);
    msgpack_pack_array(&ch->pk, nparams);
    return &ch->pk;
}

int rpc_notify_end(rpc_channel *ch) {
    return channel_flush(ch);
}

msgpack_packer *rpc_request_begin(rpc_channel *ch, const char *method, uint32_t nparams,
                                  rpc_response_fn on_response, void *ud) {
    if (!channel_writable(ch))
        return NULL;
    ch->begun_msgid = ch->next_msgid++;
    ch->begun_fn = on_response;
    ch->begun_ud = ud;
    msgpack_pack_array(&ch->pk, 4);
    msgpack_pack_uint32(&ch->pk, RPC_REQUEST);
    msgpack_pack_uint32(&ch->pk, ch->begun_msgid);
    rpc_pack_cstr(&ch->pk, method);
    msgpack_pack_array(&ch->pk, nparams);
    return &ch->pk;
}

int rpc_request_end(rpc_channel *ch) {
    rpc_pending *p = malloc(sizeof *p);
    if (!p) {
        ch->sbuf.size = 0;
        return RPC_ENOMEM;
    }
    p->msgid = ch->begun_msgid;
    p->fn = ch->begun_fn;
    p->ud = ch->begun_ud;
    int rc = channel_flush(ch);
    if (rc) {
        free(p);
        return rc;
    }
    p->next = ch->pending;
    ch->pending = p;
    return RPC_OK;
}

/* ---- msgpack helpers ---------------------------------------------------------------- */

void rpc_pack_str(msgpack_packer *pk, const char *s, size_t len) {
    msgpack_pack_str(pk, len);
    msgpack_pack_str_body(pk, s, len);
}

void rpc_pack_cstr(msgpack_packer *pk, const char *s) {
    if (!s)
        msgpack_pack_nil(pk);
    else
        rpc_pack_str(pk, s, strlen(s));
}

int rpc_obj_streq(const msgpack_object *o, const char *s) {
    size_t n = strlen(s);
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == n &&
           memcmp(o->via.str.ptr, s, n) == 0;
}

const msgpack_object *rpc_map_get(const msgpack_object *o, const char *key) {
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++)
        if (rpc_obj_streq(&o->via.map.ptr[i].key, key))
            return &o->via.map.ptr[i].val;
    return NULL;
}

char *rpc_obj_strdup(const msgpack_object *o) {
    if (!o || (o->type != MSGPACK_OBJECT_STR && o->type != MSGPACK_OBJECT_BIN))
        return NULL;
    const char *p = o->type == MSGPACK_OBJECT_STR ? o->via.str.ptr : o->via.bin.ptr;
    size_t n = o->type == MSGPACK_OBJECT_STR ? o->via.str.size : o->via.bin.size;
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}
