/* fuzz_costs.c: fuzz target of the cost table reader, through the public
 * API: soap_costs_new(path), then soap_costs_check_machine against the
 * preset p100x16 narrowed to 4 devices (type P100), then, if the table fits,
 * a look-up of every op of lenet (batch 64) whole and split in two along
 * the sample dim. Any input must either load or fail with a message; a
 * table that loads and has a row for P100 (a line "P100,...": every line
 * of a table that loads is a valid row, a comment or blank) must not be
 * refused for the machine; every cost looked up must be finite and >= 0
 * (seconds). Seeds:
 * tests/data/costs and tests/fuzz/corpus/costs (rows for lenet on P100). */
#include <math.h>

#include "fuzz_util.h"
#include "soap_core.h"
#include "soap_sim.h"

static fuzz_file input = {.fd = -1};
static soap_graph *graph;
static soap_machine *machine;

static void cleanup(void)
{
    fuzz_file_remove(&input);
    soap_graph_free(graph);
    soap_machine_free(machine);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    soap_error err = {0};
    soap_model_options opt = {0};
    graph = soap_model_load("lenet", &opt, &err);
    machine = soap_machine_load("p100x16", 4, &err);
    if (!graph || !machine) {
        fprintf(stderr, "fuzz_costs: %s\n", err.msg);
        abort();
    }
    fuzz_file_make(&input, ".csv");
    atexit(cleanup);
    return 0;
}

static void check_cost(soap_costs *c, int op, const soap_region *r)
{
    soap_task_cost t = soap_costs_task(c, graph, op, r, &machine->types[0]);
    FUZZ_CHECK(isfinite(t.fwd_s) && isfinite(t.bwd_s) && t.fwd_s >= 0 && t.bwd_s >= 0,
               "op '%s': cost fwd %g s, bwd %g s", graph->ops[op].name, t.fwd_s, t.bwd_s);
}

/* 1 if some line of data starts with "P100,". */
static int has_p100_row(const uint8_t *data, size_t size)
{
    static const char row[] = "P100,";
    for (size_t k = 0; k + sizeof row - 1 <= size; k++)
        if ((k == 0 || data[k - 1] == '\n') && memcmp(data + k, row, sizeof row - 1) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    soap_error err = {0};
    soap_costs *c = soap_costs_new(fuzz_file_set(&input, data, size), &err);
    if (!c) {
        FUZZ_CHECK(err.code != SOAP_OK && err.msg[0], "no cost table and no error message");
        return 0;
    }
    if (soap_costs_check_machine(c, machine, &err) != SOAP_OK) {
        FUZZ_CHECK(err.msg[0], "a table refused for the machine without a message");
        FUZZ_CHECK(!has_p100_row(data, size), "a table with P100 rows refused: %s", err.msg);
        soap_costs_free(c);
        return 0;
    }
    for (int op = 0; op < graph->nops; op++) {
        soap_region r = soap_region_full(&graph->ops[op].out);
        check_cost(c, op, &r);
        r.hi[0] = (r.lo[0] + r.hi[0]) / 2; /* the first half of the samples (N) */
        if (!soap_region_empty(&r))
            check_cost(c, op, &r);
    }
    soap_costs_free(c);
    return 0;
}
