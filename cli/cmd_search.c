/* cmd_search.c: `soap search`: searches a strategy for a model on a machine
 * with one of the registered algorithms (soap_search.h) and reports the best
 * iteration time, the speedup over data parallelism and over the expert
 * strategy, proposals per second, the acceptance rate and where the best
 * came from; writes the best strategy (--out) and the convergence log
 * (--log, CSV). A one-line progress display goes to stderr when it is a
 * terminal. Ctrl-C stops the search, and the best so far is still reported
 * and written (exit status 130). Also `soap algos`, the list of algorithms.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "soap_search.h"

#define CLI_EXIT_INTERRUPTED 130
#define DEFAULT_INIT "data,expert,random:2"
#define DEFAULT_BUDGET "10s"
#define MAX_INITS 64

enum {
    O_MODEL, O_MACHINE, O_DEVICES, O_BATCH, O_UNROLL, O_SCALE, O_SEED, O_OUT, O_JSON,
    O_ALGO, O_BUDGET, O_BETA, O_INIT, O_THREADS, O_LOG, O_DIMS, O_FULL_SIM,
    O_ALLOW_OVER, O_NO_STOP_RULE, O_COSTS, O_SYNC, O_NO_OVERLAP, O_QUIET, O_HELP,
    O_COUNT
};

static const cli_extra_option search_options[O_COUNT] = {
    [O_MODEL] = {"model", 1, 1},        [O_MACHINE] = {"machine", 1, 1},
    [O_DEVICES] = {"devices", 1, 1},    [O_BATCH] = {"batch", 1, 1},
    [O_UNROLL] = {"unroll", 1, 1},      [O_SCALE] = {"scale", 1, 1},
    [O_SEED] = {"seed", 1, 1},
    [O_OUT] = {"out", 1, 1},            [O_JSON] = {"json", 0, 1},
    [O_ALGO] = {"algo", 1, 0},          [O_BUDGET] = {"budget", 1, 0},
    [O_BETA] = {"beta", 1, 0},          [O_INIT] = {"init", 1, 0},
    [O_THREADS] = {"threads", 1, 0},    [O_LOG] = {"log", 1, 0},
    [O_DIMS] = {"dims", 1, 0},          [O_FULL_SIM] = {"full-sim", 0, 0},
    [O_ALLOW_OVER] = {"allow-over-capacity", 0, 0},
    [O_NO_STOP_RULE] = {"no-stop-rule", 0, 0},
    [O_COSTS] = {"costs", 1, 0},        [O_SYNC] = {"sync", 1, 0},
    [O_NO_OVERLAP] = {"no-overlap", 0, 0},
    [O_QUIET] = {"quiet", 0, 0},        [O_HELP] = {"help", 0, 1},
};

/* ------------------------------------------------------------------ */
/* Values                                                              */
/* ------------------------------------------------------------------ */
/* "30s", "5000", "30s,5000": seconds and/or proposals, each > 0. */
static int parse_budget(const cli_command *cmd, const char *text, double *seconds,
                        long *proposals)
{
    static const char expected[] =
        "expected a positive number of seconds (30s) and/or of proposals (5000), e.g. "
        "30s, 5000 or 30s,5000";
    *seconds = 0.0;
    *proposals = 0;
    char buf[128];
    if (strlen(text) >= sizeof buf)
        return cli_usage_error(cmd, "--budget '%s': %s", text, expected);
    strcpy(buf, text);
    int parts = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save), parts++) {
        size_t len = strlen(tok);
        char *end = NULL;
        errno = 0;
        if (len > 1 && tok[len - 1] == 's') {
            tok[len - 1] = '\0';
            double v = strtod(tok, &end);
            if (errno || end == tok || *end || !(v > 0) || !isfinite(v) || *seconds > 0)
                return cli_usage_error(cmd, "--budget '%s': %s", text, expected);
            *seconds = v;
        } else {
            int digits = len > 0;
            for (size_t i = 0; i < len; i++)
                digits &= tok[i] >= '0' && tok[i] <= '9';
            long long v = digits ? strtoll(tok, &end, 10) : 0;
            if (!digits || errno || v <= 0 || *proposals > 0)
                return cli_usage_error(cmd, "--budget '%s': %s", text, expected);
            *proposals = (long)v;
        }
    }
    if (parts == 0 || parts > 2 || text[strlen(text) - 1] == ',' || text[0] == ',')
        return cli_usage_error(cmd, "--budget '%s': %s", text, expected);
    return -1;
}

static int parse_positive_int(const cli_command *cmd, const char *opt, const char *text,
                              int hi, int *out)
{
    int digits = text[0] != '\0';
    for (const char *p = text; *p; p++)
        digits &= *p >= '0' && *p <= '9';
    long v = digits ? strtol(text, NULL, 10) : 0;
    if (!digits || v < 1 || v > hi)
        return cli_usage_error(cmd, "--%s '%s': expected an integer from 1 to %d", opt, text,
                               hi);
    *out = (int)v;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Ctrl-C and progress                                                 */
/* ------------------------------------------------------------------ */
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static char *fmt_time(double s, char *buf, size_t len)
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

typedef struct progress_ctx {
    const char *algo;
    double data_s;
    int shown;
} progress_ctx;

static void show_progress(void *ctx, const soap_search_progress *p)
{
    progress_ctx *pc = ctx;
    char t[32];
    fprintf(stderr, "\r%s: %.1f s, %ld proposals (%.0f/s), chains %d/%d done, best %s "
            "(%.2fx over data)   ",
            pc->algo, p->elapsed_s, p->proposals,
            p->elapsed_s > 0 ? (double)p->proposals / p->elapsed_s : 0.0, p->chains_done,
            p->chains, fmt_time(p->best_s, t, sizeof t),
            isfinite(p->best_s) && p->best_s > 0 ? pc->data_s / p->best_s : 0.0);
    fflush(stderr);
    pc->shown = 1;
}

/* ------------------------------------------------------------------ */
/* Initial strategies                                                  */
/* ------------------------------------------------------------------ */
typedef struct inits {
    int n;
    soap_strategy *s[MAX_INITS];
    char *name[MAX_INITS];
} inits;

static void inits_free(inits *in)
{
    for (int i = 0; i < in->n; i++) {
        soap_strategy_free(in->s[i]);
        free(in->name[i]);
    }
    in->n = 0;
}

/* The seed of the j-th random initial strategy (j from 1). */
static unsigned long random_seed(unsigned long seed, int j)
{
    return seed * 1000003UL + (unsigned long)j;
}

/* "data,expert,random:2,file.json". Returns -1 or an exit code. */
static int load_inits(const cli_command *cmd, const char *list, const soap_graph *g,
                      const soap_machine *m, unsigned long seed, inits *in)
{
    char *buf = soap_xstrdup(list);
    int rc = -1, nrandom = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && rc < 0;
         tok = strtok_r(NULL, ",", &save)) {
        int count = 1, is_random = 0;
        if (strncmp(tok, "random:", 7) == 0) {
            if (parse_positive_int(cmd, "init", tok + 7, MAX_INITS, &count) >= 0) {
                rc = CLI_EXIT_USAGE;
                break;
            }
            is_random = 1;
        } else if (strcmp(tok, "random") == 0) {
            is_random = 1;
        }
        for (int j = 0; j < count; j++) {
            if (in->n >= MAX_INITS) {
                rc = cli_usage_error(cmd, "--init: at most %d initial strategies", MAX_INITS);
                break;
            }
            soap_strategy_options sopt;
            memset(&sopt, 0, sizeof sopt);
            sopt.seed = is_random ? random_seed(seed, ++nrandom) : seed;
            soap_error err;
            soap_error_clear(&err);
            soap_strategy *s = soap_strategy_load(is_random ? "random" : tok, g, m, &sopt, &err);
            if (!s || soap_strategy_check(s, g, m, &err) != SOAP_OK) {
                if (s)
                    soap_strategy_free(s);
                rc = cli_fail(&err);
                break;
            }
            char name[256];
            if (is_random)
                snprintf(name, sizeof name, "random#%d", nrandom);
            else
                snprintf(name, sizeof name, "%s", tok);
            in->s[in->n] = s;
            in->name[in->n++] = soap_xstrdup(name);
        }
    }
    if (rc < 0 && in->n == 0)
        rc = cli_usage_error(cmd, "--init '%s': expected a comma-separated list of "
                             "strategies (data, expert, random:K, files)", list);
    free(buf);
    return rc;
}

/* Time of a built-in strategy (data, expert); negative after a message. */
static double builtin_time(soap_sim *sim, const char *name, const soap_graph *g,
                           const soap_machine *m)
{
    soap_error err;
    soap_error_clear(&err);
    soap_strategy_options sopt;
    memset(&sopt, 0, sizeof sopt);
    soap_strategy *s = soap_strategy_load(name, g, m, &sopt, &err);
    double t = s ? soap_sim_full(sim, s, &err) : -1.0;
    if (t < 0.0)
        cli_fail(&err);
    soap_strategy_free(s);
    return t;
}

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */
static void set(json_t *obj, const char *key, json_t *val)
{
    SOAP_ASSERT(val != NULL);
    SOAP_ASSERT(json_object_set_new(obj, key, val) == 0);
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

typedef struct report {
    const char *algo;
    const soap_graph *g;
    const soap_machine *m;
    const soap_search_options *so;
    const soap_search_result *r;
    const inits *in;
    const char *dims;
    const char *out, *log;
    double data_s, expert_s;
    int beta_auto;
} report;

static double rate(long n, double s)
{
    return s > 0 ? (double)n / s : 0.0;
}

static void print_text(const report *rp)
{
    const soap_search_result *r = rp->r;
    const soap_search_options *so = rp->so;
    char t1[32], t2[32];
    printf("search: %s on model %s (batch %lld, %d operators), machine %s (%d devices)\n",
           rp->algo, rp->g->name, (long long)rp->g->batch, rp->g->nops, rp->m->name,
           rp->m->ndevices);
    printf("space %s, budget", rp->dims);
    if (so->seconds > 0)
        printf(" %g s", so->seconds);
    if (so->proposals > 0)
        printf("%s %ld proposals", so->seconds > 0 ? " and" : "", so->proposals);
    printf(", seed %lu, %d chain%s on %d thread%s, %s simulation", so->seed, r->chains,
           r->chains == 1 ? "" : "s", r->threads, r->threads == 1 ? "" : "s",
           so->full_sim ? "full" : "delta");
    if (r->beta > 0)
        printf(", beta %.4g /s%s", r->beta, rp->beta_auto ? " (auto)" : "");
    printf("\n\n");
    if (r->interrupted)
        printf("interrupted: the best strategy so far\n");
    printf("best iteration time: %s (throughput %.6g samples/s)\n",
           fmt_time(r->best_s, t1, sizeof t1), (double)rp->g->batch / r->best_s);
    printf("data parallelism:    %s, speedup %.3fx\n", fmt_time(rp->data_s, t1, sizeof t1),
           rp->data_s / r->best_s);
    printf("expert strategy:     %s, speedup %.3fx\n", fmt_time(rp->expert_s, t2, sizeof t2),
           rp->expert_s / r->best_s);
    printf("initial strategies: ");
    for (int i = 0; i < rp->in->n; i++)
        printf(" %s %s%s", rp->in->name[i], fmt_time(r->init_s[i], t1, sizeof t1),
               r->init_fits[i] ? "" : " (over capacity)");
    printf("\n");
    printf("proposals:           %ld in %.3g s (%.0f/s), %.1f%% accepted\n", r->proposals,
           r->elapsed_s, rate(r->proposals, r->elapsed_s),
           r->proposals ? 100.0 * (double)r->accepted / (double)r->proposals : 0.0);
    printf("found by:            %s\n", r->origin);
    if (r->exhausted && (!strcmp(rp->algo, "exhaustive") || !strcmp(rp->algo, "greedy")))
        printf("                     %s\n", !strcmp(rp->algo, "greedy")
                                                ? "every chain ended at a local optimum"
                                                : "the whole space was covered: the optimum");
    printf("memory:              %s", r->best_fits ? "fits every device"
                                                   : "OVER CAPACITY on some device");
    if (r->over_capacity)
        printf(" (%ld improvements refused for memory)", r->over_capacity);
    printf("\n");
    if (rp->out)
        printf("best strategy:       written to %s\n", rp->out);
    if (rp->log)
        printf("convergence log:     written to %s\n", rp->log);
}

static void print_json(const report *rp)
{
    const soap_search_result *r = rp->r;
    const soap_search_options *so = rp->so;
    json_t *o = json_object();
    set(o, "algo", json_string(rp->algo));
    set(o, "seed", json_integer((json_int_t)so->seed));
    set(o, "model", json_string(rp->g->name));
    set(o, "machine", json_string(rp->m->name));
    set(o, "devices", json_integer(rp->m->ndevices));
    set(o, "batch", json_integer(rp->g->batch));
    set(o, "dims", json_string(rp->dims));
    set(o, "budget_s", so->seconds > 0 ? json_real(so->seconds) : json_null());
    set(o, "budget_proposals", so->proposals > 0 ? json_integer(so->proposals) : json_null());
    set(o, "beta_per_s", r->beta > 0 ? json_real(r->beta) : json_null());
    set(o, "full_sim", json_boolean(so->full_sim));
    set(o, "chains", json_integer(r->chains));
    set(o, "threads", json_integer(r->threads));
    set(o, "best_time_s", jnum(r->best_s));
    set(o, "data_time_s", jnum(rp->data_s));
    set(o, "expert_time_s", jnum(rp->expert_s));
    set(o, "speedup_over_data", jnum(rp->data_s / r->best_s));
    set(o, "speedup_over_expert", jnum(rp->expert_s / r->best_s));
    json_t *init = json_object();
    for (int i = 0; i < rp->in->n; i++)
        set(init, rp->in->name[i], jnum(r->init_s[i]));
    set(o, "init_times_s", init);
    set(o, "proposals", json_integer(r->proposals));
    set(o, "accepted", json_integer(r->accepted));
    set(o, "acceptance_rate",
        jnum(r->proposals ? (double)r->accepted / (double)r->proposals : 0.0));
    set(o, "elapsed_s", jnum(r->elapsed_s));
    set(o, "proposals_per_s", jnum(rate(r->proposals, r->elapsed_s)));
    set(o, "origin", json_string(r->origin));
    set(o, "found_by_search", json_boolean(r->found_by_search));
    set(o, "best_init", r->best_init >= 0 ? json_string(rp->in->name[r->best_init])
                                          : json_null());
    set(o, "fits_memory", json_boolean(r->best_fits));
    set(o, "refused_for_memory", json_integer(r->over_capacity));
    set(o, "interrupted", json_boolean(r->interrupted));
    set(o, "exhausted", json_boolean(r->exhausted));
    set(o, "out", rp->out ? json_string(rp->out) : json_null());
    set(o, "log", rp->log ? json_string(rp->log) : json_null());
    cli_print_json(stdout, o);
}

/* ------------------------------------------------------------------ */
/* The command                                                         */
/* ------------------------------------------------------------------ */
static int run_search(int argc, char **argv)
{
    const cli_command *cmd = &cli_cmd_search;
    const char *v[O_COUNT];
    cli_options o;
    int rc = cli_parse_command(cmd, argc, argv, search_options, O_COUNT, v,
                               CLI_OPT_MODEL | CLI_OPT_MACHINE | CLI_OPT_DEVICES |
                                   CLI_OPT_BATCH | CLI_OPT_UNROLL | CLI_OPT_SCALE |
                                   CLI_OPT_SEED | CLI_OPT_OUT | CLI_OPT_JSON, &o);
    if (rc >= 0)
        return rc;
    rc = cli_require_inputs(cmd, &o, 0);
    if (rc >= 0)
        return rc;

    soap_search_options so = soap_search_options_default();
    so.seed = o.seed;
    rc = parse_budget(cmd, v[O_BUDGET] ? v[O_BUDGET] : DEFAULT_BUDGET, &so.seconds,
                      &so.proposals);
    if (rc >= 0)
        return rc;
    int beta_auto = 1;
    if (v[O_BETA] && strcmp(v[O_BETA], "auto") != 0) {
        char *end = NULL;
        errno = 0;
        so.beta = strtod(v[O_BETA], &end);
        if (errno || end == v[O_BETA] || *end || !(so.beta > 0) || !isfinite(so.beta))
            return cli_usage_error(cmd, "--beta '%s': expected a positive number (per "
                                        "second of simulated time) or auto",
                                   v[O_BETA]);
        beta_auto = 0;
    }
    so.threads = 1;
    if (v[O_THREADS] && (rc = parse_positive_int(cmd, "threads", v[O_THREADS], 256,
                                                 &so.threads)) >= 0)
        return rc;
    soap_error err;
    soap_error_clear(&err);
    const char *dims = v[O_DIMS] ? v[O_DIMS] : "SOAP";
    if (soap_search_space_parse(dims, &so.space, &err) != SOAP_OK)
        return cli_usage_error(cmd, "--dims: %s", err.msg);
    char dims_norm[8];
    soap_search_space_str(&so.space, dims_norm, sizeof dims_norm);
    so.full_sim = v[O_FULL_SIM] != NULL;
    so.allow_over_capacity = v[O_ALLOW_OVER] != NULL;
    so.no_stop_rule = v[O_NO_STOP_RULE] != NULL;
    const char *algo = v[O_ALGO] ? v[O_ALGO] : "mcmc";
    const soap_search_ops *ops = soap_search_lookup(algo, &err);
    if (!ops)
        return cli_fail(&err);
    soap_sim_options simopt;
    if ((rc = cli_sim_options(v[O_SYNC], v[O_NO_OVERLAP] != NULL, &simopt)) >= 0)
        return rc;

    soap_machine *m = NULL;
    soap_graph *g = NULL;
    soap_costs *costs = NULL;
    soap_sim *sim = NULL;
    inits in;
    memset(&in, 0, sizeof in);
    soap_search_result r;
    memset(&r, 0, sizeof r);
    rc = CLI_EXIT_INPUT;
    m = cli_load_machine(&o);
    if (!m)
        goto done;
    g = cli_load_model(&o, (int64_t)CLI_BATCH_PER_DEVICE * m->ndevices);
    if (!g)
        goto done;
    sim = cli_new_sim(g, m, v[O_COSTS], &simopt, &costs);
    if (!sim)
        goto done;
    int irc = load_inits(cmd, v[O_INIT] ? v[O_INIT] : DEFAULT_INIT, g, m, o.seed, &in);
    if (irc >= 0) {
        rc = irc;
        goto done;
    }
    double data_s = builtin_time(sim, "data", g, m);
    double expert_s = data_s >= 0 ? builtin_time(sim, "expert", g, m) : -1.0;
    if (data_s < 0 || expert_s < 0)
        goto done;

    soap_search_problem p = {.g = g,
                             .m = m,
                             .sim = sim,
                             .inits = (const soap_strategy *const *)in.s,
                             .init_names = (const char *const *)in.name,
                             .ninits = in.n};
    progress_ctx pc = {.algo = algo, .data_s = data_s, .shown = 0};
    if (!v[O_QUIET] && isatty(STDERR_FILENO)) {
        so.progress = show_progress;
        so.progress_ctx = &pc;
    }
    interrupted = 0;
    so.stop = &interrupted;
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    soap_status st = soap_search_run(ops, &p, &so, &r, &err);
    sigaction(SIGINT, &old, NULL);
    if (pc.shown)
        fprintf(stderr, "\r%*s\r", 110, "");
    if (st != SOAP_OK) {
        cli_fail(&err);
        goto done;
    }
    if (o.out && soap_strategy_write_json(r.best, g, o.out, &err) != SOAP_OK) {
        cli_fail(&err);
        goto done;
    }
    if (v[O_LOG]) {
        char seed[32], date[64], devices[16], budget[64];
        snprintf(seed, sizeof seed, "%lu", so.seed);
        snprintf(devices, sizeof devices, "%d", m->ndevices);
        snprintf(budget, sizeof budget, "%s", v[O_BUDGET] ? v[O_BUDGET] : DEFAULT_BUDGET);
        time_t now = time(NULL);
        struct tm tmv;
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tmv));
        const char *commit = getenv("SOAP_COMMIT");
        const char *prov[] = {"commit", commit && commit[0] ? commit : "unknown",
                              "algo", algo, "seed", seed, "model", g->name,
                              "machine", m->name, "devices", devices, "dims", dims_norm,
                              "budget", budget, "date", date, NULL, NULL};
        if (soap_search_write_log(&r, prov, v[O_LOG], &err) != SOAP_OK) {
            cli_fail(&err);
            goto done;
        }
    }
    report rp = {.algo = algo, .g = g, .m = m, .so = &so, .r = &r, .in = &in,
                 .dims = dims_norm, .out = o.out, .log = v[O_LOG], .data_s = data_s,
                 .expert_s = expert_s, .beta_auto = beta_auto};
    if (o.json)
        print_json(&rp);
    else
        print_text(&rp);
    if (!r.best_fits)
        cli_message("warning: the best strategy exceeds a device's memory capacity");
    rc = r.interrupted ? CLI_EXIT_INTERRUPTED : CLI_EXIT_OK;

done:
    soap_search_result_free(&r);
    inits_free(&in);
    soap_sim_free(sim);
    soap_costs_free(costs);
    soap_graph_free(g);
    soap_machine_free(m);
    return rc;
}

const cli_command cli_cmd_search = {
    .name = "search",
    .summary = "search a strategy (mcmc, random, greedy, anneal, optcnn, exhaustive)",
    .usage =
        "usage: soap search --model M --machine X [--devices n] [--batch B] [--unroll T]\n"
        "                   [--scale full|tiny]\n"
        "                   [--algo NAME] [--budget 30s|N|30s,N] [--seed S] [--beta B]\n"
        "                   [--init LIST] [--threads T] [--dims SOAP] [--full-sim]\n"
        "                   [--allow-over-capacity] [--no-stop-rule] [--costs FILE]\n"
        "                   [--sync ps|allreduce] [--no-overlap] [--out FILE]\n"
        "                   [--log FILE.csv] [--quiet] [--json]\n"
        "  Searches a parallelization strategy of model M on machine X with algorithm\n"
        "  NAME (see 'soap algos') and prints the best simulated iteration time, its\n"
        "  speedup over data parallelism and over the expert strategy, proposals per\n"
        "  second, the acceptance rate and where the best came from. Ctrl-C stops the\n"
        "  search; the best strategy so far is still reported and written (status 130).\n"
        "  --algo NAME      mcmc (default), random, greedy, anneal, optcnn, exhaustive\n"
        "  --budget B       30s (seconds), 5000 (proposals) or both (30s,5000); split\n"
        "                   over the chains (default 10s)\n"
        "  --seed S         seed of the search and of random initial strategies\n"
        "  --beta B         mcmc: exp(-B * cost) target, B per second of simulated\n"
        "                   time; auto (default) = 100 / the best initial time\n"
        "  --init LIST      initial strategies, one chain each: built-in names, files,\n"
        "                   random:K (default data,expert,random:2)\n"
        "  --threads T      run chains in T threads (same result as one thread for a\n"
        "                   proposal budget)\n"
        "  --dims L         the space: letters of S (sample), O (operator placement),\n"
        "                   A (attribute), P (parameter); SAP: no placement freedom,\n"
        "                   S: sample only (default SOAP)\n"
        "  --full-sim       simulate every proposal in full (for comparison; the chain\n"
        "                   is the same as with delta simulation)\n"
        "  --allow-over-capacity  also return strategies over a device's memory\n"
        "  --no-stop-rule   chains run to their budget (no 'best not improved for half\n"
        "                   the time so far' stop)\n"
        "  --costs FILE, --sync MODE, --no-overlap   as for 'soap simulate'\n"
        "  --out FILE       write the best strategy (JSON)\n"
        "  --log FILE       write the convergence log (CSV; plots/convergence.gp)\n"
        "  --quiet          no progress display on stderr\n"
        "  --json           print one JSON object instead of the report\n",
    .run = run_search,
};

/* `soap algos` */
static int run_algos(int argc, char **argv)
{
    cli_options o;
    int rc = cli_parse_options(&cli_cmd_algos, argc, argv, 0, &o);
    if (rc >= 0)
        return rc;
    const soap_search_ops *const *reg = soap_search_registry();
    for (int i = 0; reg[i]; i++)
        printf("%-11s %s\n", reg[i]->name, reg[i]->description);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_algos = {
    .name = "algos",
    .summary = "list the search algorithms",
    .usage = "usage: soap algos\n"
             "  Lists the search algorithms of 'soap search --algo'.\n",
    .run = run_algos,
};
