/* cmd_strategy.c: `soap strategy`: builds a built-in strategy or reads a
 * strategy file for a model on a machine (the loader checks it against
 * both), prints a summary (ops per degree pattern, devices used) and writes
 * it with --out.
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
           cli_name(strategy_name), cli_name(g->name), (long long)g->batch, g->nops,
           cli_name(m->name), m->ndevices);
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

static int run_strategy(const cli_options *o, const cli_inputs *in, void *own)
{
    (void)own;
    summary(in->s, in->g, in->m, o->strategy);
    soap_error err;
    soap_error_clear(&err);
    if (o->out && soap_strategy_write_json(in->s, in->g, o->out, &err) != SOAP_OK)
        return cli_fail(&err);
    if (o->out)
        printf("written: %s\n", cli_name(o->out));
    return CLI_EXIT_OK;
}

static const cli_opt *const strategy_opts[] = {
    &cli_opt_model, &cli_opt_machine, &cli_opt_strategy, &cli_opt_devices, &cli_opt_batch,
    &cli_opt_unroll, &cli_opt_scale, &cli_opt_seed, &cli_opt_out, NULL,
};

const cli_command cli_cmd_strategy = {
    .name = "strategy",
    .summary = "build or read a strategy, check it, summarize it, write it",
    .description =
        "Builds the built-in strategy NAME (see 'soap strategies') or reads a strategy file "
        "for model M on machine X, checks it against both (a file made for another model or "
        "machine is refused), prints the ops per degree pattern and the devices used, and "
        "writes it to FILE (JSON) with --out.",
    .opts = strategy_opts,
    .load = CLI_LOAD_STRATEGY,
    .run = run_strategy,
};
