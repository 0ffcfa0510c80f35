/* transformer.c: a BERT-base-like Transformer encoder (Devlin, Chang, Lee,
 * Toutanova, "BERT", NAACL 2019; Vaswani et al., "Attention Is All You
 * Need", NIPS 2017) trained as a masked language model over every position.
 *
 * ids "tokens" [N,S] (S = opt->seq_len, 128 by default) -> "embed" (V =
 * 30,522, E = 768) -> "embed.ln" (layernorm) -> opt->layers (12 by default)
 * encoder layers "enc.l<i>.*": q, k, v (linear 768 with bias each); qk
 * (scores, 12 heads of 64); softmax; pv (context); attn_out (linear 768);
 * attn_add (residual); attn_ln; ffn1 (linear 3,072); relu (BERT uses GELU;
 * the cost is alike); ffn2 (linear 768); ffn_add (residual); ffn_ln. Then
 * "lm_head" (linear to V with bias, its own weight) and "loss" (softmax_ce).
 * Position and segment embeddings, dropout and BERT's pooler are left out.
 * Op layer index: the encoder layer; tokens and embedding 0, the head the
 * last layer.
 * Parameters: embedding 23,440,896 + its layernorm 1,536 + layers x 7,087,872
 * (BERT-base's per-layer count) + head 23,471,418; 131,968,314 for 12
 * layers (BERT-base, with tied 512-position tables and no separate head,
 * publishes 110e6). Forward multiply-adds per sample: the layers' linears
 * 7,077,888 per token and layer (85e6 x S for 12 layers), qk and pv 2 x S^2
 * x 768 per layer, the head 23.4e6 x S.
 * Tiny (opt->tiny): the same ops with V = 64, width 32, 4 heads of 8, FFN 128,
 * and by default 2 layers and S = 8: 2,048 + 64 + layers x 12,704 + 2,112
 * parameters (29,632 for 2 layers).
 */
#include "models_internal.h"

#define TF_VOCAB 30522
#define TF_WIDTH 768
#define TF_HEADS 12
#define TF_FFN 3072
#define TF_TINY_VOCAB 64
#define TF_TINY_WIDTH 32
#define TF_TINY_HEADS 4
#define TF_TINY_FFN 128

/* The sizes of one variant (full or tiny). */
typedef struct tf_sizes {
    int64_t vocab, width, ffn;
    int heads;
} tf_sizes;

/* Encoder layer i on x [N,S,width]; returns its output [N,S,width]. */
static int encoder_layer(soap_graph *g, const tf_sizes *z, int i, int x)
{
    char nm[SOAP_NAME_MAX];
    const int first = g->nops;
#define NAME(s) soap_model_name(nm, "enc.l%d.%s", i, s)
    int q = soap_add_linear(g, NAME("q"), x, z->width, 1, -1);
    int k = soap_add_linear(g, NAME("k"), x, z->width, 1, -1);
    int v = soap_add_linear(g, NAME("v"), x, z->width, 1, -1);
    int s = soap_add_matmul(g, NAME("qk"), q, k, SOAP_MATMUL_QK, 0, z->heads);
    s = soap_add_softmax(g, NAME("softmax"), s);
    int c = soap_add_matmul(g, NAME("pv"), s, v, SOAP_MATMUL_PV, 0, z->heads);
    c = soap_add_linear(g, NAME("attn_out"), c, z->width, 1, -1);
    c = soap_add_binary(g, NAME("attn_add"), c, x, SOAP_BINARY_ADD);
    int a = soap_add_layernorm(g, NAME("attn_ln"), c);
    int f = soap_add_linear(g, NAME("ffn1"), a, z->ffn, 1, -1);
    f = soap_add_unary(g, NAME("relu"), f, SOAP_UNARY_RELU);
    f = soap_add_linear(g, NAME("ffn2"), f, z->width, 1, -1);
    f = soap_add_binary(g, NAME("ffn_add"), f, a, SOAP_BINARY_ADD);
    int out = soap_add_layernorm(g, NAME("ffn_ln"), f);
#undef NAME
    for (int op = first; op < g->nops; op++)
        soap_graph_set_layer(g, op, i);
    return out;
}

soap_graph *soap_model_build_transformer(const soap_model_options *opt)
{
    const int64_t n = soap_model_batch(opt);
    const int layers = soap_model_layers(opt);
    const int64_t seq = soap_model_seq_len(opt);
    const tf_sizes z = soap_model_tiny(opt)
                           ? (tf_sizes){TF_TINY_VOCAB, TF_TINY_WIDTH, TF_TINY_FFN, TF_TINY_HEADS}
                           : (tf_sizes){TF_VOCAB, TF_WIDTH, TF_FFN, TF_HEADS};
    soap_graph *g = soap_graph_new("transformer", n);
    const int64_t ids[2] = {n, seq};
    int x = soap_add_input(g, "tokens", 2, ids, NULL, 1);
    x = soap_add_embedding(g, "embed", x, z.vocab, z.width, -1);
    x = soap_add_layernorm(g, "embed.ln", x);
    for (int op = 0; op < g->nops; op++)
        soap_graph_set_layer(g, op, 0);
    for (int i = 0; i < layers; i++)
        x = encoder_layer(g, &z, i, x);
    const int head = g->nops;
    x = soap_add_linear(g, "lm_head", x, z.vocab, 1, -1);
    soap_add_softmax_ce(g, "loss", x);
    for (int op = head; op < g->nops; op++)
        soap_graph_set_layer(g, op, layers - 1);
    return g;
}
