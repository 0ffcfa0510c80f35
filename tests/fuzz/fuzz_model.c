/* fuzz_model.c: fuzz target of the model file reader (soap_graph_read_json).
 * Any input must either load or fail with a message. A graph that loads is
 * one the rest of soap will use, so it must also survive what the simulator
 * asks of every op (signature, weight shapes, the input regions of its whole
 * output, each within its input's shape, and an analytic cost on a P100 that
 * is finite and >= 0 seconds) and a round trip (soap_graph_write_json, read
 * again, same fingerprint and op count). Seeds: tests/data/models. */
#include <math.h>

#include "fuzz_util.h"
#include "soap_core.h"
#include "soap_sim.h"

static fuzz_file input = {.fd = -1}, copy = {.fd = -1};
static soap_machine *machine; /* p100x16: its device type for the analytic costs */

static void cleanup(void)
{
    fuzz_file_remove(&input);
    fuzz_file_remove(&copy);
    soap_machine_free(machine);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    soap_error err = {0};
    machine = soap_machine_preset("p100x16", &err);
    if (!machine) {
        fprintf(stderr, "fuzz_model: %s\n", err.msg);
        abort();
    }
    fuzz_file_make(&input, ".json");
    fuzz_file_make(&copy, ".json");
    atexit(cleanup);
    return 0;
}

static void check_op(const soap_graph *g, int op)
{
    const soap_op *o = &g->ops[op];
    char sig[1024];
    soap_op_signature(g, op, sig, sizeof sig);
    FUZZ_CHECK(sig[0], "op '%s': empty signature", o->name);
    soap_shape w[SOAP_MAX_WEIGHTS];
    int nw = soap_op_weight_shapes(g, op, w);
    FUZZ_CHECK(nw >= 0 && nw <= SOAP_MAX_WEIGHTS, "op '%s': %d weights", o->name, nw);
    soap_region full = soap_region_full(&o->out);
    for (int i = 0; i < o->ninputs; i++) {
        soap_region need = soap_op_input_region(g, op, i, &full);
        soap_region whole = soap_region_full(&g->ops[o->inputs[i]].out);
        FUZZ_CHECK(soap_region_empty(&need) || soap_region_contains(&whole, &need),
                   "op '%s': input %d: the region needed lies outside the input", o->name, i);
    }
    soap_task_cost c = soap_cost_analytic(g, op, &full, &machine->types[0]);
    FUZZ_CHECK(isfinite(c.fwd_s) && isfinite(c.bwd_s) && c.fwd_s >= 0 && c.bwd_s >= 0,
               "op '%s': analytic cost fwd %g s, bwd %g s", o->name, c.fwd_s, c.bwd_s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    soap_error err = {0};
    soap_graph *g = soap_graph_read_json(fuzz_file_set(&input, data, size), &err);
    if (!g) {
        FUZZ_CHECK(err.code != SOAP_OK && err.msg[0], "no graph and no error message");
        return 0;
    }
    for (int op = 0; op < g->nops; op++)
        check_op(g, op);
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
