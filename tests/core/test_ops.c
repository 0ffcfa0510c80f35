/* Tests of the per-kind operator semantics (suite "ops"): shape inference of
 * every kind (strides, padding, shapes that do not fit), input regions (conv
 * halos at the borders, pool, concat offsets, linear, lstm, attention,
 * matmul), weight regions of parameter splits, FLOP and bytes computed by
 * hand, and signatures. Expected values are derived by hand in the comments. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "soap_core.h"

/* Dim kinds, short. */
#define DS SOAP_DIM_SAMPLE
#define DA SOAP_DIM_ATTRIBUTE
#define DP SOAP_DIM_PARAMETER
#define DN SOAP_DIM_NONE

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */
static soap_shape shp(int nd, const int64_t *size, const soap_dim_kind *kind)
{
    soap_shape s;
    memset(&s, 0, sizeof s);
    s.ndims = nd;
    for (int d = 0; d < nd; d++) {
        s.size[d] = size[d];
        s.kind[d] = kind ? kind[d] : (d == 0 ? DS : DA);
    }
    /* [N,2,X] stands for an LSTM state, whose middle dim is not partitionable. */
    if (!kind && nd == 3 && size[1] == 2)
        s.kind[1] = SOAP_DIM_NONE;
    return s;
}
#define SHP(...) shp((int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
                     (int64_t[]){__VA_ARGS__}, NULL)

/* REG(nd, lo0, hi0, lo1, hi1, ...) */
static soap_region reg_pairs(int nd, const int64_t *v)
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
#define REG(nd, ...) reg_pairs(nd, (int64_t[]){__VA_ARGS__})

#define ck_region_eq(got, want)                                                            \
    do {                                                                                   \
        soap_region g_ = (got), w_ = (want);                                               \
        char gb_[128], wb_[128];                                                           \
        ck_assert_msg(soap_region_equal(&g_, &w_), "region %s, expected %s",              \
                      soap_region_str(&g_, gb_, sizeof gb_),                               \
                      soap_region_str(&w_, wb_, sizeof wb_));                              \
    } while (0)

/* A graph with one input op per shape (named x0, x1, ...) and then one op of
 * `kind` over all of them; returns the graph, the op id in *op. */
static soap_graph *one_op(soap_op_kind kind, const soap_op_params *p, int nin,
                          const soap_shape *in, int *op)
{
    soap_graph *g = soap_graph_new("t", in[0].size[0]);
    int ids[8];
    ck_assert_int_le(nin, 8);
    for (int i = 0; i < nin; i++) {
        char name[16];
        snprintf(name, sizeof name, "x%d", i);
        ids[i] = soap_add_input(g, name, in[i].ndims, in[i].size, in[i].kind, 0);
    }
    soap_error err;
    soap_error_clear(&err);
    *op = soap_graph_add(g, kind, "op", ids, nin, p, &err);
    ck_assert_msg(*op >= 0, "adding the op failed: %s", err.msg);
    return g;
}

/* ------------------------------------------------------------------ */
/* Shape inference                                                     */
/* ------------------------------------------------------------------ */
typedef struct shape_case {
    const char *what;
    soap_op_kind kind;
    soap_op_params p;
    int nin;
    soap_shape in[3];
    int ok;           /* 1: expect `out`; 0: expect an error naming the op */
    soap_shape out;
} shape_case;

#define K2(a, b) {a, b}
static const soap_dim_kind k_sppa[] = {DS, DP, DP, DA};
static const soap_dim_kind k_spa[] = {DS, DP, DA};
static const soap_dim_kind k_sxp[] = {DS, DN, DP};

static shape_case shape_cases(int i)
{
    /* Built by a function: the shapes come from helper calls. */
    shape_case c;
    memset(&c, 0, sizeof c);
    switch (i) {
    case 0: /* Ho = (8 + 2 - 3)/1 + 1 = 8 */
        c = (shape_case){"conv 3x3 s1 p1", SOAP_OP_CONV2D,
                         {.kernel = K2(3, 3), .stride = K2(1, 1), .pad = K2(1, 1),
                          .out_channels = 16},
                         1, {SHP(2, 3, 8, 8)}, 1,
                         shp(4, (int64_t[]){2, 16, 8, 8}, (soap_dim_kind[]){DS, DP, DA, DA})};
        break;
    case 1: /* (224 + 6 - 7)/2 + 1 = 111 + 1 = 112 */
        c = (shape_case){"conv 7x7 s2 p3", SOAP_OP_CONV2D,
                         {.kernel = K2(7, 7), .stride = K2(2, 2), .pad = K2(3, 3),
                          .out_channels = 64, .has_bias = 1},
                         1, {SHP(1, 3, 224, 224)}, 1,
                         shp(4, (int64_t[]){1, 64, 112, 112}, (soap_dim_kind[]){DS, DP, DA, DA})};
        break;
    case 2: /* Ho = (7-3)/2+1 = 3, Wo = (8-3)/2+1 = 3 (floor), rectangular kernel */
        c = (shape_case){"conv 3x2 s2x3 p0", SOAP_OP_CONV2D,
                         {.kernel = K2(3, 2), .stride = K2(2, 3), .pad = K2(0, 0),
                          .out_channels = 4},
                         1, {SHP(1, 1, 7, 8)}, 1,
                         shp(4, (int64_t[]){1, 4, 3, 3}, (soap_dim_kind[]){DS, DP, DA, DA})};
        break;
    case 3:
        c = (shape_case){"conv kernel larger than padded input", SOAP_OP_CONV2D,
                         {.kernel = K2(5, 5), .stride = K2(1, 1), .out_channels = 4},
                         1, {SHP(1, 1, 3, 3)}, 0, {0}};
        break;
    case 4:
        c = (shape_case){"conv on a 2-D input", SOAP_OP_CONV2D,
                         {.kernel = K2(1, 1), .stride = K2(1, 1), .out_channels = 4},
                         1, {SHP(4, 10)}, 0, {0}};
        break;
    case 5:
        c = (shape_case){"conv stride 0", SOAP_OP_CONV2D,
                         {.kernel = K2(1, 1), .stride = K2(0, 1), .out_channels = 4},
                         1, {SHP(1, 1, 3, 3)}, 0, {0}};
        break;
    case 6: /* (9 + 2 - 3)/2 + 1 = 5 */
        c = (shape_case){"max pool 3x3 s2 p1", SOAP_OP_POOL2D,
                         {.kernel = K2(3, 3), .stride = K2(2, 2), .pad = K2(1, 1),
                          .pool = SOAP_POOL_MAX},
                         1, {SHP(2, 8, 9, 9)}, 1,
                         shp(4, (int64_t[]){2, 8, 5, 5}, (soap_dim_kind[]){DS, DA, DA, DA})};
        break;
    case 7:
        c = (shape_case){"global average pool", SOAP_OP_POOL2D,
                         {.kernel = K2(7, 7), .stride = K2(1, 1), .pool = SOAP_POOL_AVG},
                         1, {SHP(2, 8, 7, 7)}, 1,
                         shp(4, (int64_t[]){2, 8, 1, 1}, (soap_dim_kind[]){DS, DA, DA, DA})};
        break;
    case 8:
        c = (shape_case){"batchnorm 4-D", SOAP_OP_BATCHNORM, {0}, 1, {SHP(2, 8, 4, 4)}, 1,
                         shp(4, (int64_t[]){2, 8, 4, 4}, (soap_dim_kind[]){DS, DP, DA, DA})};
        break;
    case 9:
        c = (shape_case){"batchnorm 2-D", SOAP_OP_BATCHNORM, {0}, 1, {SHP(2, 8)}, 1,
                         shp(2, (int64_t[]){2, 8}, (soap_dim_kind[]){DS, DP})};
        break;
    case 10:
        c = (shape_case){"batchnorm 3-D", SOAP_OP_BATCHNORM, {0}, 1, {SHP(2, 8, 3)}, 0, {0}};
        break;
    case 11: /* weightless rule: P -> A, NONE stays */
        c = (shape_case){"relu", SOAP_OP_UNARY, {.unary = SOAP_UNARY_RELU}, 1,
                         {shp(3, (int64_t[]){4, 6, 2}, k_sxp)}, 1,
                         shp(3, (int64_t[]){4, 6, 2}, (soap_dim_kind[]){DS, DN, DA})};
        break;
    case 12:
        c = (shape_case){"add", SOAP_OP_BINARY, {.binary = SOAP_BINARY_ADD}, 2,
                         {shp(4, (int64_t[]){2, 3, 4, 5}, k_sppa), SHP(2, 3, 4, 5)}, 1,
                         shp(4, (int64_t[]){2, 3, 4, 5}, (soap_dim_kind[]){DS, DA, DA, DA})};
        break;
    case 13:
        c = (shape_case){"add of unequal sizes", SOAP_OP_BINARY, {.binary = SOAP_BINARY_ADD},
                         2, {SHP(2, 3), SHP(2, 4)}, 0, {0}};
        break;
    case 14: /* 3 + 5 = 8 channels; axis dim ATTRIBUTE although input 0 has P */
        c = (shape_case){"concat axis 1", SOAP_OP_CONCAT, {.axis = 1}, 2,
                         {shp(4, (int64_t[]){2, 3, 4, 4}, k_sppa), SHP(2, 5, 4, 4)}, 1,
                         shp(4, (int64_t[]){2, 8, 4, 4}, (soap_dim_kind[]){DS, DA, DA, DA})};
        break;
    case 15:
        c = (shape_case){"concat of different heights", SOAP_OP_CONCAT, {.axis = 1}, 2,
                         {SHP(2, 3, 4, 4), SHP(2, 5, 3, 4)}, 0, {0}};
        break;
    case 16:
        c = (shape_case){"concat axis out of range", SOAP_OP_CONCAT, {.axis = 2}, 1,
                         {SHP(2, 3)}, 0, {0}};
        break;
    case 17:
        c = (shape_case){"flatten", SOAP_OP_FLATTEN, {0}, 1, {SHP(2, 8, 3, 3)}, 1,
                         shp(2, (int64_t[]){2, 72}, (soap_dim_kind[]){DS, DN})};
        break;
    case 18:
        c = (shape_case){"linear 2-D", SOAP_OP_LINEAR, {.out_features = 6}, 1, {SHP(4, 10)}, 1,
                         shp(2, (int64_t[]){4, 6}, (soap_dim_kind[]){DS, DP})};
        break;
    case 19:
        c = (shape_case){"linear 3-D", SOAP_OP_LINEAR, {.out_features = 6, .has_bias = 1}, 1,
                         {SHP(4, 5, 10)}, 1,
                         shp(3, (int64_t[]){4, 5, 6}, (soap_dim_kind[]){DS, DA, DP})};
        break;
    case 20:
        c = (shape_case){"linear on 4-D", SOAP_OP_LINEAR, {.out_features = 6}, 1,
                         {SHP(4, 5, 10, 2)}, 0, {0}};
        break;
    case 21:
        c = (shape_case){"softmax", SOAP_OP_SOFTMAX, {0}, 1,
                         {shp(2, (int64_t[]){4, 10}, (soap_dim_kind[]){DS, DP})}, 1,
                         shp(2, (int64_t[]){4, 10}, (soap_dim_kind[]){DS, DN})};
        break;
    case 22:
        c = (shape_case){"softmax_ce 3-D", SOAP_OP_SOFTMAX_CE, {0}, 1,
                         {shp(3, (int64_t[]){4, 5, 10}, k_spa)}, 1,
                         shp(3, (int64_t[]){4, 5, 10}, (soap_dim_kind[]){DS, DA, DN})};
        break;
    case 23:
        c = (shape_case){"embedding of [N]", SOAP_OP_EMBEDDING, {.vocab = 100, .embed_dim = 8},
                         1, {SHP(4)}, 1, shp(2, (int64_t[]){4, 8}, (soap_dim_kind[]){DS, DP})};
        break;
    case 24:
        c = (shape_case){"embedding of [N,T]", SOAP_OP_EMBEDDING,
                         {.vocab = 100, .embed_dim = 8}, 1, {SHP(4, 7)}, 1,
                         shp(3, (int64_t[]){4, 7, 8}, (soap_dim_kind[]){DS, DA, DP})};
        break;
    case 25:
        c = (shape_case){"lstm x and state", SOAP_OP_LSTM, {.hidden = 6}, 2,
                         {SHP(4, 10), SHP(4, 2, 6)}, 1, shp(3, (int64_t[]){4, 2, 6}, k_sxp)};
        break;
    case 26:
        c = (shape_case){"lstm over a lower layer's state", SOAP_OP_LSTM, {.hidden = 6}, 1,
                         {SHP(4, 2, 10)}, 1, shp(3, (int64_t[]){4, 2, 6}, k_sxp)};
        break;
    case 27:
        c = (shape_case){"lstm state of another width", SOAP_OP_LSTM, {.hidden = 6}, 2,
                         {SHP(4, 10), SHP(4, 2, 5)}, 0, {0}};
        break;
    case 28:
        c = (shape_case){"lstm x neither [N,K] nor state", SOAP_OP_LSTM, {.hidden = 6}, 1,
                         {SHP(4, 3, 10)}, 0, {0}};
        break;
    case 29:
        c = (shape_case){"attention", SOAP_OP_ATTENTION, {0}, 3,
                         {SHP(4, 2, 6), SHP(4, 2, 6), SHP(4, 6)}, 1,
                         shp(2, (int64_t[]){4, 6}, (soap_dim_kind[]){DS, DP})};
        break;
    case 30:
        c = (shape_case){"attention memory of another width", SOAP_OP_ATTENTION, {0}, 2,
                         {SHP(4, 2, 6), SHP(4, 2, 7)}, 0, {0}};
        break;
    case 31:
        c = (shape_case){"layernorm", SOAP_OP_LAYERNORM, {0}, 1,
                         {shp(3, (int64_t[]){4, 5, 8}, k_spa)}, 1,
                         shp(3, (int64_t[]){4, 5, 8}, (soap_dim_kind[]){DS, DA, DN})};
        break;
    case 32:
        c = (shape_case){"matmul plain", SOAP_OP_MATMUL, {.matmul = SOAP_MATMUL_PLAIN}, 2,
                         {SHP(2, 3, 4), SHP(2, 4, 5)}, 1,
                         shp(3, (int64_t[]){2, 3, 5}, (soap_dim_kind[]){DS, DA, DA})};
        break;
    case 33:
        c = (shape_case){"matmul plain B^T", SOAP_OP_MATMUL,
                         {.matmul = SOAP_MATMUL_PLAIN, .trans_b = 1}, 2,
                         {SHP(2, 3, 4), SHP(2, 5, 4)}, 1,
                         shp(3, (int64_t[]){2, 3, 5}, (soap_dim_kind[]){DS, DA, DA})};
        break;
    case 34:
        c = (shape_case){"matmul inner dims differ", SOAP_OP_MATMUL,
                         {.matmul = SOAP_MATMUL_PLAIN}, 2, {SHP(2, 3, 4), SHP(2, 5, 5)}, 0,
                         {0}};
        break;
    case 35:
        c = (shape_case){"matmul qk", SOAP_OP_MATMUL, {.matmul = SOAP_MATMUL_QK, .heads = 2},
                         2, {SHP(2, 5, 8), SHP(2, 5, 8)}, 1,
                         shp(4, (int64_t[]){2, 2, 5, 5}, (soap_dim_kind[]){DS, DA, DA, DA})};
        break;
    case 36:
        c = (shape_case){"matmul qk heads not dividing D", SOAP_OP_MATMUL,
                         {.matmul = SOAP_MATMUL_QK, .heads = 3}, 2,
                         {SHP(2, 5, 8), SHP(2, 5, 8)}, 0, {0}};
        break;
    case 37:
        c = (shape_case){"matmul pv", SOAP_OP_MATMUL, {.matmul = SOAP_MATMUL_PV, .heads = 2},
                         2, {SHP(2, 2, 5, 5), SHP(2, 5, 8)}, 1,
                         shp(3, (int64_t[]){2, 5, 8}, (soap_dim_kind[]){DS, DA, DA})};
        break;
    case 38:
        c = (shape_case){"matmul pv with the wrong head count", SOAP_OP_MATMUL,
                         {.matmul = SOAP_MATMUL_PV, .heads = 4}, 2,
                         {SHP(2, 2, 5, 5), SHP(2, 5, 8)}, 0, {0}};
        break;
    case 39:
        c = (shape_case){"input keeps its shape and kinds", SOAP_OP_INPUT,
                         {.shape = shp(3, (int64_t[]){4, 7, 9}, k_sxp)}, 0, {{0}}, 1,
                         shp(3, (int64_t[]){4, 7, 9}, k_sxp)};
        break;
    case 40:
        c = (shape_case){"relu with two inputs", SOAP_OP_UNARY, {0}, 2, {SHP(2, 3), SHP(2, 3)},
                         0, {0}};
        break;
    case 41:
        c = (shape_case){"attention without memory", SOAP_OP_ATTENTION, {0}, 1,
                         {SHP(4, 2, 6)}, 0, {0}};
        break;
    default:
        ck_abort_msg("no shape case %d", i);
    }
    return c;
}
#define N_SHAPE_CASES 42

START_TEST(test_infer_shape)
{
    shape_case c = shape_cases(_i);
    const soap_shape *in[3] = {&c.in[0], &c.in[1], &c.in[2]};
    soap_shape out;
    soap_error err;
    soap_error_clear(&err);
    soap_status st = soap_op_infer_shape(c.kind, "the_op", &c.p, in, c.nin, &out, &err);
    if (!c.ok) {
        ck_assert_msg(st != SOAP_OK, "%s: expected an error", c.what);
        ck_assert_msg(strstr(err.msg, "'the_op'") != NULL, "%s: message '%s' lacks the op",
                      c.what, err.msg);
        return;
    }
    ck_assert_msg(st == SOAP_OK, "%s: %s", c.what, err.msg);
    char a[64], b[64];
    ck_assert_msg(soap_shape_equal_sizes(&out, &c.out), "%s: got %s, expected %s", c.what,
                  soap_shape_str(&out, a, sizeof a), soap_shape_str(&c.out, b, sizeof b));
    for (int d = 0; d < out.ndims; d++)
        ck_assert_msg(out.kind[d] == c.out.kind[d], "%s: dim %d is %s, expected %s", c.what, d,
                      soap_dim_kind_name(out.kind[d]), soap_dim_kind_name(c.out.kind[d]));
}
END_TEST

/* The graph's builder reports the same errors, naming the op. */
START_TEST(test_graph_add_error_names_op)
{
    soap_graph *g = soap_graph_new("t", 1);
    int x = soap_add_input(g, "img", 4, (int64_t[]){1, 1, 3, 3}, NULL, 0);
    soap_op_params p = {.kernel = {5, 5}, .stride = {1, 1}, .out_channels = 2};
    soap_error err;
    soap_error_clear(&err);
    ck_assert_int_eq(soap_graph_add(g, SOAP_OP_CONV2D, "conv_big", &x, 1, &p, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "conv_big"));
    ck_assert_ptr_nonnull(strstr(err.msg, "does not fit"));
    ck_assert_int_eq(g->nops, 1);
    ck_assert_int_eq(soap_graph_find(g, "conv_big"), -1);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Input regions                                                       */
/* ------------------------------------------------------------------ */
/* Conv halos along H; W is the whole width. Output rows [lo,hi) read input
 * rows [lo*s - pad, (hi-1)*s - pad + k) clipped to [0,H). */
typedef struct halo_case {
    int k, s, pad;
    int64_t h;            /* input height and width */
    int64_t olo, ohi;     /* output rows */
    int64_t ilo, ihi;     /* expected input rows */
} halo_case;
static const halo_case halo_cases[] = {
    /* k3 s2 p1, H 9: Ho = (9+2-3)/2+1 = 5 */
    {3, 2, 1, 9, 0, 2, 0, 4},  /* top: [-1, 4) clipped */
    {3, 2, 1, 9, 2, 4, 3, 8},  /* middle: [3, 3*2-1+3 = 8) */
    {3, 2, 1, 9, 4, 5, 7, 9},  /* bottom: [7, 10) clipped to 9 */
    /* k5 s2 p2, H 10: Ho = (10+4-5)/2+1 = 5 */
    {5, 2, 2, 10, 0, 1, 0, 3}, /* [-2, 3) */
    {5, 2, 2, 10, 1, 3, 0, 7}, /* [0, 7) */
    {5, 2, 2, 10, 3, 5, 4, 10}, /* [4, 11) clipped */
    /* k3 s1 p0, H 6: Ho 4, no padding, interior */
    {3, 1, 0, 6, 1, 3, 1, 5},
};

START_TEST(test_conv_halo)
{
    const halo_case *c = &halo_cases[_i];
    soap_op_params p = {.kernel = {c->k, c->k}, .stride = {c->s, c->s},
                        .pad = {c->pad, c->pad}, .out_channels = 4};
    soap_shape in = SHP(3, 2, c->h, c->h);
    int op;
    soap_graph *g = one_op(SOAP_OP_CONV2D, &p, 1, &in, &op);
    int64_t wo = g->ops[op].out.size[3];
    soap_region out = REG(4, 1, 3, 1, 3, c->olo, c->ohi, 0, wo);
    /* All N of the task, every input channel (any Cout range), rows with the
     * halo, all columns (whole output width). */
    ck_region_eq(soap_op_input_region(g, op, 0, &out),
                 REG(4, 1, 3, 0, 2, c->ilo, c->ihi, 0, c->h));
    /* The same rule on W when H is whole. */
    int64_t ho = g->ops[op].out.size[2];
    out = REG(4, 0, 3, 0, 4, 0, ho, c->olo, c->ohi);
    ck_region_eq(soap_op_input_region(g, op, 0, &out),
                 REG(4, 0, 3, 0, 2, 0, c->h, c->ilo, c->ihi));
    soap_graph_free(g);
}
END_TEST

START_TEST(test_pool_region)
{
    /* k3 s2 p1 on [2,8,9,9]: out rows [1,3) -> [1, 6); cols [0,5) -> [0, 9). */
    soap_op_params p = {.kernel = {3, 3}, .stride = {2, 2}, .pad = {1, 1}};
    soap_shape in = SHP(2, 8, 9, 9);
    int op;
    soap_graph *g = one_op(SOAP_OP_POOL2D, &p, 1, &in, &op);
    soap_region out = REG(4, 0, 1, 2, 5, 1, 3, 0, 5);
    ck_region_eq(soap_op_input_region(g, op, 0, &out), REG(4, 0, 1, 2, 5, 1, 6, 0, 9));
    ck_assert_int_eq(g->ops[op].nweights, 0);
    soap_graph_free(g);
}
END_TEST

START_TEST(test_concat_regions)
{
    /* Inputs of 3, 5 and 2 channels: offsets 0, 3, 8 (total 10). */
    soap_op_params p = {.axis = 1};
    soap_shape in[3] = {SHP(2, 3, 4), SHP(2, 5, 4), SHP(2, 2, 4)};
    int op;
    soap_graph *g = one_op(SOAP_OP_CONCAT, &p, 3, in, &op);
    ck_assert_int_eq(g->ops[op].out.size[1], 10);
    soap_region out = REG(3, 0, 2, 2, 7, 1, 3);
    /* [2,7) ∩ [0,3) = [2,3) -> input 0 rows [2,3) */
    ck_region_eq(soap_op_input_region(g, op, 0, &out), REG(3, 0, 2, 2, 3, 1, 3));
    /* [2,7) ∩ [3,8) = [3,7) -> input 1 rows [0,4) */
    ck_region_eq(soap_op_input_region(g, op, 1, &out), REG(3, 0, 2, 0, 4, 1, 3));
    /* [2,7) misses [8,10): input 2 is not needed. */
    soap_region r2 = soap_op_input_region(g, op, 2, &out);
    ck_assert(soap_region_empty(&r2));
    ck_assert_int_eq(soap_region_volume(&r2), 0);
    ck_assert_int_eq(r2.ndims, 3);
    /* The last channel only: just input 2's last row. */
    out = REG(3, 0, 2, 9, 10, 0, 4);
    ck_region_eq(soap_op_input_region(g, op, 2, &out), REG(3, 0, 2, 1, 2, 0, 4));
    soap_region r0 = soap_op_input_region(g, op, 0, &out);
    ck_assert(soap_region_empty(&r0));
    soap_graph_free(g);
}
END_TEST

START_TEST(test_linear_regions)
{
    soap_op_params p = {.out_features = 6, .has_bias = 1};
    soap_shape in = SHP(4, 5, 10);
    int op;
    soap_graph *g = one_op(SOAP_OP_LINEAR, &p, 1, &in, &op);
    soap_region out = REG(3, 1, 3, 2, 4, 1, 4);
    ck_region_eq(soap_op_input_region(g, op, 0, &out), REG(3, 1, 3, 2, 4, 0, 10));
    ck_assert_int_eq(g->ops[op].nweights, 2);
    ck_region_eq(soap_op_weight_region(g, op, 0, &out), REG(2, 1, 4, 0, 10));
    ck_region_eq(soap_op_weight_region(g, op, 1, &out), REG(1, 1, 4));
    soap_graph_free(g);
}
END_TEST

START_TEST(test_flatten_region)
{
    soap_shape in = SHP(4, 3, 2, 2);
    int op;
    soap_graph *g = one_op(SOAP_OP_FLATTEN, NULL, 1, &in, &op);
    soap_region out = REG(2, 1, 3, 0, 12);
    ck_region_eq(soap_op_input_region(g, op, 0, &out), REG(4, 1, 3, 0, 3, 0, 2, 0, 2));
    soap_graph_free(g);
}
END_TEST

START_TEST(test_lstm_regions)
{
    /* x is a lower layer's state [4,2,10]: only its h slice is read. */
    soap_op_params p = {.hidden = 6};
    soap_shape in[2] = {SHP(4, 2, 10), SHP(4, 2, 6)};
    int op;
    soap_graph *g = one_op(SOAP_OP_LSTM, &p, 2, in, &op);
    soap_region out = REG(3, 1, 3, 0, 2, 2, 5);
    ck_region_eq(soap_op_input_region(g, op, 0, &out), REG(3, 1, 3, 0, 1, 0, 10));
    /* The previous state: the task's samples, h and c, all H. */
    ck_region_eq(soap_op_input_region(g, op, 1, &out), REG(3, 1, 3, 0, 2, 0, 6));
    /* w [4, 6, 10+6]: all gates, hidden rows [2,5), all K+H; b [4,6]. */
    ck_region_eq(soap_op_weight_region(g, op, 0, &out), REG(3, 0, 4, 2, 5, 0, 16));
    ck_region_eq(soap_op_weight_region(g, op, 1, &out), REG(2, 0, 4, 2, 5));
    soap_graph_free(g);

    /* x as [N,K]: all K. */
    soap_shape x2 = SHP(4, 10);
    g = one_op(SOAP_OP_LSTM, &p, 1, &x2, &op);
    ck_region_eq(soap_op_input_region(g, op, 0, &out), REG(2, 1, 3, 0, 10));
    soap_graph_free(g);
}
END_TEST

START_TEST(test_attention_regions)
{
    soap_shape in[3] = {SHP(4, 2, 6), SHP(4, 6), SHP(4, 2, 6)};
    int op;
    soap_graph *g = one_op(SOAP_OP_ATTENTION, NULL, 3, in, &op);
    soap_region out = REG(2, 1, 3, 2, 4);
    ck_region_eq(soap_op_input_region(g, op, 0, &out), REG(3, 1, 3, 0, 1, 0, 6));
    ck_region_eq(soap_op_input_region(g, op, 1, &out), REG(2, 1, 3, 0, 6));
    ck_region_eq(soap_op_input_region(g, op, 2, &out), REG(3, 1, 3, 0, 1, 0, 6));
    ck_assert_int_eq(g->ops[op].nweights, 1);
    /* Wc [6, 12]: rows of the task's H range, all 2H columns. */
    ck_region_eq(soap_op_weight_region(g, op, 0, &out), REG(2, 2, 4, 0, 12));
    soap_graph_free(g);
}
END_TEST

START_TEST(test_matmul_regions)
{
    int op;
    /* QK: Q, K [2,5,8], 4 heads of dh 2. Task: n [1,2), heads [1,3),
     * queries [0,2), keys [3,5) -> Q [1:2, 0:2, 2:6], K [1:2, 3:5, 2:6]. */
    soap_op_params qk = {.matmul = SOAP_MATMUL_QK, .heads = 4};
    soap_shape qkin[2] = {SHP(2, 5, 8), SHP(2, 5, 8)};
    soap_graph *g = one_op(SOAP_OP_MATMUL, &qk, 2, qkin, &op);
    soap_region out = REG(4, 1, 2, 1, 3, 0, 2, 3, 5);
    ck_region_eq(soap_op_input_region(g, op, 0, &out), REG(3, 1, 2, 0, 2, 2, 6));
    ck_region_eq(soap_op_input_region(g, op, 1, &out), REG(3, 1, 2, 3, 5, 2, 6));
    soap_graph_free(g);

    /* PV: P [2,4,5,5], V [2,5,8], dh 2. Task: n all, rows [1,4), d [3,5):
     * heads 3/2 = 1 to ceil(5/2) = 3 -> P [0:2, 1:3, 1:4, 0:5]; V [0:2, 0:5, 3:5]. */
    soap_op_params pv = {.matmul = SOAP_MATMUL_PV, .heads = 4};
    soap_shape pvin[2] = {SHP(2, 4, 5, 5), SHP(2, 5, 8)};
    g = one_op(SOAP_OP_MATMUL, &pv, 2, pvin, &op);
    out = REG(3, 0, 2, 1, 4, 3, 5);
    ck_region_eq(soap_op_input_region(g, op, 0, &out), REG(4, 0, 2, 1, 3, 1, 4, 0, 5));
    ck_region_eq(soap_op_input_region(g, op, 1, &out), REG(3, 0, 2, 0, 5, 3, 5));
    /* d [2,4) lies in head 1 only. */
    out = REG(3, 0, 2, 0, 5, 2, 4);
    ck_region_eq(soap_op_input_region(g, op, 0, &out), REG(4, 0, 2, 1, 2, 0, 5, 0, 5));
    soap_graph_free(g);

    /* PLAIN: A [2,3,4] x B [2,4,5]; task [1:2, 0:2, 1:3]. */
    soap_op_params pl = {.matmul = SOAP_MATMUL_PLAIN};
    soap_shape plin[2] = {SHP(2, 3, 4), SHP(2, 4, 5)};
    g = one_op(SOAP_OP_MATMUL, &pl, 2, plin, &op);
    out = REG(3, 1, 2, 0, 2, 1, 3);
    ck_region_eq(soap_op_input_region(g, op, 0, &out), REG(3, 1, 2, 0, 2, 0, 4));
    ck_region_eq(soap_op_input_region(g, op, 1, &out), REG(3, 1, 2, 0, 4, 1, 3));
    soap_graph_free(g);
    /* B transposed [2,5,4]: its rows are the P columns. */
    pl.trans_b = 1;
    plin[1] = SHP(2, 5, 4);
    g = one_op(SOAP_OP_MATMUL, &pl, 2, plin, &op);
    ck_region_eq(soap_op_input_region(g, op, 1, &out), REG(3, 1, 2, 1, 3, 0, 4));
    soap_graph_free(g);
}
END_TEST

/* Ops that read exactly their output region of every input. */
START_TEST(test_same_region_kinds)
{
    static const soap_op_kind kinds[] = {SOAP_OP_BATCHNORM, SOAP_OP_UNARY, SOAP_OP_BINARY,
                                         SOAP_OP_SOFTMAX, SOAP_OP_SOFTMAX_CE,
                                         SOAP_OP_LAYERNORM};
    soap_op_kind k = kinds[_i];
    soap_shape in[2] = {SHP(4, 6, 3, 5), SHP(4, 6, 3, 5)};
    int op;
    soap_graph *g = one_op(k, NULL, k == SOAP_OP_BINARY ? 2 : 1, in, &op);
    soap_region out = REG(4, 1, 3, 2, 5, 0, 2, 0, 5);
    for (int i = 0; i < g->ops[op].ninputs; i++)
        ck_region_eq(soap_op_input_region(g, op, i, &out), out);
    soap_graph_free(g);
}
END_TEST

START_TEST(test_empty_out_region)
{
    soap_op_params p = {.kernel = {3, 3}, .stride = {1, 1}, .pad = {1, 1}, .out_channels = 4};
    soap_shape in = SHP(2, 3, 5, 5);
    int op;
    soap_graph *g = one_op(SOAP_OP_CONV2D, &p, 1, &in, &op);
    soap_region out = REG(4, 0, 2, 0, 4, 2, 2, 0, 5); /* no rows */
    soap_region r = soap_op_input_region(g, op, 0, &out);
    ck_assert(soap_region_empty(&r));
    soap_op_cost c = soap_op_region_cost(g, op, &out);
    ck_assert(c.fwd_flops == 0 && c.bwd_flops == 0 && c.fwd_bytes == 0 && c.bwd_bytes == 0);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Weight regions, FLOP and bytes                                      */
/* ------------------------------------------------------------------ */
START_TEST(test_param_split_weight_regions)
{
    int op;
    /* conv: Cout split [4,8) of 16 -> w [4:8, 0:3, 0:3, 0:3], b [4:8]. */
    soap_op_params cp = {.kernel = {3, 3}, .stride = {1, 1}, .pad = {1, 1},
                         .out_channels = 16, .has_bias = 1};
    soap_shape in = SHP(2, 3, 6, 6);
    soap_graph *g = one_op(SOAP_OP_CONV2D, &cp, 1, &in, &op);
    soap_region out = REG(4, 0, 1, 4, 8, 0, 6, 0, 6);
    ck_region_eq(soap_op_weight_region(g, op, 0, &out), REG(4, 4, 8, 0, 3, 0, 3, 0, 3));
    ck_region_eq(soap_op_weight_region(g, op, 1, &out), REG(1, 4, 8));
    /* A sample or attribute split needs all of the weights. */
    out = REG(4, 1, 2, 0, 16, 3, 6, 0, 6);
    ck_region_eq(soap_op_weight_region(g, op, 0, &out), REG(4, 0, 16, 0, 3, 0, 3, 0, 3));
    soap_graph_free(g);

    /* batchnorm: channel split [2,5) -> gamma, beta [2:5]. */
    soap_shape bin = SHP(2, 8, 3, 3);
    g = one_op(SOAP_OP_BATCHNORM, NULL, 1, &bin, &op);
    out = REG(4, 0, 2, 2, 5, 0, 3, 0, 3);
    ck_region_eq(soap_op_weight_region(g, op, 0, &out), REG(1, 2, 5));
    ck_region_eq(soap_op_weight_region(g, op, 1, &out), REG(1, 2, 5));
    ck_assert_str_eq(g->weights[g->ops[op].weights[0]].name, "op.gamma");
    ck_assert_str_eq(g->weights[g->ops[op].weights[1]].name, "op.beta");
    soap_graph_free(g);

    /* embedding [V=100, E=8]: E split [4,8) -> all V rows, columns [4,8). */
    soap_op_params ep = {.vocab = 100, .embed_dim = 8};
    soap_shape ids = SHP(4, 7);
    g = one_op(SOAP_OP_EMBEDDING, &ep, 1, &ids, &op);
    out = REG(3, 1, 3, 2, 5, 4, 8);
    ck_region_eq(soap_op_input_region(g, op, 0, &out), REG(2, 1, 3, 2, 5));
    ck_region_eq(soap_op_weight_region(g, op, 0, &out), REG(2, 0, 100, 4, 8));
    /* Bytes: out 2*3*4 = 24, ids 2*3 = 6, gathered rows 24 (not 100*4):
     * (24 + 6 + 24) * 4 = 216 forward, twice that backward. */
    soap_op_cost c = soap_op_region_cost(g, op, &out);
    ck_assert_double_eq(c.fwd_bytes, 216.0);
    ck_assert_double_eq(c.bwd_bytes, 432.0);
    ck_assert_double_eq(c.fwd_flops, 0.0);
    ck_assert_double_eq(c.bwd_flops, 24.0);
    soap_graph_free(g);

    /* layernorm: gamma/beta whole whatever the split. */
    soap_shape lin = SHP(4, 5, 8);
    g = one_op(SOAP_OP_LAYERNORM, NULL, 1, &lin, &op);
    out = REG(3, 0, 2, 1, 3, 0, 8);
    ck_region_eq(soap_op_weight_region(g, op, 0, &out), REG(1, 0, 8));
    soap_graph_free(g);
}
END_TEST

START_TEST(test_conv_cost_by_hand)
{
    /* [1,2,4,4] -> conv 3x3 s1 p0, 3 channels, bias -> [1,3,2,2] (12 elements).
     * fwd = 2 * 12 * C(2) * 3 * 3 + 12 (bias) = 432 + 12 = 444; bwd = 888.
     * bytes: input 32 + w 3*2*3*3 = 54 + b 3 + out 12 = 101 elements = 404. */
    soap_op_params p = {.kernel = {3, 3}, .stride = {1, 1}, .out_channels = 3, .has_bias = 1};
    soap_shape in = SHP(1, 2, 4, 4);
    int op;
    soap_graph *g = one_op(SOAP_OP_CONV2D, &p, 1, &in, &op);
    soap_region all = soap_region_full(&g->ops[op].out);
    soap_op_cost c = soap_op_region_cost(g, op, &all);
    ck_assert_double_eq(c.fwd_flops, 444.0);
    ck_assert_double_eq(c.bwd_flops, 888.0);
    ck_assert_double_eq(c.fwd_bytes, 404.0);
    ck_assert_double_eq(c.bwd_bytes, 808.0);
    /* One channel, output row 0 (2 elements): fwd = 2*2*18 + 2 = 74;
     * bytes: input rows [0,3) all columns 2*3*4 = 24, w 18, b 1, out 2 = 45
     * elements = 180. */
    soap_region part = REG(4, 0, 1, 0, 1, 0, 1, 0, 2);
    c = soap_op_region_cost(g, op, &part);
    ck_assert_double_eq(c.fwd_flops, 74.0);
    ck_assert_double_eq(c.fwd_bytes, 180.0);
    soap_graph_free(g);
}
END_TEST

typedef struct flop_case {
    const char *what;
    double fwd, bwd; /* expected FLOP for the whole output */
} flop_case;

START_TEST(test_flops_by_hand)
{
    int op;
    soap_graph *g;
    soap_region all;
    soap_op_cost c;
    struct {
        soap_op_kind kind;
        soap_op_params p;
        int nin;
        soap_shape in[3];
        flop_case want;
    } cases[] = {
        /* linear [3,10] -> 4 with bias: 2*12*10 + 12 = 252 */
        {SOAP_OP_LINEAR, {.out_features = 4, .has_bias = 1}, 1, {SHP(3, 10)},
         {"linear", 252, 504}},
        /* max pool 2x2 s2 on [1,1,4,4] -> 4 outputs * 4 = 16, backward same */
        {SOAP_OP_POOL2D, {.kernel = {2, 2}, .stride = {2, 2}}, 1, {SHP(1, 1, 4, 4)},
         {"pool", 16, 16}},
        /* lstm n 4, h 6, K 10: 2*4*4*6*16 + 10*4*6 = 3072 + 240 = 3312 */
        {SOAP_OP_LSTM, {.hidden = 6}, 2, {SHP(4, 10), SHP(4, 2, 6)}, {"lstm", 3312, 6624}},
        /* attention n 4, H 6, T 2: 2*4*2*6 * 2 + 2*4*6*12 = 192 + 576 = 768 */
        {SOAP_OP_ATTENTION, {0}, 3, {SHP(4, 2, 6), SHP(4, 6), SHP(4, 6)},
         {"attention", 768, 1536}},
        /* qk: [2,4,5,5] = 200 outputs, dh = 8/4 = 2: 2*200*2 = 800 */
        {SOAP_OP_MATMUL, {.matmul = SOAP_MATMUL_QK, .heads = 4}, 2,
         {SHP(2, 5, 8), SHP(2, 5, 8)}, {"qk", 800, 1600}},
        /* pv: [2,5,8] = 80 outputs, T = 5: 2*80*5 = 800 */
        {SOAP_OP_MATMUL, {.matmul = SOAP_MATMUL_PV, .heads = 4}, 2,
         {SHP(2, 4, 5, 5), SHP(2, 5, 8)}, {"pv", 800, 1600}},
        /* plain [2,3,4] x [2,4,5]: 30 outputs * 2 * K 4 = 240 */
        {SOAP_OP_MATMUL, {.matmul = SOAP_MATMUL_PLAIN}, 2, {SHP(2, 3, 4), SHP(2, 4, 5)},
         {"plain", 240, 480}},
        /* batchnorm 2*3 elements: 8 and 12 per element */
        {SOAP_OP_BATCHNORM, {0}, 1, {SHP(2, 3)}, {"batchnorm", 48, 72}},
        /* relu 10 elements: 1 and 1 per element */
        {SOAP_OP_UNARY, {.unary = SOAP_UNARY_RELU}, 1, {SHP(2, 5)}, {"relu", 10, 10}},
        /* concat: copies only */
        {SOAP_OP_CONCAT, {.axis = 1}, 2, {SHP(2, 5), SHP(2, 3)}, {"concat", 0, 0}},
    };
    int n = (int)(sizeof cases / sizeof cases[0]);
    ck_assert_int_lt(_i, n);
    g = one_op(cases[_i].kind, &cases[_i].p, cases[_i].nin, cases[_i].in, &op);
    all = soap_region_full(&g->ops[op].out);
    c = soap_op_region_cost(g, op, &all);
    ck_assert_msg(c.fwd_flops == cases[_i].want.fwd, "%s: forward %g, expected %g",
                  cases[_i].want.what, c.fwd_flops, cases[_i].want.fwd);
    ck_assert_msg(c.bwd_flops == cases[_i].want.bwd, "%s: backward %g, expected %g",
                  cases[_i].want.what, c.bwd_flops, cases[_i].want.bwd);
    soap_graph_free(g);
}
END_TEST
#define N_FLOP_CASES 10

START_TEST(test_split_flops)
{
    /* Attention split over H: each half repeats the scores and the context
     * (redundant work that is real). n 4, T 1, H 6, h 3:
     * 2*4*1*6 * 2 + 2*4*3*12 = 96 + 288 = 384 per half; the whole op does
     * 96 + 576 = 672, the two halves 768. */
    soap_shape in[2] = {SHP(4, 2, 6), SHP(4, 6)};
    int op;
    soap_graph *g = one_op(SOAP_OP_ATTENTION, NULL, 2, in, &op);
    soap_region half = REG(2, 0, 4, 0, 3), other = REG(2, 0, 4, 3, 6);
    soap_region all = soap_region_full(&g->ops[op].out);
    ck_assert_double_eq(soap_op_region_cost(g, op, &half).fwd_flops, 384.0);
    ck_assert_double_eq(soap_op_region_cost(g, op, &other).fwd_flops, 384.0);
    ck_assert_double_eq(soap_op_region_cost(g, op, &all).fwd_flops, 672.0);
    soap_graph_free(g);
    /* LSTM split over H: h 2 of 6, n 4, K 10: 2*4*4*2*16 + 10*4*2 = 1024 + 80. */
    soap_op_params p = {.hidden = 6};
    soap_shape lin[1] = {SHP(4, 10)};
    g = one_op(SOAP_OP_LSTM, &p, 1, lin, &op);
    soap_region part = REG(3, 0, 4, 0, 2, 4, 6);
    ck_assert_double_eq(soap_op_region_cost(g, op, &part).fwd_flops, 1104.0);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Signatures                                                          */
/* ------------------------------------------------------------------ */
START_TEST(test_signature_format)
{
    soap_graph *g = soap_graph_new("t", 64);
    int x = soap_add_input(g, "x", 4, (int64_t[]){64, 64, 56, 56}, NULL, 0);
    int c = soap_add_conv2d(g, "c1", x, 64, 3, 3, 1, 1, 1, 1, 0);
    char buf[256];
    ck_assert_str_eq(soap_op_signature(g, c, buf, sizeof buf),
                     "conv2d k3x3 s1x1 p1x1 c64 bias0 in[64,64,56,56]");
    int pl = soap_add_pool2d(g, "p1", c, SOAP_POOL_MAX, 3, 3, 2, 2, 1, 1);
    ck_assert_str_eq(soap_op_signature(g, pl, buf, sizeof buf),
                     "pool2d max k3x3 s2x2 p1x1 in[64,64,56,56]");
    int f = soap_add_flatten(g, "f", pl);
    int l = soap_add_linear(g, "fc", f, 10, 1, -1);
    ck_assert_str_eq(soap_op_signature(g, l, buf, sizeof buf), "linear f10 bias1 in[64,50176]");
    /* Runs of equal input shapes are counted. */
    int64_t st[3] = {64, 2, 32};
    const soap_dim_kind state_kinds[3] = {SOAP_DIM_SAMPLE, SOAP_DIM_NONE, SOAP_DIM_PARAMETER};
    int q = soap_add_input(g, "q", 3, st, state_kinds, 0);
    int m1 = soap_add_input(g, "m1", 3, st, state_kinds, 0);
    int m2 = soap_add_input(g, "m2", 2, (int64_t[]){64, 32}, NULL, 0);
    int a = soap_add_attention(g, "att", q, (int[]){m1, m1, m2}, 3);
    ck_assert_str_eq(soap_op_signature(g, a, buf, sizeof buf), "attention in[64,2,32]x3[64,32]");
    /* A short buffer is cut, still terminated. */
    char small[8];
    soap_op_signature(g, c, small, sizeof small);
    ck_assert_str_eq(small, "conv2d ");
    soap_graph_free(g);
}
END_TEST

START_TEST(test_signature_equality)
{
    soap_graph *g = soap_graph_new("t", 8);
    int x = soap_add_input(g, "x", 4, (int64_t[]){8, 16, 12, 12}, NULL, 0);
    int y = soap_add_input(g, "y", 4, (int64_t[]){8, 16, 12, 12}, NULL, 0);
    int z = soap_add_input(g, "z", 4, (int64_t[]){8, 16, 10, 12}, NULL, 0);
    int ops[] = {
        soap_add_conv2d(g, "a", x, 32, 3, 3, 1, 1, 1, 1, 0),
        soap_add_conv2d(g, "b", y, 32, 3, 3, 1, 1, 1, 1, 0), /* = a */
        soap_add_conv2d(g, "c", x, 32, 3, 3, 2, 2, 1, 1, 0), /* stride */
        soap_add_conv2d(g, "d", x, 32, 3, 3, 1, 1, 1, 1, 1), /* bias */
        soap_add_conv2d(g, "e", x, 32, 3, 3, 1, 1, 0, 0, 0), /* padding */
        soap_add_conv2d(g, "f", x, 16, 3, 3, 1, 1, 1, 1, 0), /* channels */
        soap_add_conv2d(g, "h", x, 32, 1, 3, 1, 1, 0, 1, 0), /* kernel */
        soap_add_conv2d(g, "i", z, 32, 3, 3, 1, 1, 1, 1, 0), /* input size */
        soap_add_pool2d(g, "j", x, SOAP_POOL_MAX, 3, 3, 1, 1, 1, 1),
        soap_add_pool2d(g, "k", x, SOAP_POOL_AVG, 3, 3, 1, 1, 1, 1),
        soap_add_unary(g, "l", x, SOAP_UNARY_RELU),
        soap_add_unary(g, "m", x, SOAP_UNARY_TANH),
        soap_add_binary(g, "n", x, y, SOAP_BINARY_ADD),
        soap_add_binary(g, "o", x, y, SOAP_BINARY_MUL),
        soap_add_concat(g, "p", (int[]){x, y}, 2, 1),
        soap_add_concat(g, "q", (int[]){x, y}, 2, 2),
        soap_add_batchnorm(g, "r", x),
    };
    int n = (int)(sizeof ops / sizeof ops[0]);
    char s1[256], s2[256];
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            soap_op_signature(g, ops[i], s1, sizeof s1);
            soap_op_signature(g, ops[j], s2, sizeof s2);
            if (i == 0 && j == 1)
                ck_assert_str_eq(s1, s2);
            else
                ck_assert_msg(strcmp(s1, s2) != 0, "ops %d and %d share signature %s", i, j,
                              s1);
        }
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Broken invariants abort (Check runs each test in its own process)   */
/* ------------------------------------------------------------------ */
START_TEST(test_region_outside_output_aborts)
{
    soap_shape in = SHP(2, 8);
    int op;
    soap_graph *g = one_op(SOAP_OP_UNARY, NULL, 1, &in, &op);
    soap_region out = REG(2, 0, 2, 4, 9); /* column 8 does not exist */
    soap_op_input_region(g, op, 0, &out);
}
END_TEST

START_TEST(test_builder_aborts_on_bad_model)
{
    soap_graph *g = soap_graph_new("code", 1);
    int x = soap_add_input(g, "x", 4, (int64_t[]){1, 1, 3, 3}, NULL, 0);
    soap_add_conv2d(g, "too_big", x, 2, 5, 5, 1, 1, 0, 0, 0); /* 5x5 on 3x3 */
}
END_TEST

Suite *soap_suite_ops(void);
Suite *soap_suite_ops(void)
{
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("shape inference");
    tcase_add_loop_test(tc, test_infer_shape, 0, N_SHAPE_CASES);
    tcase_add_test(tc, test_graph_add_error_names_op);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("input regions");
    tcase_add_loop_test(tc, test_conv_halo, 0,
                        (int)(sizeof halo_cases / sizeof halo_cases[0]));
    tcase_add_test(tc, test_pool_region);
    tcase_add_test(tc, test_concat_regions);
    tcase_add_test(tc, test_linear_regions);
    tcase_add_test(tc, test_flatten_region);
    tcase_add_test(tc, test_lstm_regions);
    tcase_add_test(tc, test_attention_regions);
    tcase_add_test(tc, test_matmul_regions);
    tcase_add_loop_test(tc, test_same_region_kinds, 0, 6);
    tcase_add_test(tc, test_empty_out_region);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("weight regions");
    tcase_add_test(tc, test_param_split_weight_regions);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("flop and bytes");
    tcase_add_test(tc, test_conv_cost_by_hand);
    tcase_add_loop_test(tc, test_flops_by_hand, 0, N_FLOP_CASES);
    tcase_add_test(tc, test_split_flops);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("signatures");
    tcase_add_test(tc, test_signature_format);
    tcase_add_test(tc, test_signature_equality);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("invariants");
    tcase_add_test_raise_signal(tc, test_region_outside_output_aborts, SIGABRT);
    tcase_add_test_raise_signal(tc, test_builder_aborts_on_bad_model, SIGABRT);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
