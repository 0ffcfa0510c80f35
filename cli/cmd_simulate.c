/* cmd_simulate.c: `soap simulate`: simulates one training iteration of a
 * model under a strategy on a machine and reports what the simulator
 * measures: iteration time and throughput, per-device busy time and peak
 * memory (devices over their capacity marked), bytes moved per link kind,
 * the critical path, the three lower bounds and how far the time is above
 * the largest, task counts and where the task costs came from (measured
 * table or analytic model). As text or, with --json, one JSON object; on
 * request a Chrome trace (--trace) and a DOT task graph (--dot).
 *
 * The options only this command has (--costs, --sync, --no-overlap,
 * --trace, --dot) are taken out of argv by cli_split_options; the shared
 * parser in cli_common.c reads the rest (and checks the numbers).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "soap_sim.h"

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */
enum {
    S_MODEL, S_MACHINE, S_DEVICES, S_BATCH, S_UNROLL, S_SCALE, S_STRATEGY, S_SEED, S_JSON,
    S_COSTS, S_SYNC, S_NO_OVERLAP, S_TRACE, S_DOT, S_HELP, S_COUNT
};

/* Every long option, in the order messages list them; the shared ones go
 * on to cli_parse_options. */
static const cli_extra_option sim_options[S_COUNT] = {
    [S_MODEL] = {"model", 1, 1},       [S_MACHINE] = {"machine", 1, 1},
    [S_DEVICES] = {"devices", 1, 1},   [S_BATCH] = {"batch", 1, 1},
    [S_UNROLL] = {"unroll", 1, 1},     [S_SCALE] = {"scale", 1, 1},
    [S_STRATEGY] = {"strategy", 1, 1}, [S_SEED] = {"seed", 1, 1},
    [S_JSON] = {"json", 0, 1},         [S_COSTS] = {"costs", 1, 0},
    [S_SYNC] = {"sync", 1, 0},         [S_NO_OVERLAP] = {"no-overlap", 0, 0},
    [S_TRACE] = {"trace", 1, 0},       [S_DOT] = {"dot", 1, 0},
    [S_HELP] = {"help", 0, 1},
};

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */
/* Seconds with a unit that keeps 4 significant digits readable. */
static char *fmt_time(double s, char *buf, size_t len)
{
    double a = fabs(s);
    if (a >= 1.0 || a == 0.0)
        snprintf(buf, len, "%.4g s", s);
    else if (a >= 1e-3)
        snprintf(buf, len, "%.4g ms", s * 1e3);
    else
        snprintf(buf, len, "%.4g us", s * 1e6);
    return buf;
}

/* Bytes in decimal units (device datasheets give capacities in GB = 1e9). */
static char *fmt_bytes(double b, char *buf, size_t len)
{
    static const char *const unit[] = {"B", "kB", "MB", "GB", "TB"};
    int u = 0;
    while (fabs(b) >= 1000.0 && u < 4) {
        b /= 1000.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%.0f B", b);
    else
        snprintf(buf, len, "%.2f %s", b, unit[u]);
    return buf;
}

static double capacity_of(const soap_machine *m, int d)
{
    return m->types[m->devices[d].type].mem_capacity;
}

/* Time over the largest lower bound; 0 when the bound is 0 (nothing to
 * simulate). */
static double bound_ratio(const soap_sim_result *r)
{
    return r->lb_s > 0.0 ? r->iteration_s / r->lb_s : 0.0;
}

typedef struct run_info {
    const char *strategy;
    const soap_graph *g;
    const soap_machine *m;
    const char *costs, *trace, *dot; /* the options' files, NULL if absent */
    soap_sim_options opt;
} run_info;

static void print_text(const run_info *ri, const soap_sim_result *r)
{
    const soap_machine *m = ri->m;
    char t1[32], t2[32], t3[32], t4[32], b1[32], b2[32];
    printf("simulate: strategy %s, model %s (batch %lld, %d operators) on machine %s "
           "(%d devices)\n",
           ri->strategy, ri->g->name, (long long)ri->g->batch, ri->g->nops, m->name,
           m->ndevices);
    printf("weight sync: %s, %s; costs: %s\n", soap_sync_mode_name(ri->opt.sync),
           ri->opt.no_overlap ? "after the whole backward pass (--no-overlap)"
                             : "overlapping the backward pass",
           ri->costs ? ri->costs : "analytic");
    printf("\niteration time: %s\n", fmt_time(r->iteration_s, t1, sizeof t1));
    printf("throughput:     %.6g samples/s\n", r->throughput);
    printf("critical path:  %s (task times plus waits for devices and links)\n",
           fmt_time(r->critical_path_s, t1, sizeof t1));
    printf("lower bounds:   work %s, critical path %s, busiest link %s; largest %s\n",
           fmt_time(r->lb_work_s, t1, sizeof t1), fmt_time(r->lb_critical_s, t2, sizeof t2),
           fmt_time(r->lb_link_s, t3, sizeof t3), fmt_time(r->lb_s, t4, sizeof t4));
    if (r->lb_s > 0.0)
        printf("time / largest bound: %.3f\n", bound_ratio(r));
    printf("tasks:          %ld (compute %ld, communication %ld, weight sync %ld)\n",
           r->ntasks, r->ncompute, r->ncomm, r->nsync);
    printf("task costs:     %ld measured, %ld analytic (distinct task shapes)\n",
           r->costs_measured, r->costs_analytic);

    printf("\nbytes moved between devices: %s", fmt_bytes(r->bytes_total, b1, sizeof b1));
    int any = 0;
    for (int k = 0; k < SOAP_LINK_KIND_COUNT; k++)
        if (r->bytes_by_kind[k] > 0.0) {
            printf("%s%s %s", any ? ", " : "; over links: ",
                   soap_link_kind_name((soap_link_kind)k),
                   fmt_bytes(r->bytes_by_kind[k], b1, sizeof b1));
            any = 1;
        }
    printf("\n");

    int wname = 6;
    for (int d = 0; d < r->ndevices; d++) {
        int n = (int)strlen(m->devices[d].name);
        wname = n > wname ? n : wname;
    }
    printf("\nper device (busy = compute time; peak = memory high-water mark):\n");
    printf("  %4s  %-*s  %12s  %6s  %11s  %11s\n", "id", wname, "device", "busy", "busy%",
           "peak", "capacity");
    for (int d = 0; d < r->ndevices; d++) {
        double cap = capacity_of(m, d);
        double pct = r->iteration_s > 0.0 ? 100.0 * r->busy_s[d] / r->iteration_s : 0.0;
        printf("  %4d  %-*s  %12s  %5.1f%%  %11s  %11s%s\n", d, wname, m->devices[d].name,
               fmt_time(r->busy_s[d], t1, sizeof t1), pct,
               fmt_bytes(r->peak_mem[d], b1, sizeof b1), fmt_bytes(cap, b2, sizeof b2),
               r->peak_mem[d] > cap ? "  OVER CAPACITY" : "");
    }
    if (r->over_capacity > 0)
        printf("warning: %d device%s over memory capacity: this strategy would not fit\n",
               r->over_capacity, r->over_capacity == 1 ? " is" : "s are");
    if (ri->trace)
        printf("\ntrace written: %s (open in https://ui.perfetto.dev)\n", ri->trace);
    if (ri->dot)
        printf("%sDOT task graph written: %s\n", ri->trace ? "" : "\n", ri->dot);
}

/* A JSON number, or null where it is not finite (JSON has no inf/nan). */
static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static void set(json_t *obj, const char *key, json_t *val)
{
    SOAP_ASSERT(val != NULL);
    SOAP_ASSERT(json_object_set_new(obj, key, val) == 0);
}

static void print_json(const run_info *ri, const soap_sim_result *r)
{
    json_t *o = json_object();
    set(o, "strategy", json_string(ri->strategy));
    set(o, "model", json_string(ri->g->name));
    set(o, "machine", json_string(ri->m->name));
    set(o, "devices", json_integer(ri->m->ndevices));
    set(o, "batch", json_integer(ri->g->batch));
    set(o, "sync", json_string(soap_sync_mode_name(ri->opt.sync)));
    set(o, "overlap", json_boolean(!ri->opt.no_overlap));
    set(o, "cost_table", ri->costs ? json_string(ri->costs) : json_null());
    set(o, "iteration_time_s", jnum(r->iteration_s));
    set(o, "throughput_samples_per_s", jnum(r->throughput));
    set(o, "critical_path_s", jnum(r->critical_path_s));
    set(o, "lower_bound_s", jnum(r->lb_s));
    json_t *lb = json_object();
    set(lb, "work_s", jnum(r->lb_work_s));
    set(lb, "critical_s", jnum(r->lb_critical_s));
    set(lb, "link_s", jnum(r->lb_link_s));
    set(o, "lower_bounds", lb);
    set(o, "time_over_bound", r->lb_s > 0.0 ? jnum(bound_ratio(r)) : json_null());
    set(o, "bytes_transferred", jnum(r->bytes_total));
    json_t *kinds = json_object();
    for (int k = 0; k < SOAP_LINK_KIND_COUNT; k++)
        set(kinds, soap_link_kind_name((soap_link_kind)k), jnum(r->bytes_by_kind[k]));
    set(o, "bytes_by_link_kind", kinds);
    json_t *busy = json_array(), *peak = json_array(), *cap = json_array();
    for (int d = 0; d < r->ndevices; d++) {
        SOAP_ASSERT(json_array_append_new(busy, jnum(r->busy_s[d])) == 0);
        SOAP_ASSERT(json_array_append_new(peak, jnum(r->peak_mem[d])) == 0);
        SOAP_ASSERT(json_array_append_new(cap, jnum(capacity_of(ri->m, d))) == 0);
    }
    set(o, "busy_s", busy);
    set(o, "peak_memory_bytes", peak);
    set(o, "memory_capacity_bytes", cap);
    set(o, "over_capacity", json_integer(r->over_capacity));
    json_t *tasks = json_object();
    set(tasks, "total", json_integer(r->ntasks));
    set(tasks, "compute", json_integer(r->ncompute));
    set(tasks, "comm", json_integer(r->ncomm));
    set(tasks, "sync", json_integer(r->nsync));
    set(o, "tasks", tasks);
    json_t *costs = json_object();
    set(costs, "measured", json_integer(r->costs_measured));
    set(costs, "analytic", json_integer(r->costs_analytic));
    set(o, "costs", costs);
    set(o, "trace", ri->trace ? json_string(ri->trace) : json_null());
    set(o, "dot", ri->dot ? json_string(ri->dot) : json_null());
    cli_print_json(stdout, o);
}

/* ------------------------------------------------------------------ */
/* The command                                                         */
/* ------------------------------------------------------------------ */
static int run_simulate(int argc, char **argv)
{
    const cli_command *cmd = &cli_cmd_simulate;
    const char *v[S_COUNT];
    cli_options o;
    int rc = cli_parse_command(cmd, argc, argv, sim_options, S_COUNT, v,
                               CLI_OPT_MODEL | CLI_OPT_MACHINE | CLI_OPT_DEVICES |
                                   CLI_OPT_BATCH | CLI_OPT_UNROLL | CLI_OPT_SCALE |
                                   CLI_OPT_STRATEGY | CLI_OPT_SEED | CLI_OPT_JSON, &o);
    if (rc < 0)
        rc = cli_require_inputs(cmd, &o, 1);
    if (rc >= 0)
        return rc;

    soap_sim_options simopt;
    if ((rc = cli_sim_options(v[S_SYNC], v[S_NO_OVERLAP] != NULL, &simopt)) >= 0)
        return rc;

    soap_machine *m = NULL;
    soap_graph *g = NULL;
    soap_strategy *s = NULL;
    soap_costs *costs = NULL;
    soap_sim *sim = NULL;
    soap_sim_result r;
    int have_result = 0;
    soap_error err;
    soap_error_clear(&err);
    rc = CLI_EXIT_INPUT;

    m = cli_load_machine(&o);
    if (!m)
        goto done;
    g = cli_load_model(&o, (int64_t)CLI_BATCH_PER_DEVICE * m->ndevices);
    if (!g)
        goto done;
    soap_strategy_options sopt;
    memset(&sopt, 0, sizeof sopt);
    sopt.seed = o.seed;
    s = soap_strategy_load(o.strategy, g, m, &sopt, &err);
    if (!s || soap_strategy_check(s, g, m, &err) != SOAP_OK) {
        cli_fail(&err);
        goto done;
    }
    sim = cli_new_sim(g, m, v[S_COSTS], &simopt, &costs);
    if (!sim)
        goto done;
    if (soap_sim_full(sim, s, &err) < 0.0) {
        cli_fail(&err);
        goto done;
    }
    soap_sim_result_get(sim, &r);
    have_result = 1;
    if (v[S_TRACE] && soap_sim_write_trace(sim, v[S_TRACE], &err) != SOAP_OK) {
        cli_fail(&err);
        goto done;
    }
    if (v[S_DOT] && soap_sim_write_dot(sim, v[S_DOT], &err) != SOAP_OK) {
        cli_fail(&err);
        goto done;
    }

    run_info ri = {.strategy = o.strategy, .g = g, .m = m, .costs = v[S_COSTS],
                   .trace = v[S_TRACE], .dot = v[S_DOT], .opt = simopt};
    if (o.json)
        print_json(&ri, &r);
    else
        print_text(&ri, &r);
    rc = CLI_EXIT_OK;

done:
    if (have_result)
        soap_sim_result_free(&r);
    soap_sim_free(sim);
    soap_costs_free(costs);
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
    return rc;
}

const cli_command cli_cmd_simulate = {
    .name = "simulate",
    .summary = "simulate one training iteration of a strategy: time, memory, traffic",
    .usage =
        "usage: soap simulate --model M --machine X --strategy NAME|FILE [--devices n]\n"
        "                     [--batch B] [--unroll T] [--scale full|tiny] [--seed S]\n"
        "                     [--costs FILE] [--sync ps|allreduce] [--no-overlap]\n"
        "                     [--json] [--trace FILE] [--dot FILE]\n"
        "  Simulates one training iteration (forward, backward, weight sync) of model M\n"
        "  on machine X under the built-in strategy NAME or a strategy file, and prints\n"
        "  the iteration time, throughput, per-device busy time and peak memory (devices\n"
        "  over capacity marked), bytes moved per link kind, the critical path, the\n"
        "  lower bounds (work / devices, critical path, busiest link) with the ratio of\n"
        "  the time to the largest, task counts and where task costs came from.\n"
        "  --model M        built-in model or model file\n"
        "  --machine X      preset or machine file\n"
        "  --strategy S     built-in strategy (see 'soap strategies') or strategy file\n"
        "  --devices n      keep only the first n devices of the machine\n"
        "  --batch B        samples per iteration for built-in models (default 64 per\n"
        "                   device)\n"
        "  --unroll T       steps of the recurrent models (default 40; tiny 4)\n"
        "  --scale S        full (default) or tiny: the built-in model's small variant\n"
        "  --seed S         seed of the random strategy (default 0)\n"
        "  --costs FILE     measured cost table (CSV, from 'soap profile'); tasks it\n"
        "                   lacks use the analytic model (default: analytic only)\n"
        "  --sync MODE      weight synchronization: ps (parameter server) or allreduce\n"
        "                   (ring; default)\n"
        "  --no-overlap     start weight sync only after the whole backward pass\n"
        "  --json           print one JSON object instead of the report\n"
        "  --trace FILE     write a Chrome trace (one event per task; open in Perfetto)\n"
        "  --dot FILE       write the task graph (Graphviz DOT)\n",
    .run = run_simulate,
};
