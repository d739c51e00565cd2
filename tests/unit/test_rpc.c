/* Unit tests for the msgpack-RPC reader: framing across reads, shapes, malformed input. */
#include "ami/rpc.h"
#include "check.h"

#include <stdlib.h>

typedef struct seen {
    int count;
    rpc_kind kind[16];
    uint32_t msgid[16];
    char method[16][64];
    uint32_t nparams[16];
} seen;

static void on_msg(void *ud, const rpc_message *m) {
    seen *s = ud;
    if (s->count >= 16)
        return;
    s->kind[s->count] = m->kind;
    s->msgid[s->count] = m->msgid;
    if (m->method)
        snprintf(s->method[s->count], 64, "%.*s", (int)m->method_len, m->method);
    s->nparams[s->count] = m->params ? m->params->via.array.size : 0;
    s->count++;
}

/* Packs [0, id, method, [1, "two"]] into sb. */
static void pack_request(msgpack_sbuffer *sb, uint32_t id, const char *method) {
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_int(&pk, 0);
    msgpack_pack_uint32(&pk, id);
    rpc_pack_cstr(&pk, method);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int(&pk, 1);
    rpc_pack_cstr(&pk, "two");
}

static void pack_notification(msgpack_sbuffer *sb, const char *method) {
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_int(&pk, 2);
    rpc_pack_cstr(&pk, method);
    msgpack_pack_array(&pk, 0);
}

static void test_partial_read(void) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_request(&sb, 7, "ping");
    seen s = {0};
    rpc_reader *r = rpc_reader_new(on_msg, &s);
    char err[256];
    CHECK_INT(rpc_reader_feed(r, sb.data, sb.size - 1, err, sizeof err), RPC_OK);
    CHECK_INT(s.count, 0);
    CHECK_INT(rpc_reader_feed(r, sb.data + sb.size - 1, 1, err, sizeof err), RPC_OK);
    CHECK_INT(s.count, 1);
    CHECK_INT(s.kind[0], RPC_REQUEST);
    CHECK_INT(s.msgid[0], 7);
    CHECK_STR(s.method[0], "ping");
    CHECK_INT(s.nparams[0], 2);
    rpc_reader_free(r);
    msgpack_sbuffer_destroy(&sb);
}

static void test_byte_by_byte_and_many_per_read(void) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_request(&sb, 1, "a");
    pack_notification(&sb, "b");
    pack_request(&sb, 4000000000u, "c");
    char err[256];
    /* One read holding all three. */
    seen s = {0};
    rpc_reader *r = rpc_reader_new(on_msg, &s);
    CHECK_INT(rpc_reader_feed(r, sb.data, sb.size, err, sizeof err), RPC_OK);
    CHECK_INT(s.count, 3);
    CHECK_INT(s.kind[1], RPC_NOTIFICATION);
    CHECK_STR(s.method[1], "b");
    CHECK_INT(s.msgid[2], 4000000000u);
    rpc_reader_free(r);
    /* Byte by byte. */
    seen t = {0};
    r = rpc_reader_new(on_msg, &t);
    for (size_t i = 0; i < sb.size; i++)
        CHECK_INT(rpc_reader_feed(r, sb.data + i, 1, err, sizeof err), RPC_OK);
    CHECK_INT(t.count, 3);
    CHECK_STR(t.method[2], "c");
    rpc_reader_free(r);
    /* Every split point. */
    for (size_t cut = 1; cut < sb.size; cut++) {
        seen u = {0};
        r = rpc_reader_new(on_msg, &u);
        CHECK_INT(rpc_reader_feed(r, sb.data, cut, err, sizeof err), RPC_OK);
        CHECK_INT(rpc_reader_feed(r, sb.data + cut, sb.size - cut, err, sizeof err), RPC_OK);
        CHECK_INT(u.count, 3);
        rpc_reader_free(r);
    }
    msgpack_sbuffer_destroy(&sb);
}

static void test_response(void) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 3);
    msgpack_pack_nil(&pk);
    rpc_pack_cstr(&pk, "ok");
    seen s = {0};
    char err[256];
    rpc_reader *r = rpc_reader_new(on_msg, &s);
    CHECK_INT(rpc_reader_feed(r, sb.data, sb.size, err, sizeof err), RPC_OK);
    CHECK_INT(s.count, 1);
    CHECK_INT(s.kind[0], RPC_RESPONSE);
    CHECK_INT(s.msgid[0], 3);
    rpc_reader_free(r);
    msgpack_sbuffer_destroy(&sb);
}

static int feed_bytes(const char *bytes, size_t n, char *err, size_t errlen, int *count) {
    seen s = {0};
    rpc_reader *r = rpc_reader_new(on_msg, &s);
    int rc = rpc_reader_feed(r, bytes, n, err, errlen);
    *count = s.count;
    rpc_reader_free(r);
    return rc;
}

static void test_malformed(void) {
    char err[256];
    int count;
    /* 0xc1 is never valid msgpack. */
    CHECK_INT(feed_bytes("\xc1", 1, err, sizeof err, &count), RPC_EMALFORMED);
    CHECK(strstr(err, "not valid msgpack") != NULL);
    /* A valid message followed by garbage: the message is still delivered. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    pack_notification(&sb, "x");
    msgpack_sbuffer_write(&sb, "\xc1", 1);
    CHECK_INT(feed_bytes(sb.data, sb.size, err, sizeof err, &count), RPC_EMALFORMED);
    CHECK_INT(count, 1);
    msgpack_sbuffer_destroy(&sb);
}

static void test_not_rpc_shapes(void) {
    char err[256];
    int count;
    static const struct {
        const char *bytes;
        size_t len;
    } cases[] = {
        {"\x2a", 1},                  /* 42 */
        {"\x93\x00\x01\xa1x", 5},     /* [0, 1, "x"]: request needs 4 */
        {"\x94\x05\x01\xa1x\x90", 6}, /* type 5 */
        {"\x94\x00\xff\xa1x\x90", 6}, /* msgid -1 */
        {"\x94\x00\x01\x07\x90", 5},  /* method not a string */
        {"\x94\x00\x01\xa1x\x07", 6}, /* params not an array */
        {"\x93\x02\xa0\x90", 4},      /* empty method name */
        {"\x94\x01\x01\xc0", 4},      /* response missing its result: incomplete, so */
    };
    for (size_t i = 0; i + 1 < sizeof cases / sizeof cases[0]; i++) {
        CHECK_INT(feed_bytes(cases[i].bytes, cases[i].len, err, sizeof err, &count), RPC_EINVALID);
        CHECK_INT(count, 0);
        CHECK(strstr(err, "not a msgpack-RPC") != NULL);
    }
    /* ... the last case just waits for more bytes. */
    CHECK_INT(feed_bytes(cases[7].bytes, cases[7].len, err, sizeof err, &count), RPC_OK);
}

static void test_long_method_name(void) {
    char bytes[3 + 3 + 300];
    memcpy(bytes, "\x93\x02\xd9", 3);
    bytes[3] = (char)(unsigned char)255; /* str8 of 255 bytes: the limit is 256, so valid */
    memset(bytes + 4, 'm', 255);
    bytes[259] = (char)0x90;
    char err[256];
    int count;
    CHECK_INT(feed_bytes(bytes, 260, err, sizeof err, &count), RPC_OK);
    CHECK_INT(count, 1);
    /* 300 bytes: str16 header. */
    char big[4 + 300 + 1];
    memcpy(big, "\x93\x02\xda\x01", 4);
    big[4] = 0x2c; /* 0x012c = 300 */
    memset(big + 5, 'm', 300);
    char full[306];
    memcpy(full, big, 305);
    full[305] = (char)0x90;
    CHECK_INT(feed_bytes(full, 306, err, sizeof err, &count), RPC_EINVALID);
}

/* A 5-byte header announcing four billion elements must be refused before msgpack-c tries
 * to allocate for them. */
static void test_huge_container_header(void) {
    char err[256];
    int count;
    CHECK_INT(feed_bytes("\xdd\xff\xff\xff\xff", 5, err, sizeof err, &count), RPC_EINVALID);
    CHECK(strstr(err, "announces") != NULL);
    CHECK_INT(feed_bytes("\xdf\x10\x00\x00\x00", 5, err, sizeof err, &count), RPC_EINVALID);
    /* Nested inside a valid prefix, split across reads. */
    seen s = {0};
    rpc_reader *r = rpc_reader_new(on_msg, &s);
    CHECK_INT(rpc_reader_feed(r, "\x93\x02\xa1x\x91\xdd", 6, err, sizeof err), RPC_OK);
    CHECK_INT(rpc_reader_feed(r, "\x7f\xff\xff\xff", 4, err, sizeof err), RPC_EINVALID);
    rpc_reader_free(r);
}

static void test_deep_nesting(void) {
    /* 100 nested arrays inside params: msgpack-c's stack is smaller; must fail cleanly. */
    char bytes[3 + 100 + 1];
    memcpy(bytes, "\x93\x02\xa1", 3);
    char full[4 + 1 + 200];
    size_t n = 0;
    memcpy(full, "\x93\x02\xa1x", 4);
    n = 4;
    for (int i = 0; i < 200; i++)
        full[n++] = (char)0x91;
    full[n++] = 0x01;
    char err[256];
    int count;
    int rc = feed_bytes(full, n, err, sizeof err, &count);
    CHECK(rc == RPC_EINVALID || rc == RPC_EMALFORMED);
    CHECK_INT(count, 0);
    (void)bytes;
}

static void test_large_message(void) {
    /* A 10 MB document in one request, fed in 64 KiB reads. */
    size_t size = 10 * 1024 * 1024;
    char *doc = malloc(size);
    memset(doc, 'a', size);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_int(&pk, 0);
    msgpack_pack_int(&pk, 9);
    rpc_pack_cstr(&pk, "start");
    msgpack_pack_array(&pk, 1);
    rpc_pack_str(&pk, doc, size);
    seen s = {0};
    char err[256];
    rpc_reader *r = rpc_reader_new(on_msg, &s);
    for (size_t off = 0; off < sb.size; off += 65536) {
        size_t n = sb.size - off < 65536 ? sb.size - off : 65536;
        CHECK_INT(rpc_reader_feed(r, sb.data + off, n, err, sizeof err), RPC_OK);
    }
    CHECK_INT(s.count, 1);
    CHECK_STR(s.method[0], "start");
    rpc_reader_free(r);
    msgpack_sbuffer_destroy(&sb);
    free(doc);
}

static void test_helpers(void) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    rpc_pack_cstr(&pk, "name");
    rpc_pack_cstr(&pk, "ami");
    rpc_pack_cstr(&pk, "n");
    msgpack_pack_int(&pk, 3);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    CHECK(msgpack_unpack_next(&u, sb.data, sb.size, NULL) == MSGPACK_UNPACK_SUCCESS);
    const msgpack_object *v = rpc_map_get(&u.data, "name");
    CHECK(rpc_obj_streq(v, "ami"));
    char *s = rpc_obj_strdup(v);
    CHECK_STR(s, "ami");
    free(s);
    CHECK(rpc_map_get(&u.data, "missing") == NULL);
    CHECK(rpc_obj_strdup(rpc_map_get(&u.data, "n")) == NULL);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

int main(void) {
    RUN(test_partial_read);
    RUN(test_byte_by_byte_and_many_per_read);
    RUN(test_response);
    RUN(test_malformed);
    RUN(test_not_rpc_shapes);
    RUN(test_long_method_name);
    RUN(test_huge_container_header);
    RUN(test_deep_nesting);
    RUN(test_large_message);
    RUN(test_helpers);
    return check_report("rpc");
}
