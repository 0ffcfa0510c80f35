/* builtin_model.c: model parallelism ("model"): no op is split; the ops, in
 * id order (a topological order), are cut into one contiguous stage per
 * device with about the same forward work (FLOP) in each, stage s on device s.
 *
 * Op i covers the FLOP interval [P_i, P_i + f_i) of the total F, where P_i is
 * the work of the ops before it; it goes to the stage its midpoint falls in,
 * floor((P_i + f_i / 2) * n / F). Midpoints grow with i, so devices never
 * decrease along the op order. A stage may stay empty when one op holds more
 * than 1/n of the work. Ops without work (inputs, a graph of zero FLOP) are
 * placed the same way, which keeps them with their neighbours.
 */
#include <math.h>
#include <stdlib.h>

#include "strategies_internal.h"

static soap_status build_model(const soap_graph *g, const soap_machine *m,
                               const soap_strategy_options *opt, soap_strategy *s,
                               soap_error *err)
{
    SOAP_ASSERT(g && m && s && s->nops == g->nops);
    const int n = m->ndevices;
    double *work = soap_xmalloc((size_t)(g->nops ? g->nops : 1) * sizeof *work);
    double total = 0.0;
    for (int i = 0; i < g->nops; i++) {
        soap_region full = soap_region_full(&g->ops[i].out);
        work[i] = soap_op_region_cost(g, i, &full).fwd_flops;
        SOAP_ASSERT(work[i] >= 0.0 && isfinite(work[i]));
        total += work[i];
    }
    double before = 0.0;
    for (int i = 0; i < g->nops; i++) {
        int stage;
        if (total > 0.0) {
            double mid = (before + 0.5 * work[i]) / total; /* in [0, 1) */
            stage = (int)floor(mid * n);
        } else {
            /* No work at all: equal numbers of ops per stage. */
            stage = (int)((int64_t)i * n / g->nops);
        }
        if (stage < 0)
            stage = 0;
        if (stage > n - 1)
            stage = n - 1;
        s->configs[i] = soap_config_single(g, i, stage);
        before += work[i];
    }
    free(work);
    return SOAP_OK;
}

const soap_strategy_ops soap_strategy_model = {
    .name = "model",
    .description = "model parallelism: ops in order cut into one stage per device with "
                   "about equal forward FLOP, nothing split",
    .build = build_model,
};
