/* Unit tests for ledger_votes (pairs, votes, the join with the requests' costs) and
 * arena_report (the leaderboard's text and JSON). */
#include "ami/arena_report.h"
#include "ami/ledger.h"
#include "ami/ledger_votes.h"
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

static char dir[64];

typedef struct got {
    int calls, rc;
    char err[256];
    size_t n;
    char result[8][8], model_a[8][32], answered_a[8][32];
    double cost_a[8];
    long long duration_b[8];
} got;

static void on_done(void *ud, int rc, const char *err) {
    got *g = ud;
    g->calls++;
    g->rc = rc;
    snprintf(g->err, sizeof g->err, "%s", err ? err : "");
}

static void on_read(void *ud, int rc, const ledger_vote *v, size_t n, const char *err) {
    got *g = ud;
    on_done(ud, rc, err);
    g->n = n;
    for (size_t i = 0; i < n && i < 8; i++) {
        snprintf(g->result[i], 8, "%s", v[i].result);
        snprintf(g->model_a[i], 32, "%s", v[i].model_a);
        snprintf(g->answered_a[i], 32, "%s", v[i].answered_a ? v[i].answered_a : "(null)");
        g->cost_a[i] = v[i].cost_a;
        g->duration_b[i] = v[i].duration_b;
    }
}

static ledger_vote pair(const char *id, const char *ra, const char *rb, const char *cmd,
                        const char *lang) {
    ledger_vote v;
    memset(&v, 0, sizeof v);
    v.pair = id;
    v.request_a = ra;
    v.request_b = rb;
    v.model_a = "m/one";
    v.model_b = "m/two";
    v.blind = 1;
    v.command = cmd;
    v.language = lang;
    v.created = 1780000000;
    return v;
}

static ledger_row request_row(const char *uid, double cost, long long duration) {
    ledger_row r;
    memset(&r, 0, sizeof r);
    r.client = "cli";
    r.command = "critique";
    r.model_answered = "m/one-2026";
    r.status = LEDGER_STATUS_OK;
    r.prompt_tokens = r.completion_tokens = 10;
    r.cost_usd = cost;
    r.cost_source = cost < 0 ? COST_UNKNOWN : COST_REPORTED;
    r.co2e_g = -1;
    r.ttft_ms = 5;
    r.duration_ms = duration;
    r.uid = uid;
    return r;
}

static void test_pairs_votes_and_costs(void) {
    char path[128];
    snprintf(path, sizeof path, "%s/v.sqlite3", dir);
    uv_loop_t loop;
    uv_loop_init(&loop);
    ledger *l = ledger_new(&loop, path, 1);
    ledger_row ra = request_row("r-a", 0.0042, 3000), rb = request_row("r-b", -1, 4500);
    CHECK_INT(ledger_record(l, &ra, NULL, NULL), 0);
    CHECK_INT(ledger_record(l, &rb, NULL, NULL), 0);
    ledger_vote p1 = pair("p-1", "r-a", "r-b", "critique", NULL);
    ledger_vote p2 = pair("p-2", "r-x", "r-y", "explain", "English");
    ledger_vote p3 = pair("p-3", "r-z", "r-w", "critique", "French");
    got add = {0}, set1 = {0}, set2 = {0}, none = {0}, all = {0}, expl = {0}, fr = {0};
    CHECK_INT(ledger_votes_add(l, &p1, on_done, &add), 0);
    CHECK_INT(ledger_votes_add(l, &p2, on_done, &add), 0);
    CHECK_INT(ledger_votes_add(l, &p3, on_done, &add), 0);
    CHECK_INT(ledger_votes_set(l, "p-1", "a", "French", on_done, &set1), 0);
    CHECK_INT(ledger_votes_set(l, "p-2", "tie", NULL, on_done, &set2), 0);
    CHECK_INT(ledger_votes_set(l, "p-9", "a", NULL, on_done, &none), 0);
    CHECK_INT(ledger_votes_set(l, "p-1", "maybe", NULL, on_done, &none), LEDGER_EINVAL);
    CHECK_INT(ledger_votes_read(l, NULL, on_read, &all), 0);
    ledger_vote_filter f = {"explain", NULL, 0};
    CHECK_INT(ledger_votes_read(l, &f, on_read, &expl), 0);
    ledger_vote_filter g = {NULL, "fr", 0};
    CHECK_INT(ledger_votes_read(l, &g, on_read, &fr), 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(add.calls, 3);
    CHECK_INT(add.rc, 0);
    CHECK_INT(set1.rc, 0);
    CHECK_INT(none.rc, LEDGER_EINVAL);
    CHECK_STR(none.err, "there is no such pair to vote on");
    /* p-3 was never voted on: it counts for nothing. */
    CHECK_INT(all.n, 2);
    CHECK_STR(all.result[0], "a");
    CHECK_STR(all.answered_a[0], "m/one-2026");
    CHECK(fabs(all.cost_a[0] - 0.0042) < 1e-12);
    CHECK_INT(all.duration_b[0], 4500);
    CHECK_STR(all.answered_a[1], "(null)"); /* p-2's requests have no rows */
    CHECK(all.cost_a[1] < 0);
    CHECK_INT(expl.n, 1);
    CHECK_STR(expl.result[0], "tie");
    CHECK_INT(fr.n, 1); /* "fr" is French; the vote filled in the language */
    CHECK_STR(fr.result[0], "a");
    ledger_close(l, NULL, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
}

static ledger_vote v(const char *a, const char *b, const char *r) {
    ledger_vote x;
    memset(&x, 0, sizeof x);
    x.model_a = a;
    x.model_b = b;
    x.result = r;
    x.cost_a = x.cost_b = -1;
    x.duration_a = 2000;
    x.duration_b = 4000;
    return x;
}

static void test_report(void) {
    buf out = {0};
    CHECK_INT(arena_report_text(NULL, 0, NULL, &out), 0);
    CHECK(strstr(out.data, "ami arena: no votes yet.") == out.data);
    buf_free(&out);
    ledger_vote votes[7];
    for (int i = 0; i < 5; i++)
        votes[i] = v("m/winner", "m/loser", "a");
    votes[5] = v("m/winner", "m/winner", "a"); /* a model against itself says nothing */
    votes[6] = v("m/new", "m/loser", "bad");
    votes[0].cost_a = 0.01;
    votes[1].cost_a = 0.03;
    arena_report_options o = {5, 200, "critique"};
    CHECK_INT(arena_report_text(votes, 7, &o, &out), 0);
    CHECK(strstr(out.data, "ami arena: 6 votes on 3 models (critique)") == out.data);
    CHECK(strstr(out.data, "  1  m/winner") != NULL);
    CHECK(strstr(out.data, "Not enough votes yet (fewer than 5), listed apart:") != NULL);
    CHECK(strstr(out.data, "$0.02") != NULL); /* the median of 0.01 and 0.03 */
    CHECK(strstr(out.data, "    5 / 0 / 0") != NULL);
    buf_free(&out);
    cJSON *j = arena_report_json(votes, 7, &o);
    CHECK(j != NULL);
    CHECK_INT(cJSON_GetObjectItem(j, "votes")->valueint, 6);
    cJSON *first = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "models"), 0);
    CHECK_STR(cJSON_GetObjectItem(first, "model")->valuestring, "m/winner");
    CHECK_INT(cJSON_GetObjectItem(first, "rank")->valueint, 1);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(first, "high"))); /* never lost: open end */
    CHECK(cJSON_GetObjectItem(first, "score")->valuedouble > 1000);
    CHECK(fabs(cJSON_GetObjectItem(first, "median_seconds")->valuedouble - 2.0) < 1e-9);
    cJSON *last = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "models"), 2);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(last, "rank")));
    cJSON_Delete(j);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/ami-votes-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    RUN(test_pairs_votes_and_costs);
    RUN(test_report);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return check_report("ledger_votes");
}
