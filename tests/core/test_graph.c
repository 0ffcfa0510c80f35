/* Tests of the operator graph (suite "graph"): building and finding ops,
 * rejected names and inputs, weight names and sharing (shared weights
 * counted once, mismatched shapes refused), parameter and FLOP totals of a
 * small CNN computed by hand, fingerprint stability, and a property test:
 * the input regions of the tasks of an equal conv split together cover
 * exactly what the whole output needs. */
#include <check.h>
#include <gsl/gsl_rng.h>
#include <stdlib.h>
#include <string.h>

#include "soap_core.h"

static soap_error fresh_err(void)
{
    soap_error e;
    soap_error_clear(&e);
    return e;
}

/* ------------------------------------------------------------------ */
/* Building                                                            */
/* ------------------------------------------------------------------ */
START_TEST(test_build_and_find)
{
    soap_graph *g = soap_graph_new("tiny", 2);
    ck_assert_str_eq(g->name, "tiny");
    ck_assert_int_eq(g->batch, 2);
    int x = soap_add_input(g, "x", 4, (int64_t[]){2, 3, 8, 8}, NULL, 0);
    ck_assert_int_eq(x, 0);
    /* Inputs and parameters are copied: changing the caller's copies after
     * the call changes nothing. */
    int ins[1] = {x};
    soap_op_params p = {.kernel = {3, 3}, .stride = {1, 1}, .pad = {1, 1}, .out_channels = 4,
                        .has_bias = 1};
    soap_error err = fresh_err();
    int c = soap_graph_add(g, SOAP_OP_CONV2D, "conv", ins, 1, &p, &err);
    ck_assert_msg(c == 1, "%s", err.msg);
    ins[0] = 99;
    p.out_channels = 77;
    ck_assert_int_eq(g->ops[c].inputs[0], x);
    ck_assert_int_eq(g->ops[c].p.out_channels, 4);
    int r = soap_add_unary(g, "relu", c, SOAP_UNARY_RELU);

    ck_assert_int_eq(g->nops, 3);
    ck_assert_int_eq(soap_graph_find(g, "x"), x);
    ck_assert_int_eq(soap_graph_find(g, "conv"), c);
    ck_assert_int_eq(soap_graph_find(g, "relu"), r);
    ck_assert_int_eq(soap_graph_find(g, "nope"), -1);
    ck_assert_int_eq(soap_graph_find(g, NULL), -1);
    ck_assert_int_eq(g->ops[c].kind, SOAP_OP_CONV2D);
    ck_assert_str_eq(g->ops[c].name, "conv");
    ck_assert_int_eq(g->ops[c].out.size[1], 4);

    /* Layers default to -1. */
    ck_assert_int_eq(g->ops[c].layer, -1);
    soap_graph_set_layer(g, c, 3);
    ck_assert_int_eq(g->ops[c].layer, 3);
    ck_assert_int_eq(g->ops[r].layer, -1);

    /* Weights: "<op>.w" [4,3,3,3] and "<op>.b" [4], owned by the conv. */
    ck_assert_int_eq(g->ops[c].nweights, 2);
    ck_assert_int_eq(g->nweights, 2);
    const soap_weight *w = &g->weights[g->ops[c].weights[0]];
    const soap_weight *b = &g->weights[g->ops[c].weights[1]];
    ck_assert_str_eq(w->name, "conv.w");
    ck_assert_str_eq(b->name, "conv.b");
    ck_assert_int_eq(w->owner, c);
    char buf[64];
    ck_assert_str_eq(soap_shape_str(&w->shape, buf, sizeof buf), "[4,3,3,3]");
    ck_assert_str_eq(soap_shape_str(&b->shape, buf, sizeof buf), "[4]");
    soap_shape ws[SOAP_MAX_WEIGHTS];
    ck_assert_int_eq(soap_op_weight_shapes(g, c, ws), 2);
    ck_assert(soap_shape_equal_sizes(&ws[0], &w->shape));
    ck_assert_int_eq(soap_op_weight_shapes(g, r, ws), 0);
    ck_assert_int_eq(g->ops[r].nweights, 0);

    /* Many ops: the arrays and the index grow. */
    int prev = r;
    for (int i = 0; i < 100; i++) {
        snprintf(buf, sizeof buf, "relu%d", i);
        prev = soap_add_unary(g, buf, prev, SOAP_UNARY_RELU);
    }
    ck_assert_int_eq(g->nops, 103);
    ck_assert_int_eq(soap_graph_find(g, "relu57"), 3 + 57);
    ck_assert_str_eq(g->ops[soap_graph_find(g, "conv")].name, "conv");
    soap_graph_free(g);
    soap_graph_free(NULL);
}
END_TEST

START_TEST(test_names_rejected)
{
    soap_graph *g = soap_graph_new("t", 2);
    int x = soap_add_input(g, "x", 2, (int64_t[]){2, 8}, NULL, 0);
    soap_add_unary(g, "dup", x, SOAP_UNARY_RELU);
    int nops = g->nops, nw = g->nweights;
    soap_error err = fresh_err();
    soap_op_params lp = {.out_features = 4};

    ck_assert_int_eq(soap_graph_add(g, SOAP_OP_LINEAR, "dup", &x, 1, &lp, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "'dup'"));
    ck_assert_ptr_nonnull(strstr(err.msg, "duplicate"));
    ck_assert_int_eq(err.code, SOAP_ERR_INVALID);

    err = fresh_err();
    ck_assert_int_eq(soap_graph_add(g, SOAP_OP_LINEAR, "", &x, 1, &lp, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "empty name"));
    ck_assert_int_eq(soap_graph_add(g, SOAP_OP_LINEAR, NULL, &x, 1, &lp, &err), -1);

    /* 57 characters fit ("<op>.gamma" then fills SOAP_NAME_MAX); 58 do not. */
    char name[80];
    memset(name, 'n', 58);
    name[58] = '\0';
    err = fresh_err();
    ck_assert_int_eq(soap_graph_add(g, SOAP_OP_LINEAR, name, &x, 1, &lp, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "longer than 57"));
    ck_assert_int_eq(g->nops, nops);
    ck_assert_int_eq(g->nweights, nw);

    name[57] = '\0';
    int bn = soap_add_batchnorm(g, name, x);
    char want[96];
    snprintf(want, sizeof want, "%s.gamma", name);
    ck_assert_str_eq(g->weights[g->ops[bn].weights[0]].name, want);
    soap_graph_free(g);
}
END_TEST

/* Bad inputs, each refused with a message naming the op; nothing changes. */
typedef struct bad_case {
    const char *what;
    soap_op_kind kind;
    int ninputs;
    int inputs[2];
    const char *needle; /* part of the expected message */
} bad_case;
static const bad_case bad_cases[] = {
    {"negative input id", SOAP_OP_UNARY, 1, {-1}, "expected an existing op"},
    {"input id not yet added", SOAP_OP_UNARY, 1, {2}, "expected an existing op"},
    {"too many inputs", SOAP_OP_UNARY, 2, {0, 1}, "expected 1 input, got 2"},
    {"too few inputs", SOAP_OP_BINARY, 1, {0}, "expected 2 inputs, got 1"},
    {"input with inputs", SOAP_OP_INPUT, 1, {0}, "expected 0 inputs"},
    {"unknown kind", (soap_op_kind)99, 1, {0}, "unknown operator kind"},
};

START_TEST(test_inputs_rejected)
{
    const bad_case *c = &bad_cases[_i];
    soap_graph *g = soap_graph_new("t", 2);
    soap_add_input(g, "a", 2, (int64_t[]){2, 8}, NULL, 0);
    soap_add_input(g, "b", 2, (int64_t[]){2, 8}, NULL, 0);
    soap_op_params p = {.shape = {.ndims = 1, .size = {2}}};
    soap_error err = fresh_err();
    ck_assert_int_eq(soap_graph_add(g, c->kind, "bad_op", c->inputs, c->ninputs, &p, &err), -1);
    ck_assert_msg(strstr(err.msg, "'bad_op'") && strstr(err.msg, c->needle),
                  "%s: message '%s'", c->what, err.msg);
    ck_assert_int_eq(g->nops, 2);
    ck_assert_int_eq(soap_graph_find(g, "bad_op"), -1);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Weight sharing                                                      */
/* ------------------------------------------------------------------ */
/* An LSTM over `steps` steps of x [2,10], hidden 6, sharing or not. */
static soap_graph *lstm_chain(int steps, int share)
{
    soap_graph *g = soap_graph_new("rnn", 2);
    int prev = -1, first = -1;
    for (int t = 0; t < steps; t++) {
        char xn[16], ln[16];
        snprintf(xn, sizeof xn, "x%d", t);
        snprintf(ln, sizeof ln, "lstm%d", t);
        int x = soap_add_input(g, xn, 2, (int64_t[]){2, 10}, NULL, 0);
        prev = soap_add_lstm(g, ln, x, prev, 6, share && first >= 0 ? prev : -1);
        if (first < 0)
            first = prev;
    }
    return g;
}

START_TEST(test_sharing_counts_once)
{
    /* w [4, 6, 10+6] = 384, b [4, 6] = 24: 408 per LSTM. */
    soap_graph *own = lstm_chain(3, 0);
    soap_graph *shared = lstm_chain(3, 1);
    ck_assert_int_eq(soap_graph_param_count(own), 3 * 408);
    ck_assert_int_eq(soap_graph_param_count(shared), 408);
    ck_assert_int_eq(own->nweights, 6);
    ck_assert_int_eq(shared->nweights, 2);
    int l0 = soap_graph_find(shared, "lstm0"), l2 = soap_graph_find(shared, "lstm2");
    /* lstm2 shares with lstm1, which shares with lstm0: all point at lstm0's. */
    ck_assert_int_eq(shared->ops[l2].nweights, 2);
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(shared->ops[l2].weights[k], shared->ops[l0].weights[k]);
        ck_assert_int_eq(shared->weights[shared->ops[l2].weights[k]].owner, l0);
    }
    ck_assert_str_eq(shared->weights[shared->ops[l2].weights[0]].name, "lstm0.w");
    /* Same computation, so equal FLOP either way. */
    ck_assert_double_eq(soap_graph_forward_flops(own), soap_graph_forward_flops(shared));
    soap_graph_free(own);
    soap_graph_free(shared);
}
END_TEST

START_TEST(test_sharing_rejected)
{
    soap_graph *g = lstm_chain(1, 0);
    int x12 = soap_add_input(g, "x12", 2, (int64_t[]){2, 12}, NULL, 0);
    int x10 = soap_graph_find(g, "x0");
    int nops = g->nops, nw = g->nweights;
    soap_error err = fresh_err();

    /* Same kind, other input width: w would be [4,6,18], lstm0's is [4,6,16]. */
    soap_op_params p = {.hidden = 6};
    snprintf(p.share_weights, sizeof p.share_weights, "lstm0");
    ck_assert_int_eq(soap_graph_add(g, SOAP_OP_LSTM, "lstm_wide", &x12, 1, &p, &err), -1);
    ck_assert_msg(strstr(err.msg, "'lstm_wide'") && strstr(err.msg, "lstm0") &&
                      strstr(err.msg, "[4,6,16]") && strstr(err.msg, "[4,6,18]"),
                  "message '%s'", err.msg);
    ck_assert_int_eq(g->nops, nops);
    ck_assert_int_eq(g->nweights, nw);
    ck_assert_int_eq(soap_graph_find(g, "lstm_wide"), -1);

    /* Unknown op. */
    err = fresh_err();
    snprintf(p.share_weights, sizeof p.share_weights, "ghost");
    ck_assert_int_eq(soap_graph_add(g, SOAP_OP_LSTM, "l2", &x10, 1, &p, &err), -1);
    ck_assert_int_eq(err.code, SOAP_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(err.msg, "ghost"));

    /* Another kind (a linear [6, 10] can never be an LSTM's). */
    err = fresh_err();
    soap_op_params lp = {.out_features = 6};
    snprintf(lp.share_weights, sizeof lp.share_weights, "lstm0");
    ck_assert_int_eq(soap_graph_add(g, SOAP_OP_LINEAR, "fc", &x10, 1, &lp, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "same kind"));

    /* An op without weights has nothing to share. */
    err = fresh_err();
    soap_op_params up = {.unary = SOAP_UNARY_RELU};
    snprintf(up.share_weights, sizeof up.share_weights, "lstm0");
    ck_assert_int_eq(soap_graph_add(g, SOAP_OP_UNARY, "r", &x10, 1, &up, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "no weights"));
    ck_assert_int_eq(g->nops, nops);
    soap_graph_free(g);
}
END_TEST

START_TEST(test_tied_embedding)
{
    /* The output projection [V=50, E=8] uses the embedding table [50, 8]. */
    soap_graph *g = soap_graph_new("lm", 4);
    int ids = soap_add_input(g, "ids", 1, (int64_t[]){4}, NULL, 1);
    int emb = soap_add_embedding(g, "emb", ids, 50, 8, -1);
    int fc = soap_add_linear(g, "proj", emb, 50, 0, emb);
    ck_assert_int_eq(g->ops[fc].weights[0], g->ops[emb].weights[0]);
    ck_assert_int_eq(soap_graph_param_count(g), 400);
    /* With a bias the weight lists differ: refused. */
    soap_op_params p = {.out_features = 50, .has_bias = 1};
    snprintf(p.share_weights, sizeof p.share_weights, "emb");
    soap_error err = fresh_err();
    ck_assert_int_eq(soap_graph_add(g, SOAP_OP_LINEAR, "proj_b", &emb, 1, &p, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.msg, "differ"));
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Whole-graph figures                                                 */
/* ------------------------------------------------------------------ */
/* x [N,3,8,8] -> conv 4 3x3 s1 p1 bias -> relu -> max pool 2x2 s2 ->
 * flatten [N,64] -> linear 10 bias -> softmax_ce. */
static soap_graph *small_cnn(const char *name, int64_t n, int64_t channels, int stride)
{
    soap_graph *g = soap_graph_new(name, n);
    int x = soap_add_input(g, "x", 4, (int64_t[]){n, 3, 8, 8}, NULL, 0);
    int c = soap_add_conv2d(g, "conv", x, channels, 3, 3, stride, stride, 1, 1, 1);
    int r = soap_add_unary(g, "relu", c, SOAP_UNARY_RELU);
    int p = soap_add_pool2d(g, "pool", r, SOAP_POOL_MAX, 2, 2, 2, 2, 0, 0);
    int f = soap_add_flatten(g, "flat", p);
    int l = soap_add_linear(g, "fc", f, 10, 1, -1);
    soap_add_softmax_ce(g, "loss", l);
    return g;
}

START_TEST(test_cnn_figures)
{
    soap_graph *g = small_cnn("cnn", 2, 4, 1);
    /* conv 4*3*3*3 + 4 = 112; fc 10*64 + 10 = 650. */
    ck_assert_int_eq(soap_graph_param_count(g), 762);
    /* Forward FLOP: conv out 2*4*8*8 = 512: 2*512*3*9 + 512 = 28160;
     * relu 512; pool out 128 * 4 = 512; flatten 0; fc out 20: 2*20*64 + 20
     * = 2580; softmax_ce 20 * 5 = 100. Total 31864.
     * Backward: 56320 + 512 + 512 + 5160 + 20 * 1 = 62524. */
    ck_assert_double_eq(soap_graph_forward_flops(g), 31864.0);
    ck_assert_double_eq(soap_graph_backward_flops(g), 62524.0);
    soap_graph_free(g);
}
END_TEST

START_TEST(test_fingerprint)
{
    soap_graph *a = small_cnn("cnn", 2, 4, 1);
    soap_graph *b = small_cnn("another name", 2, 4, 1);
    uint64_t fa = soap_graph_fingerprint(a);
    ck_assert(fa != 0);
    ck_assert(fa == soap_graph_fingerprint(a));
    ck_assert(fa == soap_graph_fingerprint(b)); /* the name does not enter */
    soap_graph_set_layer(b, 1, 2);             /* nor does the layer */
    ck_assert(fa == soap_graph_fingerprint(b));

    soap_graph *batch = small_cnn("cnn", 3, 4, 1);
    soap_graph *chan = small_cnn("cnn", 2, 5, 1);
    soap_graph *stride = small_cnn("cnn", 2, 4, 2);
    ck_assert(fa != soap_graph_fingerprint(batch));
    ck_assert(fa != soap_graph_fingerprint(chan));
    ck_assert(fa != soap_graph_fingerprint(stride));
    ck_assert(soap_graph_fingerprint(chan) != soap_graph_fingerprint(stride));

    /* The batch field alone enters. */
    soap_graph *b2 = soap_graph_new("x", 2), *b3 = soap_graph_new("x", 3);
    soap_add_input(b2, "x", 2, (int64_t[]){4, 8}, NULL, 0);
    soap_add_input(b3, "x", 2, (int64_t[]){4, 8}, NULL, 0);
    ck_assert(soap_graph_fingerprint(b2) != soap_graph_fingerprint(b3));
    soap_graph_free(b2);
    soap_graph_free(b3);

    /* One more op changes it. */
    soap_add_unary(b, "extra", b->nops - 1, SOAP_UNARY_TANH);
    ck_assert(fa != soap_graph_fingerprint(b));

    /* Sharing or not, with equal shapes everywhere, differs. */
    soap_graph *own = lstm_chain(2, 0), *shared = lstm_chain(2, 1);
    ck_assert(soap_graph_fingerprint(own) != soap_graph_fingerprint(shared));
    soap_graph *shared2 = lstm_chain(2, 1);
    ck_assert(soap_graph_fingerprint(shared2) == soap_graph_fingerprint(shared));

    /* The dim kinds of an input enter. */
    soap_graph *k1 = soap_graph_new("k", 2), *k2 = soap_graph_new("k", 2);
    soap_add_input(k1, "x", 2, (int64_t[]){2, 8}, (soap_dim_kind[]){SOAP_DIM_SAMPLE,
                                                                     SOAP_DIM_NONE}, 0);
    soap_add_input(k2, "x", 2, (int64_t[]){2, 8}, (soap_dim_kind[]){SOAP_DIM_SAMPLE,
                                                                     SOAP_DIM_ATTRIBUTE}, 0);
    ck_assert(soap_graph_fingerprint(k1) != soap_graph_fingerprint(k2));

    soap_graph *all[] = {a, b, batch, chan, stride, own, shared, shared2, k1, k2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        soap_graph_free(all[i]);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Property: split input regions of a conv cover what the output needs */
/* ------------------------------------------------------------------ */
static int64_t rnd(gsl_rng *r, int64_t lo, int64_t hi) /* in [lo, hi] */
{
    return lo + (int64_t)gsl_rng_uniform_int(r, (unsigned long)(hi - lo + 1));
}

static int in_region(const soap_region *r, const int64_t *pt)
{
    for (int d = 0; d < r->ndims; d++)
        if (pt[d] < r->lo[d] || pt[d] >= r->hi[d])
            return 0;
    return 1;
}

/* One random conv and one random equal split: checks, for every task, that
 * its input region holds every input element its outputs read (brute force)
 * and lies in the whole output's region; that the tasks' regions together
 * are exactly the whole output's region when stride <= kernel (with a
 * larger stride rows between windows are read by nobody); and that the
 * tasks' FLOP add up to the whole op's. */
static void check_random_conv(gsl_rng *rng)
{
    int64_t n = rnd(rng, 1, 3), c = rnd(rng, 1, 3), h = rnd(rng, 1, 12), w = rnd(rng, 1, 12);
    int kh = (int)rnd(rng, 1, 4), kw = (int)rnd(rng, 1, 4);
    int sh = (int)rnd(rng, 1, 3), sw = (int)rnd(rng, 1, 3);
    int ph = (int)rnd(rng, 0, kh - 1), pw = (int)rnd(rng, 0, kw - 1);
    int64_t cout = rnd(rng, 1, 4);
    if (h + 2 * ph < kh || w + 2 * pw < kw)
        return; /* does not fit: another draw */
    soap_graph *g = soap_graph_new("prop", n);
    int x = soap_add_input(g, "x", 4, (int64_t[]){n, c, h, w}, NULL, 0);
    int op = soap_add_conv2d(g, "conv", x, cout, kh, kw, sh, sw, ph, pw, 1);
    const soap_shape *out = &g->ops[op].out;
    soap_region all = soap_region_full(out);
    soap_region need = soap_op_input_region(g, op, 0, &all);
    soap_op_cost whole = soap_op_region_cost(g, op, &all);

    int deg[4];
    int ntasks = 1;
    for (int d = 0; d < 4; d++) {
        deg[d] = (int)rnd(rng, 1, out->size[d] < 4 ? out->size[d] : 4);
        ntasks *= deg[d];
    }
    int64_t vol = n * c * h * w;
    char *covered = calloc((size_t)vol, 1); /* union of the task regions */
    char *read = calloc((size_t)vol, 1);    /* elements some output reads */
    double flops = 0;
    for (int t = 0; t < ntasks; t++) {
        soap_region task = {.ndims = 4};
        int rest = t;
        for (int d = 3; d >= 0; d--) {
            int i = rest % deg[d];
            rest /= deg[d];
            task.lo[d] = i * out->size[d] / deg[d];
            task.hi[d] = (i + 1) * out->size[d] / deg[d];
        }
        soap_region r = soap_op_input_region(g, op, 0, &task);
        ck_assert(soap_region_contains(&need, &r));
        flops += soap_op_region_cost(g, op, &task).fwd_flops;
        /* Brute force: every element read by an output of the task. */
        for (int64_t on = task.lo[0]; on < task.hi[0]; on++)
            for (int64_t oh = task.lo[2]; oh < task.hi[2]; oh++)
                for (int64_t ow = task.lo[3]; ow < task.hi[3]; ow++)
                    for (int i = 0; i < kh; i++)
                        for (int j = 0; j < kw; j++) {
                            int64_t ih = oh * sh - ph + i, iw = ow * sw - pw + j;
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w)
                                continue; /* padding */
                            for (int64_t ic = 0; ic < c; ic++) {
                                int64_t pt[4] = {on, ic, ih, iw};
                                read[((on * c + ic) * h + ih) * w + iw] = 1;
                                ck_assert_msg(in_region(&r, pt),
                                              "task %d misses input (%lld,%lld,%lld,%lld)", t,
                                              (long long)on, (long long)ic, (long long)ih,
                                              (long long)iw);
                            }
                        }
        for (int64_t a = r.lo[0]; a < r.hi[0]; a++)
            for (int64_t b = r.lo[1]; b < r.hi[1]; b++)
                for (int64_t y = r.lo[2]; y < r.hi[2]; y++)
                    for (int64_t z = r.lo[3]; z < r.hi[3]; z++)
                        covered[((a * c + b) * h + y) * w + z] = 1;
    }
    int64_t ncovered = 0, nread = 0;
    for (int64_t i = 0; i < vol; i++) {
        ncovered += covered[i];
        nread += read[i];
    }
    if (sh <= kh && sw <= kw) {
        /* Windows overlap or touch: the whole output's region is exactly
         * what it reads, and the tasks' regions make up exactly that. */
        ck_assert_msg(nread == soap_region_volume(&need),
                      "the whole output reads %lld elements, its region holds %lld",
                      (long long)nread, (long long)soap_region_volume(&need));
        ck_assert_msg(ncovered == soap_region_volume(&need),
                      "union of %d task regions holds %lld elements, the whole output needs "
                      "%lld (k %dx%d s %dx%d p %dx%d, H %lld W %lld)",
                      ntasks, (long long)ncovered, (long long)soap_region_volume(&need), kh,
                      kw, sh, sw, ph, pw, (long long)h, (long long)w);
    } else {
        ck_assert_int_le(ncovered, soap_region_volume(&need));
    }
    ck_assert_double_eq_tol(flops, whole.fwd_flops, 1e-9 * whole.fwd_flops);
    free(covered);
    free(read);
    soap_graph_free(g);
}

START_TEST(test_conv_split_cover)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1000 + (unsigned long)_i);
    for (int k = 0; k < 60; k++)
        check_random_conv(rng);
    gsl_rng_free(rng);
}
END_TEST

Suite *soap_suite_graph(void);
Suite *soap_suite_graph(void)
{
    Suite *s = suite_create("graph");
    TCase *tc = tcase_create("building");
    tcase_add_test(tc, test_build_and_find);
    tcase_add_test(tc, test_names_rejected);
    tcase_add_loop_test(tc, test_inputs_rejected, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("weight sharing");
    tcase_add_test(tc, test_sharing_counts_once);
    tcase_add_test(tc, test_sharing_rejected);
    tcase_add_test(tc, test_tied_embedding);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("figures and fingerprint");
    tcase_add_test(tc, test_cnn_figures);
    tcase_add_test(tc, test_fingerprint);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("split cover property");
    tcase_add_loop_test(tc, test_conv_split_cover, 0, 8);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
