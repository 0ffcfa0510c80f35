/* models_internal.h: what the built-in model files of core/models/ share
 * (internal to soap_core): their build functions, listed by registry.c, and
 * small helpers for option defaults (full and tiny), tiny widths and op
 * names.
 */
#ifndef SOAP_MODELS_INTERNAL_H
#define SOAP_MODELS_INTERNAL_H

#include <stdarg.h>
#include <stdio.h>

#include "soap_core.h"

/* Defaults of soap_model_options (a field <= 0 means "the default"). */
#define SOAP_MODEL_DEFAULT_BATCH 64
#define SOAP_MODEL_DEFAULT_UNROLL 40
#define SOAP_MODEL_DEFAULT_LAYERS 12
#define SOAP_MODEL_DEFAULT_SEQ_LEN 128
/* Defaults of the tiny variants (opt->tiny). */
#define SOAP_MODEL_TINY_UNROLL 4
#define SOAP_MODEL_TINY_LAYERS 2
#define SOAP_MODEL_TINY_SEQ_LEN 8

/* One build function per model file. `opt` may be NULL (all defaults). */
soap_graph *soap_model_build_lenet(const soap_model_options *opt);
soap_graph *soap_model_build_alexnet(const soap_model_options *opt);
soap_graph *soap_model_build_resnet50(const soap_model_options *opt);
soap_graph *soap_model_build_resnet101(const soap_model_options *opt);
soap_graph *soap_model_build_resnet152(const soap_model_options *opt);
soap_graph *soap_model_build_vgg16(const soap_model_options *opt);
soap_graph *soap_model_build_inception_v3(const soap_model_options *opt);
soap_graph *soap_model_build_rnntc(const soap_model_options *opt);
soap_graph *soap_model_build_rnnlm(const soap_model_options *opt);
soap_graph *soap_model_build_nmt(const soap_model_options *opt);
soap_graph *soap_model_build_transformer(const soap_model_options *opt);

static inline int64_t soap_model_batch(const soap_model_options *opt)
{
    return (opt && opt->batch > 0) ? opt->batch : SOAP_MODEL_DEFAULT_BATCH;
}

/* 1: build the small variant (opt->tiny). */
static inline int soap_model_tiny(const soap_model_options *opt)
{
    return opt && opt->tiny;
}

static inline int soap_model_unroll(const soap_model_options *opt)
{
    if (opt && opt->unroll > 0)
        return opt->unroll;
    return soap_model_tiny(opt) ? SOAP_MODEL_TINY_UNROLL : SOAP_MODEL_DEFAULT_UNROLL;
}

static inline int soap_model_layers(const soap_model_options *opt)
{
    if (opt && opt->layers > 0)
        return opt->layers;
    return soap_model_tiny(opt) ? SOAP_MODEL_TINY_LAYERS : SOAP_MODEL_DEFAULT_LAYERS;
}

static inline int soap_model_seq_len(const soap_model_options *opt)
{
    if (opt && opt->seq_len > 0)
        return opt->seq_len;
    return soap_model_tiny(opt) ? SOAP_MODEL_TINY_SEQ_LEN : SOAP_MODEL_DEFAULT_SEQ_LEN;
}

/* A channel count of the tiny variant: c / div, at least `floor` (so that
 * every layer keeps a few channels); c itself in the full model. */
static inline int64_t soap_model_width(const soap_model_options *opt, int64_t c, int64_t div,
                                       int64_t floor)
{
    if (!soap_model_tiny(opt))
        return c;
    int64_t w = c / div;
    return w < floor ? floor : w;
}

/* A stack of LSTM layers unrolled over time (lstm_stack.c), shared by
 * rnntc, rnnlm and nmt. Layer l's step t is the op "<prefix>l<l>.t<t>"; it
 * reads layer l-1's step-t state (layer 0: the step's x) and its own step
 * t-1 state, and uses the weights of its step 0, so a layer has one set of
 * weights whatever T. Its op layer index is layer_base + l. */
#define SOAP_MODEL_MAX_LSTM_LAYERS 8
typedef struct soap_model_lstm_stack {
    const char *prefix;  /* op name prefix: "", "enc.", "dec." */
    int nlayers;         /* 1..SOAP_MODEL_MAX_LSTM_LAYERS */
    int64_t hidden;      /* H, units per cell */
    int layer_base;      /* op layer index of layer 0 */
    int weights[SOAP_MODEL_MAX_LSTM_LAYERS]; /* op owning layer l's weights, -1 before step 0 */
    int state[SOAP_MODEL_MAX_LSTM_LAYERS];   /* layer l's latest state op; -1: zeros */
} soap_model_lstm_stack;

/* A stack with zero initial states and no weights yet. */
void soap_model_lstm_stack_init(soap_model_lstm_stack *s, const char *prefix, int nlayers,
                                int64_t hidden, int layer_base);
/* Adds step t of every layer on input x ([N,K] or a state); returns the top
 * layer's new state [N,2,H]. */
int soap_model_lstm_stack_step(soap_graph *g, soap_model_lstm_stack *s, int t, int x);

/* Adds the token ids of one step ("<prefix>tokens.t<t>", [N] int32) and
 * their embedding ("<prefix>embed.t<t>", [N,E]) using the table of `share`
 * (-1: its own, the step-0 table). Both get op layer index `layer`. Returns
 * the embedding. */
int soap_model_token_step(soap_graph *g, const char *prefix, int t, int64_t vocab,
                          int64_t embed_dim, int share, int layer);

/* An op name built printf-style into buf (SOAP_NAME_MAX bytes); a name that
 * does not fit is a bug in the model file, not bad input. Returns buf. */
static inline const char *soap_model_name(char *buf, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static inline const char *soap_model_name(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, SOAP_NAME_MAX, fmt, ap);
    va_end(ap);
    SOAP_ASSERT(n > 0 && n < SOAP_NAME_MAX);
    return buf;
}

#endif /* SOAP_MODELS_INTERNAL_H */
