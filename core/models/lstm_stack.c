/* lstm_stack.c: the pieces the recurrent models (rnntc, rnnlm, nmt) share:
 * a stack of LSTM layers unrolled step by step with the weights of each
 * layer shared across its steps, and the token input + embedding of one
 * step. See models_internal.h for the naming and wiring.
 */
#include "models_internal.h"

void soap_model_lstm_stack_init(soap_model_lstm_stack *s, const char *prefix, int nlayers,
                                int64_t hidden, int layer_base)
{
    SOAP_ASSERT(s != NULL && prefix != NULL);
    SOAP_ASSERT(nlayers >= 1 && nlayers <= SOAP_MODEL_MAX_LSTM_LAYERS);
    SOAP_ASSERT(hidden >= 1 && layer_base >= 0);
    s->prefix = prefix;
    s->nlayers = nlayers;
    s->hidden = hidden;
    s->layer_base = layer_base;
    for (int l = 0; l < SOAP_MODEL_MAX_LSTM_LAYERS; l++) {
        s->weights[l] = -1;
        s->state[l] = -1;
    }
}

int soap_model_lstm_stack_step(soap_graph *g, soap_model_lstm_stack *s, int t, int x)
{
    char nm[SOAP_NAME_MAX];
    for (int l = 0; l < s->nlayers; l++) {
        int op = soap_add_lstm(g, soap_model_name(nm, "%sl%d.t%d", s->prefix, l, t), x,
                               s->state[l], s->hidden, s->weights[l]);
        soap_graph_set_layer(g, op, s->layer_base + l);
        if (s->weights[l] < 0)
            s->weights[l] = op;
        s->state[l] = op;
        x = op;
    }
    return x;
}

int soap_model_token_step(soap_graph *g, const char *prefix, int t, int64_t vocab,
                          int64_t embed_dim, int share, int layer)
{
    char nm[SOAP_NAME_MAX];
    const int64_t ids[1] = {g->batch};
    int tok = soap_add_input(g, soap_model_name(nm, "%stokens.t%d", prefix, t), 1, ids, NULL,
                             1);
    soap_graph_set_layer(g, tok, layer);
    int e = soap_add_embedding(g, soap_model_name(nm, "%sembed.t%d", prefix, t), tok, vocab,
                               embed_dim, share);
    soap_graph_set_layer(g, e, layer);
    return e;
}
