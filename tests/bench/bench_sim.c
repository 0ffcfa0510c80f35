/* bench_sim.c: the simulator's speed and memory (a benchmark, not a test:
 * nothing here is asserted against a threshold).
 *
 * For every built-in model under the `data` strategy on p100x16 (16
 * devices) and k80x64 (64 devices), batch 64 per device, analytic costs,
 * default options (allreduce, overlapping the backward pass):
 *   - full simulations per second and tasks per second, repeating
 *     soap_sim_full until at least --seconds have passed (after one warm-up
 *     run that fills the cost cache);
 *   - the time of one delta proposal: a uniformly random op, a uniformly
 *     random valid config for it (soap_config_random), soap_sim_delta, then
 *     soap_sim_undo, averaged over as many proposals as fit in --seconds;
 *     and one full simulation's time over it;
 *   - the baseline a search without delta simulation pays for the same
 *     proposals (the same RNG stream): one soap_sim_full of the strategy
 *     with that op's config replaced; its time over the delta proposal's is
 *     the speedup delta simulation brings;
 *   - after the proposals, whether the undone timeline still gives the
 *     first iteration time (undo_ok; a cheap consistency flag).
 * And the peak resident set (getrusage ru_maxrss) of the process after
 * simulating nmt on k80x64 (64 devices) with 20 proposals, measured first
 * so that no larger case came before it, with the part the simulator added
 * (peak after minus peak before creating it).
 *
 * usage: bench_sim [--commit C] [--seconds S] [--model NAME] [CSV]
 *   --model restricts the table to one built-in model (the RSS figure is
 *   measured only when that model is nmt).
 *   CSV defaults to build-bench/bench_sim.csv; '#' lines at its top give the
 *   commit (as passed by scripts/bench.sh), the date (UTC), the machine
 *   (uname, CPU model) and the settings. Prints a table on stdout.
 * Exit status: 0, or 1 when a case failed or its undo did not give back the
 * first iteration time (its row says so).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>

#include <gsl/gsl_rng.h>

#include "soap_core.h"
#include "soap_sim.h"
#include "soap_strategies.h"

#define BATCH_PER_DEVICE 64
#define RSS_PROPOSALS 20
#define RNG_SEED 1

typedef struct bench_machine {
    const char *preset;
    int devices;
} bench_machine;

static const bench_machine machines[] = {{"p100x16", 16}, {"k80x64", 64}};
#define NMACHINES ((int)(sizeof machines / sizeof machines[0]))

/* One row of the table. */
typedef struct bench_row {
    const char *model, *machine;
    int devices;
    long long batch;
    int ops;
    long tasks;
    double iteration_s;
    long full_runs;
    double full_s;           /* mean seconds per full simulation */
    long proposals;
    double delta_s;          /* mean seconds per proposal (delta + undo) */
    double undo_s;           /* mean seconds of the undo within it */
    long full_props;
    double full_prop_s;      /* mean seconds per full simulation of a proposal */
    int undo_ok;
    double peak_rss_bytes;   /* only for the RSS case, else < 0 */
    double sim_rss_bytes;
    int failed;
    char error[sizeof ((soap_error *)0)->msg]; /* the failing case's message */
} bench_row;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Peak resident set of this process so far, bytes (Linux reports KiB). */
static double peak_rss_bytes(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1.0;
    return 1024.0 * (double)ru.ru_maxrss;
}

/* Everything one case needs; sim borrows the rest. */
typedef struct bench_case {
    soap_machine *m;
    soap_graph *g;
    soap_strategy *s;
    soap_costs *costs;
    soap_sim *sim;
} bench_case;

static void case_free(bench_case *c)
{
    if (c->sim)
        soap_sim_free(c->sim);
    if (c->costs)
        soap_costs_free(c->costs);
    if (c->s)
        soap_strategy_free(c->s);
    if (c->g)
        soap_graph_free(c->g);
    if (c->m)
        soap_machine_free(c->m);
    memset(c, 0, sizeof *c);
}

/* Loads model, machine and the data strategy (not the simulator: the RSS
 * measure wants the memory before it). 0 on success, else row->error. */
static int case_load(const char *model, const bench_machine *bm, bench_case *c,
                     bench_row *row)
{
    soap_error err;
    soap_error_clear(&err);
    memset(c, 0, sizeof *c);
    memset(row, 0, sizeof *row);
    row->model = model;
    row->machine = bm->preset;
    row->devices = bm->devices;
    row->peak_rss_bytes = row->sim_rss_bytes = -1.0;
    c->m = soap_machine_load(bm->preset, bm->devices, &err);
    if (c->m) {
        soap_model_options mo;
        memset(&mo, 0, sizeof mo);
        mo.batch = (int64_t)BATCH_PER_DEVICE * bm->devices;
        c->g = soap_model_load(model, &mo, &err);
    }
    if (c->g) {
        soap_strategy_options so;
        memset(&so, 0, sizeof so);
        c->s = soap_strategy_load("data", c->g, c->m, &so, &err);
    }
    if (c->s)
        c->costs = soap_costs_new(NULL, &err);
    if (!c->costs) {
        row->failed = 1;
        snprintf(row->error, sizeof row->error, "%s", err.msg);
        return -1;
    }
    row->batch = (long long)c->g->batch;
    row->ops = c->g->nops;
    return 0;
}

/* Creates the simulator and runs the first full simulation. */
static int case_start(bench_case *c, bench_row *row)
{
    soap_error err;
    soap_error_clear(&err);
    soap_sim_options so;
    memset(&so, 0, sizeof so);
    so.sync = SOAP_SYNC_ALLREDUCE;
    c->sim = soap_sim_new(c->g, c->m, c->costs, &so, &err);
    double t = c->sim ? soap_sim_full(c->sim, c->s, &err) : -1.0;
    if (t < 0.0) {
        row->failed = 1;
        snprintf(row->error, sizeof row->error, "%s", err.msg);
        return -1;
    }
    soap_sim_result r;
    soap_sim_result_get(c->sim, &r);
    row->iteration_s = r.iteration_s;
    row->tasks = r.ntasks;
    soap_sim_result_free(&r);
    return 0;
}

/* Random delta proposals until `seconds` have passed or `max` were made
 * (max <= 0: no limit); leaves the simulator on the original strategy.
 * Returns the count, *elapsed the seconds, *undo_s those spent in undo. */
static long proposals(bench_case *c, gsl_rng *rng, double seconds, long max, double *elapsed,
                      double *undo_s)
{
    soap_dims_mask mask = soap_dims_mask_all();
    const int ndev = c->m->ndevices;
    long n = 0;
    double undo = 0.0;
    double t0 = now_s(), t = t0;
    while ((max <= 0 || n < max) && (max > 0 || t - t0 < seconds)) {
        int op = (int)gsl_rng_uniform_int(rng, (unsigned long)c->g->nops);
        soap_config cfg = soap_config_random(c->g, op, ndev, &mask, rng);
        (void)soap_sim_delta(c->sim, op, &cfg);
        double tu = now_s();
        soap_sim_undo(c->sim);
        n++;
        t = now_s();
        undo += t - tu;
    }
    *elapsed = t - t0;
    *undo_s = undo;
    return n;
}

/* The same proposals simulated in full (what a search without delta pays:
 * one full simulation per proposal), until `seconds` have passed. Leaves
 * the simulator on the original strategy. -1 with *err on failure. */
static long full_proposals(bench_case *c, gsl_rng *rng, double seconds, double *elapsed,
                           soap_error *err)
{
    soap_dims_mask mask = soap_dims_mask_all();
    const int ndev = c->m->ndevices;
    soap_strategy *p = soap_strategy_clone(c->s);
    long n = 0;
    double t0 = now_s(), t = t0;
    while (t - t0 < seconds) {
        int op = (int)gsl_rng_uniform_int(rng, (unsigned long)c->g->nops);
        soap_config saved = p->configs[op];
        p->configs[op] = soap_config_random(c->g, op, ndev, &mask, rng);
        if (soap_sim_full(c->sim, p, err) < 0.0) {
            n = -1;
            break;
        }
        p->configs[op] = saved;
        n++;
        t = now_s();
    }
    *elapsed = t - t0;
    soap_strategy_free(p);
    if (n >= 0 && soap_sim_full(c->sim, c->s, err) < 0.0)
        n = -1;
    return n;
}

static void measure(bench_case *c, gsl_rng *rng, double seconds, bench_row *row)
{
    soap_error err;
    soap_error_clear(&err);
    /* Full simulations: the first (case_start) filled the cost cache. */
    long n = 0;
    double t0 = now_s(), t = t0;
    do {
        if (soap_sim_full(c->sim, c->s, &err) < 0.0) {
            row->failed = 1;
            snprintf(row->error, sizeof row->error, "%s", err.msg);
            return;
        }
        n++;
        t = now_s();
    } while (t - t0 < seconds);
    row->full_runs = n;
    row->full_s = (t - t0) / (double)n;

    /* Both kinds of proposal see the same stream of (op, config). */
    double elapsed = 0.0, undo = 0.0;
    gsl_rng_set(rng, RNG_SEED);
    row->proposals = proposals(c, rng, seconds, 0, &elapsed, &undo);
    row->delta_s = elapsed / (double)row->proposals;
    row->undo_s = undo / (double)row->proposals;

    soap_sim_result r;
    soap_sim_result_get(c->sim, &r);
    row->undo_ok = r.iteration_s == row->iteration_s && r.ntasks == row->tasks;
    soap_sim_result_free(&r);

    gsl_rng_set(rng, RNG_SEED);
    row->full_props = full_proposals(c, rng, seconds, &elapsed, &err);
    if (row->full_props < 0) {
        row->failed = 1;
        snprintf(row->error, sizeof row->error, "%s", err.msg);
        return;
    }
    row->full_prop_s = elapsed / (double)row->full_props;
}

/* Peak RSS for nmt on k80x64, first thing in the process. */
static void measure_rss(gsl_rng *rng, bench_row *row)
{
    const bench_machine *bm = &machines[1];
    bench_case c;
    if (case_load("nmt", bm, &c, row) == 0) {
        double before = peak_rss_bytes();
        if (case_start(&c, row) == 0) {
            double elapsed, undo;
            (void)proposals(&c, rng, 0.0, RSS_PROPOSALS, &elapsed, &undo);
            row->peak_rss_bytes = peak_rss_bytes();
            row->sim_rss_bytes = row->peak_rss_bytes - before;
        }
    }
    case_free(&c);
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */
static void cpu_model(char *buf, size_t len)
{
    snprintf(buf, len, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *p = strchr(line, ':');
            if (p) {
                p++;
                while (*p == ' ')
                    p++;
                snprintf(buf, len, "%s", p);
                buf[strcspn(buf, "\n")] = '\0';
            }
            break;
        }
    }
    fclose(f);
}

static void print_table(const bench_row *rows, int nrows)
{
    printf("%-12s %-8s %4s %5s %8s %10s %8s %9s %9s %9s %9s %8s %8s %4s\n", "model",
           "machine", "devs", "ops", "tasks", "iter_ms", "full/s", "Mtasks/s", "full_ms",
           "delta_ms", "fprop_ms", "full/dlt", "speedup", "undo");
    for (int i = 0; i < nrows; i++) {
        const bench_row *r = &rows[i];
        if (r->failed) {
            printf("%-12s %-8s %4d  FAILED: %s\n", r->model, r->machine, r->devices, r->error);
            continue;
        }
        printf("%-12s %-8s %4d %5d %8ld %10.3f %8.2f %9.3f %9.3f %9.3f %9.3f %8.2f %8.2f %4s\n",
               r->model, r->machine, r->devices, r->ops, r->tasks, r->iteration_s * 1e3,
               1.0 / r->full_s, (double)r->tasks / r->full_s / 1e6, r->full_s * 1e3,
               r->delta_s * 1e3, r->full_prop_s * 1e3, r->full_s / r->delta_s,
               r->full_prop_s / r->delta_s, r->undo_ok ? "ok" : "DIFF");
    }
}

static int write_csv(const char *path, const char *commit, double seconds,
                     const bench_row *rows, int nrows)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_sim: %s: cannot write: %s\n", path, strerror(errno));
        return -1;
    }
    char date[64], cpu[256];
    time_t tt = time(NULL);
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    struct utsname u;
    if (uname(&u) != 0)
        memset(&u, 0, sizeof u);
    cpu_model(cpu, sizeof cpu);
    fprintf(f, "# bench_sim: simulator speed, data strategy, analytic costs, allreduce\n");
    fprintf(f, "# commit: %s\n", commit);
    fprintf(f, "# date: %s\n", date);
    fprintf(f, "# machine: %s %s %s %s; cpu: %s\n", u.sysname, u.nodename, u.release,
            u.machine, cpu);
    fprintf(f, "# seconds per measurement: >= %g; rng seed: %d; batch: %d per device\n",
            seconds, RNG_SEED, BATCH_PER_DEVICE);
    fprintf(f, "# units: seconds, bytes; delta_s = one proposal (random op and config, "
               "delta, undo); undo_s = the undo within it; full_prop_s = one full simulation of such a proposal; "
               "delta_speedup = full_prop_s / delta_s; peak_rss for nmt on k80x64 only\n");
    fprintf(f, "model,machine,devices,batch,ops,tasks,iteration_s,full_runs,full_s,"
               "full_per_s,tasks_per_s,proposals,delta_s,undo_s,full_props,full_prop_s,"
               "full_over_delta,delta_speedup,undo_ok,peak_rss_bytes,sim_rss_bytes,status\n");
    for (int i = 0; i < nrows; i++) {
        const bench_row *r = &rows[i];
        char rss[64] = "", simrss[64] = "";
        if (r->peak_rss_bytes >= 0.0) {
            snprintf(rss, sizeof rss, "%.0f", r->peak_rss_bytes);
            snprintf(simrss, sizeof simrss, "%.0f", r->sim_rss_bytes);
        }
        if (r->failed) {
            fprintf(f, "%s,%s,%d,%lld,%d,,,,,,,,,,,,,,,,,failed\n", r->model, r->machine,
                    r->devices, r->batch, r->ops);
            continue;
        }
        fprintf(f,
                "%s,%s,%d,%lld,%d,%ld,%.9g,%ld,%.6g,%.6g,%.6g,%ld,%.6g,%.6g,%ld,%.6g,%.6g,%.6g,%d,%s,"
                "%s,ok\n",
                r->model, r->machine, r->devices, r->batch, r->ops, r->tasks, r->iteration_s,
                r->full_runs, r->full_s, 1.0 / r->full_s, (double)r->tasks / r->full_s,
                r->proposals, r->delta_s, r->undo_s, r->full_props, r->full_prop_s,
                r->full_s / r->delta_s, r->full_prop_s / r->delta_s, r->undo_ok, rss, simrss);
    }
    if (fclose(f) != 0) {
        fprintf(stderr, "bench_sim: %s: cannot write: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_sim [--commit C] [--seconds S] [--model NAME] [CSV]\n");
}

int main(int argc, char **argv)
{
    const char *csv = "build-bench/bench_sim.csv";
    const char *commit = "unknown";
    const char *only = NULL;
    double seconds = 1.0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--commit") == 0 && i + 1 < argc) {
            commit = argv[++i];
        } else if (strcmp(argv[i], "--model") == 0 && i + 1 < argc) {
            only = argv[++i];
            if (!soap_model_find(only)) {
                fprintf(stderr, "bench_sim: --model %s: not a built-in model\n", only);
                return 2;
            }
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            char *end;
            seconds = strtod(argv[++i], &end);
            if (*end != '\0' || !(seconds > 0.0)) {
                fprintf(stderr, "bench_sim: --seconds '%s': expected a positive number\n",
                        argv[i]);
                return 2;
            }
        } else if (argv[i][0] == '-') {
            usage();
            return 2;
        } else {
            csv = argv[i];
        }
    }

    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, RNG_SEED);

    bench_row rss;
    memset(&rss, 0, sizeof rss);
    rss.peak_rss_bytes = -1.0;
    const int want_rss = !only || strcmp(only, "nmt") == 0;
    if (want_rss) {
        fprintf(stderr, "bench_sim: peak RSS, nmt on k80x64...\n");
        measure_rss(rng, &rss);
    }

    int nmodels = 0;
    for (const soap_model_info *mi = soap_models(); mi->name; mi++)
        nmodels++;
    bench_row *rows = soap_xcalloc((size_t)(nmodels * NMACHINES), sizeof *rows);
    int nrows = 0, failed = 0;
    for (const soap_model_info *mi = soap_models(); mi->name; mi++) {
        if (only && strcmp(only, mi->name) != 0)
            continue;
        for (int k = 0; k < NMACHINES; k++) {
            bench_row *row = &rows[nrows++];
            bench_case c;
            fprintf(stderr, "bench_sim: %s on %s (%d devices)...\n", mi->name,
                    machines[k].preset, machines[k].devices);
            if (case_load(mi->name, &machines[k], &c, row) == 0 && case_start(&c, row) == 0)
                measure(&c, rng, seconds, row);
            case_free(&c);
            if (strcmp(mi->name, "nmt") == 0 && k == 1 && want_rss && !rss.failed) {
                row->peak_rss_bytes = rss.peak_rss_bytes;
                row->sim_rss_bytes = rss.sim_rss_bytes;
            }
            failed |= row->failed || !row->undo_ok;
        }
    }
    gsl_rng_free(rng);

    print_table(rows, nrows);
    if (want_rss && rss.failed)
        printf("\npeak RSS, nmt on k80x64: FAILED: %s\n", rss.error);
    else if (want_rss)
        printf("\npeak RSS, nmt on k80x64 (64 devices, full simulation + %d proposals): "
               "%.1f MB for the process, %.1f MB added by the simulator\n",
               RSS_PROPOSALS, rss.peak_rss_bytes / 1e6, rss.sim_rss_bytes / 1e6);
    int rc = failed || rss.failed ? 1 : 0;
    if (write_csv(csv, commit, seconds, rows, nrows) != 0)
        rc = 1;
    else
        printf("written: %s\n", csv);
    free(rows);
    return rc;
}
