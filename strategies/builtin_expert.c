/* builtin_expert.c: the expert strategies of the paper's baselines
 * ("expert"), chosen by what the graph holds:
 *  - a CONV2D (a CNN): one weird trick (builtin_owt.c);
 *  - an LSTM (an RNN): GNMT-style (Wu et al. 2016): data parallelism across
 *    nodes, one replica per node, and inside a node the layers spread over its
 *    GPUs, so the layers of one replica run as a pipeline;
 *  - anything else (a Transformer): data parallelism.
 *
 * GNMT-style in detail. k = the largest divisor of the batch N that is <=
 * the number of nodes (and <= SOAP_MAX_TASKS); replica i (task i of the
 * sample split) runs on node i. nlayers = 1 + the largest op->layer (ops
 * with layer < 0 count as layer 0); an op of layer L runs on local GPU
 * floor(L * G / nlayers) of its node, G being the GPUs per node.
 *
 * Fallbacks, for machines and graphs that do not fit that picture:
 *  - nodes with different device counts (a narrowed preset whose last node
 *    is partial, or a machine file): G = the fewest devices of the k nodes
 *    used, so every replica has the same layout and every local GPU exists;
 *    the extra devices of larger nodes stay idle;
 *  - an op whose sample dim k does not divide (or that has no sample dim):
 *    one task, on the GPU of its layer in node 0.
 */
#include <stdlib.h>

#include "strategies_internal.h"

static int graph_has(const soap_graph *g, soap_op_kind kind)
{
    for (int i = 0; i < g->nops; i++)
        if (g->ops[i].kind == kind)
            return 1;
    return 0;
}

static soap_status build_gnmt(const soap_graph *g, const soap_machine *m, soap_strategy *s)
{
    /* Devices of each node in id order: node_dev[node * m->ndevices + j]. */
    const int nnodes = m->nnodes > 0 ? m->nnodes : 1;
    int *count = soap_xcalloc((size_t)nnodes, sizeof *count);
    int *node_dev = soap_xmalloc((size_t)nnodes * (size_t)m->ndevices * sizeof *node_dev);
    for (int d = 0; d < m->ndevices; d++) {
        int node = m->devices[d].node;
        SOAP_ASSERT(node >= 0 && node < nnodes);
        node_dev[node * m->ndevices + count[node]++] = d;
    }
    /* Nodes that hold no device (none in presets) cannot host a replica:
     * count only the leading run of non-empty nodes. */
    int usable = 0;
    while (usable < nnodes && count[usable] > 0)
        usable++;
    SOAP_ASSERT(usable >= 1); /* device 0 is on node 0 in every machine we build */

    int k = soap_strategy_largest_divisor(g->batch >= 1 ? g->batch : 1, usable);
    int gpus = count[0];
    for (int n = 1; n < k; n++)
        if (count[n] < gpus)
            gpus = count[n];

    int nlayers = 1;
    for (int i = 0; i < g->nops; i++)
        if (g->ops[i].layer + 1 > nlayers)
            nlayers = g->ops[i].layer + 1;

    for (int i = 0; i < g->nops; i++) {
        int layer = g->ops[i].layer < 0 ? 0 : g->ops[i].layer;
        int local = (int)((int64_t)layer * gpus / nlayers);
        SOAP_ASSERT(local >= 0 && local < gpus);
        int devices[SOAP_MAX_TASKS];
        for (int r = 0; r < k; r++)
            devices[r] = node_dev[r * m->ndevices + local];
        int dim = soap_strategy_find_dim(g, i, SOAP_DIM_SAMPLE);
        int ok = dim >= 0 && g->ops[i].out.size[dim] % k == 0;
        s->configs[i] = soap_strategy_split(g, i, ok ? dim : -1, ok ? k : 1, devices);
    }
    free(count);
    free(node_dev);
    return SOAP_OK;
}

static soap_status build_expert(const soap_graph *g, const soap_machine *m,
                                const soap_strategy_options *opt, soap_strategy *s,
                                soap_error *err)
{
    SOAP_ASSERT(g && m && s && s->nops == g->nops);
    if (graph_has(g, SOAP_OP_CONV2D))
        return soap_strategy_owt.build(g, m, opt, s, err);
    if (graph_has(g, SOAP_OP_LSTM))
        return build_gnmt(g, m, s);
    return soap_strategy_data.build(g, m, opt, s, err);
}

const soap_strategy_ops soap_strategy_expert = {
    .name = "expert",
    .description = "the paper's expert baselines: owt for CNNs, GNMT-style for RNNs (data "
                   "parallel across nodes, layers over a node's GPUs), data otherwise",
    .build = build_expert,
};
