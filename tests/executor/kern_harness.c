/* kern_harness.c: the case table of the kernel tests (small graphs, one op
 * under test fed by input ops, sizes chosen so that degrees 2 and 4 divide
 * most dims) and the tensor and task helpers of kern_harness.h. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kern_harness.h"

/* ------------------------------------------------------------------ */
/* Cases                                                               */
/* ------------------------------------------------------------------ */
#define SZ(...) ((const int64_t[]){__VA_ARGS__})
#define NARG(...) ((int)(sizeof(SZ(__VA_ARGS__)) / sizeof(int64_t)))
#define IN(g, name, ...) soap_add_input(g, name, NARG(__VA_ARGS__), SZ(__VA_ARGS__), NULL, 0)

/* An LSTM-state-shaped input [n, 2, x] (dim 1 not partitionable). */
static int state_in(soap_graph *g, const char *name, int64_t n, int64_t x)
{
    static const soap_dim_kind kinds[3] = {SOAP_DIM_SAMPLE, SOAP_DIM_NONE,
                                           SOAP_DIM_ATTRIBUTE};
    return soap_add_input(g, name, 3, SZ(n, 2, x), kinds, 0);
}

static int b_input(soap_graph *g) { return IN(g, "x", 4, 6); }
static int b_input_index(soap_graph *g)
{
    return soap_add_input(g, "ids", 2, SZ(4, 2), NULL, 1);
}
static int b_conv_s1(soap_graph *g)
{
    return soap_add_conv2d(g, "op", IN(g, "x", 2, 3, 6, 6), 4, 3, 3, 1, 1, 1, 1, 1);
}
static int b_conv_s2(soap_graph *g)
{
    return soap_add_conv2d(g, "op", IN(g, "x", 2, 2, 7, 7), 4, 3, 3, 2, 2, 1, 1, 0);
}
static int b_conv_rect(soap_graph *g) /* 2x3 kernel, strides 1x2, padding 0x1: 4x3 out */
{
    return soap_add_conv2d(g, "op", IN(g, "x", 2, 2, 5, 6), 2, 2, 3, 1, 2, 0, 1, 1);
}
static int b_pool_max(soap_graph *g)
{
    return soap_add_pool2d(g, "op", IN(g, "x", 2, 2, 8, 8), SOAP_POOL_MAX, 3, 3, 2, 2, 1, 1);
}
static int b_pool_avg(soap_graph *g)
{
    return soap_add_pool2d(g, "op", IN(g, "x", 2, 2, 8, 8), SOAP_POOL_AVG, 3, 3, 2, 2, 1, 1);
}
static int b_pool_max_k2(soap_graph *g)
{
    return soap_add_pool2d(g, "op", IN(g, "x", 2, 4, 4, 4), SOAP_POOL_MAX, 2, 2, 2, 2, 0, 0);
}
static int b_bn4(soap_graph *g) { return soap_add_batchnorm(g, "op", IN(g, "x", 4, 4, 3, 3)); }
static int b_bn2(soap_graph *g) { return soap_add_batchnorm(g, "op", IN(g, "x", 6, 4)); }
static int b_relu(soap_graph *g) { return soap_add_unary(g, "op", IN(g, "x", 4, 6), SOAP_UNARY_RELU); }
static int b_tanh(soap_graph *g)
{
    return soap_add_unary(g, "op", IN(g, "x", 2, 4, 4), SOAP_UNARY_TANH);
}
static int b_sigmoid(soap_graph *g)
{
    return soap_add_unary(g, "op", IN(g, "x", 4, 6), SOAP_UNARY_SIGMOID);
}
static int b_add(soap_graph *g)
{
    return soap_add_binary(g, "op", IN(g, "a", 4, 6), IN(g, "b", 4, 6), SOAP_BINARY_ADD);
}
static int b_mul(soap_graph *g)
{
    return soap_add_binary(g, "op", IN(g, "a", 2, 4, 2), IN(g, "b", 2, 4, 2), SOAP_BINARY_MUL);
}
static int b_mul_same(soap_graph *g)
{
    int x = IN(g, "x", 4, 6);
    return soap_add_binary(g, "op", x, x, SOAP_BINARY_MUL);
}
static int b_concat(soap_graph *g)
{
    const int ins[2] = {IN(g, "a", 2, 3, 4), IN(g, "b", 2, 5, 4)};
    return soap_add_concat(g, "op", ins, 2, 1);
}
static int b_concat_repeat(soap_graph *g)
{
    int a = IN(g, "a", 2, 4, 2), b = IN(g, "b", 2, 4, 4);
    const int ins[3] = {a, b, a};
    return soap_add_concat(g, "op", ins, 3, 2);
}
static int b_flatten(soap_graph *g) { return soap_add_flatten(g, "op", IN(g, "x", 4, 2, 3, 2)); }
static int b_linear2(soap_graph *g) { return soap_add_linear(g, "op", IN(g, "x", 4, 6), 8, 1, -1); }
static int b_linear3(soap_graph *g)
{
    return soap_add_linear(g, "op", IN(g, "x", 2, 4, 6), 8, 0, -1);
}
static int b_linear_state(soap_graph *g)
{
    return soap_add_linear(g, "op", state_in(g, "s", 4, 6), 4, 1, -1);
}
static int b_softmax2(soap_graph *g) { return soap_add_softmax(g, "op", IN(g, "x", 4, 6)); }
static int b_softmax3(soap_graph *g) { return soap_add_softmax(g, "op", IN(g, "x", 2, 4, 6)); }
static int b_softmax_ce2(soap_graph *g) { return soap_add_softmax_ce(g, "op", IN(g, "x", 4, 6)); }
static int b_softmax_ce3(soap_graph *g)
{
    return soap_add_softmax_ce(g, "op", IN(g, "x", 2, 4, 5));
}
static int b_embedding1(soap_graph *g)
{
    return soap_add_embedding(g, "op", soap_add_input(g, "ids", 1, SZ(4), NULL, 1), 10, 8, -1);
}
static int b_embedding2(soap_graph *g)
{
    return soap_add_embedding(g, "op", soap_add_input(g, "ids", 2, SZ(2, 4), NULL, 1), 7, 6,
                              -1);
}
static int b_lstm(soap_graph *g)
{
    return soap_add_lstm(g, "op", IN(g, "x", 4, 6), state_in(g, "s", 4, 8), 8, -1);
}
static int b_lstm_nostate(soap_graph *g) { return soap_add_lstm(g, "op", IN(g, "x", 4, 6), -1, 4, -1); }
static int b_lstm_xstate(soap_graph *g)
{
    return soap_add_lstm(g, "op", state_in(g, "x", 4, 6), state_in(g, "s", 4, 4), 4, -1);
}
static int b_attention(soap_graph *g)
{
    int q = state_in(g, "q", 4, 6);
    const int mem[3] = {IN(g, "m0", 4, 6), state_in(g, "m1", 4, 6), IN(g, "m2", 4, 6)};
    return soap_add_attention(g, "op", q, mem, 3);
}
static int b_layernorm2(soap_graph *g) { return soap_add_layernorm(g, "op", IN(g, "x", 4, 6)); }
static int b_layernorm3(soap_graph *g) { return soap_add_layernorm(g, "op", IN(g, "x", 2, 4, 6)); }
static int b_matmul2(soap_graph *g)
{
    return soap_add_matmul(g, "op", IN(g, "a", 4, 6), IN(g, "b", 6, 8), SOAP_MATMUL_PLAIN, 0, 0);
}
static int b_matmul3_tb(soap_graph *g)
{
    return soap_add_matmul(g, "op", IN(g, "a", 2, 4, 6), IN(g, "b", 2, 8, 6),
                           SOAP_MATMUL_PLAIN, 1, 0);
}
static int b_matmul4(soap_graph *g)
{
    return soap_add_matmul(g, "op", IN(g, "a", 2, 2, 4, 3), IN(g, "b", 2, 2, 3, 4),
                           SOAP_MATMUL_PLAIN, 0, 0);
}
static int b_matmul_self(soap_graph *g) /* x x^T */
{
    int x = IN(g, "x", 2, 4, 6);
    return soap_add_matmul(g, "op", x, x, SOAP_MATMUL_PLAIN, 1, 0);
}
static int b_qk(soap_graph *g)
{
    return soap_add_matmul(g, "op", IN(g, "q", 2, 4, 8), IN(g, "k", 2, 4, 8), SOAP_MATMUL_QK,
                           0, 2);
}
static int b_pv(soap_graph *g)
{
    return soap_add_matmul(g, "op", IN(g, "p", 2, 2, 4, 4), IN(g, "v", 2, 4, 8),
                           SOAP_MATMUL_PV, 0, 2);
}

const kcase soap_kcases[] = {
    {"input", b_input, 0},
    {"input_index", b_input_index, 0},
    {"conv2d_k3s1p1_bias", b_conv_s1, 0},
    {"conv2d_k3s2p1", b_conv_s2, 0},
    {"conv2d_k2x3_s1x2_p0x1_bias", b_conv_rect, 0},
    {"pool2d_max_k3s2p1", b_pool_max, 1},
    {"pool2d_avg_k3s2p1", b_pool_avg, 0},
    {"pool2d_max_k2s2", b_pool_max_k2, 1},
    {"batchnorm_4d", b_bn4, 0},
    {"batchnorm_2d", b_bn2, 0},
    {"unary_relu", b_relu, 1},
    {"unary_tanh", b_tanh, 0},
    {"unary_sigmoid", b_sigmoid, 0},
    {"binary_add", b_add, 0},
    {"binary_mul", b_mul, 0},
    {"binary_mul_same_input", b_mul_same, 0},
    {"concat_axis1", b_concat, 0},
    {"concat_axis2_repeated", b_concat_repeat, 0},
    {"flatten", b_flatten, 0},
    {"linear_2d_bias", b_linear2, 0},
    {"linear_3d", b_linear3, 0},
    {"linear_state_bias", b_linear_state, 0},
    {"softmax_2d", b_softmax2, 0},
    {"softmax_3d", b_softmax3, 0},
    {"softmax_ce_2d", b_softmax_ce2, 0},
    {"softmax_ce_3d", b_softmax_ce3, 0},
    {"embedding_1d", b_embedding1, 0},
    {"embedding_2d", b_embedding2, 0},
    {"lstm", b_lstm, 0},
    {"lstm_no_state", b_lstm_nostate, 0},
    {"lstm_state_x", b_lstm_xstate, 0},
    {"attention", b_attention, 0},
    {"layernorm_2d", b_layernorm2, 0},
    {"layernorm_3d", b_layernorm3, 0},
    {"matmul_plain_2d", b_matmul2, 0},
    {"matmul_plain_3d_trans_b", b_matmul3_tb, 0},
    {"matmul_plain_4d", b_matmul4, 0},
    {"matmul_plain_self", b_matmul_self, 0},
    {"matmul_qk", b_qk, 0},
    {"matmul_pv", b_pv, 0},
};
const int soap_nkcases = (int)(sizeof soap_kcases / sizeof soap_kcases[0]);

/* ------------------------------------------------------------------ */
/* Tensors                                                             */
/* ------------------------------------------------------------------ */
soap_block kt_block(const soap_region *r)
{
    soap_block b;
    b.region = *r;
    int64_t n = soap_region_volume(r);
    b.data = n > 0 ? soap_xcalloc((size_t)n, sizeof(float)) : NULL;
    return b;
}

soap_block kt_sub(const soap_block *src, const soap_region *r)
{
    soap_block b = kt_block(r);
    soap_cpu_block_copy(&b, src, r);
    return b;
}

soap_region kt_label_region(const soap_region *r)
{
    soap_region l = *r;
    l.ndims = r->ndims - 1;
    l.lo[l.ndims] = l.hi[l.ndims] = 0;
    return l;
}

static soap_block full_block(const soap_shape *s)
{
    soap_region r = soap_region_full(s);
    return kt_block(&r);
}

/* Uniform in [-1, 1), or for kinked cases a random permutation of a grid
 * with spacing 2/n offset by half a step (so no value is near 0 either). */
static void fill(float *x, int64_t n, int kinked, gsl_rng *rng)
{
    if (!kinked) {
        for (int64_t i = 0; i < n; i++)
            x[i] = (float)(2.0 * gsl_rng_uniform(rng) - 1.0);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(-1.0 + 2.0 * ((double)i + 0.5) / (double)n);
    gsl_ran_shuffle(rng, x, (size_t)n, sizeof *x);
}

static void fill_ids(float *x, int64_t n, int64_t limit, gsl_rng *rng)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)gsl_rng_uniform_int(rng, (unsigned long)limit);
}

void kt_init(ktensors *t, const kcase *c, unsigned long seed)
{
    memset(t, 0, sizeof *t);
    t->g = soap_graph_new(c->name, 4);
    t->op = c->build(t->g);
    t->o = &t->g->ops[t->op];
    SOAP_ASSERT(t->o->ninputs <= KT_MAX_IN);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    const soap_op *o = t->o;
    for (int i = 0; i < o->ninputs; i++) {
        int src = o->inputs[i], first = i;
        for (int j = 0; j < i; j++)
            if (o->inputs[j] == src) {
                first = j;
                break;
            }
        if (first < i) { /* the same tensor as an earlier input */
            t->in[i] = t->in[first];
            t->din[i] = t->din[first];
            continue;
        }
        const soap_op *so = &t->g->ops[src];
        t->in[i] = full_block(&so->out);
        int64_t n = soap_shape_volume(&so->out);
        if (so->p.is_index) {
            fill_ids(t->in[i].data, n, o->kind == SOAP_OP_EMBEDDING ? o->p.vocab : 16, rng);
        } else {
            fill(t->in[i].data, n, c->kinked, rng);
            t->din[i] = full_block(&so->out);
            t->diff_in[i] = 1;
        }
    }
    for (int k = 0; k < o->nweights; k++) {
        const soap_shape *s = &t->g->weights[o->weights[k]].shape;
        t->w[k] = full_block(s);
        t->dw[k] = full_block(s);
        fill(t->w[k].data, soap_shape_volume(s), 0, rng);
    }
    if (o->kind == SOAP_OP_INPUT) {
        t->fed = full_block(&o->out);
        int64_t n = soap_shape_volume(&o->out);
        if (o->p.is_index)
            fill_ids(t->fed.data, n, 16, rng);
        else
            fill(t->fed.data, n, 0, rng);
    }
    if (o->kind == SOAP_OP_SOFTMAX_CE) {
        soap_region full = soap_region_full(&o->out);
        soap_region lr = kt_label_region(&full);
        t->labels = kt_block(&lr);
        fill_ids(t->labels.data, soap_region_volume(&lr), o->out.size[o->out.ndims - 1], rng);
    }
    t->y = full_block(&o->out);
    t->dy = full_block(&o->out);
    fill(t->dy.data, soap_shape_volume(&o->out), 0, rng);
    gsl_rng_free(rng);
}

void kt_free(ktensors *t)
{
    for (int i = 0; i < t->o->ninputs; i++) {
        int first = 1;
        for (int j = 0; j < i; j++)
            first = first && t->o->inputs[j] != t->o->inputs[i];
        if (first) {
            free(t->in[i].data);
            free(t->din[i].data);
        }
    }
    for (int k = 0; k < t->o->nweights; k++) {
        free(t->w[k].data);
        free(t->dw[k].data);
    }
    free(t->fed.data);
    free(t->labels.data);
    free(t->y.data);
    free(t->dy.data);
    soap_graph_free(t->g);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------ */
/* One task                                                            */
/* ------------------------------------------------------------------ */
void kt_run_task(const ktensors *t, const soap_region *r, int exact, int backward,
                 const soap_block *y, const soap_block *din, const soap_block *dw)
{
    const soap_op *o = t->o;
    int ni = o->ninputs, nw = o->nweights;
    soap_block in[KT_MAX_IN], w[SOAP_MAX_WEIGHTS], gin[KT_MAX_IN], gw[SOAP_MAX_WEIGHTS];
    soap_region rin[KT_MAX_IN], rw[SOAP_MAX_WEIGHTS];
    soap_block fed, labels, yb, dyb;
    memset(in, 0, sizeof in);
    memset(gin, 0, sizeof gin);
    memset(w, 0, sizeof w);
    memset(gw, 0, sizeof gw);
    soap_region lr = kt_label_region(r);
    for (int i = 0; i < ni; i++)
        rin[i] = soap_op_input_region(t->g, t->op, i, r);
    for (int k = 0; k < nw; k++)
        rw[k] = soap_op_weight_region(t->g, t->op, k, r);
    if (exact) {
        for (int i = 0; i < ni; i++) {
            in[i] = kt_sub(&t->in[i], &rin[i]);
            if (din[i].data)
                gin[i] = kt_block(&rin[i]);
        }
        for (int k = 0; k < nw; k++) {
            w[k] = kt_sub(&t->w[k], &rw[k]);
            if (dw[k].data)
                gw[k] = kt_block(&rw[k]);
        }
        fed = o->kind == SOAP_OP_INPUT ? kt_sub(&t->fed, r) : t->fed;
        labels = o->kind == SOAP_OP_SOFTMAX_CE ? kt_sub(&t->labels, &lr) : t->labels;
        yb = kt_block(r);
        dyb = kt_sub(&t->dy, r);
    } else {
        for (int i = 0; i < ni; i++) {
            in[i] = t->in[i];
            gin[i] = din[i];
        }
        for (int k = 0; k < nw; k++) {
            w[k] = t->w[k];
            gw[k] = dw[k];
        }
        fed = t->fed;
        labels = t->labels;
        yb = *y;
        dyb = t->dy;
    }
    soap_error err;
    soap_error_clear(&err);
    const soap_block *inp = o->kind == SOAP_OP_INPUT ? &fed : in;
    soap_status st = soap_cpu_forward(t->g, t->op, r, inp, w, &yb, &err);
    ck_assert_msg(st == SOAP_OK, "forward: %s", err.msg);
    if (backward) {
        st = soap_cpu_backward(t->g, t->op, r, inp, w, &labels, &yb, &dyb, gin, gw, &err);
        ck_assert_msg(st == SOAP_OK, "backward: %s", err.msg);
    }
    if (!exact)
        return;
    soap_cpu_block_copy(y, &yb, r);
    for (int i = 0; i < ni; i++) {
        if (gin[i].data)
            soap_cpu_block_add(&din[i], &gin[i], &rin[i]);
        free(gin[i].data);
        free(in[i].data);
    }
    for (int k = 0; k < nw; k++) {
        if (gw[k].data)
            soap_cpu_block_add(&dw[k], &gw[k], &rw[k]);
        free(gw[k].data);
        free(w[k].data);
    }
    if (o->kind == SOAP_OP_INPUT)
        free(fed.data);
    if (o->kind == SOAP_OP_SOFTMAX_CE)
        free(labels.data);
    free(yb.data);
    free(dyb.data);
}

/* ------------------------------------------------------------------ */
/* Comparison                                                          */
/* ------------------------------------------------------------------ */
double kt_max_abs(const float *x, int64_t n)
{
    double m = 0.0;
    for (int64_t i = 0; i < n; i++)
        m = fabs(x[i]) > m ? fabs(x[i]) : m;
    return m;
}

void kt_expect_close(const char *what, const float *got, const float *want, int64_t n,
                     double atol, double rtol)
{
    char msg[1024];
    size_t used = 0;
    int bad = 0;
    for (int64_t i = 0; i < n; i++) {
        double g = got[i], w = want[i];
        if (fabs(g - w) <= atol + rtol * fabs(w)) /* NaN fails */
            continue;
        if (bad < 5 && used < sizeof msg)
            used += (size_t)snprintf(msg + used, sizeof msg - used,
                                     "\n  [%lld] got %.9g, want %.9g", (long long)i, g, w);
        bad++;
    }
    expect(bad == 0, "%s: %d of %lld elements differ (atol %g, rtol %g); first:%s", what,
           bad, (long long)n, atol, rtol, msg);
}
