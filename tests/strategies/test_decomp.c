/* Tests of the task decomposition (suite "decomp", strategies/decomp.c):
 * transfers along edges for hand cases (a convolution's halo between a 2x2
 * split and 2 row blocks, a parameter-split linear fed by a sample-split
 * input, concat offsets), the transfers of random configs against a
 * brute-force scan of every task pair (and their volumes against the needed
 * regions), weight shards for hand cases (data parallel, parameter split,
 * 2x2 sample x parameter, LSTM steps sharing weights under different
 * configs) and, for random strategies, every weight element's shard against
 * the set of devices that need it; the growable outputs (reused without
 * growing, replaced on every call). Expected values are derived by hand in
 * the comments. The producing tasks of each shard's gradient are in
 * test_decomp_grads.c. */
#include <check.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "soap_strategies.h"
#include "decomp_fixtures.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */
static void check_xfer(const soap_xfer *x, int src, int dst, soap_region want, int k)
{
    char gb[128], wb[128];
    ck_assert_msg(x->src_task == src && x->dst_task == dst,
                  "transfer %d: %d -> %d, expected %d -> %d", k, x->src_task, x->dst_task,
                  src, dst);
    ck_assert_msg(soap_region_equal(&x->region, &want), "transfer %d: region %s, expected %s",
                  k, soap_region_str(&x->region, gb, sizeof gb),
                  soap_region_str(&want, wb, sizeof wb));
}

/* ------------------------------------------------------------------ */
/* Edges: hand cases                                                   */
/* ------------------------------------------------------------------ */
START_TEST(conv_halo)
{
    /* x [2,4,8,8] -> c conv 4 3x3 s1 p1 -> [2,4,8,8]. Producer x in 2 row
     * blocks: s0 rows [0,4), s1 rows [4,8). Consumer c split 2x2 over (H, W):
     * t0 rows [0,4) cols [0,4), t1 rows [0,4) cols [4,8), t2 rows [4,8)
     * cols [0,4), t3 rows [4,8) cols [4,8). With the halo of 1 (clipped at
     * the borders): t0 needs rows [0,5) cols [0,5); t1 rows [0,5) cols [3,8);
     * t2 rows [3,8) cols [0,5); t3 rows [3,8) cols [3,8); all samples and
     * input channels. Each takes its own row block and one halo row from
     * the other. */
    soap_graph *g = soap_graph_new("convh", 2);
    const int64_t xs[4] = {2, 4, 8, 8};
    int x = soap_add_input(g, "x", 4, xs, NULL, 0);
    int c = soap_add_conv2d(g, "c", x, 4, 3, 3, 1, 1, 1, 1, 0);
    soap_config prod = cfg(g, x, DEG(1, 1, 2, 1), NULL);
    soap_config cons = cfg(g, c, DEG(1, 1, 2, 2), NULL);
    soap_xfer_vec v = {0};
    int n = soap_decomp_edge(g, c, 0, &prod, &cons, &v);
    ck_assert_int_eq(n, 8);
    ck_assert_int_eq(v.n, 8);
    ck_assert_int_ge(v.cap, 8);
    const soap_xfer *xf = v.data;
    check_xfer(&xf[0], 0, 0, REG(4, 0, 2, 0, 4, 0, 4, 0, 5), 0);
    check_xfer(&xf[1], 1, 0, REG(4, 0, 2, 0, 4, 4, 5, 0, 5), 1);
    check_xfer(&xf[2], 0, 1, REG(4, 0, 2, 0, 4, 0, 4, 3, 8), 2);
    check_xfer(&xf[3], 1, 1, REG(4, 0, 2, 0, 4, 4, 5, 3, 8), 3);
    check_xfer(&xf[4], 0, 2, REG(4, 0, 2, 0, 4, 3, 4, 0, 5), 4);
    check_xfer(&xf[5], 1, 2, REG(4, 0, 2, 0, 4, 4, 8, 0, 5), 5);
    check_xfer(&xf[6], 0, 3, REG(4, 0, 2, 0, 4, 3, 4, 3, 8), 6);
    check_xfer(&xf[7], 1, 3, REG(4, 0, 2, 0, 4, 4, 8, 3, 8), 7);
    /* Called again, the grown output is reused as it is: the same array,
     * the same room, the contents replaced. */
    soap_xfer *data = v.data;
    int cap = v.cap;
    v.data[0].src_task = -7;
    ck_assert_int_eq(soap_decomp_edge(g, c, 0, &prod, &cons, &v), 8);
    ck_assert_ptr_eq(v.data, data);
    ck_assert_int_eq(v.cap, cap);
    check_xfer(&v.data[0], 0, 0, REG(4, 0, 2, 0, 4, 0, 4, 0, 5), 0);
    /* A smaller result replaces n (one task each side: one transfer). */
    soap_config one_p = cfg(g, x, DEG(1, 1, 1, 1), NULL);
    soap_config one_c = cfg(g, c, DEG(1, 1, 1, 1), NULL);
    ck_assert_int_eq(soap_decomp_edge(g, c, 0, &one_p, &one_c, &v), 1);
    ck_assert_int_eq(v.n, 1);
    ck_assert_ptr_eq(v.data, data);
    check_xfer(&v.data[0], 0, 0, REG(4, 0, 2, 0, 4, 0, 8, 0, 8), 0);
    soap_xfer_vec_free(&v);
    ck_assert_ptr_null(v.data);
    ck_assert_int_eq(v.n + v.cap, 0);
    soap_graph_free(g);
}
END_TEST

START_TEST(linear_param_from_sample)
{
    /* x [8,16] in 2 sample blocks (rows [0,4), [4,8)) -> fc linear 6 split
     * 3 ways over F (cols [0,2), [2,4), [4,6)). Every fc task needs all of
     * x, so every pair transfers: 6 transfers, each a whole x block. */
    soap_graph *g = soap_graph_new("lin", 8);
    const int64_t xs[2] = {8, 16};
    int x = soap_add_input(g, "x", 2, xs, NULL, 0);
    int fc = soap_add_linear(g, "fc", x, 6, 1, -1);
    soap_config prod = cfg(g, x, DEG(2, 1), NULL);
    soap_config cons = cfg(g, fc, DEG(1, 3), NULL);
    soap_xfer_vec v = {0};
    ck_assert_int_eq(soap_decomp_edge(g, fc, 0, &prod, &cons, &v), 6);
    for (int t = 0; t < 3; t++)
        for (int s = 0; s < 2; s++)
            check_xfer(&v.data[2 * t + s], s, t, REG(2, 4 * s, 4 * s + 4, 0, 16), 2 * t + s);

    /* The same fc split 2 ways over samples: only the matching blocks. */
    cons = cfg(g, fc, DEG(2, 1), NULL);
    ck_assert_int_eq(soap_decomp_edge(g, fc, 0, &prod, &cons, &v), 2);
    check_xfer(&v.data[0], 0, 0, REG(2, 0, 4, 0, 16), 0);
    check_xfer(&v.data[1], 1, 1, REG(2, 4, 8, 0, 16), 1);

    /* fc split 4 ways over samples against 2 producer blocks: each
     * consumer's 2 rows come from the one block holding them. */
    cons = cfg(g, fc, DEG(4, 1), NULL);
    ck_assert_int_eq(soap_decomp_edge(g, fc, 0, &prod, &cons, &v), 4);
    for (int t = 0; t < 4; t++)
        check_xfer(&v.data[t], t / 2, t, REG(2, 2 * t, 2 * t + 2, 0, 16), t);
    soap_xfer_vec_free(&v);
    soap_graph_free(g);
}
END_TEST

START_TEST(allgather_edges)
{
    /* x [12,16] in 3 sample blocks of 4 rows (elements 64 each) -> fc linear
     * 6 split 3 ways over F. Every fc task needs all of x: with both on
     * devices {0, 1, 2} the edge is an all-gather over the ring 0 -> 1 -> 2
     * -> 0. Ring edge r carries every block but its receiver's forward
     * (128 elements each) and every block but its sender's backward. */
    soap_graph *g = soap_graph_new("gather", 12);
    const int64_t xs[2] = {12, 16};
    int x = soap_add_input(g, "x", 2, xs, NULL, 0);
    int fc = soap_add_linear(g, "fc", x, 6, 1, -1);
    soap_config prod = cfg(g, x, DEG(3, 1), DEG(2, 0, 1));
    soap_config cons = cfg(g, fc, DEG(1, 3), NULL);
    soap_xfer_vec v = {0};
    soap_gather ga;
    soap_decomp_edge(g, fc, 0, &prod, &cons, &v);
    ck_assert_int_eq(soap_decomp_allgather(g, fc, 0, &prod, &cons, &v, &ga), 1);
    ck_assert_int_eq(ga.ndevices, 3);
    for (int r = 0; r < 3; r++) {
        ck_assert_int_eq(ga.devices[r], r);
        ck_assert_int_eq(ga.elems[r], 64);
        ck_assert_int_eq(soap_gather_edge_elems(&ga, r, 0), 128);
        ck_assert_int_eq(soap_gather_edge_elems(&ga, r, 1), 128);
    }
    ck_assert_int_eq(ga.total, 192);

    /* Unequal blocks: x in 6 blocks of 2 rows (32 elements), device 0
     * holds blocks 0-3 (128), devices 1 and 2 one each. Forward edge 0
     * (0 -> 1) carries 192 - 32, edge 2 (2 -> 0) 192 - 128; backward edge
     * 0 carries 192 - 128 (device 0's own partial sums stay). */
    prod = cfg(g, x, DEG(6, 1), DEG(0, 0, 0, 0, 1, 2));
    soap_decomp_edge(g, fc, 0, &prod, &cons, &v);
    ck_assert_int_eq(soap_decomp_allgather(g, fc, 0, &prod, &cons, &v, &ga), 1);
    ck_assert_int_eq(ga.elems[0], 128);
    ck_assert_int_eq(soap_gather_edge_elems(&ga, 0, 0), 160);
    ck_assert_int_eq(soap_gather_edge_elems(&ga, 2, 0), 64);
    ck_assert_int_eq(soap_gather_edge_elems(&ga, 0, 1), 64);
    /* Over the whole ring: sum_r (total - elems[r]) = (k - 1) x total,
     * what the k(k - 1) point-to-point messages move. */
    int64_t sum = 0;
    for (int r = 0; r < 3; r++)
        sum += soap_gather_edge_elems(&ga, r, 0);
    ck_assert_int_eq(sum, 2 * 192);

    /* Not all-gathers: consumers on other devices; only two devices; each
     * consumer needing only its own rows (fc split over samples). */
    prod = cfg(g, x, DEG(3, 1), NULL);
    soap_config other = cfg(g, fc, DEG(1, 3), DEG(3, 4, 5));
    soap_decomp_edge(g, fc, 0, &prod, &other, &v);
    ck_assert_int_eq(soap_decomp_allgather(g, fc, 0, &prod, &other, &v, &ga), 0);
    soap_config two = cfg(g, fc, DEG(1, 3), DEG(0, 1, 1));
    soap_config prod2 = cfg(g, x, DEG(3, 1), DEG(0, 1, 1));
    soap_decomp_edge(g, fc, 0, &prod2, &two, &v);
    ck_assert_int_eq(soap_decomp_allgather(g, fc, 0, &prod2, &two, &v, &ga), 0);
    soap_config rows = cfg(g, fc, DEG(3, 1), NULL);
    soap_decomp_edge(g, fc, 0, &prod, &rows, &v);
    ck_assert_int_eq(soap_decomp_allgather(g, fc, 0, &prod, &rows, &v, &ga), 0);
    soap_xfer_vec_free(&v);
    soap_graph_free(g);
}
END_TEST

START_TEST(alltoall_edges)
{
    /* fc [12,6] split 3 ways by out features (cols [0,2), [2,4), [4,6)) ->
     * r (relu) split 3 ways by sample (rows [0,4), ...): every r task needs
     * its rows of every fc block, a 4 x 2 piece: 9 pieces, an all-to-all
     * edge. */
    soap_graph *g = soap_graph_new("a2a", 12);
    const int64_t xs[2] = {12, 5};
    int x = soap_add_input(g, "x", 2, xs, NULL, 0);
    int fc = soap_add_linear(g, "fc", x, 6, 0, -1);
    int r = soap_add_unary(g, "r", fc, SOAP_UNARY_RELU);
    soap_config prod = cfg(g, fc, DEG(1, 3), NULL);
    soap_config cons = cfg(g, r, DEG(3, 1), NULL);
    soap_xfer_vec v = {0};
    ck_assert_int_eq(soap_decomp_edge(g, r, 0, &prod, &cons, &v), 9);
    ck_assert_int_eq(soap_decomp_alltoall(g, r, 0, &prod, &cons, &v), 1);
    /* Other device sets on the two sides: still all-to-all. */
    soap_config other = cfg(g, r, DEG(3, 1), DEG(3, 4, 5));
    soap_decomp_edge(g, r, 0, &prod, &other, &v);
    ck_assert_int_eq(soap_decomp_alltoall(g, r, 0, &prod, &other, &v), 1);
    /* Fewer than 3 devices on a side: point to point. */
    soap_config two = cfg(g, r, DEG(3, 1), DEG(0, 1, 1));
    soap_decomp_edge(g, r, 0, &prod, &two, &v);
    ck_assert_int_eq(soap_decomp_alltoall(g, r, 0, &prod, &two, &v), 0);
    /* Matching splits: each consumer needs one producer, not all. */
    soap_config same = cfg(g, r, DEG(1, 3), NULL);
    ck_assert_int_eq(soap_decomp_edge(g, r, 0, &prod, &same, &v), 3);
    ck_assert_int_eq(soap_decomp_alltoall(g, r, 0, &prod, &same, &v), 0);
    /* An all-gather edge (whole blocks, one device set) is not all-to-all:
     * x by sample on d0..d2 -> fc by out features on d0..d2. */
    soap_config xs3 = cfg(g, x, DEG(3, 1), NULL);
    soap_decomp_edge(g, fc, 0, &xs3, &prod, &v);
    soap_gather ga;
    ck_assert_int_eq(soap_decomp_allgather(g, fc, 0, &xs3, &prod, &v, &ga), 1);
    ck_assert_int_eq(soap_decomp_alltoall(g, fc, 0, &xs3, &prod, &v), 0);
    soap_xfer_vec_free(&v);
    soap_graph_free(g);
}
END_TEST

START_TEST(concat_offsets)
{
    /* a [4,3] and b [4,5] -> cat concat axis 1 -> [4,8], cat split 2 ways
     * over dim 1: t0 cols [0,4), t1 cols [4,8). Input 0 (a, cols [0,3) of
     * cat): t0 needs a cols [0,3), t1 nothing. Input 1 (b, cols [3,8)): t0
     * needs b cols [0,1), t1 b cols [1,5). a in 2 row blocks, b whole. */
    soap_graph *g = soap_graph_new("cat", 4);
    const int64_t as[2] = {4, 3}, bs[2] = {4, 5};
    int a = soap_add_input(g, "a", 2, as, NULL, 0);
    int b = soap_add_input(g, "b", 2, bs, NULL, 0);
    int cat = soap_add_concat(g, "cat", (const int[]){a, b}, 2, 1);
    soap_config pa = cfg(g, a, DEG(2, 1), NULL);
    soap_config pb = cfg(g, b, DEG(1, 1), NULL);
    soap_config cons = cfg(g, cat, DEG(1, 2), NULL);
    soap_xfer_vec v = {0};
    ck_assert_int_eq(soap_decomp_edge(g, cat, 0, &pa, &cons, &v), 2);
    check_xfer(&v.data[0], 0, 0, REG(2, 0, 2, 0, 3), 0);
    check_xfer(&v.data[1], 1, 0, REG(2, 2, 4, 0, 3), 1);
    ck_assert_int_eq(soap_decomp_edge(g, cat, 1, &pb, &cons, &v), 2);
    check_xfer(&v.data[0], 0, 0, REG(2, 0, 4, 0, 1), 0);
    check_xfer(&v.data[1], 0, 1, REG(2, 0, 4, 1, 5), 1);
    soap_xfer_vec_free(&v);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Edges: random configs against brute force                           */
/* ------------------------------------------------------------------ */
/* All transfers of an edge by scanning every (consumer, producer) pair. */
static int brute_edge(const soap_graph *g, int op, int i, const soap_config *prod,
                      const soap_config *cons, soap_xfer *out, int cap)
{
    int pop = g->ops[op].inputs[i], n = 0;
    for (int t = 0; t < cons->ntasks; t++) {
        soap_region tr = soap_config_task_region(g, op, cons, t);
        soap_region need = soap_op_input_region(g, op, i, &tr);
        for (int s = 0; s < prod->ntasks; s++) {
            soap_region sr = soap_config_task_region(g, pop, prod, s);
            soap_region inter;
            if (!soap_region_empty(&need) && soap_region_intersect(&need, &sr, &inter)) {
                expect(n < cap, "more than %d transfers", cap);
                out[n].src_task = s;
                out[n].dst_task = t;
                out[n].region = inter;
                n++;
            }
        }
    }
    return n;
}

/* Checks every edge of g under configs `s` against brute force, and that
 * the pieces received by each consumer task add up to its needed region
 * (producer blocks are disjoint, so volumes add up exactly when the pieces
 * cover it). */
static void check_edges(const soap_graph *g, const soap_strategy *s)
{
    enum { CAP = SOAP_MAX_TASKS * SOAP_MAX_TASKS };
    soap_xfer_vec gv = {0};
    soap_xfer *want = malloc(CAP * sizeof *want);
    for (int op = 0; op < g->nops; op++) {
        const soap_op *o = &g->ops[op];
        const soap_config *cons = &s->configs[op];
        for (int i = 0; i < o->ninputs; i++) {
            const soap_config *prod = &s->configs[o->inputs[i]];
            int n = soap_decomp_edge(g, op, i, prod, cons, &gv);
            const soap_xfer *got = gv.data;
            int m = brute_edge(g, op, i, prod, cons, want, CAP);
            expect(n == m, "%s input %d: %d transfers, brute force %d", o->name, i, n,
                          m);
            for (int k = 0; k < n; k++) {
                expect(got[k].src_task == want[k].src_task &&
                           got[k].dst_task == want[k].dst_task &&
                           soap_region_equal(&got[k].region, &want[k].region),
                       "%s input %d transfer %d: %d -> %d, brute force %d -> %d", o->name, i,
                       k, got[k].src_task, got[k].dst_task, want[k].src_task,
                       want[k].dst_task);
            }
            for (int t = 0; t < cons->ntasks; t++) {
                soap_region tr = soap_config_task_region(g, op, cons, t);
                soap_region need = soap_op_input_region(g, op, i, &tr);
                int64_t sum = 0;
                for (int k = 0; k < n; k++) {
                    if (got[k].dst_task != t)
                        continue;
                    expect(soap_region_contains(&need, &got[k].region),
                           "%s input %d transfer %d outside the needed region", o->name, i, k);
                    sum += soap_region_volume(&got[k].region);
                }
                expect(sum == soap_region_volume(&need),
                              "%s input %d task %d: pieces hold %lld elements, needs %lld",
                              o->name, i, t, (long long)sum,
                              (long long)soap_region_volume(&need));
            }
        }
    }
    soap_xfer_vec_free(&gv);
    free(want);
}

START_TEST(edges_random)
{
    soap_error err;
    soap_machine *m = soap_machine_preset("p100x16", &err);
    ck_assert_ptr_nonnull(m);
    soap_graph *g = test_graph(_i);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1234 + (unsigned long)_i);
    for (int iter = 0; iter < 200; iter++) {
        soap_strategy *s = random_strategy(g, m, rng);
        check_edges(g, s);
        soap_strategy_free(s);
    }
    gsl_rng_free(rng);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Shards: hand cases                                                  */
/* ------------------------------------------------------------------ */
static void check_shard(const soap_shard *sh, soap_region want, int ndev, const int *dev)
{
    char gb[128], wb[128];
    ck_assert_msg(soap_region_equal(&sh->region, &want), "shard region %s, expected %s",
                  soap_region_str(&sh->region, gb, sizeof gb),
                  soap_region_str(&want, wb, sizeof wb));
    ck_assert_int_eq(sh->ndevices, ndev);
    for (int k = 0; k < ndev; k++)
        ck_assert_int_eq(sh->devices[k], dev[k]);
}

/* A strategy for g on p100x16 with every op on device 0, then fc's config. */
typedef struct shard_case {
    const char *what;
    int deg[2];
    int dev[4];
    /* expected shards of fc.w [6,12] (bias [6] follows the same rows) */
    int nshards;
    int64_t rows[4][2];
    int ndev[4];
    int devs[4][4];
} shard_case;

static const shard_case shard_cases[] = {
    /* Data parallel over 4 devices: everybody needs all of w. */
    {"data", {4, 1}, {0, 1, 2, 3}, 1, {{0, 6}}, {4}, {{0, 1, 2, 3}}},
    /* Parameter split 3 ways: disjoint row blocks of 2, one device each. */
    {"param", {1, 3}, {5, 6, 7}, 3, {{0, 2}, {2, 4}, {4, 6}}, {1, 1, 1}, {{5}, {6}, {7}}},
    /* 2x2 sample x parameter: t0 (s0,p0) dev 0, t1 (s0,p1) dev 1,
     * t2 (s1,p0) dev 2, t3 (s1,p1) dev 3: rows [0,3) on {0,2}, [3,6) on
     * {1,3}. */
    {"2x2", {2, 2}, {0, 1, 2, 3}, 2, {{0, 3}, {3, 6}}, {2, 2}, {{0, 2}, {1, 3}}},
    /* A parameter split with both tasks on device 4: the cut at row 3
     * separates cells of equal sets, merged into one shard. */
    {"merged", {1, 2}, {4, 4}, 1, {{0, 6}}, {1}, {{4}}},
    /* Devices out of order (3, 1, 0, 2 for 2x2): rows [0,3) on {3,0} and
     * [3,6) on {1,2}, each listed ascending. */
    {"unsorted", {2, 2}, {3, 1, 0, 2}, 2, {{0, 3}, {3, 6}}, {2, 2}, {{0, 3}, {1, 2}}},
};

START_TEST(shards_linear)
{
    const shard_case *sc = &shard_cases[_i];
    soap_error err;
    soap_machine *m = soap_machine_preset("p100x16", &err);
    soap_graph *g = soap_graph_new("lin", 8);
    const int64_t xs[2] = {8, 12};
    int x = soap_add_input(g, "x", 2, xs, NULL, 0);
    int fc = soap_add_linear(g, "fc", x, 6, 1, -1);
    soap_strategy *s = soap_strategy_new(g, m);
    s->configs[fc] = cfg(g, fc, sc->deg, sc->dev);
    ck_assert_int_eq(soap_strategy_check(s, g, m, &err), SOAP_OK);
    int w = g->ops[fc].weights[0], b = g->ops[fc].weights[1];
    soap_shard_vec sv = {0};
    int n = soap_decomp_shards(g, s, w, &sv);
    ck_assert_msg(n == sc->nshards, "%s: %d shards of w, expected %d", sc->what, n,
                  sc->nshards);
    ck_assert_int_eq(sv.n, n);
    /* Again: the output is reused without growing. */
    soap_shard *data = sv.data;
    int cap = sv.cap;
    ck_assert_int_eq(soap_decomp_shards(g, s, w, &sv), n);
    ck_assert_ptr_eq(sv.data, data);
    ck_assert_int_eq(sv.cap, cap);
    for (int k = 0; k < n; k++) {
        ck_assert_int_eq(sv.data[k].weight, w);
        check_shard(&sv.data[k], REG(2, sc->rows[k][0], sc->rows[k][1], 0, 12), sc->ndev[k],
                    sc->devs[k]);
    }
    ck_assert_int_eq(soap_decomp_shards(g, s, b, &sv), sc->nshards);
    for (int k = 0; k < n; k++)
        check_shard(&sv.data[k], REG(1, sc->rows[k][0], sc->rows[k][1]), sc->ndev[k],
                    sc->devs[k]);
    soap_shard_vec_free(&sv);
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

START_TEST(shards_lstm_steps)
{
    /* h1, h2, h3 share w [4,6,12] (gates, hidden rows, x then h columns)
     * and b [4,6]. h1 sample-split on devices {0,1} needs all of w on both.
     * h2 split over hidden (dim 2 of [8,2,6]) on devices 2 and 3: rows
     * [0,3) on 2, [3,6) on 3. h3 whole on device 1 (already a holder).
     * Cells: rows [0,3) held by {0,1,2}, rows [3,6) by {0,1,3}. */
    soap_error err;
    soap_machine *m = soap_machine_preset("p100x16", &err);
    soap_graph *g = tiny_graph();
    int h1 = op_id(g, "h1"), h2 = op_id(g, "h2"), h3 = op_id(g, "h3");
    soap_strategy *s = lstm_steps_strategy(g, m);
    int w = g->ops[h1].weights[0], b = g->ops[h1].weights[1];
    ck_assert_int_eq(g->ops[h3].weights[0], w);
    soap_shard_vec sv = {0};
    ck_assert_int_eq(soap_decomp_shards(g, s, w, &sv), 2);
    check_shard(&sv.data[0], REG(3, 0, 4, 0, 3, 0, 12), 3, DEG(0, 1, 2));
    check_shard(&sv.data[1], REG(3, 0, 4, 3, 6, 0, 12), 3, DEG(0, 1, 3));
    ck_assert_int_eq(soap_decomp_shards(g, s, b, &sv), 2);
    check_shard(&sv.data[0], REG(2, 0, 4, 0, 3), 3, DEG(0, 1, 2));
    check_shard(&sv.data[1], REG(2, 0, 4, 3, 6), 3, DEG(0, 1, 3));

    /* Every step data parallel on {0,1}: one shard, devices {0,1}. */
    s->configs[h2] = cfg(g, h2, DEG(2, 1, 1), DEG(0, 1));
    s->configs[h3] = cfg(g, h3, DEG(2, 1, 1), DEG(1, 0));
    ck_assert_int_eq(soap_decomp_shards(g, s, w, &sv), 1);
    check_shard(&sv.data[0], REG(3, 0, 4, 0, 6, 0, 12), 2, DEG(0, 1));

    /* Each step whole on its own device: one shard with all three. */
    s->configs[h1] = cfg(g, h1, DEG(1, 1, 1), DEG(7));
    s->configs[h2] = cfg(g, h2, DEG(1, 1, 1), DEG(2));
    s->configs[h3] = cfg(g, h3, DEG(1, 1, 1), DEG(9));
    ck_assert_int_eq(soap_decomp_shards(g, s, w, &sv), 1);
    check_shard(&sv.data[0], REG(3, 0, 4, 0, 6, 0, 12), 3, DEG(2, 7, 9));
    soap_shard_vec_free(&sv);
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Shards: random strategies, element by element                       */
/* ------------------------------------------------------------------ */
/* Element index -> coordinates of shape ws. */
static void coords_of(const soap_shape *ws, int64_t e, int64_t *c)
{
    for (int d = ws->ndims - 1; d >= 0; d--) {
        c[d] = e % ws->size[d];
        e /= ws->size[d];
    }
}

static int region_has(const soap_region *r, const int64_t *c)
{
    for (int d = 0; d < r->ndims; d++)
        if (c[d] < r->lo[d] || c[d] >= r->hi[d])
            return 0;
    return 1;
}

/* For every element of weight w: the shard holding it (exactly one if some
 * task needs it, none else) has as devices exactly those of the tasks that
 * need it. Devices of a shard are ascending and distinct. */
static void check_shards_elementwise(const soap_graph *g, const soap_strategy *s, int w)
{
    const soap_shape *ws = &g->weights[w].shape;
    int64_t vol = soap_shape_volume(ws);
    static soap_shard_vec sv; /* test-only scratch, reused (Check forks per test) */
    int n = soap_decomp_shards(g, s, w, &sv);
    const soap_shard *sh = sv.data;
    for (int k = 0; k < n; k++) {
        expect(sh[k].ndevices >= 1, "shard %d without devices", k);
        for (int j = 1; j < sh[k].ndevices; j++)
            expect(sh[k].devices[j - 1] < sh[k].devices[j], "shard %d devices not ascending",
                   k);
    }
    /* needs: (region, device) of every task of every op using w */
    enum { MAXN = 512 };
    soap_region *nr = malloc(MAXN * sizeof *nr);
    int *nd = malloc(MAXN * sizeof *nd), nn = 0;
    for (int op = 0; op < g->nops; op++)
        for (int k = 0; k < g->ops[op].nweights; k++) {
            if (g->ops[op].weights[k] != w)
                continue;
            const soap_config *c = &s->configs[op];
            for (int t = 0; t < c->ntasks; t++) {
                soap_region tr = soap_config_task_region(g, op, c, t);
                expect(nn < MAXN, "more than %d needs", MAXN);
                nr[nn] = soap_op_weight_region(g, op, k, &tr);
                expect(c->device[t] < 64, "device %d", c->device[t]);
                nd[nn++] = c->device[t];
            }
        }
    for (int64_t e = 0; e < vol; e++) {
        int64_t c[SOAP_MAX_DIMS];
        coords_of(ws, e, c);
        uint64_t want = 0; /* device bits (the test machine has 16) */
        int nwant = 0;
        for (int k = 0; k < nn; k++)
            if (region_has(&nr[k], c) && !(want >> nd[k] & 1)) {
                want |= (uint64_t)1 << nd[k];
                nwant++;
            }
        int holder = -1;
        for (int k = 0; k < n; k++)
            if (region_has(&sh[k].region, c)) {
                expect(holder < 0, "%s element %lld in shards %d and %d",
                              g->weights[w].name, (long long)e, holder, k);
                holder = k;
            }
        if (nwant == 0) {
            expect(holder < 0, "%s element %lld needed by nobody but in shard %d",
                          g->weights[w].name, (long long)e, holder);
            continue;
        }
        expect(holder >= 0, "%s element %lld in no shard", g->weights[w].name,
                      (long long)e);
        expect(sh[holder].ndevices == nwant, "%s element %lld: shard %d has %d devices, %d need it",
               g->weights[w].name, (long long)e, holder, sh[holder].ndevices, nwant);
        for (int j = 0; j < sh[holder].ndevices; j++)
            expect(want >> sh[holder].devices[j] & 1,
                   "%s element %lld: device %d of shard %d does not need it",
                   g->weights[w].name, (long long)e, sh[holder].devices[j], holder);
    }
    free(nr);
    free(nd);
}

START_TEST(shards_random)
{
    soap_error err;
    soap_machine *m = soap_machine_preset("p100x16", &err);
    soap_graph *g = tiny_graph();
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 99);
    for (int iter = 0; iter < 500; iter++) {
        soap_strategy *s = random_strategy(g, m, rng);
        for (int w = 0; w < g->nweights; w++)
            check_shards_elementwise(g, s, w);
        soap_strategy_free(s);
    }
    gsl_rng_free(rng);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

START_TEST(shards_random_lenet)
{
    /* LeNet's weights are small enough to check element by element. */
    soap_error err;
    soap_machine *m = soap_machine_preset("p100x16", &err);
    soap_graph *g = test_graph(1);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    for (int iter = 0; iter < 20; iter++) {
        soap_strategy *s = random_strategy(g, m, rng);
        for (int w = 0; w < g->nweights; w++)
            check_shards_elementwise(g, s, w);
        soap_strategy_free(s);
    }
    gsl_rng_free(rng);
    soap_graph_free(g);
    soap_machine_free(m);
}
END_TEST

Suite *soap_suite_decomp(void)
{
    Suite *s = suite_create("decomp");
    TCase *tc = tcase_create("edge_hand_cases");
    tcase_add_test(tc, conv_halo);
    tcase_add_test(tc, linear_param_from_sample);
    tcase_add_test(tc, concat_offsets);
    tcase_add_test(tc, allgather_edges);
    tcase_add_test(tc, alltoall_edges);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("edge_random_vs_brute_force");
    tcase_add_loop_test(tc, edges_random, 0, NGRAPHS);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);

    tc = tcase_create("shard_hand_cases");
    tcase_add_loop_test(tc, shards_linear, 0,
                        (int)(sizeof shard_cases / sizeof shard_cases[0]));
    tcase_add_test(tc, shards_lstm_steps);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("shard_random_elementwise");
    tcase_add_test(tc, shards_random);
    tcase_add_test(tc, shards_random_lenet);
    tcase_set_timeout(tc, 300);
    suite_add_tcase(s, tc);
    return s;
}
