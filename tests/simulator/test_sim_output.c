/* Results and exports of a simulation (suite "sim_output"): per-device busy
 * time, peak memory (hand-derived for a two-device chain and for a
 * parameter server), over_capacity, throughput, the critical path equal to
 * the iteration time, and the lower bounds (hand-derived on the chain; below
 * the iteration time for every built-in model under several strategies and
 * both sync modes); the Chrome trace parses as JSON (jansson) with one "X"
 * event per task, named tracks, and no two events overlapping on a device or
 * link track; the DOT file has one node per task and one edge per
 * dependency; export errors. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soap_sim.h"
#include "sim_fixtures.h"
#include "test_util.h"

#define TOL 1e-12

/* d0 <-> d1, 1 GB/s and 10 us; device memory `capacity` bytes. */
static soap_machine *two_devices(double capacity)
{
    soap_machine *m = soap_machine_new("two");
    soap_device_type t = type_g;
    t.mem_capacity = capacity;
    int ty = soap_machine_add_type(m, &t);
    soap_machine_add_device(m, "d0", ty, 0);
    soap_machine_add_device(m, "d1", ty, 0);
    int ends[2] = {0, 1};
    soap_machine_add_link(m, "l01", SOAP_LINK_PCIE, 1e9, 1e-5, ends, 2);
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_machine_finish(m, &err) == SOAP_OK, "%s", err.msg);
    return m;
}

/* The chain of test_sim_cases.c: x [8,1000] -> fc1 (to 500) on d0 -> fc2
 * (to 250) on d1, task times pinned by a cost table. */
typedef struct chain {
    char table[64];
    soap_graph *g;
    soap_machine *m;
    soap_strategy *s;
    soap_costs *costs;
    soap_sim *sim;
    double t;
} chain;

static void chain_setup(chain *c, double capacity)
{
    soap_test_tmpfile(c->table, sizeof c->table, ".csv");
    unlink(c->table);
    c->g = soap_graph_new("chain", 8);
    int x = add_input(c->g, "x", 8, 1000);
    int fc1 = soap_add_linear(c->g, "fc1", x, 500, 0, -1);
    int fc2 = soap_add_linear(c->g, "fc2", fc1, 250, 0, -1);
    c->m = two_devices(capacity);
    c->s = soap_strategy_new(c->g, c->m);
    c->s->configs[fc2] = soap_config_single(c->g, fc2, 1);
    table_add(c->table, "G", c->g, x, &c->s->configs[x], 1e-4, 0);
    table_add(c->table, "G", c->g, fc1, &c->s->configs[fc1], 2e-4, 4e-4);
    table_add(c->table, "G", c->g, fc2, &c->s->configs[fc2], 3e-4, 5e-4);
    soap_error err;
    soap_error_clear(&err);
    c->costs = soap_costs_new(c->table, &err);
    ck_assert_msg(c->costs != NULL, "%s", err.msg);
    c->sim = soap_sim_new(c->g, c->m, c->costs, NULL, &err);
    ck_assert_msg(c->sim != NULL, "%s", err.msg);
    c->t = soap_sim_full(c->sim, c->s, &err);
    ck_assert_msg(c->t > 0, "%s", err.msg);
}

static void chain_teardown(chain *c)
{
    soap_sim_free(c->sim);
    soap_costs_free(c->costs);
    soap_strategy_free(c->s);
    soap_machine_free(c->m);
    soap_graph_free(c->g);
    unlink(c->table);
}

/* ------------------------------------------------------------------ */
/* Figures of the chain                                                */
/* ------------------------------------------------------------------ */
/* X = 26 us per transfer; u1 = 61 us, u2 = 16 us (see test_sim_cases.c).
 * Busy: d0 runs x, fc1, fc1', u1; d1 runs fc2, fc2', u2.
 * Memory (bytes): d0 holds fc1.w and its gradient (2 x 2e6), x's output
 * (32000, the whole iteration), fc1's output (16000 until fc1' ends) and
 * the gradient received from fc2 (16000, until fc1' ends): 4,064,000. d1
 * holds fc2.w and gradient (2 x 5e5), the received activation (16000) and
 * fc2's output (8000), both until fc2' ends: 1,024,000.
 * Bounds: lb_critical = x + fc1 + fc2 + fc2' + fc1' + u1 (transfers free);
 * lb_link = one transfer (each direction carries one); lb_work = busy / 2. */
START_TEST(test_chain_figures)
{
    chain c;
    chain_setup(&c, 1e9);
    soap_sim_result r;
    soap_sim_result_get(c.sim, &r);
    double X = 1e-5 + 16000 / 1e9, u1 = 6e-5 + 1e-6, u2 = 1.5e-5 + 1e-6;
    ck_assert_double_eq(r.iteration_s, c.t);
    ck_assert_double_eq_tol(r.throughput, 8 / c.t, 1e-6);
    ck_assert_int_eq(r.ndevices, 2);
    double busy0 = 1e-4 + 2e-4 + 4e-4 + u1, busy1 = 3e-4 + 5e-4 + u2;
    ck_assert_double_eq_tol(r.busy_s[0], busy0, TOL);
    ck_assert_double_eq_tol(r.busy_s[1], busy1, TOL);
    ck_assert_double_eq_tol(r.peak_mem[0], 4064000, 1e-6);
    ck_assert_double_eq_tol(r.peak_mem[1], 1024000, 1e-6);
    ck_assert_int_eq(r.over_capacity, 0);
    ck_assert_double_eq(r.critical_path_s, r.iteration_s);
    ck_assert_double_eq_tol(r.lb_critical_s, 1e-4 + 2e-4 + 3e-4 + 5e-4 + 4e-4 + u1, TOL);
    ck_assert_double_eq_tol(r.lb_link_s, X, TOL);
    ck_assert_double_eq_tol(r.lb_work_s, (busy0 + busy1) / 2, TOL);
    ck_assert_double_eq(r.lb_s, r.lb_critical_s);
    ck_assert_int_eq(r.ntasks, 9);
    ck_assert_int_eq(r.ntasks, r.ncompute + r.ncomm + r.nsync);
    ck_assert_int_eq(r.costs_measured, 3);
    ck_assert_int_eq(r.costs_analytic, 0);
    soap_sim_result_free(&r);
    chain_teardown(&c);
}
END_TEST

/* With 2 MB of memory per device, d0 (4.06 MB) is over, d1 (1.02 MB) not. */
START_TEST(test_over_capacity)
{
    chain c;
    chain_setup(&c, 2e6);
    soap_sim_result r;
    soap_sim_result_get(c.sim, &r);
    ck_assert_int_eq(r.over_capacity, 1);
    soap_sim_result_free(&r);
    chain_teardown(&c);
}
END_TEST

/* Parameter server on 2 GPUs of p100x16: x [12,1024] -> fc (to 512) split
 * by sample. Each GPU holds the weight and its gradient (2B, B = 512*1024*4)
 * and x's output (6*1024*4 = 24576 bytes, the whole iteration); fc's output
 * (6*512*4 = 12288) lives until fc' ends. GPU 0 then receives GPU 1's
 * gradient (B) and holds it until its update ends:
 *   GPU 0: 2B + 24576 + B      GPU 1: 2B + 24576 + 12288 */
START_TEST(test_ps_memory)
{
    soap_error err;
    soap_error_clear(&err);
    soap_graph *g = soap_graph_new("dp", 12);
    int x = add_input(g, "x", 12, 1024);
    int fc = soap_add_linear(g, "fc", x, 512, 0, -1);
    soap_machine *m = soap_machine_load("p100x16", 2, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    soap_strategy *s = soap_strategy_new(g, m);
    for (int op = x; op <= fc; op++) {
        s->configs[op].degree[0] = 2;
        s->configs[op].ntasks = 2;
        s->configs[op].device[1] = 1;
    }
    soap_costs *costs = soap_costs_new(NULL, &err);
    soap_sim_options opt = {.sync = SOAP_SYNC_PS};
    soap_sim *sim = soap_sim_new(g, m, costs, &opt, &err);
    ck_assert(soap_sim_full(sim, s, &err) > 0);
    soap_sim_result r;
    soap_sim_result_get(sim, &r);
    double B = 512.0 * 1024 * 4;
    ck_assert_double_eq_tol(r.peak_mem[0], 3 * B + 24576, 1e-6);
    ck_assert_double_eq_tol(r.peak_mem[1], 2 * B + 24576 + 12288, 1e-6);
    soap_sim_result_free(&r);
    soap_sim_free(sim);
    soap_costs_free(costs);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bounds on built-in models                                           */
/* ------------------------------------------------------------------ */
static const char *const bound_models[] = {"alexnet", "inception_v3", "lenet", "nmt",
                                           "resnet101", "rnnlm", "rnntc", "transformer"};
static const char *const bound_strategies[] = {"data", "model", "owt", "expert", "random"};
#define NMODELS (int)(sizeof bound_models / sizeof bound_models[0])
#define NSTRATS (int)(sizeof bound_strategies / sizeof bound_strategies[0])

START_TEST(test_bounds)
{
    const char *model = bound_models[_i / NSTRATS];
    const char *strategy = bound_strategies[_i % NSTRATS];
    soap_error err;
    soap_error_clear(&err);
    soap_machine *m = soap_machine_load("p100x16", 16, &err);
    soap_model_options o = {.batch = 256, .unroll = 4, .layers = 2, .seq_len = 32};
    soap_graph *g = soap_model_load(model, &o, &err);
    ck_assert_msg(g != NULL, "%s", err.msg);
    soap_strategy_options so = {.seed = 7};
    soap_strategy *s = soap_strategy_load(strategy, g, m, &so, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    soap_costs *costs = soap_costs_new(NULL, &err);
    for (int mode = 0; mode < SOAP_SYNC_MODE_COUNT; mode++) {
        for (int no_overlap = 0; no_overlap < 2; no_overlap++) {
            soap_sim_options opt = {.sync = (soap_sync_mode)mode, .no_overlap = no_overlap};
            soap_sim *sim = soap_sim_new(g, m, costs, &opt, &err);
            double t = soap_sim_full(sim, s, &err);
            ck_assert_msg(t > 0, "%s", err.msg);
            soap_sim_result r;
            soap_sim_result_get(sim, &r);
            ck_assert_msg(r.critical_path_s == t, "%s/%s: critical path %.17g, time %.17g",
                          model, strategy, r.critical_path_s, t);
            ck_assert_msg(r.lb_work_s <= t && r.lb_critical_s <= t && r.lb_link_s <= t,
                          "%s/%s %s%s: time %g, bounds work %g critical %g link %g", model,
                          strategy, soap_sync_mode_name(opt.sync), no_overlap ? " no_overlap" : "",
                          t, r.lb_work_s, r.lb_critical_s, r.lb_link_s);
            ck_assert(r.lb_s == fmax(r.lb_work_s, fmax(r.lb_critical_s, r.lb_link_s)));
            ck_assert(r.lb_work_s > 0 && r.lb_critical_s > 0);
            double busy = 0;
            for (int d = 0; d < r.ndevices; d++) {
                ck_assert(r.busy_s[d] <= t * (1 + 1e-12));
                ck_assert(r.peak_mem[d] >= 0);
                busy += r.busy_s[d];
            }
            ck_assert_double_eq_tol(r.lb_work_s, busy / r.ndevices, 1e-9 * t);
            double kinds = 0;
            for (int k = 0; k < SOAP_LINK_KIND_COUNT; k++)
                kinds += r.bytes_by_kind[k];
            ck_assert(kinds >= r.bytes_total * (1 - 1e-12));
            ck_assert_int_eq(r.ntasks, r.ncompute + r.ncomm + r.nsync);
            soap_sim_result_free(&r);
            soap_sim_free(sim);
        }
    }
    soap_costs_free(costs);
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Chrome trace                                                        */
/* ------------------------------------------------------------------ */
static int cmp_double2(const void *a, const void *b)
{
    const double *x = a, *y = b;
    return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Parses the trace of sim (ntasks tasks) and checks its structure; returns
 * the document. */
static json_t *check_trace(const soap_sim *sim, long ntasks, int ntracks)
{
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_sim_write_trace(sim, path, &err) == SOAP_OK, "%s", err.msg);
    json_error_t je;
    json_t *doc = json_load_file(path, 0, &je);
    ck_assert_msg(doc != NULL, "trace: %d:%d: %s", je.line, je.column, je.text);
    unlink(path);
    json_t *events = json_object_get(doc, "traceEvents");
    ck_assert(json_is_array(events));
    long nx = 0;
    int *named = calloc((size_t)ntracks + 1, sizeof *named);
    /* (ts, end) per track, to check that a track never runs two at once. */
    double *spans = malloc(2 * sizeof(double) * (size_t)(ntasks ? ntasks : 1));
    int *track = malloc(sizeof(int) * (size_t)(ntasks ? ntasks : 1));
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) {
        const char *ph = json_string_value(json_object_get(ev, "ph"));
        ck_assert_ptr_nonnull(ph);
        ck_assert_int_eq(json_integer_value(json_object_get(ev, "pid")), 0);
        int tid = (int)json_integer_value(json_object_get(ev, "tid"));
        ck_assert(tid >= 0 && tid <= ntracks);
        if (strcmp(ph, "M") == 0) {
            const char *name = json_string_value(json_object_get(ev, "name"));
            if (name && strcmp(name, "thread_name") == 0)
                named[tid] = 1;
            continue;
        }
        ck_assert_str_eq(ph, "X");
        ck_assert(json_is_string(json_object_get(ev, "name")));
        json_t *ts = json_object_get(ev, "ts"), *dur = json_object_get(ev, "dur");
        ck_assert(json_is_number(ts) && json_is_number(dur));
        ck_assert(json_number_value(dur) >= 0);
        ck_assert(nx < ntasks);
        spans[2 * nx] = json_number_value(ts);
        spans[2 * nx + 1] = json_number_value(ts) + json_number_value(dur);
        track[nx] = tid;
        nx++;
    }
    ck_assert_int_eq(nx, ntasks);
    for (int t = 0; t < ntracks; t++) {
        ck_assert_msg(named[t], "track %d has no thread_name", t);
        /* Events on one device or link never overlap (1 ns of print
         * rounding allowed); the last track holds the zero-length joins. */
        int n = 0;
        double *mine = malloc(2 * sizeof(double) * (size_t)(nx ? nx : 1));
        for (long k = 0; k < nx; k++)
            if (track[k] == t) {
                mine[2 * n] = spans[2 * k];
                mine[2 * n + 1] = spans[2 * k + 1];
                n++;
            }
        qsort(mine, (size_t)n, 2 * sizeof(double), cmp_double2);
        for (int k = 1; k < n; k++)
            ck_assert_msg(mine[2 * k] >= mine[2 * k - 1] - 1e-3,
                          "track %d: an event at %.6f us starts before the previous ends at "
                          "%.6f us",
                          t, mine[2 * k], mine[2 * k - 1]);
        free(mine);
    }
    free(named);
    free(spans);
    free(track);
    return doc;
}

/* The chain: 9 events on 2 devices + 2 link directions (+ joins track);
 * fc2's forward starts at 100 + 200 + 26 = 326 us and lasts 300 us. */
START_TEST(test_trace_chain)
{
    chain c;
    chain_setup(&c, 1e9);
    /* Tracks: d0, d1, l01 both ways, joins. */
    json_t *doc = check_trace(c.sim, 9, 4);
    json_t *events = json_object_get(doc, "traceEvents");
    size_t i;
    json_t *ev;
    int found = 0;
    json_array_foreach(events, i, ev) {
        const char *name = json_string_value(json_object_get(ev, "name"));
        if (name && strcmp(name, "fc2 fwd t0") == 0) {
            found = 1;
            ck_assert_double_eq_tol(json_number_value(json_object_get(ev, "ts")), 326, 1e-5);
            ck_assert_double_eq_tol(json_number_value(json_object_get(ev, "dur")), 300, 1e-5);
            ck_assert_int_eq(json_integer_value(json_object_get(ev, "tid")), 1);
        }
    }
    ck_assert(found);
    json_t *other = json_object_get(doc, "otherData");
    ck_assert_double_eq(json_number_value(json_object_get(other, "iteration_s")), c.t);
    json_decref(doc);
    chain_teardown(&c);
}
END_TEST

/* A built-in model on 8 K80s (multi-hop routes, joins, both directions):
 * rnnlm under data and random, alexnet under owt, which splits fc7 by its
 * out features over the 8 devices of its data-parallel input, an all-gather
 * edge: its ring hops are on link tracks and its joins on the joins track,
 * named as such. */
static const struct {
    const char *model, *strategy;
} trace_cases[] = {{"rnnlm", "data"}, {"rnnlm", "random"}, {"alexnet", "owt"}};

START_TEST(test_trace_model)
{
    soap_error err;
    soap_error_clear(&err);
    soap_machine *m = soap_machine_load("k80x64", 8, &err);
    soap_model_options o = {.batch = 64, .unroll = 3};
    soap_graph *g = soap_model_load(trace_cases[_i].model, &o, &err);
    soap_strategy_options so = {.seed = 3};
    soap_strategy *s = soap_strategy_load(trace_cases[_i].strategy, g, m, &so, &err);
    ck_assert_msg(s != NULL, "%s", err.msg);
    soap_costs *costs = soap_costs_new(NULL, &err);
    soap_sim *sim = soap_sim_new(g, m, costs, NULL, &err);
    ck_assert(soap_sim_full(sim, s, &err) > 0);
    soap_sim_result r;
    soap_sim_result_get(sim, &r);
    /* Tracks: 8 devices + 2 per point-to-point link of the narrowed k80x64
     * (all its links are point-to-point). */
    int ntracks = m->ndevices + 2 * m->nlinks;
    json_t *doc = check_trace(sim, r.ntasks, ntracks);
    int hops = 0, joins = 0;
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(doc, "traceEvents"), i, ev) {
        const char *name = json_string_value(json_object_get(ev, "name"));
        if (!name || strncmp(name, "all-gather ", 11) != 0)
            continue;
        int tid = (int)json_integer_value(json_object_get(ev, "tid"));
        if (strstr(name, " ring edge "))
            hops += tid >= m->ndevices && tid < ntracks;
        else
            joins += tid == ntracks;
    }
    if (_i == 2)
        ck_assert_msg(hops >= 8 && joins >= 2, "owt: %d all-gather hops, %d joins", hops, joins);
    else if (_i == 0) /* data: every piece stays on its device */
        ck_assert_int_eq(hops + joins, 0);
    json_decref(doc);
    soap_sim_result_free(&r);
    soap_sim_free(sim);
    soap_costs_free(costs);
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* DOT                                                                 */
/* ------------------------------------------------------------------ */
/* The chain's graph: 9 tasks; dependencies: x -> fc1 (same device), fc1 ->
 * transfer -> fc2, fc2' -> gradient -> fc1', fc1 -> fc1', fc2 -> fc2',
 * fc1' -> u1, fc2' -> u2: 9 edges. */
START_TEST(test_dot)
{
    chain c;
    chain_setup(&c, 1e9);
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".dot");
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_sim_write_dot(c.sim, path, &err) == SOAP_OK, "%s", err.msg);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    int nodes = 0, edges = 0, header = 0, closed = 0;
    while (fgets(line, sizeof line, f)) {
        int a, b;
        if (strncmp(line, "digraph ", 8) == 0)
            header = 1;
        else if (strstr(line, "[label="))
            nodes++;
        else if (sscanf(line, " t%d -> t%d;", &a, &b) == 2)
            edges++;
        else if (strcmp(line, "}\n") == 0)
            closed = 1;
    }
    fclose(f);
    unlink(path);
    ck_assert(header && closed);
    ck_assert_int_eq(nodes, 9);
    ck_assert_int_eq(edges, 9);
    chain_teardown(&c);
}
END_TEST

/* An unwritable path fails with SOAP_ERR_IO naming it, leaving nothing. */
START_TEST(test_export_errors)
{
    chain c;
    chain_setup(&c, 1e9);
    const char *path = "/nonexistent-soap-dir/trace.json";
    soap_error err;
    soap_error_clear(&err);
    ck_assert_int_eq(soap_sim_write_trace(c.sim, path, &err), SOAP_ERR_IO);
    ck_assert_msg(strstr(err.msg, path) != NULL, "%s", err.msg);
    soap_error_clear(&err);
    ck_assert_int_eq(soap_sim_write_dot(c.sim, path, &err), SOAP_ERR_IO);
    ck_assert_int_eq(soap_sim_write_trace(NULL, path, &err), SOAP_ERR_INVALID);
    chain_teardown(&c);
}
END_TEST

Suite *soap_suite_sim_output(void)
{
    Suite *s = suite_create("sim_output");
    TCase *tc = tcase_create("results");
    tcase_add_test(tc, test_chain_figures);
    tcase_add_test(tc, test_over_capacity);
    tcase_add_test(tc, test_ps_memory);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("bounds");
    tcase_add_loop_test(tc, test_bounds, 0, NMODELS * NSTRATS);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    tc = tcase_create("trace");
    tcase_add_test(tc, test_trace_chain);
    tcase_add_loop_test(tc, test_trace_model, 0,
                        (int)(sizeof trace_cases / sizeof trace_cases[0]));
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    tc = tcase_create("dot");
    tcase_add_test(tc, test_dot);
    tcase_add_test(tc, test_export_errors);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
