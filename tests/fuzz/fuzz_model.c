/* fuzz_model.c: fuzz target of the model file reader (soap_graph_read_json).
 * Any input must either load or fail with a message; one that loads must
 * survive a round trip (written with soap_graph_write_json, read again, same
 * fingerprint and op count). Seeds: tests/data/models. */
#include "fuzz_util.h"
#include "soap_core.h"

static fuzz_file input = {.fd = -1}, copy = {.fd = -1};

static void cleanup(void)
{
    fuzz_file_remove(&input);
    fuzz_file_remove(&copy);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_file_make(&input, ".json");
    fuzz_file_make(&copy, ".json");
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    soap_error err = {0};
    soap_graph *g = soap_graph_read_json(fuzz_file_set(&input, data, size), &err);
    if (!g) {
        FUZZ_CHECK(err.code != SOAP_OK && err.msg[0], "no graph and no error message");
        return 0;
    }
    soap_error werr = {0};
    FUZZ_CHECK(soap_graph_write_json(g, copy.path, &werr) == SOAP_OK,
               "a graph that loaded cannot be written: %s", werr.msg);
    soap_graph *back = soap_graph_read_json(copy.path, &werr);
    FUZZ_CHECK(back, "a written graph does not load again: %s", werr.msg);
    FUZZ_CHECK(back->nops == g->nops &&
                   soap_graph_fingerprint(back) == soap_graph_fingerprint(g),
               "the round trip changed the graph (%d ops, then %d)", g->nops, back->nops);
    soap_graph_free(back);
    soap_graph_free(g);
    return 0;
}
