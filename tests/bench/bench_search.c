/* bench_search.c: speed of the search (a benchmark, not a test): for every
 * built-in model on p100x16 (16 devices) and k80x64 (64 devices), mcmc from
 * data parallelism (one chain, no stop rule, seed 1) for --seconds of wall
 * clock with delta simulation, then the same with full simulation per
 * proposal; proposals per second of each, and the end-to-end speedup of
 * delta over full (the chains are the same, so the ratio of proposal rates
 * is the ratio of search times for the same result). Also the best time
 * found against data parallelism, and the share of the delta search's
 * proposals rejected before any task was built (its pre-check).
 *
 * usage: bench_search [--commit C] [--seconds S] [--model NAME] [CSV]
 * The CSV starts with '#' provenance lines: what was measured, the commit
 * (as passed by scripts/bench.sh), the date (UTC), the machine.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>

#include "soap_core.h"
#include "soap_search.h"
#include "soap_sim.h"
#include "soap_strategies.h"

#define BATCH_PER_DEVICE 64
#define SEED 1

typedef struct bench_machine {
    const char *preset;
    int devices;
} bench_machine;

static const bench_machine machines[] = {{"p100x16", 16}, {"k80x64", 64}};
#define NMACHINES ((int)(sizeof machines / sizeof machines[0]))

typedef struct row {
    const char *model, *machine;
    int devices, ops;
    double data_s;
    long props[2];
    long rejected_early;  /* delta search: rejected before building */
    double secs[2], best[2];
    int failed;
    char error[sizeof ((soap_error *)0)->msg];
} row;

static void run_case(const char *model, const bench_machine *bm, double seconds, row *r)
{
    soap_error err;
    soap_error_clear(&err);
    memset(r, 0, sizeof *r);
    r->model = model;
    r->machine = bm->preset;
    r->devices = bm->devices;
    soap_machine *m = soap_machine_load(bm->preset, bm->devices, &err);
    soap_model_options mo = {.batch = (int64_t)BATCH_PER_DEVICE * bm->devices};
    soap_graph *g = m ? soap_model_load(model, &mo, &err) : NULL;
    soap_costs *costs = g ? soap_costs_new(NULL, &err) : NULL;
    soap_sim_options so = {.sync = SOAP_SYNC_ALLREDUCE};
    soap_sim *sim = costs ? soap_sim_new(g, m, costs, &so, &err) : NULL;
    soap_strategy_options sopt = {.seed = SEED};
    soap_strategy *data = sim ? soap_strategy_load("data", g, m, &sopt, &err) : NULL;
    if (!data) {
        r->failed = 1;
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
        o.seconds = seconds;
        o.seed = SEED;
        o.no_stop_rule = 1;
        o.full_sim = full;
        soap_search_result res;
        if (soap_search_run(soap_search_find("mcmc"), &p, &o, &res, &err) != SOAP_OK) {
            r->failed = 1;
            snprintf(r->error, sizeof r->error, "%s", err.msg);
            soap_search_result_free(&res);
            break;
        }
        r->data_s = res.init_s[0];
        r->props[full] = res.proposals;
        r->secs[full] = res.elapsed_s;
        r->best[full] = res.best_s;
        if (!full)
            r->rejected_early = res.rejected_early;
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

int main(int argc, char **argv)
{
    const char *commit = "unknown", *only = NULL, *csv = "bench_search.csv";
    double seconds = 2.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--commit") == 0 && i + 1 < argc) {
            commit = argv[++i];
        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            only = argv[++i];
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end = NULL;
            seconds = strtod(argv[++i], &end);
            if (*end != '\0' || !(seconds > 0.0)) {
                fprintf(stderr, "bench_search: --seconds '%s': expected a positive number\n",
                        argv[i]);
                return 2;
            }
        } else if (argv[i][0] != '-') {
            csv = argv[i];
        } else {
            fprintf(stderr, "usage: bench_search [--commit C] [--seconds S] [--model NAME] "
                            "[CSV]\n");
            return 2;
        }
    }
    FILE *f = fopen(csv, "w");
    if (!f) {
        fprintf(stderr, "bench_search: %s: cannot write: %s\n", csv, strerror(errno));
        return 1;
    }
    char date[64];
    time_t tt = time(NULL);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    struct utsname u;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);
    fprintf(f, "# bench_search: mcmc proposals per second, delta vs full simulation; one chain "
               "from data, no stop rule, analytic costs, allreduce\n");
    fprintf(f, "# commit: %s\n# date: %s\n# machine: %s %s %s %s\n", commit, date, u.sysname,
            u.nodename, u.release, u.machine);
    fprintf(f, "# seconds per search: %g; seed: %d; batch: %d per device\n", seconds, SEED,
            BATCH_PER_DEVICE);
    fprintf(f, "model,machine,devices,ops,data_s,delta_proposals,delta_s,delta_per_s,"
               "delta_best_s,delta_rejected_early_share,full_proposals,full_s,full_per_s,full_best_s,delta_speedup,"
               "best_speedup_over_data,status\n");
    printf("%-13s %-8s %4s %5s %12s %8s %12s %9s %9s\n", "model", "machine", "dev", "ops",
           "delta prop/s", "early", "full prop/s", "speedup", "vs data");
    int status = 0;
    for (const soap_model_info *mi = soap_models(); mi->name; mi++) {
        if (only && strcmp(only, mi->name) != 0)
            continue;
        for (int k = 0; k < NMACHINES; k++) {
            row r;
            run_case(mi->name, &machines[k], seconds, &r);
            double dps = rate(r.props[0], r.secs[0]), fps = rate(r.props[1], r.secs[1]);
            double sp = fps > 0 ? dps / fps : 0.0;
            double vs = r.best[0] > 0 ? r.data_s / r.best[0] : 0.0;
            double early = r.props[0] > 0 ? (double)r.rejected_early / (double)r.props[0] : 0.0;
            fprintf(f,
                    "%s,%s,%d,%d,%.9g,%ld,%.6g,%.6g,%.9g,%.4g,%ld,%.6g,%.6g,%.9g,%.4g,%.4g,%s\n",
                    r.model, r.machine, r.devices, r.ops, r.data_s, r.props[0], r.secs[0], dps,
                    r.best[0], early, r.props[1], r.secs[1], fps, r.best[1], sp, vs,
                    r.failed ? "failed" : "ok");
            if (r.failed) {
                fprintf(stderr, "bench_search: %s on %s: %s\n", r.model, r.machine, r.error);
                status = 1;
                continue;
            }
            printf("%-13s %-8s %4d %5d %12.1f %7.1f%% %12.2f %8.2fx %8.3fx\n", r.model,
                   r.machine, r.devices, r.ops, dps, 100.0 * early, fps, sp, vs);
            fflush(stdout);
        }
    }
    fclose(f);
    printf("written: %s\n", csv);
    return status;
}
