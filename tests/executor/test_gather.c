/* All-gather edges in the executor (suite "gather"): an edge where every
 * consumer task needs every producer task's whole block, with both sides on
 * one set of k >= 3 devices (soap_decomp_allgather), runs as one ring
 * collective (a ring all-gather forward, a ring reduce-scatter of the
 * gradient backward) instead of k(k-1) point-to-point copies; every other
 * edge stays point to point.
 *
 * Hand cases: x [12,16] -> fc1 linear 16 (bias) -> relu -> fc2 linear 8
 * (bias) -> softmax_ce, with x, fc1, relu and the loss split over samples
 * and fc2 over its out features (the relu -> fc2 edge is the all-gather,
 * with a gradient), in four layouts: on cpu-4, 4 equal blocks on 4 devices
 * with fc2's tasks in another device order than the ring's; 6 unequal
 * blocks (devices 0 0 1 2 3 3) with fc2 in 8 tasks, two per device; 3 of
 * the 4 devices (2 0 3), with fc2 in 4 tasks (devices 0 3 2 0); on cpu-8, 6
 * of the 8 devices (7 1 2 4 5 6; fc2 in 8 tasks on 1 2 4 5 6 7 1 2, so
 * device 7's block, the first task's, is last on the ring). And x -> fc
 * linear 8 split over F directly on cpu-4, where the producer is an input
 * (forward only, no gradient to scatter).
 *
 * Checked: (a) one training step's loss and every updated weight equal the
 * one-device run within the runner suite's tolerance (1e-4 relative for the
 * loss, 0.5e-4 (|w| + max |w|) per weight element, 1e-3 for a second step),
 * and two runs agree bitwise (the ring's sums have a fixed order); (b) the
 * plan has exactly one collective per all-gather edge, in (op, input)
 * order, over soap_decomp_allgather's ring, with k local copies, k-1 steps
 * forward and k-1 backward (0 without a gradient), and none elsewhere: the
 * hand cases, and data, model and owt on tiny alexnet and lenet (owt gives
 * at least one, data none); (c) the elements each ring edge moves, from
 * the plan's jobs, equal soap_gather_edge_elems each way (x SOAP_ELEM_BYTES
 * bytes).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec_testing.h"
#include "soap_exec.h"

static soap_machine *machine(int n)
{
    soap_error err;
    soap_error_clear(&err);
    char name[16];
    snprintf(name, sizeof name, "cpu-%d", n);
    soap_machine *m = soap_machine_load(name, 0, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    return m;
}

/* x -> fc1 -> relu -> fc2 -> loss (ops 0..4), or, with `direct`, x -> fc ->
 * loss (ops 0..2). */
static soap_graph *mlp(int direct)
{
    soap_graph *g = soap_graph_new(direct ? "gather_direct" : "gather_mlp", 12);
    const int64_t xs[2] = {12, 16};
    const soap_dim_kind kinds[2] = {SOAP_DIM_SAMPLE, SOAP_DIM_ATTRIBUTE};
    int x = soap_add_input(g, "x", 2, xs, kinds, 0);
    int h = x;
    if (!direct) {
        h = soap_add_linear(g, "fc1", x, 16, 1, -1);
        h = soap_add_unary(g, "relu", h, SOAP_UNARY_RELU);
    }
    int fc = soap_add_linear(g, "fc2", h, 8, 1, -1);
    soap_add_softmax_ce(g, "loss", fc);
    return g;
}

/* Config of op: degree `deg` on dim `dim`, tasks on dev[0..deg). */
static soap_config split(const soap_graph *g, int op, int dim, int deg, const int *dev)
{
    soap_config c = soap_config_single(g, op, 0);
    c.degree[dim] = deg;
    c.ntasks = deg;
    for (int t = 0; t < deg; t++)
        c.device[t] = (int16_t)dev[t];
    return c;
}

/* Layout `layout` of the hand cases on m (see the file's comment): the
 * samples' split of every op but the fc, and the fc's split over F. */
static soap_strategy *hand_strategy(const soap_graph *g, const soap_machine *m, int layout)
{
    static const int nrows[] = {4, 6, 3, 6}, nfeat[] = {4, 8, 4, 8};
    static const int rows[][6] = {
        {0, 1, 2, 3}, {0, 0, 1, 2, 3, 3}, {2, 0, 3}, {7, 1, 2, 4, 5, 6}};
    static const int feat[][8] = {
        {3, 1, 0, 2}, {0, 1, 2, 3, 0, 1, 2, 3}, {0, 3, 2, 0}, {1, 2, 4, 5, 6, 7, 1, 2}};
    soap_strategy *s = soap_strategy_new(g, m);
    int fc = g->nops - 2;
    for (int op = 0; op < g->nops; op++)
        s->configs[op] = op == fc ? split(g, op, 1, nfeat[layout], feat[layout])
                                  : split(g, op, 0, nrows[layout], rows[layout]);
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_strategy_check(s, g, m, &err) == SOAP_OK, "layout %d: %s", layout,
                  err.msg);
    return s;
}

typedef struct outcome {
    double loss, loss2;
    float *w;
    int64_t nw;
} outcome;

static soap_exec *make_exec(const soap_graph *g, const soap_machine *m, const soap_strategy *s)
{
    soap_error err;
    soap_error_clear(&err);
    soap_exec_options eo = {.seed = 7, .lr = 0.05};
    soap_exec *x = soap_exec_new(soap_backend_find("cpu", NULL), g, m, s, &eo, &err);
    ck_assert_msg(x != NULL, "%s", err.msg);
    return x;
}

static outcome run_steps(const soap_graph *g, const soap_machine *m, const soap_strategy *s)
{
    soap_exec *x = make_exec(g, m, s);
    soap_error err;
    soap_error_clear(&err);
    outcome r;
    memset(&r, 0, sizeof r);
    ck_assert_msg(soap_exec_step(x, &r.loss, NULL, &err) == SOAP_OK, "%s", err.msg);
    for (int w = 0; w < g->nweights; w++)
        r.nw += soap_shape_volume(&g->weights[w].shape);
    r.w = soap_xmalloc((size_t)r.nw * sizeof *r.w);
    int64_t off = 0;
    for (int w = 0; w < g->nweights; w++) {
        soap_exec_weight(x, w, r.w + off);
        off += soap_shape_volume(&g->weights[w].shape);
    }
    ck_assert_msg(soap_exec_step(x, &r.loss2, NULL, &err) == SOAP_OK, "%s", err.msg);
    soap_exec_free(x);
    return r;
}

static void same_outcome(const soap_graph *g, const outcome *a, const outcome *ref,
                         const char *what)
{
    ck_assert_msg(isfinite(ref->loss) && ref->loss > 0, "%s: reference loss %g", what,
                  ref->loss);
    ck_assert_msg(fabs(a->loss - ref->loss) <= 1e-4 * fabs(ref->loss),
                  "%s: loss %.9g, one device %.9g", what, a->loss, ref->loss);
    ck_assert_msg(fabs(a->loss2 - ref->loss2) <= 1e-3 * fabs(ref->loss2),
                  "%s: second loss %.9g, one device %.9g", what, a->loss2, ref->loss2);
    int64_t off = 0;
    for (int w = 0; w < g->nweights; w++) {
        int64_t n = soap_shape_volume(&g->weights[w].shape);
        double big = 0;
        for (int64_t i = 0; i < n; i++)
            big = fmax(big, fabs(ref->w[off + i]));
        for (int64_t i = 0; i < n; i++) {
            double x = a->w[off + i], y = ref->w[off + i];
            ck_assert_msg(fabs(x - y) <= 0.5e-4 * (fabs(y) + big),
                          "%s: weight %s[%lld] = %.9g after one step, one device %.9g", what,
                          g->weights[w].name, (long long)i, x, y);
        }
        off += n;
    }
}

/* (b) and (c): the plan's collectives against the decomposition's rule.
 * Returns how many there are. */
static int check_rings(const soap_graph *g, const soap_machine *m, const soap_strategy *s,
                       const char *what)
{
    soap_exec *x = make_exec(g, m, s);
    soap_xfer_vec xv = {0};
    int c = 0, n = exec_testing_nrings(x);
    for (int op = 0; op < g->nops; op++)
        for (int i = 0; i < g->ops[op].ninputs; i++) {
            int p = g->ops[op].inputs[i];
            soap_decomp_edge(g, op, i, &s->configs[p], &s->configs[op], &xv);
            soap_gather ga;
            if (!soap_decomp_allgather(g, op, i, &s->configs[p], &s->configs[op], &xv, &ga))
                continue;
            ck_assert_msg(c < n, "%s: no collective for input %d of %s", what, i,
                          g->ops[op].name);
            exec_testing_ring rg;
            exec_testing_ring_get(x, c++, &rg);
            ck_assert_msg(rg.op == op && rg.input == i,
                          "%s: collective on input %d of %s, expected input %d of %s", what,
                          rg.input, g->ops[rg.op].name, i, g->ops[op].name);
            int k = ga.ndevices, grad = g->ops[p].kind != SOAP_OP_INPUT;
            ck_assert_int_eq(rg.ndevices, k);
            for (int r = 0; r < k; r++)
                ck_assert_int_eq(rg.devices[r], ga.devices[r]);
            ck_assert_int_eq(rg.fwd_local, k);
            ck_assert_int_eq(rg.fwd_steps, k - 1);
            ck_assert_int_eq(rg.bwd_steps, grad ? k - 1 : 0);
            for (int r = 0; r < k; r++) {
                int64_t want_f = soap_gather_edge_elems(&ga, r, 0) * SOAP_ELEM_BYTES;
                int64_t want_b = grad ? soap_gather_edge_elems(&ga, r, 1) * SOAP_ELEM_BYTES : 0;
                ck_assert_msg(rg.fwd_elems[r] * SOAP_ELEM_BYTES == want_f &&
                                  rg.bwd_elems[r] * SOAP_ELEM_BYTES == want_b,
                              "%s, %s input %d, ring edge %d: %lld / %lld bytes forward / "
                              "backward, the rule says %lld / %lld",
                              what, g->ops[op].name, i, r,
                              (long long)(rg.fwd_elems[r] * SOAP_ELEM_BYTES),
                              (long long)(rg.bwd_elems[r] * SOAP_ELEM_BYTES), (long long)want_f,
                              (long long)want_b);
            }
        }
    ck_assert_msg(c == n, "%s: %d collectives, %d all-gather edges", what, n, c);
    soap_xfer_vec_free(&xv);
    soap_exec_free(x);
    return n;
}

START_TEST(ring_equals_whole)
{
    /* _i: layouts 0-3 of the mlp, 4 the direct case. */
    int direct = _i == 4;
    soap_graph *g = mlp(direct);
    soap_machine *one = machine(1), *m = machine(_i == 3 ? 8 : 4);
    soap_strategy *s1 = soap_strategy_new(g, one);
    outcome ref = run_steps(g, one, s1);
    soap_strategy *s = hand_strategy(g, m, direct ? 0 : _i);
    char what[2 * SOAP_NAME_MAX];
    snprintf(what, sizeof what, "%s, layout %d", g->name, direct ? 0 : _i);
    ck_assert_int_eq(check_rings(g, m, s, what), 1);
    outcome a = run_steps(g, m, s), b = run_steps(g, m, s);
    same_outcome(g, &a, &ref, what);
    ck_assert_msg(a.loss == b.loss && a.loss2 == b.loss2 &&
                      memcmp(a.w, b.w, (size_t)a.nw * sizeof *a.w) == 0,
                  "%s: two runs differ", what);
    free(a.w);
    free(b.w);
    free(ref.w);
    soap_strategy_free(s);
    soap_strategy_free(s1);
    soap_machine_free(one);
    soap_machine_free(m);
    soap_graph_free(g);
}
END_TEST

START_TEST(rings_of_builtins)
{
    static const char *const models[] = {"alexnet", "lenet"};
    static const char *const names[] = {"data", "model", "owt"};
    soap_model_options mo = {.batch = 8, .unroll = 3, .layers = 1, .seq_len = 8, .tiny = 1};
    soap_machine *m = machine(4);
    for (int k = 0; k < 2; k++) {
        soap_error err;
        soap_error_clear(&err);
        soap_graph *g = soap_model_load(models[k], &mo, &err);
        ck_assert_msg(g != NULL, "%s", err.msg);
        for (int j = 0; j < 3; j++) {
            soap_strategy_options so = {.seed = 3};
            soap_strategy *s = soap_strategy_load(names[j], g, m, &so, &err);
            ck_assert_msg(s != NULL, "%s", err.msg);
            char what[128];
            snprintf(what, sizeof what, "%s %s", models[k], names[j]);
            int n = check_rings(g, m, s, what);
            if (j == 0)
                ck_assert_msg(n == 0, "%s: %d collectives", what, n);
            if (j == 2)
                ck_assert_msg(n > 0, "%s: no collective", what);
            soap_strategy_free(s);
        }
        soap_graph_free(g);
    }
    soap_machine_free(m);
}
END_TEST

Suite *soap_suite_gather(void);
Suite *soap_suite_gather(void)
{
    Suite *s = suite_create("gather");
    TCase *tc = tcase_create("ring");
    tcase_add_loop_test(tc, ring_equals_whole, 0, 5);
    tcase_add_test(tc, rings_of_builtins);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}
