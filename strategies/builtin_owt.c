/* builtin_owt.c: Krizhevsky's "one weird trick" ("owt", arXiv 1404.5997):
 * data parallelism for everything but the fully-connected layers, which are
 * split by parameter (their out features F, so each device holds a slice of
 * the weights), over the largest number of devices that divides F.
 */
#include "strategies_internal.h"

static soap_status build_owt(const soap_graph *g, const soap_machine *m,
                             const soap_strategy_options *opt, soap_strategy *s,
                             soap_error *err)
{
    SOAP_ASSERT(g && m && s && s->nops == g->nops);
    int devices[SOAP_MAX_TASKS];
    for (int t = 0; t < SOAP_MAX_TASKS; t++)
        devices[t] = t;
    for (int i = 0; i < g->nops; i++) {
        const soap_op *o = &g->ops[i];
        int dim = o->kind == SOAP_OP_LINEAR ? soap_strategy_find_dim(g, i, SOAP_DIM_PARAMETER)
                                            : -1;
        if (dim >= 0) {
            int k = soap_strategy_largest_divisor(o->out.size[dim], m->ndevices);
            s->configs[i] = soap_strategy_split(g, i, dim, k, devices);
        } else {
            s->configs[i] = soap_strategy_data_config(g, i, m->ndevices);
        }
    }
    return SOAP_OK;
}

const soap_strategy_ops soap_strategy_owt = {
    .name = "owt",
    .description = "one weird trick: data parallelism, but linear layers split by out "
                   "features (parameter parallelism)",
    .build = build_owt,
};
