/* cli_options.c: the command line of every `soap` command from its option
 * table: the options several commands share (defined once here), the
 * parser that fills their typed destinations (checking numbers, ranges and
 * names), the help text generated from the same table, and the driver that
 * parses, answers --help, checks the required options and runs a command.
 *
 * Syntax: --name VALUE, --name=VALUE, an unambiguous prefix of a long name
 * (--sy for --sync), -c VALUE for an option with a short name, -h/--help.
 * A value is the next argument even if it starts with '-' (--iters -3 is
 * then refused as negative). "--" ends the options; nothing may follow.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Help text width (columns) and the widest option column. */
#define HELP_WIDTH 79
#define HELP_MAX_COL 28

/* Largest values accepted: --devices as the machine model allows, --batch
 * and --unroll far beyond any real use but small enough that sizes derived
 * from them stay inside int64. */
#define MAX_BATCH ((unsigned long long)INT_MAX)
#define MAX_UNROLL 100000ULL

/* ------------------------------------------------------------------ */
/* Values with a syntax of their own                                   */
/* ------------------------------------------------------------------ */
/* An unknown mode is a bad name, like an unknown model: bad input. */
static int parse_sync(const cli_command *cmd, const cli_opt *opt, const char *arg, void *dst)
{
    (void)cmd;
    (void)opt;
    int m = soap_sync_mode_parse(arg);
    if (m < 0) {
        char list[128] = "";
        for (int k = 0; k < SOAP_SYNC_MODE_COUNT; k++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                     soap_sync_mode_name((soap_sync_mode)k));
        }
        cli_message("unknown sync mode '%s' (modes: %s)", cli_name(arg), list);
        return CLI_EXIT_INPUT;
    }
    *(soap_sync_mode *)dst = (soap_sync_mode)m;
    return 0;
}

/* An unknown move set is a usage error (like --dims): the message names
 * the valid ones. */
static int parse_moves(const cli_command *cmd, const cli_opt *opt, const char *arg, void *dst)
{
    (void)opt;
    soap_error err;
    soap_error_clear(&err);
    if (soap_search_moves_parse(arg, dst, &err) != SOAP_OK)
        return cli_usage_error(cmd, "--moves: %s", err.msg);
    return 0;
}

static int parse_dims(const cli_command *cmd, const cli_opt *opt, const char *arg, void *dst)
{
    (void)opt;
    soap_error err;
    soap_error_clear(&err);
    if (soap_search_space_parse(arg, dst, &err) != SOAP_OK)
        return cli_usage_error(cmd, "--dims: %s", err.msg);
    return 0;
}

/* ------------------------------------------------------------------ */
/* The shared options                                                  */
/* ------------------------------------------------------------------ */
static const char *const scale_names[] = {"full", "tiny", NULL};

#define COMMON(member) .common = 1, .field = offsetof(cli_options, member)

const cli_opt cli_opt_model = {
    .name = "model", .kind = CLI_STRING, COMMON(model), .required = 1, .value = "M",
    .help = "built-in model (see 'soap models') or model file (JSON)"};
const cli_opt cli_opt_machine = {
    .name = "machine", .kind = CLI_STRING, COMMON(machine), .required = 1, .value = "X",
    .help = "machine preset (see 'soap machines') or machine file (JSON)"};
const cli_opt cli_opt_strategy = {
    .name = "strategy", .kind = CLI_STRING, COMMON(strategy), .required = 1,
    .value = "NAME|FILE",
    .help = "built-in strategy (see 'soap strategies') or strategy file"};
const cli_opt cli_opt_devices = {
    .name = "devices", .kind = CLI_INT, COMMON(devices),
    .given = CLI_GIVEN(cli_options, devices_set), .lo = 1, .hi = SOAP_MAX_DEVICES,
    .value = "n", .help = "keep only the first n devices of the machine"};
const cli_opt cli_opt_batch = {
    .name = "batch", .kind = CLI_INT64, COMMON(batch),
    .given = CLI_GIVEN(cli_options, batch_set), .lo = 1, .hi = MAX_BATCH, .value = "B",
    .help = "samples per iteration of a built-in model (default 64 per device); a model "
            "file has its own"};
const cli_opt cli_opt_unroll = {
    .name = "unroll", .kind = CLI_INT, COMMON(unroll),
    .given = CLI_GIVEN(cli_options, unroll_set), .lo = 1, .hi = MAX_UNROLL, .value = "T",
    .help = "steps of the recurrent models (default 40; with --scale tiny 4)"};
const cli_opt cli_opt_scale = {
    .name = "scale", .kind = CLI_ENUM, COMMON(tiny), .names = scale_names,
    .help = "full (default) or tiny: the built-in model's small variant (same operators, "
            "fewer channels, smaller images and vocabularies); a model file has its own "
            "sizes"};
const cli_opt cli_opt_seed = {
    .name = "seed", .kind = CLI_ULONG, COMMON(seed), .given = CLI_GIVEN(cli_options, seed_set),
    .lo = 0, .hi = ULONG_MAX, .value = "S",
    .help = "seed of everything random: random strategies, search chains, weights and "
            "data (default 0)"};
const cli_opt cli_opt_json = {
    .name = "json", .kind = CLI_FLAG, COMMON(json),
    .help = "print one JSON object instead of the report"};
const cli_opt cli_opt_out = {
    .name = "out", .kind = CLI_STRING, COMMON(out), .value = "FILE",
    .help = "write the result to FILE (what it holds: see above)"};
const cli_opt cli_opt_costs = {
    .name = "costs", .kind = CLI_STRING, COMMON(costs), .value = "FILE",
    .help = "measured cost table (CSV, from 'soap profile'); tasks it lacks use the "
            "analytic model (default: analytic only)"};
const cli_opt cli_opt_sync = {
    .name = "sync", .kind = CLI_CUSTOM, COMMON(sim.sync), .parse = parse_sync,
    .value = "MODE",
    .help = "weight synchronization: ps (parameter server), allreduce (ring; default) or "
            "master (the paper's runtime: per-node masters, then the first node's)"};
const cli_opt cli_opt_no_overlap = {
    .name = "no-overlap", .kind = CLI_FLAG, COMMON(sim.no_overlap),
    .help = "start weight sync only after the whole backward pass"};
const cli_opt cli_opt_dims = {
    .name = "dims", .kind = CLI_CUSTOM, COMMON(dims), .parse = parse_dims, .value = "L",
    .help = "the space: letters of S (sample), O (operator placement), A (attribute), "
            "P (parameter); SAP: no placement freedom, S: sample only (default SOAP)"};
const cli_opt cli_opt_moves = {
    .name = "moves", .kind = CLI_CUSTOM, COMMON(moves), .parse = parse_moves,
    .value = "SET",
    .help = "what a proposal changes: op (one operator), tied (every operator of a group "
            "that shares weights, e.g. the steps of an LSTM layer, gets one config) or "
            "mixed (half tied, half op); default tied (measured: faster strategies for the "
            "RNNs for the same proposals)"};
const cli_opt cli_opt_allow_over = {
    .name = "allow-over-capacity", .kind = CLI_FLAG, COMMON(allow_over_capacity),
    .help = "also accept strategies over a device's memory capacity"};

/* Every command has it; the parser handles it itself. */
static const cli_opt help_opt = {.name = "help", .short_name = 'h', .kind = CLI_FLAG,
                                 .help = "print this help"};

/* ------------------------------------------------------------------ */
/* The table of one command                                            */
/* ------------------------------------------------------------------ */
static int count_opts(const cli_command *cmd)
{
    int n = 0;
    while (cmd->opts && cmd->opts[n])
        n++;
    return n;
}

/* The i-th option of cmd, --help last (i == count_opts). */
static const cli_opt *opt_at(const cli_command *cmd, int i, int n)
{
    return i < n ? cmd->opts[i] : &help_opt;
}

/* "--model, --machine, ..., --help" for messages. */
static void option_list(const cli_command *cmd, char *buf, size_t len)
{
    int n = count_opts(cmd);
    buf[0] = '\0';
    for (int i = 0; i <= n; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s--%s", i ? ", " : "", opt_at(cmd, i, n)->name);
    }
}

/* The placeholder of the value ("FILE", "full|tiny"); "" for a flag. */
static const char *value_text(const cli_opt *op, char *buf, size_t len)
{
    if (op->kind == CLI_FLAG)
        return "";
    if (op->value || op->kind != CLI_ENUM)
        return op->value ? op->value : "VALUE";
    buf[0] = '\0';
    for (int k = 0; op->names[k]; k++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", k ? "|" : "", op->names[k]);
    }
    return buf;
}

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */
static void *dest(const cli_opt *op, cli_options *o, void *own, size_t offset)
{
    SOAP_ASSERT(op->common || own != NULL);
    return (char *)(op->common ? (void *)o : own) + offset;
}

/* A decimal integer in [lo, hi], digits only (no sign, spaces or suffix). */
static int parse_uint(const cli_command *cmd, const cli_opt *op, const char *arg,
                      unsigned long long *out)
{
    int digits = arg[0] != '\0';
    for (const char *p = arg; *p; p++)
        digits &= *p >= '0' && *p <= '9';
    errno = 0;
    unsigned long long v = digits ? strtoull(arg, NULL, 10) : 0;
    if (!digits && arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9')
        return cli_usage_error(cmd, "--%s %s: expected an integer from %llu to %llu, not a "
                               "negative number", op->name, arg, op->lo, op->hi);
    if (!digits)
        return cli_usage_error(cmd, "--%s '%s': expected an integer from %llu to %llu",
                               op->name, cli_name(arg), op->lo, op->hi);
    if (errno == ERANGE || v < op->lo || v > op->hi)
        return cli_usage_error(cmd, "--%s %s: expected an integer from %llu to %llu",
                               op->name, arg, op->lo, op->hi);
    *out = v;
    return 0;
}

static int parse_double(const cli_command *cmd, const cli_opt *op, const char *arg,
                        double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || !(v > op->dlo) || v > op->dhi) {
        char range[96];
        if (op->dlo == 0.0)
            snprintf(range, sizeof range, "a positive number");
        else
            snprintf(range, sizeof range, "a number above %g", op->dlo);
        if (isfinite(op->dhi)) {
            size_t used = strlen(range);
            snprintf(range + used, sizeof range - used, " of at most %g", op->dhi);
        }
        return cli_usage_error(cmd, "--%s '%s': expected %s", op->name, cli_name(arg), range);
    }
    *out = v;
    return 0;
}

static int parse_enum(const cli_command *cmd, const cli_opt *op, const char *arg, int *out)
{
    char list[256] = "";
    int k = 0;
    for (; op->names[k]; k++)
        if (strcmp(op->names[k], arg) == 0) {
            *out = k;
            return 0;
        }
    for (int j = 0; j < k; j++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", j == 0 ? "" : j + 1 < k ? ", " : " or ",
                 op->names[j]);
    }
    return cli_usage_error(cmd, "--%s '%s': expected %s", op->name, cli_name(arg), list);
}

/* Stores the value of op (NULL for a flag). */
static int store(const cli_command *cmd, const cli_opt *op, const char *arg, cli_options *o,
                 void *own)
{
    void *dst = dest(op, o, own, op->field);
    unsigned long long v = 0;
    int rc = 0;
    switch (op->kind) {
    case CLI_FLAG: *(int *)dst = 1; break;
    case CLI_INT:
        SOAP_ASSERT(op->hi <= INT_MAX);
        if ((rc = parse_uint(cmd, op, arg, &v)) == 0)
            *(int *)dst = (int)v;
        break;
    case CLI_INT64:
        SOAP_ASSERT(op->hi <= INT64_MAX);
        if ((rc = parse_uint(cmd, op, arg, &v)) == 0)
            *(int64_t *)dst = (int64_t)v;
        break;
    case CLI_ULONG:
        SOAP_ASSERT(op->hi <= ULONG_MAX);
        if ((rc = parse_uint(cmd, op, arg, &v)) == 0)
            *(unsigned long *)dst = (unsigned long)v;
        break;
    case CLI_DOUBLE: rc = parse_double(cmd, op, arg, dst); break;
    case CLI_STRING: *(const char **)dst = arg; break;
    case CLI_ENUM: rc = parse_enum(cmd, op, arg, dst); break;
    case CLI_CUSTOM: rc = op->parse(cmd, op, arg, dst); break;
    }
    if (rc == 0 && op->given)
        *(int *)dest(op, o, own, op->given - 1) = 1;
    return rc;
}

/* ------------------------------------------------------------------ */
/* The parser                                                          */
/* ------------------------------------------------------------------ */
/* The option `text` (after "--", up to '=' or its end: len characters)
 * names: the exact name, or the one name it abbreviates. NULL after a
 * message. */
static const cli_opt *find_long(const cli_command *cmd, const char *text, size_t len,
                                const char *list, int *rc)
{
    int n = count_opts(cmd), matches = 0;
    const cli_opt *found = NULL;
    for (int i = 0; i <= n; i++) {
        const cli_opt *op = opt_at(cmd, i, n);
        if (strncmp(op->name, text, len) != 0)
            continue;
        if (op->name[len] == '\0')
            return op;
        found = op;
        matches++;
    }
    if (matches == 1)
        return found;
    char given[256];
    snprintf(given, sizeof given, "%.*s", (int)len, text);
    *rc = cli_usage_error(cmd, "%s option '--%s' (options: %s)",
                          matches ? "ambiguous" : "unknown", cli_name(given), list);
    return NULL;
}

static const cli_opt *find_short(const cli_command *cmd, char c)
{
    int n = count_opts(cmd);
    for (int i = 0; i <= n; i++)
        if (c && opt_at(cmd, i, n)->short_name == c)
            return opt_at(cmd, i, n);
    return NULL;
}

/* Fills o and own from argv; *help when --help was given. 0 or an exit
 * code after a message. */
static int parse(const cli_command *cmd, int argc, char **argv, cli_options *o, void *own,
                 int *help)
{
    char list[1024];
    option_list(cmd, list, sizeof list);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            if (i + 1 < argc)
                return cli_usage_error(cmd, "unexpected argument '%s' (options: %s)",
                                       cli_name(argv[i + 1]), list);
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0')
            return cli_usage_error(cmd, "unexpected argument '%s' (options: %s)",
                                   cli_name(arg), list);
        const cli_opt *op;
        const char *value = NULL;
        if (arg[1] != '-') {
            op = arg[2] == '\0' ? find_short(cmd, arg[1]) : NULL;
            if (!op)
                return cli_usage_error(cmd, "unknown option '%s' (options: %s)", cli_name(arg),
                                       list);
        } else {
            size_t len = strcspn(arg + 2, "=");
            int rc = 0;
            if (!(op = find_long(cmd, arg + 2, len, list, &rc)))
                return rc;
            if (arg[2 + len] == '=')
                value = arg + 3 + len;
        }
        if (op->kind == CLI_FLAG && value)
            return cli_usage_error(cmd, "option --%s takes no value", op->name);
        if (op->kind != CLI_FLAG && !value) {
            if (i + 1 >= argc)
                return cli_usage_error(cmd, "option --%s needs a value", op->name);
            value = argv[++i];
        }
        if (value && value[0] == '\0')
            return cli_usage_error(cmd, "option --%s needs a non-empty value", op->name);
        if (op == &help_opt) {
            *help = 1;
            continue;
        }
        int rc = store(cmd, op, value, o, own);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int check_required(const cli_command *cmd, const cli_options *o, void *own)
{
    for (int i = 0; cmd->opts && cmd->opts[i]; i++) {
        const cli_opt *op = cmd->opts[i];
        if (!op->required)
            continue;
        SOAP_ASSERT(op->kind == CLI_STRING);
        if (!*(const char **)dest(op, (cli_options *)o, own, op->field))
            return cli_usage_error(cmd, "--%s is required: %s", op->name, op->help);
    }
    return 0;
}

int cli_command_main(const cli_command *cmd, int argc, char **argv)
{
    cli_options o;
    memset(&o, 0, sizeof o);
    o.sim.sync = SOAP_SYNC_ALLREDUCE;
    SOAP_ASSERT(soap_search_space_parse("SOAP", &o.dims, NULL) == SOAP_OK);
    o.moves = SOAP_SEARCH_MOVES_DEFAULT;
    void *own = NULL;
    if (cmd->own_size) {
        own = soap_xcalloc(1, cmd->own_size);
        if (cmd->own_defaults)
            memcpy(own, cmd->own_defaults, cmd->own_size);
    }
    int help = 0;
    int rc = parse(cmd, argc, argv, &o, own, &help);
    if (rc == 0 && help)
        cli_print_usage(cmd, stdout);
    else if (rc == 0 && (rc = check_required(cmd, &o, own)) == 0) {
        cli_inputs in;
        rc = cli_inputs_load(&o, cmd->load, &in);
        if (rc == 0)
            rc = cmd->run(&o, &in, own);
        cli_inputs_free(&in);
    }
    free(own);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Help                                                                */
/* ------------------------------------------------------------------ */
static void pad(FILE *f, int n)
{
    for (int i = 0; i < n; i++)
        fputc(' ', f);
}

/* Prints text from column `col`, breaking lines at spaces before
 * HELP_WIDTH with continuations at column `indent`; '\n' breaks a line.
 * Ends the line. */
static void wrap(FILE *f, const char *text, int col, int indent)
{
    int fresh = 1; /* nothing printed on this line yet */
    for (const char *p = text; *p;) {
        if (*p == '\n' || *p == ' ') {
            if (*p == '\n') {
                fputc('\n', f);
                pad(f, indent);
                col = indent;
                fresh = 1;
            }
            p++;
            continue;
        }
        int w = (int)strcspn(p, " \n");
        if (!fresh && col + 1 + w > HELP_WIDTH) {
            fputc('\n', f);
            pad(f, indent);
            col = indent;
            fresh = 1;
        }
        if (!fresh) {
            fputc(' ', f);
            col++;
        }
        fwrite(p, 1, (size_t)w, f);
        col += w;
        fresh = 0;
        p += w;
    }
    fputc('\n', f);
}

/* "  -h, --help" / "  --model M" into buf; returns its length. */
static int option_text(const cli_opt *op, char *buf, size_t len)
{
    char names[256];
    const char *v = value_text(op, names, sizeof names);
    char sh[8] = "";
    if (op->short_name)
        snprintf(sh, sizeof sh, "-%c, ", op->short_name);
    int w = snprintf(buf, len, "  %s--%s%s%s", sh, op->name, v[0] ? " " : "", v);
    return w < 0 ? 0 : w;
}

void cli_print_usage(const cli_command *cmd, FILE *f)
{
    int n = count_opts(cmd);
    char head[64];
    int indent = snprintf(head, sizeof head, "usage: soap %s", cmd->name);
    fputs(head, f);
    int col = indent++;
    for (int i = 0; i < n; i++) {
        const cli_opt *op = cmd->opts[i];
        char names[256], token[320];
        const char *v = value_text(op, names, sizeof names);
        int w = snprintf(token, sizeof token, "%s--%s%s%s%s", op->required ? "" : "[",
                         op->name, v[0] ? " " : "", v, op->required ? "" : "]");
        if (col + 1 + w > HELP_WIDTH) {
            fputc('\n', f);
            pad(f, indent - 1);
            col = indent - 1;
        }
        fprintf(f, " %s", token);
        col += 1 + w;
    }
    fputc('\n', f);
    if (cmd->description) {
        pad(f, 2);
        wrap(f, cmd->description, 2, 2);
    }
    fputs("options:\n", f);
    int hcol = 0;
    for (int i = 0; i <= n; i++) {
        char text[320];
        int w = option_text(opt_at(cmd, i, n), text, sizeof text) + 2;
        if (w <= HELP_MAX_COL && w > hcol)
            hcol = w;
    }
    for (int i = 0; i <= n; i++) {
        const cli_opt *op = opt_at(cmd, i, n);
        char text[320];
        int w = option_text(op, text, sizeof text);
        fputs(text, f);
        if (w + 2 > hcol) {
            fputc('\n', f);
            w = 0;
        }
        pad(f, hcol - w);
        wrap(f, op->help, hcol, hcol);
    }
}
