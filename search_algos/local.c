/* local.c: the local-optimality check: does any change of a move set's
 * neighbourhood (search_unit: single ops, groups of ops that share
 * weights, or both; each unit's changes from soap_space_neighbour of its
 * first op, given to every op of the unit) make a strategy faster? Each
 * change is one soap_sim_delta_many followed by soap_sim_undo, so the
 * simulator ends where it started: simulating the strategy checked.
 */
#include <string.h>

#include "search_internal.h"

soap_status soap_search_check_local(soap_sim *sim, const soap_graph *g,
                                    const soap_machine *m, const soap_strategy *s,
                                    const soap_search_space *sp, soap_search_moves moves,
                                    int allow_over_capacity, soap_local_report *rep,
                                    soap_error *err)
{
    if (!sim || !g || !m || !s || !sp || !rep)
        return soap_error_set(err, SOAP_ERR_INVALID, "check-local: missing argument");
    if (moves < 0 || moves >= SOAP_MOVES_COUNT)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "check-local: moves %d: expected op, tied or mixed", (int)moves);
    memset(rep, 0, sizeof *rep);
    rep->best_op = -1;
    double t = search_simulate(sim, s);
    rep->time_s = t;
    rep->best_s = t;
    soap_space *space = soap_space_new(g, m->ndevices, sp);
    soap_config *cfgs =
        soap_xmalloc((size_t)search_space_groups(space)->max_size * sizeof *cfgs);
    int nunits = search_units(space, moves);
    for (int u = 0; u < nunits; u++) {
        const int *ops;
        int n = search_unit(space, moves, u, &ops);
        soap_space_cursor cur = {0, 0};
        while (soap_space_neighbour(space, ops[0], &s->configs[ops[0]], &cur, &cfgs[0])) {
            for (int i = 1; i < n; i++)
                cfgs[i] = cfgs[0];
            double t2 = soap_sim_delta_many(sim, n, ops, cfgs, INFINITY, NULL);
            rep->tried++;
            if (soap_search_improves(t2, t) && (allow_over_capacity || search_sim_fits(sim))) {
                rep->improving++;
                if (t2 < rep->best_s) {
                    rep->best_s = t2;
                    rep->best_op = ops[0];
                    rep->best_nops = n;
                    rep->best_config = cfgs[0];
                }
            }
            soap_sim_undo(sim);
        }
    }
    free(cfgs);
    soap_space_free(space);
    return SOAP_OK;
}
