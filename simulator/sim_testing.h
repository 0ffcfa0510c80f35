/* sim_testing.h: what the simulator's tests see of its internals, and only
 * that: the tasks of the last simulation (what each is, where and when it
 * ran), so that the suites can check hand-derived timelines and compare
 * delta with full simulation task by task while the internal task graph
 * (simulator/sim_internal.h) is free to change. Not installed;
 * implemented in sim_testing.c.
 */
#ifndef SOAP_SIM_TESTING_H
#define SOAP_SIM_TESTING_H

#include <stddef.h>
#include <stdint.h>

#include "soap_sim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Kinds of tasks (checked against the simulator's own at compile time). */
typedef enum sim_testing_kind {
    SIM_TESTING_FWD = 1, /* forward compute task, on a device */
    SIM_TESTING_BWD,     /* backward compute task, on a device */
    SIM_TESTING_XFER,    /* one hop of an activation transfer */
    SIM_TESTING_GRAD,    /* one hop of a gradient transfer */
    SIM_TESTING_SYNC,    /* one hop of a weight-gradient / weight transfer */
    SIM_TESTING_UPDATE,  /* weight update of one shard on one device */
    SIM_TESTING_JOIN,    /* zero-duration join, no resource */
    SIM_TESTING_BARRIER, /* zero-duration barrier, no resource (no_overlap) */
} sim_testing_kind;

/* One task of the last simulation. */
typedef struct sim_testing_task {
    uint64_t key;       /* unique and topological (sim_internal.h) */
    int kind;           /* sim_testing_kind */
    int op;             /* compute: the op; transfers: the consumer op;
                           sync, update, join: the weight */
    int idx;            /* compute: task index; transfers: consumer task;
                           sync: shard index */
    int res;            /* resource (devices first, then link directions),
                           -1 for joins and the barrier */
    double dur, ready, start, end; /* seconds */
} sim_testing_task;

/* Iteration time of the last simulation (full or delta, or what an undo
 * restored), seconds: the simulator's own figure, not a copy. */
double sim_testing_iteration(const soap_sim *sim);
/* Tasks in the processing order of the last simulation (full or delta). */
int sim_testing_ntasks(const soap_sim *sim);
sim_testing_task sim_testing_task_at(const soap_sim *sim, int pos);
/* A short label of the task at pos ("conv1 fwd t3"). */
void sim_testing_label(const soap_sim *sim, int pos, char *buf, size_t len);
/* The first task of (kind, op, idx) in the task graph; 0 if there is none. */
int sim_testing_find(const soap_sim *sim, int kind, int op, int idx, sim_testing_task *out);
/* "fwd", "bwd", ... */
const char *sim_testing_kind_name(int kind);
/* Per device (bytes[0..ndevices)): the weight memory of the last simulation
 * (2 x the bytes of the shards each device holds: the base of peak memory). */
void sim_testing_weight_bytes(soap_sim *sim, double *bytes);

#ifdef __cplusplus
}
#endif
#endif /* SOAP_SIM_TESTING_H */
