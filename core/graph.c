/* graph.c: the operator graph: creating and freeing it, adding operators
 * (input and parameter checks, shape inference, weights and weight sharing),
 * the name index (uthash), the convenience builders used by the built-in
 * models, whole-graph figures (parameters, FLOP) and the fingerprint.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops_internal.h"
#include "soap_core.h"

/* uthash allocates through soap_xmalloc: running out of memory aborts, as
 * everywhere else in soap. */
#define uthash_malloc(sz) soap_xmalloc(sz)
#define uthash_free(ptr, sz) free(ptr)
#include <uthash.h>

/* Longest weight-name suffix is ".gamma": op names stay short enough that
 * "<op>.gamma" fits in SOAP_NAME_MAX. */
#define OP_NAME_LEN_MAX (SOAP_NAME_MAX - (int)sizeof(".gamma"))

typedef struct name_entry {
    char name[SOAP_NAME_MAX];
    int id;
    UT_hash_handle hh;
} name_entry;

struct soap_name_index {
    name_entry *map; /* uthash head, keyed by name */
};

soap_graph *soap_graph_new(const char *name, int64_t batch)
{
    soap_graph *g = soap_xcalloc(1, sizeof *g);
    snprintf(g->name, sizeof g->name, "%s", name ? name : "");
    g->batch = batch;
    g->index = soap_xcalloc(1, sizeof *g->index);
    return g;
}

void soap_graph_free(soap_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->nops; i++)
        free(g->ops[i].inputs);
    free(g->ops);
    free(g->weights);
    if (g->index) {
        name_entry *e, *tmp;
        HASH_ITER(hh, g->index->map, e, tmp)
        {
            HASH_DEL(g->index->map, e);
            free(e);
        }
        free(g->index);
    }
    free(g);
}

int soap_graph_find(const soap_graph *g, const char *name)
{
    if (!g || !name || !g->index)
        return -1;
    name_entry *e = NULL;
    HASH_FIND_STR(g->index->map, name, e);
    return e ? e->id : -1;
}

void soap_graph_set_layer(soap_graph *g, int op, int layer)
{
    SOAP_ASSERT(g != NULL && op >= 0 && op < g->nops);
    SOAP_ASSERT(layer >= -1);
    g->ops[op].layer = layer;
}

/* Whether an op of kind `a` may use the weights of an op of kind `b`: the
 * same kind, or a linear and an embedding (tied output projection and
 * embedding table, both [V,E]). */
static int share_compatible(soap_op_kind a, soap_op_kind b)
{
    if (a == b)
        return 1;
    return (a == SOAP_OP_LINEAR && b == SOAP_OP_EMBEDDING) ||
           (a == SOAP_OP_EMBEDDING && b == SOAP_OP_LINEAR);
}

/* Points op `id`'s weights at those of the op named p->share_weights, after
 * checking that it exists, fits and has weights of the same shapes. */
static soap_status share_weights(soap_graph *g, int id, const soap_shape *ws, int nw,
                                 soap_error *err)
{
    soap_op *o = &g->ops[id];
    const char *kname = soap_op_kind_name(o->kind);
    /* Names come from model files: printed escaped. */
    char me[SOAP_NAME_MAX * 4], other[SOAP_NAME_MAX * 4];
    soap_name_escape(o->name, me, sizeof me);
    soap_name_escape(o->p.share_weights, other, sizeof other);
    int sid = soap_graph_find(g, o->p.share_weights);
    if (sid < 0)
        return soap_error_set(err, SOAP_ERR_NOT_FOUND,
                              "op '%s' (%s): share_weights names '%s', expected an earlier "
                              "operator",
                              me, kname, other);
    const soap_op *so = &g->ops[sid];
    if (nw == 0)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "op '%s' (%s): has no weights to share with '%s'", me, kname,
                              other);
    if (!share_compatible(o->kind, so->kind))
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "op '%s' (%s): shares weights with '%s', a %s; expected an "
                              "operator of the same kind",
                              me, kname, other, soap_op_kind_name(so->kind));
    int fits = so->nweights == nw;
    for (int k = 0; fits && k < nw; k++)
        fits = soap_shape_equal_sizes(&g->weights[so->weights[k]].shape, &ws[k]);
    if (!fits) {
        char mine[128] = "", theirs[128] = "", sh[96];
        for (int k = 0; k < nw; k++)
            soap_ops_appendf(mine, sizeof mine, "%s", soap_shape_str(&ws[k], sh, sizeof sh));
        for (int k = 0; k < so->nweights; k++)
            soap_ops_appendf(theirs, sizeof theirs, "%s",
                             soap_shape_str(&g->weights[so->weights[k]].shape, sh, sizeof sh));
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "op '%s' (%s): shares weights with '%s', whose weights %s differ "
                              "from its own %s",
                              me, kname, other, theirs, mine);
    }
    o->nweights = nw;
    for (int k = 0; k < nw; k++)
        o->weights[k] = so->weights[k];
    return SOAP_OK;
}

/* Creates the op's own weights "<op>.<suffix>". */
static void create_weights(soap_graph *g, int id, const soap_shape *ws, int nw)
{
    soap_op *o = &g->ops[id];
    const soap_op_ops *ops = soap_ops_of(o->kind);
    if (g->nweights + nw > g->cap_weights) {
        int cap = g->cap_weights ? 2 * g->cap_weights : 16;
        while (cap < g->nweights + nw)
            cap *= 2;
        g->weights = soap_xrealloc(g->weights, (size_t)cap * sizeof *g->weights);
        g->cap_weights = cap;
    }
    o->nweights = nw;
    for (int k = 0; k < nw; k++) {
        SOAP_ASSERT(ops->weight_names[k] != NULL);
        soap_weight *w = &g->weights[g->nweights];
        memset(w, 0, sizeof *w);
        int n = snprintf(w->name, sizeof w->name, "%s.%s", o->name, ops->weight_names[k]);
        SOAP_ASSERT(n > 0 && n < (int)sizeof w->name);
        w->shape = ws[k];
        w->owner = id;
        o->weights[k] = g->nweights++;
    }
}

/* Checks name, kind and inputs of a new op; the message names the op. */
static soap_status check_new_op(const soap_graph *g, soap_op_kind kind, const char *name,
                                const int *inputs, int ninputs, const soap_op_params *p,
                                soap_error *err)
{
    char esc[SOAP_NAME_MAX * 4];
    if (!name || !name[0])
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "operator #%d: empty name, expected a unique non-empty name",
                              g->nops);
    if (strlen(name) > (size_t)OP_NAME_LEN_MAX) {
        char head[17];
        memcpy(head, name, 16);
        head[16] = '\0';
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "op '%s...': name longer than %d characters",
                              soap_name_escape(head, esc, sizeof esc), OP_NAME_LEN_MAX);
    }
    int dup = soap_graph_find(g, name);
    if (dup >= 0)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "op '%s': duplicate operator name (already op #%d)",
                              soap_name_escape(name, esc, sizeof esc), dup);
    if ((int)kind < 0 || kind >= SOAP_OP_KIND_COUNT)
        return soap_error_set(err, SOAP_ERR_INVALID, "op '%s': unknown operator kind %d",
                              soap_name_escape(name, esc, sizeof esc), (int)kind);
    if (ninputs < 0 || (ninputs > 0 && !inputs))
        return soap_ops_fail(err, name, kind, "%d inputs but no input list", ninputs);
    for (int i = 0; i < ninputs; i++)
        if (inputs[i] < 0 || inputs[i] >= g->nops)
            return soap_ops_fail(err, name, kind,
                                 "input %d is op id %d, expected an existing op (0 to %d)", i,
                                 inputs[i], g->nops - 1);
    if (strnlen(p->share_weights, SOAP_NAME_MAX) == SOAP_NAME_MAX)
        return soap_ops_fail(err, name, kind, "share_weights is not a terminated name");
    return SOAP_OK;
}

int soap_graph_add(soap_graph *g, soap_op_kind kind, const char *name, const int *inputs,
                   int ninputs, const soap_op_params *p, soap_error *err)
{
    SOAP_ASSERT(g != NULL);
    const soap_op_params zero = {0};
    if (!p)
        p = &zero;
    if (check_new_op(g, kind, name, inputs, ninputs, p, err) != SOAP_OK)
        return -1;

    const soap_shape **in = soap_xcalloc((size_t)(ninputs > 0 ? ninputs : 1), sizeof *in);
    for (int i = 0; i < ninputs; i++)
        in[i] = &g->ops[inputs[i]].out;
    soap_shape out;
    soap_status st = soap_op_infer_shape(kind, name, p, in, ninputs, &out, err);
    free(in);
    if (st != SOAP_OK)
        return -1;

    if (g->nops == g->cap_ops) {
        g->cap_ops = g->cap_ops ? 2 * g->cap_ops : 16;
        g->ops = soap_xrealloc(g->ops, (size_t)g->cap_ops * sizeof *g->ops);
    }
    int id = g->nops;
    soap_op *o = &g->ops[id];
    memset(o, 0, sizeof *o);
    snprintf(o->name, sizeof o->name, "%s", name);
    o->kind = kind;
    o->p = *p;
    o->ninputs = ninputs;
    o->inputs = soap_xmalloc((size_t)(ninputs > 0 ? ninputs : 1) * sizeof *o->inputs);
    if (ninputs > 0)
        memcpy(o->inputs, inputs, (size_t)ninputs * sizeof *inputs);
    o->out = out;
    o->layer = -1;
    g->nops++; /* tentatively: the weight hooks read the stored op */

    soap_shape ws[SOAP_MAX_WEIGHTS];
    int nw = soap_op_weight_shapes(g, id, ws);
    if (o->p.share_weights[0]) {
        if (share_weights(g, id, ws, nw, err) != SOAP_OK) {
            g->nops--;
            free(o->inputs);
            return -1;
        }
    } else {
        create_weights(g, id, ws, nw);
    }

    name_entry *e = soap_xcalloc(1, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->id = id;
    HASH_ADD_STR(g->index->map, name, e);
    return id;
}

/* ------------------------------------------------------------------ */
/* Convenience builders (built-in models are code: errors abort)       */
/* ------------------------------------------------------------------ */
static int add_or_die(soap_graph *g, soap_op_kind kind, const char *name, const int *inputs,
                      int ninputs, const soap_op_params *p)
{
    soap_error err;
    soap_error_clear(&err);
    int id = soap_graph_add(g, kind, name, inputs, ninputs, p, &err);
    if (id < 0)
        fprintf(stderr, "soap: building model '%s': %s\n", g->name, err.msg);
    SOAP_ASSERT(id >= 0);
    return id;
}

/* Names op `share` (an op id, or -1 for own weights) in p->share_weights. */
static void set_share(const soap_graph *g, soap_op_params *p, int share)
{
    if (share < 0)
        return;
    SOAP_ASSERT(share < g->nops);
    snprintf(p->share_weights, sizeof p->share_weights, "%s", g->ops[share].name);
}

/* kinds NULL: dim 0 SAMPLE, the others ATTRIBUTE. */
int soap_add_input(soap_graph *g, const char *name, int ndims, const int64_t *size,
                   const soap_dim_kind *kinds, int is_index)
{
    SOAP_ASSERT(ndims >= 1 && ndims <= SOAP_MAX_DIMS && size != NULL);
    soap_op_params p = {0};
    p.shape.ndims = ndims;
    for (int d = 0; d < ndims; d++) {
        p.shape.size[d] = size[d];
        p.shape.kind[d] = kinds ? kinds[d] : (d == 0 ? SOAP_DIM_SAMPLE : SOAP_DIM_ATTRIBUTE);
    }
    p.is_index = is_index;
    return add_or_die(g, SOAP_OP_INPUT, name, NULL, 0, &p);
}

static void set_window(soap_op_params *p, int kh, int kw, int sh, int sw, int ph, int pw)
{
    p->kernel[0] = kh;
    p->kernel[1] = kw;
    p->stride[0] = sh;
    p->stride[1] = sw;
    p->pad[0] = ph;
    p->pad[1] = pw;
}

int soap_add_conv2d(soap_graph *g, const char *name, int in, int64_t out_channels, int kh,
                    int kw, int sh, int sw, int ph, int pw, int has_bias)
{
    soap_op_params p = {0};
    set_window(&p, kh, kw, sh, sw, ph, pw);
    p.out_channels = out_channels;
    p.has_bias = has_bias;
    return add_or_die(g, SOAP_OP_CONV2D, name, &in, 1, &p);
}

int soap_add_pool2d(soap_graph *g, const char *name, int in, soap_pool_type t, int kh, int kw,
                    int sh, int sw, int ph, int pw)
{
    soap_op_params p = {0};
    set_window(&p, kh, kw, sh, sw, ph, pw);
    p.pool = t;
    return add_or_die(g, SOAP_OP_POOL2D, name, &in, 1, &p);
}

int soap_add_batchnorm(soap_graph *g, const char *name, int in)
{
    return add_or_die(g, SOAP_OP_BATCHNORM, name, &in, 1, NULL);
}

int soap_add_unary(soap_graph *g, const char *name, int in, soap_unary_fn f)
{
    soap_op_params p = {0};
    p.unary = f;
    return add_or_die(g, SOAP_OP_UNARY, name, &in, 1, &p);
}

int soap_add_binary(soap_graph *g, const char *name, int a, int b, soap_binary_fn f)
{
    soap_op_params p = {0};
    p.binary = f;
    const int ins[2] = {a, b};
    return add_or_die(g, SOAP_OP_BINARY, name, ins, 2, &p);
}

int soap_add_concat(soap_graph *g, const char *name, const int *ins, int n, int axis)
{
    soap_op_params p = {0};
    p.axis = axis;
    return add_or_die(g, SOAP_OP_CONCAT, name, ins, n, &p);
}

int soap_add_flatten(soap_graph *g, const char *name, int in)
{
    return add_or_die(g, SOAP_OP_FLATTEN, name, &in, 1, NULL);
}

int soap_add_linear(soap_graph *g, const char *name, int in, int64_t out_features,
                    int has_bias, int share)
{
    soap_op_params p = {0};
    p.out_features = out_features;
    p.has_bias = has_bias;
    set_share(g, &p, share);
    return add_or_die(g, SOAP_OP_LINEAR, name, &in, 1, &p);
}

int soap_add_softmax(soap_graph *g, const char *name, int in)
{
    return add_or_die(g, SOAP_OP_SOFTMAX, name, &in, 1, NULL);
}

int soap_add_softmax_ce(soap_graph *g, const char *name, int in)
{
    return add_or_die(g, SOAP_OP_SOFTMAX_CE, name, &in, 1, NULL);
}

int soap_add_embedding(soap_graph *g, const char *name, int in, int64_t vocab,
                       int64_t embed_dim, int share)
{
    soap_op_params p = {0};
    p.vocab = vocab;
    p.embed_dim = embed_dim;
    set_share(g, &p, share);
    return add_or_die(g, SOAP_OP_EMBEDDING, name, &in, 1, &p);
}

int soap_add_lstm(soap_graph *g, const char *name, int x, int state, int64_t hidden,
                  int share)
{
    soap_op_params p = {0};
    p.hidden = hidden;
    set_share(g, &p, share);
    const int ins[2] = {x, state};
    return add_or_die(g, SOAP_OP_LSTM, name, ins, state >= 0 ? 2 : 1, &p);
}

int soap_add_attention(soap_graph *g, const char *name, int query, const int *memory,
                       int nmemory)
{
    SOAP_ASSERT(nmemory >= 0 && (nmemory == 0 || memory != NULL));
    int *ins = soap_xmalloc((size_t)(nmemory + 1) * sizeof *ins);
    ins[0] = query;
    for (int i = 0; i < nmemory; i++)
        ins[1 + i] = memory[i];
    int id = add_or_die(g, SOAP_OP_ATTENTION, name, ins, nmemory + 1, NULL);
    free(ins);
    return id;
}

int soap_add_layernorm(soap_graph *g, const char *name, int in)
{
    return add_or_die(g, SOAP_OP_LAYERNORM, name, &in, 1, NULL);
}

int soap_add_matmul(soap_graph *g, const char *name, int a, int b, soap_matmul_mode m,
                    int trans_b, int heads)
{
    soap_op_params p = {0};
    p.matmul = m;
    p.trans_b = trans_b;
    p.heads = heads;
    const int ins[2] = {a, b};
    return add_or_die(g, SOAP_OP_MATMUL, name, ins, 2, &p);
}

/* ------------------------------------------------------------------ */
/* Whole-graph figures                                                 */
/* ------------------------------------------------------------------ */
int64_t soap_graph_param_count(const soap_graph *g)
{
    SOAP_ASSERT(g != NULL);
    int64_t n = 0;
    /* g->weights holds every tensor once; sharing ops only point at them. */
    for (int w = 0; w < g->nweights; w++)
        n += soap_shape_volume(&g->weights[w].shape);
    return n;
}

static soap_op_cost full_cost(const soap_graph *g, int op)
{
    soap_region all = soap_region_full(&g->ops[op].out);
    return soap_op_region_cost(g, op, &all);
}

double soap_graph_forward_flops(const soap_graph *g)
{
    SOAP_ASSERT(g != NULL);
    double f = 0;
    for (int i = 0; i < g->nops; i++)
        f += full_cost(g, i).fwd_flops;
    return f;
}

double soap_graph_backward_flops(const soap_graph *g)
{
    SOAP_ASSERT(g != NULL);
    double f = 0;
    for (int i = 0; i < g->nops; i++)
        f += full_cost(g, i).bwd_flops;
    return f;
}

/* Integers enter the hash as 8 little-endian bytes, so that a fingerprint is
 * the same on every host. */
static uint64_t mix_i64(uint64_t h, int64_t v)
{
    unsigned char b[8];
    uint64_t u = (uint64_t)v;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(u >> (8 * i));
    return soap_fnv1a(h, b, sizeof b);
}

/* Canonical encoding per op: its signature (kind, the parameters that kind
 * reads, input sizes), input ids, output sizes and kinds, and weight ids
 * (which differ when sharing differs). Names and layers do not enter. */
uint64_t soap_graph_fingerprint(const soap_graph *g)
{
    SOAP_ASSERT(g != NULL);
    uint64_t h = SOAP_FNV_INIT;
    h = mix_i64(h, g->batch);
    h = mix_i64(h, g->nops);
    char sig[1024];
    for (int i = 0; i < g->nops; i++) {
        const soap_op *o = &g->ops[i];
        soap_op_signature(g, i, sig, sizeof sig);
        h = mix_i64(h, (int64_t)strlen(sig));
        h = soap_fnv1a(h, sig, strlen(sig));
        h = mix_i64(h, o->ninputs);
        for (int k = 0; k < o->ninputs; k++)
            h = mix_i64(h, o->inputs[k]);
        h = mix_i64(h, o->out.ndims);
        for (int d = 0; d < o->out.ndims; d++) {
            h = mix_i64(h, o->out.size[d]);
            h = mix_i64(h, o->out.kind[d]);
        }
        h = mix_i64(h, o->nweights);
        for (int k = 0; k < o->nweights; k++)
            h = mix_i64(h, o->weights[k]);
    }
    return h;
}
