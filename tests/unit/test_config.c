/* Unit tests for config: defaults, every field type, errors naming the field. */
#include "ami/config.h"
#include "check.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Applies json over fresh defaults; returns the rc and leaves the error in err. */
static int apply(const char *json, ami_config *c, char *err, size_t errlen) {
    config_init(c);
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        snprintf(err, errlen, "test: bad JSON");
        return -99;
    }
    int rc = config_apply_json(c, root, err, errlen);
    cJSON_Delete(root);
    return rc;
}

static void test_defaults(void) {
    ami_config c;
    CHECK_INT(config_init(&c), 0);
    CHECK_STR(c.provider, "openrouter");
    CHECK_STR(c.model, "anthropic/claude-sonnet-4");
    CHECK_INT(c.max_tokens, 2048);
    CHECK(c.temperature < 0);
    CHECK(c.budget_monthly_usd < 0);
    CHECK_INT(c.ledger_enabled, 1);
    CHECK_INT(c.n_carbon_points, 3);
    config_free(&c);
}

static void test_applies_fields(void) {
    ami_config c;
    char err[256] = "";
    int rc = apply(
        "{\"provider\":\"anthropic\",\"model\":\"claude-sonnet-4-0\",\"max_tokens\":512,"
        "\"temperature\":0.3,\"budget\":{\"monthly_usd\":5,\"per_request_usd\":0.05},"
        "\"ledger\":{\"store_text\":false,\"path\":\"~/l.db\"},"
        "\"providers\":{\"local\":{\"kind\":\"openai\",\"base_url\":\"http://127.0.0.1:8080/v1\"}},"
        "\"prices\":{\"m/x\":{\"prompt\":3,\"completion\":15}},"
        "\"sidebar\":{\"position\":\"left\",\"width\":50},\"quote\":{\"format\":\"plain\"}}",
        &c, err, sizeof err);
    CHECK_INT(rc, 0);
    CHECK_STR(c.provider, "anthropic");
    CHECK_INT(c.max_tokens, 512);
    CHECK(c.temperature > 0.29 && c.temperature < 0.31);
    CHECK(c.budget_monthly_usd == 5);
    CHECK(c.budget_per_request_usd == 0.05);
    CHECK_INT(c.ledger_store_text, 0);
    const config_provider *p = config_find_provider(&c, "local");
    CHECK(p != NULL);
    if (p) {
        CHECK_STR(p->kind, "openai");
        CHECK_STR(p->base_url, "http://127.0.0.1:8080/v1");
    }
    double pp = 0, cp = 0;
    CHECK_INT(config_find_price(&c, "m/x", &pp, &cp), 0);
    CHECK(pp == 3 && cp == 15);
    CHECK_INT(config_find_price(&c, "m/y", &pp, &cp), -1);
    setenv("HOME", "/home/u", 1);
    char *lp = config_ledger_path(&c);
    CHECK_STR(lp, "/home/u/l.db");
    free(lp);
    config_free(&c);
}

static void test_errors_name_the_field(void) {
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{\"max_tokens\":\"a lot\"}",
         "config: max_tokens must be a whole number of tokens, not a string"},
        {"{\"max_tokens\":1.5}",
         "config: max_tokens must be a whole number of tokens, not a number"},
        {"{\"max_tokens\":0}", "config: max_tokens must be between 1 and 1e+07, not 0"},
        {"{\"budget\":{\"montly_usd\":5}}",
         "config: unknown field budget.montly_usd (did you mean budget.monthly_usd?)"},
        {"{\"budget\":{\"monthly_usd\":\"5\"}}",
         "config: budget.monthly_usd must be a number of US dollars, or null, not a string"},
        {"{\"colour\":1}", "config: unknown field colour"},
        {"{\"sidebar\":{\"position\":\"middle\"}}",
         "config: sidebar.position must be right, left, top or bottom, not \"middle\""},
        {"{\"providers\":{\"x\":{\"kind\":\"grpc\"}}}",
         "config: providers.x.kind must be \"openai\" (any OpenAI-compatible server) or "
         "\"anthropic\", not \"grpc\""},
        {"{\"providers\":{\"x\":3}}", "config: providers.x must be an object, not a number"},
        {"{\"prices\":{\"m\":{\"prompt\":1}}}",
         "config: prices.m needs both prompt and completion prices"},
        {"{\"ledger\":{\"enabled\":1}}",
         "config: ledger.enabled must be true or false, not a number"},
        {"{\"carbon\":{\"points\":[[100,1],[50,2]]}}",
         "config: carbon.points[2] must be a pair [total tokens, grams] with tokens > 0 and "
         "greater than the previous pair's"},
        {"[1]", "config: the settings must be a JSON object, not a list"},
        {"{\"model\":\"\"}",
         "config: model must be a model id such as \"anthropic/claude-sonnet-4\", not a string"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ami_config c;
        char err[256] = "";
        CHECK_INT(apply(cases[i].json, &c, err, sizeof err), -1);
        CHECK_STR(err, cases[i].want);
        config_free(&c);
    }
}

static void test_empty_lua_table_is_an_object(void) {
    ami_config c;
    char err[256] = "";
    CHECK_INT(apply("{\"budget\":[],\"providers\":[]}", &c, err, sizeof err), 0);
    config_free(&c);
}

static void test_file(void) {
    char dir[] = "/tmp/ami-config-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[128];
    snprintf(path, sizeof path, "%s/config.json", dir);
    ami_config c;
    char err[512] = "";
    config_init(&c);
    CHECK_INT(config_load_file(&c, path, 1, err, sizeof err), 1);
    CHECK_INT(config_load_file(&c, path, 0, err, sizeof err), -1);
    FILE *f = fopen(path, "w");
    fputs("{\n  \"model\": \"m\",\n  \"max_tokens\": ,\n}\n", f);
    fclose(f);
    CHECK_INT(config_load_file(&c, path, 1, err, sizeof err), -1);
    CHECK(strstr(err, "is not valid JSON (near line 3)") != NULL);
    f = fopen(path, "w");
    fputs("{\"providers\":{\"openrouter\":{\"api_key\":\"sk-or-secret\"}}}", f);
    fclose(f);
    chmod(path, 0644);
    CHECK_INT(config_load_file(&c, path, 1, err, sizeof err), 0);
    CHECK_INT(c.file_has_key, 1);
    CHECK_INT(c.file_too_open, 1);
    chmod(path, 0600);
    config_free(&c);
    config_init(&c);
    CHECK_INT(config_load_file(&c, path, 1, err, sizeof err), 0);
    CHECK_INT(c.file_too_open, 0);
    f = fopen(path, "w");
    fputs("{\"ledger\":{\"path\":5}}", f);
    fclose(f);
    CHECK_INT(config_load_file(&c, path, 1, err, sizeof err), -1);
    char want[256];
    snprintf(want, sizeof want,
             "config: %s: ledger.path must be a file path, or null, not a number", path);
    CHECK_STR(err, want);
    config_free(&c);
    unlink(path);
    rmdir(dir);
}

static void test_defaults_json_round_trips(void) {
    char *json = config_defaults_json();
    CHECK(json != NULL);
    ami_config c;
    char err[256] = "";
    CHECK_INT(apply(json, &c, err, sizeof err), 0);
    CHECK_STR(err, "");
    config_free(&c);
    free(json);
}

int main(void) {
    RUN(test_defaults);
    RUN(test_applies_fields);
    RUN(test_errors_name_the_field);
    RUN(test_empty_lua_table_is_an_object);
    RUN(test_file);
    RUN(test_defaults_json_round_trips);
    return check_report("config");
}
