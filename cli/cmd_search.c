/* cmd_search.c: `soap search`: searches a strategy for a model on a machine
 * with one of the registered algorithms (soap_search.h) and reports the best
 * iteration time, the speedup over data parallelism and over the expert
 * strategy, proposals per second, the acceptance rate, the best over its
 * largest lower bound, how the algorithm simulated and where the best
 * came from; writes the best strategy (--out) and the convergence log
 * (--log, CSV). A one-line progress display goes to stderr when it is a
 * terminal. Ctrl-C (SIGINT) or SIGTERM stops the search, and the best so
 * far is still reported and written (exit status 130 / 143); a signal
 * before the search starts (while loading) ends the command with the same
 * status and nothing written. Also `soap algos`, the list of algorithms.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "soap_search.h"

#define DEFAULT_INIT "data,expert,random:2"
/* Budget limits: 30 days of seconds, 1e12 proposals (beyond any run, and
 * far inside a double's and a long's exact range). */
#define MAX_BUDGET_S (30.0 * 86400.0)
#define MAX_BUDGET_PROPOSALS 1000000000000LL

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */
typedef struct budget {
    double seconds; /* 0: none */
    long proposals; /* 0: none */
    const char *text; /* as given, for the log */
} budget;

typedef struct search_opts {
    const char *algo, *init, *log;
    budget budget;
    double beta; /* per second of simulated time; 0: auto */
    double lr;   /* reinforce; 0: the library's default */
    int samples; /* reinforce; 0: the library's default */
    int threads;
    int full_sim, no_stop_rule, quiet;
    int no_precheck;
} search_opts;

static const search_opts search_defaults = {
    .algo = "mcmc", .init = DEFAULT_INIT, .budget = {10.0, 0, "10s"}, .threads = 1};

/* "30s", "5000", "30s,5000": seconds and/or proposals, each > 0. */
static int parse_budget(const cli_command *cmd, const cli_opt *opt, const char *text,
                        void *dst)
{
    (void)opt;
    budget *b = dst;
    char expected[256];
    snprintf(expected, sizeof expected,
             "expected a positive number of seconds (30s; at most %.0fs = 30 days) and/or "
             "of proposals (5000; at most %lld), e.g. 30s, 5000 or 30s,5000",
             MAX_BUDGET_S, MAX_BUDGET_PROPOSALS);
    b->seconds = 0.0;
    b->proposals = 0;
    b->text = text;
    char buf[128];
    size_t n = strlen(text);
    if (n >= sizeof buf || text[0] == ',' || text[n - 1] == ',')
        return cli_usage_error(cmd, "--budget '%s': %s", cli_name(text), expected);
    strcpy(buf, text);
    int parts = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save), parts++) {
        size_t len = strlen(tok);
        char *end = NULL;
        errno = 0;
        int ok;
        if (len > 1 && tok[len - 1] == 's') {
            tok[len - 1] = '\0';
            double v = strtod(tok, &end);
            ok = !errno && end != tok && !*end && v > 0 && v <= MAX_BUDGET_S && !b->seconds;
            b->seconds = ok ? v : 0.0;
        } else {
            int digits = len > 0;
            for (size_t i = 0; i < len; i++)
                digits &= tok[i] >= '0' && tok[i] <= '9';
            long long v = digits ? strtoll(tok, &end, 10) : 0;
            ok = digits && !errno && v > 0 && v <= MAX_BUDGET_PROPOSALS && !b->proposals;
            b->proposals = ok ? (long)v : 0;
        }
        if (!ok || parts >= 2)
            return cli_usage_error(cmd, "--budget '%s': %s", cli_name(text), expected);
    }
    return parts ? 0 : cli_usage_error(cmd, "--budget '%s': %s", cli_name(text), expected);
}

/* "auto" or a positive number. */
static int parse_beta(const cli_command *cmd, const cli_opt *opt, const char *text, void *dst)
{
    (void)opt;
    char *end = NULL;
    errno = 0;
    double v = strcmp(text, "auto") == 0 ? 0.0 : strtod(text, &end);
    if (end && (errno || end == text || *end || !(v > 0) || !isfinite(v)))
        return cli_usage_error(cmd, "--beta '%s': expected a positive number (per second of "
                               "simulated time) or auto", cli_name(text));
    *(double *)dst = v;
    return 0;
}

#define OWN(member) .field = offsetof(search_opts, member)
static const cli_opt algo_opt = {
    .name = "algo", .kind = CLI_STRING, OWN(algo), .value = "NAME",
    .help = "mcmc (default), random, greedy, anneal, optcnn, exhaustive, reinforce (see "
            "'soap algos')"};
static const cli_opt budget_opt = {
    .name = "budget", .kind = CLI_CUSTOM, OWN(budget), .parse = parse_budget,
    .value = "30s|N|30s,N",
    .help = "30s (seconds, at most 30 days), 5000 (proposals, at most 1e12) or both "
            "(30s,5000); split over the chains (default 10s)"};
static const cli_opt beta_opt = {
    .name = "beta", .kind = CLI_CUSTOM, OWN(beta), .parse = parse_beta, .value = "B",
    .help = "mcmc: exp(-B * cost) target, B per second of simulated time; auto (default) = "
            "10 x operators / the best initial time (a proposal worse by a tenth of one "
            "operator's average share kept with e^-1)"};
static const cli_opt lr_opt = {
    .name = "lr", .kind = CLI_DOUBLE, OWN(lr), .dlo = 0.0, .dhi = 1000.0, .value = "R",
    .help = "reinforce: learning rate of the policy's logits, > 0 and at most 1000 "
            "(default 10)"};
static const cli_opt samples_opt = {
    .name = "samples", .kind = CLI_INT, OWN(samples), .lo = 1, .hi = 1024, .value = "K",
    .help = "reinforce: placements sampled per policy update, 1 to 1024 (default 8)"};
static const cli_opt init_opt = {
    .name = "init", .kind = CLI_STRING, OWN(init), .value = "LIST",
    .help = "initial strategies, one chain each: built-in names, files, random:K (default "
            DEFAULT_INIT ")"};
static const cli_opt threads_opt = {
    .name = "threads", .kind = CLI_INT, OWN(threads), .lo = 1, .hi = 256, .value = "T",
    .help = "run chains in T threads (same result as one thread for a proposal budget)"};
static const cli_opt full_sim_opt = {
    .name = "full-sim", .kind = CLI_FLAG, OWN(full_sim),
    .help = "simulate every proposal in full (for comparison; the chain is the same as "
            "with delta simulation)"};
static const cli_opt no_stop_rule_opt = {
    .name = "no-stop-rule", .kind = CLI_FLAG, OWN(no_stop_rule),
    .help = "chains run to their budget (no 'best not improved for half the time so far' "
            "stop)"};
static const cli_opt no_precheck_opt = {
    .name = "no-precheck", .kind = CLI_FLAG, OWN(no_precheck),
    .help = "mcmc, anneal: no rejection from a lower bound before simulating (for "
            "comparison; the chain is the same)"};
static const cli_opt log_opt = {
    .name = "log", .kind = CLI_STRING, OWN(log), .value = "FILE",
    .help = "write the convergence log (CSV; plots/convergence.gp)"};
static const cli_opt quiet_opt = {
    .name = "quiet", .kind = CLI_FLAG, OWN(quiet), .help = "no progress display on stderr"};
#undef OWN

static const cli_opt *const search_opts_table[] = {
    &cli_opt_model, &cli_opt_machine, &cli_opt_devices, &cli_opt_batch, &cli_opt_unroll,
    &cli_opt_scale, &algo_opt, &budget_opt, &cli_opt_seed, &beta_opt, &lr_opt,
    &samples_opt, &init_opt,
    &threads_opt, &cli_opt_dims, &cli_opt_moves, &full_sim_opt, &cli_opt_allow_over, &no_stop_rule_opt,
    &no_precheck_opt,
    &cli_opt_costs, &cli_opt_sync, &cli_opt_no_overlap, &cli_opt_out, &log_opt, &quiet_opt,
    &cli_opt_json, NULL,
};

/* ------------------------------------------------------------------ */
/* Signals and progress                                                */
/* ------------------------------------------------------------------ */
/* The signal that asked to stop (SIGINT, SIGTERM), 0 while none did: the
 * search's stop flag. */
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    stop_signal = sig;
}

/* SIGINT and SIGTERM set stop_signal from now on (unblocked, even if the
 * caller blocked them, so that a stop asked before the handler was in
 * place is seen); old[] gets the previous actions. */
static void catch_signals(struct sigaction old[2])
{
    static const int sigs[2] = {SIGINT, SIGTERM};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigset_t set;
    sigemptyset(&set);
    stop_signal = 0;
    for (int i = 0; i < 2; i++) {
        sigaction(sigs[i], &sa, &old[i]);
        sigaddset(&set, sigs[i]);
    }
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

static void restore_signals(const struct sigaction old[2])
{
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
}

/* The exit status of a command stopped by stop_signal. */
static int signal_status(void)
{
    return stop_signal == SIGTERM ? CLI_EXIT_SIGTERM : CLI_EXIT_SIGINT;
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
            p->chains, cli_fmt_time(p->best_s, t, sizeof t),
            isfinite(p->best_s) && p->best_s > 0 ? pc->data_s / p->best_s : 0.0);
    fflush(stderr);
    pc->shown = 1;
}

/* ------------------------------------------------------------------ */
/* Initial strategies                                                  */
/* ------------------------------------------------------------------ */
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
typedef struct report {
    const char *algo;
    const soap_graph *g;
    const soap_machine *m;
    const soap_search_options *so;
    const soap_search_result *r;
    const soap_strategy_list *in;
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
           rp->algo, cli_name(rp->g->name), (long long)rp->g->batch, rp->g->nops,
           cli_name(rp->m->name), rp->m->ndevices);
    printf("space %s, moves %s, budget", rp->dims, soap_search_moves_name(so->moves));
    if (so->seconds > 0)
        printf(" %g s", so->seconds);
    if (so->proposals > 0)
        printf("%s %ld proposals", so->seconds > 0 ? " and" : "", so->proposals);
    printf(", seed %lu, %d chain%s on %d thread%s, %s", so->seed, r->chains,
           r->chains == 1 ? "" : "s", r->threads, r->threads == 1 ? "" : "s",
           cli_name(r->simulation));
    if (r->beta > 0)
        printf(", beta %.4g /s%s", r->beta, rp->beta_auto ? " (auto)" : "");
    printf("\n\n");
    if (r->interrupted)
        printf("interrupted: the best strategy so far\n");
    printf("best iteration time: %s (throughput %.6g samples/s)\n",
           cli_fmt_time(r->best_s, t1, sizeof t1), (double)rp->g->batch / r->best_s);
    printf("data parallelism:    %s, speedup %.3fx\n", cli_fmt_time(rp->data_s, t1, sizeof t1),
           rp->data_s / r->best_s);
    printf("expert strategy:     %s, speedup %.3fx\n", cli_fmt_time(rp->expert_s, t2, sizeof t2),
           rp->expert_s / r->best_s);
    printf("initial strategies: ");
    for (int i = 0; i < rp->in->n; i++)
        printf(" %s %s%s", cli_name(rp->in->name[i]), cli_fmt_time(r->init_s[i], t1, sizeof t1),
               r->init_fits[i] ? "" : " (over capacity)");
    printf("\n");
    printf("proposals:           %ld in %.3g s (%.0f/s), %.1f%% accepted\n", r->proposals,
           r->elapsed_s, rate(r->proposals, r->elapsed_s), 100.0 * r->acceptance);
    if (r->rejected_early)
        printf("                     %ld rejected before build (%.1f%%)\n", r->rejected_early,
               r->proposals ? 100.0 * (double)r->rejected_early / (double)r->proposals : 0.0);
    printf("found by:            %s\n", cli_name(r->origin));
    if (r->best_over_bound > 0)
        printf("lower bound:         %s, best %.3fx over it\n",
               cli_fmt_time(r->best_lb_s, t1, sizeof t1), r->best_over_bound);
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
        printf("best strategy:       written to %s\n", cli_name(rp->out));
    if (rp->log)
        printf("convergence log:     written to %s\n", cli_name(rp->log));
}

static void print_json(const report *rp)
{
    const soap_search_result *r = rp->r;
    const soap_search_options *so = rp->so;
    json_t *o = json_object();
    cli_json_set(o, "algo", json_string(rp->algo));
    cli_json_set(o, "seed", json_integer((json_int_t)so->seed));
    cli_json_set(o, "model", json_string(rp->g->name));
    cli_json_set(o, "machine", json_string(rp->m->name));
    cli_json_set(o, "devices", json_integer(rp->m->ndevices));
    cli_json_set(o, "batch", json_integer(rp->g->batch));
    cli_json_set(o, "dims", json_string(rp->dims));
    cli_json_set(o, "moves", json_string(soap_search_moves_name(so->moves)));
    cli_json_set(o, "budget_s", so->seconds > 0 ? json_real(so->seconds) : json_null());
    cli_json_set(o, "budget_proposals", so->proposals > 0 ? json_integer(so->proposals) : json_null());
    cli_json_set(o, "beta_per_s", r->beta > 0 ? json_real(r->beta) : json_null());
    int rl = strcmp(rp->algo, "reinforce") == 0;
    cli_json_set(o, "reinforce_lr", rl ? json_real(so->reinforce_lr) : json_null());
    cli_json_set(o, "reinforce_samples", rl ? json_integer(so->reinforce_samples) : json_null());
    cli_json_set(o, "full_sim", json_boolean(so->full_sim));
    cli_json_set(o, "simulation", json_string(r->simulation));
    cli_json_set(o, "chains", json_integer(r->chains));
    cli_json_set(o, "threads", json_integer(r->threads));
    cli_json_set(o, "best_time_s", cli_json_num(r->best_s));
    cli_json_set(o, "data_time_s", cli_json_num(rp->data_s));
    cli_json_set(o, "expert_time_s", cli_json_num(rp->expert_s));
    cli_json_set(o, "speedup_over_data", cli_json_num(rp->data_s / r->best_s));
    cli_json_set(o, "speedup_over_expert", cli_json_num(rp->expert_s / r->best_s));
    json_t *init = json_object();
    for (int i = 0; i < rp->in->n; i++)
        cli_json_set(init, rp->in->name[i], cli_json_num(r->init_s[i]));
    cli_json_set(o, "init_times_s", init);
    cli_json_set(o, "proposals", json_integer(r->proposals));
    cli_json_set(o, "accepted", json_integer(r->accepted));
    cli_json_set(o, "acceptance", cli_json_num(r->acceptance));
    cli_json_set(o, "acceptance_rate", cli_json_num(r->acceptance)); /* older name */
    cli_json_set(o, "rejected_early", json_integer(r->rejected_early));
    cli_json_set(o, "elapsed_s", cli_json_num(r->elapsed_s));
    cli_json_set(o, "proposals_per_s", cli_json_num(rate(r->proposals, r->elapsed_s)));
    cli_json_set(o, "origin", json_string(r->origin));
    cli_json_set(o, "found_by_search", json_boolean(r->found_by_search));
    cli_json_set(o, "best_init", r->best_init >= 0 ? json_string(rp->in->name[r->best_init])
                                          : json_null());
    cli_json_set(o, "best_lower_bound_s", cli_json_num(r->best_lb_s));
    cli_json_set(o, "best_over_bound",
                 r->best_over_bound > 0 ? cli_json_num(r->best_over_bound) : json_null());
    cli_json_set(o, "fits_memory", json_boolean(r->best_fits));
    cli_json_set(o, "refused_for_memory", json_integer(r->over_capacity));
    cli_json_set(o, "interrupted", json_boolean(r->interrupted));
    cli_json_set(o, "exhausted", json_boolean(r->exhausted));
    cli_json_set(o, "out", rp->out ? json_string(rp->out) : json_null());
    cli_json_set(o, "log", rp->log ? json_string(rp->log) : json_null());
    cli_print_json(stdout, o);
}

/* ------------------------------------------------------------------ */
/* The command                                                         */
/* ------------------------------------------------------------------ */
static int run_search(const cli_options *o, const cli_inputs *unused, void *own)
{
    (void)unused; /* loaded here, after the signal handlers are in place */
    const search_opts *sopt = own;
    soap_error err;
    soap_error_clear(&err);
    const soap_search_ops *ops = soap_search_lookup(sopt->algo, &err);
    if (!ops)
        return cli_fail(&err);
    soap_search_options so = soap_search_options_default();
    so.seed = o->seed;
    so.seconds = sopt->budget.seconds;
    so.proposals = sopt->budget.proposals;
    so.beta = sopt->beta;
    if (sopt->lr > 0)
        so.reinforce_lr = sopt->lr;
    if (sopt->samples > 0)
        so.reinforce_samples = sopt->samples;
    so.threads = sopt->threads;
    so.space = o->dims;
    so.moves = o->moves;
    so.full_sim = sopt->full_sim;
    so.allow_over_capacity = o->allow_over_capacity;
    so.no_stop_rule = sopt->no_stop_rule;
    so.no_precheck = sopt->no_precheck;
    char dims_norm[8];
    soap_search_space_str(&so.space, dims_norm, sizeof dims_norm);

    /* From here on a signal stops the command: before the search, with
     * nothing written; during it, with the best so far written. */
    struct sigaction old[2];
    catch_signals(old);
    cli_inputs ci;
    soap_strategy_list in;
    memset(&in, 0, sizeof in);
    soap_search_result r;
    memset(&r, 0, sizeof r);
    int rc = cli_inputs_load(o, CLI_LOAD_SIM, &ci);
    if (rc != 0 || stop_signal)
        goto done;
    soap_machine *m = ci.m;
    soap_graph *g = ci.g;
    soap_sim *sim = ci.sim;
    if ((rc = cli_load_strategies("--init", sopt->init, g, m, o->seed, &in)) != 0 ||
        stop_signal)
        goto done;
    rc = CLI_EXIT_INPUT;
    double data_s = builtin_time(sim, "data", g, m);
    double expert_s = data_s >= 0 ? builtin_time(sim, "expert", g, m) : -1.0;
    if (data_s < 0 || expert_s < 0 || stop_signal)
        goto done;

    soap_search_problem p = {.g = g,
                             .m = m,
                             .sim = sim,
                             .inits = (const soap_strategy *const *)in.s,
                             .init_names = (const char *const *)in.name,
                             .ninits = in.n};
    progress_ctx pc = {.algo = sopt->algo, .data_s = data_s, .shown = 0};
    if (!sopt->quiet && isatty(STDERR_FILENO)) {
        so.progress = show_progress;
        so.progress_ctx = &pc;
    }
    so.stop = &stop_signal;
    soap_status st = soap_search_run(ops, &p, &so, &r, &err);
    if (pc.shown)
        fprintf(stderr, "\r%*s\r", 110, "");
    if (st != SOAP_OK) {
        cli_fail(&err);
        goto done;
    }
    if (o->out && soap_strategy_write_json(r.best, g, o->out, &err) != SOAP_OK) {
        cli_fail(&err);
        goto done;
    }
    if (sopt->log) {
        char seed[32], devices[16];
        snprintf(seed, sizeof seed, "%lu", so.seed);
        snprintf(devices, sizeof devices, "%d", m->ndevices);
        /* After soap_provenance_write's what, commit, date and host. */
        const char *prov[] = {"algo", sopt->algo, "seed", seed, "model", g->name,
                              "machine", m->name, "devices", devices, "dims", dims_norm,
                              "budget", sopt->budget.text, NULL, NULL};
        if (soap_search_write_log(&r, prov, sopt->log, &err) != SOAP_OK) {
            cli_fail(&err);
            goto done;
        }
    }
    report rp = {.algo = sopt->algo, .g = g, .m = m, .so = &so, .r = &r, .in = &in,
                 .dims = dims_norm, .out = o->out, .log = sopt->log, .data_s = data_s,
                 .expert_s = expert_s, .beta_auto = sopt->beta == 0.0};
    if (o->json)
        print_json(&rp);
    else
        print_text(&rp);
    if (!r.best_fits)
        cli_message("warning: the best strategy exceeds a device's memory capacity");
    rc = CLI_EXIT_OK;

done:
    if (stop_signal && (rc == CLI_EXIT_OK || !r.best))
        rc = signal_status();
    restore_signals(old);
    soap_search_result_free(&r);
    soap_strategy_list_free(&in);
    cli_inputs_free(&ci);
    return rc;
}

const cli_command cli_cmd_search = {
    .name = "search",
    .summary = "search a strategy (mcmc, random, greedy, anneal, optcnn, exhaustive, "
               "reinforce)",
    .description =
        "Searches a parallelization strategy of model M on machine X with algorithm NAME "
        "(see 'soap algos') and prints the best simulated iteration time, its speedup over "
        "data parallelism and over the expert strategy, proposals per second, the "
        "acceptance rate and where the best came from; --out writes the best strategy "
        "(JSON). Ctrl-C (SIGINT) or SIGTERM stops the search: the best strategy so far is "
        "still reported and written, with the log, and the exit status is 130 (SIGINT) or "
        "143 (SIGTERM); stopped before the search starts, it writes nothing.",
    .opts = search_opts_table,
    .own_size = sizeof(search_opts),
    .own_defaults = &search_defaults,
    .run = run_search,
};

/* `soap algos` */
static int run_algos(const cli_options *o, const cli_inputs *in, void *own)
{
    (void)o;
    (void)in;
    (void)own;
    const soap_search_ops *const *reg = soap_search_registry();
    for (int i = 0; reg[i]; i++)
        printf("%-11s %s\n", reg[i]->name, reg[i]->description);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_algos = {
    .name = "algos",
    .summary = "list the search algorithms",
    .description = "Lists the search algorithms of 'soap search --algo'.",
    .run = run_algos,
};
