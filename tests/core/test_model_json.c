/* Tests of model files (suite "model_json"): every built-in model written and
 * read back (same fingerprint, parameters, FLOP, names, layers, sharing; a
 * second write byte-identical), the hand-written files of tests/data/models
 * against hand-computed parameter counts and the built-in LeNet, the exact
 * text the writer emits and the readers' defaults, and bad files with their
 * messages (file, place, what was expected). */
#include <check.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soap_core.h"
#include "test_util.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* The whole content of a file (malloc'd, NUL-terminated). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    ck_assert(s != NULL);
    ck_assert_int_eq((long)fread(s, 1, (size_t)n, f), n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static soap_graph *read_ok(const char *path)
{
    soap_error err;
    soap_error_clear(&err);
    soap_graph *g = soap_graph_read_json(path, &err);
    ck_assert_msg(g != NULL, "reading %s: %s", path, err.msg);
    return g;
}

static void write_ok(const soap_graph *g, const char *path)
{
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_graph_write_json(g, path, &err) == SOAP_OK, "writing %s: %s", path,
                  err.msg);
}

/* A graph read from `text` (written to a temporary file). */
static soap_graph *read_text(const char *text)
{
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    soap_test_write(path, text);
    soap_graph *g = read_ok(path);
    unlink(path);
    return g;
}

/* Everything the structure holds, op by op (the fingerprint covers most of
 * it, but names and layers do not enter it). */
static void assert_same_graph(const soap_graph *a, const soap_graph *b)
{
    ck_assert_str_eq(a->name, b->name);
    ck_assert_int_eq(a->batch, b->batch);
    ck_assert_int_eq(a->nops, b->nops);
    ck_assert_int_eq(a->nweights, b->nweights);
    for (int i = 0; i < a->nops; i++) {
        const soap_op *x = &a->ops[i], *y = &b->ops[i];
        ck_assert_str_eq(x->name, y->name);
        ck_assert_int_eq(x->kind, y->kind);
        ck_assert_int_eq(x->layer, y->layer);
        ck_assert_int_eq(x->ninputs, y->ninputs);
        for (int k = 0; k < x->ninputs; k++)
            ck_assert_int_eq(x->inputs[k], y->inputs[k]);
        ck_assert_int_eq(x->nweights, y->nweights);
        for (int k = 0; k < x->nweights; k++)
            ck_assert_int_eq(x->weights[k], y->weights[k]);
        ck_assert_int_eq(x->out.ndims, y->out.ndims);
        for (int d = 0; d < x->out.ndims; d++) {
            ck_assert_int_eq(x->out.size[d], y->out.size[d]);
            ck_assert_int_eq(x->out.kind[d], y->out.kind[d]);
        }
        ck_assert_str_eq(x->p.share_weights, y->p.share_weights);
    }
    ck_assert_uint_eq(soap_graph_fingerprint(a), soap_graph_fingerprint(b));
    ck_assert_int_eq(soap_graph_param_count(a), soap_graph_param_count(b));
    ck_assert(soap_graph_forward_flops(a) == soap_graph_forward_flops(b));
    ck_assert(soap_graph_backward_flops(a) == soap_graph_backward_flops(b));
}

/* ------------------------------------------------------------------ */
/* Round trips of the built-in models                                  */
/* ------------------------------------------------------------------ */

static int nmodels(void)
{
    int n = 0;
    while (soap_models()[n].name)
        n++;
    return n;
}

START_TEST(test_builtin_roundtrip)
{
    const soap_model_info *info = &soap_models()[_i];
    /* Small sizes keep the test quick; batch 16 differs from the default 64
     * so the file's batch is what is read back. */
    soap_model_options opt = {.batch = 16, .unroll = 5, .layers = 2, .seq_len = 32};
    soap_graph *g = info->build(&opt);
    char a[64], b[64];
    soap_test_tmpfile(a, sizeof a, ".json");
    soap_test_tmpfile(b, sizeof b, ".json");
    write_ok(g, a);
    soap_graph *h = read_ok(a);
    assert_same_graph(g, h);
    write_ok(h, b);
    char *ta = slurp(a), *tb = slurp(b);
    ck_assert_msg(strcmp(ta, tb) == 0, "%s: second write differs from the first", info->name);
    free(ta);
    free(tb);
    unlink(a);
    unlink(b);
    soap_graph_free(h);
    soap_graph_free(g);
}
END_TEST

/* Every built-in model (full and tiny) through soap_graph_to_json, a file
 * and back: the same fingerprint; the document is what the writer writes. */
START_TEST(test_builtin_to_json)
{
    const soap_model_info *info = &soap_models()[_i / 2];
    soap_model_options opt = {.batch = 8, .unroll = 3, .layers = 2, .seq_len = 16,
                              .tiny = _i % 2};
    soap_graph *g = info->build(&opt);
    json_t *doc = soap_graph_to_json(g);
    ck_assert_ptr_nonnull(doc);
    char a[64], b[64];
    soap_test_tmpfile(a, sizeof a, ".json");
    soap_test_tmpfile(b, sizeof b, ".json");
    ck_assert_int_eq(json_dump_file(doc, a, JSON_COMPACT), 0);
    soap_graph *h = read_ok(a);
    ck_assert_msg(soap_graph_fingerprint(h) == soap_graph_fingerprint(g), "%s: fingerprint",
                  info->name);
    ck_assert_str_eq(h->name, g->name);
    /* The writer's file holds the same document. */
    write_ok(g, b);
    json_error_t jerr;
    json_t *back = json_load_file(b, 0, &jerr);
    ck_assert_ptr_nonnull(back);
    ck_assert_msg(json_equal(doc, back), "%s: the written file is another document", info->name);
    json_decref(back);
    json_decref(doc);
    unlink(a);
    unlink(b);
    soap_graph_free(h);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* The files of tests/data/models                                      */
/* ------------------------------------------------------------------ */

typedef struct data_file {
    const char *file;
    const char *name;
    int nops;
    int64_t batch;
    int64_t params; /* by hand, see the comments */
    const char *last_shape;
} data_file;

static const data_file data_files[] = {
    /* conv1 20*1*25+20 = 520, conv2 50*20*25+50 = 25,050, ip1 800*500+500 =
     * 400,500, ip2 500*10+10 = 5,010 (LeCun's LeNet: 431,080). */
    {"models/lenet.json", "lenet", 10, 64, 431080, "[64,10]"},
    /* branch3x3 16*3*9 = 432 (no bias), branch1x1 16*3+16 = 64, batchnorm
     * 2*32 = 64, fc 32*16*16*10+10 = 81,930. */
    {"models/tiny_cnn.json", "tiny_cnn", 10, 8, 82490, "[8,10]"},
    /* embedding 100*16 = 1,600 (shared by both steps), LSTM 4*32*(16+32) +
     * 4*32 = 6,272 (shared), attention Wc 32*64 = 2,048, out 32*100+100 =
     * 3,300. */
    {"models/tiny_rnn.json", "tiny_rnn", 11, 4, 13220, "[4,100]"},
    /* embedding 50*16 = 800, layernorm 2*16 = 32, q/k/v 3*(16*16+16) = 816,
     * logits tied to the embedding: 0. */
    {"models/tiny_attention.json", "tiny_attention", 13, 2, 1648, "[2,8,50]"},
};

START_TEST(test_data_file)
{
    const data_file *t = &data_files[_i];
    char path[512], sh[96];
    soap_graph *g = read_ok(soap_test_data(t->file, path, sizeof path));
    ck_assert_str_eq(g->name, t->name);
    ck_assert_int_eq(g->nops, t->nops);
    ck_assert_int_eq(g->batch, t->batch);
    ck_assert_int_eq(soap_graph_param_count(g), t->params);
    ck_assert_str_eq(soap_shape_str(&g->ops[g->nops - 1].out, sh, sizeof sh), t->last_shape);
    /* And the file survives a round trip. */
    char out[64];
    soap_test_tmpfile(out, sizeof out, ".json");
    write_ok(g, out);
    soap_graph *h = read_ok(out);
    assert_same_graph(g, h);
    unlink(out);
    soap_graph_free(h);
    soap_graph_free(g);
}
END_TEST

/* The hand-written LeNet is the built-in one. */
START_TEST(test_lenet_file_is_builtin)
{
    char path[512];
    soap_graph *f = read_ok(soap_test_data("models/lenet.json", path, sizeof path));
    soap_model_options opt = {0};
    soap_graph *g = soap_model_find("lenet")->build(&opt);
    assert_same_graph(f, g);
    soap_graph_free(g);
    soap_graph_free(f);
}
END_TEST

/* Sharing and layers in tiny_rnn.json. */
START_TEST(test_sharing_and_layers)
{
    char path[512];
    soap_graph *g = read_ok(soap_test_data("models/tiny_rnn.json", path, sizeof path));
    int e0 = soap_graph_find(g, "embed.t0"), e1 = soap_graph_find(g, "embed.t1");
    int s0 = soap_graph_find(g, "enc.t0"), s1 = soap_graph_find(g, "enc.t1");
    int att = soap_graph_find(g, "attend");
    ck_assert(e0 >= 0 && e1 >= 0 && s0 >= 0 && s1 >= 0 && att >= 0);
    ck_assert_int_eq(g->ops[e1].weights[0], g->ops[e0].weights[0]);
    ck_assert_int_eq(g->ops[s1].nweights, 2);
    ck_assert_int_eq(g->ops[s1].weights[0], g->ops[s0].weights[0]);
    ck_assert_int_eq(g->ops[s1].weights[1], g->ops[s0].weights[1]);
    ck_assert_int_eq(g->ops[s0].layer, 0);
    ck_assert_int_eq(g->ops[att].layer, 1);
    ck_assert_int_eq(g->ops[att].ninputs, 3);
    ck_assert_int_eq(g->ops[att].inputs[1], s0);
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* What the writer emits, and the reader's defaults                    */
/* ------------------------------------------------------------------ */

START_TEST(test_written_text)
{
    soap_model_options opt = {0};
    soap_graph *g = soap_model_find("lenet")->build(&opt);
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    write_ok(g, path);
    char *text = slurp(path);
    static const char *const lines[] = {
        "{\n  \"format\": \"soap-model\",\n  \"version\": 1,\n  \"name\": \"lenet\",\n"
        "  \"batch\": 64,\n  \"ops\": [\n",
        "\n    {\"name\": \"data\", \"kind\": \"input\", \"shape\": [64, 1, 28, 28], "
        "\"dims\": [\"sample\", \"attribute\", \"attribute\", \"attribute\"], \"index\": "
        "false},\n",
        "\n    {\"name\": \"conv1\", \"kind\": \"conv2d\", \"inputs\": [\"data\"], "
        "\"out_channels\": 20, \"kernel\": [5, 5], \"stride\": [1, 1], \"padding\": [0, 0], "
        "\"bias\": true},\n",
        "\n    {\"name\": \"pool1\", \"kind\": \"pool2d\", \"inputs\": [\"conv1\"], \"pool\": "
        "\"max\", \"kernel\": [2, 2], \"stride\": [2, 2], \"padding\": [0, 0]},\n",
        "\n    {\"name\": \"flatten\", \"kind\": \"flatten\", \"inputs\": [\"pool2\"]},\n",
        "\n    {\"name\": \"relu1\", \"kind\": \"unary\", \"inputs\": [\"ip1\"], \"fn\": "
        "\"relu\"},\n",
        "\n    {\"name\": \"loss\", \"kind\": \"softmax_ce\", \"inputs\": [\"ip2\"]}\n  ]\n}\n",
    };
    for (int i = 0; i < N(lines); i++)
        ck_assert_msg(strstr(text, lines[i]) != NULL, "written lenet lacks:\n%s\nin:\n%s",
                      lines[i], text);
    free(text);
    unlink(path);
    soap_graph_free(g);
}
END_TEST

#define HEAD "{\"format\": \"soap-model\", \"version\": 1, \"name\": \"t\", \"batch\": 8, \"ops\": ["

/* An op may read one tensor twice (x * x; an attention whose query is in its
 * memory): such files used to be refused with "2 inputs, but only 1 ops
 * come before it". */
START_TEST(test_repeated_inputs)
{
    soap_graph *g = read_text(HEAD
                              "{\"name\": \"x\", \"kind\": \"input\", \"shape\": [8, 4]},"
                              "{\"name\": \"sq\", \"kind\": \"binary\", \"inputs\": [\"x\", \"x\"],"
                              " \"fn\": \"mul\"},"
                              "{\"name\": \"y\", \"kind\": \"input\", \"shape\": [8, 4]},"
                              "{\"name\": \"c\", \"kind\": \"concat\","
                              " \"inputs\": [\"x\", \"y\", \"x\", \"sq\"], \"axis\": 1}]}");
    ck_assert_int_eq(g->ops[1].ninputs, 2);
    ck_assert_int_eq(g->ops[1].inputs[0], 0);
    ck_assert_int_eq(g->ops[1].inputs[1], 0);
    ck_assert_int_eq(g->ops[3].ninputs, 4);
    ck_assert_int_eq(g->ops[3].out.size[1], 16);
    soap_graph_free(g);
}
END_TEST

START_TEST(test_defaults)
{
    /* Input without dims: sample, then attribute; without index: fp32.
     * Plain matmul without trans_b: not transposed. */
    soap_graph *g = read_text(HEAD
                              "{\"name\": \"a\", \"kind\": \"input\", \"shape\": [8, 4, 6]},"
                              "{\"name\": \"b\", \"kind\": \"input\", \"shape\": [8, 6, 5],"
                              " \"dims\": [\"sample\", \"none\", \"parameter\"]},"
                              "{\"name\": \"m\", \"kind\": \"matmul\", \"inputs\": [\"a\", \"b\"],"
                              " \"mode\": \"plain\"}]}");
    ck_assert_int_eq(g->ops[0].out.kind[0], SOAP_DIM_SAMPLE);
    ck_assert_int_eq(g->ops[0].out.kind[1], SOAP_DIM_ATTRIBUTE);
    ck_assert_int_eq(g->ops[0].out.kind[2], SOAP_DIM_ATTRIBUTE);
    ck_assert_int_eq(g->ops[0].p.is_index, 0);
    ck_assert_int_eq(g->ops[1].out.kind[1], SOAP_DIM_NONE);
    ck_assert_int_eq(g->ops[1].out.kind[2], SOAP_DIM_PARAMETER);
    ck_assert_int_eq(g->ops[2].p.trans_b, 0);
    ck_assert_int_eq(g->ops[2].p.matmul, SOAP_MATMUL_PLAIN);
    ck_assert_int_eq(g->ops[2].layer, -1);
    /* [8,4,6] x [8,6,5] -> [8,4,5] */
    char sh[96];
    ck_assert_str_eq(soap_shape_str(&g->ops[2].out, sh, sizeof sh), "[8,4,5]");
    soap_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bad files                                                           */
/* ------------------------------------------------------------------ */

#define IN "{\"name\": \"x\", \"kind\": \"input\", \"shape\": [8, 16]}"
#define IMG "{\"name\": \"x\", \"kind\": \"input\", \"shape\": [8, 3, 8, 8]}"
#define LIN(extra) "{\"name\": \"l\", \"kind\": \"linear\", \"inputs\": [\"x\"]" extra "}"

typedef struct bad_case {
    const char *text;
    soap_status code;
    const char *after_path; /* the message is "<path>" followed by this */
    const char *also;       /* and contains this (or NULL) */
} bad_case;

static const bad_case bad_cases[] = {
    /* Malformed JSON: jansson's line and column. */
    {"{\"format\": \"soap-model\",\n \"version\": 1,\n ,}", SOAP_ERR_PARSE, ":3:", NULL},
    {"{\"format\": \"soap-model\",\n \"version\": 1, \"version\": 2}", SOAP_ERR_PARSE, ":2:",
     "duplicate"},
    {"[1, 2]", SOAP_ERR_PARSE, ": expected a JSON object at the top", NULL},
    /* Top level. */
    {"{\"format\": \"soap-machine\", \"version\": 1, \"name\": \"t\", \"batch\": 8, \"ops\": []}",
     SOAP_ERR_PARSE, ": format must be \"soap-model\"", NULL},
    {"{\"format\": \"soap-model\", \"version\": 2, \"name\": \"t\", \"batch\": 8, \"ops\": []}",
     SOAP_ERR_PARSE, ": version must be 1", NULL},
    {"{\"format\": \"soap-model\", \"version\": 1, \"name\": \"t\", \"batchsize\": 8, "
     "\"ops\": []}",
     SOAP_ERR_PARSE, ": unknown key 'batchsize' at the top level", "format, version"},
    {"{\"format\": \"soap-model\", \"version\": 1, \"name\": \"t\", \"ops\": []}", SOAP_ERR_PARSE,
     ": missing field 'batch'", NULL},
    {"{\"format\": \"soap-model\", \"version\": 1, \"name\": \"t\", \"batch\": 0, \"ops\": []}",
     SOAP_ERR_PARSE, ": 'batch' must be an integer in 1..", NULL},
    {HEAD "]}", SOAP_ERR_PARSE, ": 'ops' must be a non-empty array", NULL},
    /* Ops: structure. */
    {HEAD IN ", 3]}", SOAP_ERR_PARSE, ": ops[1]: expected an object", NULL},
    {HEAD IN ", {\"kind\": \"flatten\"}]}", SOAP_ERR_PARSE, ": ops[1]: missing field 'name'",
     NULL},
    {HEAD IMG ", {\"name\": \"c\", \"kind\": \"conv3d\", \"inputs\": [\"x\"]}]}", SOAP_ERR_PARSE,
     ": op 'c' (ops[1]): unknown kind 'conv3d' (kinds: input, conv2d, pool2d,", "matmul)"},
    {HEAD IN ", {\"name\": \"r\", \"kind\": \"unary\", \"inputs\": [\"x\"], \"fn\": \"relu\", "
             "\"kernel\": [3, 3]}]}",
     SOAP_ERR_PARSE,
     ": op 'r' (ops[1]): unknown key 'kernel' for kind unary (expected: name, kind, inputs, "
     "fn, share_weights, layer)",
     NULL},
    {HEAD "{\"name\": \"x\", \"kind\": \"input\", \"shape\": [8], \"inputs\": []}]}",
     SOAP_ERR_PARSE, ": op 'x' (ops[0]): unknown key 'inputs' for kind input", NULL},
    {HEAD IN ", " LIN(", \"out_features\": 4") "]}", SOAP_ERR_PARSE,
     ": op 'l' (ops[1]): missing field 'bias' (kind linear needs it)", NULL},
    {HEAD IN ", {\"name\": \"f\", \"kind\": \"flatten\"}]}", SOAP_ERR_PARSE,
     ": op 'f' (ops[1]): missing field 'inputs'", NULL},
    {HEAD IN ", {\"name\": \"f\", \"kind\": \"flatten\", \"inputs\": [\"y\"]}]}", SOAP_ERR_PARSE,
     ": op 'f' (ops[1]): input 'y' is not an earlier op", NULL},
    {HEAD IN ", {\"name\": \"f\", \"kind\": \"flatten\", \"inputs\": [\"g\"]}, "
             "{\"name\": \"g\", \"kind\": \"flatten\", \"inputs\": [\"x\"]}]}",
     SOAP_ERR_PARSE, ": op 'f' (ops[1]): input 'g' is not an earlier op (it is ops[2]", NULL},
    {HEAD IN ", {\"name\": \"f\", \"kind\": \"flatten\", \"inputs\": \"x\"}]}", SOAP_ERR_PARSE,
     ": op 'f' (ops[1]): 'inputs' must be an array", NULL},
    /* Ops: values. */
    {HEAD IN ", " LIN(", \"out_features\": 4.0, \"bias\": true") "]}", SOAP_ERR_PARSE,
     ": op 'l' (ops[1]): 'out_features' must be an integer in 1..2147483647", NULL},
    {HEAD IN ", " LIN(", \"out_features\": 4, \"bias\": 1") "]}", SOAP_ERR_PARSE,
     ": op 'l' (ops[1]): 'bias' must be true or false", NULL},
    {HEAD IN ", {\"name\": \"r\", \"kind\": \"unary\", \"inputs\": [\"x\"], \"fn\": \"gelu\"}]}",
     SOAP_ERR_PARSE, ": op 'r' (ops[1]): unknown fn 'gelu' (expected one of: relu, tanh, sigmoid)",
     NULL},
    {HEAD IMG ", {\"name\": \"p\", \"kind\": \"pool2d\", \"inputs\": [\"x\"], \"pool\": \"min\", "
              "\"kernel\": [2, 2], \"stride\": [2, 2], \"padding\": [0, 0]}]}",
     SOAP_ERR_PARSE, ": op 'p' (ops[1]): unknown pool 'min' (expected one of: max, avg)", NULL},
    {HEAD IMG ", {\"name\": \"p\", \"kind\": \"pool2d\", \"inputs\": [\"x\"], \"pool\": \"max\", "
              "\"kernel\": [2], \"stride\": [2, 2], \"padding\": [0, 0]}]}",
     SOAP_ERR_PARSE, ": op 'p' (ops[1]): 'kernel' must be an array of 2 integers [H, W]", NULL},
    {HEAD "{\"name\": \"x\", \"kind\": \"input\", \"shape\": [8, 16], \"dims\": [\"sample\"]}]}",
     SOAP_ERR_PARSE, ": op 'x' (ops[0]): 'dims' must be an array of 2 dim kinds", NULL},
    {HEAD "{\"name\": \"x\", \"kind\": \"input\", \"shape\": [8, 16], "
          "\"dims\": [\"sample\", \"batch\"]}]}",
     SOAP_ERR_PARSE,
     ": op 'x' (ops[0]): 'dims'[1] must be one of: none, sample, attribute, parameter", NULL},
    {HEAD "{\"name\": \"x\", \"kind\": \"input\", \"shape\": [8, 1, 1, 1, 1]}]}", SOAP_ERR_PARSE,
     ": op 'x' (ops[0]): 'shape' must be an array of 1 to 4 sizes", NULL},
    {HEAD "{\"name\": \"x\", \"kind\": \"input\", \"shape\": [8, 0]}]}", SOAP_ERR_PARSE,
     ": op 'x' (ops[0]): 'shape'[1] must be an integer in 1..", NULL},
    {HEAD "{\"name\": \"x\", \"kind\": \"input\", "
          "\"shape\": [2147483647, 2147483647, 2147483647]}]}",
     SOAP_ERR_PARSE, ": op 'x' (ops[0]): 'shape' has", "elements, more than"},
    {HEAD "{\"name\": \"x\", \"kind\": \"input\", \"shape\": [1048576, 1048576], "
          "\"dims\": [\"none\", \"attribute\"]}, "
     LIN(", \"out_features\": 2147483647, \"bias\": false") "]}",
     SOAP_ERR_PARSE, ": op 'l' (ops[1]): its output has", "more than"},
    {HEAD IN ", " LIN(", \"out_features\": 4, \"bias\": true, \"layer\": -1") "]}",
     SOAP_ERR_PARSE, ": op 'l' (ops[1]): 'layer' must be an integer in 0..", NULL},
    {HEAD "{\"name\": \"" "0123456789012345678901234567890123456789012345678901234567890123"
          "\", \"kind\": \"input\", \"shape\": [8]}]}",
     SOAP_ERR_PARSE, ": ops[0]: 'name' must be a name of 1..63 characters", NULL},
    /* Caught at load time (they used to fail only at `soap run`, or not at
     * all): a batch the inputs contradict, an embedding of no token ids. */
    {HEAD "{\"name\": \"x\", \"kind\": \"input\", \"shape\": [4, 16]}]}", SOAP_ERR_PARSE,
     ": op 'x' (ops[0]): 'shape'[0] is 4 samples but the model's batch is 8", NULL},
    {HEAD "{\"name\": \"x\", \"kind\": \"input\", \"shape\": [8, 16], "
          "\"dims\": [\"attribute\", \"sample\"]}]}",
     SOAP_ERR_PARSE, ": op 'x' (ops[0]): 'shape'[1] is 16 samples", NULL},
    {HEAD IN ", {\"name\": \"e\", \"kind\": \"embedding\", \"inputs\": [\"x\"], \"vocab\": 10, "
             "\"embed_dim\": 4}]}",
     SOAP_ERR_PARSE,
     ": op 'e' (ops[1]): input 'x' (input) holds no token ids; an embedding looks up token ids",
     NULL},
    {HEAD "{\"name\": \"t\", \"kind\": \"input\", \"shape\": [8, 4], \"index\": true}, "
          "{\"name\": \"e\", \"kind\": \"embedding\", \"inputs\": [\"t\"], \"vocab\": 10, "
          "\"embed_dim\": 4}, "
          "{\"name\": \"f\", \"kind\": \"flatten\", \"inputs\": [\"t\"]}, "
          "{\"name\": \"e2\", \"kind\": \"embedding\", \"inputs\": [\"f\"], \"vocab\": 10, "
          "\"embed_dim\": 4}]}",
     SOAP_ERR_PARSE, ": op 'e2' (ops[3]): input 'f' (flatten) holds no token ids", NULL},
    /* Names from the file are printed escaped (a terminal escape stays text). */
    {HEAD "{\"name\": \"x\\u001b[2J\", \"kind\": \"input\", \"shape\": [8], \"bogus\": 1}]}",
     SOAP_ERR_PARSE, ": op 'x\\x1b[2J' (ops[0]): unknown key 'bogus'", NULL},
    {HEAD IN ", {\"name\": \"f\", \"kind\": \"flatten\", \"inputs\": [\"y\\n\"]}]}",
     SOAP_ERR_PARSE, ": op 'f' (ops[1]): input 'y\\n' is not an earlier op", NULL},
    /* Matmul: the keys of each mode. */
    {HEAD "{\"name\": \"a\", \"kind\": \"input\", \"shape\": [8, 4, 16]}, "
          "{\"name\": \"m\", \"kind\": \"matmul\", \"inputs\": [\"a\", \"a\"], \"mode\": \"plain\","
          " \"trans_b\": true, \"heads\": 4}]}",
     SOAP_ERR_PARSE, ": op 'm' (ops[1]): 'heads' is for modes qk and pv, not mode plain", NULL},
    {HEAD "{\"name\": \"a\", \"kind\": \"input\", \"shape\": [8, 4, 16]}, "
          "{\"name\": \"m\", \"kind\": \"matmul\", \"inputs\": [\"a\", \"a\"], \"mode\": \"qk\"}]}",
     SOAP_ERR_PARSE, ": op 'm' (ops[1]): missing field 'heads' (mode qk needs it)", NULL},
    {HEAD "{\"name\": \"a\", \"kind\": \"input\", \"shape\": [8, 4, 16]}, "
          "{\"name\": \"m\", \"kind\": \"matmul\", \"inputs\": [\"a\", \"a\"], \"mode\": \"pv\","
          " \"heads\": 4, \"trans_b\": false}]}",
     SOAP_ERR_PARSE, ": op 'm' (ops[1]): 'trans_b' is for mode plain, not mode pv", NULL},
    /* Errors of soap_graph_add, prefixed with the file and the op's index. */
    {HEAD IN ", {\"name\": \"c\", \"kind\": \"conv2d\", \"inputs\": [\"x\"], \"out_channels\": 4,"
             " \"kernel\": [3, 3], \"stride\": [1, 1], \"padding\": [0, 0], \"bias\": true}]}",
     SOAP_ERR_INVALID, ": ops[1]: op 'c' (conv2d): input 0 must be [N,C,H,W], got [8,16]", NULL},
    {HEAD IMG ", {\"name\": \"c\", \"kind\": \"conv2d\", \"inputs\": [\"x\"], \"out_channels\": 4,"
              " \"kernel\": [9, 9], \"stride\": [1, 1], \"padding\": [0, 0], \"bias\": true}]}",
     SOAP_ERR_INVALID, ": ops[1]: op 'c' (conv2d): kernel 9x9 with padding 0x0 does not fit",
     NULL},
    {HEAD IN ", {\"name\": \"x\", \"kind\": \"flatten\", \"inputs\": [\"x\"]}]}",
     SOAP_ERR_INVALID, ": ops[1]: op 'x': duplicate operator name", NULL},
    {HEAD IN ", " LIN(", \"out_features\": 4, \"bias\": true, \"share_weights\": \"nope\"") "]}",
     SOAP_ERR_NOT_FOUND, ": ops[1]: op 'l' (linear): share_weights names 'nope'", NULL},
    {HEAD IN ", {\"name\": \"b\", \"kind\": \"binary\", \"inputs\": [\"x\"], \"fn\": \"add\"}]}",
     SOAP_ERR_INVALID, ": ops[1]: op 'b' (binary): expected 2 inputs, got 1", NULL},
    {HEAD "{\"name\": \"" "0123456789012345678901234567890123456789"
          "\", \"kind\": \"input\", \"shape\": [8]}, "
          "{\"name\": \"" "012345678901234567890123456789012345678901234567890123456789"
          "\", \"kind\": \"input\", \"shape\": [8]}]}",
     SOAP_ERR_INVALID, ": ops[1]: op '0123456789012345...': name longer than", NULL},
};

START_TEST(test_bad_file)
{
    const bad_case *t = &bad_cases[_i];
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    soap_test_write(path, t->text);
    soap_error err;
    soap_error_clear(&err);
    soap_graph *g = soap_graph_read_json(path, &err);
    unlink(path);
    ck_assert_msg(g == NULL, "case %d: accepted", _i);
    ck_assert_msg(err.code == t->code, "case %d: code %s, expected %s (%s)", _i,
                  soap_status_name(err.code), soap_status_name(t->code), err.msg);
    size_t n = strlen(path);
    ck_assert_msg(strncmp(err.msg, path, n) == 0 &&
                      strncmp(err.msg + n, t->after_path, strlen(t->after_path)) == 0,
                  "case %d: message\n  %s\nexpected\n  %s%s", _i, err.msg, path, t->after_path);
    if (t->also)
        ck_assert_msg(strstr(err.msg, t->also) != NULL, "case %d: message %s lacks '%s'", _i,
                      err.msg, t->also);
}
END_TEST

START_TEST(test_io_errors)
{
    soap_error err;
    soap_error_clear(&err);
    const char *missing = "/nonexistent-soap-dir/model.json";
    ck_assert(soap_graph_read_json(missing, &err) == NULL);
    ck_assert_int_eq(err.code, SOAP_ERR_IO);
    ck_assert_msg(strncmp(err.msg, missing, strlen(missing)) == 0, "%s", err.msg);

    soap_error_clear(&err);
    ck_assert(soap_graph_read_json("/tmp", &err) == NULL);
    ck_assert_int_eq(err.code, SOAP_ERR_IO);
    ck_assert_str_eq(err.msg, "/tmp: is a directory, expected a model file");

    soap_model_options opt = {0};
    soap_graph *g = soap_model_find("lenet")->build(&opt);
    soap_error_clear(&err);
    ck_assert_int_eq(soap_graph_write_json(g, missing, &err), SOAP_ERR_IO);
    ck_assert_msg(strstr(err.msg, missing) != NULL, "%s", err.msg);
    ck_assert(access(missing, F_OK) != 0);
    soap_graph_free(g);
}
END_TEST

Suite *soap_suite_model_json(void);
Suite *soap_suite_model_json(void)
{
    Suite *s = suite_create("model_json");
    TCase *tc = tcase_create("builtin_roundtrip");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_builtin_roundtrip, 0, nmodels());
    tcase_add_loop_test(tc, test_builtin_to_json, 0, 2 * nmodels());
    suite_add_tcase(s, tc);

    tc = tcase_create("data_files");
    tcase_add_loop_test(tc, test_data_file, 0, N(data_files));
    tcase_add_test(tc, test_lenet_file_is_builtin);
    tcase_add_test(tc, test_sharing_and_layers);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("format");
    tcase_add_test(tc, test_written_text);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_repeated_inputs);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("bad_files");
    tcase_add_loop_test(tc, test_bad_file, 0, N(bad_cases));
    tcase_add_test(tc, test_io_errors);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
