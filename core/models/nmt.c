/* nmt.c: NMT, the attention-based translation model of the FlexFlow paper
 * (Jia, Zaharia, Aiken, SysML 2019, section 8: "4 recurrent layers for the
 * encoder and the decoder, with an attention layer in between", WMT English-
 * German), after Wu et al., "Google's Neural Machine Translation System"
 * (2016) and Luong, Pham, Manning (2015) for the attention; T steps on each
 * side (opt->unroll, 40 by default).
 *
 * Encoder, per step t: ids "enc.tokens.t<t>" [N] -> "enc.embed.t<t>" (V =
 * 32,000, E = 1,024, one table) -> 4 LSTM layers "enc.l<l>.t<t>" (hidden
 * 1,024, weights shared across steps).
 * Decoder, per step t: ids "dec.tokens.t<t>" -> "dec.embed.t<t>" (its own
 * table, same sizes) -> 4 LSTM layers "dec.l<l>.t<t>"; decoder layer l's
 * step 0 starts from encoder layer l's last state. Then "dec.attn.t<t>"
 * (query: the decoder's top state; memory: the encoder's T top-layer states;
 * one Wc [1024,2048] for all steps) -> "dec.proj.t<t>" (linear to V, one
 * weight for all steps) -> "dec.loss.t<t>" (softmax_ce).
 * Op layer indices: encoder LSTM layers 0..3 (tokens and embeddings 0),
 * decoder LSTM layers 4..7 (tokens and embeddings 4); attention, projection
 * and loss 7, so the expert strategy can spread 8 layers over a node's GPUs.
 * Parameters, independent of T: 2 embeddings 2 x 32,768,000 + 8 LSTM layers
 * x 8,392,704 + attention 2,097,152 + projection 32,800,000 = 167,574,784
 * (GNMT's published 8-layer, 1,024-unit model is about 2.8e8 with its
 * bidirectional first layer and 32k wordpieces; this one has 4+4 layers).
 * Tiny (opt->tiny): the same 4+4 layers, attention and projection with V =
 * 64, E = 16, hidden 32 and T = 4 unless opt->unroll says otherwise: 2 x 1,024
 * + 2 x (6,272 + 3 x 8,320) + attention 2,048 + projection 2,112 = 68,672
 * parameters.
 */
#include <stdlib.h>
#include <string.h>

#include "models_internal.h"

#define NMT_VOCAB 32000
#define NMT_EMBED 1024
#define NMT_HIDDEN 1024
#define NMT_LAYERS 4
#define NMT_TINY_VOCAB 64
#define NMT_TINY_EMBED 16
#define NMT_TINY_HIDDEN 32

/* Attention of decoder step t; shares the weights of `share` (-1: own). Not
 * a soap_add_attention call since that builder has no sharing argument. */
static int attention_step(soap_graph *g, int t, int query, const int *memory, int steps,
                          int share)
{
    char nm[SOAP_NAME_MAX];
    soap_op_params p;
    memset(&p, 0, sizeof p);
    if (share >= 0)
        soap_model_name(p.share_weights, "%s", g->ops[share].name);
    int *ins = soap_xmalloc((size_t)(steps + 1) * sizeof *ins);
    ins[0] = query;
    memcpy(ins + 1, memory, (size_t)steps * sizeof *ins);
    soap_error err;
    soap_error_clear(&err);
    int id = soap_graph_add(g, SOAP_OP_ATTENTION, soap_model_name(nm, "dec.attn.t%d", t), ins,
                            steps + 1, &p, &err);
    free(ins);
    if (id < 0)
        fprintf(stderr, "soap: building model 'nmt': %s\n", err.msg);
    SOAP_ASSERT(id >= 0);
    return id;
}

soap_graph *soap_model_build_nmt(const soap_model_options *opt)
{
    const int64_t n = soap_model_batch(opt);
    const int steps = soap_model_unroll(opt);
    const int top_layer = 2 * NMT_LAYERS - 1;
    const int tiny = soap_model_tiny(opt);
    const int64_t vocab = tiny ? NMT_TINY_VOCAB : NMT_VOCAB;
    const int64_t embed = tiny ? NMT_TINY_EMBED : NMT_EMBED;
    const int64_t hidden = tiny ? NMT_TINY_HIDDEN : NMT_HIDDEN;
    soap_graph *g = soap_graph_new("nmt", n);
    int *memory = soap_xmalloc((size_t)steps * sizeof *memory);

    soap_model_lstm_stack enc;
    soap_model_lstm_stack_init(&enc, "enc.", NMT_LAYERS, hidden, 0);
    int table = -1;
    for (int t = 0; t < steps; t++) {
        int e = soap_model_token_step(g, "enc.", t, vocab, embed, table, 0);
        if (table < 0)
            table = e;
        memory[t] = soap_model_lstm_stack_step(g, &enc, t, e);
    }

    soap_model_lstm_stack dec;
    soap_model_lstm_stack_init(&dec, "dec.", NMT_LAYERS, hidden, NMT_LAYERS);
    for (int l = 0; l < NMT_LAYERS; l++)
        dec.state[l] = enc.state[l];
    char nm[SOAP_NAME_MAX];
    int dec_table = -1, attn = -1, proj = -1;
    for (int t = 0; t < steps; t++) {
        int e = soap_model_token_step(g, "dec.", t, vocab, embed, dec_table, NMT_LAYERS);
        if (dec_table < 0)
            dec_table = e;
        int top = soap_model_lstm_stack_step(g, &dec, t, e);
        int a = attention_step(g, t, top, memory, steps, attn);
        soap_graph_set_layer(g, a, top_layer);
        if (attn < 0)
            attn = a;
        int y = soap_add_linear(g, soap_model_name(nm, "dec.proj.t%d", t), a, vocab, 1, proj);
        soap_graph_set_layer(g, y, top_layer);
        if (proj < 0)
            proj = y;
        y = soap_add_softmax_ce(g, soap_model_name(nm, "dec.loss.t%d", t), y);
        soap_graph_set_layer(g, y, top_layer);
    }
    free(memory);
    return g;
}
