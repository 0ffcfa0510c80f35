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

#define DEFAULT_ITERS 5
#define DEFAULT_WARMUP 1
#define MAX_STRATEGIES 256

/* ------------------------------------------------------------------ */
/* Shared                                                              */
/* ------------------------------------------------------------------ */

/* --iters / --warmup / --reps style counts. */
static int count_option(const cli_command *cmd, const char *name, const char *text,
                        unsigned long long lo, int dflt, int *out)
{
    *out = dflt;
    if (!text)
        return -1;
    unsigned long long v;
    int rc = cli_parse_integer(cmd, name, text, lo, 100000, &v);
    if (rc < 0)
        *out = (int)v;
    return rc;
}

static const soap_backend_ops *backend_of(const char *name)
{
    soap_error err;
    soap_error_clear(&err);
    const soap_backend_ops *b = soap_backend_find(name ? name : "cpu", &err);
    if (!b)
        cli_fail(&err);
    return b;
}

/* Loads machine and model of o (model batch: 64 per device unless --batch). */
static int load_inputs(const cli_options *o, soap_machine **m, soap_graph **g)
{
    *m = cli_load_machine(o);
    if (!*m)
        return CLI_EXIT_INPUT;
    *g = cli_load_model(o, (int64_t)CLI_BATCH_PER_DEVICE * (*m)->ndevices);
    return *g ? -1 : CLI_EXIT_INPUT;
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
enum {
    R_MODEL, R_MACHINE, R_DEVICES, R_BATCH, R_UNROLL, R_SCALE, R_STRATEGY, R_SEED, R_JSON,
    R_BACKEND, R_ITERS, R_WARMUP, R_LR, R_HELP, R_COUNT
};
static const cli_extra_option run_options[R_COUNT] = {
    [R_MODEL] = {"model", 1, 1},       [R_MACHINE] = {"machine", 1, 1},
    [R_DEVICES] = {"devices", 1, 1},   [R_BATCH] = {"batch", 1, 1},
    [R_UNROLL] = {"unroll", 1, 1},     [R_SCALE] = {"scale", 1, 1},
    [R_STRATEGY] = {"strategy", 1, 1}, [R_SEED] = {"seed", 1, 1},
    [R_JSON] = {"json", 0, 1},         [R_BACKEND] = {"backend", 1, 0},
    [R_ITERS] = {"iters", 1, 0},       [R_WARMUP] = {"warmup", 1, 0},
    [R_LR] = {"lr", 1, 0},             [R_HELP] = {"help", 0, 1},
};

static int parse_lr(const cli_command *cmd, const char *text, double *lr)
{
    *lr = 0.01;
    if (!text)
        return -1;
    char *end = NULL;
    *lr = strtod(text, &end);
    if (end == text || *end || !(*lr > 0) || !isfinite(*lr))
        return cli_usage_error(cmd, "--lr '%s': expected a positive learning rate", text);
    return -1;
}

static int run_run(int argc, char **argv)
{
    const cli_command *cmd = &cli_cmd_run;
    const char *v[R_COUNT];
    cli_options o;
    int rc = cli_parse_command(cmd, argc, argv, run_options, R_COUNT, v,
                               CLI_OPT_MODEL | CLI_OPT_MACHINE | CLI_OPT_DEVICES |
                                   CLI_OPT_BATCH | CLI_OPT_UNROLL | CLI_OPT_SCALE |
                                   CLI_OPT_STRATEGY | CLI_OPT_SEED | CLI_OPT_JSON, &o);
    if (rc >= 0)
        return rc;
    if ((rc = cli_require_inputs(cmd, &o, 1)) >= 0)
        return rc;
    int iters, warmup;
    double lr;
    if ((rc = count_option(cmd, "iters", v[R_ITERS], 1, DEFAULT_ITERS, &iters)) >= 0 ||
        (rc = count_option(cmd, "warmup", v[R_WARMUP], 0, DEFAULT_WARMUP, &warmup)) >= 0 ||
        (rc = parse_lr(cmd, v[R_LR], &lr)) >= 0)
        return rc;
    const soap_backend_ops *b = backend_of(v[R_BACKEND]);
    if (!b)
        return CLI_EXIT_INPUT;

    soap_machine *m = NULL;
    soap_graph *g = NULL;
    soap_strategy *s = NULL;
    soap_error err;
    soap_error_clear(&err);
    if ((rc = load_inputs(&o, &m, &g)) >= 0)
        goto done;
    rc = CLI_EXIT_INPUT;
    soap_strategy_options so = {.seed = o.seed};
    s = soap_strategy_load(o.strategy, g, m, &so, &err);
    if (!s) {
        cli_fail(&err);
        goto done;
    }
    soap_run_result r;
    double bytes = 0;
    if (measure(b, g, m, s, o.seed, lr, warmup, iters, &r, &bytes, &err) != SOAP_OK) {
        cli_fail(&err);
        goto done;
    }
    rc = CLI_EXIT_OK;
    if (o.json) {
        json_t *root = json_object();
        json_object_set_new(root, "model", json_string(g->name));
        json_object_set_new(root, "machine", json_string(m->name));
        json_object_set_new(root, "devices", json_integer(m->ndevices));
        json_object_set_new(root, "batch", json_integer(g->batch));
        json_object_set_new(root, "strategy", json_string(o.strategy));
        json_object_set_new(root, "backend", json_string(b->name));
        json_object_set_new(root, "iters", json_integer(r.iters));
        json_object_set_new(root, "warmup", json_integer(warmup));
        json_object_set_new(root, "iteration_time_s", json_real(r.median_s));
        json_object_set_new(root, "min_s", json_real(r.min_s));
        json_object_set_new(root, "max_s", json_real(r.max_s));
        json_object_set_new(root, "throughput_samples_per_s",
                            json_real((double)g->batch / r.median_s));
        json_object_set_new(root, "first_loss", json_real(r.first_loss));
        json_object_set_new(root, "last_loss", json_real(r.last_loss));
        json_object_set_new(root, "max_device_bytes", json_real(bytes));
        cli_print_json(stdout, root);
    } else {
        printf("run: %s (batch %lld) on %s (%d devices), strategy %s, backend %s\n", g->name,
               (long long)g->batch, m->name, m->ndevices, o.strategy, b->name);
        printf("  iteration time  %.3f ms (median of %d after %d warm-up; min %.3f, max "
               "%.3f)\n",
               r.median_s * 1e3, r.iters, warmup, r.min_s * 1e3, r.max_s * 1e3);
        printf("  throughput      %.1f samples/s\n", (double)g->batch / r.median_s);
        printf("  loss            %.6f first, %.6f last (SGD, lr %g)\n", r.first_loss,
               r.last_loss, lr);
        printf("  memory          %.2f MB on the fullest device\n", bytes / 1e6);
    }
done:
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
    return rc;
}

const cli_command cli_cmd_run = {
    .name = "run",
    .summary = "run training iterations of a strategy for real and time them",
    .usage = "usage: soap run --model M --machine X [--devices n] [--batch B] [--unroll T]\n"
             "                [--scale full|tiny] --strategy NAME|FILE [--backend cpu|cuda]\n"
             "                [--iters N] [--warmup W] [--lr LR] [--seed S] [--json]\n"
             "\n"
             "Runs training iterations (forward, backward, weight-gradient sums over the\n"
             "replicas, SGD) of the strategy on an executor backend, one thread per device,\n"
             "with weights, input data and labels drawn from the seed. Prints the median\n"
             "iteration time of N timed iterations (default 5) after W warm-up ones\n"
             "(default 1), the throughput, the loss of the first and last iteration and the\n"
             "memory of the fullest device. On the cpu backend, small models run in\n"
             "seconds: use --scale tiny and a small --batch for the built-in ones.\n",
    .run = run_run,
};

/* ------------------------------------------------------------------ */
/* soap profile                                                        */
/* ------------------------------------------------------------------ */
enum {
    P_MODEL, P_MACHINE, P_DEVICES, P_BATCH, P_UNROLL, P_SCALE, P_SEED, P_OUT, P_BACKEND,
    P_REPS, P_WARMUP, P_HELP, P_COUNT
};
static const cli_extra_option profile_options[P_COUNT] = {
    [P_MODEL] = {"model", 1, 1},     [P_MACHINE] = {"machine", 1, 1},
    [P_DEVICES] = {"devices", 1, 1}, [P_BATCH] = {"batch", 1, 1},
    [P_UNROLL] = {"unroll", 1, 1},   [P_SCALE] = {"scale", 1, 1},
    [P_SEED] = {"seed", 1, 1},       [P_OUT] = {"out", 1, 1},
    [P_BACKEND] = {"backend", 1, 0}, [P_REPS] = {"reps", 1, 0},
    [P_WARMUP] = {"warmup", 1, 0},   [P_HELP] = {"help", 0, 1},
};

static void show_progress(void *arg, long done, long total)
{
    if (*(int *)arg)
        fprintf(stderr, "\rprofile: %ld/%ld measured", done, total);
    if (*(int *)arg && done == total)
        fputc('\n', stderr);
}

static int run_profile(int argc, char **argv)
{
    const cli_command *cmd = &cli_cmd_profile;
    const char *v[P_COUNT];
    cli_options o;
    int rc = cli_parse_command(cmd, argc, argv, profile_options, P_COUNT, v,
                               CLI_OPT_MODEL | CLI_OPT_MACHINE | CLI_OPT_DEVICES |
                                   CLI_OPT_BATCH | CLI_OPT_UNROLL | CLI_OPT_SCALE |
                                   CLI_OPT_SEED | CLI_OPT_OUT, &o);
    if (rc >= 0)
        return rc;
    if ((rc = cli_require_inputs(cmd, &o, 0)) >= 0)
        return rc;
    soap_profile_options po = {.seed = o.seed};
    if ((rc = count_option(cmd, "reps", v[P_REPS], 1, 5, &po.reps)) >= 0 ||
        (rc = count_option(cmd, "warmup", v[P_WARMUP], 0, 1, &po.warmup)) >= 0)
        return rc;
    const soap_backend_ops *b = backend_of(v[P_BACKEND]);
    if (!b)
        return CLI_EXIT_INPUT;
    soap_machine *m = NULL;
    soap_graph *g = NULL;
    if ((rc = load_inputs(&o, &m, &g)) >= 0)
        goto done;
    char dflt[256];
    snprintf(dflt, sizeof dflt, "%s-%s.costs.csv", g->name, m->types[m->devices[0].type].name);
    const char *out = o.out ? o.out : dflt;
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
           g->name, (long long)g->batch, m->types[m->devices[0].type].name, b->name, n,
           m->ndevices, (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec),
           out);
    rc = CLI_EXIT_OK;
done:
    soap_graph_free(g);
    soap_machine_free(m);
    return rc;
}

const cli_command cli_cmd_profile = {
    .name = "profile",
    .summary = "measure the task costs of a model and write a cost table",
    .usage = "usage: soap profile --model M --machine X [--devices n] [--batch B] [--unroll T]\n"
             "                    [--scale full|tiny] [--backend cpu|cuda] [--reps R]\n"
             "                    [--warmup W] [--seed S] [--out FILE]\n"
             "\n"
             "Measures, on device 0 of the machine, the forward and backward time of every\n"
             "distinct (op signature, partition sizes) that a config of up to n tasks over\n"
             "any dims can give an op of the model (the median of R runs, default 5, after\n"
             "W warm-up runs, default 1), and writes them as a cost table that `soap\n"
             "simulate --costs FILE` reads (default FILE: <model>-<device type>.costs.csv).\n",
    .run = run_profile,
};

/* ------------------------------------------------------------------ */
/* soap validate                                                       */
/* ------------------------------------------------------------------ */
enum {
    V_MODEL, V_MACHINE, V_DEVICES, V_BATCH, V_UNROLL, V_SCALE, V_SEED, V_JSON, V_BACKEND,
    V_STRATEGIES, V_COSTS, V_SYNC, V_NO_OVERLAP, V_ITERS, V_WARMUP, V_CSV, V_HELP, V_COUNT
};
static const cli_extra_option validate_options[V_COUNT] = {
    [V_MODEL] = {"model", 1, 1},           [V_MACHINE] = {"machine", 1, 1},
    [V_DEVICES] = {"devices", 1, 1},       [V_BATCH] = {"batch", 1, 1},
    [V_UNROLL] = {"unroll", 1, 1},         [V_SCALE] = {"scale", 1, 1},
    [V_SEED] = {"seed", 1, 1},             [V_JSON] = {"json", 0, 1},
    [V_BACKEND] = {"backend", 1, 0},       [V_STRATEGIES] = {"strategies", 1, 0},
    [V_COSTS] = {"costs", 1, 0},           [V_SYNC] = {"sync", 1, 0},
    [V_NO_OVERLAP] = {"no-overlap", 0, 0}, [V_ITERS] = {"iters", 1, 0},
    [V_WARMUP] = {"warmup", 1, 0},         [V_CSV] = {"csv", 1, 0},
    [V_HELP] = {"help", 0, 1},
};

typedef struct vrow {
    char name[256];
    soap_strategy *s;
    double sim_s, run_s, err;
} vrow;

/* Expands "data,owt,random:3,file.json" into strategies. */
static int load_strategies(const cli_command *cmd, const char *list, const soap_graph *g,
                           const soap_machine *m, unsigned long seed, vrow *rows, int *n)
{
    char *buf = soap_xstrdup(list);
    int rc = -1;
    *n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && rc < 0;
         tok = strtok_r(NULL, ",", &save)) {
        int k = 1;
        const char *name = tok;
        if (strncmp(tok, "random:", 7) == 0) {
            unsigned long long c;
            if ((rc = cli_parse_integer(cmd, "strategies random:K", tok + 7, 1, 64, &c)) >= 0)
                break;
            k = (int)c;
            name = "random";
        }
        for (int j = 0; j < k && rc < 0; j++) {
            if (*n == MAX_STRATEGIES) {
                rc = cli_usage_error(cmd, "--strategies: at most %d strategies", MAX_STRATEGIES);
                break;
            }
            soap_error err;
            soap_error_clear(&err);
            soap_strategy_options so = {.seed = seed + (unsigned long)j + 1};
            vrow *r = &rows[*n];
            r->s = soap_strategy_load(name, g, m, &so, &err);
            if (!r->s) {
                rc = cli_fail(&err);
                break;
            }
            if (k > 1 || strcmp(name, "random") == 0)
                snprintf(r->name, sizeof r->name, "%s:%d", name, j + 1);
            else
                snprintf(r->name, sizeof r->name, "%s", name);
            (*n)++;
        }
    }
    free(buf);
    if (rc < 0 && *n == 0)
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
    int rc = soap_write_file_atomic(path, text, &err) == SOAP_OK ? -1 : cli_fail(&err);
    free(text);
    return rc;
}

static int run_validate(int argc, char **argv)
{
    const cli_command *cmd = &cli_cmd_validate;
    const char *v[V_COUNT];
    cli_options o;
    int rc = cli_parse_command(cmd, argc, argv, validate_options, V_COUNT, v,
                               CLI_OPT_MODEL | CLI_OPT_MACHINE | CLI_OPT_DEVICES |
                                   CLI_OPT_BATCH | CLI_OPT_UNROLL | CLI_OPT_SCALE |
                                   CLI_OPT_SEED | CLI_OPT_JSON, &o);
    if (rc >= 0)
        return rc;
    if ((rc = cli_require_inputs(cmd, &o, 0)) >= 0)
        return rc;
    int iters, warmup;
    if ((rc = count_option(cmd, "iters", v[V_ITERS], 1, DEFAULT_ITERS, &iters)) >= 0 ||
        (rc = count_option(cmd, "warmup", v[V_WARMUP], 0, DEFAULT_WARMUP, &warmup)) >= 0)
        return rc;
    soap_sim_options simopt;
    if ((rc = cli_sim_options(v[V_SYNC], v[V_NO_OVERLAP] != NULL, &simopt)) >= 0)
        return rc;
    const soap_backend_ops *b = backend_of(v[V_BACKEND]);
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
    if ((rc = load_inputs(&o, &m, &g)) >= 0)
        goto done;
    if ((rc = load_strategies(cmd, v[V_STRATEGIES] ? v[V_STRATEGIES] : "data,model,owt,random:3",
                              g, m, o.seed, rows, &n)) >= 0)
        goto done;
    rc = CLI_EXIT_INPUT;
    sim = cli_new_sim(g, m, v[V_COSTS], &simopt, &costs);
    if (!sim)
        goto done;
    int tty = isatty(2);
    for (int i = 0; i < n; i++) {
        if (tty)
            fprintf(stderr, "\rvalidate: %d/%d %-24s", i + 1, n, rows[i].name);
        rows[i].sim_s = soap_sim_full(sim, rows[i].s, &err);
        if (rows[i].sim_s < 0) {
            cli_fail(&err);
            goto done;
        }
        soap_run_result r;
        if (measure(b, g, m, rows[i].s, o.seed, 0.01, warmup, iters, &r, NULL, &err) !=
            SOAP_OK) {
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
    if (o.json) {
        json_t *root = json_object(), *arr = json_array();
        json_object_set_new(root, "model", json_string(g->name));
        json_object_set_new(root, "machine", json_string(m->name));
        json_object_set_new(root, "devices", json_integer(m->ndevices));
        json_object_set_new(root, "backend", json_string(b->name));
        json_object_set_new(root, "costs_measured", json_integer(measured));
        json_object_set_new(root, "costs_analytic", json_integer(analytic));
        for (int i = 0; i < n; i++)
            json_array_append_new(arr, json_pack("{s:s, s:f, s:f, s:f}", "strategy",
                                                 rows[i].name, "simulated_s", rows[i].sim_s,
                                                 "measured_s", rows[i].run_s, "rel_error",
                                                 rows[i].err));
        json_object_set_new(root, "strategies", arr);
        json_object_set_new(root, "median_abs_error", json_real(mede));
        json_object_set_new(root, "max_abs_error", json_real(maxe));
        json_object_set_new(root, "kendall_tau", json_real(tau));
        cli_print_json(stdout, root);
    } else {
        printf("validate: %s (batch %lld) on %s (%d devices), backend %s; costs: %ld "
               "measured, %ld analytic\n",
               g->name, (long long)g->batch, m->name, m->ndevices, b->name, measured, analytic);
        printf("  %-24s %15s %15s %9s\n", "strategy", "simulated (ms)", "measured (ms)",
               "error");
        for (int i = 0; i < n; i++)
            printf("  %-24s %15.3f %15.3f %8.1f%%\n", rows[i].name, rows[i].sim_s * 1e3,
                   rows[i].run_s * 1e3, rows[i].err * 100);
        printf("  median |error| %.1f%%, max %.1f%%, Kendall tau %.3f over %d strategies "
               "(1 = same order)\n",
               mede * 100, maxe * 100, tau, n);
    }
    rc = CLI_EXIT_OK;
    if (v[V_CSV] && (rc = write_csv(v[V_CSV], rows, n, g, m, b->name, v[V_COSTS], o.seed)) < 0)
        rc = CLI_EXIT_OK;
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

const cli_command cli_cmd_validate = {
    .name = "validate",
    .summary = "simulate and run the same strategies: simulator error and rank agreement",
    .usage =
        "usage: soap validate --model M --machine X [--devices n] [--batch B] [--unroll T]\n"
        "                     [--scale full|tiny] [--backend cpu|cuda]\n"
        "                     [--strategies data,model,owt,random:K,FILE...] [--costs FILE]\n"
        "                     [--sync ps|allreduce] [--no-overlap] [--iters N] [--warmup W]\n"
        "                     [--seed S] [--csv FILE] [--json]\n"
        "\n"
        "Simulates each strategy (with the cost table of --costs where it has entries,\n"
        "the analytic model elsewhere) and runs it on the backend (median of N timed\n"
        "iterations after W warm-up ones), then prints simulated and measured iteration\n"
        "times, the relative error (simulated - measured) / measured, its median and\n"
        "maximum, and Kendall's rank correlation between the simulated and the measured\n"
        "orderings. Default strategies: data,model,owt,random:3. --csv writes the table\n"
        "with '#' provenance lines (commit from $SOAP_COMMIT, date, model, machine).\n",
    .run = run_validate,
};
