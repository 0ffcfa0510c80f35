/* model_json.c: model files (soap_graph_read_json and soap_graph_write_json,
 * with jansson).
 *
 * Format:
 *
 *   {"format": "soap-model", "version": 1, "name": "lenet", "batch": 64,
 *    "ops": [
 *      {"name": "data", "kind": "input", "shape": [64, 1, 28, 28],
 *       "dims": ["sample", "attribute", "attribute", "attribute"], "index": false},
 *      {"name": "conv1", "kind": "conv2d", "inputs": ["data"], "out_channels": 20,
 *       "kernel": [5, 5], "stride": [1, 1], "padding": [0, 0], "bias": true},
 *      {"name": "step1", "kind": "lstm", "inputs": ["x1", "step0"], "hidden": 1024,
 *       "share_weights": "step0", "layer": 0},
 *      ...]}
 *
 * Top level (all required, nothing else allowed): "format" is "soap-model",
 * "version" is 1, "name" a name of 1..63 characters, "batch" the batch size
 * N (an integer >= 1; the inputs' shapes carry their own sizes), "ops" the
 * operators in order: every op comes after the ops it reads.
 *
 * Every op has "name" (unique, 1..57 characters, so that weight names
 * "<op>.gamma" fit), "kind" (one of the operator kinds: input, conv2d,
 * pool2d, batchnorm, unary, binary, concat, flatten, linear, softmax,
 * softmax_ce, embedding, lstm, attention, layernorm, matmul) and, except an
 * input, "inputs": the names of earlier ops, in order. Optional for every op:
 * "share_weights" (the name of an earlier op of the same kind, or a
 * linear/embedding pair, whose weights this op uses) and "layer" (the
 * model-level layer index >= 0, used by the expert strategy).
 *
 * Then exactly the keys of its kind (R = required, O = optional with default):
 *   input      shape R (1..4 integers >= 1); dims O (one of "sample",
 *              "attribute", "parameter", "none" per dim; default sample, then
 *              attribute); index O (true: int32 token ids; default false)
 *   conv2d     out_channels R; kernel, stride, padding R ([H, W] each); bias R
 *   pool2d     pool R ("max" | "avg"); kernel, stride, padding R ([H, W])
 *   unary      fn R ("relu" | "tanh" | "sigmoid")
 *   binary     fn R ("add" | "mul")
 *   concat     axis R (the dim along which the inputs are joined)
 *   linear     out_features R; bias R
 *   embedding  vocab R; embed_dim R
 *   lstm       hidden R (inputs: x, then optionally the previous state)
 *   matmul     mode R ("plain" | "qk" | "pv"); plain: trans_b O (default
 *              false); qk and pv: heads R
 *   batchnorm, flatten, softmax, softmax_ce, attention, layernorm: none
 * Any other key is an error (a typo must not pass silently). Integers must
 * be JSON integers; sizes and counts at most 2^31 - 1.
 *
 * Writing emits the top level and, per op, name, kind, inputs, the keys of
 * its kind (optional ones included) and share_weights / layer when set, in
 * that order, one op per line. So a written file read back and written again
 * is byte-identical, and has the same soap_graph_fingerprint.
 *
 * Errors name the file and the place: "m.json:3:14: ..." for malformed JSON
 * (jansson's line and column), "m.json: op 'conv2' (ops[3]): ..." for
 * content, and shape errors from soap_graph_add are prefixed with the file
 * and the op's index. Nothing half-built is returned.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "soap_core.h"

#define FORMAT_NAME "soap-model"
#define FORMAT_VERSION 1

/* Largest integer accepted for a size or count: keeps every product the
 * shape code forms (weights, outputs) inside int64. */
#define MAX_INT_VALUE ((json_int_t)INT_MAX)
/* Largest tensor accepted, in elements (2^48 elements = 1 PiB of fp32): an
 * absurd model is refused before anything sums its sizes. */
#define MAX_TENSOR_ELEMS 281474976710656.0

/* ------------------------------------------------------------------ */
/* The keys of each kind                                               */
/* ------------------------------------------------------------------ */
typedef enum field {
    F_END = 0,
    F_SHAPE,
    F_DIMS,
    F_INDEX,
    F_OUT_CHANNELS,
    F_KERNEL,
    F_STRIDE,
    F_PADDING,
    F_BIAS,
    F_POOL,
    F_UNARY_FN,
    F_BINARY_FN,
    F_AXIS,
    F_OUT_FEATURES,
    F_VOCAB,
    F_EMBED_DIM,
    F_HIDDEN,
    F_MODE,
    F_TRANS_B,
    F_HEADS,
    F_COUNT
} field;

static const char *const field_keys[F_COUNT] = {
    [F_END] = "",
    [F_SHAPE] = "shape",
    [F_DIMS] = "dims",
    [F_INDEX] = "index",
    [F_OUT_CHANNELS] = "out_channels",
    [F_KERNEL] = "kernel",
    [F_STRIDE] = "stride",
    [F_PADDING] = "padding",
    [F_BIAS] = "bias",
    [F_POOL] = "pool",
    [F_UNARY_FN] = "fn",
    [F_BINARY_FN] = "fn",
    [F_AXIS] = "axis",
    [F_OUT_FEATURES] = "out_features",
    [F_VOCAB] = "vocab",
    [F_EMBED_DIM] = "embed_dim",
    [F_HIDDEN] = "hidden",
    [F_MODE] = "mode",
    [F_TRANS_B] = "trans_b",
    [F_HEADS] = "heads",
};

typedef struct field_use {
    field f;
    int required; /* 0: optional, with the default given in the file comment */
} field_use;

#define MAX_FIELDS 6 /* per kind, F_END included */

/* Indexed by soap_op_kind, in the order of SOAP_OP_KINDS. Matmul lists
 * trans_b and heads as optional; which of them a mode takes is checked
 * after reading (check_matmul). */
static const field_use kind_fields[][MAX_FIELDS] = {
    [SOAP_OP_INPUT] = {{F_SHAPE, 1}, {F_DIMS, 0}, {F_INDEX, 0}},
    [SOAP_OP_CONV2D] = {{F_OUT_CHANNELS, 1}, {F_KERNEL, 1}, {F_STRIDE, 1}, {F_PADDING, 1},
                        {F_BIAS, 1}},
    [SOAP_OP_POOL2D] = {{F_POOL, 1}, {F_KERNEL, 1}, {F_STRIDE, 1}, {F_PADDING, 1}},
    [SOAP_OP_BATCHNORM] = {{F_END, 0}},
    [SOAP_OP_UNARY] = {{F_UNARY_FN, 1}},
    [SOAP_OP_BINARY] = {{F_BINARY_FN, 1}},
    [SOAP_OP_CONCAT] = {{F_AXIS, 1}},
    [SOAP_OP_FLATTEN] = {{F_END, 0}},
    [SOAP_OP_LINEAR] = {{F_OUT_FEATURES, 1}, {F_BIAS, 1}},
    [SOAP_OP_SOFTMAX] = {{F_END, 0}},
    [SOAP_OP_SOFTMAX_CE] = {{F_END, 0}},
    [SOAP_OP_EMBEDDING] = {{F_VOCAB, 1}, {F_EMBED_DIM, 1}},
    [SOAP_OP_LSTM] = {{F_HIDDEN, 1}},
    [SOAP_OP_ATTENTION] = {{F_END, 0}},
    [SOAP_OP_LAYERNORM] = {{F_END, 0}},
    [SOAP_OP_MATMUL] = {{F_MODE, 1}, {F_TRANS_B, 0}, {F_HEADS, 0}},
};
_Static_assert(sizeof kind_fields / sizeof kind_fields[0] == SOAP_OP_KIND_COUNT,
               "one key list per operator kind");

/* Whether op kind `kind` with parameters `p` writes field f (matmul: only
 * the keys of its mode). */
static int writes_field(soap_op_kind kind, const soap_op_params *p, field f)
{
    if (kind != SOAP_OP_MATMUL)
        return 1;
    if (f == F_TRANS_B)
        return p->matmul == SOAP_MATMUL_PLAIN;
    if (f == F_HEADS)
        return p->matmul != SOAP_MATMUL_PLAIN;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */
typedef struct reader {
    const char *path;
    soap_error *err;
    json_t *ops;     /* the "ops" array */
    size_t index;    /* ops[index] being read */
    char where[320]; /* "op 'conv2' (ops[3])" or "ops[3]" */
    char esc[4][SOAP_NAME_MAX * 4]; /* escaped names for messages */
    int nesc;
} reader;

/* A name from the file as it may be printed (soap_name_escape); up to four
 * per message. */
static const char *esc(reader *r, const char *name)
{
    char *buf = r->esc[r->nesc++ % 4];
    return soap_name_escape(name, buf, sizeof r->esc[0]);
}

static soap_status fail(reader *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* "<path>: <where>: <message>" (where may be empty: the top level). */
static soap_status fail(reader *r, const char *fmt, ...)
{
    char msg[SOAP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (r->where[0])
        return soap_error_set(r->err, SOAP_ERR_PARSE, "%s: %s: %s", r->path, r->where, msg);
    return soap_error_set(r->err, SOAP_ERR_PARSE, "%s: %s", r->path, msg);
}

/* Appends ", name" (or "name" first) to a list buffer. */
static void list_add(char *list, size_t len, const char *name)
{
    size_t used = strlen(list);
    if (used + 1 < len)
        snprintf(list + used, len - used, "%s%s", used ? ", " : "", name);
}

/* Names of an enum, "a, b, c", from its name function. */
static const char *enum_list(char *buf, size_t len, const char *(*name)(int), int count)
{
    buf[0] = '\0';
    for (int i = 0; i < count; i++)
        list_add(buf, len, name(i));
    return buf;
}

/* Adapters: the name functions take their enum types. */
static const char *kind_name_i(int i) { return soap_op_kind_name((soap_op_kind)i); }
static const char *pool_name_i(int i) { return soap_pool_type_name((soap_pool_type)i); }
static const char *unary_name_i(int i) { return soap_unary_fn_name((soap_unary_fn)i); }
static const char *binary_name_i(int i) { return soap_binary_fn_name((soap_binary_fn)i); }
static const char *matmul_name_i(int i) { return soap_matmul_mode_name((soap_matmul_mode)i); }
static const char *dim_name_i(int i) { return soap_dim_kind_name((soap_dim_kind)i); }

/* A string of 1..max_len characters without NUL bytes. */
static soap_status get_name(reader *r, json_t *v, const char *field_name, size_t max_len,
                            const char **out)
{
    if (!json_is_string(v))
        return fail(r, "'%s' must be a string", field_name);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > max_len || strlen(s) != n)
        return fail(r, "'%s' must be a name of 1..%zu characters", field_name, max_len);
    *out = s;
    return SOAP_OK;
}

/* An integer in lo..hi. */
static soap_status get_int(reader *r, json_t *v, const char *key, json_int_t lo, json_int_t hi,
                           json_int_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return fail(r, "'%s' must be an integer in %lld..%lld", key, (long long)lo,
                    (long long)hi);
    *out = json_integer_value(v);
    return SOAP_OK;
}

static soap_status get_bool(reader *r, json_t *v, const char *key, int *out)
{
    if (!json_is_boolean(v))
        return fail(r, "'%s' must be true or false", key);
    *out = json_is_true(v);
    return SOAP_OK;
}

/* An [H, W] pair of integers in lo..INT_MAX. */
static soap_status get_pair(reader *r, json_t *v, const char *key, json_int_t lo, int out[2])
{
    if (!json_is_array(v) || json_array_size(v) != 2)
        return fail(r, "'%s' must be an array of 2 integers [H, W]", key);
    for (size_t i = 0; i < 2; i++) {
        json_t *x = json_array_get(v, i);
        if (!json_is_integer(x) || json_integer_value(x) < lo ||
            json_integer_value(x) > MAX_INT_VALUE)
            return fail(r, "'%s' must be an array of 2 integers [H, W] in %lld..%lld", key,
                        (long long)lo, (long long)MAX_INT_VALUE);
        out[i] = (int)json_integer_value(x);
    }
    return SOAP_OK;
}

/* A string naming one value of an enum (parse returns -1 if unknown). */
static soap_status get_enum(reader *r, json_t *v, const char *key, int (*parse)(const char *),
                            const char *(*name)(int), int count, int *out)
{
    char list[256];
    if (!json_is_string(v))
        return fail(r, "'%s' must be a string (one of: %s)", key,
                    enum_list(list, sizeof list, name, count));
    int k = parse(json_string_value(v));
    if (k < 0)
        return fail(r, "unknown %s '%s' (expected one of: %s)", key,
                    esc(r, json_string_value(v)), enum_list(list, sizeof list, name, count));
    *out = k;
    return SOAP_OK;
}

static soap_status read_shape(reader *r, json_t *v, soap_shape *s)
{
    if (!json_is_array(v) || json_array_size(v) < 1 || json_array_size(v) > SOAP_MAX_DIMS)
        return fail(r, "'shape' must be an array of 1 to %d sizes", SOAP_MAX_DIMS);
    s->ndims = (int)json_array_size(v);
    double elems = 1;
    for (int d = 0; d < s->ndims; d++) {
        json_t *x = json_array_get(v, (size_t)d);
        if (!json_is_integer(x) || json_integer_value(x) < 1 ||
            json_integer_value(x) > MAX_INT_VALUE)
            return fail(r, "'shape'[%d] must be an integer in 1..%lld", d,
                        (long long)MAX_INT_VALUE);
        s->size[d] = json_integer_value(x);
        elems *= (double)s->size[d];
        /* Default kinds, as soap_add_input gives them; "dims" may override. */
        s->kind[d] = d == 0 ? SOAP_DIM_SAMPLE : SOAP_DIM_ATTRIBUTE;
    }
    if (elems > MAX_TENSOR_ELEMS)
        return fail(r, "'shape' has %.3g elements, more than %.3g", elems, MAX_TENSOR_ELEMS);
    return SOAP_OK;
}

/* "dims" is read after "shape" (its length must match). */
static soap_status read_dims(reader *r, json_t *v, soap_shape *s)
{
    char list[128];
    enum_list(list, sizeof list, dim_name_i, SOAP_DIM_PARAMETER + 1);
    if (!json_is_array(v) || (int)json_array_size(v) != s->ndims)
        return fail(r, "'dims' must be an array of %d dim kinds, one per dim of 'shape' (%s)",
                    s->ndims, list);
    for (int d = 0; d < s->ndims; d++) {
        json_t *x = json_array_get(v, (size_t)d);
        int k = json_is_string(x) ? soap_dim_kind_parse(json_string_value(x)) : -1;
        if (k < 0)
            return fail(r, "'dims'[%d] must be one of: %s", d, list);
        s->kind[d] = (soap_dim_kind)k;
    }
    return SOAP_OK;
}

/* Reads one kind field of op object `o` into p; absent optional fields keep
 * the defaults that p was initialized with. */
static soap_status read_field(reader *r, json_t *o, field f, soap_op_params *p)
{
    const char *key = field_keys[f];
    json_t *v = json_object_get(o, key);
    json_int_t x = 0;
    int e = 0;
    soap_status st = SOAP_OK;
    switch (f) {
    case F_SHAPE: return read_shape(r, v, &p->shape);
    case F_DIMS: return read_dims(r, v, &p->shape);
    case F_INDEX: return get_bool(r, v, key, &p->is_index);
    case F_BIAS: return get_bool(r, v, key, &p->has_bias);
    case F_TRANS_B: return get_bool(r, v, key, &p->trans_b);
    case F_KERNEL: return get_pair(r, v, key, 1, p->kernel);
    case F_STRIDE: return get_pair(r, v, key, 1, p->stride);
    case F_PADDING: return get_pair(r, v, key, 0, p->pad);
    case F_OUT_CHANNELS:
    case F_OUT_FEATURES:
    case F_VOCAB:
    case F_EMBED_DIM:
    case F_HIDDEN:
        st = get_int(r, v, key, 1, MAX_INT_VALUE, &x);
        if (f == F_OUT_CHANNELS)
            p->out_channels = x;
        else if (f == F_OUT_FEATURES)
            p->out_features = x;
        else if (f == F_VOCAB)
            p->vocab = x;
        else if (f == F_EMBED_DIM)
            p->embed_dim = x;
        else
            p->hidden = x;
        return st;
    case F_AXIS:
        st = get_int(r, v, key, 0, SOAP_MAX_DIMS - 1, &x);
        p->axis = (int)x;
        return st;
    case F_HEADS:
        st = get_int(r, v, key, 1, MAX_INT_VALUE, &x);
        p->heads = (int)x;
        return st;
    case F_POOL:
        st = get_enum(r, v, key, soap_pool_type_parse, pool_name_i, SOAP_POOL_TYPE_COUNT, &e);
        p->pool = (soap_pool_type)e;
        return st;
    case F_UNARY_FN:
        st = get_enum(r, v, key, soap_unary_fn_parse, unary_name_i, SOAP_UNARY_FN_COUNT, &e);
        p->unary = (soap_unary_fn)e;
        return st;
    case F_BINARY_FN:
        st = get_enum(r, v, key, soap_binary_fn_parse, binary_name_i, SOAP_BINARY_FN_COUNT,
                      &e);
        p->binary = (soap_binary_fn)e;
        return st;
    case F_MODE:
        st = get_enum(r, v, key, soap_matmul_mode_parse, matmul_name_i, SOAP_MATMUL_MODE_COUNT,
                      &e);
        p->matmul = (soap_matmul_mode)e;
        return st;
    case F_END:
    case F_COUNT: break;
    }
    SOAP_ASSERT(!"unhandled model field");
    return SOAP_ERR_INVALID;
}

/* Whether `key` is allowed on an op of `kind`. */
static int key_allowed(soap_op_kind kind, const char *key)
{
    static const char *const common[] = {"name", "kind", "share_weights", "layer"};
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        if (strcmp(key, common[i]) == 0)
            return 1;
    if (kind != SOAP_OP_INPUT && strcmp(key, "inputs") == 0)
        return 1;
    for (const field_use *u = kind_fields[kind]; u->f != F_END; u++)
        if (strcmp(key, field_keys[u->f]) == 0)
            return 1;
    return 0;
}

static soap_status check_op_keys(reader *r, json_t *o, soap_op_kind kind)
{
    const char *key;
    json_t *val;
    json_object_foreach(o, key, val) {
        if (key_allowed(kind, key))
            continue;
        char list[256] = "";
        list_add(list, sizeof list, "name");
        list_add(list, sizeof list, "kind");
        if (kind != SOAP_OP_INPUT)
            list_add(list, sizeof list, "inputs");
        for (const field_use *u = kind_fields[kind]; u->f != F_END; u++)
            list_add(list, sizeof list, field_keys[u->f]);
        list_add(list, sizeof list, "share_weights");
        list_add(list, sizeof list, "layer");
        return fail(r, "unknown key '%s' for kind %s (expected: %s)", esc(r, key),
                    soap_op_kind_name(kind), list);
    }
    return SOAP_OK;
}

/* trans_b belongs to mode plain, heads to qk and pv. */
static soap_status check_matmul(reader *r, json_t *o, const soap_op_params *p)
{
    const char *mode = soap_matmul_mode_name(p->matmul);
    if (p->matmul == SOAP_MATMUL_PLAIN) {
        if (json_object_get(o, "heads"))
            return fail(r, "'heads' is for modes qk and pv, not mode %s", mode);
        return SOAP_OK;
    }
    if (json_object_get(o, "trans_b"))
        return fail(r, "'trans_b' is for mode plain, not mode %s", mode);
    if (!json_object_get(o, "heads"))
        return fail(r, "missing field 'heads' (mode %s needs it)", mode);
    return SOAP_OK;
}

/* Index of the first op after the current one named `name`, or -1. */
static long later_op(const reader *r, const char *name)
{
    for (size_t j = r->index + 1; j < json_array_size(r->ops); j++) {
        json_t *n = json_object_get(json_array_get(r->ops, j), "name");
        if (json_is_string(n) && strcmp(json_string_value(n), name) == 0)
            return (long)j;
    }
    return -1;
}

/* "inputs": names of earlier ops, resolved to ids (*ids freed by the caller). */
static soap_status read_inputs(reader *r, soap_graph *g, json_t *o, int **ids, int *n)
{
    json_t *a = json_object_get(o, "inputs");
    if (!a)
        return fail(r, "missing field 'inputs' (the names of earlier ops)");
    if (!json_is_array(a))
        return fail(r, "'inputs' must be an array of names of earlier ops");
    size_t count = json_array_size(a);
    /* An op may read one tensor twice (x * x, an attention whose query is
     * also in its memory): names may repeat, so their count is not bounded
     * by the ops before it. */
    *ids = soap_xmalloc((count ? count : 1) * sizeof **ids);
    *n = (int)count;
    for (size_t i = 0; i < count; i++) {
        json_t *v = json_array_get(a, i);
        if (!json_is_string(v))
            return fail(r, "inputs[%zu] must be a string (the name of an earlier op)", i);
        const char *name = json_string_value(v);
        int id = soap_graph_find(g, name);
        if (id < 0) {
            long later = later_op(r, name);
            if (later >= 0)
                return fail(r,
                            "input '%s' is not an earlier op (it is ops[%ld]; an op must "
                            "come after its inputs)",
                            esc(r, name), later);
            return fail(r, "input '%s' is not an earlier op", esc(r, name));
        }
        (*ids)[i] = id;
    }
    return SOAP_OK;
}

/* Refuses outputs and weights beyond MAX_TENSOR_ELEMS (summing such sizes
 * later would overflow). Volumes in double: they cannot overflow here. */
static soap_status check_sizes(reader *r, const soap_graph *g, int id)
{
    const soap_op *op = &g->ops[id];
    const soap_shape *shapes[1 + SOAP_MAX_WEIGHTS];
    int n = 0;
    shapes[n++] = &op->out;
    for (int k = 0; k < op->nweights; k++)
        shapes[n++] = &g->weights[op->weights[k]].shape;
    for (int i = 0; i < n; i++) {
        double v = 1;
        for (int d = 0; d < shapes[i]->ndims; d++)
            v *= (double)shapes[i]->size[d];
        if (v > MAX_TENSOR_ELEMS)
            return fail(r, "its %s has %.3g elements, more than %.3g",
                        i == 0 ? "output" : "weight", v, MAX_TENSOR_ELEMS);
    }
    return SOAP_OK;
}

/* What shape inference lets through but a run cannot use, caught at load
 * time: an input whose sample dim is not the file's batch (per-sample
 * figures and data-parallel splits count `batch` samples), an embedding
 * whose input holds no token ids. */
static soap_status check_meaning(reader *r, const soap_graph *g, int id)
{
    const soap_op *op = &g->ops[id];
    if (op->kind == SOAP_OP_INPUT) {
        for (int d = 0; d < op->out.ndims; d++)
            if (op->out.kind[d] == SOAP_DIM_SAMPLE && op->out.size[d] != g->batch)
                return fail(r,
                            "'shape'[%d] is %lld samples but the model's batch is %lld; a "
                            "sample dim holds the whole batch",
                            d, (long long)op->out.size[d], (long long)g->batch);
    }
    if (op->kind == SOAP_OP_EMBEDDING && op->ninputs >= 1) {
        const soap_op *in = &g->ops[op->inputs[0]];
        if (in->kind != SOAP_OP_INPUT || !in->p.is_index)
            return fail(r,
                        "input '%s' (%s) holds no token ids; an embedding looks up token "
                        "ids: expected an input with \"index\": true",
                        esc(r, in->name), soap_op_kind_name(in->kind));
    }
    return SOAP_OK;
}

static soap_status read_op(reader *r, soap_graph *g, json_t *o)
{
    snprintf(r->where, sizeof r->where, "ops[%zu]", r->index);
    if (!json_is_object(o))
        return fail(r, "expected an object {\"name\": ..., \"kind\": ..., ...}");
    const char *name = NULL;
    json_t *jname = json_object_get(o, "name");
    if (!jname)
        return fail(r, "missing field 'name'");
    /* The graph's own limit (room for weight suffixes) is checked by
     * soap_graph_add; here only what fits in a name. */
    soap_status st = get_name(r, jname, "name", SOAP_NAME_MAX - 1, &name);
    if (st != SOAP_OK)
        return st;
    snprintf(r->where, sizeof r->where, "op '%s' (ops[%zu])", esc(r, name), r->index);

    json_t *jkind = json_object_get(o, "kind");
    char list[256];
    enum_list(list, sizeof list, kind_name_i, SOAP_OP_KIND_COUNT);
    if (!jkind)
        return fail(r, "missing field 'kind' (kinds: %s)", list);
    if (!json_is_string(jkind))
        return fail(r, "'kind' must be a string (kinds: %s)", list);
    int k = soap_op_kind_parse(json_string_value(jkind));
    if (k < 0)
        return fail(r, "unknown kind '%s' (kinds: %s)", esc(r, json_string_value(jkind)), list);
    soap_op_kind kind = (soap_op_kind)k;
    st = check_op_keys(r, o, kind);
    if (st != SOAP_OK)
        return st;

    soap_op_params p;
    memset(&p, 0, sizeof p);
    for (const field_use *u = kind_fields[kind]; u->f != F_END && st == SOAP_OK; u++) {
        if (json_object_get(o, field_keys[u->f]))
            st = read_field(r, o, u->f, &p);
        else if (u->required)
            st = fail(r, "missing field '%s' (kind %s needs it)", field_keys[u->f],
                      soap_op_kind_name(kind));
    }
    if (st == SOAP_OK && kind == SOAP_OP_MATMUL)
        st = check_matmul(r, o, &p);
    json_t *share = json_object_get(o, "share_weights");
    const char *share_name = NULL;
    if (st == SOAP_OK && share) {
        st = get_name(r, share, "share_weights", SOAP_NAME_MAX - 1, &share_name);
        if (st == SOAP_OK)
            snprintf(p.share_weights, sizeof p.share_weights, "%s", share_name);
    }
    json_int_t layer = -1;
    json_t *jlayer = json_object_get(o, "layer");
    if (st == SOAP_OK && jlayer)
        st = get_int(r, jlayer, "layer", 0, MAX_INT_VALUE, &layer);
    if (st != SOAP_OK)
        return st;

    int *ids = NULL, nin = 0;
    if (kind != SOAP_OP_INPUT)
        st = read_inputs(r, g, o, &ids, &nin);
    int id = -1;
    if (st == SOAP_OK) {
        id = soap_graph_add(g, kind, name, ids, nin, &p, r->err);
        if (id < 0)
            st = soap_error_prefix(r->err, "%s: ops[%zu]", r->path, r->index);
    }
    free(ids);
    if (st != SOAP_OK)
        return st;
    if (layer >= 0)
        soap_graph_set_layer(g, id, (int)layer);
    st = check_sizes(r, g, id);
    if (st == SOAP_OK)
        st = check_meaning(r, g, id);
    return st;
}

static soap_status read_root(reader *r, json_t *root, soap_graph **out)
{
    static const char *const keys[] = {"format", "version", "name", "batch", "ops"};
    const size_t nkeys = sizeof keys / sizeof keys[0];
    r->where[0] = '\0';
    if (!json_is_object(root))
        return fail(r, "expected a JSON object at the top ({\"format\": \"%s\", ...})",
                    FORMAT_NAME);
    const char *key;
    json_t *val;
    json_object_foreach(root, key, val) {
        size_t i = 0;
        while (i < nkeys && strcmp(key, keys[i]) != 0)
            i++;
        if (i == nkeys)
            return fail(r, "unknown key '%s' at the top level (expected: format, version, "
                           "name, batch, ops)",
                        esc(r, key));
    }
    for (size_t i = 0; i < nkeys; i++)
        if (!json_object_get(root, keys[i]))
            return fail(r, "missing field '%s' at the top level", keys[i]);
    json_t *fmt = json_object_get(root, "format");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), FORMAT_NAME) != 0)
        return fail(r, "format must be \"%s\" (is this a model file?)", FORMAT_NAME);
    json_t *ver = json_object_get(root, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) != FORMAT_VERSION)
        return fail(r, "version must be %d", FORMAT_VERSION);
    const char *name = NULL;
    json_int_t batch = 0;
    soap_status st = get_name(r, json_object_get(root, "name"), "name", SOAP_NAME_MAX - 1,
                              &name);
    if (st == SOAP_OK)
        st = get_int(r, json_object_get(root, "batch"), "batch", 1, MAX_INT_VALUE, &batch);
    if (st != SOAP_OK)
        return st;
    r->ops = json_object_get(root, "ops");
    if (!json_is_array(r->ops) || json_array_size(r->ops) == 0)
        return fail(r, "'ops' must be a non-empty array of operators");

    soap_graph *g = soap_graph_new(name, batch);
    for (r->index = 0; r->index < json_array_size(r->ops); r->index++) {
        st = read_op(r, g, json_array_get(r->ops, r->index));
        if (st != SOAP_OK) {
            soap_graph_free(g);
            return st;
        }
    }
    *out = g;
    return SOAP_OK;
}

soap_graph *soap_graph_read_json(const char *path, soap_error *err)
{
    json_t *root = soap_json_load_file(path, "model", err);
    if (!root)
        return NULL;
    reader r;
    memset(&r, 0, sizeof r);
    r.path = path;
    r.err = err;
    soap_graph *g = NULL;
    soap_status st = read_root(&r, root, &g);
    json_decref(root);
    return st == SOAP_OK ? g : NULL;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */
static json_t *pair(const int v[2])
{
    return json_pack("[i, i]", v[0], v[1]);
}

/* The JSON value of field f of op o. */
static json_t *field_value(const soap_op *o, field f)
{
    const soap_op_params *p = &o->p;
    json_t *a;
    switch (f) {
    case F_SHAPE:
        a = json_array();
        for (int d = 0; d < p->shape.ndims; d++)
            json_array_append_new(a, json_integer(p->shape.size[d]));
        return a;
    case F_DIMS:
        a = json_array();
        for (int d = 0; d < p->shape.ndims; d++)
            json_array_append_new(a, json_string(soap_dim_kind_name(p->shape.kind[d])));
        return a;
    case F_INDEX: return json_boolean(p->is_index);
    case F_BIAS: return json_boolean(p->has_bias);
    case F_TRANS_B: return json_boolean(p->trans_b);
    case F_KERNEL: return pair(p->kernel);
    case F_STRIDE: return pair(p->stride);
    case F_PADDING: return pair(p->pad);
    case F_OUT_CHANNELS: return json_integer(p->out_channels);
    case F_OUT_FEATURES: return json_integer(p->out_features);
    case F_VOCAB: return json_integer(p->vocab);
    case F_EMBED_DIM: return json_integer(p->embed_dim);
    case F_HIDDEN: return json_integer(p->hidden);
    case F_AXIS: return json_integer(p->axis);
    case F_HEADS: return json_integer(p->heads);
    case F_POOL: return json_string(soap_pool_type_name(p->pool));
    case F_UNARY_FN: return json_string(soap_unary_fn_name(p->unary));
    case F_BINARY_FN: return json_string(soap_binary_fn_name(p->binary));
    case F_MODE: return json_string(soap_matmul_mode_name(p->matmul));
    case F_END:
    case F_COUNT: break;
    }
    SOAP_ASSERT(!"unhandled model field");
    return NULL;
}

static json_t *op_object(const soap_graph *g, const soap_op *o)
{
    json_t *j = json_object();
    json_object_set_new(j, "name", json_string(o->name));
    json_object_set_new(j, "kind", json_string(soap_op_kind_name(o->kind)));
    if (o->kind != SOAP_OP_INPUT) {
        json_t *ins = json_array();
        for (int i = 0; i < o->ninputs; i++)
            json_array_append_new(ins, json_string(g->ops[o->inputs[i]].name));
        json_object_set_new(j, "inputs", ins);
    }
    for (const field_use *u = kind_fields[o->kind]; u->f != F_END; u++)
        if (writes_field(o->kind, &o->p, u->f))
            json_object_set_new(j, field_keys[u->f], field_value(o, u->f));
    if (o->p.share_weights[0])
        json_object_set_new(j, "share_weights", json_string(o->p.share_weights));
    if (o->layer >= 0)
        json_object_set_new(j, "layer", json_integer(o->layer));
    return j;
}

/* A growing text buffer. */
typedef struct text {
    char *s;
    size_t len, cap;
} text;

static void text_add(text *t, const char *s)
{
    size_t n = strlen(s);
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (t->len + n + 1 > cap)
            cap *= 2;
        t->s = soap_xrealloc(t->s, cap);
        t->cap = cap;
    }
    memcpy(t->s + t->len, s, n + 1);
    t->len += n;
}

/* Appends a JSON value on one line (jansson's escaping of strings). */
static void text_add_json(text *t, json_t *v)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
    SOAP_ASSERT(s != NULL);
    text_add(t, s);
    free(s);
    json_decref(v);
}

/* 1 if s can go into a JSON string (jansson wants valid UTF-8). */
static int utf8_ok(const char *s)
{
    json_t *v = json_string(s);
    json_decref(v);
    return v != NULL;
}

/* 1 if every name of g can go into JSON. */
static int names_ok(const soap_graph *g, int *bad_op)
{
    *bad_op = -1;
    if (!utf8_ok(g->name))
        return 0;
    for (int i = 0; i < g->nops; i++)
        if (!utf8_ok(g->ops[i].name) || !utf8_ok(g->ops[i].p.share_weights)) {
            *bad_op = i;
            return 0;
        }
    return 1;
}

struct json_t *soap_graph_to_json(const soap_graph *g)
{
    SOAP_ASSERT(g);
    int bad;
    if (!names_ok(g, &bad))
        return NULL;
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string(FORMAT_NAME));
    json_object_set_new(root, "version", json_integer(FORMAT_VERSION));
    json_object_set_new(root, "name", json_string(g->name));
    json_object_set_new(root, "batch", json_integer(g->batch));
    json_t *ops = json_array();
    for (int i = 0; i < g->nops; i++)
        json_array_append_new(ops, op_object(g, &g->ops[i]));
    json_object_set_new(root, "ops", ops);
    return root;
}

/* Appends a JSON value on one line, keeping the reference. */
static void text_add_json_ref(text *t, json_t *v)
{
    json_incref(v);
    text_add_json(t, v);
}

soap_status soap_graph_write_json(const soap_graph *g, const char *path, soap_error *err)
{
    if (!g || !path)
        return soap_error_set(err, SOAP_ERR_INVALID, "model file: no %s given",
                              g ? "path" : "graph");
    int bad;
    if (!names_ok(g, &bad)) {
        if (bad < 0)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "%s: the model name is not valid UTF-8", path);
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s: op #%d: its name or share_weights is not valid UTF-8",
                              path, bad);
    }
    /* The document of soap_graph_to_json, laid out by hand: the top level
     * one key per line, one op per line. */
    json_t *doc = soap_graph_to_json(g);
    SOAP_ASSERT(doc);
    text t = {0};
    char num[32];
    text_add(&t, "{\n  \"format\": \"" FORMAT_NAME "\",\n  \"version\": ");
    snprintf(num, sizeof num, "%d", FORMAT_VERSION);
    text_add(&t, num);
    text_add(&t, ",\n  \"name\": ");
    text_add_json_ref(&t, json_object_get(doc, "name"));
    text_add(&t, ",\n  \"batch\": ");
    text_add_json_ref(&t, json_object_get(doc, "batch"));
    text_add(&t, ",\n  \"ops\": [");
    json_t *ops = json_object_get(doc, "ops");
    for (size_t i = 0; i < json_array_size(ops); i++) {
        text_add(&t, i ? ",\n    " : "\n    ");
        text_add_json_ref(&t, json_array_get(ops, i));
    }
    text_add(&t, "\n  ]\n}\n");
    json_decref(doc);
    soap_status st = soap_write_file_atomic(path, t.s, err);
    free(t.s);
    return st;
}
