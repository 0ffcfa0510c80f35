/* Tests of the built-in models (suite "models"): the registry and
 * soap_model_load; parameter counts of the CNNs exactly and against the
 * published figures; their forward multiply-adds; layer shapes of LeNet,
 * AlexNet, ResNet-101 and Inception-v3; the structure of the unrolled RNNs
 * (op counts from T and the layers, wiring, layer indices, weight sharing,
 * output shapes); the Transformer; and that every model builds for several
 * batches and unrolls with unique op names.
 *
 * Multiply-adds (MACs) are counted here from the op shapes, independently of
 * the ops' cost code: conv vol(out)*Cin*kh*kw, linear vol(out)*K. The
 * published figures (torchvision's "GFLOPS") are such conv + linear MACs
 * per sample; the graph's forward FLOP also hold batchnorm, relu, pooling
 * and softmax work, so they are checked against the MACs separately. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "soap_core.h"
#include "test_util.h"

static soap_error fresh_err(void)
{
    soap_error e;
    soap_error_clear(&e);
    return e;
}

/* Op id of `name`, failing the test when it is missing. */
static int op_id(const soap_graph *g, const char *name)
{
    int id = soap_graph_find(g, name);
    ck_assert_msg(id >= 0, "model %s has no op '%s'", g->name, name);
    return id;
}

static const soap_op *op_named(const soap_graph *g, const char *name)
{
    return &g->ops[op_id(g, name)];
}

/* Asserts the output sizes of op `name` (n dims). */
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

/* Conv + linear multiply-adds of the whole graph (all samples). */
static double conv_linear_macs(const soap_graph *g)
{
    double macs = 0;
    for (int i = 0; i < g->nops; i++) {
        const soap_op *o = &g->ops[i];
        const soap_shape *in = o->ninputs > 0 ? &g->ops[o->inputs[0]].out : NULL;
        double out = (double)soap_shape_volume(&o->out);
        if (o->kind == SOAP_OP_CONV2D)
            macs += out * (double)in->size[1] * o->p.kernel[0] * o->p.kernel[1];
        else if (o->kind == SOAP_OP_LINEAR)
            macs += out * (double)in->size[in->ndims - 1];
    }
    return macs;
}

static int count_kind(const soap_graph *g, soap_op_kind k)
{
    int n = 0;
    for (int i = 0; i < g->nops; i++)
        n += g->ops[i].kind == k;
    return n;
}

static soap_graph *build(const char *name, int64_t batch, int unroll)
{
    soap_model_options o = {.batch = batch, .unroll = unroll};
    soap_error err = fresh_err();
    soap_graph *g = soap_model_load(name, &o, &err);
    ck_assert_msg(g != NULL, "%s: %s", name, err.msg);
    return g;
}

/* Parameters of an LSTM layer: w [4,H,K+H] and b [4,H]. */
static int64_t lstm_params(int64_t k, int64_t h)
{
    return 4 * h * (k + h) + 4 * h;
}

static int64_t linear_params(int64_t k, int64_t f)
{
    return k * f + f;
}

/* ------------------------------------------------------------------ */
/* Registry and loading                                                */
/* ------------------------------------------------------------------ */
static const char *const builtin_names[] = {
    "alexnet",   "inception_v3", "lenet", "nmt",         "resnet101",
    "resnet152", "resnet50",     "rnnlm", "rnntc",       "transformer", "vgg16"};
#define NBUILTIN ((int)(sizeof builtin_names / sizeof builtin_names[0]))

START_TEST(test_registry_lists_all)
{
    const soap_model_info *m = soap_models();
    int n = 0;
    for (; m[n].name; n++) {
        ck_assert_ptr_nonnull(m[n].description);
        ck_assert_ptr_nonnull(m[n].build);
        ck_assert_ptr_eq(soap_model_find(m[n].name), &m[n]);
    }
    ck_assert_int_eq(n, NBUILTIN);
    for (int i = 0; i < NBUILTIN; i++)
        ck_assert_ptr_nonnull(soap_model_find(builtin_names[i]));
    ck_assert_ptr_null(soap_model_find("resnet34"));
    ck_assert_ptr_null(soap_model_find(""));
    ck_assert_ptr_null(soap_model_find(NULL));
}
END_TEST

/* The graph name is the model name; opt NULL means all defaults. */
START_TEST(test_registry_defaults)
{
    for (int i = 0; i < NBUILTIN; i++) {
        soap_error err = fresh_err();
        soap_graph *g = soap_model_load(builtin_names[i], NULL, &err);
        ck_assert_msg(g != NULL, "%s", err.msg);
        ck_assert_str_eq(g->name, builtin_names[i]);
        ck_assert_int_eq(g->batch, 64);
        ck_assert_int_eq(g->ops[0].out.size[0], 64);
        soap_graph_free(g);
    }
    /* rnnlm: 40 steps of tokens, embedding, 2 LSTMs, projection, loss. */
    soap_graph *g = soap_model_load("rnnlm", NULL, NULL);
    ck_assert_int_eq(g->nops, 40 * 6);
    soap_graph_free(g);
    /* transformer: 12 layers of 14 ops, sequence 128. */
    g = soap_model_load("transformer", &(soap_model_options){.batch = -3}, NULL);
    ck_assert_int_eq(g->batch, 64);
    ck_assert_int_eq(g->nops, 3 + 12 * 14 + 2);
    SHAPE(g, "tokens", 64, 128);
    soap_graph_free(g);
}
END_TEST

START_TEST(test_load_unknown)
{
    soap_error err = fresh_err();
    soap_graph *g = soap_model_load("resnet34", NULL, &err);
    ck_assert_ptr_null(g);
    ck_assert_int_eq(err.code, SOAP_ERR_NOT_FOUND);
    ck_assert_msg(strstr(err.msg, "unknown model 'resnet34'") != NULL, "%s", err.msg);
    for (int i = 0; i < NBUILTIN; i++)
        ck_assert_msg(strstr(err.msg, builtin_names[i]) != NULL, "'%s' not listed in: %s",
                      builtin_names[i], err.msg);
    ck_assert_ptr_null(soap_model_load("", NULL, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_INVALID);
    ck_assert_ptr_null(soap_model_load(NULL, NULL, NULL));
}
END_TEST

/* A *.json name goes to the JSON reader even when the file does not exist:
 * the error is the reader's, not "unknown model". */
START_TEST(test_load_missing_json)
{
    soap_error err = fresh_err();
    soap_graph *g = soap_model_load("/nonexistent/soap-model.json", NULL, &err);
    ck_assert_ptr_null(g);
    ck_assert_int_ne(err.code, SOAP_OK);
    ck_assert_msg(strstr(err.msg, "unknown model") == NULL, "%s", err.msg);
}
END_TEST

/* Every model written to a file (any name) loads back as the same graph,
 * shared weights included. */
START_TEST(test_load_file_round_trip)
{
    soap_graph *g = build(builtin_names[_i], 8, 3);
    char path[128];
    soap_test_tmpfile(path, sizeof path, ".model");
    soap_error err = fresh_err();
    ck_assert_msg(soap_graph_write_json(g, path, &err) == SOAP_OK, "%s", err.msg);
    soap_graph *h = soap_model_load(path, &(soap_model_options){.batch = 32}, &err);
    ck_assert_msg(h != NULL, "%s", err.msg);
    /* Files carry their own batch: opt->batch does not change it. */
    ck_assert_int_eq(h->batch, 8);
    ck_assert_int_eq(h->nops, g->nops);
    ck_assert_int_eq(soap_graph_param_count(h), soap_graph_param_count(g));
    ck_assert(soap_graph_fingerprint(h) == soap_graph_fingerprint(g));
    soap_graph_free(h);
    soap_graph_free(g);
    unlink(path);
}
END_TEST

/* ------------------------------------------------------------------ */
/* CNNs: parameters and multiply-adds                                  */
/* ------------------------------------------------------------------ */
typedef struct cnn_case {
    const char *name;
    int64_t params;           /* exact, torchvision's count */
    double published_params;  /* the paper's rounded figure */
    double published_macs;    /* per sample, forward */
    double macs_tol;          /* relative */
} cnn_case;

static const cnn_case cnn_cases[] = {
    /* Krizhevsky 2014 / torchvision: 61.1M, 0.72 GMAC (torchvision 0.71). */
    {"alexnet", 61100840, 61.1e6, 0.72e9, 0.02},
    /* He et al. 2016: 44.5M parameters, 7.8 GFLOPs (multiply-adds). */
    {"resnet101", 44549160, 44.5e6, 7.8e9, 0.02},
    /* torchvision: ResNet-50 25.6M, 4.09 GMAC; ResNet-152 60.2M, 11.51 G. */
    {"resnet50", 25557032, 25.6e6, 4.09e9, 0.02},
    {"resnet152", 60192808, 60.2e6, 11.51e9, 0.02},
    /* Simonyan, Zisserman 2015 (configuration D): 138M parameters, 15.5G
     * multiply-adds; torchvision 138,357,544 and 15.47 G. */
    {"vgg16", 138357544, 138.36e6, 15.47e9, 0.02},
    /* torchvision: 27.2M with the auxiliary head, 23.8M without; 5.71 G. */
    {"inception_v3", 23834568, 23.8e6, 5.7e9, 0.02},
};

START_TEST(test_cnn_figures)
{
    const cnn_case *c = &cnn_cases[_i];
    soap_graph *g = build(c->name, 16, 0);
    int64_t params = soap_graph_param_count(g);
    ck_assert_msg(params == c->params, "%s: %lld parameters, want %lld", c->name,
                  (long long)params, (long long)c->params);
    ck_assert_msg(fabs((double)params - c->published_params) <= 0.02 * c->published_params,
                  "%s: %lld parameters, published %.4g", c->name, (long long)params,
                  c->published_params);

    /* Conv + linear multiply-adds per sample vs the published figure. */
    double macs = conv_linear_macs(g) / 16.0;
    ck_assert_msg(fabs(macs - c->published_macs) <= c->macs_tol * c->published_macs,
                  "%s: %.4g conv+linear MACs per sample, published %.4g", c->name, macs,
                  c->published_macs);
    /* The graph's forward FLOP: the conv and linear products (2 FLOP per
     * MAC) plus their biases and the elementwise, norm and pooling work,
     * which in these CNNs adds well under 3%. */
    double fwd = soap_graph_forward_flops(g);
    double products = 2.0 * conv_linear_macs(g);
    ck_assert_msg(fwd >= products && fwd <= 1.03 * products,
                  "%s: forward %.4g FLOP, conv+linear products %.4g", c->name, fwd, products);
    /* Backward costs about twice the forward. */
    double bwd = soap_graph_backward_flops(g);
    ck_assert_msg(bwd > 1.8 * fwd && bwd < 2.2 * fwd, "%s: backward %.4g vs forward %.4g",
                  c->name, bwd, fwd);
    soap_graph_free(g);
}
END_TEST

/* LeNet by hand: conv1 20*1*25 + 20 = 520; conv2 50*20*25 + 50 = 25,050;
 * ip1 800*500 + 500 = 400,500; ip2 500*10 + 10 = 5,010; 431,080 in all.
 * MACs per sample: 24*24*20*25 = 288,000; 8*8*50*20*25 = 1,600,000;
 * 800*500 = 400,000; 500*10 = 5,000; 2,293,000 in all. */
START_TEST(test_lenet)
{
    soap_graph *g = build("lenet", 4, 0);
    ck_assert_int_eq(soap_graph_param_count(g), 520 + 25050 + 400500 + 5010);
    ck_assert_int_eq(soap_graph_param_count(g), 431080);
    ck_assert_double_eq_tol(conv_linear_macs(g), 4.0 * 2293000, 0.5);
    SHAPE(g, "data", 4, 1, 28, 28);
    SHAPE(g, "conv1", 4, 20, 24, 24);
    SHAPE(g, "pool1", 4, 20, 12, 12);
    SHAPE(g, "conv2", 4, 50, 8, 8);
    SHAPE(g, "pool2", 4, 50, 4, 4);
    SHAPE(g, "flatten", 4, 800);
    SHAPE(g, "ip1", 4, 500);
    SHAPE(g, "ip2", 4, 10);
    SHAPE(g, "loss", 4, 10);
    ck_assert_int_eq(g->nops, 10);
    ck_assert_int_eq(g->ops[g->nops - 1].kind, SOAP_OP_SOFTMAX_CE);
    soap_graph_free(g);
}
END_TEST

START_TEST(test_alexnet_shapes)
{
    soap_graph *g = build("alexnet", 2, 0);
    SHAPE(g, "conv1", 2, 64, 55, 55); /* (224 + 4 - 11)/4 + 1 */
    SHAPE(g, "pool1", 2, 64, 27, 27);
    SHAPE(g, "conv2", 2, 192, 27, 27);
    SHAPE(g, "pool2", 2, 192, 13, 13);
    SHAPE(g, "conv5", 2, 256, 13, 13);
    SHAPE(g, "pool5", 2, 256, 6, 6);
    SHAPE(g, "flatten", 2, 9216);
    SHAPE(g, "fc8", 2, 1000);
    ck_assert_int_eq(count_kind(g, SOAP_OP_CONV2D), 5);
    ck_assert_int_eq(count_kind(g, SOAP_OP_LINEAR), 3);
    ck_assert_int_eq(count_kind(g, SOAP_OP_UNARY), 7);
    soap_graph_free(g);
}
END_TEST

START_TEST(test_resnet101_shapes)
{
    soap_graph *g = build("resnet101", 2, 0);
    SHAPE(g, "conv1", 2, 64, 112, 112);
    SHAPE(g, "maxpool", 2, 64, 56, 56);
    SHAPE(g, "layer1.2.relu3", 2, 256, 56, 56);
    SHAPE(g, "layer2.0.conv2", 2, 128, 28, 28); /* stride in the 3x3 (v1.5) */
    SHAPE(g, "layer2.0.downsample.1", 2, 512, 28, 28);
    SHAPE(g, "layer2.3.relu3", 2, 512, 28, 28);
    SHAPE(g, "layer3.22.relu3", 2, 1024, 14, 14);
    SHAPE(g, "layer4.2.relu3", 2, 2048, 7, 7);
    SHAPE(g, "avgpool", 2, 2048, 1, 1);
    SHAPE(g, "fc", 2, 1000);
    ck_assert_int_eq(soap_graph_find(g, "layer3.23.conv1"), -1);
    ck_assert_int_eq(soap_graph_find(g, "layer1.1.downsample.0"), -1);
    /* 1 stem conv + 33 blocks x 3 + 4 projections; a batchnorm after each;
     * 33 residual adds. */
    ck_assert_int_eq(count_kind(g, SOAP_OP_CONV2D), 1 + 33 * 3 + 4);
    ck_assert_int_eq(count_kind(g, SOAP_OP_BATCHNORM), 1 + 33 * 3 + 4);
    ck_assert_int_eq(count_kind(g, SOAP_OP_BINARY), 33);
    /* The shortcut of an identity block is the previous block's output. */
    const soap_op *add = op_named(g, "layer3.5.add");
    ck_assert_int_eq(add->ninputs, 2);
    ck_assert_int_eq(add->inputs[0], op_id(g, "layer3.5.bn3"));
    ck_assert_int_eq(add->inputs[1], op_id(g, "layer3.4.relu3"));
    add = op_named(g, "layer4.0.add");
    ck_assert_int_eq(add->inputs[1], op_id(g, "layer4.0.downsample.1"));
    for (int i = 0; i < g->nops; i++)
        if (g->ops[i].kind == SOAP_OP_CONV2D)
            ck_assert_msg(!g->ops[i].p.has_bias, "%s has a bias", g->ops[i].name);
    soap_graph_free(g);
}
END_TEST

START_TEST(test_inception_v3_shapes)
{
    soap_graph *g = build("inception_v3", 2, 0);
    SHAPE(g, "Conv2d_1a_3x3.relu", 2, 32, 149, 149);
    SHAPE(g, "Conv2d_2b_3x3.relu", 2, 64, 147, 147);
    SHAPE(g, "maxpool1", 2, 64, 73, 73);
    SHAPE(g, "Conv2d_4a_3x3.relu", 2, 192, 71, 71);
    SHAPE(g, "maxpool2", 2, 192, 35, 35);
    SHAPE(g, "Mixed_5b.concat", 2, 256, 35, 35);
    SHAPE(g, "Mixed_5c.concat", 2, 288, 35, 35);
    SHAPE(g, "Mixed_5d.concat", 2, 288, 35, 35);
    SHAPE(g, "Mixed_6a.concat", 2, 768, 17, 17);
    SHAPE(g, "Mixed_6b.branch7x7_2.conv", 2, 128, 17, 17); /* 1x7 pad (0,3) */
    SHAPE(g, "Mixed_6e.concat", 2, 768, 17, 17);
    SHAPE(g, "Mixed_7a.concat", 2, 1280, 8, 8);
    SHAPE(g, "Mixed_7b.branch3x3_2b.conv", 2, 384, 8, 8); /* 3x1 pad (1,0) */
    SHAPE(g, "Mixed_7b.concat", 2, 2048, 8, 8);
    SHAPE(g, "Mixed_7c.concat", 2, 2048, 8, 8);
    SHAPE(g, "avgpool", 2, 2048, 1, 1);
    SHAPE(g, "fc", 2, 1000);
    /* Asymmetric kernels keep their orientation. */
    const soap_op *c = op_named(g, "Mixed_6c.branch7x7dbl_2.conv");
    ck_assert_int_eq(c->p.kernel[0], 7);
    ck_assert_int_eq(c->p.kernel[1], 1);
    ck_assert_int_eq(c->p.pad[0], 3);
    ck_assert_int_eq(c->p.pad[1], 0);
    /* 94 BasicConv2d: stem 5, A 3x7, B 4, C 4x10, D 6, E 2x9; 11 blocks. */
    ck_assert_int_eq(count_kind(g, SOAP_OP_CONV2D), 94);
    ck_assert_int_eq(count_kind(g, SOAP_OP_BATCHNORM), 94);
    ck_assert_int_eq(count_kind(g, SOAP_OP_CONCAT), 11);
    ck_assert_int_eq(op_named(g, "Mixed_7c.concat")->p.axis, 1);
    ck_assert_int_eq(soap_graph_find(g, "AuxLogits.fc"), -1);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* RNNs                                                                */
/* ------------------------------------------------------------------ */
/* Hand-derived parameters (independent of T): */
#define RNNTC_PARAMS (10000 * 1024 + 4 * lstm_params(1024, 1024) + linear_params(1024, 2))
#define RNNLM_PARAMS (10000 * 1024 + 2 * lstm_params(1024, 1024) + linear_params(1024, 10000))
#define NMT_PARAMS                                                                      \
    (2 * 32000 * 1024 + 8 * lstm_params(1024, 1024) + 1024 * 2048 +                     \
     linear_params(1024, 32000))

typedef struct rnn_case {
    const char *name;
    int unroll;
    int nops; /* derived from T and the layers */
} rnn_case;

static const rnn_case rnn_cases[] = {
    /* T x (tokens, embedding, 4 LSTMs) + classifier + loss */
    {"rnntc", 4, 4 * 6 + 2},
    {"rnntc", 40, 40 * 6 + 2},
    /* T x (tokens, embedding, 2 LSTMs, projection, loss) */
    {"rnnlm", 4, 4 * 6},
    {"rnnlm", 1, 6},
    {"rnnlm", 40, 40 * 6},
    /* encoder T x (tokens, embedding, 4 LSTMs) + decoder T x (tokens,
     * embedding, 4 LSTMs, attention, projection, loss) */
    {"nmt", 4, 4 * 6 + 4 * 9},
    {"nmt", 40, 40 * 6 + 40 * 9},
};

static int64_t rnn_params(const char *name)
{
    if (!strcmp(name, "rnntc"))
        return RNNTC_PARAMS;
    if (!strcmp(name, "rnnlm"))
        return RNNLM_PARAMS;
    return NMT_PARAMS;
}

/* Op counts follow T; parameters do not (weights shared across steps). */
START_TEST(test_rnn_counts_and_sharing)
{
    const rnn_case *c = &rnn_cases[_i];
    soap_graph *g = build(c->name, 8, c->unroll);
    ck_assert_msg(g->nops == c->nops, "%s T=%d: %d ops, want %d", c->name, c->unroll,
                  g->nops, c->nops);
    ck_assert_int_eq(soap_graph_param_count(g), rnn_params(c->name));
    ck_assert_int_eq(count_kind(g, SOAP_OP_INPUT), (strcmp(c->name, "nmt") ? 1 : 2) *
                                                       c->unroll);
    /* Every op's layer index is set, and the steps share the weights of
     * step 0: every weight tensor is owned by a step-0 op (or by rnntc's
     * single classifier). */
    for (int i = 0; i < g->nops; i++) {
        const soap_op *o = &g->ops[i];
        ck_assert_msg(o->layer >= 0, "%s: op %s has no layer", c->name, o->name);
        for (int k = 0; k < o->nweights; k++) {
            const soap_op *owner = &g->ops[g->weights[o->weights[k]].owner];
            size_t len = strlen(owner->name);
            int step0 = len > 3 && !strcmp(owner->name + len - 3, ".t0");
            ck_assert_msg(step0 || !strcmp(owner->name, "classifier"),
                          "%s: %s uses weights of %s", c->name, o->name, owner->name);
        }
    }
    soap_graph_free(g);
}
END_TEST

START_TEST(test_rnnlm_structure)
{
    soap_graph *g = build("rnnlm", 8, 4);
    /* Layer 1's step 3 reads layer 0's step 3 (x) and its own step 2. */
    const soap_op *l = op_named(g, "lstm.l1.t3");
    ck_assert_int_eq(l->kind, SOAP_OP_LSTM);
    ck_assert_int_eq(l->ninputs, 2);
    ck_assert_int_eq(l->inputs[0], op_id(g, "lstm.l0.t3"));
    ck_assert_int_eq(l->inputs[1], op_id(g, "lstm.l1.t2"));
    ck_assert_int_eq(l->layer, 1);
    ck_assert_int_eq(op_named(g, "lstm.l0.t3")->inputs[0], op_id(g, "embed.t3"));
    ck_assert_int_eq(op_named(g, "embed.t3")->inputs[0], op_id(g, "tokens.t3"));
    /* Step 0 starts from zeros: no state input. */
    ck_assert_int_eq(op_named(g, "lstm.l0.t0")->ninputs, 1);
    /* Shared weights: the same tensor ids as step 0. */
    const soap_op *l0 = op_named(g, "lstm.l1.t0");
    ck_assert_int_eq(l->nweights, 2);
    ck_assert_int_eq(l->weights[0], l0->weights[0]);
    ck_assert_int_eq(l->weights[1], l0->weights[1]);
    ck_assert_int_eq(op_named(g, "embed.t2")->weights[0], op_named(g, "embed.t0")->weights[0]);
    ck_assert_int_eq(op_named(g, "proj.t3")->weights[0], op_named(g, "proj.t0")->weights[0]);
    ck_assert_int_ne(op_named(g, "proj.t0")->weights[0], op_named(g, "embed.t0")->weights[0]);
    /* Shapes: ids [N] (int32), states [N,2,H], projection from h to V: a
     * linear fed an LSTM state [N,2,H] reads its h, as LSTM x inputs and
     * attention do (so [N,V], not [N,2,V] with c projected too). */
    SHAPE(g, "tokens.t0", 8);
    ck_assert(op_named(g, "tokens.t0")->p.is_index);
    SHAPE(g, "embed.t0", 8, 1024);
    SHAPE(g, "lstm.l1.t3", 8, 2, 1024);
    ck_assert_int_eq(op_named(g, "proj.t3")->inputs[0], op_id(g, "lstm.l1.t3"));
    SHAPE(g, "proj.t3", 8, 10000);
    SHAPE(g, "loss.t3", 8, 10000);
    ck_assert_int_eq(op_named(g, "loss.t3")->kind, SOAP_OP_SOFTMAX_CE);
    ck_assert_int_eq(op_named(g, "proj.t3")->layer, 1);
    ck_assert_int_eq(op_named(g, "embed.t3")->layer, 0);
    ck_assert_int_eq(count_kind(g, SOAP_OP_SOFTMAX_CE), 4);
    ck_assert_int_eq(soap_graph_find(g, "lstm.l2.t0"), -1);
    ck_assert_int_eq(soap_graph_find(g, "lstm.l0.t4"), -1);
    soap_graph_free(g);
}
END_TEST

START_TEST(test_rnntc_structure)
{
    soap_graph *g = build("rnntc", 8, 4);
    for (int layer = 0; layer < 4; layer++) {
        char nm[SOAP_NAME_MAX];
        snprintf(nm, sizeof nm, "lstm.l%d.t2", layer);
        ck_assert_int_eq(op_named(g, nm)->layer, layer);
        SHAPE(g, nm, 8, 2, 1024);
    }
    /* One classifier after the last step, on the top layer's h: [N,2]. */
    const soap_op *c = op_named(g, "classifier");
    ck_assert_int_eq(c->inputs[0], op_id(g, "lstm.l3.t3"));
    ck_assert_int_eq(c->layer, 3);
    SHAPE(g, "classifier", 8, 2);
    SHAPE(g, "loss", 8, 2);
    ck_assert_int_eq(count_kind(g, SOAP_OP_SOFTMAX_CE), 1);
    ck_assert_int_eq(count_kind(g, SOAP_OP_LINEAR), 1);
    ck_assert_int_eq(op_named(g, "tokens.t3")->layer, 0);
    soap_graph_free(g);
}
END_TEST

START_TEST(test_nmt_structure)
{
    const int T = 4;
    soap_graph *g = build("nmt", 8, T);
    /* Encoder layers 0..3, decoder layers 4..7. */
    ck_assert_int_eq(op_named(g, "enc.l2.t1")->layer, 2);
    ck_assert_int_eq(op_named(g, "dec.l2.t1")->layer, 6);
    ck_assert_int_eq(op_named(g, "dec.embed.t1")->layer, 4);
    ck_assert_int_eq(op_named(g, "enc.embed.t1")->layer, 0);
    /* Decoder layer l starts from encoder layer l's last state. */
    for (int l = 0; l < 4; l++) {
        char d[SOAP_NAME_MAX], e[SOAP_NAME_MAX];
        snprintf(d, sizeof d, "dec.l%d.t0", l);
        snprintf(e, sizeof e, "enc.l%d.t%d", l, T - 1);
        const soap_op *o = op_named(g, d);
        ck_assert_int_eq(o->ninputs, 2);
        ck_assert_int_eq(o->inputs[1], op_id(g, e));
        /* Encoder and decoder have their own LSTM weights. */
        snprintf(e, sizeof e, "enc.l%d.t0", l);
        ck_assert_int_ne(o->weights[0], op_named(g, e)->weights[0]);
    }
    ck_assert_int_ne(op_named(g, "dec.embed.t0")->weights[0],
                     op_named(g, "enc.embed.t0")->weights[0]);
    /* Attention: the decoder's top state, then the T encoder top states. */
    const soap_op *a = op_named(g, "dec.attn.t2");
    ck_assert_int_eq(a->kind, SOAP_OP_ATTENTION);
    ck_assert_int_eq(a->ninputs, 1 + T);
    ck_assert_int_eq(a->inputs[0], op_id(g, "dec.l3.t2"));
    for (int t = 0; t < T; t++) {
        char e[SOAP_NAME_MAX];
        snprintf(e, sizeof e, "enc.l3.t%d", t);
        ck_assert_int_eq(a->inputs[1 + t], op_id(g, e));
    }
    ck_assert_int_eq(a->layer, 7);
    ck_assert_int_eq(a->weights[0], op_named(g, "dec.attn.t0")->weights[0]);
    SHAPE(g, "dec.attn.t2", 8, 1024);
    const soap_op *p = op_named(g, "dec.proj.t2");
    ck_assert_int_eq(p->inputs[0], op_id(g, "dec.attn.t2"));
    ck_assert_int_eq(p->layer, 7);
    ck_assert_int_eq(p->weights[0], op_named(g, "dec.proj.t0")->weights[0]);
    SHAPE(g, "dec.proj.t2", 8, 32000);
    SHAPE(g, "dec.loss.t3", 8, 32000);
    ck_assert_int_eq(op_named(g, "dec.loss.t3")->layer, 7);
    ck_assert_int_eq(count_kind(g, SOAP_OP_SOFTMAX_CE), T);
    ck_assert_int_eq(count_kind(g, SOAP_OP_LSTM), 8 * T);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Transformer                                                         */
/* ------------------------------------------------------------------ */
/* Per layer: q, k, v, attn_out 768x768 + 768; two layernorms 2 x 1,536;
 * ffn1 768x3072 + 3072; ffn2 3072x768 + 768. */
static int64_t tf_params(int layers)
{
    int64_t per_layer = 4 * linear_params(768, 768) + 2 * 2 * 768 + linear_params(768, 3072) +
                        linear_params(3072, 768);
    ck_assert_int_eq(per_layer, 7087872); /* BERT-base's per-layer count */
    return 30522 * 768 + 2 * 768 + layers * per_layer + linear_params(768, 30522);
}

typedef struct tf_case {
    int layers, seq;
} tf_case;
static const tf_case tf_cases[] = {{12, 128}, {2, 16}, {1, 64}};

START_TEST(test_transformer)
{
    const tf_case *c = &tf_cases[_i];
    const int64_t n = 2, s = c->seq;
    soap_model_options o = {.batch = n, .layers = c->layers, .seq_len = c->seq};
    soap_error err = fresh_err();
    soap_graph *g = soap_model_load("transformer", &o, &err);
    ck_assert_msg(g != NULL, "%s", err.msg);
    ck_assert_int_eq(g->nops, 3 + 14 * c->layers + 2);
    ck_assert_int_eq(soap_graph_param_count(g), tf_params(c->layers));
    SHAPE(g, "tokens", n, s);
    ck_assert(op_named(g, "tokens")->p.is_index);
    SHAPE(g, "embed", n, s, 768);
    char nm[SOAP_NAME_MAX];
    const int last = c->layers - 1;
#define LNAME(l, x) (snprintf(nm, sizeof nm, "enc.l%d.%s", l, x), nm)
    SHAPE(g, LNAME(last, "q"), n, s, 768);
    SHAPE(g, LNAME(last, "qk"), n, 12, s, s);
    SHAPE(g, LNAME(last, "softmax"), n, 12, s, s);
    SHAPE(g, LNAME(last, "pv"), n, s, 768);
    SHAPE(g, LNAME(last, "ffn1"), n, s, 3072);
    SHAPE(g, LNAME(last, "ffn_ln"), n, s, 768);
    ck_assert_int_eq(op_named(g, LNAME(last, "qk"))->p.heads, 12);
    ck_assert_int_eq(op_named(g, LNAME(last, "ffn_ln"))->layer, last);
    /* Residuals: attn_add adds the layer's input, ffn_add attn_ln. */
    const soap_op *add = op_named(g, LNAME(0, "attn_add"));
    ck_assert_int_eq(add->inputs[1], op_id(g, "embed.ln"));
    add = op_named(g, LNAME(last, "ffn_add"));
    ck_assert_int_eq(add->inputs[1], op_id(g, LNAME(last, "attn_ln")));
#undef LNAME
    SHAPE(g, "lm_head", n, s, 30522);
    SHAPE(g, "loss", n, s, 30522);
    ck_assert_int_eq(op_named(g, "lm_head")->layer, last);
    ck_assert_int_eq(op_named(g, "embed")->layer, 0);
    /* Linear MACs per token: 12 x 768 x 768 ... = 7,077,888 per layer
     * (q, k, v, out 4 x 589,824; ffn 2 x 2,359,296), the head 768 x
     * 30,522. The qk and pv products add 2 x S^2 x 768 per layer and
     * sample; the graph's forward FLOP must hold all of them. */
    double lin = (double)n * s * (c->layers * 7077888.0 + 768.0 * 30522);
    ck_assert_double_eq_tol(conv_linear_macs(g), lin, 0.5);
    double attn = (double)n * c->layers * 2.0 * s * s * 768;
    double fwd = soap_graph_forward_flops(g);
    ck_assert_msg(fwd >= 2 * (lin + attn) && fwd <= 1.05 * 2 * (lin + attn),
                  "forward %.4g FLOP, products %.4g", fwd, 2 * (lin + attn));
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Every model, several sizes                                          */
/* ------------------------------------------------------------------ */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static const int64_t batches[] = {1, 64, 256};
static const int unrolls[] = {4, 40};
#define NBATCH 3
#define NUNROLL 2

/* _i enumerates model x batch x unroll. */
START_TEST(test_builds_everywhere)
{
    const char *name = builtin_names[_i / (NBATCH * NUNROLL)];
    const int64_t n = batches[(_i / NUNROLL) % NBATCH];
    const int unroll = unrolls[_i % NUNROLL];
    soap_graph *g = build(name, n, unroll);
    ck_assert_str_eq(g->name, name);
    ck_assert_int_eq(g->batch, n);
    ck_assert_int_gt(g->nops, 0);
    /* Every op: inputs earlier, the batch in dim 0 and SAMPLE there (so
     * data parallelism can split every op), a readable unique name. */
    const char **names = soap_xmalloc((size_t)g->nops * sizeof *names);
    for (int i = 0; i < g->nops; i++) {
        const soap_op *o = &g->ops[i];
        ck_assert_msg(o->name[0] != '\0' && strchr(o->name, ' ') == NULL, "op %d: '%s'", i,
                      o->name);
        ck_assert_int_eq(soap_graph_find(g, o->name), i);
        for (int k = 0; k < o->ninputs; k++)
            ck_assert_int_lt(o->inputs[k], i);
        ck_assert_msg(o->out.size[0] == n && o->out.kind[0] == SOAP_DIM_SAMPLE,
                      "%s.%s: dim 0 is not the batch", name, o->name);
        names[i] = o->name;
    }
    qsort(names, (size_t)g->nops, sizeof *names, cmp_str);
    for (int i = 1; i < g->nops; i++)
        ck_assert_msg(strcmp(names[i - 1], names[i]) != 0, "%s: op name '%s' twice", name,
                      names[i]);
    free(names);
    /* Ends in a loss; every op but the losses feeds another op. */
    ck_assert_int_eq(g->ops[g->nops - 1].kind, SOAP_OP_SOFTMAX_CE);
    char *used = soap_xcalloc((size_t)g->nops, 1);
    for (int i = 0; i < g->nops; i++)
        for (int k = 0; k < g->ops[i].ninputs; k++)
            used[g->ops[i].inputs[k]] = 1;
    for (int i = 0; i < g->nops; i++)
        ck_assert_msg(used[i] || g->ops[i].kind == SOAP_OP_SOFTMAX_CE, "%s: %s is unused",
                      name, g->ops[i].name);
    free(used);
    /* The batch enters the fingerprint; the parameters do not depend on it. */
    soap_graph *h = build(name, n + 1, unroll);
    ck_assert(soap_graph_fingerprint(h) != soap_graph_fingerprint(g));
    ck_assert_int_eq(soap_graph_param_count(h), soap_graph_param_count(g));
    soap_graph_free(h);
    soap_graph_free(g);
}
END_TEST

/* The same options build the same graph. */
START_TEST(test_deterministic)
{
    soap_graph *a = build(builtin_names[_i], 4, 3);
    soap_graph *b = build(builtin_names[_i], 4, 3);
    ck_assert(soap_graph_fingerprint(a) == soap_graph_fingerprint(b));
    ck_assert_int_eq(a->nops, b->nops);
    for (int i = 0; i < a->nops; i++)
        ck_assert_str_eq(a->ops[i].name, b->ops[i].name);
    soap_graph_free(a);
    soap_graph_free(b);
}
END_TEST

Suite *soap_suite_models(void)
{
    Suite *s = suite_create("models");
    TCase *tc = tcase_create("registry");
    tcase_add_test(tc, test_registry_lists_all);
    tcase_add_test(tc, test_registry_defaults);
    tcase_add_test(tc, test_load_unknown);
    tcase_add_test(tc, test_load_missing_json);
    tcase_add_loop_test(tc, test_load_file_round_trip, 0, NBUILTIN);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("cnn_figures");
    tcase_add_loop_test(tc, test_cnn_figures, 0,
                        (int)(sizeof cnn_cases / sizeof cnn_cases[0]));
    tcase_add_test(tc, test_lenet);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("cnn_shapes");
    tcase_add_test(tc, test_alexnet_shapes);
    tcase_add_test(tc, test_resnet101_shapes);
    tcase_add_test(tc, test_inception_v3_shapes);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("rnn");
    tcase_add_loop_test(tc, test_rnn_counts_and_sharing, 0,
                        (int)(sizeof rnn_cases / sizeof rnn_cases[0]));
    tcase_add_test(tc, test_rnnlm_structure);
    tcase_add_test(tc, test_rnntc_structure);
    tcase_add_test(tc, test_nmt_structure);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("transformer");
    tcase_add_loop_test(tc, test_transformer, 0, (int)(sizeof tf_cases / sizeof tf_cases[0]));
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("all_models");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_builds_everywhere, 0, NBUILTIN * NBATCH * NUNROLL);
    tcase_add_loop_test(tc, test_deterministic, 0, NBUILTIN);
    suite_add_tcase(s, tc);
    return s;
}
