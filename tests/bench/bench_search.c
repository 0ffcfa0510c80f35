/* bench_search.c: speed of the search (a benchmark, not a test): for each
 * of the six paper models plus transformer, on p100x16 (16 devices) and
 * k80x64 (64 devices), mcmc from data parallelism (one chain, one thread,
 * seed 1, default beta, no stop rule) for a budget of --proposals proposals
 * (default 2,000) with delta simulation, then the same chain with a full
 * simulation per proposal. Per case:
 *  - proposals per second of each, and delta over full (the chains are
 *    the same, so the ratio of the rates is the ratio of search times for
 *    the same result; a mismatch of the two chains' bests marks the row);
 *  - tasks per proposal: the average task count of the chain's strategy
 *    over its proposals (soap_search_result tasks_sum / proposals; the task
 *    graph each delta starts from);
 *  - the rejected-before-build share (rejected_early / proposals);
 *  - the acceptance rate and the best's ratio to its largest lower bound;
 *  - the wall-clock seconds (and proposals) the delta chain took to come
 *    within 1% of its final best, from its convergence log (a row is
 *    logged at every new best, so the first row at most 1.01 x the final
 *    best is when it got there).
 *
 * usage: bench_search [--commit C] [--proposals N] [--seconds S]
 *                     [--model NAME] [CSV]
 * --seconds S caps each search at S wall-clock seconds on top of the
 * proposal budget (a quick look; default: no cap): a capped delta search
 * runs fewer proposals (the CSV says how many, status "capped"), and the
 * full search is given the delta search's count, so both walk the same
 * prefix of the chain unless the cap stops the full one too. --model runs
 * one model (any built-in). The CSV opens with soap_provenance_write lines
 * (--commit sets SOAP_COMMIT, as scripts/bench.sh passes it).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soap_core.h"
#include "soap_search.h"
#include "soap_sim.h"
#include "soap_strategies.h"

#define BATCH_PER_DEVICE 64
#define SEED 1
#define DEFAULT_PROPOSALS 2000
#define WITHIN 0.01 /* "within 1% of the final best" */

typedef struct bench_machine {
    const char *preset;
    int devices;
} bench_machine;

static const bench_machine machines[] = {{"p100x16", 16}, {"k80x64", 64}};
#define NMACHINES ((int)(sizeof machines / sizeof machines[0]))

/* The six models of the paper's evaluation, and transformer. */
static const char *const models[] = {"alexnet", "inception_v3", "resnet101", "rnntc",
                                     "rnnlm",   "nmt",          "transformer", NULL};

typedef struct run {
    long props;
    double secs, best_s;
} run;

typedef struct row {
    const char *model, *machine;
    int devices, ops;
    double data_s;
    run delta, full;
    double tasks_per_prop, early_share, acceptance, over_bound;
    double within_s;       /* wall clock to within 1% of the final best */
    long within_props;
    const char *status;    /* ok, capped, mismatch, failed */
    char error[sizeof ((soap_error *)0)->msg];
} row;

/* The first log row within WITHIN of the chain's final best. */
static void within_best(const soap_search_result *res, row *r)
{
    double final = INFINITY;
    for (long k = 0; k < res->log_len; k++)
        final = fmin(final, res->log[k].best_s);
    r->within_s = -1.0;
    r->within_props = -1;
    for (long k = 0; k < res->log_len; k++)
        if (res->log[k].best_s <= final * (1.0 + WITHIN)) {
            r->within_s = res->log[k].elapsed_s;
            r->within_props = res->log[k].proposals;
            return;
        }
}

static void run_case(const char *model, const bench_machine *bm, long proposals,
                     double cap_s, row *r)
{
    soap_error err;
    soap_error_clear(&err);
    memset(r, 0, sizeof *r);
    r->model = model;
    r->machine = bm->preset;
    r->devices = bm->devices;
    r->status = "ok";
    soap_machine *m = soap_machine_load(bm->preset, bm->devices, &err);
    soap_model_options mo = {.batch = (int64_t)BATCH_PER_DEVICE * bm->devices};
    soap_graph *g = m ? soap_model_load(model, &mo, &err) : NULL;
    soap_costs *costs = g ? soap_costs_new(NULL, &err) : NULL;
    soap_sim_options so = {.sync = SOAP_SYNC_ALLREDUCE};
    soap_sim *sim = costs ? soap_sim_new(g, m, costs, &so, &err) : NULL;
    soap_strategy_options sopt = {.seed = SEED};
    soap_strategy *data = sim ? soap_strategy_load("data", g, m, &sopt, &err) : NULL;
    if (!data) {
        r->status = "failed";
        snprintf(r->error, sizeof r->error, "%s", err.msg);
        goto out;
    }
    r->ops = g->nops;
    const soap_strategy *inits[1] = {data};
    const char *names[1] = {"data"};
    soap_search_problem p = {
        .g = g, .m = m, .sim = sim, .inits = inits, .init_names = names, .ninits = 1};
    for (int full = 0; full < 2; full++) {
        soap_search_options o = soap_search_options_default();
        /* The full search walks the delta search's chain: as many proposals. */
        o.proposals = full ? r->delta.props : proposals;
        o.seconds = cap_s;
        o.seed = SEED;
        o.no_stop_rule = 1;
        o.full_sim = full;
        soap_search_result res;
        if (soap_search_run(soap_search_find("mcmc"), &p, &o, &res, &err) != SOAP_OK) {
            r->status = "failed";
            snprintf(r->error, sizeof r->error, "%s", err.msg);
            soap_search_result_free(&res);
            break;
        }
        run *x = full ? &r->full : &r->delta;
        x->props = res.proposals;
        x->secs = res.elapsed_s;
        x->best_s = res.best_s;
        if (!full) {
            r->data_s = res.init_s[0];
            double n = res.proposals > 0 ? (double)res.proposals : 1.0;
            r->tasks_per_prop = (double)res.tasks_sum / n;
            r->early_share = (double)res.rejected_early / n;
            r->acceptance = res.acceptance;
            r->over_bound = res.best_over_bound;
            within_best(&res, r);
            if (res.proposals < proposals)
                r->status = "capped";
        } else if (res.proposals == r->delta.props && res.best_s != r->delta.best_s) {
            r->status = "mismatch"; /* the same chain must find the same best */
        }
        soap_search_result_free(&res);
    }
out:
    if (data)
        soap_strategy_free(data);
    if (sim)
        soap_sim_free(sim);
    if (costs)
        soap_costs_free(costs);
    if (g)
        soap_graph_free(g);
    if (m)
        soap_machine_free(m);
}

static double rate(long n, double s)
{
    return s > 0 ? (double)n / s : 0.0;
}

/* The CPU's model name (/proc/cpuinfo), for the provenance. */
static void cpu_name(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(buf, len, "%s", colon + 2);
            buf[strcspn(buf, "\n")] = '\0';
            break;
        }
    }
    fclose(f);
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_search [--commit C] [--proposals N] [--seconds S] "
                    "[--model NAME] [CSV]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *only = NULL, *csv = "bench_search.csv";
    double cap_s = 0.0;
    long proposals = DEFAULT_PROPOSALS;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--commit") == 0 && i + 1 < argc) {
            setenv("SOAP_COMMIT", argv[++i], 1); /* soap_provenance_write's commit */
        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end = NULL;
            cap_s = strtod(argv[++i], &end);
            if (*end != '\0' || !(cap_s > 0.0) || !(cap_s <= 86400.0)) {
                fprintf(stderr, "bench_search: --seconds '%s': expected a number of "
                                "seconds above 0, at most 86400\n", argv[i]);
                return 2;
            }
        } else if (strcmp(argv[i], "--proposals") == 0 && i + 1 < argc) {
            char *end = NULL;
            errno = 0;
            proposals = strtol(argv[++i], &end, 10);
            if (errno || *end != '\0' || proposals < 1 || proposals > 100000000L) {
                fprintf(stderr, "bench_search: --proposals '%s': expected 1 to 100000000\n",
                        argv[i]);
                return 2;
            }
        } else if (argv[i][0] != '-') {
            csv = argv[i];
        } else {
            return usage();
        }
    }
    soap_error err;
    soap_error_clear(&err);
    soap_outfile *out = soap_outfile_open(csv, &err);
    if (!out) {
        fprintf(stderr, "bench_search: %s\n", err.msg);
        return 1;
    }
    FILE *f = soap_outfile_stream(out);
    char props[32], cap[32], seed[16], batch[16], cpu[128];
    snprintf(props, sizeof props, "%ld", proposals);
    snprintf(cap, sizeof cap, cap_s > 0 ? "%g s" : "none", cap_s);
    snprintf(seed, sizeof seed, "%d", SEED);
    snprintf(batch, sizeof batch, "%d per device", BATCH_PER_DEVICE);
    cpu_name(cpu, sizeof cpu);
    const char *prov[] = {"measured", "mcmc from data, one chain, one thread, default beta, "
                                      "no stop rule, analytic costs, allreduce; delta then "
                                      "full simulation of the same chain",
                          "proposals", props, "seconds cap per search", cap, "seed", seed,
                          "batch", batch, "cpu", cpu, NULL, NULL};
    soap_provenance_write(f, "bench_search", prov);
    fprintf(f, "model,machine,devices,ops,data_s,proposals,delta_s,delta_per_s,"
               "full_proposals,full_s,full_per_s,delta_over_full,tasks_per_proposal,"
               "rejected_early_share,acceptance,best_s,best_speedup_over_data,"
               "best_over_bound,within_1pct_s,within_1pct_proposals,status\n");
    printf("%-13s %-8s %4s %5s %10s %10s %8s %9s %7s %8s %9s %6s\n", "model", "machine", "dev",
           "ops", "delta/s", "full/s", "d/full", "tasks/p", "early", "accept", "1% at s",
           "status");
    int status = 0;
    const char *const one[2] = {only, NULL};
    for (const char *const *mn = only ? one : models; *mn; mn++) {
        for (int k = 0; k < NMACHINES; k++) {
            row r;
            run_case(*mn, &machines[k], proposals, cap_s, &r);
            double dps = rate(r.delta.props, r.delta.secs), fps = rate(r.full.props, r.full.secs);
            double sp = fps > 0 ? dps / fps : 0.0;
            double vs = r.delta.best_s > 0 ? r.data_s / r.delta.best_s : 0.0;
            fprintf(f,
                    "%s,%s,%d,%d,%.9g,%ld,%.6g,%.6g,%ld,%.6g,%.6g,%.4g,%.6g,%.4g,%.4g,%.9g,"
                    "%.4g,%.6g,%.6g,%ld,%s\n",
                    r.model, r.machine, r.devices, r.ops, r.data_s, r.delta.props, r.delta.secs,
                    dps, r.full.props, r.full.secs, fps, sp, r.tasks_per_prop, r.early_share,
                    r.acceptance, r.delta.best_s, vs, r.over_bound, r.within_s, r.within_props,
                    r.status);
            if (strcmp(r.status, "failed") == 0 || strcmp(r.status, "mismatch") == 0) {
                fprintf(stderr, "bench_search: %s on %s: %s\n", r.model, r.machine,
                        r.error[0] ? r.error : "delta and full chains differ");
                status = 1;
                continue;
            }
            printf("%-13s %-8s %4d %5d %10.1f %10.2f %7.2fx %9.0f %6.1f%% %7.1f%% %9.3g %6s\n",
                   r.model, r.machine, r.devices, r.ops, dps, fps, sp, r.tasks_per_prop,
                   100.0 * r.early_share, 100.0 * r.acceptance, r.within_s, r.status);
            fflush(stdout);
        }
    }
    if (soap_outfile_commit(out, &err) != SOAP_OK) {
        fprintf(stderr, "bench_search: %s\n", err.msg);
        return 1;
    }
    printf("written: %s\n", csv);
    return status;
}
