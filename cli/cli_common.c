/* cli_common.c: what the commands of `soap` share: option parsing with
 * getopt_long against one table of options, checks of numeric values,
 * messages on stderr ("soap: ..."), loading the model and machine an
 * invocation names, and small output helpers (shapes with dim kinds, JSON
 * with one element per line).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */
void cli_message(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("soap: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_message("%s: %s; see 'soap %s --help'", cmd->name, msg, cmd->name);
    return CLI_EXIT_USAGE;
}

int cli_fail(const soap_error *err)
{
    cli_message("%s", err->msg[0] ? err->msg : soap_status_name(err->code));
    return CLI_EXIT_INPUT;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */
/* getopt_long values of the long options (beyond any character). */
enum {
    OPT_MODEL = 256,
    OPT_MACHINE,
    OPT_DEVICES,
    OPT_BATCH,
    OPT_UNROLL,
    OPT_JSON,
    OPT_STRATEGY,
    OPT_SEED,
    OPT_OUT,
    OPT_SCALE,
};

typedef struct option_spec {
    unsigned bit;
    struct option opt;
    const char *arg; /* what the value is, for messages */
} option_spec;

static const option_spec option_table[] = {
    {CLI_OPT_MODEL, {"model", required_argument, NULL, OPT_MODEL}, "M"},
    {CLI_OPT_MACHINE, {"machine", required_argument, NULL, OPT_MACHINE}, "X"},
    {CLI_OPT_DEVICES, {"devices", required_argument, NULL, OPT_DEVICES}, "n"},
    {CLI_OPT_BATCH, {"batch", required_argument, NULL, OPT_BATCH}, "B"},
    {CLI_OPT_UNROLL, {"unroll", required_argument, NULL, OPT_UNROLL}, "T"},
    {CLI_OPT_JSON, {"json", no_argument, NULL, OPT_JSON}, NULL},
    {CLI_OPT_STRATEGY, {"strategy", required_argument, NULL, OPT_STRATEGY}, "NAME|FILE"},
    {CLI_OPT_SEED, {"seed", required_argument, NULL, OPT_SEED}, "S"},
    {CLI_OPT_OUT, {"out", required_argument, NULL, OPT_OUT}, "FILE"},
    {CLI_OPT_SCALE, {"scale", required_argument, NULL, OPT_SCALE}, "full|tiny"},
};
#define NOPTIONS ((int)(sizeof option_table / sizeof option_table[0]))

/* Largest values accepted: --devices as the machine model allows, --batch
 * and --unroll far beyond any real use but small enough that sizes derived
 * from them stay inside int64. */
#define MAX_BATCH ((long long)INT_MAX)
#define MAX_UNROLL 100000LL

/* "--model, --batch, ..., --help" for the options of a command. */
static void option_list(unsigned allowed, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int i = 0; i < NOPTIONS; i++)
        if (allowed & option_table[i].bit) {
            size_t used = strlen(buf);
            snprintf(buf + used, len - used, "--%s, ", option_table[i].opt.name);
        }
    size_t used = strlen(buf);
    snprintf(buf + used, len - used, "--help");
}

static const char *option_name(int val)
{
    for (int i = 0; i < NOPTIONS; i++)
        if (option_table[i].opt.val == val)
            return option_table[i].opt.name;
    return "?";
}

/* A decimal integer in lo..hi, digits only (no sign, spaces or suffix). */
static int parse_integer(const cli_command *cmd, const char *opt, const char *arg,
                         unsigned long long lo, unsigned long long hi,
                         unsigned long long *out)
{
    const char *what = lo >= 1 ? "a positive integer" : "a non-negative integer";
    int digits = arg[0] != '\0';
    for (const char *p = arg; *p; p++)
        digits &= *p >= '0' && *p <= '9';
    if (!digits) {
        if (arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9')
            return cli_usage_error(cmd, "--%s %s: expected %s, not a negative number", opt,
                                   arg, what);
        return cli_usage_error(cmd, "--%s '%s': expected %s", opt, arg, what);
    }
    errno = 0;
    unsigned long long v = strtoull(arg, NULL, 10);
    if (errno == ERANGE || v > hi)
        return cli_usage_error(cmd, "--%s %s: expected %s of at most %llu", opt, arg, what, hi);
    if (v < lo)
        return cli_usage_error(cmd, "--%s %s: expected %s (at least %llu)", opt, arg, what, lo);
    *out = v;
    return -1;
}

int cli_parse_integer(const cli_command *cmd, const char *opt, const char *arg,
                      unsigned long long lo, unsigned long long hi, unsigned long long *out)
{
    return parse_integer(cmd, opt, arg, lo, hi, out);
}

int cli_sim_options(const char *sync, int no_overlap, soap_sim_options *out)
{
    memset(out, 0, sizeof *out);
    out->sync = SOAP_SYNC_ALLREDUCE;
    out->no_overlap = no_overlap;
    if (!sync)
        return -1;
    int m = soap_sync_mode_parse(sync);
    if (m < 0) {
        char list[128] = "";
        for (int k = 0; k < SOAP_SYNC_MODE_COUNT; k++) {
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", k ? ", " : "",
                     soap_sync_mode_name((soap_sync_mode)k));
        }
        cli_message("unknown sync mode '%s' (modes: %s)", sync, list);
        return CLI_EXIT_INPUT;
    }
    out->sync = (soap_sync_mode)m;
    return -1;
}

int cli_parse_options(const cli_command *cmd, int argc, char **argv, unsigned allowed,
                      cli_options *o)
{
    memset(o, 0, sizeof *o);
    struct option longopts[NOPTIONS + 2];
    int n = 0;
    for (int i = 0; i < NOPTIONS; i++)
        if (allowed & option_table[i].bit)
            longopts[n++] = option_table[i].opt;
    longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[n] = (struct option){NULL, 0, NULL, 0};
    char list[256];
    option_list(allowed, list, sizeof list);

    /* Messages are ours ("soap: ..."), not getopt's; a leading ':' makes a
     * missing value return ':' rather than '?'. optind = 1: each process
     * parses one command line, from the command's first argument. */
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        unsigned long long v = 0;
        int rc = -1;
        switch (c) {
        case 'h': o->help = 1; break;
        case OPT_MODEL: o->model = optarg; break;
        case OPT_MACHINE: o->machine = optarg; break;
        case OPT_STRATEGY: o->strategy = optarg; break;
        case OPT_OUT: o->out = optarg; break;
        case OPT_JSON: o->json = 1; break;
        case OPT_SCALE:
            if (strcmp(optarg, "full") != 0 && strcmp(optarg, "tiny") != 0)
                return cli_usage_error(cmd, "--scale '%s': expected full or tiny", optarg);
            o->tiny = strcmp(optarg, "tiny") == 0;
            o->scale_set = 1;
            break;
        case OPT_DEVICES:
            rc = parse_integer(cmd, "devices", optarg, 1, SOAP_MAX_DEVICES, &v);
            o->devices = (int)v;
            o->devices_set = 1;
            break;
        case OPT_BATCH:
            rc = parse_integer(cmd, "batch", optarg, 1, MAX_BATCH, &v);
            o->batch = (int64_t)v;
            o->batch_set = 1;
            break;
        case OPT_UNROLL:
            rc = parse_integer(cmd, "unroll", optarg, 1, MAX_UNROLL, &v);
            o->unroll = (int)v;
            o->unroll_set = 1;
            break;
        case OPT_SEED:
            rc = parse_integer(cmd, "seed", optarg, 0, ULONG_MAX, &v);
            o->seed = (unsigned long)v;
            o->seed_set = 1;
            break;
        case ':':
            if (optopt >= OPT_MODEL)
                return cli_usage_error(cmd, "option --%s needs a value", option_name(optopt));
            return cli_usage_error(cmd, "option '%s' needs a value", argv[optind - 1]);
        default: /* '?': unknown, ambiguous, or a value given to a flag */
            if (optopt >= OPT_MODEL)
                return cli_usage_error(cmd, "option --%s takes no value", option_name(optopt));
            if (optopt == 'h')
                return cli_usage_error(cmd, "option --help takes no value");
            if (optopt > 0 && optopt < 256)
                return cli_usage_error(cmd, "unknown option '-%c' (options: %s)", optopt, list);
            return cli_usage_error(cmd, "unknown option '%s' (options: %s)", argv[optind - 1],
                                   list);
        }
        if (rc >= 0)
            return rc;
    }
    if (o->help) {
        fputs(cmd->usage, stdout);
        return CLI_EXIT_OK;
    }
    if (optind < argc)
        return cli_usage_error(cmd, "unexpected argument '%s' (options: %s)", argv[optind],
                               list);
    return -1;
}

int cli_require(const cli_command *cmd, const char *value, const char *option, const char *what)
{
    if (value && value[0])
        return -1;
    return cli_usage_error(cmd, "%s is required (%s)", option, what);
}

/* ------------------------------------------------------------------ */
/* Loading                                                             */
/* ------------------------------------------------------------------ */
soap_machine *cli_load_machine(const cli_options *o)
{
    soap_error err;
    soap_error_clear(&err);
    soap_machine *m = soap_machine_load(o->machine, o->devices_set ? o->devices : 0, &err);
    if (!m)
        cli_fail(&err);
    return m;
}

soap_graph *cli_load_model(const cli_options *o, int64_t default_batch)
{
    soap_model_options opt;
    memset(&opt, 0, sizeof opt);
    opt.batch = o->batch_set ? o->batch : default_batch;
    opt.tiny = o->tiny;
    /* Unset with tiny: 0, the builders' tiny default (4 steps). */
    opt.unroll = o->unroll_set ? o->unroll : (o->tiny ? 0 : CLI_DEFAULT_UNROLL);
    soap_error err;
    soap_error_clear(&err);
    soap_graph *g = soap_model_load(o->model, &opt, &err);
    if (!g) {
        cli_fail(&err);
        return NULL;
    }
    if (!soap_model_find(o->model) && o->batch_set && g->batch != o->batch)
        cli_message("note: --batch applies to built-in models; model file %s keeps its own "
                    "batch %lld",
                    o->model, (long long)g->batch);
    if (!soap_model_find(o->model) && o->tiny)
        cli_message("note: --scale applies to built-in models; model file %s keeps its own "
                    "sizes",
                    o->model);
    return g;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */
char cli_dim_letter(soap_dim_kind k)
{
    switch (k) {
    case SOAP_DIM_SAMPLE: return 's';
    case SOAP_DIM_ATTRIBUTE: return 'a';
    case SOAP_DIM_PARAMETER: return 'p';
    case SOAP_DIM_NONE: return 'n';
    }
    return '?';
}

char *cli_shape_str(const soap_shape *s, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int d = 0; d < s->ndims && used + 1 < len; d++) {
        int w = snprintf(buf + used, len - used, "%s%lld%c", d ? "," : "[",
                         (long long)s->size[d], cli_dim_letter(s->kind[d]));
        used += w > 0 ? (size_t)w : 0;
    }
    if (used + 1 < len)
        snprintf(buf + used, len - used, "%s", s->ndims ? "]" : "[]");
    return buf;
}

static void print_value(FILE *f, json_t *v)
{
    /* 16 significant digits: exact for integral FLOP counts below 1e16, and
     * 2e-06 rather than 1.9999999999999999e-06 for a latency. */
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(16));
    SOAP_ASSERT(s != NULL);
    fputs(s, f);
    free(s);
}

void cli_print_json(FILE *f, json_t *root)
{
    SOAP_ASSERT(json_is_object(root));
    const char *key;
    json_t *val;
    int first = 1;
    fputs("{", f);
    json_object_foreach(root, key, val) {
        fputs(first ? "\n  " : ",\n  ", f);
        first = 0;
        json_t *k = json_string(key);
        print_value(f, k);
        json_decref(k);
        fputs(": ", f);
        json_t *head = json_is_array(val) ? json_array_get(val, 0) : NULL;
        if (head && (json_is_object(head) || json_is_array(head))) {
            size_t i;
            json_t *e;
            fputs("[", f);
            json_array_foreach(val, i, e) {
                fputs(i ? ",\n    " : "\n    ", f);
                print_value(f, e);
            }
            fputs("\n  ]", f);
        } else {
            print_value(f, val);
        }
    }
    fputs("\n}\n", f);
    json_decref(root);
}

/* ------------------------------------------------------------------ */
/* Options of one command alone                                        */
/* ------------------------------------------------------------------ */
/* "--model, --machine, ..." of the table. */
static void extra_list(const cli_extra_option *opts, int nopts, char *buf, size_t len)
{
    buf[0] = '\0';
    for (int k = 0; k < nopts; k++) {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s--%s", k ? ", " : "", opts[k].name);
    }
}

int cli_split_options(const cli_command *cmd, int argc, char **argv,
                      const cli_extra_option *opts, int nopts, const char **values,
                      char **rest, int *nrest)
{
    char list[512];
    extra_list(opts, nopts, list, sizeof list);
    int n = 0;
    for (int k = 0; k < nopts; k++)
        values[k] = NULL;
    rest[n++] = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (arg[0] != '-' || strcmp(arg, "--") == 0) {
            const char *stray = arg[0] != '-' ? arg : (i + 1 < argc ? argv[i + 1] : NULL);
            if (stray)
                return cli_usage_error(cmd, "unexpected argument '%s' (options: %s)", stray,
                                       list);
            continue;
        }
        if (strcmp(arg, "-h") == 0) {
            rest[n++] = argv[i];
            continue;
        }
        if (arg[1] != '-')
            return cli_usage_error(cmd, "unknown option '%s' (options: %s)", arg, list);
        /* An exact name, or the one option the text abbreviates. */
        const char *name = arg + 2;
        size_t len = strcspn(name, "=");
        int found = -1, matches = 0;
        for (int k = 0; k < nopts; k++) {
            if (strncmp(opts[k].name, name, len) != 0)
                continue;
            if (opts[k].name[len] == '\0') {
                found = k;
                matches = 1;
                break;
            }
            found = k;
            matches++;
        }
        if (matches != 1)
            return cli_usage_error(cmd, "%s option '%.*s' (options: %s)",
                                   matches ? "ambiguous" : "unknown", (int)(len + 2), arg,
                                   list);
        const cli_extra_option *opt = &opts[found];
        const char *eq = strchr(arg, '=');
        if (opt->shared) {
            rest[n++] = argv[i];
            if (opt->takes_value && !eq && i + 1 < argc)
                rest[n++] = argv[++i]; /* the value, even if it looks like an option */
            continue;
        }
        if (!opt->takes_value) {
            if (eq)
                return cli_usage_error(cmd, "option --%s takes no value", opt->name);
            values[found] = "";
            continue;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc)
                return cli_usage_error(cmd, "option --%s needs a value", opt->name);
            value = argv[++i];
        }
        if (value[0] == '\0')
            return cli_usage_error(cmd, "option --%s needs a non-empty value", opt->name);
        values[found] = value;
    }
    rest[n] = NULL;
    *nrest = n;
    return -1;
}

int cli_parse_command(const cli_command *cmd, int argc, char **argv,
                      const cli_extra_option *opts, int nopts, const char **values,
                      unsigned allowed, cli_options *o)
{
    char **rest = soap_xcalloc((size_t)argc + 1, sizeof *rest);
    int nrest = 0;
    memset(o, 0, sizeof *o);
    int rc = cli_split_options(cmd, argc, argv, opts, nopts, values, rest, &nrest);
    if (rc < 0)
        rc = cli_parse_options(cmd, nrest, rest, allowed, o);
    free(rest); /* o points into argv, not into rest */
    return rc;
}

int cli_require_inputs(const cli_command *cmd, const cli_options *o, int strategy)
{
    int rc = cli_require(cmd, o->model, "--model",
                         "a built-in model, see 'soap models', or a model file");
    if (rc < 0)
        rc = cli_require(cmd, o->machine, "--machine",
                         "a preset, see 'soap machines', or a machine file");
    if (rc < 0 && strategy)
        rc = cli_require(cmd, o->strategy, "--strategy",
                         "a built-in strategy, see 'soap strategies', or a strategy file");
    return rc;
}

soap_sim *cli_new_sim(const soap_graph *g, const soap_machine *m, const char *costs_path,
                      const soap_sim_options *opt, soap_costs **costs)
{
    soap_error err;
    soap_error_clear(&err);
    soap_sim *sim = NULL;
    *costs = soap_costs_new(costs_path, &err);
    if (*costs && soap_costs_check_machine(*costs, m, &err) == SOAP_OK)
        sim = soap_sim_new(g, m, *costs, opt, &err);
    if (!sim) {
        cli_fail(&err);
        soap_costs_free(*costs);
        *costs = NULL;
    }
    return sim;
}
