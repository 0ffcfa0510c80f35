/* cli.h: what the files of the `soap` command share (internal to cli/): the
 * command table entry, the options every command draws from, the exit codes,
 * messages on stderr, and loading the model / machine an invocation names.
 *
 * The command does argument parsing and dispatch only; the work is in the
 * libraries.
 */
#ifndef SOAP_CLI_H
#define SOAP_CLI_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "soap_core.h"
#include "soap_sim.h"
#include "soap_strategies.h"

/* Exit codes. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_INPUT 1 /* bad input: unknown names, files that do not fit */
#define CLI_EXIT_USAGE 2 /* the command line itself: unknown command / option, bad numbers */

/* Defaults (DESIGN.md: 64 samples per device; RNNs unrolled 40 steps). */
#define CLI_BATCH_PER_DEVICE 64
#define CLI_DEFAULT_UNROLL 40

/* One command. run() gets argv[0] = the command's name; it returns an exit
 * code. */
typedef struct cli_command {
    const char *name;
    const char *summary; /* one line, for the command list */
    const char *usage;   /* the full help text of `soap <name> --help` */
    int (*run)(int argc, char **argv);
} cli_command;

/* The commands, each defined in its file (cmd_*.c); main.c lists them. */
extern const cli_command cli_cmd_models, cli_cmd_machines, cli_cmd_strategies, cli_cmd_show,
    cli_cmd_machine, cli_cmd_strategy, cli_cmd_simulate, cli_cmd_algos, cli_cmd_search,
    cli_cmd_check_local, cli_cmd_run, cli_cmd_profile, cli_cmd_validate;

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */
/* Bits naming the options a command accepts (--help always). */
enum cli_option_bits {
    CLI_OPT_MODEL = 1u << 0,
    CLI_OPT_MACHINE = 1u << 1,
    CLI_OPT_DEVICES = 1u << 2,
    CLI_OPT_BATCH = 1u << 3,
    CLI_OPT_UNROLL = 1u << 4,
    CLI_OPT_JSON = 1u << 5,
    CLI_OPT_STRATEGY = 1u << 6,
    CLI_OPT_SEED = 1u << 7,
    CLI_OPT_OUT = 1u << 8,
    CLI_OPT_SCALE = 1u << 9, /* --scale full|tiny, for built-in models */
};

/* Parsed options; absent ones are NULL / 0 with their *_set flag 0. */
typedef struct cli_options {
    const char *model;    /* built-in name or model file */
    const char *machine;  /* preset name or machine file */
    const char *strategy; /* built-in name or strategy file */
    const char *out;      /* file to write */
    int64_t batch;        /* samples, >= 1 */
    int unroll;           /* RNN steps, >= 1 */
    int devices;          /* >= 1 */
    unsigned long seed;
    int json;             /* 1: JSON on stdout */
    int tiny;             /* 1: --scale tiny (built-in models' small variants) */
    int batch_set, unroll_set, devices_set, seed_set, scale_set;
    int help;             /* --help / -h was given */
} cli_options;

/* Parses argv (argv[0] = the command's name) against the options in
 * `allowed`. Returns -1 to go on, or an exit code: 0 after printing the
 * command's help, CLI_EXIT_USAGE after a message on stderr. */
int cli_parse_options(const cli_command *cmd, int argc, char **argv, unsigned allowed,
                      cli_options *o);

/* The options of a command that the shared parser does not know: every
 * long option of the command, in the order messages list them; `shared`
 * marks those left for cli_parse_options. */
typedef struct cli_extra_option {
    const char *name;
    int takes_value; /* 0: a flag */
    int shared;
} cli_extra_option;

/* Moves the command's own options out of argv: values[k] is the value of
 * opts[k] ("" for a flag given, NULL when absent); the shared ones stay in
 * rest[0..*nrest) (rest[0] = argv[0], rest has argc + 1 slots) for
 * cli_parse_options. Unknown options and stray arguments are reported here,
 * listing every option of the command. Returns -1 to go on or
 * CLI_EXIT_USAGE after a message. */
int cli_split_options(const cli_command *cmd, int argc, char **argv,
                      const cli_extra_option *opts, int nopts, const char **values,
                      char **rest, int *nrest);

/* cli_split_options, then cli_parse_options on the shared ones (`allowed`):
 * the whole command line of a command with options of its own. -1 to go
 * on, or an exit code after a message (or the help). */
int cli_parse_command(const cli_command *cmd, int argc, char **argv,
                      const cli_extra_option *opts, int nopts, const char **values,
                      unsigned allowed, cli_options *o);

/* The integer value `arg` of option --opt, in [lo, hi]: -1 to go on, or
 * CLI_EXIT_USAGE after a message saying what was expected. */
int cli_parse_integer(const cli_command *cmd, const char *opt, const char *arg,
                      unsigned long long lo, unsigned long long hi, unsigned long long *out);

/* Simulator options from --sync (NULL: allreduce) and --no-overlap: -1 to go
 * on, or CLI_EXIT_INPUT after a message naming the modes (an unknown mode is
 * a bad name, like an unknown model). */
int cli_sim_options(const char *sync, int no_overlap, soap_sim_options *out);

/* Checks --model and --machine (and --strategy if `strategy`) are there:
 * -1 to go on, or CLI_EXIT_USAGE after a message saying what is missing. */
int cli_require_inputs(const cli_command *cmd, const cli_options *o, int strategy);

/* The costs of --costs (NULL: analytic only), refused when the table holds
 * no device type of m, and a simulator of g on m with them. NULL after a
 * message; *costs gets the costs to free after the simulator. */
soap_sim *cli_new_sim(const soap_graph *g, const soap_machine *m, const char *costs_path,
                      const soap_sim_options *opt, soap_costs **costs);

/* Checks that an option the command needs is there (CLI_EXIT_USAGE with a
 * message if not, -1 if it is). `what` says what the value is. */
int cli_require(const cli_command *cmd, const char *value, const char *option,
                const char *what);

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */
/* "soap: <message>" on stderr. */
void cli_message(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* "soap: <cmd>: <message>" plus a pointer to the command's help; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Reports a library error ("soap: <err->msg>"); returns CLI_EXIT_INPUT. */
int cli_fail(const soap_error *err);

/* ------------------------------------------------------------------ */
/* Loading what an invocation names                                    */
/* ------------------------------------------------------------------ */
/* The machine of --machine, narrowed to --devices. NULL after a message. */
soap_machine *cli_load_machine(const cli_options *o);

/* The model of --model with batch --batch (default: default_batch),
 * --unroll (default 40; with --scale tiny the tiny default, 4) and --scale.
 * A model file keeps its own batch and sizes; an explicit --batch or
 * --scale tiny with a file gets a note. NULL after a message. */
soap_graph *cli_load_model(const cli_options *o, int64_t default_batch);

/* ------------------------------------------------------------------ */
/* Output helpers                                                      */
/* ------------------------------------------------------------------ */
/* Letter of a dim kind in shapes like [64s,96p,55a,55a]: s sample,
 * a attribute, p parameter, n none (not partitionable). */
char cli_dim_letter(soap_dim_kind k);

/* "[64s,96p,55a,55a]" into buf; returns buf. */
char *cli_shape_str(const soap_shape *s, char *buf, size_t len);

/* Prints a JSON object with one top-level key per line and, inside arrays
 * of objects or arrays, one element per line; then a newline. Takes the
 * reference to `root`. */
void cli_print_json(FILE *f, json_t *root);

#endif /* SOAP_CLI_H */
