/* Unit tests for keys: the config, the environment, api_key_cmd (success, failure, silence,
 * timeout, cancel, cache), and masking of every key found. */
#include "ami/keys.h"
#include "ami/log.h"
#include "check.h"

#include <stdlib.h>

typedef struct got {
    int calls;
    char key[128];
    char source[64];
    char err[512];
} got;

static void on_key(void *ud, const char *key, const char *source, const char *err) {
    got *g = ud;
    g->calls++;
    snprintf(g->key, sizeof g->key, "%s", key ? key : "");
    snprintf(g->source, sizeof g->source, "%s", source ? source : "");
    snprintf(g->err, sizeof g->err, "%s", err ? err : "");
}

static void lookup(keys *k, uv_loop_t *loop, const keys_spec *spec, got *g) {
    memset(g, 0, sizeof *g);
    keys_get(k, spec, on_key, g);
    uv_run(loop, UV_RUN_DEFAULT);
}

static void test_env_and_config(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    keys *k = keys_new(&loop);
    got g;
    setenv("AMI_TEST_KEY", "sk-env-1234567", 1);
    keys_spec spec = {"openrouter", NULL, "AMI_TEST_KEY", NULL, 1, NULL};
    lookup(k, &loop, &spec, &g);
    CHECK_INT(g.calls, 1);
    CHECK_STR(g.key, "sk-env-1234567");
    CHECK_STR(g.source, "AMI_TEST_KEY");
    CHECK(secret_found("x sk-env-1234567 y", 18));
    keys_spec cfg = {"openrouter", "sk-cfg-7654321", "AMI_TEST_KEY", NULL, 1, NULL};
    lookup(k, &loop, &cfg, &g);
    CHECK_STR(g.key, "sk-cfg-7654321");
    CHECK_STR(g.source, "the config file");
    unsetenv("AMI_TEST_KEY");
    keys_free(k);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    secret_clear();
}

static void test_missing(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    keys *k = keys_new(&loop);
    got g;
    unsetenv("AMI_TEST_NOKEY");
    keys_spec spec = {"openrouter", NULL, "AMI_TEST_NOKEY", NULL, 1, NULL};
    lookup(k, &loop, &spec, &g);
    CHECK_INT(g.calls, 1);
    CHECK_STR(g.key, "");
    CHECK_STR(g.err, "no API key for openrouter: set AMI_TEST_NOKEY in the environment ami "
                     "starts from, or providers.openrouter.api_key_cmd");
    setenv("AMI_TEST_NOKEY", "", 1); /* empty counts as missing */
    lookup(k, &loop, &spec, &g);
    CHECK(strstr(g.err, "no API key") != NULL);
    keys_spec optional = {"ollama", NULL, NULL, NULL, 0, NULL};
    lookup(k, &loop, &optional, &g);
    CHECK_INT(g.calls, 1);
    CHECK_STR(g.err, "");
    CHECK_STR(g.key, "");
    keys_free(k);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

static void test_command(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    keys *k = keys_new(&loop);
    got g;
    keys_spec ok = {"p1", NULL, NULL, "printf '  sk-cmd-abcdef  \\nsecond line\\n'", 1, NULL};
    lookup(k, &loop, &ok, &g);
    CHECK_INT(g.calls, 1);
    CHECK_STR(g.key, "sk-cmd-abcdef");
    CHECK_STR(g.source, "api_key_cmd");
    CHECK(secret_found("sk-cmd-abcdef", 13));
    /* Cached: the same command is not run again (it would now print something else). */
    memset(&g, 0, sizeof g);
    CHECK(keys_get(k, &ok, on_key, &g) == NULL);
    CHECK_STR(g.key, "sk-cmd-abcdef");

    keys_spec fails = {"p2", NULL, NULL, "echo 'vault is locked' >&2; exit 3", 1, NULL};
    lookup(k, &loop, &fails, &g);
    CHECK_STR(g.err, "api_key_cmd for p2 failed (exit status 3): vault is locked");
    keys_spec silent = {"p3", NULL, NULL, "true", 1, NULL};
    lookup(k, &loop, &silent, &g);
    CHECK_STR(g.err, "api_key_cmd for p3 printed no key");
    /* A failing command that echoes a known key gets it masked. */
    keys_spec echo = {"p4", NULL, NULL, "echo 'bad key sk-cmd-abcdef' >&2; exit 1", 1, NULL};
    lookup(k, &loop, &echo, &g);
    CHECK(strstr(g.err, "sk-cmd-abcdef") == NULL);
    CHECK(strstr(g.err, "bad key *************") != NULL);
    keys_free(k);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    secret_clear();
}

static void test_timeout_and_cancel(void) {
    uv_loop_t loop;
    uv_loop_init(&loop);
    keys *k = keys_new(&loop);
    keys_set_timeout(k, 200);
    got g;
    keys_spec slow = {"p5", NULL, NULL, "sleep 30", 1, NULL};
    uint64_t t0 = uv_hrtime();
    lookup(k, &loop, &slow, &g);
    CHECK_STR(g.err, "api_key_cmd for p5 did not finish within 0.2 s");
    CHECK(uv_hrtime() - t0 < 5000000000ull);
    /* A command that exits but leaves a child holding its output open. */
    keys_spec bg = {"p6", NULL, NULL, "sleep 30 & echo", 1, NULL};
    lookup(k, &loop, &bg, &g);
    CHECK(strstr(g.err, "did not finish") != NULL || strstr(g.err, "printed no key") != NULL);
    /* Cancelled: no callback at all. */
    memset(&g, 0, sizeof g);
    keys_request *r = keys_get(k, &slow, on_key, &g);
    CHECK(r != NULL);
    keys_cancel(r);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(g.calls, 0);
    /* Freed with a command running: no callback, no leak. */
    keys_get(k, &slow, on_key, &g);
    keys_free(k);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(g.calls, 0);
    CHECK_INT(uv_loop_close(&loop), 0);
}

int main(void) {
    RUN(test_env_and_config);
    RUN(test_missing);
    RUN(test_command);
    RUN(test_timeout_and_cancel);
    return check_report("keys");
}
