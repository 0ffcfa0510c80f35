/* local.c: the local-optimality check: does any single-operator change of
 * the neighbourhood (soap_space_neighbour) make a strategy faster? Each
 * change is one soap_sim_delta followed by soap_sim_undo, so the simulator
 * ends where it started: simulating the strategy checked.
 */
#include <string.h>

#include "search_internal.h"

soap_status soap_search_check_local(soap_sim *sim, const soap_graph *g,
                                    const soap_machine *m, const soap_strategy *s,
                                    const soap_search_space *sp, int allow_over_capacity,
                                    soap_local_report *rep, soap_error *err)
{
    if (!sim || !g || !m || !s || !sp || !rep)
        return soap_error_set(err, SOAP_ERR_INVALID, "check-local: missing argument");
    memset(rep, 0, sizeof *rep);
    rep->best_op = -1;
    double t = search_simulate(sim, s);
    rep->time_s = t;
    rep->best_s = t;
    soap_space *space = soap_space_new(g, m->ndevices, sp);
    soap_config cfg;
    for (int op = 0; op < g->nops; op++) {
        soap_space_cursor cur = {0, 0};
        while (soap_space_neighbour(space, op, &s->configs[op], &cur, &cfg)) {
            double t2 = soap_sim_delta(sim, op, &cfg);
            rep->tried++;
            if (soap_search_improves(t2, t) && (allow_over_capacity || search_sim_fits(sim))) {
                rep->improving++;
                if (t2 < rep->best_s) {
                    rep->best_s = t2;
                    rep->best_op = op;
                    rep->best_config = cfg;
                }
            }
            soap_sim_undo(sim);
        }
    }
    soap_space_free(space);
    return SOAP_OK;
}
