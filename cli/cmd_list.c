/* cmd_list.c: the listing commands `soap models`, `soap machines` and
 * `soap strategies`: the built-in names with their descriptions, from the
 * libraries' registries.
 */
#include <string.h>

#include "cli.h"

/* Name column width: the longest name, so that descriptions line up. */
static int widen(int w, const char *name)
{
    int n = (int)strlen(name);
    return n > w ? n : w;
}

static int run_models(const cli_options *o, const cli_inputs *in, void *own)
{
    (void)o;
    (void)in;
    (void)own;
    int w = 0;
    for (const soap_model_info *m = soap_models(); m->name; m++)
        w = widen(w, m->name);
    for (const soap_model_info *m = soap_models(); m->name; m++)
        printf("%-*s  %s\n", w, m->name, m->description);
    return CLI_EXIT_OK;
}

static int run_machines(const cli_options *o, const cli_inputs *in, void *own)
{
    (void)o;
    (void)in;
    (void)own;
    const char *const *names = soap_machine_preset_names();
    int w = 0;
    for (int i = 0; names[i]; i++)
        w = widen(w, names[i]);
    for (int i = 0; names[i]; i++) {
        const char *d = soap_machine_preset_description(names[i]);
        printf("%-*s  %s\n", w, names[i], d ? d : "");
    }
    return CLI_EXIT_OK;
}

static int run_strategies(const cli_options *o, const cli_inputs *in, void *own)
{
    (void)o;
    (void)in;
    (void)own;
    const soap_strategy_ops *const *reg = soap_strategy_registry();
    int w = 0;
    for (int i = 0; reg[i]; i++)
        w = widen(w, reg[i]->name);
    for (int i = 0; reg[i]; i++)
        printf("%-*s  %s\n", w, reg[i]->name, reg[i]->description);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_models = {
    .name = "models",
    .summary = "list the built-in models",
    .description = "Lists the built-in models (for --model) with a description of each.",
    .run = run_models,
};

const cli_command cli_cmd_machines = {
    .name = "machines",
    .summary = "list the machine presets",
    .description = "Lists the machine presets (for --machine) with a description of each.",
    .run = run_machines,
};

const cli_command cli_cmd_strategies = {
    .name = "strategies",
    .summary = "list the built-in strategies",
    .description = "Lists the built-in strategies (for --strategy) with a description of "
                   "each.",
    .run = run_strategies,
};
