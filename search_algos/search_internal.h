/* search_internal.h: what the files of soap_search share (internal): the
 * space's internals, the clock, the chain runner that mcmc, anneal, greedy
 * and random are built on, and the algorithms' ops tables.
 */
#ifndef SOAP_SEARCH_INTERNAL_H
#define SOAP_SEARCH_INTERNAL_H

#include <math.h>
#include <stdlib.h>

#include "soap_search.h"

/* space.c: the search space of the space, the number of tasks of degree
 * vector v of op, and that vector as a config (tasks on devices 0..k-1). */
const soap_search_space *search_space_spec(const soap_space *s);
int search_space_vec_tasks(const soap_space *s, int op, int v);
void search_space_config_vec(const soap_space *s, int op, int v, soap_config *out);

/* groups.c: the groups of a space (see soap_space_ngroups). */
typedef struct search_groups {
    int ngroups;
    int nshared;     /* groups of two or more */
    int max_size;    /* members of the largest group (>= 1) */
    int *group_of;   /* per op */
    int *start;      /* per group, ngroups + 1: its first index in members */
    int *members;    /* ops, by group, increasing within a group */
    int *shared;     /* the ids of the groups of two or more */
    int *ident;      /* ident[op] = op: the member list of a one-op move */
} search_groups;
void search_groups_build(const soap_space *s, const soap_graph *g, search_groups *out);
void search_groups_free(search_groups *gr);
const search_groups *search_space_groups(const soap_space *s);
/* What greedy search and check-local walk for a move set: units, each a
 * set of ops that take one config together (op: every op, unit u = op u;
 * tied: every group; mixed: every op, then every group of two or more).
 * search_unit returns unit u's op count and its ops (owned by s). */
int search_units(const soap_space *s, soap_search_moves moves);
int search_unit(const soap_space *s, soap_search_moves moves, int u, const int **ops);

/* soap_sim_full of a strategy valid for the simulator's graph and machine
 * (an initial strategy, checked where it was loaded, or one drawn from the
 * space), which cannot fail. */
static inline double search_simulate(soap_sim *sim, const soap_strategy *s)
{
    double t = soap_sim_full(sim, s, NULL);
    SOAP_ASSERT(t >= 0.0);
    return t;
}

/* Wall clock, seconds (monotonic). */
double search_now(void);

/* 1 when the strategy the simulator last simulated fits every device's
 * memory (soap_sim_result over_capacity == 0). */
int search_sim_fits(soap_sim *sim);

/* Appends a log row (grows the array; called on new bests and every
 * log_every proposals, not per proposal). */
void search_log_push(soap_search_log_row **log, long *len, long *cap,
                     const soap_search_log_row *row);

/* The chain runner (chain.c). A chain starts from initial strategy `index`
 * with its own RNG; chains run in chain order on up to opt->threads
 * threads, each thread with its own simulator, and are combined in chain
 * order into r. */
typedef enum chain_kind {
    CHAIN_MCMC,    /* Metropolis-Hastings, exp(-beta * cost) */
    CHAIN_ANNEAL,  /* the same with a falling temperature */
    CHAIN_GREEDY,  /* first-improvement hill climbing over the neighbourhood */
    CHAIN_RANDOM,  /* independent random strategies (full simulations) */
} chain_kind;

soap_status search_run_chains(chain_kind kind, const soap_search_problem *p,
                              const soap_search_options *o, soap_search_result *r,
                              soap_error *err);

extern const soap_search_ops search_mcmc, search_random, search_greedy, search_anneal,
    search_optcnn, search_exhaustive, search_reinforce;

#endif
