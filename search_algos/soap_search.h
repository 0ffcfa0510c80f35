/* soap_search.h: the public interface of soap_search, the search algorithms.
 *
 * Holds: the search space of a search (which dims may be split, whether
 * operators may be placed freely), proposals drawn from it, one search
 * interface (struct soap_search_ops) behind an explicit registry, the inputs
 * every algorithm gets (graph, machine, simulator, initial strategies,
 * budget, seed), what it returns (best strategy, statistics, convergence
 * log), the local-optimality check and the convergence log file.
 *
 * Algorithms: mcmc (Metropolis-Hastings, PAPER.md section 3), random,
 * greedy, anneal, optcnn (dynamic program without inter-operator
 * concurrency), exhaustive (branch and bound, tiny cases only) and
 * reinforce (placement only, policy gradient: the baseline of Mirhoseini et
 * al. 2017).
 *
 * Units: seconds (simulated iteration times and wall-clock budgets alike;
 * which one is meant is said at each field).
 */
#ifndef SOAP_SEARCH_H
#define SOAP_SEARCH_H

#include <signal.h>

#include <gsl/gsl_rng.h>

#include "soap_core.h"
#include "soap_sim.h"
#include "soap_strategies.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* The search space                                                    */
/* ------------------------------------------------------------------ */
/* Which dim kinds may be split, and whether operators may be placed on any
 * devices (O = operator parallelism). Text form: letters of "SOAP", e.g.
 * "SOAP" (everything), "SAP" (no placement freedom: task t of every op runs
 * on device t, as OptCNN assumes), "S" (sample only: data-parallel-like
 * searches), "O" (placement only, nothing split). */
typedef struct soap_search_space {
    soap_dims_mask dims;
    int placement; /* 1: devices free; 0: task t on device t */
} soap_search_space;

soap_search_space soap_search_space_all(void); /* "SOAP" */
/* Parses letters of S, O, A, P (any case, each at most once); error on
 * anything else or an empty string. */
soap_status soap_search_space_parse(const char *s, soap_search_space *out, soap_error *err);
/* "SOAP", "SAP", ... into buf (>= 5 bytes). */
char *soap_search_space_str(const soap_search_space *sp, char *buf, size_t len);

/* The candidates of a search space for a graph on n devices, computed once
 * (the degree vectors of every op), so that drawing a proposal allocates
 * nothing. */
typedef struct soap_space soap_space;
soap_space *soap_space_new(const soap_graph *g, int ndevices, const soap_search_space *sp);
void soap_space_free(soap_space *s);
/* Degree vectors of op (product <= ndevices). */
int soap_space_ndegrees(const soap_space *s, int op);
/* A uniformly random config of op: degree vector uniform; with placement
 * freedom, half of the draws put the tasks on a contiguous block of devices
 * (start uniform) and half on independently uniform devices, so that both
 * kinds are reachable and likely; without it task t runs on device t. */
void soap_space_random(const soap_space *s, int op, gsl_rng *rng, soap_config *out);
/* A strategy with a random config per op (from soap_strategy_new's s). */
void soap_space_random_strategy(const soap_space *s, gsl_rng *rng, soap_strategy *out);

/* The neighbourhood of a config (the single-operator changes greedy search
 * and check-local try): every degree vector, each with every device
 * assignment when there are at most SOAP_SEARCH_ALL_ASSIGN of them, else
 * every contiguous block of devices; plus every move of one task of the
 * current config to another device. Without placement freedom: every degree
 * vector on devices 0..k-1. Iterate with *cursor = 0 first; returns 0 at
 * the end. */
#define SOAP_SEARCH_ALL_ASSIGN 256
typedef struct soap_space_cursor {
    int vec;        /* degree vector, then nvec = the task-move phase */
    long assign;    /* assignment index within it */
} soap_space_cursor;
int soap_space_neighbour(const soap_space *s, int op, const soap_config *current,
                         soap_space_cursor *cur, soap_config *out);

/* Groups: ops that share a weight (the steps of one LSTM layer, a shared
 * embedding, attention or projection; the union over every weight's users)
 * and have the same config space (output shape and dim kinds, candidate
 * degree vectors), so that one config is valid for every member. An op in
 * no group of two or more is a group of its own. Groups are numbered in the
 * order of their smallest member (without shared weights group i is op
 * i); members are in increasing op order. Computed once with the space. */
int soap_space_ngroups(const soap_space *s);
/* Groups with two or more members. */
int soap_space_nshared(const soap_space *s);
int soap_space_group_of(const soap_space *s, int op);
/* The members of group `group` into *members (owned by s); returns their
 * count. */
int soap_space_group_members(const soap_space *s, int group, const int **members);

/* Move sets: what one proposal changes.
 *   op:    one op uniformly, one config of it (soap_space_random): the
 *          single-operator moves of PAPER.md section 3.
 *   tied:  one group uniformly, one config of its first member uniformly
 *          (soap_space_random), given to every member; when the members'
 *          configs differ the move is a self-loop (the proposal is counted
 *          and rejected, nothing is simulated), so that every move has its
 *          reverse (see soap_space_propose). On a graph without shared
 *          weights it is op.
 *   mixed: with probability 1/2 a tied move, else an op move (on a graph
 *          without shared weights: op, with no coin drawn).
 * Greedy search and check-local use the matching neighbourhoods (op: each
 * op's soap_space_neighbour; tied: each group's, every member set to each
 * neighbour of its first member's config; mixed: both). Default
 * (SOAP_SEARCH_MOVES_DEFAULT): tied, chosen by measurement (mcmc from data,
 * p100x16/16, --sync ps, 1,000 proposals, seed 1: best 170 / 118 / 586 ms
 * on rnnlm / rnntc / nmt against 236 / 288 / 953 ms with op moves and 235
 * / 280 / 823 ms with mixed; README.md has the command). Mixed stays near
 * op since an accepted op move on one member leaves its group
 * disagreeing, and so out of reach of group moves. */
#define SOAP_SEARCH_MOVES(X) X(OP, "op") X(TIED, "tied") X(MIXED, "mixed")
typedef enum soap_search_moves {
#define SOAP_X_ENUM(e, s) SOAP_MOVES_##e,
    SOAP_SEARCH_MOVES(SOAP_X_ENUM)
#undef SOAP_X_ENUM
    SOAP_MOVES_COUNT
} soap_search_moves;
#define SOAP_SEARCH_MOVES_DEFAULT SOAP_MOVES_TIED
const char *soap_search_moves_name(soap_search_moves m);
/* "op", "tied" or "mixed"; an error naming the valid ones otherwise. */
soap_status soap_search_moves_parse(const char *s, soap_search_moves *out, soap_error *err);

/* One proposal of move set `moves` from strategy cur (of the space's
 * graph): the ops it changes into *ops (owned by s) and the config every
 * one of them gets into *cfg; returns their count, or 0 for a self-loop (a
 * group move on a group whose members' configs differ). Allocates
 * nothing; op moves draw exactly what mcmc always drew (the op, then
 * soap_space_random).
 *
 * Why Metropolis-Hastings stays exact: each kind of move is symmetric in
 * its choice of what changes, and a fixed mixture of symmetric proposals is
 * symmetric. An op move from x to y (op o gets c, had c') has q = p(c) /
 * nops and its reverse p(c') / nops. A group move on G from x, where every
 * member has c', to y, where every member has c, has q = p(c) / ngroups;
 * in y the members agree again, so the reverse move (G, c') has
 * p(c') / ngroups. A group whose members disagree is never left by a
 * group move (a self-loop), and no group move can enter such a state, so
 * no move lacks its reverse; self-loops leave the state, and so detailed
 * balance, alone. Both kinds draw the config as soap_space_random does
 * (p above), so a group move's ratio q(x->y) / q(y->x) = p(c) / p(c') is
 * the single-op move's. */
int soap_space_propose(const soap_space *s, soap_search_moves moves, const soap_strategy *cur,
                       gsl_rng *rng, const int **ops, soap_config *cfg);

/* ------------------------------------------------------------------ */
/* Inputs and outputs of a search                                      */
/* ------------------------------------------------------------------ */
/* What is searched. The simulator (with its costs) is borrowed and left in
 * an unspecified state; a search with several threads gives every extra
 * thread a clone of it (soap_sim_clone: the same graph, machine, options and
 * loaded costs, a cache and task graph of its own). The initial strategies
 * must be valid for g and m (checked where they were loaded:
 * soap_strategy_load, soap_strategy_read_json, soap_strategy_check);
 * soap_search_run asserts that they were made for g and m. */
typedef struct soap_search_problem {
    const soap_graph *g;
    const soap_machine *m;
    soap_sim *sim;                     /* for g on m */
    const soap_strategy *const *inits; /* >= 1 initial strategies */
    const char *const *init_names;     /* optional: names for reports */
    int ninits;
} soap_search_problem;

/* One convergence log row: after `proposals` proposals of chain `chain`,
 * `elapsed_s` wall-clock seconds after the search started. */
typedef struct soap_search_log_row {
    double elapsed_s;   /* wall clock */
    long proposals;     /* of this chain */
    int chain;
    double current_s;   /* simulated iteration time of the chain's state */
    double best_s;      /* best of the chain so far (that fits memory) */
} soap_search_log_row;

/* Progress, reported now and then to an optional callback (from one
 * thread at a time). */
typedef struct soap_search_progress {
    double elapsed_s;      /* wall clock */
    long proposals;        /* all chains so far */
    double best_s;         /* best so far, any chain */
    int chains_done, chains;
} soap_search_progress;
typedef void (*soap_search_progress_fn)(void *ctx, const soap_search_progress *p);

typedef struct soap_search_options {
    double seconds;        /* wall-clock budget; <= 0: none */
    long proposals;        /* proposal budget; <= 0: none (mcmc, random and
                              anneal need one of the two) */
    unsigned long seed;
    double beta;           /* mcmc: 1/seconds of simulated time, as given;
                              <= 0: auto (SOAP_SEARCH_BETA_PER_OP) */
    soap_search_space space;
    soap_search_moves moves; /* what a proposal changes (mcmc, anneal), the
                              neighbourhood of greedy; 0 = op */
    int full_sim;          /* 1: full simulation per proposal instead of delta */
    int no_precheck;       /* 1: mcmc, anneal: no rejection from a lower
                              bound before the delta (soap_sim_bound_change);
                              the chain is the same either way */
    int allow_over_capacity; /* 1: also return strategies over memory capacity */
    int threads;           /* chains in parallel; <= 1: one thread */
    int no_stop_rule;      /* 1: chains run to their budget (no "best not
                              improved for half the time so far" stop) */
    long stop_floor;       /* proposals before the stop rule applies (and
                              never before a tenth of a chain's budget);
                              <= 0: SOAP_SEARCH_STOP_FLOOR */
    double anneal_t0, anneal_t1; /* anneal: start and end temperature as a
                              fraction of the initial time; <= 0: 0.05, 1e-4 */
    double reinforce_lr;   /* reinforce: learning rate of the logits, > 0 and
                              <= 1000 (default 10; rewards are -sqrt(t / the
                              best initial time), near -1) */
    int reinforce_samples; /* reinforce: placements sampled per update,
                              1..1024 (default 8) */
    long log_every;        /* a log row every N proposals of a chain (and at
                              every new best); <= 0: 100 */
    volatile sig_atomic_t *stop; /* optional: set (to non-zero) to stop soon */
    soap_search_progress_fn progress; /* optional */
    void *progress_ctx;
} soap_search_options;

/* mcmc's auto beta: SOAP_SEARCH_BETA_PER_OP x the number of operators /
 * the best initial time T0 (1/s). A proposal changes one operator, whose
 * share of the time is T0 / nops on average: a proposal worse by that
 * share is kept with probability e^-10, one worse by a tenth of it with
 * e^-1. The old rule, 100 / T0 (a proposal 1% worse kept with e^-1), is
 * the same for a 10-operator model (lenet) but kept nearly every worse
 * proposal on 200-600-operator ones, whose single changes move the time by
 * fractions of a percent, so chains drifted into ever larger strategies.
 * Measured on the six paper models (p100x16/16, from data, 1,000
 * proposals, seeds 1 and 2; README.md, "Search"): never a worse best than
 * 100 / T0, better on alexnet, rnntc, rnnlm and nmt, mostly faster chains.
 * Deterministic: a function of the graph and the initial times only. */
#define SOAP_SEARCH_BETA_PER_OP 10.0
#define SOAP_SEARCH_STOP_FLOOR 200

#define SOAP_SEARCH_REINFORCE_LR 10.0
#define SOAP_SEARCH_REINFORCE_SAMPLES 8

/* Options with every default: 0 budgets, seed 0, all of SOAP, moves
 * SOAP_SEARCH_MOVES_DEFAULT, reinforce's learning rate and samples per
 * update as above. */
soap_search_options soap_search_options_default(void);

typedef struct soap_search_result {
    soap_strategy *best;   /* owned */
    double best_s;         /* simulated iteration time of best */
    int best_fits;         /* 1: no device over its memory capacity */
    int best_init;         /* index of the initial strategy best comes from
                              (its chain's start), -1 if none */
    int found_by_search;   /* 0: best is an initial strategy unchanged */
    char origin[160];      /* where best came from, in words */
    double *init_s;        /* simulated time of each initial strategy, owned */
    int *init_fits;        /* owned */
    long proposals;        /* all chains */
    long accepted;
    long over_capacity;    /* improvements refused for memory */
    long rejected_early;   /* mcmc, anneal: proposals rejected before any
                              task was built (a lower bound above the
                              acceptance limit) */
    long tasks_sum;        /* mcmc, anneal: the sum over proposals of the
                              task count of the chain's strategy after the
                              proposal (its task graph, the one the next
                              delta changes; the same with full_sim); over
                              proposals: tasks per proposal */
    double acceptance;     /* accepted / proposals (0 without proposals) */
    double best_lb_s;      /* the largest lower bound (soap_sim_result
                              lb_s) of best, from its full simulation */
    double best_over_bound; /* best_s / best_lb_s (>= 1: how far best may
                              still be from an optimum by that measure);
                              0 when the bound is 0 */
    const char *simulation; /* how the algorithm simulated, for reports
                              (a static string): "delta simulation",
                              "full simulation", ... */
    double elapsed_s;      /* wall clock */
    double beta;           /* mcmc: the beta used, 1/s */
    int chains;
    int threads;
    int interrupted;       /* stopped by opt->stop */
    int exhausted;         /* exhaustive / optcnn: the whole space was covered */
    long log_len, log_cap;
    soap_search_log_row *log; /* in chain order, then time; owned */
} soap_search_result;

void soap_search_result_free(soap_search_result *r);

/* ------------------------------------------------------------------ */
/* Algorithms behind one interface                                     */
/* ------------------------------------------------------------------ */
typedef struct soap_search_ops {
    const char *name;
    const char *description;
    /* Fills r (zeroed by the caller); r->best may be NULL, or slower than
     * the initial strategies: soap_search_run settles that. */
    soap_status (*run)(const soap_search_problem *p, const soap_search_options *o,
                       soap_search_result *r, soap_error *err);
} soap_search_ops;

/* The registry, NULL-terminated. */
const soap_search_ops *const *soap_search_registry(void);
/* NULL if unknown. */
const soap_search_ops *soap_search_find(const char *name);
/* As soap_search_find, but an unknown name is an error that lists the
 * valid ones. */
const soap_search_ops *soap_search_lookup(const char *name, soap_error *err);

/* Runs algorithm `ops`: checks the options and that the problem is complete
 * (the initial strategies themselves were checked where they were loaded;
 * see soap_search_problem), simulates the initial strategies, runs the
 * algorithm and returns its best, which is never
 * slower than the best initial strategy and (unless allow_over_capacity)
 * never over a device's memory capacity while an initial strategy fits.
 * r is zeroed first; free it with soap_search_result_free (also after an
 * error). */
soap_status soap_search_run(const soap_search_ops *ops, const soap_search_problem *p,
                            const soap_search_options *o, soap_search_result *r,
                            soap_error *err);

/* ------------------------------------------------------------------ */
/* Local optimality                                                    */
/* ------------------------------------------------------------------ */
typedef struct soap_local_report {
    double time_s;          /* of the strategy checked */
    long tried;             /* changes simulated */
    long improving;         /* of those, faster (and fitting memory) */
    int best_op;            /* the most improving change (its first op), -1
                               if none */
    int best_nops;          /* ops it gives best_config: 1, or the size of
                               best_op's group (a group change) */
    soap_config best_config;
    double best_s;
} soap_local_report;

/* Tries every change of the neighbourhood of move set `moves` (op: every
 * change of soap_space_neighbour on every op; tied: on every group, every
 * member set to each neighbour of its first member's config; mixed: both)
 * with sim (delta simulation; sim is left simulating s). s must be valid
 * for g and m (checked where it was loaded; soap_sim_full asserts it). A
 * change improves when it is faster by more than a relative 1e-9 and
 * (unless allow_over_capacity) fits memory. */
soap_status soap_search_check_local(soap_sim *sim, const soap_graph *g,
                                    const soap_machine *m, const soap_strategy *s,
                                    const soap_search_space *sp, soap_search_moves moves,
                                    int allow_over_capacity, soap_local_report *rep,
                                    soap_error *err);

/* 1 when a is faster than b by more than a relative 1e-9 (the
 * improvement test of every algorithm). */
int soap_search_improves(double a, double b);

/* ------------------------------------------------------------------ */
/* Convergence log                                                     */
/* ------------------------------------------------------------------ */
/* CSV: soap_provenance_write lines ("search convergence log", then each
 * "key: value" of `prov`, NULL-terminated pairs, may be NULL), then
 * elapsed_s,proposals,chain,current_s,best_s,overall_best_s. Written
 * through soap_outfile. */
soap_status soap_search_write_log(const soap_search_result *r, const char *const *prov,
                                  const char *path, soap_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SOAP_SEARCH_H */
