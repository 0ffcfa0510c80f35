/* cli.h: what the files of the `soap` command share (internal to cli/): the
 * option tables every command declares (from which both the parser and
 * `soap <cmd> --help` are generated), the options several commands take,
 * the command table entry, the exit codes, messages on stderr, and loading
 * the model / machine an invocation names.
 *
 * The command does argument parsing and dispatch only; the work is in the
 * libraries. Functions that check something return 0 to go on and an exit
 * code (CLI_EXIT_*) otherwise, after a message.
 */
#ifndef SOAP_CLI_H
#define SOAP_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "soap_core.h"
#include "soap_search.h"
#include "soap_sim.h"
#include "soap_strategies.h"

/* Exit codes. */
#define CLI_EXIT_OK 0
#define CLI_EXIT_INPUT 1 /* bad input: unknown names, files that do not fit */
#define CLI_EXIT_USAGE 2 /* the command line itself: unknown command / option, bad numbers */
#define CLI_EXIT_SIGINT 130  /* 128 + SIGINT: stopped by Ctrl-C */
#define CLI_EXIT_SIGTERM 143 /* 128 + SIGTERM: stopped by kill / a supervisor */

/* Defaults (DESIGN.md: 64 samples per device; RNNs unrolled 40 steps). */
#define CLI_BATCH_PER_DEVICE 64
#define CLI_DEFAULT_UNROLL 40

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */
/* The options several commands take (each one is a cli_opt below that
 * commands list in their tables). The parser starts from zeros (sync:
 * allreduce; dims: SOAP); absent strings stay NULL. */
typedef struct cli_options {
    const char *model;    /* built-in name or model file */
    const char *machine;  /* preset name or machine file */
    const char *strategy; /* built-in name, strategy file or list (simulate) */
    const char *out;      /* file to write */
    const char *costs;    /* measured cost table (CSV), NULL: analytic */
    int64_t batch;        /* samples, >= 1 */
    int unroll;           /* RNN steps, >= 1 */
    int devices;          /* >= 1 */
    unsigned long seed;
    int json;             /* 1: JSON on stdout */
    int tiny;             /* --scale: 0 full, 1 tiny (the built-in models' small variants) */
    soap_sim_options sim; /* --sync, --no-overlap */
    soap_search_space dims;  /* --dims (search, check-local) */
    soap_search_moves moves; /* --moves (search, check-local) */
    int allow_over_capacity; /* --allow-over-capacity (search, check-local) */
    int batch_set, unroll_set, devices_set, seed_set;
} cli_options;

struct cli_command;
struct cli_opt;

/* What an option's value becomes. */
typedef enum cli_opt_kind {
    CLI_FLAG,   /* int, set to 1; takes no value */
    CLI_INT,    /* int, a decimal integer in [lo, hi] */
    CLI_INT64,  /* int64_t, in [lo, hi] */
    CLI_ULONG,  /* unsigned long, in [lo, hi] (seeds) */
    CLI_DOUBLE, /* double, a finite number > dlo and <= dhi */
    CLI_STRING, /* const char * into argv: a name or a path, non-empty */
    CLI_ENUM,   /* int, the index of the value in names[] */
    CLI_CUSTOM, /* parse() fills the destination: values with a syntax of their own */
} cli_opt_kind;

/* parse() of a CLI_CUSTOM option: `dst` is its destination. Returns 0, or
 * an exit code after a message. */
typedef int (*cli_parse_fn)(const struct cli_command *cmd, const struct cli_opt *opt,
                            const char *arg, void *dst);

/* One option: its name, where its value goes, and its help. */
typedef struct cli_opt {
    const char *name;   /* long name, without "--" */
    char short_name;    /* optional: -c (0: none) */
    cli_opt_kind kind;
    int common;         /* 1: field and given are in cli_options; 0: in the
                           command's own options struct (cli_command.own_size) */
    size_t field;       /* offsetof of the destination */
    size_t given;       /* optional: CLI_GIVEN(type, member) of an int set to 1
                           when the option appears (0: none) */
    unsigned long long lo, hi;  /* CLI_INT, CLI_INT64, CLI_ULONG: range */
    double dlo, dhi;            /* CLI_DOUBLE: range (dlo excluded) */
    const char *const *names;   /* CLI_ENUM: the values, NULL-terminated */
    cli_parse_fn parse;         /* CLI_CUSTOM */
    int required;       /* 1: the command does not run without it (CLI_STRING) */
    const char *value;  /* placeholder in usage and help ("M", "FILE"); NULL
                           for flags, and for CLI_ENUM: the names joined by '|' */
    const char *help;   /* one line of help (wrapped when printed) */
} cli_opt;

/* The `given` member of a cli_opt: 0 is "none", hence the + 1. */
#define CLI_GIVEN(type, member) (offsetof(type, member) + 1)

/* The options several commands share, defined once (cli_common.c). */
extern const cli_opt cli_opt_model, cli_opt_machine, cli_opt_strategy, cli_opt_devices,
    cli_opt_batch, cli_opt_unroll, cli_opt_scale, cli_opt_seed, cli_opt_json, cli_opt_out,
    cli_opt_costs, cli_opt_sync, cli_opt_no_overlap, cli_opt_dims, cli_opt_moves,
    cli_opt_allow_over;

/* ------------------------------------------------------------------ */
/* Commands                                                            */
/* ------------------------------------------------------------------ */
/* What a command works on, loaded in this order: the machine (--machine,
 * --devices), the model (--model, --batch, default 64 samples per device of
 * the machine, or 64; --unroll, --scale), the one strategy of --strategy,
 * the simulator (--costs, --sync, --no-overlap). */
enum {
    CLI_LOAD_MACHINE = 1u << 0,
    CLI_LOAD_MODEL = 1u << 1,
    CLI_LOAD_STRATEGY = 1u << 2, /* with machine and model */
    CLI_LOAD_SIM = 1u << 3,      /* with machine and model */
};
#define CLI_LOAD_INPUTS (CLI_LOAD_MACHINE | CLI_LOAD_MODEL)
typedef struct cli_inputs {
    soap_machine *m;
    soap_graph *g;
    soap_strategy *s;  /* CLI_LOAD_STRATEGY */
    soap_costs *costs; /* CLI_LOAD_SIM: the simulator's */
    soap_sim *sim;     /* CLI_LOAD_SIM */
} cli_inputs;
/* Loads `what` (CLI_LOAD_*): 0, or CLI_EXIT_INPUT after a message;
 * cli_inputs_free in either case. */
int cli_inputs_load(const cli_options *o, unsigned what, cli_inputs *in);
void cli_inputs_free(cli_inputs *in);

/* One command. main() parses its command line against opts (into a
 * cli_options and, if own_size, the command's own options struct, which
 * starts as *own_defaults or zeros), answers --help from the same table,
 * checks the required options, loads the inputs of `load`, then calls
 * run(), which returns an exit code. */
typedef struct cli_command {
    const char *name;
    const char *summary;      /* one line, for the command list */
    const char *description;  /* the help's text (wrapped; '\n' breaks a line) */
    const cli_opt *const *opts; /* NULL-terminated, in help order; --help is implied */
    size_t own_size;          /* the command's own options struct; 0: none */
    const void *own_defaults; /* optional: its starting value */
    unsigned load;            /* CLI_LOAD_*: what to load before run() */
    int (*run)(const cli_options *o, const cli_inputs *in, void *own);
} cli_command;

/* The commands, each defined in its file (cmd_*.c); main.c lists them. */
extern const cli_command cli_cmd_models, cli_cmd_machines, cli_cmd_strategies, cli_cmd_show,
    cli_cmd_machine, cli_cmd_strategy, cli_cmd_simulate, cli_cmd_algos, cli_cmd_search,
    cli_cmd_check_local, cli_cmd_run, cli_cmd_profile, cli_cmd_validate, cli_cmd_calibrate;

/* Parses argv (argv[0] = the command's name) against cmd->opts, prints the
 * help for --help, checks the required options and runs the command: its
 * exit code. */
int cli_command_main(const cli_command *cmd, int argc, char **argv);

/* The help of cmd, generated from its table: the usage line, the
 * description and one line per option. */
void cli_print_usage(const cli_command *cmd, FILE *f);

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

/* A name from a file (op, model, machine, device, link, strategy) as it may
 * be printed: soap_name_escape into one of a few rotating buffers, so that
 * several can appear in one printf. Valid until 8 more calls. */
const char *cli_name(const char *name);

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


/* The strategies of a list given to `option` ("--strategy", "--init",
 * "--strategies"): soap_strategy_list_expand with --seed, the one seed rule
 * (the j-th random entry of a list, from 0, is random {seed, index j}; so
 * "random" and "random:1" are `soap strategy --strategy random` of the same
 * seed in every command). 0, or CLI_EXIT_INPUT after a message naming the
 * option. */
int cli_load_strategies(const char *option, const char *list, const soap_graph *g,
                        const soap_machine *m, unsigned long seed, soap_strategy_list *out);


/* ------------------------------------------------------------------ */
/* Output helpers                                                      */
/* ------------------------------------------------------------------ */
/* Letter of a dim kind in shapes like [64s,96p,55a,55a]: s sample,
 * a attribute, p parameter, n none (not partitionable). */
char cli_dim_letter(soap_dim_kind k);

/* "[64s,96p,55a,55a]" into buf; returns buf. */
char *cli_shape_str(const soap_shape *s, char *buf, size_t len);

/* Seconds with a unit that keeps 4 significant digits readable ("-" when
 * not finite); returns buf. */
char *cli_fmt_time(double s, char *buf, size_t len);

/* obj[key] = val (taking the reference), asserting both succeed. */
void cli_json_set(json_t *obj, const char *key, json_t *val);

/* A JSON number, or null where it is not finite (JSON has no inf/nan). */
json_t *cli_json_num(double v);

/* Prints a JSON object with one top-level key per line and, inside arrays
 * of objects or arrays, one element per line; then a newline. Takes the
 * reference to `root`. */
void cli_print_json(FILE *f, json_t *root);

#endif /* SOAP_CLI_H */
