/* cmd_show.c: `soap show`: the operators of a model (name, kind, output
 * shape with dim kinds, parameters, forward FLOP) and its totals, as a
 * table or as a JSON summary; --out writes the model itself as a model file
 * (which a later --model reads back).
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
        int n = (int)strlen(cli_name(g->ops[i].name));
        wname = n > wname ? n : wname;
        n = (int)strlen(cli_shape_str(&g->ops[i].out, sh, sizeof sh));
        wshape = n > wshape ? n : wshape;
    }
    printf("model %s: batch %lld, %d operators, %lld parameters\n", cli_name(g->name),
           (long long)g->batch, g->nops, (long long)soap_graph_param_count(g));
    printf("output dims: s sample, a attribute, p parameter, n none (not partitionable)\n\n");
    printf("%5s  %-*s  %-10s  %-*s  %12s  %10s\n", "#", wname, "name", "kind", wshape,
           "output", "params", "fwd FLOP");
    for (int i = 0; i < g->nops; i++) {
        const soap_op *o = &g->ops[i];
        printf("%5d  %-*s  %-10s  %-*s  %12lld  %10.3e\n", i, wname, cli_name(o->name),
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

static int run_show(const cli_options *o, const cli_inputs *in, void *own)
{
    (void)own;
    if (o->json)
        show_json(in->g);
    else
        show_text(in->g);
    soap_error err;
    soap_error_clear(&err);
    if (o->out && soap_graph_write_json(in->g, o->out, &err) != SOAP_OK)
        return cli_fail(&err);
    if (o->out && !o->json)
        printf("model file written: %s\n", cli_name(o->out));
    return CLI_EXIT_OK;
}

static const cli_opt *const show_opts[] = {
    &cli_opt_model, &cli_opt_batch, &cli_opt_unroll, &cli_opt_scale,
    &cli_opt_json,  &cli_opt_out,   NULL,
};

const cli_command cli_cmd_show = {
    .name = "show",
    .summary = "the operators of a model: shapes, parameters, FLOP",
    .description =
        "Lists the operators of model M (a built-in name or a model file): name, kind, "
        "output shape with the kind of each dim ([64s,96p,55a,55a]: s sample, a attribute, "
        "p parameter, n none), parameters and forward FLOP; then the totals (parameters, "
        "forward and backward FLOP per iteration).\n"
        "With --json it prints that summary as one JSON object: {\"model\", \"batch\", \"params\", "
        "\"forward_flops\", \"backward_flops\", \"ops\": [{\"name\", \"kind\", \"shape\", "
        "\"dims\", \"params\", \"fwd_flops\", \"signature\"}]} (FLOP per iteration); it is "
        "not a model file. --out FILE writes the model file (JSON), which --model FILE "
        "reads back as the same model.",
    .opts = show_opts,
    .load = CLI_LOAD_MODEL,
    .run = run_show,
};
