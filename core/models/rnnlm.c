/* rnnlm.c: RNNLM, the recurrent language model of the FlexFlow paper (Jia,
 * Zaharia, Aiken, SysML 2019, section 8: "2 recurrent layers followed by a
 * softmax layer", Penn Treebank), after Zaremba, Sutskever, Vinyals,
 * "Recurrent Neural Network Regularization" (2014), unrolled over T steps
 * (opt->unroll, 40 by default).
 *
 * Per step t: token ids "tokens.t<t>" [N] -> embedding "embed.t<t>" (V =
 * 10,000 as in Penn Treebank, E = 1,024; one table for all steps) -> 2 LSTM
 * layers "lstm.l<l>.t<t>" (hidden 1,024, each layer's steps share weights)
 * -> "proj.t<t>", a linear from the top layer's h to V (one weight for all
 * steps) -> "loss.t<t>" (softmax_ce against the next token).
 * Op layer indices: LSTM ops their layer 0..1, tokens and embeddings 0,
 * projections and losses 1.
 * Parameters, independent of T: embedding 10,240,000 + 2 x 8,392,704 (LSTM
 * w [4,1024,2048] and b [4,1024]) + projection 10,250,000 = 37,275,408
 * (Zaremba's large model, hidden 1,500, has about 66e6).
 * Tiny (opt->tiny): the same 2 layers with V = 64, E = 16, hidden 32 and T = 4
 * unless opt->unroll says otherwise: 1,024 + 6,272 + 8,320 + 2,112 = 17,728
 * parameters.
 */
#include "models_internal.h"

#define RNNLM_VOCAB 10000
#define RNNLM_EMBED 1024
#define RNNLM_HIDDEN 1024
#define RNNLM_LAYERS 2
#define RNNLM_TINY_VOCAB 64
#define RNNLM_TINY_EMBED 16
#define RNNLM_TINY_HIDDEN 32

soap_graph *soap_model_build_rnnlm(const soap_model_options *opt)
{
    const int64_t n = soap_model_batch(opt);
    const int steps = soap_model_unroll(opt);
    const int tiny = soap_model_tiny(opt);
    const int64_t vocab = tiny ? RNNLM_TINY_VOCAB : RNNLM_VOCAB;
    const int64_t embed = tiny ? RNNLM_TINY_EMBED : RNNLM_EMBED;
    const int64_t hidden = tiny ? RNNLM_TINY_HIDDEN : RNNLM_HIDDEN;
    soap_graph *g = soap_graph_new("rnnlm", n);
    soap_model_lstm_stack stack;
    soap_model_lstm_stack_init(&stack, "lstm.", RNNLM_LAYERS, hidden, 0);
    char nm[SOAP_NAME_MAX];
    int table = -1, proj = -1;
    for (int t = 0; t < steps; t++) {
        int e = soap_model_token_step(g, "", t, vocab, embed, table, 0);
        if (table < 0)
            table = e;
        int top = soap_model_lstm_stack_step(g, &stack, t, e);
        int y = soap_add_linear(g, soap_model_name(nm, "proj.t%d", t), top, vocab, 1, proj);
        soap_graph_set_layer(g, y, RNNLM_LAYERS - 1);
        if (proj < 0)
            proj = y;
        y = soap_add_softmax_ce(g, soap_model_name(nm, "loss.t%d", t), y);
        soap_graph_set_layer(g, y, RNNLM_LAYERS - 1);
    }
    return g;
}
