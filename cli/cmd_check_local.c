/* cmd_check_local.c: `soap check-local`: tells whether any single-operator
 * change (the neighbourhood of soap_space_neighbour: every degree vector of
 * the space with every device assignment, or every contiguous block where
 * assignments are too many, and every move of one task) makes a strategy
 * faster, i.e. whether it is a local optimum as PAPER.md's local-optimality
 * experiment asks. Prints the number of changes tried and the best
 * improving one, if any; exit status 0 either way (see "local_optimum").
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "soap_search.h"

enum {
    O_MODEL, O_MACHINE, O_DEVICES, O_BATCH, O_UNROLL, O_SCALE, O_STRATEGY, O_SEED, O_JSON,
    O_DIMS, O_ALLOW_OVER, O_COSTS, O_SYNC, O_NO_OVERLAP, O_HELP, O_COUNT
};

static const cli_extra_option local_options[O_COUNT] = {
    [O_MODEL] = {"model", 1, 1},       [O_MACHINE] = {"machine", 1, 1},
    [O_DEVICES] = {"devices", 1, 1},   [O_BATCH] = {"batch", 1, 1},
    [O_UNROLL] = {"unroll", 1, 1},     [O_SCALE] = {"scale", 1, 1},
    [O_STRATEGY] = {"strategy", 1, 1},
    [O_SEED] = {"seed", 1, 1},         [O_JSON] = {"json", 0, 1},
    [O_DIMS] = {"dims", 1, 0},         [O_ALLOW_OVER] = {"allow-over-capacity", 0, 0},
    [O_COSTS] = {"costs", 1, 0},       [O_SYNC] = {"sync", 1, 0},
    [O_NO_OVERLAP] = {"no-overlap", 0, 0}, [O_HELP] = {"help", 0, 1},
};

static void set(json_t *obj, const char *key, json_t *val)
{
    SOAP_ASSERT(val != NULL);
    SOAP_ASSERT(json_object_set_new(obj, key, val) == 0);
}

static int run_check_local(int argc, char **argv)
{
    const cli_command *cmd = &cli_cmd_check_local;
    const char *v[O_COUNT];
    cli_options o;
    int rc = cli_parse_command(cmd, argc, argv, local_options, O_COUNT, v,
                               CLI_OPT_MODEL | CLI_OPT_MACHINE | CLI_OPT_DEVICES |
                                   CLI_OPT_BATCH | CLI_OPT_UNROLL | CLI_OPT_SCALE |
                                   CLI_OPT_STRATEGY | CLI_OPT_SEED | CLI_OPT_JSON, &o);
    if (rc >= 0)
        return rc;
    rc = cli_require_inputs(cmd, &o, 1);
    if (rc >= 0)
        return rc;
    soap_error err;
    soap_error_clear(&err);
    soap_search_space sp;
    const char *dims = v[O_DIMS] ? v[O_DIMS] : "SOAP";
    if (soap_search_space_parse(dims, &sp, &err) != SOAP_OK)
        return cli_usage_error(cmd, "--dims: %s", err.msg);
    soap_sim_options simopt;
    memset(&simopt, 0, sizeof simopt);
    simopt.sync = SOAP_SYNC_ALLREDUCE;
    simopt.no_overlap = v[O_NO_OVERLAP] != NULL;
    if (v[O_SYNC]) {
        int mode = soap_sync_mode_parse(v[O_SYNC]);
        if (mode < 0) {
            cli_message("check-local: unknown sync mode '%s' (modes: ps, allreduce)",
                        v[O_SYNC]);
            return CLI_EXIT_INPUT;
        }
        simopt.sync = (soap_sync_mode)mode;
    }

    soap_machine *m = NULL;
    soap_graph *g = NULL;
    soap_strategy *s = NULL;
    soap_costs *costs = NULL;
    soap_sim *sim = NULL;
    rc = CLI_EXIT_INPUT;
    m = cli_load_machine(&o);
    if (!m)
        goto done;
    g = cli_load_model(&o, (int64_t)CLI_BATCH_PER_DEVICE * m->ndevices);
    if (!g)
        goto done;
    soap_strategy_options sopt;
    memset(&sopt, 0, sizeof sopt);
    sopt.seed = o.seed;
    s = soap_strategy_load(o.strategy, g, m, &sopt, &err);
    if (!s || soap_strategy_check(s, g, m, &err) != SOAP_OK) {
        cli_fail(&err);
        goto done;
    }
    sim = cli_new_sim(g, m, v[O_COSTS], &simopt, &costs);
    if (!sim)
        goto done;
    soap_local_report rep;
    if (soap_search_check_local(sim, g, m, s, &sp, v[O_ALLOW_OVER] != NULL, &rep, &err) !=
        SOAP_OK) {
        cli_fail(&err);
        goto done;
    }
    char dn[8], cfg[512];
    soap_search_space_str(&sp, dn, sizeof dn);
    int local = rep.improving == 0;
    if (rep.best_op >= 0)
        soap_config_str(&rep.best_config, cfg, sizeof cfg);
    if (o.json) {
        json_t *j = json_object();
        set(j, "strategy", json_string(o.strategy));
        set(j, "model", json_string(g->name));
        set(j, "machine", json_string(m->name));
        set(j, "devices", json_integer(m->ndevices));
        set(j, "dims", json_string(dn));
        set(j, "time_s", json_real(rep.time_s));
        set(j, "local_optimum", json_boolean(local));
        set(j, "tried", json_integer(rep.tried));
        set(j, "improving", json_integer(rep.improving));
        if (rep.best_op >= 0) {
            json_t *b = json_object();
            set(b, "op", json_string(g->ops[rep.best_op].name));
            set(b, "config", json_string(cfg));
            set(b, "time_s", json_real(rep.best_s));
            set(j, "best_change", b);
        } else {
            set(j, "best_change", json_null());
        }
        cli_print_json(stdout, j);
    } else {
        printf("check-local: strategy %s, model %s, machine %s (%d devices), space %s\n",
               o.strategy, g->name, m->name, m->ndevices, dn);
        printf("iteration time: %.6g s\n", rep.time_s);
        printf("single-operator changes tried: %ld, improving: %ld\n", rep.tried,
               rep.improving);
        if (local)
            printf("local optimum: yes, no single-operator change improves this strategy\n");
        else
            printf("local optimum: no; best change: op %s to %s gives %.6g s (%.3fx)\n",
                   g->ops[rep.best_op].name, cfg, rep.best_s, rep.time_s / rep.best_s);
    }
    rc = CLI_EXIT_OK;
done:
    soap_sim_free(sim);
    soap_costs_free(costs);
    soap_strategy_free(s);
    soap_graph_free(g);
    soap_machine_free(m);
    return rc;
}

const cli_command cli_cmd_check_local = {
    .name = "check-local",
    .summary = "tell whether any single-operator change improves a strategy",
    .usage =
        "usage: soap check-local --model M --machine X --strategy FILE|NAME [--devices n]\n"
        "                        [--batch B] [--unroll T] [--scale full|tiny] [--dims SOAP]\n"
        "                        [--costs FILE]\n"
        "                        [--sync ps|allreduce] [--no-overlap]\n"
        "                        [--allow-over-capacity] [--json]\n"
        "  Simulates every single-operator change of the strategy (every degree vector\n"
        "  of --dims with every device assignment, or every contiguous block of\n"
        "  devices when there are more than 256 assignments, and every move of one\n"
        "  task) and tells whether any is faster (and fits memory): whether the\n"
        "  strategy is a local optimum. Exit status 0 either way.\n"
        "  --dims L         the space of the changes, as for 'soap search'\n",
    .run = run_check_local,
};
