/* builtin_random.c: a random strategy ("random"): for every op a uniformly
 * random valid config (soap_config_random over all dim kinds), drawn from
 * gsl_rng_mt19937 seeded with opt->seed, so a seed names one strategy.
 */
#include <gsl/gsl_rng.h>

#include "strategies_internal.h"

static soap_status build_random(const soap_graph *g, const soap_machine *m,
                                const soap_strategy_options *opt, soap_strategy *s,
                                soap_error *err)
{
    SOAP_ASSERT(g && m && s && s->nops == g->nops);
    gsl_rng *rng = soap_rng_new(opt ? opt->seed : 0, SOAP_RNG_RANDOM_STRATEGY,
                                opt ? opt->index : 0);
    soap_dims_mask all = soap_dims_mask_all();
    for (int i = 0; i < g->nops; i++)
        s->configs[i] = soap_config_random(g, i, m->ndevices, &all, rng);
    gsl_rng_free(rng);
    return SOAP_OK;
}

const soap_strategy_ops soap_strategy_random = {
    .name = "random",
    .description = "a uniformly random valid config per op (seeded: --seed)",
    .build = build_random,
};
