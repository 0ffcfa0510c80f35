/* Tests of the tiny variants of the built-in models (suite "models_tiny",
 * soap_model_options.tiny = 1), table-driven over every built-in model:
 * - structure: the tiny graph has the full graph's ops at the same unroll /
 *   layers / sequence, one for one: the same names, kinds, inputs, weight
 *   sharing, layer indices, dim kinds and layer parameters (kernel, stride,
 *   padding, bias, pooling, unary and binary functions, concat axis, matmul
 *   mode), so the same number of ops of every kind. What may differ: the
 *   sizes (channels, images, hidden widths, vocabularies, classes), the
 *   kernel of the head's global average pool (resnet101 7x7 and
 *   inception_v3 8x8 in full; 1x1 tiny, the last feature map's size) and the
 *   transformer's head count (12 full, 4 tiny);
 * - size: fewer parameters and FLOP than the full model and a different
 *   fingerprint; at batch 8 with the tiny defaults the exact parameter count
 *   that the model file's comment gives, and parameters and forward FLOP
 *   under the caps of the table (forward + backward at most 60e6 FLOP, so
 *   a CPU executor trains a step in well under a second);
 * - defaults: tiny RNNs unroll 4 steps, the tiny transformer has 2 layers and
 *   sequence 8, and explicit unroll / layers / seq_len still apply;
 * - shapes: every size >= 1 and the batch in dim 0 everywhere, and a few
 *   shapes per model (the images still flow through every layer). */
#include <check.h>
#include <string.h>

#include "soap_core.h"

static const char *const tiny_names[] = {
    "alexnet",   "inception_v3", "lenet", "nmt",   "resnet101",  "resnet152",
    "resnet50",  "rnnlm",        "rnntc", "transformer", "vgg16"};
#define NTINY ((int)(sizeof tiny_names / sizeof tiny_names[0]))

static soap_graph *load(const char *name, soap_model_options o)
{
    soap_error err;
    soap_error_clear(&err);
    soap_graph *g = soap_model_load(name, &o, &err);
    ck_assert_msg(g != NULL, "%s%s: %s", name, o.tiny ? " (tiny)" : "", err.msg);
    return g;
}

static const soap_op *op_named(const soap_graph *g, const char *name)
{
    int id = soap_graph_find(g, name);
    ck_assert_msg(id >= 0, "model %s has no op '%s'", g->name, name);
    return &g->ops[id];
}

static void check_shape(const soap_graph *g, const char *name, int n, const int64_t *want)
{
    const soap_op *o = op_named(g, name);
    char got[96];
    soap_shape_str(&o->out, got, sizeof got);
    ck_assert_msg(o->out.ndims == n, "%s.%s: %s has %d dims, want %d", g->name, name, got,
                  o->out.ndims, n);
    for (int d = 0; d < n; d++)
        ck_assert_msg(o->out.size[d] == want[d], "%s.%s: got %s, dim %d want %lld", g->name,
                      name, got, d, (long long)want[d]);
}
#define SHAPE(g, name, ...)                                                   \
    check_shape(g, name, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), \
                (int64_t[]){__VA_ARGS__})

/* ------------------------------------------------------------------ */
/* Structure: the full model's ops, one for one                        */
/* ------------------------------------------------------------------ */
/* The global average pool of a CNN head, whose kernel is the last feature
 * map's size and so shrinks with the image. */
static int is_global_pool(const soap_op *o)
{
    return o->kind == SOAP_OP_POOL2D && strcmp(o->name, "avgpool") == 0;
}

/* _i: model x two option sets (short and longer unroll / layers). */
START_TEST(test_tiny_same_structure)
{
    const char *name = tiny_names[_i / 2];
    const int unroll = _i % 2 ? 5 : 2, layers = _i % 2 ? 3 : 1, seq = _i % 2 ? 16 : 4;
    soap_model_options o = {.batch = 2, .unroll = unroll, .layers = layers, .seq_len = seq};
    soap_graph *full = load(name, o);
    o.tiny = 1;
    soap_graph *tiny = load(name, o);

    ck_assert_str_eq(tiny->name, name);
    ck_assert_int_eq(tiny->batch, 2);
    ck_assert_int_eq(tiny->nops, full->nops);
    ck_assert_int_eq(tiny->nweights, full->nweights);
    int nkind_full[SOAP_OP_KIND_COUNT] = {0}, nkind_tiny[SOAP_OP_KIND_COUNT] = {0};
    for (int i = 0; i < full->nops; i++) {
        const soap_op *f = &full->ops[i], *t = &tiny->ops[i];
        nkind_full[f->kind]++;
        nkind_tiny[t->kind]++;
        ck_assert_str_eq(t->name, f->name);
        ck_assert_msg(t->kind == f->kind, "%s.%s: kind %s, full %s", name, f->name,
                      soap_op_kind_name(t->kind), soap_op_kind_name(f->kind));
        ck_assert_int_eq(t->ninputs, f->ninputs);
        for (int k = 0; k < f->ninputs; k++)
            ck_assert_msg(t->inputs[k] == f->inputs[k], "%s.%s: input %d differs", name,
                          f->name, k);
        ck_assert_int_eq(t->nweights, f->nweights);
        for (int k = 0; k < f->nweights; k++)
            ck_assert_msg(t->weights[k] == f->weights[k], "%s.%s: weight %d shared differently",
                          name, f->name, k);
        ck_assert_int_eq(t->layer, f->layer);
        ck_assert_int_eq(t->out.ndims, f->out.ndims);
        for (int d = 0; d < f->out.ndims; d++)
            ck_assert_msg(t->out.kind[d] == f->out.kind[d], "%s.%s: dim %d kind differs",
                          name, f->name, d);
        ck_assert_int_eq(t->p.has_bias, f->p.has_bias);
        ck_assert_int_eq(t->p.is_index, f->p.is_index);
        if (f->kind == SOAP_OP_CONV2D || (f->kind == SOAP_OP_POOL2D && !is_global_pool(f))) {
            for (int d = 0; d < 2; d++) {
                ck_assert_msg(t->p.kernel[d] == f->p.kernel[d], "%s.%s: kernel", name, f->name);
                ck_assert_int_eq(t->p.stride[d], f->p.stride[d]);
                ck_assert_int_eq(t->p.pad[d], f->p.pad[d]);
            }
        }
        if (f->kind == SOAP_OP_POOL2D)
            ck_assert_int_eq(t->p.pool, f->p.pool);
        if (f->kind == SOAP_OP_UNARY)
            ck_assert_int_eq(t->p.unary, f->p.unary);
        if (f->kind == SOAP_OP_BINARY)
            ck_assert_int_eq(t->p.binary, f->p.binary);
        if (f->kind == SOAP_OP_CONCAT)
            ck_assert_int_eq(t->p.axis, f->p.axis);
        if (f->kind == SOAP_OP_MATMUL) {
            ck_assert_int_eq(t->p.matmul, f->p.matmul);
            ck_assert_int_le(t->p.heads, f->p.heads);
        }
    }
    for (int k = 0; k < SOAP_OP_KIND_COUNT; k++)
        ck_assert_msg(nkind_tiny[k] == nkind_full[k], "%s: %d %s ops tiny, %d full", name,
                      nkind_tiny[k], soap_op_kind_name((soap_op_kind)k), nkind_full[k]);

    /* Smaller, and not the same graph. */
    ck_assert_int_lt(soap_graph_param_count(tiny), soap_graph_param_count(full));
    ck_assert(soap_graph_forward_flops(tiny) < soap_graph_forward_flops(full));
    ck_assert(soap_graph_backward_flops(tiny) < soap_graph_backward_flops(full));
    ck_assert(soap_graph_fingerprint(tiny) != soap_graph_fingerprint(full));
    soap_graph_free(tiny);
    soap_graph_free(full);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Size at batch 8 with the tiny defaults                              */
/* ------------------------------------------------------------------ */
typedef struct tiny_case {
    const char *name;
    int64_t params;     /* exact, as in the model file's opening comment */
    int64_t max_params; /* cap */
    double max_fwd;     /* cap on forward FLOP, whole batch of 8 */
} tiny_case;

static const tiny_case tiny_cases[] = {
    {"alexnet", 63282, 100000, 25e6},
    {"inception_v3", 88458, 150000, 20e6},
    {"lenet", 9818, 20000, 3e6},
    {"nmt", 68672, 100000, 6e6},
    {"resnet101", 174030, 250000, 20e6},
    {"resnet152", 237838, 300000, 25e6},
    {"resnet50", 96782, 150000, 12e6},
    {"rnnlm", 17728, 30000, 2e6},
    {"rnntc", 32322, 50000, 3e6},
    {"transformer", 29632, 50000, 5e6},
    {"vgg16", 34766, 50000, 12e6},
};
#define NCASES ((int)(sizeof tiny_cases / sizeof tiny_cases[0]))
_Static_assert(NCASES == NTINY, "one size case per built-in model");

#define MAX_TRAIN_FLOP 60e6 /* forward + backward, batch 8 */

START_TEST(test_tiny_caps)
{
    const tiny_case *c = &tiny_cases[_i];
    soap_graph *g = load(c->name, (soap_model_options){.batch = 8, .tiny = 1});
    int64_t params = soap_graph_param_count(g);
    double fwd = soap_graph_forward_flops(g), bwd = soap_graph_backward_flops(g);
    ck_assert_msg(params == c->params, "%s tiny: %lld parameters, want %lld", c->name,
                  (long long)params, (long long)c->params);
    ck_assert_msg(params <= c->max_params && params <= 1000000,
                  "%s tiny: %lld parameters, cap %lld", c->name, (long long)params,
                  (long long)c->max_params);
    ck_assert_msg(fwd > 0 && fwd <= c->max_fwd, "%s tiny: forward %.4g FLOP, cap %.4g",
                  c->name, fwd, c->max_fwd);
    ck_assert_msg(fwd + bwd <= MAX_TRAIN_FLOP, "%s tiny: forward + backward %.4g FLOP, cap %.4g",
                  c->name, fwd + bwd, MAX_TRAIN_FLOP);
    /* Every size at least 1 (the images flow through every layer), the
     * batch in dim 0 of every op. */
    for (int i = 0; i < g->nops; i++) {
        const soap_op *o = &g->ops[i];
        ck_assert_msg(o->out.size[0] == 8 && o->out.kind[0] == SOAP_DIM_SAMPLE,
                      "%s.%s: dim 0 is not the batch", c->name, o->name);
        for (int d = 0; d < o->out.ndims; d++)
            ck_assert_msg(o->out.size[d] >= 1, "%s.%s: dim %d is %lld", c->name, o->name, d,
                          (long long)o->out.size[d]);
    }
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Defaults and options                                                */
/* ------------------------------------------------------------------ */
START_TEST(test_tiny_defaults)
{
    /* Tiny RNNs: 4 steps unless told; rnnlm has 6 ops a step. */
    soap_graph *g = load("rnnlm", (soap_model_options){.tiny = 1});
    ck_assert_int_eq(g->batch, 64);
    ck_assert_int_eq(g->nops, 4 * 6);
    ck_assert_int_eq(soap_graph_find(g, "loss.t4"), -1);
    op_named(g, "loss.t3");
    soap_graph_free(g);
    g = load("rnnlm", (soap_model_options){.tiny = 1, .unroll = 7});
    ck_assert_int_eq(g->nops, 7 * 6);
    soap_graph_free(g);
    g = load("nmt", (soap_model_options){.batch = 8, .tiny = 1});
    ck_assert_int_eq(op_named(g, "dec.attn.t0")->ninputs, 1 + 4);
    soap_graph_free(g);
    /* The full default stays 40. */
    g = load("rnnlm", (soap_model_options){.batch = 8});
    ck_assert_int_eq(g->nops, 40 * 6);
    soap_graph_free(g);

    /* Tiny transformer: 2 layers, sequence 8 unless told. */
    g = load("transformer", (soap_model_options){.batch = 8, .tiny = 1});
    ck_assert_int_eq(g->nops, 3 + 2 * 14 + 2);
    SHAPE(g, "tokens", 8, 8);
    soap_graph_free(g);
    g = load("transformer", (soap_model_options){.batch = 8, .tiny = 1, .layers = 3,
                                                 .seq_len = 16});
    ck_assert_int_eq(g->nops, 3 + 3 * 14 + 2);
    SHAPE(g, "tokens", 8, 16);
    SHAPE(g, "enc.l2.qk", 8, 4, 16, 16);
    soap_graph_free(g);

    /* Same options, same graph. */
    soap_graph *a = load("inception_v3", (soap_model_options){.batch = 4, .tiny = 1});
    soap_graph *b = load("inception_v3", (soap_model_options){.batch = 4, .tiny = 1});
    ck_assert(soap_graph_fingerprint(a) == soap_graph_fingerprint(b));
    soap_graph_free(a);
    soap_graph_free(b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Shapes                                                              */
/* ------------------------------------------------------------------ */
START_TEST(test_tiny_shapes)
{
    const soap_model_options o = {.batch = 8, .tiny = 1};
    soap_graph *g = load("lenet", o);
    SHAPE(g, "data", 8, 1, 28, 28);
    SHAPE(g, "pool2", 8, 8, 4, 4);
    SHAPE(g, "ip1", 8, 64);
    SHAPE(g, "loss", 8, 10);
    soap_graph_free(g);

    g = load("alexnet", o);
    SHAPE(g, "data", 8, 3, 63, 63);
    SHAPE(g, "conv1", 8, 8, 15, 15); /* (63 + 4 - 11)/4 + 1 */
    SHAPE(g, "pool1", 8, 8, 7, 7);
    SHAPE(g, "pool2", 8, 24, 3, 3);
    SHAPE(g, "pool5", 8, 32, 1, 1);
    SHAPE(g, "fc7", 8, 128);
    SHAPE(g, "fc8", 8, 10);
    soap_graph_free(g);

    g = load("resnet101", o);
    SHAPE(g, "conv1", 8, 4, 16, 16);
    SHAPE(g, "maxpool", 8, 4, 8, 8);
    SHAPE(g, "layer1.2.relu3", 8, 16, 8, 8);
    SHAPE(g, "layer2.0.downsample.1", 8, 32, 4, 4);
    SHAPE(g, "layer3.22.relu3", 8, 64, 2, 2);
    SHAPE(g, "layer4.2.relu3", 8, 128, 1, 1);
    SHAPE(g, "avgpool", 8, 128, 1, 1);
    SHAPE(g, "fc", 8, 10);
    soap_graph_free(g);

    g = load("inception_v3", o);
    SHAPE(g, "data", 8, 3, 75, 75);
    SHAPE(g, "maxpool2", 8, 12, 7, 7);
    SHAPE(g, "Mixed_5b.concat", 8, 16, 7, 7);
    SHAPE(g, "Mixed_6a.concat", 8, 48, 3, 3);
    SHAPE(g, "Mixed_6b.branch7x7_2.conv", 8, 8, 3, 3); /* 1x7 pad (0,3) */
    SHAPE(g, "Mixed_7a.concat", 8, 80, 1, 1);
    SHAPE(g, "Mixed_7b.branch3x3_2b.conv", 8, 24, 1, 1); /* 3x1 pad (1,0) */
    SHAPE(g, "Mixed_7c.concat", 8, 128, 1, 1);
    SHAPE(g, "fc", 8, 10);
    ck_assert_int_eq(op_named(g, "Mixed_7c.concat")->ninputs, 6);
    soap_graph_free(g);

    g = load("rnntc", o);
    SHAPE(g, "embed.t3", 8, 16);
    SHAPE(g, "lstm.l3.t3", 8, 2, 32);
    SHAPE(g, "classifier", 8, 2);
    soap_graph_free(g);

    g = load("rnnlm", o);
    SHAPE(g, "lstm.l1.t3", 8, 2, 32);
    SHAPE(g, "proj.t3", 8, 64);
    soap_graph_free(g);

    g = load("nmt", o);
    SHAPE(g, "enc.embed.t0", 8, 16);
    SHAPE(g, "dec.l3.t3", 8, 2, 32);
    SHAPE(g, "dec.attn.t3", 8, 32);
    SHAPE(g, "dec.loss.t3", 8, 64);
    soap_graph_free(g);

    g = load("transformer", o);
    SHAPE(g, "embed", 8, 8, 32);
    SHAPE(g, "enc.l1.qk", 8, 4, 8, 8);
    SHAPE(g, "enc.l1.ffn1", 8, 8, 128);
    SHAPE(g, "lm_head", 8, 8, 64);
    ck_assert_int_eq(op_named(g, "enc.l0.pv")->p.heads, 4);
    soap_graph_free(g);
}
END_TEST

Suite *soap_suite_models_tiny(void)
{
    Suite *s = suite_create("models_tiny");
    TCase *tc = tcase_create("structure");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_tiny_same_structure, 0, 2 * NTINY);
    suite_add_tcase(s, tc);

    tc = tcase_create("size");
    tcase_add_loop_test(tc, test_tiny_caps, 0, NCASES);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("options");
    tcase_add_test(tc, test_tiny_defaults);
    tcase_add_test(tc, test_tiny_shapes);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
