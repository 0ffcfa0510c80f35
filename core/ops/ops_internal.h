/* ops_internal.h: the per-kind operator table shared by the files of core/ops/ and
 * core/graph.c (internal to soap_core, not installed).
 *
 * Each operator kind provides one `soap_op_ops` (a const struct of function
 * pointers) in its file; dispatch.c lists them in one table indexed by
 * soap_op_kind and checked against SOAP_OP_KIND_COUNT. The public functions
 * of the "Per-kind semantics" section of soap_core.h go through that table.
 *
 * Regions passed to the hooks are output regions of the op: non-empty, with
 * the output's ndims and inside the output shape (dispatch.c checks this and
 * handles empty regions itself).
 */
#ifndef SOAP_OPS_INTERNAL_H
#define SOAP_OPS_INTERNAL_H

#include <stddef.h>
#include <string.h>

#include "soap_core.h"

typedef struct soap_op_ops {
    soap_op_kind kind;       /* the table slot it belongs to (checked) */
    int min_inputs;          /* number of inputs accepted */
    int max_inputs;          /* -1: no upper limit */
    /* Suffixes of the weight names ("w" -> "<op>.w"), in weight order. */
    const char *weight_names[SOAP_MAX_WEIGHTS];

    /* Output shape and dim kinds. Input count is already checked. */
    soap_status (*infer)(const char *name, const soap_op_params *p,
                         const soap_shape *const *in, int ninputs, soap_shape *out,
                         soap_error *err);
    /* Weight shapes of a stored op; returns the count. Optional (NULL: none). */
    int (*weights)(const soap_graph *g, const soap_op *o, soap_shape *w);
    /* Region of input i needed to compute output region `out` (non-empty). */
    soap_region (*input_region)(const soap_graph *g, const soap_op *o, int i,
                                const soap_region *out);
    /* Region of weight w needed for `out`. Optional (NULL: no weights). */
    soap_region (*weight_region)(const soap_graph *g, const soap_op *o, int w,
                                 const soap_region *out);
    /* Elements of weight w read for `out`. Optional (NULL: the volume of the
     * weight region); an embedding gathers rows and reads fewer. */
    double (*weight_elems)(const soap_graph *g, const soap_op *o, int w,
                           const soap_region *out);
    /* Forward and backward FLOP for output region `out`. */
    void (*flops)(const soap_graph *g, const soap_op *o, const soap_region *out,
                  double *fwd, double *bwd);
    /* Appends the parameter part of the signature (" k3x3 s1x1 ..."), with a
     * leading space, or nothing. Optional. */
    void (*signature)(const soap_graph *g, const soap_op *o, char *buf, size_t len);
} soap_op_ops;

/* One table per kind, defined in the kind's file. */
extern const soap_op_ops soap_opkind_input, soap_opkind_conv2d, soap_opkind_pool2d,
    soap_opkind_batchnorm, soap_opkind_unary, soap_opkind_binary, soap_opkind_concat,
    soap_opkind_flatten, soap_opkind_linear, soap_opkind_softmax, soap_opkind_softmax_ce,
    soap_opkind_embedding, soap_opkind_lstm, soap_opkind_attention,
    soap_opkind_layernorm, soap_opkind_matmul;

/* The table of a kind (SOAP_ASSERT on a kind out of range). */
const soap_op_ops *soap_ops_of(soap_op_kind kind);

/* ------------------------------------------------------------------ */
/* Small helpers for the kind files                                    */
/* ------------------------------------------------------------------ */
/* Output shape of input i of a stored op. */
static inline const soap_shape *soap_ops_in(const soap_graph *g, const soap_op *o, int i)
{
    return &g->ops[o->inputs[i]].out;
}

/* 1 if s is an LSTM state [N,2,X] (index 0 = h, 1 = c): 3-D with a
 * non-partitionable middle dim of 2, as LSTM outputs are marked. Ops that
 * take rows (lstm x, attention, linear) read only its h. */
static inline int soap_ops_state_shaped(const soap_shape *s)
{
    return s->ndims == 3 && s->size[1] == 2 && s->kind[1] == SOAP_DIM_NONE;
}

/* A region of ndims dims with nothing in it. */
static inline soap_region soap_ops_region_none(int ndims)
{
    soap_region r;
    memset(&r, 0, sizeof r);
    r.ndims = ndims;
    return r;
}

/* A shape of n dims from sizes and kinds. */
static inline soap_shape soap_ops_shape(int n, const int64_t *size, const soap_dim_kind *kind)
{
    soap_shape s;
    memset(&s, 0, sizeof s);
    s.ndims = n;
    for (int d = 0; d < n; d++) {
        s.size[d] = size[d];
        s.kind[d] = kind ? kind[d] : SOAP_DIM_NONE;
    }
    return s;
}

/* "Weightless rule": the dim kinds of an op without weights are those of its
 * input, with PARAMETER turned into ATTRIBUTE (splitting it splits no weight
 * of this op); NONE stays NONE. */
static inline void soap_ops_weightless_kinds(const soap_shape *in, soap_shape *out)
{
    for (int d = 0; d < in->ndims; d++)
        out->kind[d] = in->kind[d] == SOAP_DIM_PARAMETER ? SOAP_DIM_ATTRIBUTE : in->kind[d];
}

/* snprintf that appends to buf (keeps it NUL-terminated when it is full). */
void soap_ops_appendf(char *buf, size_t len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Bad input: sets *err to "op '<name>' (<kind>): <message>" and returns
 * SOAP_ERR_INVALID, so that every message names the op. */
soap_status soap_ops_fail(soap_error *err, const char *name, soap_op_kind kind,
                          const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Checks that input i has lo..hi dims; the error shows the expected layout
 * (e.g. "[N,C,H,W]") and the shape it got. */
soap_status soap_ops_want_ndims(soap_error *err, const char *name, soap_op_kind kind, int i,
                                const soap_shape *in, int lo, int hi, const char *layout);

#endif /* SOAP_OPS_INTERNAL_H */
