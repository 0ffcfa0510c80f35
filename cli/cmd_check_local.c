/* cmd_check_local.c: `soap check-local`: tells whether any change of the
 * --moves neighbourhood (an op's or a group's: the neighbourhood of
 * soap_space_neighbour, every degree vector of the space with every device
 * assignment, or every contiguous block where assignments are too many,
 * and every move of one task; a group's members all take the change) makes
 * a strategy faster, i.e. whether it is a local optimum as PAPER.md's
 * local-optimality experiment asks. Prints the number of changes tried and
 * the best improving one, if any; exit status 0 either way (see
 * "local_optimum").
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "soap_search.h"

static int run_check_local(const cli_options *o, const cli_inputs *in, void *own)
{
    (void)own;
    const soap_graph *g = in->g;
    const soap_machine *m = in->m;
    soap_error err;
    soap_error_clear(&err);
    soap_local_report rep;
    if (soap_search_check_local(in->sim, g, m, in->s, &o->dims, o->moves,
                                o->allow_over_capacity, &rep, &err) != SOAP_OK)
        return cli_fail(&err);
    char dn[8], cfg[512];
    soap_search_space_str(&o->dims, dn, sizeof dn);
    int local = rep.improving == 0;
    if (rep.best_op >= 0)
        soap_config_str(&rep.best_config, cfg, sizeof cfg);
    if (o->json) {
        json_t *j = json_object();
        cli_json_set(j, "strategy", json_string(o->strategy));
        cli_json_set(j, "model", json_string(g->name));
        cli_json_set(j, "machine", json_string(m->name));
        cli_json_set(j, "devices", json_integer(m->ndevices));
        cli_json_set(j, "dims", json_string(dn));
        cli_json_set(j, "moves", json_string(soap_search_moves_name(o->moves)));
        cli_json_set(j, "time_s", json_real(rep.time_s));
        cli_json_set(j, "local_optimum", json_boolean(local));
        cli_json_set(j, "tried", json_integer(rep.tried));
        cli_json_set(j, "improving", json_integer(rep.improving));
        if (rep.best_op >= 0) {
            json_t *b = json_object();
            cli_json_set(b, "op", json_string(g->ops[rep.best_op].name));
            cli_json_set(b, "ops", json_integer(rep.best_nops));
            cli_json_set(b, "config", json_string(cfg));
            cli_json_set(b, "time_s", json_real(rep.best_s));
            cli_json_set(j, "best_change", b);
        } else {
            cli_json_set(j, "best_change", json_null());
        }
        cli_print_json(stdout, j);
    } else {
        const char *mv = soap_search_moves_name(o->moves);
        printf("check-local: strategy %s, model %s, machine %s (%d devices), space %s, "
               "moves %s\n",
               cli_name(o->strategy), cli_name(g->name), cli_name(m->name), m->ndevices, dn,
               mv);
        printf("iteration time: %.6g s\n", rep.time_s);
        printf("changes tried: %ld, improving: %ld\n", rep.tried, rep.improving);
        if (local)
            printf("local optimum: yes, no change of the %s moves improves this strategy\n",
                   mv);
        else if (rep.best_nops > 1)
            printf("local optimum: no; best change: the %d ops of the group of %s to %s "
                   "gives %.6g s (%.3fx)\n",
                   rep.best_nops, cli_name(g->ops[rep.best_op].name), cfg, rep.best_s,
                   rep.time_s / rep.best_s);
        else
            printf("local optimum: no; best change: op %s to %s gives %.6g s (%.3fx)\n",
                   cli_name(g->ops[rep.best_op].name), cfg, rep.best_s,
                   rep.time_s / rep.best_s);
    }
    return CLI_EXIT_OK;
}

static const cli_opt *const check_local_opts[] = {
    &cli_opt_model, &cli_opt_machine, &cli_opt_strategy, &cli_opt_devices,
    &cli_opt_batch, &cli_opt_unroll, &cli_opt_scale, &cli_opt_seed,
    &cli_opt_dims, &cli_opt_moves, &cli_opt_costs, &cli_opt_sync, &cli_opt_no_overlap,
    &cli_opt_allow_over, &cli_opt_json, NULL,
};

const cli_command cli_cmd_check_local = {
    .name = "check-local",
    .summary = "tell whether any single-operator or group change improves a strategy",
    .description =
        "Simulates every change of the strategy that --moves allows (op: of one operator; "
        "tied: of every operator of a group that shares weights at once; mixed: both), "
        "each change being every degree vector of --dims with every device assignment, or "
        "every contiguous block of devices when there are more than 256 assignments, and "
        "every move of one task, and tells whether any is faster (and fits memory): "
        "whether the strategy is a local optimum. Exit status 0 either way.",
    .opts = check_local_opts,
    .load = CLI_LOAD_STRATEGY | CLI_LOAD_SIM,
    .run = run_check_local,
};
