/* reinforce.c: the placement-only baseline of the paper's comparison
 * (Mirhoseini et al., "Device Placement Optimization with Reinforcement
 * Learning", 2017) as a search algorithm: a policy puts every operator,
 * unsplit, on one device, and is trained by REINFORCE with a moving-average
 * baseline on the simulated iteration time.
 *
 * Simplification (documented in README.md): the original policy is a
 * sequence-to-sequence network over the operators; here it is factorized,
 * one softmax over the n devices per operator (logits theta[op][d], all 0
 * at the start: every placement equally likely), so ops are drawn
 * independently. What stays: the strategy space (placement only, degree 1
 * everywhere: soap_config_single), the reward -sqrt(time) and the
 * moving-average baseline.
 *
 * One update: K = reinforce_samples placements are drawn from the policy
 * and each simulated in full (soap_sim_full: a sample changes many ops at
 * once, so a delta would gain nothing); a sample's reward is
 * R = -sqrt(t / t_ref), t its iteration time in seconds and t_ref the best
 * initial time (the scaling keeps the rewards near -1 whatever the model,
 * so one learning rate fits all; it changes no ranking). The baseline b is
 * an exponential moving average of the rewards (b <- 0.9 b + 0.1 R per
 * sample, b starting at the first reward). The gradient of log pi(a) with
 * respect to theta[op][j] is [j == a_op] - p[op][j]; the update is
 * theta += lr * (1/K) * sum_k (R_k - b) * grad_k, b taken as it was before
 * the update's samples.
 *
 * One proposal = one sampled placement simulated. The best sample that fits
 * memory (unless allow_over_capacity) is kept; the reward ignores memory.
 * The search needs a budget (seconds and/or proposals); the proposal budget
 * ends an update early when it runs out within it. It runs one chain
 * (chain 0, its RNG from (seed, SOAP_RNG_SEARCH_CHAIN, 0)) on one thread
 * whatever opt->threads says: each update depends on the one before, and a
 * baseline needs no parallel speed. The initial strategies are only the bar
 * a sample has to beat (soap_search_run compares against them too).
 */
#include <stdio.h>
#include <string.h>

#include "search_internal.h"

#define REINFORCE_LR_MAX 1000.0
#define REINFORCE_SAMPLES_MAX 1024
#define REINFORCE_BASELINE_DECAY 0.9

typedef struct rl {
    const soap_search_problem *p;
    const soap_search_options *o;
    soap_search_result *r;
    gsl_rng *rng;
    int n, nops, k;
    double *theta;      /* nops x n logits */
    double *prob;       /* nops x n, softmax of theta */
    double *grad;       /* nops x n, the update's accumulated gradient */
    int *choice;        /* k x nops: the devices of the update's samples */
    double *reward;     /* k */
    soap_strategy *cur; /* the sample simulated */
    soap_strategy *best;
    double best_s;
    long best_at;
    double start, t_end, last_report;
    long proposals, log_every;
} rl;

static void softmax(rl *s)
{
    for (int op = 0; op < s->nops; op++) {
        const double *th = s->theta + (size_t)op * s->n;
        double *p = s->prob + (size_t)op * s->n;
        double mx = th[0];
        for (int d = 1; d < s->n; d++)
            mx = fmax(mx, th[d]);
        double sum = 0.0;
        for (int d = 0; d < s->n; d++) {
            p[d] = exp(th[d] - mx);
            sum += p[d];
        }
        for (int d = 0; d < s->n; d++)
            p[d] /= sum;
    }
}

/* One device per op from the policy, into s->cur and choice[]. */
static void draw(rl *s, int *choice)
{
    const soap_graph *g = s->p->g;
    for (int op = 0; op < s->nops; op++) {
        const double *p = s->prob + (size_t)op * s->n;
        double u = gsl_rng_uniform(s->rng);
        int d = 0;
        double acc = p[0];
        while (d < s->n - 1 && u >= acc)
            acc += p[++d];
        choice[op] = d;
        s->cur->configs[op] = soap_config_single(g, op, d);
    }
}

static void report(rl *s, int force)
{
    if (!s->o->progress)
        return;
    double now = search_now();
    if (!force && now - s->last_report < 0.2)
        return;
    s->last_report = now;
    soap_search_progress pr = {.elapsed_s = now - s->start, .proposals = s->proposals,
                               .best_s = s->best_s, .chains_done = force, .chains = 1};
    s->o->progress(s->o->progress_ctx, &pr);
}

static void log_row(rl *s, double cur_s)
{
    soap_search_log_row row = {.elapsed_s = search_now() - s->start,
                               .proposals = s->proposals, .chain = 0,
                               .current_s = cur_s, .best_s = s->best_s};
    search_log_push(&s->r->log, &s->r->log_len, &s->r->log_cap, &row);
}

static int over(rl *s)
{
    if (s->o->stop && *s->o->stop) {
        s->r->interrupted = 1;
        return 1;
    }
    if (s->o->proposals > 0 && s->proposals >= s->o->proposals)
        return 1;
    return s->t_end > 0 && search_now() >= s->t_end;
}

static soap_status check_options(const soap_search_options *o, soap_error *err)
{
    if (!(o->reinforce_lr > 0) || !(o->reinforce_lr <= REINFORCE_LR_MAX))
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "search reinforce: learning rate %g: expected a number > 0 "
                              "and <= %g",
                              o->reinforce_lr, REINFORCE_LR_MAX);
    if (o->reinforce_samples < 1 || o->reinforce_samples > REINFORCE_SAMPLES_MAX)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "search reinforce: samples per update %d: expected 1 to %d",
                              o->reinforce_samples, REINFORCE_SAMPLES_MAX);
    if (o->seconds <= 0 && o->proposals <= 0)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "search reinforce: needs a budget (seconds and/or proposals)");
    if (!o->space.placement) {
        char buf[8];
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "search reinforce: space %s has no placement freedom; reinforce "
                              "places unsplit operators on devices: expected O in the dims "
                              "(e.g. O or SOAP)",
                              soap_search_space_str(&o->space, buf, sizeof buf));
    }
    return SOAP_OK;
}

/* One update: K samples, then the policy gradient step. */
static void update(rl *s, double t_ref, double *baseline, int *have_baseline)
{
    int taken = 0;
    double b = *baseline;
    for (int k = 0; k < s->k && !over(s); k++) {
        int *choice = s->choice + (size_t)k * s->nops;
        draw(s, choice);
        double t = search_simulate(s->p->sim, s->cur);
        s->proposals++;
        double R = -sqrt(t / t_ref);
        s->reward[k] = R;
        taken++;
        if (!*have_baseline) {
            *have_baseline = 1;
            b = R;
            *baseline = R;
        }
        *baseline = REINFORCE_BASELINE_DECAY * *baseline + (1.0 - REINFORCE_BASELINE_DECAY) * R;
        int improved = 0;
        if (soap_search_improves(t, s->best_s) &&
            (s->o->allow_over_capacity || search_sim_fits(s->p->sim))) {
            soap_strategy_copy(s->best, s->cur);
            s->best_s = t;
            s->best_at = s->proposals;
            s->r->accepted++;
            improved = 1;
        } else if (soap_search_improves(t, s->best_s)) {
            s->r->over_capacity++;
        }
        if (improved || s->proposals % s->log_every == 0)
            log_row(s, t);
        report(s, 0);
    }
    if (taken == 0)
        return;
    memset(s->grad, 0, (size_t)s->nops * (size_t)s->n * sizeof *s->grad);
    for (int k = 0; k < taken; k++) {
        double adv = s->reward[k] - b;
        const int *choice = s->choice + (size_t)k * s->nops;
        for (int op = 0; op < s->nops; op++) {
            double *gr = s->grad + (size_t)op * s->n;
            const double *p = s->prob + (size_t)op * s->n;
            for (int d = 0; d < s->n; d++)
                gr[d] += adv * ((d == choice[op]) - p[d]);
        }
    }
    double step = s->o->reinforce_lr / taken;
    for (size_t i = 0; i < (size_t)s->nops * (size_t)s->n; i++)
        s->theta[i] += step * s->grad[i];
    softmax(s);
}

static soap_status run_reinforce(const soap_search_problem *p, const soap_search_options *o,
                                 soap_search_result *r, soap_error *err)
{
    soap_status st = check_options(o, err);
    if (st != SOAP_OK)
        return st;
    rl s;
    memset(&s, 0, sizeof s);
    s.p = p;
    s.o = o;
    s.r = r;
    s.n = p->m->ndevices;
    s.nops = p->g->nops;
    s.k = o->reinforce_samples;
    s.log_every = o->log_every > 0 ? o->log_every : 100;
    size_t cells = (size_t)s.nops * (size_t)s.n;
    s.theta = soap_xcalloc(cells, sizeof *s.theta);
    s.prob = soap_xcalloc(cells, sizeof *s.prob);
    s.grad = soap_xcalloc(cells, sizeof *s.grad);
    s.choice = soap_xcalloc((size_t)s.k * (size_t)s.nops, sizeof *s.choice);
    s.reward = soap_xcalloc((size_t)s.k, sizeof *s.reward);
    s.cur = soap_strategy_clone(p->inits[0]);
    s.best = soap_strategy_clone(p->inits[0]);
    s.rng = soap_rng_new(o->seed, SOAP_RNG_SEARCH_CHAIN, 0);
    softmax(&s);

    /* The best initial strategy (fitting, unless memory is not checked) is
     * the bar a sample has to beat; t_ref scales the reward. */
    double t_ref = INFINITY;
    s.best_s = INFINITY;
    for (int i = 0; i < p->ninits; i++) {
        t_ref = fmin(t_ref, r->init_s[i]);
        if (r->init_fits[i] || o->allow_over_capacity)
            s.best_s = fmin(s.best_s, r->init_s[i]);
    }
    SOAP_ASSERT(t_ref > 0 && isfinite(t_ref));
    s.start = search_now();
    s.last_report = s.start;
    s.t_end = o->seconds > 0 ? s.start + o->seconds : 0.0;
    log_row(&s, s.best_s);
    double baseline = 0.0;
    int have_baseline = 0;
    long updates = 0;
    while (!over(&s)) {
        update(&s, t_ref, &baseline, &have_baseline);
        updates++;
    }
    log_row(&s, s.best_s);
    report(&s, 1);

    r->proposals = s.proposals;
    r->chains = 1;
    r->threads = 1;
    r->simulation = "full simulation"; /* a sample changes many ops */
    if (s.best_at > 0) {
        r->best = s.best;
        s.best = NULL;
        r->best_s = s.best_s;
        r->best_fits = -1; /* soap_search_run checks */
        r->found_by_search = 1;
        snprintf(r->origin, sizeof r->origin,
                 "reinforce: sample %ld of %ld (%ld updates of %d samples, lr %g)",
                 s.best_at, s.proposals, updates, s.k, o->reinforce_lr);
    }
    if (s.best)
        soap_strategy_free(s.best);
    soap_strategy_free(s.cur);
    gsl_rng_free(s.rng);
    free(s.theta);
    free(s.prob);
    free(s.grad);
    free(s.choice);
    free(s.reward);
    return SOAP_OK;
}

const soap_search_ops search_reinforce = {
    .name = "reinforce",
    .description = "placement only (Mirhoseini et al. 2017): a per-operator softmax over "
                   "devices trained by REINFORCE on -sqrt(time), full simulation",
    .run = run_reinforce,
};
