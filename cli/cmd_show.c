/* cmd_show.c: `soap show`: the operators of a model (name, kind, output
 * shape with dim kinds, parameters, forward FLOP) and its totals, as a
 * table or as JSON.
 *
 * Parameters of an op are those of the weights it owns: an op that shares
 * another's weights shows 0, so the ops' parameters sum to the model's.
 */
#include <string.h>

#include "cli.h"

#define GIGA 1e9

static int64_t op_params(const soap_graph *g, int op)
{
    const soap_op *o = &g->ops[op];
    int64_t n = 0;
    for (int k = 0; k < o->nweights; k++) {
        const soap_weight *w = &g->weights[o->weights[k]];
        if (w->owner == op)
            n += soap_shape_volume(&w->shape);
    }
    return n;
}

/* Forward FLOP of the whole op (every sample of the batch). */
static double op_fwd_flops(const soap_graph *g, int op)
{
    soap_region all = soap_region_full(&g->ops[op].out);
    return soap_op_region_cost(g, op, &all).fwd_flops;
}

static void show_text(const soap_graph *g)
{
    char sh[128];
    int wname = 4, wshape = 6;
    for (int i = 0; i < g->nops; i++) {
        int n = (int)strlen(g->ops[i].name);
        wname = n > wname ? n : wname;
        n = (int)strlen(cli_shape_str(&g->ops[i].out, sh, sizeof sh));
        wshape = n > wshape ? n : wshape;
    }
    printf("model %s: batch %lld, %d operators, %lld parameters\n", g->name,
           (long long)g->batch, g->nops, (long long)soap_graph_param_count(g));
    printf("output dims: s sample, a attribute, p parameter, n none (not partitionable)\n\n");
    printf("%5s  %-*s  %-10s  %-*s  %12s  %10s\n", "#", wname, "name", "kind", wshape,
           "output", "params", "fwd FLOP");
    for (int i = 0; i < g->nops; i++) {
        const soap_op *o = &g->ops[i];
        printf("%5d  %-*s  %-10s  %-*s  %12lld  %10.3e\n", i, wname, o->name,
               soap_op_kind_name(o->kind), wshape, cli_shape_str(&o->out, sh, sizeof sh),
               (long long)op_params(g, i), op_fwd_flops(g, i));
    }
    double fwd = soap_graph_forward_flops(g), bwd = soap_graph_backward_flops(g);
    printf("\ntotal: %lld parameters; per iteration (batch %lld): forward %.4g FLOP "
           "(%.3f GFLOP), backward %.4g FLOP (%.3f GFLOP)\n",
           (long long)soap_graph_param_count(g), (long long)g->batch, fwd, fwd / GIGA, bwd,
           bwd / GIGA);
}

static void show_json(const soap_graph *g)
{
    json_t *root = json_object();
    json_object_set_new(root, "model", json_string(g->name));
    json_object_set_new(root, "batch", json_integer(g->batch));
    json_object_set_new(root, "params", json_integer(soap_graph_param_count(g)));
    json_object_set_new(root, "forward_flops", json_real(soap_graph_forward_flops(g)));
    json_object_set_new(root, "backward_flops", json_real(soap_graph_backward_flops(g)));
    json_t *ops = json_array();
    for (int i = 0; i < g->nops; i++) {
        const soap_op *o = &g->ops[i];
        json_t *shape = json_array(), *dims = json_array();
        for (int d = 0; d < o->out.ndims; d++) {
            json_array_append_new(shape, json_integer(o->out.size[d]));
            json_array_append_new(dims, json_string(soap_dim_kind_name(o->out.kind[d])));
        }
        json_t *op = json_object();
        json_object_set_new(op, "name", json_string(o->name));
        json_object_set_new(op, "kind", json_string(soap_op_kind_name(o->kind)));
        json_object_set_new(op, "shape", shape);
        json_object_set_new(op, "dims", dims);
        json_object_set_new(op, "params", json_integer(op_params(g, i)));
        json_object_set_new(op, "fwd_flops", json_real(op_fwd_flops(g, i)));
        /* The key of the op's rows in a cost table. */
        char sig[1024];
        json_object_set_new(op, "signature", json_string(soap_op_signature(g, i, sig, sizeof sig)));
        json_array_append_new(ops, op);
    }
    json_object_set_new(root, "ops", ops);
    cli_print_json(stdout, root);
}

static int run_show(int argc, char **argv)
{
    cli_options o;
    int rc = cli_parse_options(&cli_cmd_show, argc, argv,
                               CLI_OPT_MODEL | CLI_OPT_BATCH | CLI_OPT_UNROLL | CLI_OPT_SCALE |
                                   CLI_OPT_JSON,
                               &o);
    if (rc >= 0)
        return rc;
    rc = cli_require(&cli_cmd_show, o.model, "--model",
                     "a built-in model, see 'soap models', or a model file");
    if (rc >= 0)
        return rc;
    soap_graph *g = cli_load_model(&o, CLI_BATCH_PER_DEVICE);
    if (!g)
        return CLI_EXIT_INPUT;
    if (o.json)
        show_json(g);
    else
        show_text(g);
    soap_graph_free(g);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_show = {
    .name = "show",
    .summary = "the operators of a model: shapes, parameters, FLOP",
    .usage =
        "usage: soap show --model M [--batch B] [--unroll T] [--scale full|tiny] [--json]\n"
        "  Lists the operators of model M (a built-in name or a model file): name, kind,\n"
        "  output shape with the kind of each dim ([64s,96p,55a,55a]: s sample,\n"
        "  a attribute, p parameter, n none), parameters and forward FLOP; then the\n"
        "  totals (parameters, forward and backward FLOP per iteration).\n"
        "  --model M     built-in model (see 'soap models') or model file (JSON)\n"
        "  --batch B     samples per iteration for built-in models (default 64);\n"
        "                a model file has its own\n"
        "  --unroll T    steps of the recurrent models (default 40; tiny 4)\n"
        "  --scale S     full (default) or tiny: the built-in model's small variant\n"
        "                (same operators, fewer channels, smaller images and\n"
        "                vocabularies); a model file has its own sizes\n"
        "  --json        JSON on stdout: {\"model\", \"batch\", \"params\", "
        "\"forward_flops\",\n"
        "                \"backward_flops\", \"ops\": [{\"name\", \"kind\", \"shape\", "
        "\"dims\",\n"
        "                \"params\", \"fwd_flops\"}]} (FLOP per iteration)\n",
    .run = run_show,
};
