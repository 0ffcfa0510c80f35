/* sim_fixtures.h: what the hand-derived simulator suites share
 * (test_sim_cases.c, test_sim_output.c): the device type "G" of their
 * custom machines, a two-dim input, and pinning a task's cost in a table. */
#ifndef SOAP_SIM_FIXTURES_H
#define SOAP_SIM_FIXTURES_H

#include <check.h>

#include "soap_sim.h"

/* Device type "G": memory bandwidth 1e11 B/s and launch overhead 1 us
 * enter weight updates (3 x bytes / bw + launch). */
#define G_MEMBW 1e11
#define G_LAUNCH 1e-6

static const soap_device_type type_g = {
    .name = "G", .peak_flops = 1e12, .mem_bandwidth = G_MEMBW, .mem_capacity = 1e9,
    .launch_overhead = G_LAUNCH};

/* Appends (type, op's signature, partition of task 0 of config c) -> cost. */
static inline void table_add(const char *path, const char *type, const soap_graph *g, int op,
                             const soap_config *c, double fwd, double bwd)
{
    char sig[512];
    soap_op_signature(g, op, sig, sizeof sig);
    soap_region r = soap_config_task_region(g, op, c, 0);
    soap_shape part = g->ops[op].out;
    for (int d = 0; d < part.ndims; d++)
        part.size[d] = r.hi[d] - r.lo[d];
    soap_error err;
    soap_error_clear(&err);
    soap_task_cost tc = {fwd, bwd};
    ck_assert_msg(soap_cost_table_append(path, type, sig, &part, tc, &err) == SOAP_OK, "%s",
                  err.msg);
}

/* An input [n, k]: n samples of k unsplittable features. */
static inline int add_input(soap_graph *g, const char *name, int64_t n, int64_t k)
{
    int64_t size[2] = {n, k};
    soap_dim_kind kinds[2] = {SOAP_DIM_SAMPLE, SOAP_DIM_NONE};
    return soap_add_input(g, name, 2, size, kinds, 0);
}

#endif
