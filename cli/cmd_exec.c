/* cmd_exec.c: the commands that run strategies for real on an executor
 * backend (soap_exec.h):
 *   soap run       one strategy: measured iteration time and loss;
 *   soap profile   measures every task cost the model's strategies and
 *                  searches can need and writes the cost table the
 *                  simulator reads (--costs);
 *   soap validate  simulates and runs the same strategies and reports the
 *                  simulated and measured times, their relative error and
 *                  Kendall's rank correlation between the two orderings.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "cli.h"
#include "soap_exec.h"
#include "soap_sim.h"

#define MAX_STRATEGIES 256

/* ------------------------------------------------------------------ */
/* Options (one struct for the three commands)                         */
/* ------------------------------------------------------------------ */
typedef struct exec_opts {
    const char *backend;
    const char *strategies; /* validate */
    const char *csv;        /* validate: optional */
    int iters, warmup, reps;
    double lr;              /* run: SGD learning rate */
} exec_opts;

static const exec_opts exec_defaults = {.backend = "cpu",
                                        .strategies = "data,model,owt,random:3",
                                        .iters = 5,
                                        .warmup = 1,
                                        .reps = 5,
                                        .lr = 0.01};

#define OWN(member) .field = offsetof(exec_opts, member)
static const cli_opt backend_opt = {
    .name = "backend", .kind = CLI_STRING, OWN(backend), .value = "cpu|cuda",
    .help = "executor backend (default cpu)"};
static const cli_opt iters_opt = {
    .name = "iters", .kind = CLI_INT, OWN(iters), .lo = 1, .hi = 100000, .value = "N",
    .help = "timed iterations; the median is reported (default 5)"};
static const cli_opt warmup_opt = {
    .name = "warmup", .kind = CLI_INT, OWN(warmup), .lo = 0, .hi = 100000, .value = "W",
    .help = "untimed iterations (or runs) first (default 1)"};
static const cli_opt reps_opt = {
    .name = "reps", .kind = CLI_INT, OWN(reps), .lo = 1, .hi = 100000, .value = "R",
    .help = "timed runs of each task; the median is kept (default 5)"};
static const cli_opt lr_opt = {
    .name = "lr", .kind = CLI_DOUBLE, OWN(lr), .dlo = 0.0, .dhi = HUGE_VAL, .value = "LR",
    .help = "SGD learning rate (default 0.01)"};
static const cli_opt strategies_opt = {
    .name = "strategies", .kind = CLI_STRING, OWN(strategies), .value = "LIST",
    .help = "built-in names, strategy files and random:K, comma-separated (default "
            "data,model,owt,random:3)"};
static const cli_opt csv_opt = {
    .name = "csv", .kind = CLI_STRING, OWN(csv), .value = "FILE",
    .help = "write the table as CSV with '#' provenance lines"};
#undef OWN

static const soap_backend_ops *backend_of(const char *name)
{
    soap_error err;
    soap_error_clear(&err);
    const soap_backend_ops *b = soap_backend_find(name, &err);
    if (!b)
        cli_fail(&err);
    return b;
}

/* Runs s: warm-up, then the timed iterations. */
static soap_status measure(const soap_backend_ops *b, const soap_graph *g,
                           const soap_machine *m, const soap_strategy *s, unsigned long seed,
                           double lr, int warmup, int iters, soap_run_result *r,
                           double *max_bytes, soap_error *err)
{
    soap_exec_options eo = {.seed = seed, .lr = lr};
    soap_exec *x = soap_exec_new(b, g, m, s, &eo, err);
    if (!x)
        return err->code;
    soap_status st = soap_exec_run(x, warmup, iters, r, err);
    if (max_bytes) {
        *max_bytes = 0;
        for (int d = 0; d < m->ndevices; d++)
            *max_bytes = fmax(*max_bytes, soap_exec_device_bytes(x, d));
    }
    soap_exec_free(x);
    return st;
}

/* ------------------------------------------------------------------ */
/* soap run                                                            */
/* ------------------------------------------------------------------ */
static int run_run(const cli_options *o, void *own)
{
    const exec_opts *xo = own;
    const soap_backend_ops *b = backend_of(xo->backend);
    if (!b)
        return CLI_EXIT_INPUT;
    soap_machine *m = NULL;
    soap_graph *g = NULL;
    soap_strategy *s = NULL;
    soap_error err;
    soap_error_clear(&err);
    int rc = cli_load_inputs(o, &m, &g);
    if (rc != 0)
        goto done;
    rc = CLI_EXIT_INPUT;
    soap_strategy_options so = {.seed = o->seed};
    s = soap_strategy_load(o->strategy, g, m, &so, &err);
    if (!s) {
        cli_fail(&err);
        goto done;
    }
    soap_run_result r;
    double bytes = 0;
    if (measure(b, g, m, s, o->seed, xo->lr, xo->warmup, xo->iters, &r, &bytes, &err) !=
        SOAP_OK) {
        cli_fail(&err);
        goto done;
    }
    rc = CLI_EXIT_OK;
    if (o->json) {
        json_t *root = json_object();
        cli_json_set(root, "model", json_string(g->name));
        cli_json_set(root, "machine", json_string(m->name));
        cli_json_set(root, "devices", json_integer(m->ndevices));
        cli_json_set(root, "batch", json_integer(g->batch));
        cli_json_set(root, "strategy", json_string(o->strategy));
        cli_json_set(root, "backend", json_string(b->name));
        cli_json_set(root, "iters", json_integer(r.iters));
        cli_json_set(root, "warmup", json_integer(xo->warmup));
        cli_json_set(root, "iteration_time_s", cli_json_num(r.median_s));
        cli_json_set(root, "min_s", cli_json_num(r.min_s));
        cli_json_set(root, "max_s", cli_json_num(r.max_s));
        cli_json_set(root, "throughput_samples_per_s",
                     cli_json_num((double)g->batch / r.median_s));
        cli_json_set(root, "first_loss", cli_json_num(r.first_loss));
        cli_json_set(root, "last_loss", cli_json_num(r.last_loss));
        cli_json_set(root, "max_device_bytes", cli_json_num(bytes));
        cli_print_json(stdout, root);
    } else {
        printf("run: %s (batch %lld) on %s (%d devices), strategy %s, backend %s\n",
               cli_name(g->name), (long long)g->batch, cli_name(m->name), m->ndevices,
               cli_name(o->strategy), b->name);
        printf("  iteration time  %.3f ms (median of %d after %d warm-up; min %.3f, max "
               "%.3f)\n",
               r.median_s * 1e3, r.iters, xo->warmup, r.min_s * 1e3, r.max_s * 1e3);
        printf("  throughput      %.1f samples/s\n", (double)g->batch / r.median_s);
        printf("  loss            %.6f first, %.6f last (SGD, lr %g)\n", r.first_loss,
               r.last_loss, xo->lr);
        printf("  memory          %.2f MB on the fullest device\n", bytes / 1e6);
    }
done:
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
    return rc;
}

static const cli_opt *const run_opts[] = {
    &cli_opt_model, &cli_opt_machine, &cli_opt_strategy, &cli_opt_devices, &cli_opt_batch,
    &cli_opt_unroll, &cli_opt_scale, &backend_opt, &iters_opt, &warmup_opt, &lr_opt,
    &cli_opt_seed, &cli_opt_json, NULL,
};

const cli_command cli_cmd_run = {
    .name = "run",
    .summary = "run training iterations of a strategy for real and time them",
    .description =
        "Runs training iterations (forward, backward, weight-gradient sums over the "
        "replicas, SGD) of the strategy on an executor backend, one thread per device, with "
        "weights, input data and labels drawn from the seed. Prints the median iteration "
        "time of N timed iterations after W warm-up ones, the throughput, the loss of the "
        "first and last iteration and the memory of the fullest device. On the cpu backend, "
        "small models run in seconds: use --scale tiny and a small --batch for the built-in "
        "ones.",
    .opts = run_opts,
    .own_size = sizeof(exec_opts),
    .own_defaults = &exec_defaults,
    .run = run_run,
};

/* ------------------------------------------------------------------ */
/* soap profile                                                        */
/* ------------------------------------------------------------------ */
static void show_progress(void *arg, long done, long total)
{
    if (*(int *)arg)
        fprintf(stderr, "\rprofile: %ld/%ld measured", done, total);
    if (*(int *)arg && done == total)
        fputc('\n', stderr);
}

static int run_profile(const cli_options *o, void *own)
{
    const exec_opts *xo = own;
    soap_profile_options po = {.seed = o->seed, .reps = xo->reps, .warmup = xo->warmup};
    const soap_backend_ops *b = backend_of(xo->backend);
    if (!b)
        return CLI_EXIT_INPUT;
    soap_machine *m = NULL;
    soap_graph *g = NULL;
    int rc = cli_load_inputs(o, &m, &g);
    if (rc != 0)
        goto done;
    char dflt[256];
    snprintf(dflt, sizeof dflt, "%s-%s.costs.csv", g->name, m->types[m->devices[0].type].name);
    const char *out = o->out ? o->out : dflt;
    int tty = isatty(2);
    po.progress = show_progress;
    po.progress_arg = &tty;
    soap_error err;
    soap_error_clear(&err);
    long n = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (soap_profile(b, g, m, &po, out, &n, &err) != SOAP_OK) {
        rc = cli_fail(&err);
        goto done;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("profile: %s (batch %lld) on %s, backend %s: %ld task costs (op signature x "
           "partition, configs of up to %d tasks) in %.1f s, written to %s\n",
           cli_name(g->name), (long long)g->batch, cli_name(m->types[m->devices[0].type].name),
           b->name, n, m->ndevices,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec),
           cli_name(out));
done:
    soap_graph_free(g);
    soap_machine_free(m);
    return rc;
}

static const cli_opt *const profile_opts[] = {
    &cli_opt_model, &cli_opt_machine, &cli_opt_devices, &cli_opt_batch, &cli_opt_unroll,
    &cli_opt_scale, &backend_opt, &reps_opt, &warmup_opt, &cli_opt_seed, &cli_opt_out, NULL,
};

const cli_command cli_cmd_profile = {
    .name = "profile",
    .summary = "measure the task costs of a model and write a cost table",
    .description =
        "Measures, on device 0 of the machine, the forward and backward time of every "
        "distinct (op signature, partition sizes) that a config of up to n tasks over any "
        "dims can give an op of the model (the median of R runs after W warm-up runs), and "
        "writes them as a cost table (--out; default <model>-<device type>.costs.csv) that "
        "'soap simulate --costs FILE' reads.",
    .opts = profile_opts,
    .own_size = sizeof(exec_opts),
    .own_defaults = &exec_defaults,
    .run = run_profile,
};

/* ------------------------------------------------------------------ */
/* soap validate                                                       */
/* ------------------------------------------------------------------ */
typedef struct vrow {
    char name[256];
    soap_strategy *s;
    double sim_s, run_s, err;
} vrow;

/* Expands "data,owt,random:3,file.json" into strategies: 0 or an exit
 * code. */
static int load_strategies(const char *list, const soap_graph *g, const soap_machine *m,
                           unsigned long seed, vrow *rows, int *n)
{
    const cli_command *cmd = &cli_cmd_validate;
    char *buf = soap_xstrdup(list);
    int rc = 0, nrandom = 0;
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && rc == 0;
         tok = strtok_r(NULL, ",", &save)) {
        int k = 1;
        const char *name = tok;
        if (strncmp(tok, "random:", 7) == 0) {
            char *end = NULL;
            long c = strtol(tok + 7, &end, 10);
            if (tok[7] < '0' || tok[7] > '9' || *end || c < 1 || c > 64) {
                rc = cli_usage_error(cmd, "--strategies '%s': expected random:K with K from 1 "
                                     "to 64", cli_name(tok));
                break;
            }
            k = (int)c;
            name = "random";
        }
        for (int j = 0; j < k && rc == 0; j++) {
            if (*n == MAX_STRATEGIES) {
                rc = cli_usage_error(cmd, "--strategies: at most %d strategies", MAX_STRATEGIES);
                break;
            }
            soap_error err;
            soap_error_clear(&err);
            int is_random = strcmp(name, "random") == 0;
            soap_strategy_options so = {.seed = seed, .index = is_random ? nrandom++ : 0};
            vrow *r = &rows[*n];
            r->s = soap_strategy_load(name, g, m, &so, &err);
            if (!r->s) {
                rc = cli_fail(&err);
                break;
            }
            if (k > 1 || is_random)
                snprintf(r->name, sizeof r->name, "%s:%d", name, j + 1);
            else
                snprintf(r->name, sizeof r->name, "%s", name);
            (*n)++;
        }
    }
    free(buf);
    if (rc == 0 && *n == 0)
        rc = cli_usage_error(cmd, "--strategies: expected a comma-separated list such as "
                                  "data,model,owt,random:3 or strategy files");
    return rc;
}

/* The CSV, with '#' provenance lines, written atomically. */
static int write_csv(const char *path, const vrow *rows, int n, const soap_graph *g,
                     const soap_machine *m, const char *backend, const char *costs,
                     unsigned long seed)
{
    size_t cap = 4096 + (size_t)n * 384, len = 0;
    char *text = soap_xmalloc(cap);
    time_t now = time(NULL);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    const char *commit = getenv("SOAP_COMMIT");
    len += (size_t)snprintf(text + len, cap - len,
                            "# soap validate\n# commit: %s\n# date: %s\n# model: %s (batch "
                            "%lld)\n# machine: %s (%d devices)\n# backend: %s\n# costs: %s\n"
                            "# seed: %lu\nstrategy,simulated_s,measured_s,rel_error\n",
                            commit ? commit : "unknown", date, g->name, (long long)g->batch,
                            m->name, m->ndevices, backend, costs ? costs : "analytic", seed);
    for (int i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "%s,%.9g,%.9g,%.6f\n", rows[i].name,
                                rows[i].sim_s, rows[i].run_s, rows[i].err);
    soap_error err;
    soap_error_clear(&err);
    int rc = soap_write_file_atomic(path, text, &err) == SOAP_OK ? 0 : cli_fail(&err);
    free(text);
    return rc;
}

static int run_validate(const cli_options *o, void *own)
{
    const exec_opts *xo = own;
    const soap_backend_ops *b = backend_of(xo->backend);
    if (!b)
        return CLI_EXIT_INPUT;
    soap_machine *m = NULL;
    soap_graph *g = NULL;
    soap_costs *costs = NULL;
    soap_sim *sim = NULL;
    vrow *rows = soap_xcalloc(MAX_STRATEGIES, sizeof *rows);
    int n = 0;
    soap_error err;
    soap_error_clear(&err);
    int rc = cli_load_inputs(o, &m, &g);
    if (rc != 0 || (rc = load_strategies(xo->strategies, g, m, o->seed, rows, &n)) != 0)
        goto done;
    rc = CLI_EXIT_INPUT;
    sim = cli_new_sim(g, m, o, &costs);
    if (!sim)
        goto done;
    int tty = isatty(2);
    for (int i = 0; i < n; i++) {
        if (tty)
            fprintf(stderr, "\rvalidate: %d/%d %-24s", i + 1, n, cli_name(rows[i].name));
        rows[i].sim_s = soap_sim_full(sim, rows[i].s, &err);
        if (rows[i].sim_s < 0) {
            cli_fail(&err);
            goto done;
        }
        soap_run_result r;
        if (measure(b, g, m, rows[i].s, o->seed, 0.01, xo->warmup, xo->iters, &r, NULL,
                    &err) != SOAP_OK) {
            cli_fail(&err);
            goto done;
        }
        rows[i].run_s = r.median_s;
        rows[i].err = (rows[i].sim_s - r.median_s) / r.median_s;
    }
    if (tty)
        fputc('\n', stderr);
    double *a = soap_xmalloc((size_t)n * sizeof *a), *bm = soap_xmalloc((size_t)n * sizeof *bm);
    double *e = soap_xmalloc((size_t)n * sizeof *e);
    double maxe = 0;
    for (int i = 0; i < n; i++) {
        a[i] = rows[i].sim_s;
        bm[i] = rows[i].run_s;
        e[i] = fabs(rows[i].err);
        maxe = fmax(maxe, e[i]);
    }
    double tau = soap_kendall_tau(a, bm, n);
    gsl_sort(e, 1, (size_t)n);
    double mede = gsl_stats_median_from_sorted_data(e, 1, (size_t)n);
    free(a);
    free(bm);
    free(e);
    long measured, analytic;
    soap_costs_counts(costs, &measured, &analytic);
    if (o->json) {
        json_t *root = json_object(), *arr = json_array();
        cli_json_set(root, "model", json_string(g->name));
        cli_json_set(root, "machine", json_string(m->name));
        cli_json_set(root, "devices", json_integer(m->ndevices));
        cli_json_set(root, "backend", json_string(b->name));
        cli_json_set(root, "costs_measured", json_integer(measured));
        cli_json_set(root, "costs_analytic", json_integer(analytic));
        for (int i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:f, s:f, s:f}", "strategy",
                                                 rows[i].name, "simulated_s", rows[i].sim_s,
                                                 "measured_s", rows[i].run_s, "rel_error",
                                                 rows[i].err));
        cli_json_set(root, "strategies", arr);
        cli_json_set(root, "median_abs_error", json_real(mede));
        cli_json_set(root, "max_abs_error", json_real(maxe));
        cli_json_set(root, "kendall_tau", json_real(tau));
        cli_print_json(stdout, root);
    } else {
        printf("validate: %s (batch %lld) on %s (%d devices), backend %s; costs: %ld "
               "measured, %ld analytic\n",
               cli_name(g->name), (long long)g->batch, cli_name(m->name), m->ndevices, b->name,
               measured, analytic);
        printf("  %-24s %15s %15s %9s\n", "strategy", "simulated (ms)", "measured (ms)",
               "error");
        for (int i = 0; i < n; i++)
            printf("  %-24s %15.3f %15.3f %8.1f%%\n", cli_name(rows[i].name),
                   rows[i].sim_s * 1e3, rows[i].run_s * 1e3, rows[i].err * 100);
        printf("  median |error| %.1f%%, max %.1f%%, Kendall tau %.3f over %d strategies "
               "(1 = same order)\n",
               mede * 100, maxe * 100, tau, n);
    }
    rc = xo->csv ? write_csv(xo->csv, rows, n, g, m, b->name, o->costs, o->seed) : 0;
done:
    for (int i = 0; i < n; i++)
        soap_strategy_free(rows[i].s);
    free(rows);
    soap_sim_free(sim);
    soap_costs_free(costs);
    soap_graph_free(g);
    soap_machine_free(m);
    return rc;
}

static const cli_opt *const validate_opts[] = {
    &cli_opt_model, &cli_opt_machine, &cli_opt_devices, &cli_opt_batch, &cli_opt_unroll,
    &cli_opt_scale, &backend_opt, &strategies_opt, &cli_opt_costs, &cli_opt_sync,
    &cli_opt_no_overlap, &iters_opt, &warmup_opt, &cli_opt_seed, &csv_opt, &cli_opt_json,
    NULL,
};

const cli_command cli_cmd_validate = {
    .name = "validate",
    .summary = "simulate and run the same strategies: simulator error and rank agreement",
    .description =
        "Simulates each strategy (with the cost table of --costs where it has entries, the "
        "analytic model elsewhere) and runs it on the backend (median of N timed iterations "
        "after W warm-up ones), then prints simulated and measured iteration times, the "
        "relative error (simulated - measured) / measured, its median and maximum, and "
        "Kendall's rank correlation between the simulated and the measured orderings.",
    .opts = validate_opts,
    .own_size = sizeof(exec_opts),
    .own_defaults = &exec_defaults,
    .run = run_validate,
};
