/* Hand-derived simulations (suite "sim_cases"): small graphs on small custom
 * machines with task times pinned by a measured cost table, whose iteration
 * times are worked out here on paper from the semantics (DESIGN.md,
 * "Simulator"): a known transfer between two ops on two devices and its
 * gradient back; the pieces of one edge between two devices as one message; two transfers contending for one bus and for one link
 * direction of a two-hop route; ring all-reduce (2(k-1) steps of latency +
 * (bytes/k)/bandwidth, also over two-hop routes), parameter server (gather, update, send back) for
 * k replicas and the paper's master tree (two nodes of two devices; one node, where it is ps); weight sync overlapping the backward pass or waiting for it
 * (no_overlap); FIFO order on a device by (ready, key); one device running a
 * whole model takes the sum of its task times; and bad input. */
#include <check.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim_testing.h"
#include "soap_sim.h"
#include "sim_fixtures.h"
#include "test_util.h"

#define TOL 1e-12 /* seconds: sums of a few task times */

static void finish(soap_machine *m)
{
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_machine_finish(m, &err) == SOAP_OK, "%s", err.msg);
}

/* n devices of type G on one node. */
static soap_machine *devices(const char *name, int n)
{
    soap_machine *m = soap_machine_new(name);
    int t = soap_machine_add_type(m, &type_g);
    char dn[16];
    for (int i = 0; i < n; i++) {
        snprintf(dn, sizeof dn, "d%d", i);
        soap_machine_add_device(m, dn, t, 0);
    }
    return m;
}

/* d0 <-> d1 over one point-to-point link. */
static soap_machine *two_devices(double bw, double lat)
{
    soap_machine *m = devices("two", 2);
    int ends[2] = {0, 1};
    soap_machine_add_link(m, "l01", SOAP_LINK_PCIE, bw, lat, ends, 2);
    finish(m);
    return m;
}

static soap_machine *preset(const char *name, int n)
{
    soap_error err;
    soap_error_clear(&err);
    soap_machine *m = soap_machine_load(name, n, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    return m;
}

/* Config of op split k ways along dim 0, task t on device t. */
static soap_config split0(const soap_graph *g, int op, int k)
{
    soap_config c = soap_config_single(g, op, 0);
    c.degree[0] = k;
    c.ntasks = k;
    for (int t = 0; t < k; t++)
        c.device[t] = (int16_t)t;
    return c;
}

/* One simulation: costs from `table` (NULL: analytic), full run. */
typedef struct run {
    soap_costs *costs;
    soap_sim *sim;
    double t;
} run;

static run simulate(const soap_graph *g, const soap_machine *m, const soap_strategy *s,
                    const char *table, soap_sync_mode sync, int no_overlap)
{
    run r;
    soap_error err;
    soap_error_clear(&err);
    r.costs = soap_costs_new(table, &err);
    ck_assert_msg(r.costs != NULL, "%s", err.msg);
    soap_sim_options opt = {.sync = sync, .no_overlap = no_overlap};
    r.sim = soap_sim_new(g, m, r.costs, &opt, &err);
    ck_assert_msg(r.sim != NULL, "%s", err.msg);
    r.t = soap_sim_full(r.sim, s, &err);
    ck_assert_msg(r.t >= 0, "%s", err.msg);
    return r;
}

static void run_free(run *r)
{
    soap_sim_free(r->sim);
    soap_costs_free(r->costs);
}

/* The task of (kind, op, index) in the simulator's graph (white box). */
static sim_testing_task find_task(const soap_sim *sim, int kind, int op, int idx)
{
    sim_testing_task t;
    if (!sim_testing_find(sim, kind, op, idx, &t))
        ck_abort_msg("no task of kind %d op %d index %d", kind, op, idx);
    return t;
}

/* ------------------------------------------------------------------ */
/* A known transfer                                                    */
/* ------------------------------------------------------------------ */
/* x [8,1000] (input) -> fc1 (linear to 500) on d0 -> fc2 (linear to 250) on
 * d1. Link: 1 GB/s, 10 us. fc1's output is 8*500*4 = 16000 bytes, so the
 * activation and its gradient each take X = 10 us + 16 us = 26 us. Updates:
 * fc1.w 500*1000*4 = 2e6 bytes: 3*2e6/1e11 + 1 us = 61 us; fc2.w 5e5 bytes:
 * 16 us, on d1 while the gradient travels back (it does not end last).
 *   time = x + fc1 + X + fc2 + fc2' + X + fc1' + u1 */
START_TEST(test_known_transfer)
{
    char table[64];
    soap_test_tmpfile(table, sizeof table, ".csv");
    unlink(table);
    soap_graph *g = soap_graph_new("chain", 8);
    int x = add_input(g, "x", 8, 1000);
    int fc1 = soap_add_linear(g, "fc1", x, 500, 0, -1);
    int fc2 = soap_add_linear(g, "fc2", fc1, 250, 0, -1);
    soap_machine *m = two_devices(1e9, 1e-5);
    soap_strategy *s = soap_strategy_new(g, m);
    s->configs[fc2] = soap_config_single(g, fc2, 1);
    table_add(table, "G", g, x, &s->configs[x], 1e-4, 0);
    table_add(table, "G", g, fc1, &s->configs[fc1], 2e-4, 4e-4);
    table_add(table, "G", g, fc2, &s->configs[fc2], 3e-4, 5e-4);

    run r = simulate(g, m, s, table, SOAP_SYNC_ALLREDUCE, 0);
    double X = 1e-5 + 16000 / 1e9;
    double u1 = 3 * 2e6 / G_MEMBW + G_LAUNCH;
    double want = 1e-4 + 2e-4 + X + 3e-4 + 5e-4 + X + 4e-4 + u1;
    ck_assert_double_eq_tol(r.t, want, TOL);
    /* Where each piece ran. */
    sim_testing_task f2 = find_task(r.sim, SIM_TESTING_FWD, fc2, 0);
    ck_assert_int_eq(f2.res, 1);
    ck_assert_double_eq_tol(f2.start, 1e-4 + 2e-4 + X, TOL);
    sim_testing_task b1 = find_task(r.sim, SIM_TESTING_BWD, fc1, 0);
    ck_assert_int_eq(b1.res, 0);
    ck_assert_double_eq_tol(b1.start, 1e-4 + 2e-4 + X + 3e-4 + 5e-4 + X, TOL);
    sim_testing_task u2 = find_task(r.sim, SIM_TESTING_UPDATE, g->ops[fc2].weights[0], 0);
    ck_assert_double_eq_tol(u2.end, 1e-4 + 2e-4 + X + 3e-4 + 5e-4 + 3 * 5e5 / G_MEMBW +
                                         G_LAUNCH, TOL);
    soap_sim_result res;
    soap_sim_result_get(r.sim, &res);
    ck_assert_int_eq(res.ncompute, 5); /* x fwd, fc1 and fc2 fwd + bwd */
    ck_assert_int_eq(res.ncomm, 2);
    ck_assert_int_eq(res.nsync, 2);
    ck_assert_double_eq_tol(res.bytes_total, 2 * 16000, 1e-9);
    ck_assert_double_eq_tol(res.bytes_by_kind[SOAP_LINK_PCIE], 2 * 16000, 1e-9);
    soap_sim_result_free(&res);
    run_free(&r);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
    unlink(table);
}
END_TEST

/* ------------------------------------------------------------------ */
/* One message per device pair                                         */
/* ------------------------------------------------------------------ */
/* The chain of test_known_transfer (same link, task times and update), with
 * one side split in two tasks along the batch, both on one device: case 0
 * fc1's two tasks on d0 (each 2e-4 / 4e-4 s), fc2 on d1; case 1 fc1 on d0,
 * fc2's two tasks on d1 (each 3e-4 / 5e-4 s). The two pieces of fc1's
 * output (8000 bytes each) travel as one message of 16000 bytes, X = 26 us,
 * and so does the gradient, after both consumer bwd tasks (per piece, they
 * would be two messages of 18 us each, pipelined behind the tasks).
 *   case 0: time = x + 2 fc1 + X + fc2 + fc2' + X + 2 fc1' + u1
 *           (both fc1' wait for the whole gradient; they share fc1.w on
 *           d0, one shard, one update)
 *   case 1: time = x + fc1 + X + 2 fc2 + 2 fc2' + X + fc1' + u1
 *           (d1 runs fwd t0, fwd t1 (ready together), then bwd t0, bwd t1;
 *           fc2.w's update on d1 takes 16 us, less than X) */
START_TEST(test_one_message)
{
    char table[64];
    soap_test_tmpfile(table, sizeof table, ".csv");
    unlink(table);
    soap_graph *g = soap_graph_new("chain", 8);
    int x = add_input(g, "x", 8, 1000);
    int fc1 = soap_add_linear(g, "fc1", x, 500, 0, -1);
    int fc2 = soap_add_linear(g, "fc2", fc1, 250, 0, -1);
    soap_machine *m = two_devices(1e9, 1e-5);
    soap_strategy *s = soap_strategy_new(g, m);
    int split = _i == 0 ? fc1 : fc2;
    s->configs[split] = split0(g, split, 2);
    s->configs[split].device[1] = (int16_t)(_i == 0 ? 0 : 1);
    if (_i == 0)
        s->configs[fc2] = soap_config_single(g, fc2, 1);
    else
        s->configs[fc2].device[0] = 1;
    table_add(table, "G", g, x, &s->configs[x], 1e-4, 0);
    table_add(table, "G", g, fc1, &s->configs[fc1], 2e-4, 4e-4);
    table_add(table, "G", g, fc2, &s->configs[fc2], 3e-4, 5e-4);

    run r = simulate(g, m, s, table, SOAP_SYNC_ALLREDUCE, 0);
    double X = 1e-5 + 16000 / 1e9;
    double u1 = 3 * 2e6 / G_MEMBW + G_LAUNCH;
    double want = _i == 0 ? 1e-4 + 2 * 2e-4 + X + 3e-4 + 5e-4 + X + 2 * 4e-4 + u1
                          : 1e-4 + 2e-4 + X + 2 * 3e-4 + 2 * 5e-4 + X + 4e-4 + u1;
    ck_assert_double_eq_tol(r.t, want, TOL);
    sim_testing_task xf = find_task(r.sim, SIM_TESTING_XFER, fc2, 0);
    ck_assert_double_eq_tol(xf.dur, X, TOL);
    soap_sim_result res;
    soap_sim_result_get(r.sim, &res);
    ck_assert_int_eq(res.ncomm, 2); /* one activation, one gradient hop */
    ck_assert_double_eq_tol(res.bytes_total, 2 * 16000, 1e-9);
    soap_sim_result_free(&res);
    run_free(&r);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
    unlink(table);
}
END_TEST

/* ------------------------------------------------------------------ */
/* All-gather edges                                                    */
/* ------------------------------------------------------------------ */
/* x [12,1000] -> fc1 (linear to 600, no bias), both split 3 ways by sample
 * on d0, d1, d2 -> fc2 (linear to 300, no bias) split 3 ways by its out
 * features on the same devices: each fc2 task needs all of fc1's output,
 * every producer block whole, one device set of 3: an all-gather edge,
 * moved as a ring collective d0 -> d1 -> d2 -> d0 (soap_decomp_allgather).
 * Links 1 GB/s, 10 us. Per device: x 100 us, fc1 200 + 400 us, fc2 300 +
 * 500 us. fc1's blocks are 4*600 elements (9600 bytes); ring edge r carries
 * the two blocks its receiver lacks, 19200 bytes, forward (all-gather) and
 * backward (reduce-scatter of the gradient), so per hop
 *   X = 10 us + 19200 B / 1 GB/s = 29.2 us.
 *  topology 0 "full": l01, l12, l02 point to point: each ring edge is one
 *      hop on its own link direction, G = X per pass;
 *  topology 1 "star": di - sw: each ring edge is two chained hops (di ->
 *      sw, sw -> di+1), every direction used by one ring edge: G = 2X.
 *      (As pairs, d0's two messages of 9600 bytes would queue on sw -> d0:
 *      3 x 19.6 us instead of 58.4.)
 * Timeline: x 0..100, fc1 100..300 everywhere; the all-gather 300..300+G;
 * fc2 ..600+G, fc2' ..1100+G (fc2.w's slices: one update each, on the
 * side); the reduce-scatter ..1100+2G; fc1' ..1500+2G; then fc1.w (B =
 * 600*1000*4 bytes on all three) all-reduces: each ring hop moves 2(k-1) =
 * 4 chunks of B/3, 4 (8e5 B / 1 GB/s + route latency) = 3240 us (full, 10
 * us) or 3280 us (star, 20 us), every direction once; u1 = 3B / 1e11 + 1 us
 * = 73 us.
 *   time = 1500 us + 2G + sync + u1
 * Tasks: per pass 3 ring edges x hops + 2 joins (ncomm); sync: 3 ring hops
 * (full) or 6 (star), 2 joins, 3 updates of fc1.w, 3 of fc2.w's slices.
 * Bytes: each pass moves 3 x 19200 = 2 x 28800 bytes (what the 6 pairs of
 * 9600 would move), once per hop on the links, plus the all-reduce's 4 x
 * 8e5 per ring hop.
 * Memory on each device: weights 2 x (2.4e6 + 100*600*4) bytes, then the
 * peak at 300+G..1100+G: x's block (4*1000*4 = 16000 bytes, held all
 * along) + fc1's 9600 + the 19200 received + fc2's output (12*100*4 = 4800
 * bytes); the 19200 of gradients received at 1100+2G come after the last
 * two are freed at 1100+G. */
static const char *const gather_topo[] = {"full", "star"};

static soap_machine *gather_machine(int topo)
{
    soap_machine *m = devices(gather_topo[topo], 3);
    if (topo == 0) {
        int e01[2] = {0, 1}, e12[2] = {1, 2}, e02[2] = {0, 2};
        soap_machine_add_link(m, "l01", SOAP_LINK_PCIE, 1e9, 1e-5, e01, 2);
        soap_machine_add_link(m, "l12", SOAP_LINK_PCIE, 1e9, 1e-5, e12, 2);
        soap_machine_add_link(m, "l02", SOAP_LINK_PCIE, 1e9, 1e-5, e02, 2);
    } else {
        int sw = soap_machine_add_switch(m, "sw");
        char name[8];
        for (int d = 0; d < 3; d++) {
            int e[2] = {d, sw};
            snprintf(name, sizeof name, "l%d", d);
            soap_machine_add_link(m, name, SOAP_LINK_PCIE, 1e9, 1e-5, e, 2);
        }
    }
    finish(m);
    return m;
}

START_TEST(test_allgather)
{
    char table[64];
    soap_test_tmpfile(table, sizeof table, ".csv");
    unlink(table);
    soap_graph *g = soap_graph_new("gather", 12);
    int x = add_input(g, "x", 12, 1000);
    int fc1 = soap_add_linear(g, "fc1", x, 600, 0, -1);
    int fc2 = soap_add_linear(g, "fc2", fc1, 300, 0, -1);
    soap_machine *m = gather_machine(_i);
    soap_strategy *s = soap_strategy_new(g, m);
    s->configs[x] = split0(g, x, 3);
    s->configs[fc1] = split0(g, fc1, 3);
    soap_config c2 = soap_config_single(g, fc2, 0);
    c2.degree[1] = 3; /* out features: PARAMETER */
    c2.ntasks = 3;
    for (int t = 0; t < 3; t++)
        c2.device[t] = (int16_t)t;
    s->configs[fc2] = c2;
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_strategy_check(s, g, m, &err) == SOAP_OK, "%s", err.msg);
    table_add(table, "G", g, x, &s->configs[x], 1e-4, 0);
    table_add(table, "G", g, fc1, &s->configs[fc1], 2e-4, 4e-4);
    table_add(table, "G", g, fc2, &s->configs[fc2], 3e-4, 5e-4);

    run r = simulate(g, m, s, table, SOAP_SYNC_ALLREDUCE, 0);
    int hops = _i == 0 ? 1 : 2;
    double X = 1e-5 + 19200 / 1e9, G = hops * X;
    double B = 600.0 * 1000 * 4;
    double sync = 4 * (8e5 / 1e9 + hops * 1e-5), u1 = 3 * B / G_MEMBW + G_LAUNCH;
    ck_assert_double_eq_tol(r.t, 1500e-6 + 2 * G + sync + u1, TOL);
    /* fc2's tasks wait for the whole all-gather, also on the devices whose
     * block they hold. */
    for (int t = 0; t < 3; t++) {
        sim_testing_task f = find_task(r.sim, SIM_TESTING_FWD, fc2, t);
        ck_assert_int_eq(f.res, t);
        ck_assert_double_eq_tol(f.start, 300e-6 + G, TOL);
        sim_testing_task b = find_task(r.sim, SIM_TESTING_BWD, fc1, t);
        ck_assert_double_eq_tol(b.start, 1100e-6 + 2 * G, TOL);
    }
    /* Ring edge 0's forward hops: X each, the first right after fc1. */
    sim_testing_task h0 = find_task(r.sim, SIM_TESTING_XFER, fc2, 0);
    ck_assert_double_eq_tol(h0.dur, X, TOL);
    soap_sim_result res;
    soap_sim_result_get(r.sim, &res);
    ck_assert_int_eq(res.ncompute, 3 * 5);
    ck_assert_int_eq(res.ncomm, 2 * (3 * hops + 2));
    ck_assert_int_eq(res.nsync, 3 * hops + 2 + 3 + 3);
    ck_assert_double_eq_tol(res.bytes_total, 2 * 3 * 19200 + 3 * 4 * 8e5, 1e-3);
    ck_assert_double_eq_tol(res.bytes_by_kind[SOAP_LINK_PCIE],
                            hops * (2 * 3 * 19200 + 3 * 4 * 8e5), 1e-3);
    double weights = 2 * (B + 100.0 * 600 * 4);
    for (int d = 0; d < 3; d++)
        ck_assert_double_eq_tol(res.peak_mem[d], weights + 16000 + 9600 + 19200 + 4800, 1e-6);
    soap_sim_result_free(&res);
    /* The labels name the collective. */
    char label[256];
    int seen = 0;
    for (int i = 0; i < sim_testing_ntasks(r.sim); i++) {
        sim_testing_label(r.sim, i, label, sizeof label);
        seen += strncmp(label, "all-gather fc1 -> fc2", 21) == 0;
        seen += strncmp(label, "reduce-scatter fc1 -> fc2", 25) == 0;
    }
    ck_assert_int_eq(seen, 2 * (3 * hops + 2));
    run_free(&r);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
    unlink(table);
}
END_TEST

/* Not an all-gather: the graph of test_allgather on four devices joined
 * pairwise (1 GB/s, 10 us), fc1 split by sample on d0, d1, d2 and fc2 split
 * by out features on d1, d2, d3: two device sets. Every fc2 task needs a
 * piece of every fc1 task, so it is an all-to-all edge: the pairs' messages
 * (fc2 on d1 gets d0's and d2's blocks, on d2 d0's and d1's, on d3 all
 * three: 7 messages of 9600 bytes) as one collective per pass, each link
 * direction busy for the messages over it: here one each, X = 10 us + 9.6
 * us, all side by side, and the gradients back likewise. fc1.w's ring over
 * d0, d1, d2 as in test_allgather (3240 us), u1 = 73 us.
 *   time = 1500 us + 2X + 3240 us + 73 us; per pass 7 link tasks, a start
 *   and a done join and 3 arrivals: 24 communication tasks. */
START_TEST(test_allgather_other_devices)
{
    char table[64];
    soap_test_tmpfile(table, sizeof table, ".csv");
    unlink(table);
    soap_graph *g = soap_graph_new("gather", 12);
    int x = add_input(g, "x", 12, 1000);
    int fc1 = soap_add_linear(g, "fc1", x, 600, 0, -1);
    int fc2 = soap_add_linear(g, "fc2", fc1, 300, 0, -1);
    soap_machine *m = devices("four", 4);
    char name[8];
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++) {
            int e[2] = {a, b};
            snprintf(name, sizeof name, "l%d%d", a, b);
            soap_machine_add_link(m, name, SOAP_LINK_PCIE, 1e9, 1e-5, e, 2);
        }
    finish(m);
    soap_strategy *s = soap_strategy_new(g, m);
    s->configs[x] = split0(g, x, 3);
    s->configs[fc1] = split0(g, fc1, 3);
    soap_config c2 = soap_config_single(g, fc2, 0);
    c2.degree[1] = 3;
    c2.ntasks = 3;
    for (int t = 0; t < 3; t++)
        c2.device[t] = (int16_t)(t + 1);
    s->configs[fc2] = c2;
    table_add(table, "G", g, x, &s->configs[x], 1e-4, 0);
    table_add(table, "G", g, fc1, &s->configs[fc1], 2e-4, 4e-4);
    table_add(table, "G", g, fc2, &s->configs[fc2], 3e-4, 5e-4);

    run r = simulate(g, m, s, table, SOAP_SYNC_ALLREDUCE, 0);
    double X = 1e-5 + 9600 / 1e9;
    double sync = 4 * (8e5 / 1e9 + 1e-5), u1 = 3 * 2.4e6 / G_MEMBW + G_LAUNCH;
    ck_assert_double_eq_tol(r.t, 1500e-6 + 2 * X + sync + u1, TOL);
    soap_sim_result res;
    soap_sim_result_get(r.sim, &res);
    ck_assert_int_eq(res.ncomm, 2 * (7 + 2 + 3));
    ck_assert_double_eq_tol(res.bytes_total, 14 * 9600 + 3 * 4 * 8e5, 1e-3);
    soap_sim_result_free(&res);
    run_free(&r);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
    unlink(table);
}
END_TEST

/* An all-to-all edge through a switch: d0, d1, d2 each joined to switch s
 * (1 GB/s, 10 us per direction). x [600,1] -> fc1 (linear to 600, no bias)
 * split 3 ways by out features on d0..d2 -> r (relu) split 3 ways by
 * sample on d0..d2: every r task needs rows t of every fc1 block, a 200 x
 * 200 piece: b = 160000 bytes per pair, 6 pairs. Each device sends 2b into
 * its link to s and receives 2b from s, so every one of the 6 link
 * directions carries 2b: the pass is one task per direction, all side by
 * side, L + 2b / 1 GB/s = 330 us from the start join (after every fc1 fwd)
 * to the done join, whatever the order of the messages. The gradient pass
 * is the same, from r's bwd to fc1's. Bytes: 6b per pass (each message
 * once), 12b per pass over the links (two hops each). */
START_TEST(test_alltoall_switch)
{
    char table[64];
    soap_test_tmpfile(table, sizeof table, ".csv");
    unlink(table);
    soap_graph *g = soap_graph_new("a2a", 600);
    int x = add_input(g, "x", 600, 1);
    int fc1 = soap_add_linear(g, "fc1", x, 600, 0, -1);
    int rl = soap_add_unary(g, "r", fc1, SOAP_UNARY_RELU);
    soap_machine *m = devices("star", 3);
    int sw = soap_machine_add_switch(m, "s");
    char name[8];
    for (int d = 0; d < 3; d++) {
        int e[2] = {d, sw};
        snprintf(name, sizeof name, "l%d", d);
        soap_machine_add_link(m, name, SOAP_LINK_PCIE, 1e9, 1e-5, e, 2);
    }
    finish(m);
    soap_strategy *s = soap_strategy_new(g, m);
    s->configs[x] = soap_config_single(g, x, 0);
    soap_config c1 = soap_config_single(g, fc1, 0);
    c1.degree[1] = 3; /* out features: PARAMETER */
    c1.ntasks = 3;
    for (int t = 0; t < 3; t++)
        c1.device[t] = (int16_t)t;
    s->configs[fc1] = c1;
    s->configs[rl] = split0(g, rl, 3);
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_strategy_check(s, g, m, &err) == SOAP_OK, "%s", err.msg);
    table_add(table, "G", g, x, &s->configs[x], 1e-4, 0);
    table_add(table, "G", g, fc1, &s->configs[fc1], 2e-4, 4e-4);
    table_add(table, "G", g, rl, &s->configs[rl], 5e-5, 5e-5);

    run r = simulate(g, m, s, table, SOAP_SYNC_ALLREDUCE, 0);
    double b = 200.0 * 200 * 4, pass = 1e-5 + 2 * b / 1e9;
    char label[256];
    double start[2] = {-1, -1}, done[2] = {-1, -1};
    int links = 0, arrivals = 0;
    for (int i = 0; i < sim_testing_ntasks(r.sim); i++) {
        sim_testing_label(r.sim, i, label, sizeof label);
        sim_testing_task t = sim_testing_task_at(r.sim, i);
        int grad = strncmp(label, "all-to-all grad ", 16) == 0;
        if (strncmp(label, "all-to-all ", 11) != 0)
            continue;
        if (strstr(label, " start"))
            start[grad] = t.end;
        else if (strstr(label, " done"))
            done[grad] = t.end;
        else if (strstr(label, " arrival on "))
            arrivals++;
        else {
            ck_assert_msg(strstr(label, " on l"), "%s", label);
            ck_assert_double_eq_tol(t.dur, pass, TOL);
            links++;
        }
    }
    ck_assert_int_eq(links, 2 * 6);
    ck_assert_int_eq(arrivals, 2 * 3);
    for (int k = 0; k < 2; k++) {
        ck_assert_msg(start[k] >= 0 && done[k] >= 0, "pass %d: no start or done join", k);
        ck_assert_double_eq_tol(done[k] - start[k], pass, TOL);
    }
    /* Forward: the start join follows the last fc1 task; every r task
     * starts when the pass is done (its arrival joins end then). */
    double last_fc1 = 0;
    for (int t = 0; t < 3; t++)
        last_fc1 = fmax(last_fc1, find_task(r.sim, SIM_TESTING_FWD, fc1, t).end);
    ck_assert_double_eq_tol(start[0], last_fc1, TOL);
    for (int t = 0; t < 3; t++)
        ck_assert_double_eq_tol(find_task(r.sim, SIM_TESTING_FWD, rl, t).start, done[0], TOL);
    soap_sim_result res;
    soap_sim_result_get(r.sim, &res);
    /* fc1's weight is split, not replicated: no sync traffic. Besides the
     * all-to-all, x (on d0) goes to fc1 on d1 and d2: 2 messages of 2400
     * bytes over 2 hops (no gradient: an input). */
    double xb = 600.0 * 4;
    ck_assert_double_eq_tol(res.bytes_total, 2 * 6 * b + 2 * xb, 1e-3);
    ck_assert_double_eq_tol(res.bytes_by_kind[SOAP_LINK_PCIE], 2 * 12 * b + 4 * xb, 1e-3);
    ck_assert_int_eq(res.ncomm, 2 * (6 + 2 + 3) + 4);
    soap_sim_result_free(&res);
    run_free(&r);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
    unlink(table);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Contention                                                          */
/* ------------------------------------------------------------------ */
/* a on d0 and b on d1 (inputs [8,1000], 100 us each) feed add on d2 (200 us
 * forward, 300 us backward; inputs get no gradient). Each transfer moves
 * 32000 bytes: X = 10 us + 32 us = 42 us per hop.
 *  bus (one shared medium): b's transfer waits for a's:
 *      time = 100 + 2X + 500 us
 *  star (d0 - sw, d1 - sw, sw - d2; two hops each): the first hops run in
 *      parallel, the second ones share sw -> d2 (a first: smaller key):
 *      time = 100 + 3X + 500 us; 4 hops x 32000 bytes on the links, 64000
 *      bytes moved. */
static const char *const contention_topo[] = {"bus", "star"};

START_TEST(test_contention)
{
    char table[64];
    soap_test_tmpfile(table, sizeof table, ".csv");
    unlink(table);
    soap_graph *g = soap_graph_new("join", 8);
    int a = add_input(g, "a", 8, 1000);
    int b = add_input(g, "b", 8, 1000);
    int add = soap_add_binary(g, "add", a, b, SOAP_BINARY_ADD);
    soap_machine *m = devices(contention_topo[_i], 3);
    if (_i == 0) {
        int ends[3] = {0, 1, 2};
        soap_machine_add_link(m, "bus", SOAP_LINK_MEMBUS, 1e9, 1e-5, ends, 3);
    } else {
        int sw = soap_machine_add_switch(m, "sw");
        int e0[2] = {0, sw}, e1[2] = {1, sw}, e2[2] = {sw, 2};
        soap_machine_add_link(m, "l0", SOAP_LINK_PCIE, 1e9, 1e-5, e0, 2);
        soap_machine_add_link(m, "l1", SOAP_LINK_PCIE, 1e9, 1e-5, e1, 2);
        soap_machine_add_link(m, "l2", SOAP_LINK_PCIE, 1e9, 1e-5, e2, 2);
    }
    finish(m);
    soap_strategy *s = soap_strategy_new(g, m);
    s->configs[b] = soap_config_single(g, b, 1);
    s->configs[add] = soap_config_single(g, add, 2);
    table_add(table, "G", g, a, &s->configs[a], 1e-4, 0);
    table_add(table, "G", g, add, &s->configs[add], 2e-4, 3e-4);

    run r = simulate(g, m, s, table, SOAP_SYNC_ALLREDUCE, 0);
    double X = 1e-5 + 32000 / 1e9;
    int hops = _i == 0 ? 1 : 2;
    ck_assert_double_eq_tol(r.t, 1e-4 + (hops + 1) * X + 5e-4, TOL);
    soap_sim_result res;
    soap_sim_result_get(r.sim, &res);
    ck_assert_double_eq_tol(res.bytes_total, 2 * 32000, 1e-9);
    soap_link_kind kind = _i == 0 ? SOAP_LINK_MEMBUS : SOAP_LINK_PCIE;
    ck_assert_double_eq_tol(res.bytes_by_kind[kind], 2 * hops * 32000, 1e-9);
    ck_assert_int_eq(res.ncomm, 2 * hops);
    /* The busiest link (bus, or sw -> d2) carried two transfers. */
    ck_assert_double_eq_tol(res.lb_link_s, 2 * X, TOL);
    soap_sim_result_free(&res);
    run_free(&r);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
    unlink(table);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Weight synchronisation of k replicas                                */
/* ------------------------------------------------------------------ */
/* x [12,1024] -> fc (linear to 512, no bias), both split k ways by sample
 * on the first k GPUs of p100x16's first node (all pairs joined by NVLink:
 * 20 GB/s, 1 us). Per replica: x 100 us, fc 200 us + 300 us. The weight has
 * B = 512*1024*4 bytes; update u = 3B / 732 GB/s + 5 us.
 *  allreduce: each ring link moves 2(k-1) chunks of B/k, all links at once:
 *      sync = 2(k-1) (1 us + (B/k) / 20 GB/s)
 *  ps: the k-1 gathers use distinct links into GPU 0, as do the sends back:
 *      sync = 2 (1 us + B / 20 GB/s)
 *  time = 600 us + sync + u */
static const struct {
    soap_sync_mode mode;
    int k;
} sync_cases[] = {
    {SOAP_SYNC_ALLREDUCE, 2}, {SOAP_SYNC_ALLREDUCE, 3}, {SOAP_SYNC_ALLREDUCE, 4},
    {SOAP_SYNC_PS, 2},        {SOAP_SYNC_PS, 3},        {SOAP_SYNC_PS, 4},
};

START_TEST(test_weight_sync)
{
    soap_sync_mode mode = sync_cases[_i].mode;
    int k = sync_cases[_i].k;
    char table[64];
    soap_test_tmpfile(table, sizeof table, ".csv");
    unlink(table);
    soap_graph *g = soap_graph_new("dp", 12);
    int x = add_input(g, "x", 12, 1024);
    int fc = soap_add_linear(g, "fc", x, 512, 0, -1);
    soap_machine *m = preset("p100x16", k);
    soap_strategy *s = soap_strategy_new(g, m);
    s->configs[x] = split0(g, x, k);
    s->configs[fc] = split0(g, fc, k);
    table_add(table, "P100", g, x, &s->configs[x], 1e-4, 0);
    table_add(table, "P100", g, fc, &s->configs[fc], 2e-4, 3e-4);

    run r = simulate(g, m, s, table, mode, 0);
    double B = 512.0 * 1024 * 4;
    double sync = mode == SOAP_SYNC_ALLREDUCE ? 2 * (k - 1) * (1e-6 + (B / k) / 20e9)
                                              : 2 * (1e-6 + B / 20e9);
    double u = 3 * B / 732e9 + 5e-6;
    ck_assert_double_eq_tol(r.t, 6e-4 + sync + u, TOL);
    soap_sim_result res;
    soap_sim_result_get(r.sim, &res);
    /* Bytes: ring 2(k-1) steps of k chunks of B/k; ps 2(k-1) copies of B. */
    double bytes = 2.0 * (k - 1) * B;
    ck_assert_double_eq_tol(res.bytes_total, bytes, 1e-3);
    ck_assert_double_eq_tol(res.bytes_by_kind[SOAP_LINK_NVLINK], bytes, 1e-3);
    /* Tasks: ring one per ring edge (one hop each) between a start and a
     * done join, an update per replica; ps one per copy, one update. */
    long transfers = mode == SOAP_SYNC_ALLREDUCE ? k : 2L * (k - 1);
    long updates = mode == SOAP_SYNC_ALLREDUCE ? k : 1;
    long joins = mode == SOAP_SYNC_ALLREDUCE ? 2 : 0;
    ck_assert_int_eq(res.nsync, transfers + updates + joins);
    ck_assert_int_eq(res.ncompute, 3 * k);
    ck_assert_int_eq(res.ncomm, 0);
    soap_sim_result_free(&res);
    run_free(&r);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
    unlink(table);
}
END_TEST

/* The paper's runtime (master) on two nodes of two devices: d0, d1 on node
 * 0, d2, d3 on node 1, every pair joined by its own link: inside a node 10
 * GB/s and 1 us, across nodes 1 GB/s and 5 us. x [12,1024] -> fc (to 512,
 * no bias) split 4 ways by sample as above: every gradient is ready at 600
 * us. B = 512*1024*4 bytes; inside a node a copy takes I = 1 us + B / 10
 * GB/s, across C = 5 us + B / 1 GB/s; the update u = 3B / G_MEMBW +
 * G_LAUNCH runs on d0.
 *   master: d1 -> d0 and d3 -> d2 (I, side by side), then d2 -> d0 (C),
 *     update, d0 -> d2 (C), d2 -> d3 (I) (and d0 -> d1 meanwhile):
 *     time = 600 us + 2 I + 2 C + u; 6 copies of B, one update.
 *   ps, for comparison: d1, d2, d3 -> d0 on three links (the slowest C),
 *     update, back (C): time = 600 us + 2 C + u (direct links favour ps).
 * With the replicas on one node (d0, d1: fc split 2 ways) master is ps:
 *     time = 600 us + 2 I + u. */
static soap_machine *two_nodes_of_two(void)
{
    soap_machine *m = soap_machine_new("2x2");
    int t = soap_machine_add_type(m, &type_g);
    const char *names[4] = {"d0", "d1", "d2", "d3"};
    for (int i = 0; i < 4; i++)
        soap_machine_add_device(m, names[i], t, i / 2);
    char ln[16];
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++) {
            int ends[2] = {a, b}, same = a / 2 == b / 2;
            snprintf(ln, sizeof ln, "l%d%d", a, b);
            soap_machine_add_link(m, ln, same ? SOAP_LINK_NVLINK : SOAP_LINK_INFINIBAND,
                                  same ? 10e9 : 1e9, same ? 1e-6 : 5e-6, ends, 2);
        }
    finish(m);
    return m;
}

START_TEST(test_master_tree)
{
    int k = _i == 0 ? 4 : 2; /* replicas: two nodes of two, or one node */
    char table[64];
    soap_test_tmpfile(table, sizeof table, ".csv");
    unlink(table);
    soap_graph *g = soap_graph_new("dp", 12);
    int x = add_input(g, "x", 12, 1024);
    int fc = soap_add_linear(g, "fc", x, 512, 0, -1);
    soap_machine *m = two_nodes_of_two();
    soap_strategy *s = soap_strategy_new(g, m);
    s->configs[x] = split0(g, x, k);
    s->configs[fc] = split0(g, fc, k);
    table_add(table, "G", g, x, &s->configs[x], 1e-4, 0);
    table_add(table, "G", g, fc, &s->configs[fc], 2e-4, 3e-4);
    double B = 512.0 * 1024 * 4;
    double I = 1e-6 + B / 10e9, C = 5e-6 + B / 1e9, u = 3 * B / G_MEMBW + G_LAUNCH;

    run r = simulate(g, m, s, table, SOAP_SYNC_MASTER, 0);
    run p = simulate(g, m, s, table, SOAP_SYNC_PS, 0);
    soap_sim_result res;
    soap_sim_result_get(r.sim, &res);
    if (k == 4) {
        ck_assert_double_eq_tol(r.t, 6e-4 + 2 * I + 2 * C + u, TOL);
        ck_assert_double_eq_tol(p.t, 6e-4 + 2 * C + u, TOL);
        ck_assert_int_eq(res.nsync, 6 + 1);
        ck_assert_double_eq_tol(res.bytes_total, 6 * B, 1e-3);
        /* Across nodes only the two node sums travel (d2 <-> d0). */
        ck_assert_double_eq_tol(res.bytes_by_kind[SOAP_LINK_INFINIBAND], 2 * B, 1e-3);
        ck_assert_double_eq_tol(res.bytes_by_kind[SOAP_LINK_NVLINK], 4 * B, 1e-3);
        /* The node master d2 sends its node's sum once both are in. */
        char label[128];
        int found = 0;
        for (int i = 0; i < sim_testing_ntasks(r.sim); i++) {
            sim_testing_label(r.sim, i, label, sizeof label);
            if (strstr(label, "node sum to the master from replica 2")) {
                sim_testing_task t = sim_testing_task_at(r.sim, i);
                ck_assert_double_eq_tol(t.start, 6e-4 + I, TOL);
                found = 1;
            }
        }
        ck_assert_msg(found, "no node-sum transfer from replica 2");
    } else {
        ck_assert_double_eq_tol(r.t, 6e-4 + 2 * I + u, TOL);
        ck_assert(r.t == p.t);
        ck_assert_int_eq(res.nsync, 2 + 1);
    }
    soap_sim_result_free(&res);
    run_free(&r);
    run_free(&p);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
    unlink(table);
}
END_TEST

/* A ring whose edges cross two hops: d0 and d1 joined through switch s,
 * d0-s at 2 GB/s and 1 us, s-d1 at 1 GB/s and 2 us (route latency 3 us).
 * x [12,1024] -> fc (to 512, no bias) split 2 ways by sample as above
 * (x 100 us, fc 200 + 300 us). Each ring edge's 2(k-1) = 2 chunks of B/2
 * stream through both hops, so the slower hop decides:
 *   sync = 2 (B/2 / 1 GB/s + 3 us); u = 3B / 1e11 + 1 us;
 *   time = 600 us + sync + u.
 * The four link directions are distinct: no contention. */
START_TEST(test_ring_two_hops)
{
    char table[64];
    soap_test_tmpfile(table, sizeof table, ".csv");
    unlink(table);
    soap_graph *g = soap_graph_new("dp", 12);
    int x = add_input(g, "x", 12, 1024);
    int fc = soap_add_linear(g, "fc", x, 512, 0, -1);
    soap_machine *m = devices("hops", 2);
    int sw = soap_machine_add_switch(m, "s");
    int a[2] = {0, sw}, b[2] = {sw, 1};
    soap_machine_add_link(m, "a", SOAP_LINK_PCIE, 2e9, 1e-6, a, 2);
    soap_machine_add_link(m, "b", SOAP_LINK_PCIE, 1e9, 2e-6, b, 2);
    finish(m);
    soap_strategy *s = soap_strategy_new(g, m);
    s->configs[x] = split0(g, x, 2);
    s->configs[fc] = split0(g, fc, 2);
    table_add(table, "G", g, x, &s->configs[x], 1e-4, 0);
    table_add(table, "G", g, fc, &s->configs[fc], 2e-4, 3e-4);

    run r = simulate(g, m, s, table, SOAP_SYNC_ALLREDUCE, 0);
    double B = 512.0 * 1024 * 4;
    double sync = 2 * (B / 2 / 1e9 + 3e-6), u = 3 * B / G_MEMBW + G_LAUNCH;
    ck_assert_double_eq_tol(r.t, 6e-4 + sync + u, TOL);
    soap_sim_result res;
    soap_sim_result_get(r.sim, &res);
    /* Each ring edge moves 2 x B/2 once (bytes_total) over two links. */
    ck_assert_double_eq_tol(res.bytes_total, 2 * B, 1e-3);
    ck_assert_double_eq_tol(res.bytes_by_kind[SOAP_LINK_PCIE], 4 * B, 1e-3);
    ck_assert_int_eq(res.nsync, 2 * 2 + 2 + 2); /* 2 edges x 2 hops, 2 joins, 2 updates */
    ck_assert_double_eq_tol(res.lb_link_s, 2 * (B / 2 / 1e9 + 3e-6), TOL);
    soap_sim_result_free(&res);
    run_free(&r);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
    unlink(table);
}
END_TEST

/* x [8,1000] -> fc1 (to 500) -> fc2 (to 250), all split 2 ways by sample on
 * d0, d1 (one link, 1 GB/s and 10 us each way). Per device: x 100, fc1 200 +
 * 400, fc2 300 + 500 us: fc2's backward ends at T2 = 1100 us, fc1's at T1 =
 * 1500 us. Ring of 2: two steps, one chunk each way per step, so each
 * direction carries one task of 2 steps. fc1.w has 2e6 bytes: X1 = 10 us +
 * 1e6 / 1e9 = 1010 us per step; fc2.w 5e5 bytes: X2 = 260 us. Updates u1 =
 * 61 us, u2 = 16 us.
 *  overlap: fc2's ring runs during fc1's backward, T2 .. T2 + 2 X2 = 1620
 *      us, after T1: fc1's ring waits for the links until then.
 *      time = T2 + 2 X2 + 2 X1 + u1
 *  no_overlap: both rings are ready at T1; on each direction fc1's goes
 *      first (smaller key), T1 .. T1 + 2 X1, then fc2's; u1 is done long
 *      before fc2's ring ends at T1 + 2 X1 + 2 X2.
 *      time = T1 + 2 X1 + 2 X2 + u2 */
START_TEST(test_overlap)
{
    int no_overlap = _i;
    char table[64];
    soap_test_tmpfile(table, sizeof table, ".csv");
    unlink(table);
    soap_graph *g = soap_graph_new("dp2", 8);
    int x = add_input(g, "x", 8, 1000);
    int fc1 = soap_add_linear(g, "fc1", x, 500, 0, -1);
    int fc2 = soap_add_linear(g, "fc2", fc1, 250, 0, -1);
    soap_machine *m = two_devices(1e9, 1e-5);
    soap_strategy *s = soap_strategy_new(g, m);
    for (int op = 0; op < g->nops; op++)
        s->configs[op] = split0(g, op, 2);
    table_add(table, "G", g, x, &s->configs[x], 1e-4, 0);
    table_add(table, "G", g, fc1, &s->configs[fc1], 2e-4, 4e-4);
    table_add(table, "G", g, fc2, &s->configs[fc2], 3e-4, 5e-4);

    run r = simulate(g, m, s, table, SOAP_SYNC_ALLREDUCE, no_overlap);
    double T2 = 11e-4, T1 = 15e-4;
    double X1 = 1e-5 + 1e6 / 1e9, X2 = 1e-5 + 2.5e5 / 1e9;
    double u1 = 3 * 2e6 / G_MEMBW + G_LAUNCH, u2 = 3 * 5e5 / G_MEMBW + G_LAUNCH;
    double want = no_overlap ? T1 + 2 * X1 + 2 * X2 + u2 : T2 + 2 * X2 + 2 * X1 + u1;
    ck_assert_double_eq_tol(r.t, want, TOL);
    run_free(&r);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
    unlink(table);
}
END_TEST

/* ------------------------------------------------------------------ */
/* FIFO order on a device                                              */
/* ------------------------------------------------------------------ */
/* in0 on d0, in1 on d1 (100 us each); ua = relu(in1), ub = relu(in1), uc =
 * relu(in0), all on d1 (100 us forward, 100 us backward; nobody consumes
 * them, so each one's backward follows its forward). in0's 32000 bytes take
 * 50 us + 32000 / 320 MB/s = 150 us to d1, so uc is ready at 250 us.
 * On d1, by (ready, key):
 *   in1 0..100; ua 100..200 and ub 200..300 (both ready at 100: ua has the
 *   smaller key); then ua' (ready 200) before uc (ready 250, although uc's
 *   forward key is smaller than any backward key) 300..400; uc 400..500;
 *   ub' (ready 300) 500..600; uc' (ready 500) 600..700. */
START_TEST(test_fifo)
{
    char table[64];
    soap_test_tmpfile(table, sizeof table, ".csv");
    unlink(table);
    soap_graph *g = soap_graph_new("fifo", 8);
    int in0 = add_input(g, "in0", 8, 1000);
    int in1 = add_input(g, "in1", 8, 1000);
    int ua = soap_add_unary(g, "ua", in1, SOAP_UNARY_RELU);
    int ub = soap_add_unary(g, "ub", in1, SOAP_UNARY_RELU);
    int uc = soap_add_unary(g, "uc", in0, SOAP_UNARY_RELU);
    soap_machine *m = two_devices(3.2e8, 5e-5);
    soap_strategy *s = soap_strategy_new(g, m);
    for (int op = in1; op < g->nops; op++)
        s->configs[op] = soap_config_single(g, op, 1);
    table_add(table, "G", g, in0, &s->configs[in0], 1e-4, 0);
    table_add(table, "G", g, ua, &s->configs[ua], 1e-4, 1e-4);

    run r = simulate(g, m, s, table, SOAP_SYNC_ALLREDUCE, 0);
    ck_assert_double_eq_tol(r.t, 7e-4, TOL);
    const struct {
        int kind, op;
        double ready, start;
    } want[] = {
        {SIM_TESTING_FWD, in1, 0, 0},      {SIM_TESTING_FWD, ua, 1e-4, 1e-4},
        {SIM_TESTING_FWD, ub, 1e-4, 2e-4}, {SIM_TESTING_BWD, ua, 2e-4, 3e-4},
        {SIM_TESTING_FWD, uc, 2.5e-4, 4e-4}, {SIM_TESTING_BWD, ub, 3e-4, 5e-4},
        {SIM_TESTING_BWD, uc, 5e-4, 6e-4},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        sim_testing_task t = find_task(r.sim, want[i].kind, want[i].op, 0);
        ck_assert_int_eq(t.res, 1);
        ck_assert_msg(fabs(t.ready - want[i].ready) < TOL && fabs(t.start - want[i].start) < TOL,
                      "task %zu (%s of %s): ready %g start %g, expected %g and %g", i,
                      sim_testing_kind_name(want[i].kind), g->ops[want[i].op].name, t.ready,
                      t.start, want[i].ready, want[i].start);
    }
    run_free(&r);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
    unlink(table);
}
END_TEST

/* ------------------------------------------------------------------ */
/* One device                                                          */
/* ------------------------------------------------------------------ */
/* Everything on one GPU: the device never idles (some task is always
 * ready), so the iteration time is the sum of every op's forward and
 * backward time plus one update per weight (3 x bytes / bandwidth + launch),
 * analytic costs on a P100. */
static const char *const one_device_models[] = {"lenet", "alexnet", "rnnlm", "transformer",
                                                "inception_v3"};

START_TEST(test_one_device)
{
    soap_model_options o = {.batch = 16, .unroll = 3, .layers = 1, .seq_len = 16};
    soap_error err;
    soap_error_clear(&err);
    soap_graph *g = soap_model_load(one_device_models[_i], &o, &err);
    ck_assert_msg(g != NULL, "%s", err.msg);
    soap_machine *m = preset("p100x16", 1);
    soap_strategy *s = soap_strategy_new(g, m);
    run r = simulate(g, m, s, NULL, SOAP_SYNC_ALLREDUCE, 0);
    const soap_device_type *dev = &m->types[0];
    double sum = 0;
    for (int op = 0; op < g->nops; op++) {
        soap_region full = soap_region_full(&g->ops[op].out);
        soap_task_cost tc = soap_costs_task(r.costs, g, op, &full, dev);
        sum += tc.fwd_s + tc.bwd_s;
    }
    for (int w = 0; w < g->nweights; w++) {
        double bytes = (double)soap_shape_volume(&g->weights[w].shape) * SOAP_ELEM_BYTES;
        sum += 3 * bytes / dev->mem_bandwidth + dev->launch_overhead;
    }
    ck_assert_msg(fabs(r.t - sum) <= 1e-9 * sum, "%s: simulated %.12g, sum of tasks %.12g",
                  g->name, r.t, sum);
    soap_sim_result res;
    soap_sim_result_get(r.sim, &res);
    ck_assert_msg(fabs(res.busy_s[0] - sum) <= 1e-9 * sum, "busy %.12g", res.busy_s[0]);
    ck_assert_double_eq(res.bytes_total, 0);
    soap_sim_result_free(&res);
    run_free(&r);
    soap_strategy_free(s);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bad input                                                           */
/* ------------------------------------------------------------------ */
/* "chain": input x [8, 1000] (its op id into *x if x) and fc1 with `out`
 * features: the graph the bad-input cases hand to the simulator. */
static soap_graph *chain_graph(int64_t out, int *x)
{
    soap_graph *g = soap_graph_new("chain", 8);
    int in = add_input(g, "x", 8, 1000);
    soap_add_linear(g, "fc1", in, out, 0, -1);
    if (x)
        *x = in;
    return g;
}

START_TEST(test_errors)
{
    soap_error err;
    soap_error_clear(&err);
    int x;
    soap_graph *g = chain_graph(500, &x);
    soap_machine *m = two_devices(1e9, 1e-5);
    soap_machine *m4 = preset("p100x16", 4);
    soap_costs *c = soap_costs_new(NULL, &err);
    ck_assert_ptr_null(soap_sim_new(NULL, m, c, NULL, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_INVALID);
    soap_sim_options bad = {.sync = (soap_sync_mode)7};
    ck_assert_ptr_null(soap_sim_new(g, m, c, &bad, &err));
    ck_assert_msg(strstr(err.msg, "sync") != NULL, "%s", err.msg);

    soap_sim *sim = soap_sim_new(g, m, c, NULL, &err);
    ck_assert_ptr_nonnull(sim);
    /* Strategies are checked where they enter, not by the simulator: a
     * strategy made for another machine and an invalid config are refused
     * by soap_strategy_check (what a hand-built strategy goes through). */
    soap_strategy *s4 = soap_strategy_new(g, m4);
    soap_error_clear(&err);
    ck_assert_int_eq(soap_strategy_check(s4, g, m, &err), SOAP_ERR_MISMATCH);
    soap_strategy *s = soap_strategy_new(g, m);
    s->configs[x].device[0] = 5;
    soap_error_clear(&err);
    ck_assert_int_eq(soap_strategy_check(s, g, m, &err), SOAP_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "'x'") != NULL, "%s", err.msg);
    /* Nothing simulated: nothing to export. */
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    soap_error_clear(&err);
    ck_assert_int_ne(soap_sim_write_trace(sim, path, &err), SOAP_OK);
    unlink(path);
    /* Undo without a delta changes nothing. */
    s->configs[x].device[0] = 0;
    double t = soap_sim_full(sim, s, &err);
    ck_assert(t > 0);
    soap_sim_undo(sim);
    soap_sim_result res;
    soap_sim_result_get(sim, &res);
    ck_assert_double_eq(res.iteration_s, t);
    soap_sim_result_free(&res);
    soap_sim_free(sim);
    soap_strategy_free(s);
    soap_strategy_free(s4);
    soap_costs_free(c);
    soap_machine_free(m);
    soap_machine_free(m4);
    soap_graph_free(g);
}
END_TEST

/* A strategy made for another machine reaches soap_sim_full: a broken
 * invariant (it should have been refused where it was loaded), so abort. */
START_TEST(test_mismatch_aborts)
{
    soap_error err;
    soap_error_clear(&err);
    soap_graph *g = chain_graph(500, NULL);
    soap_machine *m = two_devices(1e9, 1e-5);
    soap_machine *m4 = preset("p100x16", 4);
    soap_costs *c = soap_costs_new(NULL, &err);
    soap_sim *sim = soap_sim_new(g, m, c, NULL, &err);
    ck_assert_ptr_nonnull(sim);
    soap_strategy *s4 = soap_strategy_new(g, m4);
    soap_sim_full(sim, s4, &err);
}
END_TEST

/* The same for a strategy of the right machine but another model (the op
 * count matches, the fingerprint does not). */
START_TEST(test_other_model_aborts)
{
    soap_error err;
    soap_error_clear(&err);
    soap_graph *g = chain_graph(500, NULL);
    soap_graph *h = chain_graph(400, NULL);
    soap_machine *m = two_devices(1e9, 1e-5);
    soap_costs *c = soap_costs_new(NULL, &err);
    soap_sim *sim = soap_sim_new(g, m, c, NULL, &err);
    ck_assert_ptr_nonnull(sim);
    soap_strategy *sh = soap_strategy_new(h, m);
    ck_assert_int_eq(sh->nops, g->nops);
    soap_sim_full(sim, sh, &err);
}
END_TEST

Suite *soap_suite_sim_cases(void)
{
    Suite *s = suite_create("sim_cases");
    TCase *tc = tcase_create("known_transfer");
    tcase_add_test(tc, test_known_transfer);
    tcase_add_loop_test(tc, test_one_message, 0, 2);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("allgather");
    tcase_add_loop_test(tc, test_allgather, 0, 2);
    tcase_add_test(tc, test_allgather_other_devices);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("contention");
    tcase_add_loop_test(tc, test_contention, 0, 2);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("weight_sync");
    tcase_add_loop_test(tc, test_weight_sync, 0, (int)(sizeof sync_cases / sizeof sync_cases[0]));
    tcase_add_loop_test(tc, test_overlap, 0, 2);
    tcase_add_test(tc, test_ring_two_hops);
    tcase_add_loop_test(tc, test_master_tree, 0, 2);
    tcase_add_test(tc, test_alltoall_switch);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("fifo");
    tcase_add_test(tc, test_fifo);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("one_device");
    tcase_add_loop_test(tc, test_one_device, 0,
                        (int)(sizeof one_device_models / sizeof one_device_models[0]));
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, test_errors);
    tcase_add_test_raise_signal(tc, test_mismatch_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_other_model_aborts, SIGABRT);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
