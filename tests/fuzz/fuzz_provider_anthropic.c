/* libFuzzer target for the Anthropic stream decoder: the same harness as
 * fuzz_provider_openai.c (input layout, fast path versus cJSON, the body parsers), with the
 * Anthropic dialect.
 *
 * Build and run (from the repository root):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_DEFAULT_SOURCE \
 *     -D_POSIX_C_SOURCE=200809L -Iinclude -I/usr/include/cjson \
 *     tests/fuzz/fuzz_provider_anthropic.c src/provider*.c src/buf.c src/log.c src/utf8.c \
 *     -lcjson -lm \
 *     -o /tmp/fuzz_provider_anthropic
 *   cp -r tests/fuzz/corpus/provider_anthropic /tmp/corpus_pa && \
 *     /tmp/fuzz_provider_anthropic -max_total_time=60 /tmp/corpus_pa
 */
#define FUZZ_DIALECT PROVIDER_ANTHROPIC
#include "fuzz_provider_openai.c"
