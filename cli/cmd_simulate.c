/* cmd_simulate.c: `soap simulate`: simulates one training iteration of a
 * model under a strategy on a machine and reports what the simulator
 * measures: iteration time and throughput, per-device busy time and peak
 * memory (devices over their capacity marked), bytes moved per link kind,
 * the critical path, the three lower bounds and how far the time is above
 * the largest, task counts and where the task costs came from (measured
 * table or analytic model). As text or, with --json, one JSON object; on
 * request a Chrome trace (--trace) and a DOT task graph (--dot).
 *
 * Its options: cli_opt_* of cli_options.c plus --trace and --dot.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "soap_sim.h"

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */
typedef struct sim_opts {
    const char *trace, *dot; /* files to write, NULL if absent */
} sim_opts;

static const cli_opt trace_opt = {
    .name = "trace", .kind = CLI_STRING, .field = offsetof(sim_opts, trace), .value = "FILE",
    .help = "write a Chrome trace (one event per task; open in Perfetto)"};
static const cli_opt dot_opt = {
    .name = "dot", .kind = CLI_STRING, .field = offsetof(sim_opts, dot), .value = "FILE",
    .help = "write the task graph (Graphviz DOT)"};

static const cli_opt *const simulate_opts[] = {
    &cli_opt_model, &cli_opt_machine, &cli_opt_strategy, &cli_opt_devices, &cli_opt_batch,
    &cli_opt_unroll, &cli_opt_scale, &cli_opt_seed, &cli_opt_costs, &cli_opt_sync,
    &cli_opt_no_overlap, &cli_opt_json, &trace_opt, &dot_opt, NULL,
};

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */
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

/* 1 when the device type carries a calibration of its own. */
static int calibrated(const soap_device_type *t)
{
    return t->cal.gemm_eff != 0 || t->cal.conv_eff != 0 || t->cal.winograd != 0 ||
           t->cal.mem_eff != 0;
}

static void print_text(const run_info *ri, const soap_sim_result *r)
{
    const soap_machine *m = ri->m;
    char t1[32], t2[32], t3[32], t4[32], b1[32], b2[32];
    printf("simulate: strategy %s, model %s (batch %lld, %d operators) on machine %s "
           "(%d devices)\n",
           cli_name(ri->strategy), cli_name(ri->g->name), (long long)ri->g->batch, ri->g->nops,
           cli_name(m->name), m->ndevices);
    printf("weight sync: %s, %s; costs: %s\n", soap_sync_mode_name(ri->opt.sync),
           ri->opt.no_overlap ? "after the whole backward pass (--no-overlap)"
                             : "overlapping the backward pass",
           ri->costs ? cli_name(ri->costs) : "analytic");
    printf("\niteration time: %s\n", cli_fmt_time(r->iteration_s, t1, sizeof t1));
    printf("throughput:     %.6g samples/s\n", r->throughput);
    printf("critical path:  %s (task times plus waits for devices and links)\n",
           cli_fmt_time(r->critical_path_s, t1, sizeof t1));
    printf("lower bounds:   work %s, critical path %s, busiest link %s; largest %s\n",
           cli_fmt_time(r->lb_work_s, t1, sizeof t1), cli_fmt_time(r->lb_critical_s, t2, sizeof t2),
           cli_fmt_time(r->lb_link_s, t3, sizeof t3), cli_fmt_time(r->lb_s, t4, sizeof t4));
    if (r->lb_s > 0.0)
        printf("time / largest bound: %.3f\n", bound_ratio(r));
    printf("tasks:          %ld (compute %ld, communication %ld, weight sync %ld)\n",
           r->ntasks, r->ncompute, r->ncomm, r->nsync);
    printf("task costs:     %ld measured, %ld analytic (distinct task shapes)\n",
           r->costs_measured, r->costs_analytic);
    for (int t = 0; t < m->ntypes; t++) {
        soap_device_calibration c = soap_cost_analytic_calibration(&m->types[t]);
        printf("analytic %-6s %s: gemm %.3g, conv %.3g, winograd %.3g, memory %.3g\n",
               cli_name(m->types[t].name),
               calibrated(&m->types[t]) ? "calibrated" : "class defaults", c.gemm_eff,
               c.conv_eff, c.winograd, c.mem_eff);
    }

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
        int n = (int)strlen(cli_name(m->devices[d].name));
        wname = n > wname ? n : wname;
    }
    printf("\nper device (busy = compute time; peak = memory high-water mark):\n");
    printf("  %4s  %-*s  %12s  %6s  %11s  %11s\n", "id", wname, "device", "busy", "busy%",
           "peak", "capacity");
    for (int d = 0; d < r->ndevices; d++) {
        double cap = capacity_of(m, d);
        double pct = r->iteration_s > 0.0 ? 100.0 * r->busy_s[d] / r->iteration_s : 0.0;
        printf("  %4d  %-*s  %12s  %5.1f%%  %11s  %11s%s\n", d, wname,
               cli_name(m->devices[d].name),
               cli_fmt_time(r->busy_s[d], t1, sizeof t1), pct,
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

/* The JSON object of one strategy's result. */
static json_t *result_json(const run_info *ri, const soap_sim_result *r)
{
    json_t *o = json_object();
    cli_json_set(o, "strategy", json_string(ri->strategy));
    cli_json_set(o, "model", json_string(ri->g->name));
    cli_json_set(o, "machine", json_string(ri->m->name));
    cli_json_set(o, "devices", json_integer(ri->m->ndevices));
    cli_json_set(o, "batch", json_integer(ri->g->batch));
    cli_json_set(o, "sync", json_string(soap_sync_mode_name(ri->opt.sync)));
    cli_json_set(o, "overlap", json_boolean(!ri->opt.no_overlap));
    cli_json_set(o, "cost_table", ri->costs ? json_string(ri->costs) : json_null());
    cli_json_set(o, "iteration_time_s", cli_json_num(r->iteration_s));
    cli_json_set(o, "throughput_samples_per_s", cli_json_num(r->throughput));
    cli_json_set(o, "critical_path_s", cli_json_num(r->critical_path_s));
    cli_json_set(o, "lower_bound_s", cli_json_num(r->lb_s));
    json_t *lb = json_object();
    cli_json_set(lb, "work_s", cli_json_num(r->lb_work_s));
    cli_json_set(lb, "critical_s", cli_json_num(r->lb_critical_s));
    cli_json_set(lb, "link_s", cli_json_num(r->lb_link_s));
    cli_json_set(o, "lower_bounds", lb);
    cli_json_set(o, "time_over_bound", r->lb_s > 0.0 ? cli_json_num(bound_ratio(r)) : json_null());
    cli_json_set(o, "bytes_transferred", cli_json_num(r->bytes_total));
    json_t *kinds = json_object();
    for (int k = 0; k < SOAP_LINK_KIND_COUNT; k++)
        cli_json_set(kinds, soap_link_kind_name((soap_link_kind)k), cli_json_num(r->bytes_by_kind[k]));
    cli_json_set(o, "bytes_by_link_kind", kinds);
    json_t *busy = json_array(), *peak = json_array(), *cap = json_array();
    for (int d = 0; d < r->ndevices; d++) {
        SOAP_ASSERT(json_array_append_new(busy, cli_json_num(r->busy_s[d])) == 0);
        SOAP_ASSERT(json_array_append_new(peak, cli_json_num(r->peak_mem[d])) == 0);
        SOAP_ASSERT(json_array_append_new(cap, cli_json_num(capacity_of(ri->m, d))) == 0);
    }
    cli_json_set(o, "busy_s", busy);
    cli_json_set(o, "peak_memory_bytes", peak);
    cli_json_set(o, "memory_capacity_bytes", cap);
    cli_json_set(o, "over_capacity", json_integer(r->over_capacity));
    json_t *tasks = json_object();
    cli_json_set(tasks, "total", json_integer(r->ntasks));
    cli_json_set(tasks, "compute", json_integer(r->ncompute));
    cli_json_set(tasks, "comm", json_integer(r->ncomm));
    cli_json_set(tasks, "sync", json_integer(r->nsync));
    cli_json_set(o, "tasks", tasks);
    json_t *costs = json_object();
    cli_json_set(costs, "measured", json_integer(r->costs_measured));
    cli_json_set(costs, "analytic", json_integer(r->costs_analytic));
    json_t *cals = json_object();
    for (int t = 0; t < ri->m->ntypes; t++) {
        const soap_device_type *ty = &ri->m->types[t];
        soap_device_calibration c = soap_cost_analytic_calibration(ty);
        cli_json_set(cals, ty->name,
                     json_pack("{s:b, s:f, s:f, s:f, s:f}", "calibrated", calibrated(ty),
                               "gemm_eff", c.gemm_eff, "conv_eff", c.conv_eff, "winograd",
                               c.winograd, "mem_eff", c.mem_eff));
    }
    cli_json_set(costs, "analytic_calibration", cals);
    cli_json_set(o, "costs", costs);
    cli_json_set(o, "trace", ri->trace ? json_string(ri->trace) : json_null());
    cli_json_set(o, "dot", ri->dot ? json_string(ri->dot) : json_null());
    return o;
}

/* ------------------------------------------------------------------ */
/* The command                                                         */
/* ------------------------------------------------------------------ */
static int run_simulate(const cli_options *o, const cli_inputs *in, void *own)
{
    const sim_opts *so = own;
    soap_strategy_list l;
    json_t *all = NULL;
    soap_error err;
    soap_error_clear(&err);
    int rc = cli_load_strategies("--strategy", o->strategy, in->g, in->m, o->seed, &l);
    if (rc != 0)
        return rc;
    if (l.n > 1 && (so->trace || so->dot)) {
        rc = cli_usage_error(&cli_cmd_simulate, "--trace and --dot take one strategy; "
                             "--strategy '%s' gives %d", cli_name(o->strategy), l.n);
        goto done;
    }
    rc = CLI_EXIT_INPUT;
    /* One strategy: its report (or object); several: one report each, or
     * {"strategies": [one object each]}. */
    all = l.n > 1 && o->json ? json_array() : NULL;
    for (int i = 0; i < l.n; i++) {
        if (soap_sim_full(in->sim, l.s[i], &err) < 0.0) {
            cli_fail(&err);
            goto done;
        }
        soap_sim_result r;
        soap_sim_result_get(in->sim, &r);
        soap_status st = SOAP_OK;
        if (so->trace)
            st = soap_sim_write_trace(in->sim, so->trace, &err);
        if (st == SOAP_OK && so->dot)
            st = soap_sim_write_dot(in->sim, so->dot, &err);
        run_info ri = {.strategy = l.name[i], .g = in->g, .m = in->m, .costs = o->costs,
                       .trace = so->trace, .dot = so->dot, .opt = o->sim};
        if (st != SOAP_OK) {
            cli_fail(&err);
        } else if (all) {
            SOAP_ASSERT(json_array_append_new(all, result_json(&ri, &r)) == 0);
        } else if (o->json) {
            cli_print_json(stdout, result_json(&ri, &r));
        } else {
            if (i > 0)
                printf("\n");
            print_text(&ri, &r);
        }
        soap_sim_result_free(&r);
        if (st != SOAP_OK)
            goto done;
    }
    if (all) {
        json_t *root = json_object();
        cli_json_set(root, "strategies", all);
        all = NULL;
        cli_print_json(stdout, root);
    }
    rc = CLI_EXIT_OK;

done:
    json_decref(all);
    soap_strategy_list_free(&l);
    return rc;
}

const cli_command cli_cmd_simulate = {
    .name = "simulate",
    .summary = "simulate one training iteration of a strategy: time, memory, traffic",
    .description =
        "Simulates one training iteration (forward, backward, weight sync) of model M on "
        "machine X under the built-in strategy NAME or a strategy file (or each strategy of "
        "a list such as data,owt,random:3,FILE: one report each, or with --json "
        "{\"strategies\": [one object each]}), and prints the "
        "iteration time, throughput, per-device busy time and peak memory (devices over "
        "capacity marked), bytes moved per link kind, the critical path, the lower bounds "
        "(work / devices, critical path, busiest link) with the ratio of the time to the "
        "largest, task counts and where task costs came from.",
    .opts = simulate_opts,
    .own_size = sizeof(sim_opts),
    .load = CLI_LOAD_SIM,
    .run = run_simulate,
};
