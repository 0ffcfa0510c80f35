/* cmd_strategy.c: `soap strategy`: builds a built-in strategy or reads a
 * strategy file for a model on a machine, checks it, prints a summary (ops
 * per degree pattern, devices used) and writes it with --out.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* "[8s,1a,1a,1a]": the degree of each output dim with the dim's kind. */
#define PATTERN_MAX 64

typedef struct pattern {
    char text[PATTERN_MAX];
    int ops;
    int64_t tasks;
} pattern;

static void degree_pattern(const soap_graph *g, int op, const soap_config *c, char *buf,
                           size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < c->ndims && used + 1 < len; d++) {
        int w = snprintf(buf + used, len - used, "%s%d%c", d ? "," : "[", c->degree[d],
                         cli_dim_letter(g->ops[op].out.kind[d]));
        used += w > 0 ? (size_t)w : 0;
    }
    if (used + 1 < len)
        snprintf(buf + used, len - used, "%s", c->ndims ? "]" : "[]");
}

/* Most ops first, then by text. */
static int pattern_cmp(const void *a, const void *b)
{
    const pattern *x = a, *y = b;
    if (x->ops != y->ops)
        return x->ops > y->ops ? -1 : 1;
    return strcmp(x->text, y->text);
}

static void summary(const soap_strategy *s, const soap_graph *g, const soap_machine *m,
                    const char *strategy_name)
{
    printf("strategy %s: model %s (batch %lld, %d operators) on machine %s (%d devices)\n",
           strategy_name, g->name, (long long)g->batch, g->nops, m->name, m->ndevices);
    printf("fingerprints: model %016" PRIx64 ", machine %016" PRIx64 "\n", s->model_fp,
           s->machine_fp);
    printf("check: valid for this model and machine\n");

    /* Distinct patterns are few (a handful per model), so a linear search
     * per op is cheap. */
    pattern *pats = soap_xcalloc((size_t)(g->nops > 0 ? g->nops : 1), sizeof *pats);
    int npats = 0;
    int64_t *per_device = soap_xcalloc((size_t)m->ndevices, sizeof *per_device);
    int64_t tasks = 0;
    for (int i = 0; i < g->nops; i++) {
        const soap_config *c = &s->configs[i];
        char text[PATTERN_MAX];
        degree_pattern(g, i, c, text, sizeof text);
        int k = 0;
        while (k < npats && strcmp(pats[k].text, text) != 0)
            k++;
        if (k == npats) {
            snprintf(pats[k].text, sizeof pats[k].text, "%s", text);
            npats++;
        }
        pats[k].ops++;
        pats[k].tasks += c->ntasks;
        tasks += c->ntasks;
        for (int t = 0; t < c->ntasks; t++)
            if (c->device[t] >= 0 && c->device[t] < m->ndevices)
                per_device[c->device[t]]++;
    }
    qsort(pats, (size_t)npats, sizeof *pats, pattern_cmp);
    printf("\nops per degree pattern (degree per output dim; s sample, a attribute, "
           "p parameter, n none):\n");
    printf("  %6s  %8s  %s\n", "ops", "tasks", "degrees");
    /* The most common patterns; a random strategy has hundreds. */
    const int shown = npats < 12 ? npats : 12;
    for (int k = 0; k < shown; k++)
        printf("  %6d  %8lld  %s\n", pats[k].ops, (long long)pats[k].tasks, pats[k].text);
    if (npats > shown)
        printf("  ... and %d more patterns (the strategy file lists every op)\n", npats - shown);

    int used = 0;
    int64_t lo = -1, hi = 0;
    for (int d = 0; d < m->ndevices; d++) {
        if (per_device[d] > 0)
            used++;
        if (lo < 0 || per_device[d] < lo)
            lo = per_device[d];
        if (per_device[d] > hi)
            hi = per_device[d];
    }
    printf("\ntasks: %lld; devices used: %d of %d (tasks per device: min %lld, max %lld)\n",
           (long long)tasks, used, m->ndevices, (long long)lo, (long long)hi);
    free(per_device);
    free(pats);
}

static int run_strategy(int argc, char **argv)
{
    const cli_command *cmd = &cli_cmd_strategy;
    cli_options o;
    int rc = cli_parse_options(cmd, argc, argv,
                               CLI_OPT_MODEL | CLI_OPT_MACHINE | CLI_OPT_DEVICES | CLI_OPT_BATCH |
                                   CLI_OPT_UNROLL | CLI_OPT_SCALE | CLI_OPT_STRATEGY |
                                   CLI_OPT_SEED | CLI_OPT_OUT,
                               &o);
    if (rc < 0)
        rc = cli_require(cmd, o.model, "--model",
                         "a built-in model, see 'soap models', or a model file");
    if (rc < 0)
        rc = cli_require(cmd, o.machine, "--machine",
                         "a preset, see 'soap machines', or a machine file");
    if (rc < 0)
        rc = cli_require(cmd, o.strategy, "--strategy",
                         "a built-in strategy, see 'soap strategies', or a strategy file");
    if (rc >= 0)
        return rc;

    soap_machine *m = cli_load_machine(&o);
    if (!m)
        return CLI_EXIT_INPUT;
    soap_graph *g = cli_load_model(&o, (int64_t)CLI_BATCH_PER_DEVICE * m->ndevices);
    if (!g) {
        soap_machine_free(m);
        return CLI_EXIT_INPUT;
    }
    soap_strategy_options sopt;
    memset(&sopt, 0, sizeof sopt);
    sopt.seed = o.seed;
    soap_error err;
    soap_error_clear(&err);
    rc = CLI_EXIT_OK;
    soap_strategy *s = soap_strategy_load(o.strategy, g, m, &sopt, &err);
    if (!s || soap_strategy_check(s, g, m, &err) != SOAP_OK)
        rc = cli_fail(&err);
    if (rc == CLI_EXIT_OK) {
        summary(s, g, m, o.strategy);
        if (o.out) {
            if (soap_strategy_write_json(s, g, o.out, &err) != SOAP_OK)
                rc = cli_fail(&err);
            else
                printf("written: %s\n", o.out);
        }
    }
    if (s)
        soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
    return rc;
}

const cli_command cli_cmd_strategy = {
    .name = "strategy",
    .summary = "build or read a strategy, check it, summarize it, write it",
    .usage =
        "usage: soap strategy --model M --machine X --strategy NAME|FILE [--devices n]\n"
        "                     [--batch B] [--unroll T] [--scale full|tiny] [--seed S]\n"
        "                     [--out FILE]\n"
        "  Builds the built-in strategy NAME (see 'soap strategies') or reads a strategy\n"
        "  file for model M on machine X, checks it against both (a file made for\n"
        "  another model or machine is refused), prints the ops per degree pattern and\n"
        "  the devices used, and writes it to FILE with --out.\n"
        "  --model M     built-in model or model file\n"
        "  --machine X   preset or machine file\n"
        "  --devices n   keep only the first n devices of the machine\n"
        "  --batch B     samples per iteration for built-in models (default 64 per device)\n"
        "  --unroll T    steps of the recurrent models (default 40; tiny 4)\n"
        "  --scale S     full (default) or tiny: the built-in model's small variant\n"
        "  --seed S      seed of the random strategy (default 0)\n"
        "  --out FILE    write the strategy (JSON)\n",
    .run = run_strategy,
};
