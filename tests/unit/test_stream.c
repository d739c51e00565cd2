/* Unit tests for delivery: first piece at once, then one batch per frame for every stream,
 * UTF-8 held across pushes, nothing lost at the end. */
#include "ami/stream.h"
#include "check.h"

#include <stdlib.h>

typedef struct record {
    int batches;     /* batch_begin calls */
    int open;        /* inside a batch */
    int bad_nesting; /* text outside a batch, or nested batches */
    char text[2][4096];
    int pieces[2];
    int last_batch_streams; /* texts in the last batch */
} record;

static void on_begin(void *ud) {
    record *r = ud;
    if (r->open)
        r->bad_nesting = 1;
    r->open = 1;
    r->batches++;
    r->last_batch_streams = 0;
}

static void on_text(void *ud, void *answer, const char *text, size_t len) {
    record *r = ud;
    if (!r->open)
        r->bad_nesting = 1;
    int i = (int)(intptr_t)answer;
    strncat(r->text[i], text, len);
    r->pieces[i]++;
    r->last_batch_streams++;
}

static void on_end(void *ud) {
    record *r = ud;
    r->open = 0;
}

static const stream_sink sink = {on_begin, on_text, on_end};

static void stop_loop(uv_timer_t *t) {
    uv_stop(t->loop);
}

static void run_ms(uv_loop_t *loop, int ms) {
    uv_timer_t t;
    uv_timer_init(loop, &t);
    uv_timer_start(&t, stop_loop, (uint64_t)ms, 0);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
}

static void test_first_piece_at_once_then_per_frame(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    record rec;
    memset(&rec, 0, sizeof rec);
    stream_clock *c = stream_clock_new(&loop, 20, &sink, &rec);
    stream *s = stream_new(c, (void *)0);
    CHECK_INT(stream_push(s, "Hel", 3), 0);
    CHECK_INT(rec.pieces[0], 1); /* delivered synchronously */
    CHECK_STR(rec.text[0], "Hel");
    for (int i = 0; i < 50; i++)
        stream_push(s, "l", 1);
    CHECK_INT(rec.pieces[0], 1); /* coalesced, waiting for the frame */
    run_ms(&loop, 60);
    CHECK_INT(rec.pieces[0], 2); /* one frame: one piece for 50 pushes */
    CHECK_INT((int)strlen(rec.text[0]), 53);
    stream_push(s, "o", 1);
    stream_end(s);
    CHECK_INT(rec.pieces[0], 3);
    CHECK_INT(rec.bad_nesting, 0);
    CHECK_INT((int)stream_delivered(s), 54);
    stream_push(s, "ignored", 7);
    CHECK_INT((int)strlen(rec.text[0]), 54);
    stream_free(s);
    stream_clock_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
}

static void test_one_batch_for_all_streams(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    record rec;
    memset(&rec, 0, sizeof rec);
    stream_clock *c = stream_clock_new(&loop, 10, &sink, &rec);
    stream *a = stream_new(c, (void *)0), *b = stream_new(c, (void *)1);
    stream_push(a, "a", 1);
    stream_push(b, "b", 1);
    int before = rec.batches;
    stream_push(a, "A", 1);
    stream_push(b, "B", 1);
    run_ms(&loop, 40);
    CHECK_INT(rec.batches, before + 1);
    CHECK_INT(rec.last_batch_streams, 2);
    CHECK_STR(rec.text[0], "aA");
    CHECK_STR(rec.text[1], "bB");
    stream_free(a);
    stream_free(b);
    stream_clock_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

static void test_utf8_whole(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    record rec;
    memset(&rec, 0, sizeof rec);
    stream_clock *c = stream_clock_new(&loop, 10, &sink, &rec);
    stream *s = stream_new(c, (void *)0);
    /* "é" split across pushes: nothing goes out until it is whole. */
    stream_push(s, "\xc3", 1);
    CHECK_INT(rec.pieces[0], 0);
    stream_push(s, "\xa9", 1);
    CHECK_INT(rec.pieces[0], 1);
    CHECK_STR(rec.text[0], "\xc3\xa9");
    /* An emoji cut 2+2, then invalid bytes, then a dangling lead byte at the end. */
    stream_push(s, "\xf0\x9f", 2);
    stream_push(s, "\x91\x8b", 2);
    stream_push(s, "\xff", 1);
    stream_push(s, "\xe2\x82", 2);
    stream_end(s);
    CHECK_STR(rec.text[0], "\xc3\xa9\xf0\x9f\x91\x8b\xef\xbf\xbd\xef\xbf\xbd");
    stream_free(s);
    stream_clock_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

static void test_free_while_pending(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    record rec;
    memset(&rec, 0, sizeof rec);
    stream_clock *c = stream_clock_new(&loop, 10, &sink, &rec);
    stream *a = stream_new(c, (void *)0), *b = stream_new(c, (void *)1);
    stream_push(a, "x", 1);
    stream_push(a, "y", 1);
    stream_push(b, "z", 1);
    stream_push(b, "w", 1);
    stream_free(a); /* unlisted: the tick must not touch it */
    run_ms(&loop, 40);
    CHECK_STR(rec.text[1], "zw");
    stream_free(b);
    stream_clock_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

/* Fast text gets longer frames (fewer updates); slow text brings the frame back. */
static void test_frame_follows_the_rate(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    record rec;
    memset(&rec, 0, sizeof rec);
    stream_clock *c = stream_clock_new(&loop, 16, &sink, &rec);
    stream *s = stream_new(c, (void *)0);
    CHECK_INT(stream_push(s, "a", 1), 0);
    CHECK_INT(stream_clock_frame(c), 16);
    /* 2 KiB in one frame (at least 16 ms): at most 128 kB/s, far past reading: the longest
     * frame. */
    char big[2048];
    memset(big, 'x', sizeof big);
    stream_push(s, big, sizeof big);
    run_ms(&loop, 40);
    CHECK_INT(rec.pieces[0], 2);
    CHECK_INT(stream_clock_frame(c), 100);
    /* A byte in a frame of at least 100 ms: one light frame shortens the next, not to the
     * shortest. */
    stream_push(s, "y", 1);
    run_ms(&loop, 150);
    CHECK_INT(rec.pieces[0], 3);
    CHECK(stream_clock_frame(c) > 16 && stream_clock_frame(c) < 100);
    /* A byte a frame for a second and a half: slow text, the shortest frame again. */
    for (int i = 0; i < 15; i++) {
        stream_push(s, "y", 1);
        run_ms(&loop, 100);
    }
    CHECK_INT(stream_clock_frame(c), 16);
    /* A configured frame longer than 100 ms is the ceiling and the floor. */
    stream_clock_set_frame(c, 250);
    CHECK_INT(stream_clock_frame(c), 250);
    stream_end(s);
    stream_free(s);
    stream_clock_free(c);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

/* The clock's rule alone (pure functions): rising at once, falling over about half a
 * second, a real model's uneven frames all long. */
static void test_rate_rule(void) {
    /* 2 KiB in a 16 ms frame: the longest frame at once, the estimate capped where the frame
     * stops growing (800 bytes/s at 16 ms). */
    double r = stream_rate_next(16, 0, 2048, 16);
    CHECK(r > 799 && r < 801);
    CHECK_INT(stream_frame_for(16, r), 100);
    /* 200 tokens/s: 60 to 120 bytes in each 100 ms frame (the old rule, each tick's own rate,
     * made a 60-byte frame's next one 75 ms). */
    size_t frames[] = {90, 60, 120, 70, 55, 100, 60, 65, 110, 80};
    for (size_t i = 0; i < sizeof frames / sizeof *frames; i++) {
        r = stream_rate_next(16, r, frames[i], (unsigned long)stream_frame_for(16, r));
        CHECK(stream_frame_for(16, r) >= 80);
    }
    /* Slow text: a byte a frame; the frame comes down to the shortest within about a second,
     * never growing on the way. */
    long elapsed = 0, f = stream_frame_for(16, r), prev = f;
    while (f > 16 && elapsed < 5000) {
        elapsed += f;
        r = stream_rate_next(16, r, 1, (unsigned long)f);
        f = stream_frame_for(16, r);
        CHECK(f <= prev);
        prev = f;
    }
    CHECK_INT(f, 16);
    CHECK(elapsed > 300 && elapsed < 1500);
    /* After a pause of 2 s, a few bytes: the rate of that tick alone. */
    r = stream_rate_next(16, 800, 5, 2000);
    CHECK(r < 3);
    CHECK_INT(stream_frame_for(16, r), 16);
    /* Other shortest frames: 1 ms still reaches 100 ms frames; 250 ms is every frame. */
    CHECK_INT(stream_frame_for(1, stream_rate_next(1, 0, 100000, 1)), 100);
    CHECK_INT(stream_frame_for(250, stream_rate_next(250, 0, 1, 250)), 250);
    CHECK_INT(stream_frame_for(250, stream_rate_next(250, 0, 100000, 250)), 250);
    /* A tick of no time (elapsed 0) is taken as 1 ms, not a division by zero. */
    CHECK_INT(stream_frame_for(16, stream_rate_next(16, 0, 10, 0)), 100);
}

int main(void) {
    RUN(test_rate_rule);
    RUN(test_first_piece_at_once_then_per_frame);
    RUN(test_frame_follows_the_rate);
    RUN(test_one_batch_for_all_streams);
    RUN(test_utf8_whole);
    RUN(test_free_while_pending);
    return check_report("stream");
}
