/* search_fixture.h: what the search suites share: a problem (model, machine,
 * costs, simulator, initial strategies) built from names, optionally with a
 * cost table, and running one algorithm on it. */
#ifndef SOAP_SEARCH_FIXTURE_H
#define SOAP_SEARCH_FIXTURE_H

#include <check.h>
#include <string.h>

#include "soap_search.h"

#define FIX_MAX_INITS 8

typedef struct fixture {
    soap_graph *g;
    soap_machine *m;
    soap_costs *costs;
    soap_sim *sim;
    int ninits;
    soap_strategy *inits[FIX_MAX_INITS];
    const char *names[FIX_MAX_INITS];
    soap_search_problem p;
} fixture;

/* model on `devices` of machine (batch 64 per... `batch`, RNNs 4 steps),
 * initial strategies by name ("random" seeded by its position). */
static inline void fix_setup(fixture *f, const char *model, const char *machine, int devices,
                             long batch, const char *const *inits, int ninits)
{
    memset(f, 0, sizeof *f);
    soap_error err;
    soap_error_clear(&err);
    f->m = soap_machine_load(machine, devices, &err);
    ck_assert_msg(f->m != NULL, "%s", err.msg);
    soap_model_options o = {.batch = batch, .unroll = 4, .layers = 2, .seq_len = 32};
    f->g = soap_model_load(model, &o, &err);
    ck_assert_msg(f->g != NULL, "%s", err.msg);
    f->costs = soap_costs_new(NULL, &err);
    ck_assert(f->costs != NULL);
    soap_sim_options so = {.sync = SOAP_SYNC_ALLREDUCE};
    f->sim = soap_sim_new(f->g, f->m, f->costs, &so, &err);
    ck_assert_msg(f->sim != NULL, "%s", err.msg);
    ck_assert(ninits <= FIX_MAX_INITS);
    for (int i = 0; i < ninits; i++) {
        soap_strategy_options sopt = {.seed = (unsigned long)(i + 1)};
        f->inits[i] = soap_strategy_load(inits[i], f->g, f->m, &sopt, &err);
        ck_assert_msg(f->inits[i] != NULL, "%s", err.msg);
        f->names[i] = inits[i];
    }
    f->ninits = ninits;
    f->p = (soap_search_problem){.g = f->g, .m = f->m, .sim = f->sim,
                                 .inits = (const soap_strategy *const *)f->inits,
                                 .init_names = f->names, .ninits = ninits};
}

/* A fixture on a graph and machine built by the test (owned by f after). */
static inline void fix_adopt(fixture *f, soap_graph *g, soap_machine *m)
{
    memset(f, 0, sizeof *f);
    soap_error err;
    soap_error_clear(&err);
    f->g = g;
    f->m = m;
    f->costs = soap_costs_new(NULL, &err);
    soap_sim_options so = {.sync = SOAP_SYNC_ALLREDUCE};
    f->sim = soap_sim_new(g, m, f->costs, &so, &err);
    ck_assert_msg(f->sim != NULL, "%s", err.msg);
    soap_strategy_options sopt = {.seed = 1};
    f->inits[0] = soap_strategy_load("data", g, m, &sopt, &err);
    ck_assert_msg(f->inits[0] != NULL, "%s", err.msg);
    f->names[0] = "data";
    f->ninits = 1;
    f->p = (soap_search_problem){.g = g, .m = m, .sim = f->sim,
                                 .inits = (const soap_strategy *const *)f->inits,
                                 .init_names = f->names, .ninits = 1};
}

/* A new simulator after the test changed f->m (a simulator keeps the
 * fingerprints of its machine: strategies for the changed one are not
 * strategies for the old). */
static inline void fix_remake_sim(fixture *f)
{
    soap_error err;
    soap_error_clear(&err);
    soap_sim_free(f->sim);
    soap_sim_options so = {.sync = SOAP_SYNC_ALLREDUCE};
    f->sim = soap_sim_new(f->g, f->m, f->costs, &so, &err);
    ck_assert_msg(f->sim != NULL, "%s", err.msg);
    f->p.sim = f->sim;
}

/* Costs from the cost table at `path` instead of analytic ones (a new
 * costs handle and simulator). */
static inline void fix_use_table(fixture *f, const char *path)
{
    soap_error err;
    soap_error_clear(&err);
    soap_costs_free(f->costs);
    f->costs = soap_costs_new(path, &err);
    ck_assert_msg(f->costs != NULL, "%s", err.msg);
    ck_assert_msg(soap_costs_check_machine(f->costs, f->m, &err) == SOAP_OK, "%s", err.msg);
    fix_remake_sim(f);
}

static inline void fix_teardown(fixture *f)
{
    for (int i = 0; i < f->ninits; i++)
        soap_strategy_free(f->inits[i]);
    soap_sim_free(f->sim);
    soap_costs_free(f->costs);
    soap_graph_free(f->g);
    soap_machine_free(f->m);
}

/* Runs `algo` with a proposal budget; fails the test on an error. */
static inline void fix_run(fixture *f, const char *algo, const soap_search_options *o,
                           soap_search_result *r)
{
    soap_error err;
    soap_error_clear(&err);
    const soap_search_ops *ops = soap_search_lookup(algo, &err);
    ck_assert_msg(ops != NULL, "%s", err.msg);
    soap_status st = soap_search_run(ops, &f->p, o, r, &err);
    ck_assert_msg(st == SOAP_OK, "%s: %s", algo, err.msg);
    ck_assert(r->best != NULL);
}

static inline int fix_same_strategy(const soap_strategy *a, const soap_strategy *b)
{
    if (a->nops != b->nops)
        return 0;
    for (int i = 0; i < a->nops; i++)
        if (!soap_config_equal(&a->configs[i], &b->configs[i]))
            return 0;
    return 1;
}

#endif
