/* Tests of the CPU kernels on hand-computed cases (suite "kern_forward": one
 * loop test over a table with at least one case per operator kind and
 * sub-kind; expected values derived in the comments) and of the block
 * helpers and data checks (suite "kern_blocks": offsets, copy/add/zero of
 * sub-regions, bad token ids and labels refused with a message naming the
 * op, INPUT with nothing fed). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kern_harness.h"

#define SZ(...) ((const int64_t[]){__VA_ARGS__})
#define NARG(...) ((int)(sizeof(SZ(__VA_ARGS__)) / sizeof(int64_t)))
#define IN(g, name, ...) soap_add_input(g, name, NARG(__VA_ARGS__), SZ(__VA_ARGS__), NULL, 0)
#define F(...) ((const float[]){__VA_ARGS__})

static int state_in(soap_graph *g, const char *name, int64_t n, int64_t x)
{
    static const soap_dim_kind kinds[3] = {SOAP_DIM_SAMPLE, SOAP_DIM_NONE,
                                           SOAP_DIM_ATTRIBUTE};
    return soap_add_input(g, name, 3, SZ(n, 2, x), kinds, 0);
}

/* ------------------------------------------------------------------ */
/* Hand cases                                                          */
/* ------------------------------------------------------------------ */
typedef struct hand {
    const char *name;
    int (*build)(soap_graph *g);
    const float *in[3];  /* each input tensor, row-major (INPUT: the fed data) */
    const float *w[2];   /* each weight tensor */
    const float *labels; /* SOFTMAX_CE */
    const float *want;   /* the whole output */
    double loss;         /* SOFTMAX_CE: the loss sum */
} hand;

static int h_input(soap_graph *g) { return IN(g, "x", 2, 3); }
static int h_input_index(soap_graph *g) { return soap_add_input(g, "ids", 1, SZ(3), NULL, 1); }
/* x 3x3 = 1..9, w 2x2 = {1,2,3,4}, b 0.5: y[oy,ox] = x[oy,ox] + 2x[oy,ox+1] +
 * 3x[oy+1,ox] + 4x[oy+1,ox+1] + 0.5: 1+4+12+20 = 37, 47, 67, 77 (+0.5). */
static int h_conv(soap_graph *g)
{
    return soap_add_conv2d(g, "op", IN(g, "x", 1, 1, 3, 3), 1, 2, 2, 1, 1, 0, 0, 1);
}
/* k3 s2 p1 over 1..9 with w = 1: windows clipped to rows/cols {0,1} or
 * {1,2}: 1+2+4+5 = 12, 2+3+5+6 = 16, 4+5+7+8 = 24, 5+6+8+9 = 28. */
static int h_conv_pad(soap_graph *g)
{
    return soap_add_conv2d(g, "op", IN(g, "x", 1, 1, 3, 3), 1, 3, 3, 2, 2, 1, 1, 0);
}
/* 1x1 conv over 2 channels: co0 = x0 + 2 x1, co1 = -x0 + x1. */
static int h_conv_ch(soap_graph *g)
{
    return soap_add_conv2d(g, "op", IN(g, "x", 1, 2, 2, 2), 2, 1, 1, 1, 1, 0, 0, 0);
}
static int h_pool_max(soap_graph *g)
{
    return soap_add_pool2d(g, "op", IN(g, "x", 1, 1, 4, 4), SOAP_POOL_MAX, 2, 2, 2, 2, 0, 0);
}
/* Max over -(1..9) with k3 s2 p1: padding is not a candidate, so the
 * maxima are -1, -2, -4, -5 (not 0). */
static int h_pool_max_pad(soap_graph *g)
{
    return soap_add_pool2d(g, "op", IN(g, "x", 1, 1, 3, 3), SOAP_POOL_MAX, 3, 3, 2, 2, 1, 1);
}
static int h_pool_avg(soap_graph *g)
{
    return soap_add_pool2d(g, "op", IN(g, "x", 1, 1, 4, 4), SOAP_POOL_AVG, 2, 2, 2, 2, 0, 0);
}
/* Avg with padding counted: the window sums 12, 16, 24, 28 over 9. */
static int h_pool_avg_pad(soap_graph *g)
{
    return soap_add_pool2d(g, "op", IN(g, "x", 1, 1, 3, 3), SOAP_POOL_AVG, 3, 3, 2, 2, 1, 1);
}
/* [N=2, C=2] = {1, 10; 3, 30}: channel 0 mean 2 var 1, channel 1 mean 20
 * var 100; y = gamma*(x-mean)/sqrt(var+1e-5) + beta with gamma {2,1},
 * beta {0.5,-1}: -2/sqrt(1.00001)+0.5, -10/sqrt(100.00001)-1, ... */
static int h_bn2(soap_graph *g) { return soap_add_batchnorm(g, "op", IN(g, "x", 2, 2)); }
/* [1,1,2,2] = 1..4: mean 2.5, var 1.25: (x-2.5)/sqrt(1.25+1e-5). */
static int h_bn4(soap_graph *g) { return soap_add_batchnorm(g, "op", IN(g, "x", 1, 1, 2, 2)); }
static int h_relu(soap_graph *g) { return soap_add_unary(g, "op", IN(g, "x", 4), SOAP_UNARY_RELU); }
static int h_tanh(soap_graph *g) { return soap_add_unary(g, "op", IN(g, "x", 3), SOAP_UNARY_TANH); }
static int h_sigmoid(soap_graph *g)
{
    return soap_add_unary(g, "op", IN(g, "x", 3), SOAP_UNARY_SIGMOID);
}
static int h_add(soap_graph *g)
{
    return soap_add_binary(g, "op", IN(g, "a", 3), IN(g, "b", 3), SOAP_BINARY_ADD);
}
static int h_mul(soap_graph *g)
{
    return soap_add_binary(g, "op", IN(g, "a", 3), IN(g, "b", 3), SOAP_BINARY_MUL);
}
static int h_concat(soap_graph *g)
{
    const int ins[2] = {IN(g, "a", 2, 1), IN(g, "b", 2, 2)};
    return soap_add_concat(g, "op", ins, 2, 1);
}
static int h_flatten(soap_graph *g) { return soap_add_flatten(g, "op", IN(g, "x", 2, 2, 2)); }
/* w {1,0,-1; .5,.5,.5}, b {1,-1}: row {1,2,3} -> {1-3+1, 3-1} = {-1, 2};
 * row {4,5,6} -> {4-6+1, 7.5-1} = {-1, 6.5}. */
static int h_linear(soap_graph *g) { return soap_add_linear(g, "op", IN(g, "x", 2, 3), 2, 1, -1); }
/* State {h 1,2; c 100,200}, w {3,4}: 3 + 8 = 11 (c is not read). */
static int h_linear_state(soap_graph *g)
{
    return soap_add_linear(g, "op", state_in(g, "s", 1, 2), 1, 0, -1);
}
/* Rows {1,2,3}: e^x / sum = .0900306, .2447285, .6652410; {5,5,5}: 1/3. */
static int h_softmax(soap_graph *g) { return soap_add_softmax(g, "op", IN(g, "x", 2, 3)); }
/* As softmax; labels 2 and 0: loss -log(.6652410) + log(3) = 1.5062183. */
static int h_softmax_ce(soap_graph *g) { return soap_add_softmax_ce(g, "op", IN(g, "x", 2, 3)); }
static int h_embedding(soap_graph *g)
{
    return soap_add_embedding(g, "op", soap_add_input(g, "ids", 1, SZ(3), NULL, 1), 3, 2, -1);
}
/* K = H = 1, x 1, h_prev .5, c_prev 2. w [4,1,2] (columns x, h) and b:
 * i: 0,0 b 0 -> .5; f: 0,-2 b 0 -> sigmoid(-1) = .2689414;
 * g: 1,2 b 0 -> tanh(1 + 1) = .9640276; o: 0,0 b 1 -> sigmoid(1) = .7310586.
 * c = .2689414*2 + .5*.9640276 = 1.0198966; h = .7310586*tanh(c) = .5627868. */
static int h_lstm(soap_graph *g)
{
    return soap_add_lstm(g, "op", IN(g, "x", 1, 1), state_in(g, "s", 1, 1), 1, -1);
}
/* H = 2, q {1,0} (a state, c {9,9} unread), m0 {1,0}, m1 {0,1}: scores
 * {1,0}, a = {e/(e+1), 1/(e+1)} = ctx = {.7310586, .2689414}; Wc rows
 * {1,0,0,0} and {0,1,2,0}: out = {tanh(.7310586), tanh(.2689414 + 2)}. */
static int h_attention(soap_graph *g)
{
    const int mem[2] = {IN(g, "m0", 1, 2), IN(g, "m1", 1, 2)};
    return soap_add_attention(g, "op", state_in(g, "q", 1, 2), mem, 2);
}
/* {1,2,3,4}: xhat = (x-2.5)/sqrt(1.25+1e-5), gamma {1,1,2,2}, beta {0,0,0,1}. */
static int h_layernorm(soap_graph *g) { return soap_add_layernorm(g, "op", IN(g, "x", 1, 4)); }
static int h_matmul(soap_graph *g)
{
    return soap_add_matmul(g, "op", IN(g, "a", 2, 2), IN(g, "b", 2, 2), SOAP_MATMUL_PLAIN, 0, 0);
}
/* {1,2,3; 4,5,6} x {1,0,1; 0,1,0}^T = {4, 2; 10, 5}. */
static int h_matmul_tb(soap_graph *g)
{
    return soap_add_matmul(g, "op", IN(g, "a", 2, 3), IN(g, "b", 2, 3), SOAP_MATMUL_PLAIN, 1, 0);
}
/* Batch of 2: {1,2}.{1,1} = 3, {3,4}.{1,-1} = -1. */
static int h_matmul_batch(soap_graph *g)
{
    return soap_add_matmul(g, "op", IN(g, "a", 2, 1, 2), IN(g, "b", 2, 2, 1),
                           SOAP_MATMUL_PLAIN, 0, 0);
}
/* heads 2, dh 2. Q rows {1,0,0,1}, {0,1,1,1}; K rows {1,1,1,0}, {0,2,0,1}.
 * Head 0 (cols 0-1): {1,0; 1,2}; head 1 (cols 2-3): {0,1; 1,1}; / sqrt(2). */
static int h_qk(soap_graph *g)
{
    return soap_add_matmul(g, "op", IN(g, "q", 1, 2, 4), IN(g, "k", 1, 2, 4), SOAP_MATMUL_QK,
                           0, 2);
}
/* P head 0 {1,0; .5,.5}, head 1 {0,1; .25,.75}; V rows {1,2,3,4}, {5,6,7,8}.
 * Row 0: head 0 cols {1,2}, head 1 cols {7,8}; row 1: {3,4}, {.75+5.25, 1+6}. */
static int h_pv(soap_graph *g)
{
    return soap_add_matmul(g, "op", IN(g, "p", 1, 2, 2, 2), IN(g, "v", 1, 2, 4),
                           SOAP_MATMUL_PV, 0, 2);
}

#define S2 0.70710678f

static const hand hands[] = {
    {"input", h_input, {F(1, 2, 3, 4, 5, 6)}, {0}, 0, F(1, 2, 3, 4, 5, 6), 0},
    {"input_index", h_input_index, {F(0, 5, 2)}, {0}, 0, F(0, 5, 2), 0},
    {"conv2d_k2_bias", h_conv, {F(1, 2, 3, 4, 5, 6, 7, 8, 9)}, {F(1, 2, 3, 4), F(0.5f)}, 0,
     F(37.5f, 47.5f, 67.5f, 77.5f), 0},
    {"conv2d_k3s2p1", h_conv_pad, {F(1, 2, 3, 4, 5, 6, 7, 8, 9)},
     {F(1, 1, 1, 1, 1, 1, 1, 1, 1)}, 0, F(12, 16, 24, 28), 0},
    {"conv2d_channels", h_conv_ch, {F(1, 2, 3, 4, 10, 20, 30, 40)}, {F(1, 2, -1, 1)}, 0,
     F(21, 42, 63, 84, 9, 18, 27, 36), 0},
    {"pool2d_max", h_pool_max, {F(1, 5, 2, 0, 3, 4, 8, 1, 0, 0, 1, 1, 9, 2, 3, 7)}, {0}, 0,
     F(5, 8, 9, 7), 0},
    {"pool2d_max_pad", h_pool_max_pad, {F(-1, -2, -3, -4, -5, -6, -7, -8, -9)}, {0}, 0,
     F(-1, -2, -4, -5), 0},
    {"pool2d_avg", h_pool_avg, {F(1, 5, 2, 0, 3, 4, 8, 1, 0, 0, 1, 1, 9, 2, 3, 7)}, {0}, 0,
     F(3.25f, 2.75f, 2.75f, 3), 0},
    {"pool2d_avg_pad", h_pool_avg_pad, {F(1, 2, 3, 4, 5, 6, 7, 8, 9)}, {0}, 0,
     F(12 / 9.0f, 16 / 9.0f, 24 / 9.0f, 28 / 9.0f), 0},
    {"batchnorm_2d", h_bn2, {F(1, 10, 3, 30)}, {F(2, 1), F(0.5f, -1)}, 0,
     F(-1.49999000f, -1.99999995f, 2.49999000f, -5.0e-8f), 0},
    {"batchnorm_4d", h_bn4, {F(1, 2, 3, 4)}, {F(1), F(0)}, 0,
     F(-1.34163542f, -0.44721181f, 0.44721181f, 1.34163542f), 0},
    {"unary_relu", h_relu, {F(-1, 0, 2, -3.5f)}, {0}, 0, F(0, 0, 2, 0), 0},
    {"unary_tanh", h_tanh, {F(0, 0.5f, -1)}, {0}, 0, F(0, 0.46211716f, -0.76159416f), 0},
    {"unary_sigmoid", h_sigmoid, {F(0, 2, -1)}, {0}, 0, F(0.5f, 0.88079708f, 0.26894142f), 0},
    {"binary_add", h_add, {F(1, 2, 3), F(10, 20, 30)}, {0}, 0, F(11, 22, 33), 0},
    {"binary_mul", h_mul, {F(1, 2, 3), F(-1, 0.5f, 2)}, {0}, 0, F(-1, 1, 6), 0},
    {"concat", h_concat, {F(1, 2), F(3, 4, 5, 6)}, {0}, 0, F(1, 3, 4, 2, 5, 6), 0},
    {"flatten", h_flatten, {F(1, 2, 3, 4, 5, 6, 7, 8)}, {0}, 0, F(1, 2, 3, 4, 5, 6, 7, 8), 0},
    {"linear", h_linear, {F(1, 2, 3, 4, 5, 6)}, {F(1, 0, -1, 0.5f, 0.5f, 0.5f), F(1, -1)}, 0,
     F(-1, 2, -1, 6.5f), 0},
    {"linear_state", h_linear_state, {F(1, 2, 100, 200)}, {F(3, 4)}, 0, F(11), 0},
    {"softmax", h_softmax, {F(1, 2, 3, 5, 5, 5)}, {0}, 0,
     F(0.09003057f, 0.24472847f, 0.66524096f, 1 / 3.0f, 1 / 3.0f, 1 / 3.0f), 0},
    {"softmax_ce", h_softmax_ce, {F(1, 2, 3, 5, 5, 5)}, {0}, F(2, 0),
     F(0.09003057f, 0.24472847f, 0.66524096f, 1 / 3.0f, 1 / 3.0f, 1 / 3.0f), 1.50621825},
    {"embedding", h_embedding, {F(2, 0, 2)}, {F(1, 2, 3, 4, 5, 6)}, 0, F(5, 6, 1, 2, 5, 6), 0},
    {"lstm", h_lstm, {F(1), F(0.5f, 2)}, {F(0, 0, 0, -2, 1, 2, 0, 0), F(0, 0, 0, 1)}, 0,
     F(0.56278675f, 1.01989663f), 0},
    {"attention", h_attention, {F(1, 0, 9, 9), F(1, 0), F(0, 1)}, {F(1, 0, 0, 0, 0, 1, 2, 0)},
     0, F(0.62371255f, 0.97883433f), 0},
    {"layernorm", h_layernorm, {F(1, 2, 3, 4)}, {F(1, 1, 2, 2), F(0, 0, 0, 1)}, 0,
     F(-1.34163542f, -0.44721181f, 0.89442361f, 3.68327084f), 0},
    {"matmul_plain", h_matmul, {F(1, 2, 3, 4), F(5, 6, 7, 8)}, {0}, 0, F(19, 22, 43, 50), 0},
    {"matmul_plain_trans_b", h_matmul_tb, {F(1, 2, 3, 4, 5, 6), F(1, 0, 1, 0, 1, 0)}, {0}, 0,
     F(4, 2, 10, 5), 0},
    {"matmul_plain_batch", h_matmul_batch, {F(1, 2, 3, 4), F(1, 1, 1, -1)}, {0}, 0, F(3, -1),
     0},
    {"matmul_qk", h_qk, {F(1, 0, 0, 1, 0, 1, 1, 1), F(1, 1, 1, 0, 0, 2, 0, 1)}, {0}, 0,
     F(S2, 0, S2, 2 * S2, 0, S2, S2, S2), 0},
    {"matmul_pv", h_pv, {F(1, 0, 0.5f, 0.5f, 0, 1, 0.25f, 0.75f), F(1, 2, 3, 4, 5, 6, 7, 8)},
     {0}, 0, F(1, 2, 7, 8, 3, 4, 6, 7), 0},
};
#define NHANDS ((int)(sizeof hands / sizeof hands[0]))

/* A full block of shape s holding v (copied). */
static soap_block filled(const soap_shape *s, const float *v)
{
    soap_region r = soap_region_full(s);
    soap_block b = kt_block(&r);
    memcpy(b.data, v, (size_t)soap_region_volume(&r) * sizeof(float));
    return b;
}

START_TEST(forward_hand)
{
    const hand *h = &hands[_i];
    soap_graph *g = soap_graph_new(h->name, 1);
    int op = h->build(g);
    const soap_op *o = &g->ops[op];
    soap_block in[3], w[2], labels = {0}, fed = {0};
    memset(in, 0, sizeof in);
    memset(w, 0, sizeof w);
    for (int i = 0; i < o->ninputs; i++)
        in[i] = filled(&g->ops[o->inputs[i]].out, h->in[i]);
    for (int k = 0; k < o->nweights; k++)
        w[k] = filled(&g->weights[o->weights[k]].shape, h->w[k]);
    if (o->kind == SOAP_OP_INPUT)
        fed = filled(&o->out, h->in[0]);
    soap_region all = soap_region_full(&o->out);
    soap_block y = kt_block(&all);
    soap_error err;
    soap_status st = soap_cpu_forward(g, op, &all, o->kind == SOAP_OP_INPUT ? &fed : in, w, &y,
                                      &err);
    ck_assert_msg(st == SOAP_OK, "%s", err.msg);
    kt_expect_close(h->name, y.data, h->want, soap_region_volume(&all), 1e-5, 1e-6);
    if (o->kind == SOAP_OP_SOFTMAX_CE) {
        soap_region lr = kt_label_region(&all);
        labels = kt_block(&lr);
        memcpy(labels.data, h->labels, (size_t)soap_region_volume(&lr) * sizeof(float));
        double loss;
        st = soap_cpu_softmax_ce_loss(g, op, &all, &in[0], &labels, &loss, &err);
        ck_assert_msg(st == SOAP_OK, "%s", err.msg);
        ck_assert_double_eq_tol(loss, h->loss, 1e-6);
        ck_assert_int_eq(soap_cpu_softmax_ce_rows(g, op), 2);
    }
    for (int i = 0; i < o->ninputs; i++)
        free(in[i].data);
    for (int k = 0; k < o->nweights; k++)
        free(w[k].data);
    free(fed.data);
    free(labels.data);
    free(y.data);
    soap_graph_free(g);
}
END_TEST

/* Every operator kind has at least one hand case. */
START_TEST(forward_hand_covers_kinds)
{
    int seen[SOAP_OP_KIND_COUNT] = {0};
    for (int i = 0; i < NHANDS; i++) {
        soap_graph *g = soap_graph_new("k", 1);
        int op = hands[i].build(g); /* before reading g->ops: adding reallocates it */
        seen[g->ops[op].kind] = 1;
        soap_graph_free(g);
    }
    for (int k = 0; k < SOAP_OP_KIND_COUNT; k++)
        ck_assert_msg(seen[k], "no hand case for %s", soap_op_kind_name((soap_op_kind)k));
}
END_TEST

Suite *soap_suite_kern_forward(void);
Suite *soap_suite_kern_forward(void)
{
    Suite *s = suite_create("kern_forward");
    TCase *tc = tcase_create("hand_cases");
    tcase_add_loop_test(tc, forward_hand, 0, NHANDS);
    tcase_add_test(tc, forward_hand_covers_kinds);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}

/* ------------------------------------------------------------------ */
/* Blocks and data checks                                              */
/* ------------------------------------------------------------------ */
static soap_region reg2(int64_t a0, int64_t a1, int64_t b0, int64_t b1)
{
    soap_region r;
    memset(&r, 0, sizeof r);
    r.ndims = 2;
    r.lo[0] = a0;
    r.hi[0] = a1;
    r.lo[1] = b0;
    r.hi[1] = b1;
    return r;
}

/* A block over [1,4) x [2,6): element (i, j) holds 10*i + j. */
START_TEST(block_copy_add_zero)
{
    soap_region big = reg2(1, 4, 2, 6);
    soap_block b = kt_block(&big);
    for (int64_t i = 1; i < 4; i++)
        for (int64_t j = 2; j < 6; j++)
            b.data[soap_cpu_block_offset(&b, (const int64_t[]){i, j})] = (float)(10 * i + j);
    ck_assert_int_eq(soap_cpu_block_offset(&b, (const int64_t[]){1, 2}), 0);
    ck_assert_int_eq(soap_cpu_block_offset(&b, (const int64_t[]){2, 3}), 5);
    ck_assert_int_eq(soap_cpu_block_offset(&b, (const int64_t[]){3, 5}), 11);
    /* Copy [2,4) x [3,5) out: {23, 24, 33, 34}. */
    soap_region small = reg2(2, 4, 3, 5);
    soap_block s = kt_sub(&b, &small);
    kt_expect_close("copy", s.data, F(23, 24, 33, 34), 4, 0, 0);
    /* Add it back: those four double; then zero row 1. */
    soap_cpu_block_add(&b, &s, &small);
    ck_assert_float_eq(b.data[soap_cpu_block_offset(&b, (const int64_t[]){3, 4})], 68.0f);
    ck_assert_float_eq(b.data[soap_cpu_block_offset(&b, (const int64_t[]){3, 5})], 35.0f);
    soap_region row1 = reg2(1, 2, 2, 6);
    soap_cpu_block_zero(&b, &row1);
    ck_assert_float_eq(b.data[0], 0.0f);
    ck_assert_float_eq(b.data[3], 0.0f);
    ck_assert_float_eq(b.data[4], 22.0f);
    /* An empty region does nothing. */
    soap_region none = reg2(2, 2, 3, 5);
    soap_cpu_block_copy(&s, &b, &none);
    free(s.data);
    free(b.data);
}
END_TEST

/* Embedding ids that are not integers in [0, V) are refused, naming the op. */
START_TEST(embedding_bad_ids)
{
    const float bad[][3] = {{0, 3, 1}, {0, -1, 1}, {0.5f, 1, 1}, {0, NAN, 1}};
    for (int c = 0; c < 4; c++) {
        soap_graph *g = soap_graph_new("emb", 3);
        int op = h_embedding(g);
        const soap_op *o = &g->ops[op];
        soap_block ids = filled(&g->ops[o->inputs[0]].out, bad[c]);
        soap_block w = filled(&g->weights[o->weights[0]].shape, F(1, 2, 3, 4, 5, 6));
        soap_region all = soap_region_full(&o->out);
        soap_block y = kt_block(&all), dy = kt_block(&all), dw = kt_block(&w.region);
        soap_error err;
        soap_error_clear(&err);
        ck_assert_int_eq(soap_cpu_forward(g, op, &all, &ids, &w, &y, &err), SOAP_ERR_INVALID);
        ck_assert_msg(strstr(err.msg, "'op'") && strstr(err.msg, "token id"), "%s", err.msg);
        soap_error_clear(&err);
        ck_assert_int_eq(soap_cpu_backward(g, op, &all, &ids, &w, NULL, NULL, &dy, NULL, &dw,
                                           &err),
                         SOAP_ERR_INVALID);
        free(ids.data);
        free(w.data);
        free(y.data);
        free(dy.data);
        free(dw.data);
        soap_graph_free(g);
    }
}
END_TEST

/* A vocabulary beyond 2^24 cannot be addressed by float ids: refused before
 * the table is touched (so a block claiming the table's region suffices). */
START_TEST(embedding_vocab_too_large)
{
    soap_graph *g = soap_graph_new("emb", 2);
    int ids_op = soap_add_input(g, "ids", 1, SZ(2), NULL, 1);
    int op = soap_add_embedding(g, "op", ids_op, SOAP_CPU_MAX_INDEX + 1, 1, -1);
    float ids[2] = {0, 1}, table[1] = {0}, out[2];
    soap_block in = {ids, soap_region_full(&g->ops[ids_op].out)};
    soap_block w = {table, soap_region_full(&g->weights[g->ops[op].weights[0]].shape)};
    soap_region all = soap_region_full(&g->ops[op].out);
    soap_block y = {out, all};
    soap_error err;
    ck_assert_int_eq(soap_cpu_forward(g, op, &all, &in, &w, &y, &err), SOAP_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "2^24"), "%s", err.msg);
    soap_graph_free(g);
}
END_TEST

/* Labels out of range are refused by the loss and the backward. */
START_TEST(softmax_ce_bad_labels)
{
    soap_graph *g = soap_graph_new("ce", 2);
    int op = h_softmax_ce(g);
    const soap_op *o = &g->ops[op];
    soap_block x = filled(&g->ops[o->inputs[0]].out, F(1, 2, 3, 4, 5, 6));
    soap_region all = soap_region_full(&o->out), lr = kt_label_region(&all);
    soap_block labels = kt_block(&lr), y = kt_block(&all), dx = kt_block(&all);
    labels.data[0] = 1;
    labels.data[1] = 3;
    soap_error err;
    ck_assert_int_eq(soap_cpu_forward(g, op, &all, &x, NULL, &y, &err), SOAP_OK);
    double loss;
    ck_assert_int_eq(soap_cpu_softmax_ce_loss(g, op, &all, &x, &labels, &loss, &err),
                     SOAP_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "label 3"), "%s", err.msg);
    ck_assert_int_eq(
        soap_cpu_backward(g, op, &all, &x, NULL, &labels, &y, NULL, &dx, NULL, &err),
        SOAP_ERR_INVALID);
    free(x.data);
    free(labels.data);
    free(y.data);
    free(dx.data);
    soap_graph_free(g);
}
END_TEST

/* INPUT with nothing fed leaves y alone; fed ids must be integers. */
START_TEST(input_feed)
{
    soap_graph *g = soap_graph_new("in", 3);
    int op = h_input_index(g);
    soap_region all = soap_region_full(&g->ops[op].out);
    soap_block y = kt_block(&all);
    y.data[1] = 7;
    soap_error err;
    ck_assert_int_eq(soap_cpu_forward(g, op, &all, NULL, NULL, &y, &err), SOAP_OK);
    ck_assert_float_eq(y.data[1], 7.0f);
    soap_block fed = filled(&g->ops[op].out, F(1, 2.5f, 3));
    ck_assert_int_eq(soap_cpu_forward(g, op, &all, &fed, NULL, &y, &err), SOAP_ERR_INVALID);
    ck_assert_msg(strstr(err.msg, "token id 2.5"), "%s", err.msg);
    free(fed.data);
    free(y.data);
    soap_graph_free(g);
}
END_TEST

/* Backward without any gradient blocks is a no-op that succeeds. */
START_TEST(backward_no_grads)
{
    for (int c = 0; c < soap_nkcases; c++) {
        ktensors t;
        kt_init(&t, &soap_kcases[c], 77);
        soap_region all = soap_region_full(&t.o->out);
        soap_error err;
        const soap_block *in = t.o->kind == SOAP_OP_INPUT ? &t.fed : t.in;
        ck_assert_int_eq(soap_cpu_forward(t.g, t.op, &all, in, t.w, &t.y, &err), SOAP_OK);
        ck_assert_int_eq(soap_cpu_backward(t.g, t.op, &all, in, t.w, &t.labels, &t.y, &t.dy,
                                           NULL, NULL, &err),
                         SOAP_OK);
        kt_free(&t);
    }
}
END_TEST

Suite *soap_suite_kern_blocks(void);
Suite *soap_suite_kern_blocks(void)
{
    Suite *s = suite_create("kern_blocks");
    TCase *tc = tcase_create("blocks");
    tcase_add_test(tc, block_copy_add_zero);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_data");
    tcase_add_test(tc, embedding_bad_ids);
    tcase_add_test(tc, embedding_vocab_too_large);
    tcase_add_test(tc, softmax_ce_bad_labels);
    tcase_add_test(tc, input_feed);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("optional_gradients");
    tcase_add_test(tc, backward_no_grads);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
