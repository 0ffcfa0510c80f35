/* decomp_fixtures.h: what the decomposition suites share (test_decomp.c,
 * test_decomp_grads.c): an assertion for inner loops, configs and regions
 * written inline, the tiny graph with every weight-sharing pattern, random
 * strategies and the graphs of the random tests. */
#ifndef SOAP_DECOMP_FIXTURES_H
#define SOAP_DECOMP_FIXTURES_H

#include <check.h>
#include <gsl/gsl_rng.h>
#include <string.h>

#include "soap_strategies.h"

/* An assertion for inner loops: Check records every passing ck_assert (a
 * write to its pipe), which the element-by-element checks would do a
 * million times; this calls Check only on failure. */
#define expect(cond, ...)              \
    do {                               \
        if (!(cond))                   \
            ck_abort_msg(__VA_ARGS__); \
    } while (0)

static inline int op_id(const soap_graph *g, const char *name)
{
    int id = soap_graph_find(g, name);
    ck_assert_msg(id >= 0, "graph %s has no op '%s'", g->name, name);
    return id;
}

/* A config of op from its degrees and the devices of its tasks (NULL:
 * 0, 1, 2, ...). */
static inline soap_config cfg(const soap_graph *g, int op, const int *deg, const int *dev)
{
    soap_config c = soap_config_single(g, op, 0);
    c.ntasks = 1;
    for (int d = 0; d < c.ndims; d++) {
        c.degree[d] = deg[d];
        c.ntasks *= deg[d];
    }
    ck_assert_int_le(c.ntasks, SOAP_MAX_TASKS);
    for (int t = 0; t < c.ntasks; t++)
        c.device[t] = (int16_t)(dev ? dev[t] : t);
    return c;
}
#define DEG(...) ((const int[]){__VA_ARGS__})

/* REG(nd, lo0, hi0, lo1, hi1, ...) */
static inline soap_region reg_pairs(int nd, const int64_t *v)
{
    soap_region r;
    memset(&r, 0, sizeof r);
    r.ndims = nd;
    for (int d = 0; d < nd; d++) {
        r.lo[d] = v[2 * d];
        r.hi[d] = v[2 * d + 1];
    }
    return r;
}
#define REG(nd, ...) reg_pairs(nd, (const int64_t[]){__VA_ARGS__})

/* tiny graph with every sharing pattern the shard tests need:
 *  x [8,12] -> fc linear 6 [8,6] -> h1 lstm 6 [8,2,6] -> h2 lstm (state h1,
 *  shares h1) -> h3 lstm (state h2, shares h1) -> out linear 4 (of h3's h)
 *  img [4,3,8,8] -> conv 4 3x3 p1 [4,4,8,8] -> pool max 2x2 s2 [4,4,4,4]
 *  -> flat [4,64]; cat = concat(a [4,3], b [4,5]) axis 1 */
static inline soap_graph *tiny_graph(void)
{
    soap_graph *g = soap_graph_new("tiny", 8);
    const int64_t xs[2] = {8, 12};
    int x = soap_add_input(g, "x", 2, xs, NULL, 0);
    int fc = soap_add_linear(g, "fc", x, 6, 1, -1);
    int h1 = soap_add_lstm(g, "h1", fc, -1, 6, -1);
    int h2 = soap_add_lstm(g, "h2", fc, h1, 6, h1);
    int h3 = soap_add_lstm(g, "h3", fc, h2, 6, h1);
    soap_add_linear(g, "out", h3, 4, 1, -1);
    const int64_t is[4] = {4, 3, 8, 8};
    int img = soap_add_input(g, "img", 4, is, NULL, 0);
    int c = soap_add_conv2d(g, "conv", img, 4, 3, 3, 1, 1, 1, 1, 1);
    int p = soap_add_pool2d(g, "pool", c, SOAP_POOL_MAX, 2, 2, 2, 2, 0, 0);
    soap_add_flatten(g, "flat", p);
    const int64_t as[2] = {4, 3}, bs[2] = {4, 5};
    int a = soap_add_input(g, "a", 2, as, NULL, 0);
    int b = soap_add_input(g, "b", 2, bs, NULL, 0);
    soap_add_concat(g, "cat", (const int[]){a, b}, 2, 1);
    return g;
}

/* The tiny graph's LSTM steps h1, h2, h3 (sharing w [4,6,12] and b [4,6]):
 * h1 sample-split on devices {0,1}, h2 split over hidden (dim 2) on {2,3},
 * h3 whole on device 1; the case test_decomp.c and test_decomp_grads.c
 * derive shards and gradient producers of by hand. */
static inline soap_strategy *lstm_steps_strategy(const soap_graph *g, const soap_machine *m)
{
    int h1 = op_id(g, "h1"), h2 = op_id(g, "h2"), h3 = op_id(g, "h3");
    soap_strategy *s = soap_strategy_new(g, m);
    s->configs[h1] = cfg(g, h1, DEG(2, 1, 1), DEG(0, 1));
    s->configs[h2] = cfg(g, h2, DEG(1, 1, 2), DEG(2, 3));
    s->configs[h3] = cfg(g, h3, DEG(1, 1, 1), DEG(1));
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_strategy_check(s, g, m, &err) == SOAP_OK, "%s", err.msg);
    return s;
}

static inline soap_strategy *random_strategy(const soap_graph *g, const soap_machine *m,
                                      gsl_rng *rng)
{
    soap_strategy *s = soap_strategy_new(g, m);
    soap_dims_mask mask = soap_dims_mask_all();
    for (int op = 0; op < g->nops; op++)
        s->configs[op] = soap_config_random(g, op, m->ndevices, &mask, rng);
    return s;
}

/* Graphs of the random tests: the tiny graph, then small built-in models. */
static inline soap_graph *test_graph(int k)
{
    soap_model_options opt = {.batch = 8, .unroll = 2, .layers = 1, .seq_len = 8};
    soap_error err;
    static const char *const models[] = {NULL, "lenet", "rnnlm", "transformer"};
    if (k == 0)
        return tiny_graph();
    soap_graph *g = soap_model_load(models[k], &opt, &err);
    ck_assert_msg(g != NULL, "%s", err.msg);
    return g;
}
#define NGRAPHS 4

#endif
