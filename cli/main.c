/* main.c: the `soap` command: the table of commands, the overall help and
 * dispatch to the command named by the first argument.
 *
 *   soap --help | -h          usage of every command
 *   soap help [<command>]     the same, or one command's usage
 *   soap <command> --help     one command's usage
 *   soap <command> [options]  run it
 *
 * Exit status: 0 success, 1 bad input (unknown model / machine / strategy
 * names, files that are malformed or do not fit), 2 usage errors (unknown
 * command or option, missing or malformed values), 130 / 143 a search
 * stopped by SIGINT (Ctrl-C) / SIGTERM.
 *
 * Each command's options, its parser and its help come from its option
 * table (cli_options.c).
 */
#include <string.h>

#include "cli.h"

/* In the order the help lists them. */
static const cli_command *const commands[] = {
    &cli_cmd_models, &cli_cmd_machines, &cli_cmd_strategies,
    &cli_cmd_show,   &cli_cmd_machine,  &cli_cmd_strategy,   &cli_cmd_simulate,
    &cli_cmd_algos,  &cli_cmd_search,   &cli_cmd_check_local, &cli_cmd_run,
    &cli_cmd_profile, &cli_cmd_validate, &cli_cmd_calibrate,
};
#define NCOMMANDS ((int)(sizeof commands / sizeof commands[0]))

static const cli_command *find_command(const char *name)
{
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0)
            return commands[i];
    return NULL;
}

static void print_summary(FILE *f)
{
    fputs("usage: soap <command> [options]\n"
          "       soap <command> --help    the options of one command\n"
          "       soap --help              the options of every command\n"
          "\ncommands:\n",
          f);
    for (int i = 0; i < NCOMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
}

static void print_help(void)
{
    fputs("soap: SOAP parallelization strategies of DNN training (operator graphs, "
          "machine models, strategies, simulation)\n\n",
          stdout);
    print_summary(stdout);
    for (int i = 0; i < NCOMMANDS; i++) {
        fputs("\n", stdout);
        cli_print_usage(commands[i], stdout);
    }
    fputs("\nModels (--model), machines (--machine) and strategies (--strategy) are "
          "built-in names\n"
          "(see 'soap models', 'soap machines', 'soap strategies') or JSON files.\n"
          "Exit status: 0 success, 1 bad input (unknown names, files that are malformed or "
          "do not fit),\n"
          "2 usage errors (unknown command or option, missing or malformed values),\n"
          "130 / 143 a search stopped by Ctrl-C (SIGINT) / SIGTERM (its best strategy and\n"
          "log still written).\n",
          stdout);
}

/* "models, machines, ..." */
static void command_list(char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < NCOMMANDS; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", i ? ", " : "", commands[i]->name);
    }
}

static int unknown_command(const char *name)
{
    char list[256];
    command_list(list, sizeof list);
    cli_message("unknown command '%s' (commands: %s; see 'soap --help')", name, list);
    return CLI_EXIT_USAGE;
}

/* `soap help [<command>]` */
static int help_command(int argc, char **argv)
{
    if (argc < 2) {
        print_help();
        return CLI_EXIT_OK;
    }
    if (argc > 2) {
        cli_message("help: expected at most one command name, got %d arguments", argc - 1);
        return CLI_EXIT_USAGE;
    }
    const cli_command *c = find_command(argv[1]);
    if (!c)
        return unknown_command(argv[1]);
    cli_print_usage(c, stdout);
    return CLI_EXIT_OK;
}

int main(int argc, char **argv)
{
    int rc;
    if (argc < 2) {
        char list[256];
        command_list(list, sizeof list);
        cli_message("no command given (commands: %s; see 'soap --help')", list);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_help();
        rc = CLI_EXIT_OK;
    } else if (strcmp(name, "help") == 0) {
        rc = help_command(argc - 1, argv + 1);
    } else if (name[0] == '-') {
        cli_message("unknown option '%s' before the command (see 'soap --help')", name);
        rc = CLI_EXIT_USAGE;
    } else {
        const cli_command *c = find_command(name);
        rc = c ? cli_command_main(c, argc - 1, argv + 1) : unknown_command(name);
    }
    /* Output that could not be written (a full disk, a closed pipe) is a
     * failure, not a success. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_message("cannot write the output");
        if (rc == CLI_EXIT_OK)
            rc = CLI_EXIT_INPUT;
    }
    return rc;
}
