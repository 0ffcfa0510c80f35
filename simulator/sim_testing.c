/* sim_testing.c: the tests' view of the simulator's tasks (sim_testing.h),
 * read from the internal task graph. */
#include "sim_internal.h"
#include "sim_testing.h"

#define SAME(k) ((int)SIM_TESTING_##k == (int)SIM_##k)
_Static_assert(SAME(FWD) && SAME(BWD) && SAME(XFER) && SAME(GRAD) && SAME(SYNC) &&
                   SAME(UPDATE) && SAME(JOIN) && SAME(BARRIER) &&
                   (int)SIM_TESTING_BARRIER + 1 == (int)SIM_KIND_COUNT,
               "the testing kinds are the simulator's");
#undef SAME

static sim_testing_task view(const sim_task *t)
{
    sim_testing_task v = {.key = t->key,
                          .kind = t->kind,
                          .op = t->op,
                          .idx = t->idx,
                          .res = t->res,
                          .dur = t->dur,
                          .ready = t->ready,
                          .start = t->start,
                          .end = t->end};
    return v;
}

double sim_testing_iteration(const soap_sim *sim)
{
    SOAP_ASSERT(sim);
    return sim->iteration_s;
}

int sim_testing_ntasks(const soap_sim *sim)
{
    SOAP_ASSERT(sim);
    return sim->norder;
}

sim_testing_task sim_testing_task_at(const soap_sim *sim, int pos)
{
    SOAP_ASSERT(sim && pos >= 0 && pos < sim->norder);
    return view(&sim->tasks[sim->order[pos]]);
}

void sim_testing_label(const soap_sim *sim, int pos, char *buf, size_t len)
{
    SOAP_ASSERT(sim && pos >= 0 && pos < sim->norder);
    sim_task_label(sim, sim->order[pos], buf, len);
}

int sim_testing_find(const soap_sim *sim, int kind, int op, int idx, sim_testing_task *out)
{
    SOAP_ASSERT(sim && out);
    for (int x = 0; x < sim->task_used; x++) {
        const sim_task *t = &sim->tasks[x];
        if (t->kind != SIM_FREE && t->kind == kind && t->op == op && t->idx == idx) {
            *out = view(t);
            return 1;
        }
    }
    return 0;
}

const char *sim_testing_kind_name(int kind)
{
    SOAP_ASSERT(kind > SIM_FREE && kind < SIM_KIND_COUNT);
    return sim_kind_names[kind];
}

void sim_testing_weight_bytes(soap_sim *sim, double *bytes)
{
    SOAP_ASSERT(sim && bytes);
    sim_weight_bytes(sim, bytes);
}
