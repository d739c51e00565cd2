/* stream: coalesced, UTF-8-whole delivery.  See include/ami/stream.h.
 *
 * A stream's life:
 *
 *   new ──push──► FIRST: deliver at once ──► IDLE ──push──► PENDING (on the clock's list)
 *                                             ▲                │ frame tick: deliver
 *                                             └────────────────┘
 *   any ──end──► deliver what is pending now ──► ENDED (pushes ignored)
 *
 * The frame adapts to the rate (see stream.h): after each tick the clock measures the bytes
 * per second it just delivered, over all streams, and sets the next frame to
 * frame_ms * rate / STREAM_RATE_FULL, within [frame_ms, max(frame_ms, STREAM_FRAME_MAX_MS)],
 * where rate is the tick's own rate when it is higher than the estimate, else the estimate
 * moves toward it by elapsed / STREAM_RATE_FALL_MS (see stream_rate_next).
 */
#include "ami/stream.h"

#include "ami/buf.h"
#include "ami/utf8.h"

#include <stdlib.h>
#include <string.h>

struct stream {
    stream_clock *clock;
    void *answer_ud;
    utf8_state utf8;
    buf pending;
    size_t delivered;
    int listed; /* on the clock's pending list */
    int ended;
    stream *next_pending;
};

/* Up to this rate (bytes/s: about 25 words a second, several times anyone's reading speed)
 * every frame is frame_ms; faster text gets proportionally longer frames, up to
 * STREAM_FRAME_MAX_MS, reached at 100/16 of this rate (a real model's 200 tokens/s is past
 * it).  Each frame costs Neovim a wake-up and a redraw (about 0.2 ms headless, more in a
 * TUI) whatever its size, so a slow answer at 16 ms frames costs a third of what one update
 * per token does, and at 100 ms frames a twentieth. */
#define STREAM_RATE_FULL    128
#define STREAM_FRAME_MAX_MS 100
/* A falling rate is followed over about this long (ms).  Measured on the bench's real-pace
 * answer (2,000 tokens at 200/s, about 920 bytes/s): following each tick's own rate, one
 * frame in five was lighter than 80 bytes and made the next one 55-80 ms, 110 wake-ups of
 * Neovim instead of 101 (doc/BENCHMARKS.md). */
#define STREAM_RATE_FALL_MS 500

struct stream_clock {
    uv_timer_t *timer;  /* separately allocated: freed in its close callback */
    long frame_ms;      /* the shortest frame (configured) */
    long next_ms;       /* the current frame */
    double rate;        /* the rate estimate, bytes/s (stream_rate_next) */
    uint64_t last_tick; /* uv_now() of the last tick that delivered */
    size_t batch_bytes; /* bytes delivered by the batch in progress */
    stream_sink sink;
    void *sink_ud;
    stream *pending; /* streams with text to deliver, in arrival order (reversed list) */
    int armed;
};

stream_clock *stream_clock_new(uv_loop_t *loop, long frame_ms, const stream_sink *sink,
                               void *sink_ud) {
    stream_clock *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->timer = malloc(sizeof *c->timer);
    if (!c->timer || uv_timer_init(loop, c->timer) != 0) {
        free(c->timer);
        free(c);
        return NULL;
    }
    c->timer->data = c;
    c->frame_ms = c->next_ms = frame_ms > 0 ? frame_ms : 16;
    c->last_tick = uv_now(loop);
    c->sink = *sink;
    c->sink_ud = sink_ud;
    return c;
}

void stream_clock_set_frame(stream_clock *c, long frame_ms) {
    if (frame_ms > 0)
        c->frame_ms = c->next_ms = frame_ms;
}

static void deliver(stream *s) {
    if (s->pending.len == 0)
        return;
    s->clock->sink.text(s->clock->sink_ud, s->answer_ud, s->pending.data, s->pending.len);
    s->delivered += s->pending.len;
    s->clock->batch_bytes += s->pending.len;
    buf_clear(&s->pending);
}

static long longest_frame(long frame_ms) {
    return frame_ms > STREAM_FRAME_MAX_MS ? frame_ms : STREAM_FRAME_MAX_MS;
}

double stream_rate_next(long frame_ms, double rate, size_t bytes, unsigned long elapsed_ms) {
    double ms = elapsed_ms > 0 ? (double)elapsed_ms : 1.0;
    double tick = (double)bytes * 1000.0 / ms;
    /* The rate that already gives the longest frame: a faster tick tells nothing more (and a
     * flood's 100 kB/s would otherwise take seconds to fall from). */
    double top = (double)STREAM_RATE_FULL * (double)longest_frame(frame_ms) / (double)frame_ms;
    if (tick > top)
        tick = top;
    if (tick >= rate)
        return tick; /* rising: at once */
    double w = ms >= STREAM_RATE_FALL_MS ? 1.0 : ms / STREAM_RATE_FALL_MS;
    return rate + (tick - rate) * w;
}

long stream_frame_for(long frame_ms, double rate) {
    long longest = longest_frame(frame_ms);
    double next = (double)frame_ms * rate / STREAM_RATE_FULL;
    if (next > (double)longest)
        return longest;
    return next > (double)frame_ms ? (long)next : frame_ms;
}

/* The next frame, from the rate of the text this tick delivered. */
static void adapt(stream_clock *c) {
    uint64_t now = uv_now(c->timer->loop);
    uint64_t elapsed = now > c->last_tick ? now - c->last_tick : 0; /* 0: taken as 1 ms */
    c->rate = stream_rate_next(c->frame_ms, c->rate, c->batch_bytes, (unsigned long)elapsed);
    c->next_ms = stream_frame_for(c->frame_ms, c->rate);
    c->last_tick = now;
}

long stream_clock_frame(const stream_clock *c) {
    return c->next_ms;
}

void stream_clock_flush(stream_clock *c) {
    if (!c->pending)
        return;
    /* The list is newest first; deliver in arrival order. */
    stream *rev = NULL;
    while (c->pending) {
        stream *s = c->pending;
        c->pending = s->next_pending;
        s->next_pending = rev;
        rev = s;
    }
    c->sink.batch_begin(c->sink_ud);
    while (rev) {
        stream *s = rev;
        rev = s->next_pending;
        s->next_pending = NULL;
        s->listed = 0;
        deliver(s);
    }
    c->sink.batch_end(c->sink_ud);
}

static void on_tick(uv_timer_t *t) {
    stream_clock *c = t->data;
    c->armed = 0;
    c->batch_bytes = 0;
    stream_clock_flush(c);
    adapt(c);
}

static void on_timer_closed(uv_handle_t *h) {
    free(h);
}

void stream_clock_free(stream_clock *c) {
    if (!c)
        return;
    uv_timer_stop(c->timer);
    uv_close((uv_handle_t *)c->timer, on_timer_closed);
    free(c);
}

stream *stream_new(stream_clock *c, void *answer_ud) {
    stream *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->clock = c;
    s->answer_ud = answer_ud;
    return s;
}

static void unlist(stream *s) {
    if (!s->listed)
        return;
    for (stream **pp = &s->clock->pending; *pp; pp = &(*pp)->next_pending) {
        if (*pp == s) {
            *pp = s->next_pending;
            break;
        }
    }
    s->listed = 0;
    s->next_pending = NULL;
}

int stream_push(stream *s, const char *bytes, size_t len) {
    if (s->ended || len == 0)
        return 0;
    if (utf8_filter(&s->utf8, bytes, len, &s->pending) != 0)
        return -1;
    if (s->pending.len == 0)
        return 0; /* only part of a code point so far */
    stream_clock *c = s->clock;
    if (s->delivered == 0 && !s->listed) {
        /* The first piece: now, alone. */
        c->sink.batch_begin(c->sink_ud);
        deliver(s);
        c->sink.batch_end(c->sink_ud);
        return 0;
    }
    if (!s->listed) {
        s->listed = 1;
        s->next_pending = c->pending;
        c->pending = s;
    }
    if (!c->armed) {
        c->armed = 1;
        uv_timer_start(c->timer, on_tick, (uint64_t)c->next_ms, 0);
    }
    return 0;
}

void stream_end(stream *s) {
    if (s->ended)
        return;
    s->ended = 1;
    utf8_finish(&s->utf8, &s->pending);
    unlist(s);
    if (s->pending.len) {
        stream_clock *c = s->clock;
        c->sink.batch_begin(c->sink_ud);
        deliver(s);
        c->sink.batch_end(c->sink_ud);
    }
}

size_t stream_delivered(const stream *s) {
    return s->delivered;
}

void stream_free(stream *s) {
    if (!s)
        return;
    unlist(s);
    buf_free(&s->pending);
    free(s);
}
