/* registry.c: the registry of search algorithms, the ops of those built on
 * the chain runner (mcmc, anneal, greedy, random), soap_search_run (checks
 * the inputs, simulates the initial strategies, runs an algorithm and makes
 * sure its answer is never slower than an initial strategy nor over memory
 * capacity, then adds the figures of the answer: the acceptance rate and
 * the best over its largest lower bound), results and the convergence log
 * file.
 */
#include <stdio.h>
#include <string.h>

#include "search_internal.h"

/* ------------------------------------------------------------------ */
/* Algorithms on the chain runner                                      */
/* ------------------------------------------------------------------ */
static soap_status run_mcmc(const soap_search_problem *p, const soap_search_options *o,
                            soap_search_result *r, soap_error *err)
{
    return search_run_chains(CHAIN_MCMC, p, o, r, err);
}

static soap_status run_anneal(const soap_search_problem *p, const soap_search_options *o,
                              soap_search_result *r, soap_error *err)
{
    return search_run_chains(CHAIN_ANNEAL, p, o, r, err);
}

static soap_status run_greedy(const soap_search_problem *p, const soap_search_options *o,
                              soap_search_result *r, soap_error *err)
{
    return search_run_chains(CHAIN_GREEDY, p, o, r, err);
}

static soap_status run_random(const soap_search_problem *p, const soap_search_options *o,
                              soap_search_result *r, soap_error *err)
{
    return search_run_chains(CHAIN_RANDOM, p, o, r, err);
}

const soap_search_ops search_mcmc = {
    .name = "mcmc",
    .description = "Metropolis-Hastings over strategies, one chain per initial strategy, "
                   "delta simulation (the paper's search)",
    .run = run_mcmc,
};
const soap_search_ops search_anneal = {
    .name = "anneal",
    .description = "simulated annealing: single-op proposals, temperature falling "
                   "geometrically over the budget",
    .run = run_anneal,
};
const soap_search_ops search_greedy = {
    .name = "greedy",
    .description = "hill climbing: first improving single-op change, until none improves",
    .run = run_greedy,
};
const soap_search_ops search_random = {
    .name = "random",
    .description = "independent random strategies, the best kept",
    .run = run_random,
};

static const soap_search_ops *const registry[] = {
    &search_mcmc, &search_random,  &search_greedy,
    &search_anneal, &search_optcnn, &search_exhaustive, &search_reinforce, NULL,
};

const soap_search_ops *const *soap_search_registry(void)
{
    return registry;
}

const soap_search_ops *soap_search_find(const char *name)
{
    if (!name)
        return NULL;
    for (int i = 0; registry[i]; i++)
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    return NULL;
}

const soap_search_ops *soap_search_lookup(const char *name, soap_error *err)
{
    const soap_search_ops *ops = soap_search_find(name);
    if (ops)
        return ops;
    char list[256] = "";
    for (int i = 0; registry[i]; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", registry[i]->name);
    }
    soap_error_set(err, SOAP_ERR_NOT_FOUND, "unknown search algorithm '%s' (algorithms: %s)",
                   name ? name : "", list);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Running a search                                                    */
/* ------------------------------------------------------------------ */
int soap_search_improves(double a, double b)
{
    return a < b && (b - a) > 1e-9 * fabs(b);
}

soap_search_options soap_search_options_default(void)
{
    soap_search_options o;
    memset(&o, 0, sizeof o);
    o.space = soap_search_space_all();
    o.moves = SOAP_SEARCH_MOVES_DEFAULT;
    o.reinforce_lr = SOAP_SEARCH_REINFORCE_LR;
    o.reinforce_samples = SOAP_SEARCH_REINFORCE_SAMPLES;
    return o;
}

void soap_search_result_free(soap_search_result *r)
{
    if (!r)
        return;
    if (r->best)
        soap_strategy_free(r->best);
    free(r->init_s);
    free(r->init_fits);
    free(r->log);
    memset(r, 0, sizeof *r);
}

static soap_status check_inputs(const soap_search_problem *p, const soap_search_options *o,
                                soap_error *err)
{
    if (!p || !o || !p->g || !p->m || !p->sim)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "search: graph, machine and simulator are required");
    if (p->ninits < 1 || !p->inits)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "search: expected at least one initial strategy");
    if (!(o->seconds >= 0) || o->proposals < 0)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "search: budget must be >= 0 seconds and >= 0 proposals");
    if (o->moves < 0 || o->moves >= SOAP_MOVES_COUNT)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "search: moves %d: expected op, tied or mixed", (int)o->moves);
    if (o->threads < 0 || o->threads > 1024)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "search: threads %d: expected 1 to 1024", o->threads);
    /* The initial strategies were checked where they were loaded; that they
     * are for this graph and machine is an invariant (soap_sim_full asserts
     * the fingerprints). */
    for (int i = 0; i < p->ninits; i++)
        SOAP_ASSERT(p->inits[i] && p->inits[i]->nops == p->g->nops &&
                    p->inits[i]->ndevices == p->m->ndevices);
    return SOAP_OK;
}

/* The figures of the answer: the acceptance rate and how far best is from
 * the largest lower bound of its own full simulation (one more simulation
 * of best; the bound is soap_sim_result's lb_s, at most its time). */
static void settle_figures(soap_sim *sim, soap_search_result *r)
{
    r->acceptance = r->proposals > 0 ? (double)r->accepted / (double)r->proposals : 0.0;
    double t = search_simulate(sim, r->best);
    SOAP_ASSERT(t == r->best_s);
    soap_sim_result res;
    soap_sim_result_get(sim, &res);
    r->best_lb_s = res.lb_s;
    r->best_over_bound = res.lb_s > 0 ? r->best_s / res.lb_s : 0.0;
    soap_sim_result_free(&res);
}

soap_status soap_search_run(const soap_search_ops *ops, const soap_search_problem *p,
                            const soap_search_options *o, soap_search_result *r,
                            soap_error *err)
{
    SOAP_ASSERT(r != NULL);
    memset(r, 0, sizeof *r);
    r->best_init = -1;
    if (!ops || !ops->run)
        return soap_error_set(err, SOAP_ERR_INVALID, "search: no algorithm given");
    soap_status st = check_inputs(p, o, err);
    if (st != SOAP_OK)
        return st;
    double t0 = search_now();
    r->init_s = soap_xcalloc((size_t)p->ninits, sizeof *r->init_s);
    r->init_fits = soap_xcalloc((size_t)p->ninits, sizeof *r->init_fits);
    int base = -1;
    for (int pass = 0; pass < 2 && base < 0; pass++)
        for (int i = 0; i < p->ninits; i++) {
            if (pass == 0) {
                r->init_s[i] = search_simulate(p->sim, p->inits[i]);
                r->init_fits[i] = search_sim_fits(p->sim);
            }
            /* The best initial strategy that fits (pass 0), or the best of
             * all when none fits or memory is not checked (pass 1). */
            int ok = pass == 1 || r->init_fits[i] || o->allow_over_capacity;
            if (ok && (base < 0 || r->init_s[i] < r->init_s[base]))
                base = i;
        }

    st = ops->run(p, o, r, err);
    if (st != SOAP_OK)
        return st;
    SOAP_ASSERT(r->simulation != NULL); /* every algorithm says how it simulated */
    if (o->stop && *o->stop)
        r->interrupted = 1;

    /* The answer, settled: re-simulated in full (the time reported is the
     * time of the strategy returned), never slower than `base`, never over
     * capacity while `base` fits. */
    int base_fits = r->init_fits[base] || o->allow_over_capacity;
    if (r->best) {
        double t = search_simulate(p->sim, r->best);
        /* Delta simulation promises full simulation's result exactly. */
        SOAP_ASSERT(fabs(t - r->best_s) <= 1e-9 * fabs(t));
        r->best_s = t;
        r->best_fits = search_sim_fits(p->sim);
        if ((!r->best_fits && !o->allow_over_capacity && base_fits) ||
            !(r->best_s <= r->init_s[base])) {
            soap_strategy_free(r->best);
            r->best = NULL;
        }
    }
    if (!r->best) {
        r->best = soap_strategy_clone(p->inits[base]);
        r->best_s = r->init_s[base];
        r->best_fits = r->init_fits[base];
        r->best_init = base;
        r->found_by_search = 0;
        snprintf(r->origin, sizeof r->origin, "initial strategy %s (nothing faster found)",
                 p->init_names ? p->init_names[base] : "");
    }
    r->elapsed_s = search_now() - t0;
    settle_figures(p->sim, r); /* reporting, not searching: not in elapsed_s */
    return SOAP_OK;
}

/* ------------------------------------------------------------------ */
/* Convergence log                                                     */
/* ------------------------------------------------------------------ */
/* qsort has no context argument; the log is written by one thread. */
static _Thread_local const soap_search_log_row *sort_rows;
static int by_time(const void *a, const void *b)
{
    long i = *(const long *)a, j = *(const long *)b;
    double x = sort_rows[i].elapsed_s, y = sort_rows[j].elapsed_s;
    if (x != y)
        return x < y ? -1 : 1;
    return i < j ? -1 : (i > j);
}

soap_status soap_search_write_log(const soap_search_result *r, const char *const *prov,
                                  const char *path, soap_error *err)
{
    if (!r || !path)
        return soap_error_set(err, SOAP_ERR_INVALID, "search log: no result or path");
    soap_outfile *out = soap_outfile_open(path, err);
    if (!out)
        return err->code;
    FILE *f = soap_outfile_stream(out);
    soap_provenance_write(f, "search convergence log", prov);
    fputs("elapsed_s,proposals,chain,current_s,best_s,overall_best_s\n", f);
    /* overall_best_s: the best of every chain up to the row's time (rows
     * are in chain order, so visit them by time for the running minimum). */
    long *byt = soap_xmalloc((size_t)(r->log_len > 0 ? r->log_len : 1) * sizeof *byt);
    double *overall_at = soap_xmalloc((size_t)(r->log_len > 0 ? r->log_len : 1) *
                                      sizeof *overall_at);
    for (long k = 0; k < r->log_len; k++)
        byt[k] = k;
    sort_rows = r->log;
    qsort(byt, (size_t)r->log_len, sizeof *byt, by_time);
    double run = INFINITY;
    for (long k = 0; k < r->log_len; k++) {
        run = fmin(run, r->log[byt[k]].best_s);
        overall_at[byt[k]] = run;
    }
    for (long k = 0; k < r->log_len; k++) {
        const soap_search_log_row *w = &r->log[k];
        double overall = overall_at[k];
        /* inf (no fitting strategy yet) is written as an empty field. */
        char cur[32] = "", best[32] = "", all[32] = "";
        if (isfinite(w->current_s))
            snprintf(cur, sizeof cur, "%.9g", w->current_s);
        if (isfinite(w->best_s))
            snprintf(best, sizeof best, "%.9g", w->best_s);
        if (isfinite(overall))
            snprintf(all, sizeof all, "%.9g", overall);
        fprintf(f, "%.6f,%ld,%d,%s,%s,%s\n", w->elapsed_s, w->proposals, w->chain, cur, best,
                all);
    }
    free(byt);
    free(overall_at);
    return soap_outfile_commit(out, err);
}
