/* chain.c: the chain runner that mcmc, anneal, greedy and random share.
 *
 * One chain per initial strategy. Chain i has its own RNG seeded from
 * (seed, i) and its own budget: the proposal budget split evenly over the
 * chains (so the outcome does not depend on the number of threads), and
 * the seconds budget times min(threads, chains) / chains (the chains of one
 * thread run one after another). Threads take chains in chain order; each
 * thread has its own simulator, thread 0 the problem's and every other a
 * clone of it (soap_sim_clone: the loaded costs are shared, the cost cache
 * and task graph are the clone's), so every chain simulates with the same
 * costs whichever thread runs it. Results are combined in chain order: the
 * best chain is the first with the lowest time, logs are concatenated.
 *
 * A proposal (mcmc, anneal): a move of the move set (soap_space_propose:
 * op moves draw one op uniformly at random and one config of it uniformly
 * at random from the space, soap_space_random; tied moves a group and one
 * config for all its members; a group move on a group whose members
 * disagree is a self-loop, counted and rejected with nothing simulated and
 * no acceptance draw), the uniform draw of the acceptance test, then the
 * simulation: soap_sim_delta_many (soap_sim_delta_limit for one op) with
 * the time above which the proposal would be refused (it stops, and undoes
 * itself, as soon as the time is sure to be above it), or, with full_sim,
 * soap_sim_full of the changed strategy; then kept or undone. Both modes
 * make the same decisions, so they walk the same chain. Before the delta,
 * unless no_precheck, a lower bound of the new time from the resource
 * totals and the new configs' compute costs (soap_sim_bound_change_many)
 * rejects
 * the proposal without building a task when it is already above the limit
 * (counted in rejected_early); the chain does not change. Nothing is
 * allocated per proposal; a new best is copied into the chain's best
 * strategy and its memory is checked (soap_sim_result_get allocates, but
 * only on a new best).
 *
 * Stop rule (mcmc, anneal, PAPER.md section 3): a chain stops when its
 * budget is spent or when its best has not improved for half of what it
 * has spent so far, counted in proposals when there is a proposal budget
 * (reproducible) and in seconds otherwise, after at least stop_floor
 * proposals and a tenth of its budget.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "search_internal.h"

double search_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int search_sim_fits(soap_sim *sim)
{
    soap_sim_result res;
    soap_sim_result_get(sim, &res);
    int fits = res.over_capacity == 0;
    soap_sim_result_free(&res);
    return fits;
}

void search_log_push(soap_search_log_row **log, long *len, long *cap,
                     const soap_search_log_row *row)
{
    if (*len >= *cap) {
        *cap = *cap ? 2 * *cap : 256;
        *log = soap_xrealloc(*log, (size_t)*cap * sizeof **log);
    }
    (*log)[(*len)++] = *row;
}

/* ------------------------------------------------------------------ */
/* Shared state                                                        */
/* ------------------------------------------------------------------ */
typedef struct chain_state {
    int index;
    long budget_props;     /* <= 0: none */
    double budget_s;       /* <= 0: none */
    soap_strategy *best;   /* NULL until a fitting one is seen */
    double best_s;         /* INFINITY until then */
    long best_at;          /* proposal of the last improvement */
    double best_at_s;      /* chain seconds of the last improvement */
    long proposals, accepted, over_capacity, rejected_early;
    long tasks_sum;        /* mcmc, anneal: soap_search_result tasks_sum */
    int interrupted;
    int local_optimum;     /* greedy: a full pass changed nothing */
    soap_search_log_row *log;
    long nlog, caplog;
    long reported;         /* proposals already added to the progress total */
} chain_state;

typedef struct shared {
    chain_kind kind;
    const soap_search_problem *p;
    const soap_search_options *o;
    const soap_search_result *r; /* init_s, init_fits */
    soap_space *space;
    double t0;
    double beta;
    long log_every, stop_floor;
    int nchains;
    chain_state *chains;
    pthread_mutex_t lock;  /* guards next, progress fields */
    int next;
    long total_props;
    double best_s;
    double last_report;
    int done;
} shared;

/* What one thread works with. */
typedef struct worker {
    shared *sh;
    soap_sim *sim;     /* thread 0: the problem's; others: a clone, owned */
    soap_strategy *cur; /* full_sim and random: the strategy simulated */
    soap_config *saved; /* full_sim: the configs a proposal replaced */
    soap_config *cfgs;  /* a proposal's config per changed op (the space's
                           largest group) */
} worker;

static int stop_requested(const shared *sh)
{
    return sh->o->stop && *sh->o->stop;
}

static void report_progress(shared *sh, chain_state *c, int force)
{
    if (!sh->o->progress) {
        return;
    }
    if (force)
        pthread_mutex_lock(&sh->lock);
    else if (pthread_mutex_trylock(&sh->lock) != 0)
        return;
    sh->total_props += c->proposals - c->reported;
    c->reported = c->proposals;
    if (c->best_s < sh->best_s)
        sh->best_s = c->best_s;
    double now = search_now();
    if (force || now - sh->last_report >= 0.2) {
        sh->last_report = now;
        soap_search_progress pr = {.elapsed_s = now - sh->t0,
                                   .proposals = sh->total_props,
                                   .best_s = sh->best_s,
                                   .chains_done = sh->done,
                                   .chains = sh->nchains};
        sh->o->progress(sh->o->progress_ctx, &pr);
    }
    pthread_mutex_unlock(&sh->lock);
}

static void log_row(shared *sh, chain_state *c, double cur_s)
{
    soap_search_log_row row = {.elapsed_s = search_now() - sh->t0,
                               .proposals = c->proposals,
                               .chain = c->index,
                               .current_s = cur_s,
                               .best_s = c->best_s};
    search_log_push(&c->log, &c->nlog, &c->caplog, &row);
}

/* The strategy the worker's simulator holds as current. */
static const soap_strategy *current_strategy(const worker *w)
{
    return w->sh->o->full_sim ? w->cur : soap_sim_strategy(w->sim);
}

/* A new best if t improves the chain's and fits memory (unless allowed).
 * The strategy is the current one. */
static void offer_best(worker *w, chain_state *c, double t, double chain_s)
{
    shared *sh = w->sh;
    if (!soap_search_improves(t, c->best_s))
        return;
    if (!sh->o->allow_over_capacity && !search_sim_fits(w->sim)) {
        c->over_capacity++;
        return;
    }
    const soap_strategy *s = sh->kind == CHAIN_RANDOM ? w->cur : current_strategy(w);
    if (!c->best)
        c->best = soap_strategy_clone(s);
    else
        soap_strategy_copy(c->best, s);
    c->best_s = t;
    c->best_at = c->proposals;
    c->best_at_s = chain_s;
}

/* Gives cfg to each of the n ops (one delta, or a full simulation of the
 * changed strategy). A delta may stop once the new time is sure to be
 * above `limit`; it has then undone itself (*undone = 1) and returns a
 * bound above the limit, so that the decision is the one the exact time
 * would give. */
static double apply(worker *w, int n, const int *ops, const soap_config *cfg, double limit,
                    int *undone)
{
    *undone = 0;
    for (int i = 0; i < n; i++)
        w->cfgs[i] = *cfg;
    if (!w->sh->o->full_sim) {
        int exact;
        double t = soap_sim_delta_many(w->sim, n, ops, w->cfgs, limit, &exact);
        *undone = !exact;
        return t;
    }
    for (int i = 0; i < n; i++) {
        w->saved[i] = w->cur->configs[ops[i]];
        w->cur->configs[ops[i]] = *cfg;
    }
    return search_simulate(w->sim, w->cur);
}

/* mcmc, anneal with delta simulation: 1 when a lower bound of the new time
 * (soap_sim_bound_change, no task built) is already above the limit; *t is
 * then that bound. The exact time is at least the bound, so the delta would
 * have refused the proposal too (the limit is at least the current time):
 * the chain is the same with and without the pre-check. */
static int precheck_rejects(worker *w, int n, const int *ops, const soap_config *cfg,
                            double limit, double *t)
{
    if (w->sh->o->full_sim || w->sh->o->no_precheck || !(limit < INFINITY))
        return 0;
    for (int i = 0; i < n; i++)
        w->cfgs[i] = *cfg;
    *t = soap_sim_bound_change_many(w->sim, n, ops, w->cfgs);
    return *t > limit;
}

static void reject(worker *w, int n, const int *ops, int undone)
{
    if (undone)
        return;
    if (!w->sh->o->full_sim)
        soap_sim_undo(w->sim);
    else
        for (int i = n - 1; i >= 0; i--)
            w->cur->configs[ops[i]] = w->saved[i];
}

/* 1 when the chain has to stop before its next proposal. */
static int chain_over(const shared *sh, chain_state *c, double chain_s, int stop_rule)
{
    if (stop_requested(sh)) {
        c->interrupted = 1;
        return 1;
    }
    if (c->budget_props > 0 && c->proposals >= c->budget_props)
        return 1;
    if (c->budget_s > 0 && chain_s >= c->budget_s)
        return 1;
    if (!stop_rule || sh->o->no_stop_rule || c->proposals < sh->stop_floor)
        return 0;
    /* Not before a tenth of the budget: a chain that starts at a good
     * strategy would otherwise give up after its first few hundred. */
    if ((c->budget_props > 0 && c->proposals < c->budget_props / 10) ||
        (c->budget_s > 0 && chain_s < c->budget_s / 10))
        return 0;
    if (c->budget_props > 0)
        return c->proposals - c->best_at > c->proposals / 2;
    return chain_s - c->best_at_s > chain_s / 2.0;
}

/* Fraction of the budget spent (anneal's schedule). */
static double spent(const chain_state *c, double chain_s)
{
    if (c->budget_props > 0)
        return (double)c->proposals / (double)c->budget_props;
    if (c->budget_s > 0)
        return chain_s / c->budget_s;
    return 0.0;
}

/* mcmc and anneal. */
static void run_mh(worker *w, chain_state *c, gsl_rng *rng, double init_s, double start)
{
    shared *sh = w->sh;
    double cur_s = init_s;
    double t0 = sh->o->anneal_t0 > 0 ? sh->o->anneal_t0 : 0.05;
    double t1 = sh->o->anneal_t1 > 0 ? sh->o->anneal_t1 : 1e-4;
    t0 *= init_s;
    t1 *= init_s;
    soap_config cfg;
    double chain_s = 0.0;
    long cur_tasks = soap_sim_ntasks(w->sim); /* of the chain's strategy */
    while (!chain_over(sh, c, chain_s, 1)) {
        const int *ops;
        int n = soap_space_propose(sh->space, sh->o->moves, current_strategy(w), rng, &ops,
                                   &cfg);
        if (n == 0) {
            /* A self-loop (soap_space_propose): rejected as it stands. */
            c->proposals++;
            c->tasks_sum += cur_tasks;
            chain_s = search_now() - start;
            if (c->proposals % sh->log_every == 0)
                log_row(sh, c, cur_s);
            if ((c->proposals & 63) == 0)
                report_progress(sh, c, 0);
            continue;
        }
        /* The Metropolis-Hastings draw comes first: a proposal of time t
         * is kept iff t <= cur_s or u < exp(x) with x = (cur_s - t) / scale,
         * i.e. iff t <= cur_s or t < cur_s - scale ln u, which lets the
         * simulation stop as soon as t is sure to be above that limit. */
        double scale;
        if (sh->kind == CHAIN_MCMC) {
            scale = 1.0 / sh->beta;
        } else {
            double temp = t0 * pow(t1 / t0, fmin(1.0, spent(c, chain_s)));
            scale = temp;
        }
        double u = gsl_rng_uniform(rng);
        double limit = u > 0 ? cur_s - scale * log(u) : INFINITY;
        int undone;
        double t;
        if (precheck_rejects(w, n, ops, &cfg, limit, &t)) {
            undone = 1;
            c->rejected_early++;
        } else {
            t = apply(w, n, ops, &cfg, limit, &undone);
        }
        c->proposals++;
        chain_s = search_now() - start;
        int keep = t <= cur_s || t < limit;
        double old_best = c->best_s;
        if (keep) {
            c->accepted++;
            cur_s = t;
            cur_tasks = soap_sim_ntasks(w->sim);
            offer_best(w, c, t, chain_s);
        } else {
            reject(w, n, ops, undone);
        }
        c->tasks_sum += cur_tasks;
        if (c->best_s != old_best || c->proposals % sh->log_every == 0)
            log_row(sh, c, cur_s);
        if ((c->proposals & 63) == 0)
            report_progress(sh, c, 0);
    }
    log_row(sh, c, cur_s);
}

/* Fisher-Yates over op ids. */
static void shuffle(int *a, int n, gsl_rng *rng)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)gsl_rng_uniform_int(rng, (unsigned long)i + 1);
        int x = a[i];
        a[i] = a[j];
        a[j] = x;
    }
}

/* Greedy: passes over the units of the move set (search_unit: the ops, the
 * groups, or both) in a random order; for each the first change of its
 * neighbourhood that improves (and fits) is kept (a group's: every member
 * set to a neighbour of its first member's config). Stops at a pass
 * without a change (a local optimum, as check-local sees it with the same
 * move set). */
static void run_greedy(worker *w, chain_state *c, gsl_rng *rng, double init_s, int init_fits,
                       double start)
{
    shared *sh = w->sh;
    int nunits = search_units(sh->space, sh->o->moves);
    int *order = soap_xmalloc((size_t)nunits * sizeof *order);
    for (int i = 0; i < nunits; i++)
        order[i] = i;
    double cur_s = init_s;
    int cur_fits = init_fits;
    double chain_s = 0.0;
    soap_config cfg;
    int changed = 1;
    while (changed) {
        changed = 0;
        shuffle(order, nunits, rng);
        for (int i = 0; i < nunits; i++) {
            const int *ops;
            int n = search_unit(sh->space, sh->o->moves, order[i], &ops);
            soap_config now = current_strategy(w)->configs[ops[0]];
            soap_space_cursor cur = {0, 0};
            while (soap_space_neighbour(sh->space, ops[0], &now, &cur, &cfg)) {
                if (chain_over(sh, c, chain_s, 0))
                    goto out;
                /* Only a time below cur_s matters: a delta may stop above it. */
                int undone;
                double t = apply(w, n, ops, &cfg, cur_s, &undone);
                c->proposals++;
                chain_s = search_now() - start;
                if ((c->proposals & 63) == 0)
                    report_progress(sh, c, 0);
                if (soap_search_improves(t, cur_s)) {
                    int fits = sh->o->allow_over_capacity || search_sim_fits(w->sim);
                    if (fits || !cur_fits) {
                        c->accepted++;
                        cur_s = t;
                        cur_fits = fits;
                        if (fits)
                            offer_best(w, c, t, chain_s);
                        log_row(sh, c, cur_s);
                        changed = 1;
                        break;
                    }
                    c->over_capacity++;
                }
                reject(w, n, ops, undone);
                if (c->proposals % sh->log_every == 0)
                    log_row(sh, c, cur_s);
            }
        }
    }
    c->local_optimum = 1;
out:
    log_row(sh, c, cur_s);
    free(order);
}

/* Random: independent random strategies, each simulated in full. */
static void run_random(worker *w, chain_state *c, gsl_rng *rng, double start)
{
    shared *sh = w->sh;
    double chain_s = 0.0;
    while (!chain_over(sh, c, chain_s, 0)) {
        soap_space_random_strategy(sh->space, rng, w->cur);
        double t = search_simulate(w->sim, w->cur);
        c->proposals++;
        chain_s = search_now() - start;
        double old_best = c->best_s;
        if (soap_search_improves(t, c->best_s)) {
            offer_best(w, c, t, chain_s);
            if (c->best_s != old_best)
                c->accepted++;
        }
        if (c->best_s != old_best || c->proposals % sh->log_every == 0)
            log_row(sh, c, t);
        if ((c->proposals & 15) == 0)
            report_progress(sh, c, 0);
    }
    log_row(sh, c, c->best_s);
}

static void run_chain(worker *w, chain_state *c)
{
    shared *sh = w->sh;
    const soap_search_problem *p = sh->p;
    int i = c->index;
    /* Chain i draws from its own stream index, so the outcome does not
     * depend on which thread runs which chain. */
    gsl_rng *rng = soap_rng_new(sh->o->seed, SOAP_RNG_SEARCH_CHAIN, (unsigned long)i);
    double start = search_now();
    c->best_s = INFINITY;
    if (sh->kind == CHAIN_RANDOM) {
        /* The initial strategy is only the baseline (soap_search_run). */
        if (!w->cur)
            w->cur = soap_strategy_clone(p->inits[0]);
        run_random(w, c, rng, start);
        gsl_rng_free(rng);
        return;
    }
    const soap_strategy *init = p->inits[i];
    double init_s;
    if (sh->o->full_sim) {
        if (!w->cur)
            w->cur = soap_strategy_clone(init);
        else
            soap_strategy_copy(w->cur, init);
        init_s = search_simulate(w->sim, w->cur);
    } else {
        init_s = search_simulate(w->sim, init);
    }
    int fits = sh->r->init_fits[i];
    if (fits || sh->o->allow_over_capacity) {
        c->best = soap_strategy_clone(init);
        c->best_s = init_s;
    }
    log_row(sh, c, init_s);
    if (sh->kind == CHAIN_GREEDY)
        run_greedy(w, c, rng, init_s, fits || sh->o->allow_over_capacity, start);
    else
        run_mh(w, c, rng, init_s, start);
    gsl_rng_free(rng);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    for (;;) {
        pthread_mutex_lock(&sh->lock);
        int i = sh->next < sh->nchains && !stop_requested(sh) ? sh->next++ : -1;
        pthread_mutex_unlock(&sh->lock);
        if (i < 0)
            break;
        chain_state *c = &sh->chains[i];
        run_chain(w, c);
        pthread_mutex_lock(&sh->lock);
        sh->done++;
        pthread_mutex_unlock(&sh->lock);
        report_progress(sh, c, 1);
    }
    return NULL;
}

/* Extra threads' simulators: clones of the problem's. */
static void worker_init(worker *w, shared *sh, int t)
{
    memset(w, 0, sizeof *w);
    w->sh = sh;
    int most = search_space_groups(sh->space)->max_size;
    w->cfgs = soap_xmalloc((size_t)most * sizeof *w->cfgs);
    w->saved = soap_xmalloc((size_t)most * sizeof *w->saved);
    w->sim = t == 0 ? sh->p->sim : soap_sim_clone(sh->p->sim, NULL);
    SOAP_ASSERT(w->sim != NULL);
}

static void worker_free(worker *w, int t)
{
    if (t > 0 && w->sim)
        soap_sim_free(w->sim);
    if (w->cur)
        soap_strategy_free(w->cur);
    free(w->cfgs);
    free(w->saved);
}

static const char *const kind_names[] = {"mcmc", "anneal", "greedy", "random"};

soap_status search_run_chains(chain_kind kind, const soap_search_problem *p,
                              const soap_search_options *o, soap_search_result *r,
                              soap_error *err)
{
    if (kind != CHAIN_GREEDY && o->seconds <= 0 && o->proposals <= 0)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "search %s: needs a budget (seconds and/or proposals)",
                              kind_names[kind]);
    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.kind = kind;
    sh.p = p;
    sh.o = o;
    sh.r = r;
    sh.space = soap_space_new(p->g, p->m->ndevices, &o->space);
    sh.t0 = search_now();
    sh.log_every = o->log_every > 0 ? o->log_every : 100;
    sh.stop_floor = o->stop_floor > 0 ? o->stop_floor : SOAP_SEARCH_STOP_FLOOR;
    sh.nchains = p->ninits;
    sh.best_s = INFINITY;
    /* beta: explicit, or auto: SOAP_SEARCH_BETA_PER_OP operators' worth
     * of the best initial time (soap_search.h). */
    double base = INFINITY;
    for (int i = 0; i < p->ninits; i++)
        base = fmin(base, r->init_s[i]);
    sh.beta = o->beta > 0 ? o->beta : SOAP_SEARCH_BETA_PER_OP * (double)p->g->nops / base;
    pthread_mutex_init(&sh.lock, NULL);

    int threads = o->threads > 1 ? o->threads : 1;
    if (threads > sh.nchains)
        threads = sh.nchains;
    sh.chains = soap_xcalloc((size_t)sh.nchains, sizeof *sh.chains);
    for (int i = 0; i < sh.nchains; i++) {
        chain_state *c = &sh.chains[i];
        c->index = i;
        if (o->proposals > 0)
            c->budget_props = o->proposals / sh.nchains + (i < o->proposals % sh.nchains);
        if (c->budget_props == 0 && o->proposals > 0)
            c->budget_props = 1;
        if (o->seconds > 0)
            c->budget_s = o->seconds * threads / sh.nchains;
    }

    worker *ws = soap_xcalloc((size_t)threads, sizeof *ws);
    pthread_t *tids = soap_xcalloc((size_t)threads, sizeof *tids);
    for (int t = 0; t < threads; t++)
        worker_init(&ws[t], &sh, t);
    /* A thread that cannot be started leaves its chains to the others. */
    int started = 1;
    for (int t = 1; t < threads; t++) {
        if (pthread_create(&tids[t], NULL, worker_main, &ws[t]) != 0)
            break;
        started++;
    }
    worker_main(&ws[0]);
    for (int t = 1; t < started; t++)
        pthread_join(tids[t], NULL);
    for (int t = 0; t < threads; t++)
        worker_free(&ws[t], t);
    free(ws);
    free(tids);

    /* Combine in chain order. */
    int best = -1;
    for (int i = 0; i < sh.nchains; i++) {
        chain_state *c = &sh.chains[i];
        r->proposals += c->proposals;
        r->accepted += c->accepted;
        r->over_capacity += c->over_capacity;
        r->rejected_early += c->rejected_early;
        r->tasks_sum += c->tasks_sum;
        r->interrupted |= c->interrupted;
        for (long k = 0; k < c->nlog; k++)
            search_log_push(&r->log, &r->log_len, &r->log_cap, &c->log[k]);
        if (c->best && (best < 0 || c->best_s < sh.chains[best].best_s))
            best = i;
    }
    if (best >= 0) {
        chain_state *c = &sh.chains[best];
        r->best = c->best;
        c->best = NULL;
        r->best_s = c->best_s;
        r->best_fits = -1; /* soap_search_run checks */
        r->best_init = kind == CHAIN_RANDOM ? -1 : best;
        r->found_by_search = c->best_at > 0;
        const char *name = p->init_names && kind != CHAIN_RANDOM ? p->init_names[best] : NULL;
        if (kind == CHAIN_RANDOM)
            snprintf(r->origin, sizeof r->origin, "random draw %ld of chain %d", c->best_at,
                     best);
        else
            snprintf(r->origin, sizeof r->origin, "chain %d (from %s), proposal %ld at %.3g s",
                     best, name ? name : "initial strategy", c->best_at, c->best_at_s);
    }
    int all_local = 1;
    for (int i = 0; i < sh.nchains; i++)
        all_local &= sh.chains[i].local_optimum;
    if (kind == CHAIN_GREEDY)
        r->exhausted = all_local;
    r->beta = kind == CHAIN_MCMC ? sh.beta : 0.0;
    r->chains = sh.nchains;
    r->simulation = kind == CHAIN_RANDOM || o->full_sim ? "full simulation" : "delta simulation";
    r->threads = threads;
    for (int i = 0; i < sh.nchains; i++) {
        if (sh.chains[i].best)
            soap_strategy_free(sh.chains[i].best);
        free(sh.chains[i].log);
    }
    free(sh.chains);
    soap_space_free(sh.space);
    pthread_mutex_destroy(&sh.lock);
    return SOAP_OK;
}
