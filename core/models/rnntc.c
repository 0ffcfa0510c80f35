/* rnntc.c: RNNTC, the recurrent text classifier of the FlexFlow paper (Jia,
 * Zaharia, Aiken, SysML 2019, section 8: "4 recurrent layers followed by a
 * softmax layer"), unrolled over T steps (opt->unroll, 40 by default).
 *
 * Per step t: token ids "tokens.t<t>" [N] -> embedding "embed.t<t>" (V =
 * 10,000, E = 1,024; one table shared by all steps) -> 4 LSTM layers
 * "lstm.l<l>.t<t>" (hidden 1,024; layer l's step t reads layer l-1's step-t
 * state and its own step t-1 state; a layer's steps share its weights).
 * After the last step: "classifier", a linear from the top layer's h to 2
 * classes, and "loss" (softmax_ce).
 * Op layer indices (for the expert strategy): LSTM ops their layer 0..3,
 * tokens and embeddings 0, the classifier and loss 3.
 * Parameters, independent of T: embedding 10,240,000 + 4 x (w 4*1024*2048 +
 * b 4*1024 = 8,392,704) + classifier 2,050 = 43,812,866. The paper gives no
 * parameter or FLOP figures for it.
 * Tiny (opt->tiny): the same 4 layers with V = 64, E = 16, hidden 32 and T = 4
 * unless opt->unroll says otherwise: 1,024 + 6,272 + 3 x 8,320 + 66 = 32,322
 * parameters.
 */
#include "models_internal.h"

#define RNNTC_VOCAB 10000
#define RNNTC_EMBED 1024
#define RNNTC_HIDDEN 1024
#define RNNTC_LAYERS 4
#define RNNTC_CLASSES 2
#define RNNTC_TINY_VOCAB 64
#define RNNTC_TINY_EMBED 16
#define RNNTC_TINY_HIDDEN 32

soap_graph *soap_model_build_rnntc(const soap_model_options *opt)
{
    const int64_t n = soap_model_batch(opt);
    const int steps = soap_model_unroll(opt);
    const int tiny = soap_model_tiny(opt);
    const int64_t vocab = tiny ? RNNTC_TINY_VOCAB : RNNTC_VOCAB;
    const int64_t embed = tiny ? RNNTC_TINY_EMBED : RNNTC_EMBED;
    const int64_t hidden = tiny ? RNNTC_TINY_HIDDEN : RNNTC_HIDDEN;
    soap_graph *g = soap_graph_new("rnntc", n);
    soap_model_lstm_stack stack;
    soap_model_lstm_stack_init(&stack, "lstm.", RNNTC_LAYERS, hidden, 0);
    int table = -1, top = -1;
    for (int t = 0; t < steps; t++) {
        int e = soap_model_token_step(g, "", t, vocab, embed, table, 0);
        if (table < 0)
            table = e;
        top = soap_model_lstm_stack_step(g, &stack, t, e);
    }
    int x = soap_add_linear(g, "classifier", top, RNNTC_CLASSES, 1, -1);
    soap_graph_set_layer(g, x, RNNTC_LAYERS - 1);
    x = soap_add_softmax_ce(g, "loss", x);
    soap_graph_set_layer(g, x, RNNTC_LAYERS - 1);
    return g;
}
