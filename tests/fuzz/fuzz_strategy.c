/* fuzz_strategy.c: fuzz target of the strategy file reader
 * (soap_strategy_read_json), against one graph and machine built once: the
 * built-in lenet (batch 64) on the preset cpu-4. Any input must either load
 * or fail with a message; one that loads must pass soap_strategy_check and
 * survive a round trip (soap_strategy_write_json, read again, the same
 * config for every op). Seeds: tests/fuzz/corpus/strategy (files written by
 * `soap strategy --model lenet --machine cpu-4`) and tests/data/strategies. */
#include "fuzz_util.h"
#include "soap_core.h"
#include "soap_strategies.h"

static fuzz_file input = {.fd = -1}, copy = {.fd = -1};
static soap_graph *graph;
static soap_machine *machine;

static void cleanup(void)
{
    fuzz_file_remove(&input);
    fuzz_file_remove(&copy);
    soap_graph_free(graph);
    soap_machine_free(machine);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    soap_error err = {0};
    soap_model_options opt = {0};
    graph = soap_model_load("lenet", &opt, &err);
    machine = soap_machine_preset("cpu-4", &err);
    if (!graph || !machine) {
        fprintf(stderr, "fuzz_strategy: %s\n", err.msg);
        abort();
    }
    fuzz_file_make(&input, ".json");
    fuzz_file_make(&copy, ".json");
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    soap_error err = {0};
    soap_strategy *s =
        soap_strategy_read_json(fuzz_file_set(&input, data, size), graph, machine, &err);
    if (!s) {
        FUZZ_CHECK(err.code != SOAP_OK && err.msg[0], "no strategy and no error message");
        return 0;
    }
    soap_error werr = {0};
    FUZZ_CHECK(soap_strategy_check(s, graph, machine, &werr) == SOAP_OK,
               "a strategy that loaded fails its check: %s", werr.msg);
    FUZZ_CHECK(soap_strategy_write_json(s, graph, copy.path, &werr) == SOAP_OK,
               "a strategy that loaded cannot be written: %s", werr.msg);
    soap_strategy *back = soap_strategy_read_json(copy.path, graph, machine, &werr);
    FUZZ_CHECK(back, "a written strategy does not load again: %s", werr.msg);
    for (int op = 0; op < graph->nops; op++)
        FUZZ_CHECK(soap_config_equal(&s->configs[op], &back->configs[op]),
                   "the round trip changed the config of op '%s'", graph->ops[op].name);
    soap_strategy_free(back);
    soap_strategy_free(s);
    return 0;
}
