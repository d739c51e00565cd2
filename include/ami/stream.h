/* stream: delivery of answer text to a sink (Neovim or stdout) in few, UTF-8-whole pieces.
 *
 * Each answer has a stream; all streams of one sink share a clock.  Text pushed into a stream
 * is made UTF-8-whole (a code point split across pushes is held; invalid bytes become
 * U+FFFD) and coalesced:
 *   - the first piece of an answer goes out at once (time to first token matters);
 *   - after that, the clock delivers what accumulated once per frame, for every stream with
 *     pending text, as one batch: one Neovim notification per frame whatever the number of
 *     answers streaming;
 *   - a frame is frame_ms while the text comes at most at about 25 words a second; faster
 *     text, which nobody reads as it arrives, gets fewer, larger updates: the frame grows
 *     with the rate, up to 100 ms (or frame_ms if that is longer) from about 800 bytes a
 *     second, and shrinks back when the text slows down.  Each update costs the editor a
 *     wake-up and a redraw, whatever its size.  The rate is the one of the last tick when
 *     it rose (fast text gets long frames at once), and falls toward a slower tick's
 *     with a time constant of half a second: at 200 tokens/s a 100 ms frame holds 60 to
 *     120 bytes, and one light frame does not make the next one short; slow text brings
 *     the shortest frame back within about a second.
 * The clock's timer runs only while some stream has pending text.
 *
 * Delivery knows nothing of providers: it takes text, whoever made it.
 */
#ifndef AMI_STREAM_H
#define AMI_STREAM_H

#include <stddef.h>
#include <uv.h>

typedef struct stream_clock stream_clock;
typedef struct stream stream;

/* The sink: a batch is begin, one text call per stream with something to say, end. */
typedef struct stream_sink {
    void (*batch_begin)(void *sink_ud);
    /// text: UTF-8-whole, len > 0, borrowed for the call.  answer_ud: the stream's tag.
    void (*text)(void *sink_ud, void *answer_ud, const char *text, size_t len);
    void (*batch_end)(void *sink_ud);
} stream_sink;

/// A clock delivering to sink (copied) every frame_ms or more (see above).  NULL when out of
/// memory.  Free with stream_clock_free() after every stream of it is freed.
stream_clock *stream_clock_new(uv_loop_t *loop, long frame_ms, const stream_sink *sink,
                               void *sink_ud);
void stream_clock_set_frame(stream_clock *c, long frame_ms);
/// The next frame's length (ms), as the last tick's rate set it.
long stream_clock_frame(const stream_clock *c);
/// Delivers everything pending now, in one batch.
void stream_clock_flush(stream_clock *c);
/// Closes the timer (the loop must run once more to finish closing) and frees the clock.
void stream_clock_free(stream_clock *c);

/// The rate estimate (bytes/s) after a tick that delivered bytes over elapsed_ms since the
/// previous one, given the estimate before it (0 at first), for a clock whose shortest frame
/// is frame_ms (> 0).  Pure: the clock's rule, for the tests.
double stream_rate_next(long frame_ms, double rate, size_t bytes, unsigned long elapsed_ms);
/// The frame (ms) for a rate estimate, with frame_ms (> 0) the shortest.  Pure.
long stream_frame_for(long frame_ms, double rate);

/// A stream for one answer, tagged answer_ud for the sink.  NULL when out of memory.
stream *stream_new(stream_clock *c, void *answer_ud);
/// Adds bytes of answer text.  Returns 0 or -1 (out of memory: the bytes are lost, and the
/// caller should fail the answer).
int stream_push(stream *s, const char *bytes, size_t len);
/// Ends the text: a dangling partial code point becomes U+FFFD, and whatever is pending is
/// delivered now, in a batch of its own, before the caller reports the end.
void stream_end(stream *s);
/// Bytes delivered to the sink so far.
size_t stream_delivered(const stream *s);
/// Frees the stream.  Text pushed since the last delivery is dropped: call stream_end() first
/// to keep it.
void stream_free(stream *s);

#endif
