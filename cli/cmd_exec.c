/* cmd_exec.c: the commands that run strategies for real on an executor
 * backend (soap_exec.h):
 *   soap run       one strategy: measured iteration time and loss;
 *   soap profile   measures every task cost the model's strategies and
 *                  searches can need and writes the cost table the
 *                  simulator reads (--costs);
 *   soap validate  simulates and runs the same strategies and reports the
 *                  simulated and measured times, their relative error and
 *                  Kendall's rank correlation between the two orderings
 *                  (the statistics and the CSV: soap_validate_* of the
 *                  executor library).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "soap_exec.h"
#include "soap_sim.h"

/* ------------------------------------------------------------------ */
/* Options (one struct for the three commands)                         */
/* ------------------------------------------------------------------ */
typedef struct exec_opts {
    const soap_backend_ops *backend; /* NULL: cpu */
    const char *strategies; /* validate */
    const char *csv;        /* validate: optional */
    int iters, warmup, reps;
    double lr;              /* run: SGD learning rate */
} exec_opts;

static const exec_opts exec_defaults = {.strategies = "data,model,owt,random:3",
                                        .iters = 5,
                                        .warmup = 1,
                                        .reps = 5,
                                        .lr = 0.01};

/* An unknown or compiled-out backend is bad input, like an unknown model. */
static int parse_backend(const cli_command *cmd, const cli_opt *opt, const char *arg, void *dst)
{
    (void)cmd;
    (void)opt;
    soap_error err;
    soap_error_clear(&err);
    const soap_backend_ops *b = soap_backend_find(arg, &err);
    if (!b)
        return cli_fail(&err);
    *(const soap_backend_ops **)dst = b;
    return 0;
}

#define OWN(member) .field = offsetof(exec_opts, member)
static const cli_opt backend_opt = {
    .name = "backend", .kind = CLI_CUSTOM, OWN(backend), .parse = parse_backend,
    .value = "cpu|cuda", .help = "executor backend (default cpu)"};
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

/* The backend of --backend; cpu, always built, by default. */
static const soap_backend_ops *backend_of(const exec_opts *xo)
{
    const soap_backend_ops *b = xo->backend ? xo->backend : soap_backend_find("cpu", NULL);
    SOAP_ASSERT(b != NULL);
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
static int run_run(const cli_options *o, const cli_inputs *in, void *own)
{
    const exec_opts *xo = own;
    const soap_backend_ops *b = backend_of(xo);
    const soap_graph *g = in->g;
    const soap_machine *m = in->m;
    soap_error err;
    soap_error_clear(&err);
    soap_run_result r;
    double bytes = 0;
    if (measure(b, g, m, in->s, o->seed, xo->lr, xo->warmup, xo->iters, &r, &bytes, &err) !=
        SOAP_OK)
        return cli_fail(&err);
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
    return CLI_EXIT_OK;
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
    .load = CLI_LOAD_STRATEGY,
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

static int run_profile(const cli_options *o, const cli_inputs *in, void *own)
{
    const exec_opts *xo = own;
    soap_profile_options po = {.seed = o->seed, .reps = xo->reps, .warmup = xo->warmup};
    const soap_backend_ops *b = backend_of(xo);
    const soap_graph *g = in->g;
    const soap_machine *m = in->m;
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
    if (soap_profile(b, g, m, &po, out, &n, &err) != SOAP_OK)
        return cli_fail(&err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("profile: %s (batch %lld) on %s, backend %s: %ld task costs (op signature x "
           "partition, configs of up to %d tasks) in %.1f s, written to %s\n",
           cli_name(g->name), (long long)g->batch, cli_name(m->types[m->devices[0].type].name),
           b->name, n, m->ndevices,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec),
           cli_name(out));
    return CLI_EXIT_OK;
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
    .load = CLI_LOAD_INPUTS,
    .run = run_profile,
};

/* ------------------------------------------------------------------ */
/* soap validate                                                       */
/* ------------------------------------------------------------------ */
static int run_validate(const cli_options *o, const cli_inputs *in, void *own)
{
    const exec_opts *xo = own;
    const soap_backend_ops *b = backend_of(xo);
    const soap_graph *g = in->g;
    const soap_machine *m = in->m;
    soap_strategy_list l;
    soap_error err;
    soap_error_clear(&err);
    int rc = cli_load_strategies("--strategies", xo->strategies, g, m, o->seed, &l);
    if (rc != 0)
        return rc;
    rc = CLI_EXIT_INPUT;
    soap_validate_row *rows = soap_xcalloc((size_t)l.n, sizeof *rows);
    int tty = isatty(2);
    for (int i = 0; i < l.n; i++) {
        if (tty)
            fprintf(stderr, "\rvalidate: %d/%d %-24s", i + 1, l.n, cli_name(l.name[i]));
        rows[i].strategy = l.name[i];
        rows[i].simulated_s = soap_sim_full(in->sim, l.s[i], &err);
        soap_run_result r;
        if (rows[i].simulated_s < 0 ||
            measure(b, g, m, l.s[i], o->seed, 0.01, xo->warmup, xo->iters, &r, NULL, &err) !=
                SOAP_OK) {
            cli_fail(&err);
            goto done;
        }
        rows[i].measured_s = r.median_s;
    }
    if (tty)
        fputc('\n', stderr);
    soap_validate_summary sum = soap_validate_summarize(rows, l.n);
    long measured, analytic;
    soap_costs_counts(in->costs, &measured, &analytic);
    if (o->json) {
        json_t *root = json_object(), *arr = json_array();
        cli_json_set(root, "model", json_string(g->name));
        cli_json_set(root, "machine", json_string(m->name));
        cli_json_set(root, "devices", json_integer(m->ndevices));
        cli_json_set(root, "backend", json_string(b->name));
        cli_json_set(root, "costs_measured", json_integer(measured));
        cli_json_set(root, "costs_analytic", json_integer(analytic));
        for (int i = 0; i < l.n; i++)
            SOAP_ASSERT(json_array_append_new(
                            arr, json_pack("{s:s, s:f, s:f, s:f}", "strategy", rows[i].strategy,
                                           "simulated_s", rows[i].simulated_s, "measured_s",
                                           rows[i].measured_s, "rel_error",
                                           rows[i].rel_error)) == 0);
        cli_json_set(root, "strategies", arr);
        cli_json_set(root, "median_abs_error", cli_json_num(sum.median_abs_error));
        cli_json_set(root, "max_abs_error", cli_json_num(sum.max_abs_error));
        cli_json_set(root, "worst", sum.worst >= 0 ? json_string(rows[sum.worst].strategy)
                                                   : json_null());
        cli_json_set(root, "kendall_tau", cli_json_num(sum.kendall_tau));
        cli_print_json(stdout, root);
    } else {
        printf("validate: %s (batch %lld) on %s (%d devices), backend %s; costs: %ld "
               "measured, %ld analytic\n",
               cli_name(g->name), (long long)g->batch, cli_name(m->name), m->ndevices, b->name,
               measured, analytic);
        printf("  %-24s %15s %15s %9s\n", "strategy", "simulated (ms)", "measured (ms)",
               "error");
        for (int i = 0; i < l.n; i++)
            printf("  %-24s %15.3f %15.3f %8.1f%%\n", cli_name(rows[i].strategy),
                   rows[i].simulated_s * 1e3, rows[i].measured_s * 1e3,
                   rows[i].rel_error * 100);
        printf("  median |error| %.1f%%, max %.1f%% (%s), Kendall tau %.3f over %d strategies "
               "(1 = same order)\n",
               sum.median_abs_error * 100, sum.max_abs_error * 100,
               sum.worst >= 0 ? cli_name(rows[sum.worst].strategy) : "-", sum.kendall_tau,
               l.n);
    }
    rc = CLI_EXIT_OK;
    if (xo->csv) {
        char model[300], machine[300], seed[32];
        snprintf(model, sizeof model, "%s (batch %lld)", g->name, (long long)g->batch);
        snprintf(machine, sizeof machine, "%s (%d devices)", m->name, m->ndevices);
        snprintf(seed, sizeof seed, "%lu", o->seed);
        const char *settings[] = {"model", model, "machine", machine, "backend", b->name,
                                  "costs", o->costs ? o->costs : "analytic",
                                  "strategies", xo->strategies, "seed", seed, NULL};
        if (soap_validate_write_csv(xo->csv, rows, l.n, settings, &err) != SOAP_OK)
            rc = cli_fail(&err);
    }
done:
    free(rows);
    soap_strategy_list_free(&l);
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
    .load = CLI_LOAD_SIM,
    .run = run_validate,
};
