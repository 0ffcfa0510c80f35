/* Tests of soap_decomp_grads (suite "decomp_grads"): which backward tasks
 * produce each shard's gradient, on which replica. Hand cases (data
 * parallel, devices out of task order, a parameter split merged on one
 * device, LSTM steps sharing a weight under three configs) with the
 * expected lists derived in the comments; random strategies on the tiny
 * graph and small built-in models against a brute-force scan (for every
 * shard and replica, every task on that replica's device whose weight region
 * meets the shard, in op, slot and task order); the output reused without
 * growing; no shards, no tasks. */
#include <check.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "decomp_fixtures.h"
#include "soap_strategies.h"

/* One expected entry: shard, replica, op, task. */
typedef struct want_grad {
    int shard, replica, op, task;
} want_grad;

static void check_grads(const soap_grad_vec *v, const want_grad *want, int n, const char *what)
{
    ck_assert_msg(v->n == n, "%s: %d producing tasks, expected %d", what, v->n, n);
    for (int k = 0; k < n; k++) {
        const soap_grad_task *e = &v->data[k];
        ck_assert_msg(e->shard == want[k].shard && e->replica == want[k].replica &&
                          e->op == want[k].op && e->task == want[k].task,
                      "%s entry %d: shard %d replica %d op %d task %d, expected shard %d "
                      "replica %d op %d task %d",
                      what, k, e->shard, e->replica, e->op, e->task, want[k].shard,
                      want[k].replica, want[k].op, want[k].task);
    }
}

/* x [8,12] -> fc linear 6 (w [6,12], b [6]) with fc's config from deg/dev. */
typedef struct lin {
    soap_machine *m;
    soap_graph *g;
    soap_strategy *s;
    int fc, w, b;
} lin;

static lin lin_new(const int *deg, const int *dev)
{
    lin l;
    soap_error err;
    l.m = soap_machine_preset("p100x16", &err);
    ck_assert_ptr_nonnull(l.m);
    l.g = soap_graph_new("lin", 8);
    const int64_t xs[2] = {8, 12};
    int x = soap_add_input(l.g, "x", 2, xs, NULL, 0);
    l.fc = soap_add_linear(l.g, "fc", x, 6, 1, -1);
    l.s = soap_strategy_new(l.g, l.m);
    l.s->configs[l.fc] = cfg(l.g, l.fc, deg, dev);
    ck_assert_int_eq(soap_strategy_check(l.s, l.g, l.m, &err), SOAP_OK);
    l.w = l.g->ops[l.fc].weights[0];
    l.b = l.g->ops[l.fc].weights[1];
    return l;
}

static void lin_free(lin *l)
{
    soap_strategy_free(l->s);
    soap_graph_free(l->g);
    soap_machine_free(l->m);
}

START_TEST(grads_data_parallel)
{
    /* fc split 4 ways over samples on devices 0..3: one shard of w held by
     * {0,1,2,3}; replica x is device x, whose only task is task x. */
    lin l = lin_new(DEG(4, 1), DEG(0, 1, 2, 3));
    soap_shard_vec sv = {0};
    soap_grad_vec gv = {0};
    int n = soap_decomp_shards(l.g, l.s, l.w, &sv);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(soap_decomp_grads(l.g, l.s, sv.data, n, &gv), 4);
    int fc = l.fc;
    const want_grad want[] = {{0, 0, fc, 0}, {0, 1, fc, 1}, {0, 2, fc, 2}, {0, 3, fc, 3}};
    check_grads(&gv, want, 4, "data w");
    /* The bias the same way. */
    n = soap_decomp_shards(l.g, l.s, l.b, &sv);
    ck_assert_int_eq(soap_decomp_grads(l.g, l.s, sv.data, n, &gv), 4);
    check_grads(&gv, want, 4, "data b");
    /* Again: the same array, no growth. */
    soap_grad_task *data = gv.data;
    int cap = gv.cap;
    ck_assert_int_eq(soap_decomp_grads(l.g, l.s, sv.data, n, &gv), 4);
    ck_assert_ptr_eq(gv.data, data);
    ck_assert_int_eq(gv.cap, cap);
    check_grads(&gv, want, 4, "data b again");
    /* No shards: nothing. */
    ck_assert_int_eq(soap_decomp_grads(l.g, l.s, sv.data, 0, &gv), 0);
    ck_assert_int_eq(gv.n, 0);
    soap_shard_vec_free(&sv);
    soap_grad_vec_free(&gv);
    ck_assert_ptr_null(gv.data);
    lin_free(&l);
}
END_TEST

START_TEST(grads_unsorted_devices)
{
    /* fc split 2x2 (samples x features), tasks t0 (s0,f0) on 3, t1 (s0,f1)
     * on 1, t2 (s1,f0) on 0, t3 (s1,f1) on 2. Features [0,3) = rows [0,3)
     * of w: shard 0 held by {0,3}: replica 0 (device 0) is t2, replica 1
     * (device 3) is t0. Shard 1, rows [3,6), held by {1,2}: replica 0
     * (device 1) t1, replica 1 (device 2) t3. Ordered by replica, not by
     * task. */
    lin l = lin_new(DEG(2, 2), DEG(3, 1, 0, 2));
    soap_shard_vec sv = {0};
    soap_grad_vec gv = {0};
    int n = soap_decomp_shards(l.g, l.s, l.w, &sv);
    ck_assert_int_eq(n, 2);
    soap_decomp_grads(l.g, l.s, sv.data, n, &gv);
    int fc = l.fc;
    const want_grad want[] = {{0, 0, fc, 2}, {0, 1, fc, 0}, {1, 0, fc, 1}, {1, 1, fc, 3}};
    check_grads(&gv, want, 4, "2x2 unsorted");
    /* The second shard alone: indices refer to the shards given. */
    soap_decomp_grads(l.g, l.s, &sv.data[1], 1, &gv);
    const want_grad want1[] = {{0, 0, fc, 1}, {0, 1, fc, 3}};
    check_grads(&gv, want1, 2, "shard 1 alone");
    soap_shard_vec_free(&sv);
    soap_grad_vec_free(&gv);
    lin_free(&l);
}
END_TEST

START_TEST(grads_merged)
{
    /* fc split 2 ways over features, both tasks on device 4: one shard held
     * by {4}, both tasks produce parts of its gradient on replica 0. */
    lin l = lin_new(DEG(1, 2), DEG(4, 4));
    soap_shard_vec sv = {0};
    soap_grad_vec gv = {0};
    int n = soap_decomp_shards(l.g, l.s, l.w, &sv);
    ck_assert_int_eq(n, 1);
    soap_decomp_grads(l.g, l.s, sv.data, n, &gv);
    const want_grad want[] = {{0, 0, l.fc, 0}, {0, 0, l.fc, 1}};
    check_grads(&gv, want, 2, "merged");
    soap_shard_vec_free(&sv);
    soap_grad_vec_free(&gv);
    lin_free(&l);
}
END_TEST

START_TEST(grads_lstm_steps)
{
    /* The tiny graph's h1, h2, h3 share w [4,6,12] (test_decomp.c,
     * shards_lstm_steps): h1 sample-split on {0,1}, h2 split over hidden on
     * {2,3} (t0 rows [0,3), t1 rows [3,6)), h3 whole on 1. Shard 0 (rows
     * [0,3)) held by {0,1,2}: replica 0 (device 0) h1 t0; replica 1
     * (device 1) h1 t1 then h3 t0 (op order); replica 2 (device 2) h2 t0.
     * Shard 1 (rows [3,6)) held by {0,1,3}: the same for replicas 0 and 1,
     * replica 2 (device 3) h2 t1. */
    soap_error err;
    soap_machine *m = soap_machine_preset("p100x16", &err);
    soap_graph *g = tiny_graph();
    int h1 = op_id(g, "h1"), h2 = op_id(g, "h2"), h3 = op_id(g, "h3");
    soap_strategy *s = lstm_steps_strategy(g, m);
    soap_shard_vec sv = {0};
    soap_grad_vec gv = {0};
    int w = g->ops[h1].weights[0];
    int n = soap_decomp_shards(g, s, w, &sv);
    ck_assert_int_eq(n, 2);
    soap_decomp_grads(g, s, sv.data, n, &gv);
    const want_grad want[] = {{0, 0, h1, 0}, {0, 1, h1, 1}, {0, 1, h3, 0}, {0, 2, h2, 0},
                              {1, 0, h1, 0}, {1, 1, h1, 1}, {1, 1, h3, 0}, {1, 2, h2, 1}};
    check_grads(&gv, want, 8, "lstm steps");
    soap_shard_vec_free(&sv);
    soap_grad_vec_free(&gv);
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

/* Brute force: per shard and replica, every (op, slot, task) on the
 * replica's device whose weight region meets the shard; and no task meets
 * a shard that its device does not hold. */
static void check_grads_brute(const soap_graph *g, const soap_strategy *s, int w,
                              soap_shard_vec *sv, soap_grad_vec *gv)
{
    int n = soap_decomp_shards(g, s, w, sv);
    int ng = soap_decomp_grads(g, s, sv->data, n, gv);
    expect(ng == gv->n, "returned %d, n %d", ng, gv->n);
    int j = 0;
    for (int si = 0; si < n; si++) {
        const soap_shard *sh = &sv->data[si];
        for (int op = 0; op < g->nops; op++)
            for (int k = 0; k < g->ops[op].nweights; k++) {
                if (g->ops[op].weights[k] != w)
                    continue;
                const soap_config *c = &s->configs[op];
                for (int t = 0; t < c->ntasks; t++) {
                    soap_region tr = soap_config_task_region(g, op, c, t);
                    soap_region wr = soap_op_weight_region(g, op, k, &tr), tmp;
                    if (soap_region_empty(&wr) || !soap_region_intersect(&wr, &sh->region, &tmp))
                        continue;
                    int held = 0;
                    for (int x = 0; x < sh->ndevices; x++)
                        held |= sh->devices[x] == c->device[t];
                    expect(held, "%s: %s task %d on device %d meets shard %d but its device "
                                 "does not hold it",
                           g->weights[w].name, g->ops[op].name, t, c->device[t], si);
                }
            }
        for (int x = 0; x < sh->ndevices; x++) {
            int first = j;
            for (int op = 0; op < g->nops; op++)
                for (int k = 0; k < g->ops[op].nweights; k++) {
                    if (g->ops[op].weights[k] != w)
                        continue;
                    const soap_config *c = &s->configs[op];
                    for (int t = 0; t < c->ntasks; t++) {
                        if (c->device[t] != sh->devices[x])
                            continue;
                        soap_region tr = soap_config_task_region(g, op, c, t);
                        soap_region wr = soap_op_weight_region(g, op, k, &tr), tmp;
                        if (soap_region_empty(&wr) ||
                            !soap_region_intersect(&wr, &sh->region, &tmp))
                            continue;
                        expect(j < gv->n, "%s shard %d replica %d: entries end early",
                               g->weights[w].name, si, x);
                        const soap_grad_task *e = &gv->data[j++];
                        expect(e->shard == si && e->replica == x && e->op == op && e->task == t,
                               "%s entry %d: shard %d replica %d %s task %d, brute force "
                               "shard %d replica %d %s task %d",
                               g->weights[w].name, j - 1, e->shard, e->replica,
                               g->ops[e->op].name, e->task, si, x, g->ops[op].name, t);
                    }
                }
            expect(j > first, "%s shard %d replica %d: no producing task", g->weights[w].name,
                   si, x);
        }
    }
    expect(j == gv->n, "%s: %d entries, brute force %d", g->weights[w].name, gv->n, j);
}

START_TEST(grads_random)
{
    soap_error err;
    soap_machine *m = soap_machine_preset("p100x16", &err);
    ck_assert_ptr_nonnull(m);
    soap_graph *g = test_graph(_i);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 4321 + (unsigned long)_i);
    soap_shard_vec sv = {0};
    soap_grad_vec gv = {0};
    for (int iter = 0; iter < 100; iter++) {
        soap_strategy *s = random_strategy(g, m, rng);
        for (int w = 0; w < g->nweights; w++)
            check_grads_brute(g, s, w, &sv, &gv);
        soap_strategy_free(s);
    }
    soap_shard_vec_free(&sv);
    soap_grad_vec_free(&gv);
    gsl_rng_free(rng);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

Suite *soap_suite_decomp_grads(void)
{
    Suite *s = suite_create("decomp_grads");
    TCase *tc = tcase_create("hand_cases");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, grads_data_parallel);
    tcase_add_test(tc, grads_unsorted_devices);
    tcase_add_test(tc, grads_merged);
    tcase_add_test(tc, grads_lstm_steps);
    suite_add_tcase(s, tc);

    tc = tcase_create("random_vs_brute_force");
    tcase_add_loop_test(tc, grads_random, 0, NGRAPHS);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return s;
}
