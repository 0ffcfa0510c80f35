/* cli_common.c: what the commands of `soap` share besides their options
 * (cli_options.c): messages on stderr ("soap: ..."), names escaped for
 * printing, loading the model, machine and simulator an invocation names,
 * and small output helpers (times, shapes with dim kinds, JSON with one
 * element per line).
 */
#include <math.h>
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

/* Escaped names: 4 bytes per character at worst, and names are short. */
#define NAME_BUFS 8
#define NAME_BUF_LEN 512

const char *cli_name(const char *name)
{
    static char bufs[NAME_BUFS][NAME_BUF_LEN];
    static int next;
    char *buf = bufs[next];
    next = (next + 1) % NAME_BUFS;
    return soap_name_escape(name ? name : "", buf, NAME_BUF_LEN);
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
                    cli_name(o->model), (long long)g->batch);
    if (!soap_model_find(o->model) && o->tiny)
        cli_message("note: --scale applies to built-in models; model file %s keeps its own "
                    "sizes",
                    cli_name(o->model));
    return g;
}

int cli_load_strategies(const char *option, const char *list, const soap_graph *g,
                        const soap_machine *m, unsigned long seed, soap_strategy_list *out)
{
    soap_error err;
    soap_error_clear(&err);
    if (soap_strategy_list_expand(list, g, m, seed, out, &err) == SOAP_OK)
        return 0;
    cli_message("%s: %s", option, err.msg[0] ? err.msg : soap_status_name(err.code));
    return CLI_EXIT_INPUT;
}

/* The one strategy of --strategy (a list of one entry). NULL after a
 * message. */
static soap_strategy *load_strategy(const cli_options *o, const soap_graph *g,
                                    const soap_machine *m)
{
    soap_strategy_list l;
    if (cli_load_strategies("--strategy", o->strategy, g, m, o->seed, &l) != 0)
        return NULL;
    soap_strategy *s = NULL;
    if (l.n == 1) {
        s = l.s[0];
        l.s[0] = NULL; /* taken from the list */
    } else {
        cli_message("--strategy '%s': expected one strategy, the list gives %d",
                    cli_name(o->strategy), l.n);
    }
    soap_strategy_list_free(&l);
    return s;
}

/* The costs of --costs (NULL: analytic only), refused when the table holds
 * no device type of in->m, and the simulator with them. */
static soap_sim *new_sim(const cli_options *o, cli_inputs *in)
{
    soap_error err;
    soap_error_clear(&err);
    in->costs = soap_costs_new(o->costs, &err);
    if (in->costs && soap_costs_check_machine(in->costs, in->m, &err) == SOAP_OK)
        in->sim = soap_sim_new(in->g, in->m, in->costs, &o->sim, &err);
    if (!in->sim)
        cli_fail(&err);
    return in->sim;
}

int cli_inputs_load(const cli_options *o, unsigned what, cli_inputs *in)
{
    memset(in, 0, sizeof *in);
    if (what & (CLI_LOAD_STRATEGY | CLI_LOAD_SIM))
        what |= CLI_LOAD_INPUTS;
    if ((what & CLI_LOAD_MACHINE) && !(in->m = cli_load_machine(o)))
        return CLI_EXIT_INPUT;
    int64_t batch = (int64_t)CLI_BATCH_PER_DEVICE * (in->m ? in->m->ndevices : 1);
    if ((what & CLI_LOAD_MODEL) && !(in->g = cli_load_model(o, batch)))
        return CLI_EXIT_INPUT;
    if ((what & CLI_LOAD_STRATEGY) && !(in->s = load_strategy(o, in->g, in->m)))
        return CLI_EXIT_INPUT;
    if ((what & CLI_LOAD_SIM) && !new_sim(o, in))
        return CLI_EXIT_INPUT;
    return 0;
}

void cli_inputs_free(cli_inputs *in)
{
    soap_sim_free(in->sim);
    soap_costs_free(in->costs);
    soap_strategy_free(in->s);
    soap_graph_free(in->g);
    soap_machine_free(in->m);
    memset(in, 0, sizeof *in);
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

char *cli_fmt_time(double s, char *buf, size_t len)
{
    double a = fabs(s);
    if (!isfinite(s))
        snprintf(buf, len, "-");
    else if (a >= 1.0 || a == 0.0)
        snprintf(buf, len, "%.4g s", s);
    else if (a >= 1e-3)
        snprintf(buf, len, "%.4g ms", s * 1e3);
    else
        snprintf(buf, len, "%.4g us", s * 1e6);
    return buf;
}

void cli_json_set(json_t *obj, const char *key, json_t *val)
{
    SOAP_ASSERT(val != NULL);
    SOAP_ASSERT(json_object_set_new(obj, key, val) == 0);
}

json_t *cli_json_num(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static void print_value(FILE *f, json_t *v)
{
    /* The fewest significant digits, from 15 to 17, with which every number
     * of v reads back exactly: 2e-06 rather than 1.9999999999999999e-06 for
     * a latency, and what is printed (a machine, a time) is the value. */
    char *s = NULL;
    for (int digits = 15; digits <= 17; digits++) {
        free(s);
        s = json_dumps(v, JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(digits));
        SOAP_ASSERT(s != NULL);
        json_t *back = json_loads(s, JSON_DECODE_ANY, NULL);
        int exact = back && json_equal(back, v);
        json_decref(back);
        if (exact)
            break;
    }
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

