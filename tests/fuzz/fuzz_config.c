/* libFuzzer target for the config loader (src/config.c): any JSON document applied over the
 * defaults must either succeed or fail with one sentence starting "config: ", and the config
 * must stay valid (freeable, usable) either way.
 *
 * Run with `make fuzz` (FUZZ_TIME seconds per target).
 */
#include "ami/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    cJSON *root = cJSON_ParseWithLength((const char *)data, size);
    if (!root)
        return 0;
    ami_config c;
    if (config_init(&c) != 0)
        return 0;
    char err[512] = "";
    int rc = config_apply_json(&c, root, err, sizeof err);
    if (rc != 0 && strncmp(err, "config: ", 8) != 0)
        abort();
    /* Whatever happened, the settings are still whole. */
    if (!c.provider || !c.model || !c.language || c.max_tokens < 1)
        abort();
    double p, q;
    for (size_t i = 0; i < c.n_prices; i++)
        if (config_find_price(&c, c.prices[i].model, &p, &q) != 0)
            abort();
    for (size_t i = 0; i < c.n_providers; i++)
        if (!config_find_provider(&c, c.providers[i].name))
            abort();
    char *path = config_ledger_path(&c);
    free(path);
    config_free(&c);
    cJSON_Delete(root);
    return 0;
}
