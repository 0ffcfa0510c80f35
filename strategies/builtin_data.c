/* builtin_data.c: the data-parallel strategy ("data"): every op's SAMPLE dim
 * (the batch N) split over as many devices as divide it, and the small config
 * helpers the other built-ins share (strategies_internal.h).
 */
#include <string.h>

#include "strategies_internal.h"

int soap_strategy_largest_divisor(int64_t size, int limit)
{
    SOAP_ASSERT(size >= 1 && limit >= 1);
    if (limit > SOAP_MAX_TASKS)
        limit = SOAP_MAX_TASKS;
    for (int k = limit; k > 1; k--)
        if (size % k == 0)
            return k;
    return 1;
}

int soap_strategy_find_dim(const soap_graph *g, int op, soap_dim_kind kind)
{
    SOAP_ASSERT(g && op >= 0 && op < g->nops);
    const soap_shape *s = &g->ops[op].out;
    for (int d = 0; d < s->ndims; d++)
        if (s->kind[d] == kind)
            return d;
    return -1;
}

soap_config soap_strategy_split(const soap_graph *g, int op, int dim, int k,
                                const int *devices)
{
    SOAP_ASSERT(devices && k >= 1 && k <= SOAP_MAX_TASKS);
    soap_config c = soap_config_single(g, op, devices[0]);
    if (dim < 0 || k == 1)
        return c;
    SOAP_ASSERT(dim < c.ndims);
    c.degree[dim] = k;
    c.ntasks = k;
    for (int t = 0; t < k; t++)
        c.device[t] = (int16_t)devices[t];
    return c;
}

soap_config soap_strategy_data_config(const soap_graph *g, int op, int ndevices)
{
    int devices[SOAP_MAX_TASKS];
    for (int t = 0; t < SOAP_MAX_TASKS; t++)
        devices[t] = t;
    int dim = soap_strategy_find_dim(g, op, SOAP_DIM_SAMPLE);
    if (dim < 0)
        return soap_config_single(g, op, 0);
    int k = soap_strategy_largest_divisor(g->ops[op].out.size[dim], ndevices);
    return soap_strategy_split(g, op, dim, k, devices);
}

static soap_status build_data(const soap_graph *g, const soap_machine *m,
                              const soap_strategy_options *opt, soap_strategy *s,
                              soap_error *err)
{
    SOAP_ASSERT(g && m && s && s->nops == g->nops);
    for (int i = 0; i < g->nops; i++)
        s->configs[i] = soap_strategy_data_config(g, i, m->ndevices);
    return SOAP_OK;
}

const soap_strategy_ops soap_strategy_data = {
    .name = "data",
    .description = "data parallelism: every op's batch dim split over the largest number of "
                   "devices that divides it",
    .build = build_data,
};
