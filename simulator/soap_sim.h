/* soap_sim.h: the public interface of soap_sim, the execution simulator.
 *
 * Holds: cost providers (measured table, analytic roofline) behind one
 * interface with a cache, the simulator (task graph, full and delta
 * simulation), the results of one simulation, and trace / DOT export. The
 * task decomposition the task graph is built from is soap_decomp_* in
 * soap_strategies.h, shared with the executor.
 *
 * Units: seconds, bytes, FLOP.
 */
#ifndef SOAP_SIM_H
#define SOAP_SIM_H

#include "soap_core.h"
#include "soap_strategies.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Costs                                                               */
/* ------------------------------------------------------------------ */
/* soap_task_cost and the cost-table file format are core's (soap_core.h). */

/* A cost provider: a const ops table, looked up by name. */
typedef struct soap_cost_ops {
    const char *name;         /* "analytic", "table" */
    const char *description;
    /* Creates the provider's state from an argument (the table's path; NULL
     * for analytic). */
    void *(*create)(const char *arg, soap_error *err);
    void (*destroy)(void *ctx);
    /* 1 and *out if the provider knows this task, else 0. `sig` is
     * soap_op_signature, `part` the partition's sizes. It must only read
     * ctx: every handle made from one soap_costs_new (soap_costs_share),
     * on whatever thread, looks up through the same ctx. */
    int (*lookup)(void *ctx, const soap_device_type *dev, const char *sig,
                  const soap_shape *part, const soap_graph *g, int op,
                  const soap_region *region, soap_task_cost *out);
    /* Optional (NULL: the provider answers for any device): 1 if it holds
     * costs of device type `type`; `types` gets the types it holds. */
    int (*has_device)(void *ctx, const char *type, char *types, size_t len);
} soap_cost_ops;

const soap_cost_ops *const *soap_cost_registry(void); /* NULL-terminated */
const soap_cost_ops *soap_cost_find(const char *name);

/* The costs a simulation uses: the measured table (if given) where it has
 * an entry, the analytic model otherwise, cached per (device type, op
 * signature, partition shape).
 *
 * A soap_costs is a handle: the loaded providers (the table as read from
 * its file), which are immutable and shared by every handle made from them,
 * plus a cache of the handle's own. One handle is used by one thread at a
 * time; handles on the same providers may be used on different threads at
 * once. The providers are freed with the last handle. */
typedef struct soap_costs soap_costs;
soap_costs *soap_costs_new(const char *table_path /* NULL: analytic only */,
                           soap_error *err);
/* A new handle on c's providers (nothing is re-read, the machine check c
 * passed holds for it) with an empty cache of its own: what another thread
 * looks up through. May be called while c is in use on another thread. */
soap_costs *soap_costs_share(const soap_costs *c);
void soap_costs_free(soap_costs *c);
soap_task_cost soap_costs_task(soap_costs *c, const soap_graph *g, int op,
                               const soap_region *region, const soap_device_type *dev);
/* Checks that every measured provider (the table) holds costs for at least
 * one device type of m: a table measured on other devices is refused, with
 * a message naming the file, the machine's types and the table's. */
soap_status soap_costs_check_machine(const soap_costs *c, const soap_machine *m,
                                     soap_error *err);
/* Distinct task costs looked up so far through this handle, by source. */
void soap_costs_counts(const soap_costs *c, long *measured, long *analytic);

/* The analytic model alone (roofline with launch overhead and a utilization
 * curve; see simulator/cost_analytic.c). */
soap_task_cost soap_cost_analytic(const soap_graph *g, int op, const soap_region *region,
                                  const soap_device_type *dev);
/* The efficiencies the analytic model uses for dev: its calibration with
 * the class defaults in the fields it leaves at 0. */
soap_device_calibration soap_cost_analytic_calibration(const soap_device_type *dev);

/* ------------------------------------------------------------------ */
/* Simulation                                                          */
/* ------------------------------------------------------------------ */
/* How the replicas of a weight shard synchronise (simulator/taskgraph.c):
 *   ps: every replica sends its gradient to the first replica device, which
 *       updates and sends the weights back;
 *   allreduce: a ring all-reduce, then an update on every replica;
 *   master: the paper's runtime, a two-level tree: each node's lowest
 *       replica device (its master) gathers its node's gradients, the first
 *       node's master gathers the node masters' sums and updates, and the
 *       weights go back down the same tree. */
#define SOAP_SYNC_MODES(X) X(PS, "ps") X(ALLREDUCE, "allreduce") X(MASTER, "master")
typedef enum soap_sync_mode {
#define SOAP_X_ENUM(e, s) SOAP_SYNC_##e,
    SOAP_SYNC_MODES(SOAP_X_ENUM)
#undef SOAP_X_ENUM
    SOAP_SYNC_MODE_COUNT
} soap_sync_mode;
const char *soap_sync_mode_name(soap_sync_mode m);
int soap_sync_mode_parse(const char *s); /* -1 if unknown */

typedef struct soap_sim_options {
    soap_sync_mode sync;  /* default allreduce */
    int no_overlap;       /* 1: weight sync waits for the whole backward pass */
} soap_sim_options;

typedef struct soap_sim soap_sim;

/* A simulator for g on m with costs c (all borrowed: they must outlive it
 * and g and m must not change meanwhile, since it keeps their fingerprints;
 * the simulator looks costs up through c's cache). */
soap_sim *soap_sim_new(const soap_graph *g, const soap_machine *m, soap_costs *c,
                       const soap_sim_options *opt, soap_error *err);
/* A simulator like sim: the same graph, machine, options and loaded costs
 * (shared, not re-read: a soap_costs_share handle), with a cost cache and a
 * task graph of its own; it has simulated nothing yet. The clone may be used
 * on another thread while sim is used on this one (sim itself is only read
 * here: taking a clone of a simulator that is in use elsewhere is fine).
 * Free it with soap_sim_free; it must not outlive g and m, but may outlive
 * sim and its costs handle. */
soap_sim *soap_sim_clone(const soap_sim *sim, soap_error *err);
void soap_sim_free(soap_sim *sim);

/* The cost of one task of op (region, on a device of type dev) through the
 * simulator's costs and cache: what the task graph uses. */
soap_task_cost soap_sim_task_cost(soap_sim *sim, int op, const soap_region *region,
                                  const soap_device_type *dev);

/* Builds the task graph of s and runs a full simulation; returns the
 * iteration time in seconds. s must be valid for the simulator's graph and
 * machine: strategies are checked where they enter (soap_strategy_load,
 * soap_strategy_read_json, soap_strategy_check), and a strategy made for
 * another graph or machine (op count, device count, fingerprints) is a
 * broken invariant here (SOAP_ASSERT). err is kept for the signature and
 * only set with a negative return for a NULL simulator or strategy. */
double soap_sim_full(soap_sim *sim, const soap_strategy *s, soap_error *err);

/* Changes op's config in the current task graph and timeline and re-simulates
 * only what moves; gives exactly the result of soap_sim_full on the changed
 * strategy. Returns the new iteration time. The config must be valid. */
double soap_sim_delta(soap_sim *sim, int op, const soap_config *c);
/* The same, for a search that only needs to know whether the new time is
 * at most `limit` (a Metropolis-Hastings step that drew its threshold
 * first): as soon as the new time is sure to exceed the limit (a device's
 * or link's total task time, or a task that ends, beyond it) the change is
 * undone at once, *exact (may be NULL) is 0, and the value returned is a
 * lower bound of the new time, above the limit. Otherwise *exact is 1 and
 * it is soap_sim_delta. limit = INFINITY is soap_sim_delta. */
double soap_sim_delta_limit(soap_sim *sim, int op, const soap_config *c, double limit,
                            int *exact);
/* A lower bound (seconds) of the iteration time soap_sim_delta(sim, op, c)
 * would give, from the current resource totals and c's compute costs
 * alone: no task is built and nothing changes but the cost cache. Costs
 * O(tasks of op, of its edges and of its weights' synchronisation + the
 * resources). A search that knows its acceptance limit first can reject a
 * proposal without a delta when this bound is already above the limit. */
double soap_sim_bound_change(soap_sim *sim, int op, const soap_config *c);
/* The same for several ops at once: op ops[i] gets config cfgs[i] (n >= 0,
 * each op at most once; an op whose config is unchanged is left alone), in
 * one delta whose result is bitwise that of soap_sim_full on the changed
 * strategy, with soap_sim_delta_limit's limit and *exact; soap_sim_undo
 * reverts all of them. soap_sim_delta_limit is its n = 1 case. A search
 * moves the members of a group of ops that share weights together with
 * it. */
double soap_sim_delta_many(soap_sim *sim, int n, const int *ops, const soap_config *cfgs,
                           double limit, int *exact);
/* soap_sim_bound_change for the change of soap_sim_delta_many: a lower
 * bound of the iteration time it would give. soap_sim_bound_change is its
 * n = 1 case. */
double soap_sim_bound_change_many(soap_sim *sim, int n, const int *ops,
                                  const soap_config *cfgs);
/* Reverts the last soap_sim_delta (a rejected proposal); nothing after a
 * delta_limit that already undid itself. */
void soap_sim_undo(soap_sim *sim);
/* The strategy currently simulated (owned by sim). */
const soap_strategy *soap_sim_strategy(const soap_sim *sim);

typedef struct soap_sim_result {
    double iteration_s;             /* last end time */
    double throughput;              /* samples per second */
    int ndevices;
    double *busy_s;                 /* per device: compute time, owned */
    double *peak_mem;               /* per device: bytes, owned */
    int over_capacity;              /* devices whose peak exceeds capacity */
    double bytes_by_kind[SOAP_LINK_KIND_COUNT]; /* bytes moved per link kind */
    double bytes_total;             /* bytes moved between devices (each
                                       transfer once, whatever its hops) */
    double critical_path_s;         /* longest path of task times plus waits
                                       for devices and links */
    double lb_work_s;               /* total compute / devices */
    double lb_critical_s;           /* longest path with free communication */
    double lb_link_s;               /* busiest link direction: bytes / bw */
    double lb_s;                    /* the largest bound */
    long ntasks, ncompute, ncomm, nsync;
    long costs_measured, costs_analytic;
} soap_sim_result;

/* Figures of the last simulation (full or delta). */
void soap_sim_result_get(soap_sim *sim, soap_sim_result *r);
/* The task count of the last simulation's task graph (soap_sim_result
 * ntasks) without computing the other figures: O(1), allocates nothing; 0
 * before any simulation. After soap_sim_undo, the restored graph's. */
long soap_sim_ntasks(const soap_sim *sim);
void soap_sim_result_free(soap_sim_result *r);

/* Chrome trace event file (one track per device and per link direction,
 * one event per task) and DOT task graph of the last simulation. */
soap_status soap_sim_write_trace(const soap_sim *sim, const char *path, soap_error *err);
soap_status soap_sim_write_dot(const soap_sim *sim, const char *path, soap_error *err);

/* ------------------------------------------------------------------ */
/* Calibration of the analytic costs                                   */
/* ------------------------------------------------------------------ */
/* One measured training throughput: `model` (built-in name or model file)
 * trained data parallel on the first `devices` devices at global batch
 * `batch`, `samples_per_s` samples per second. */
typedef struct soap_calib_row {
    char model[256];
    int64_t batch;
    int devices;
    double samples_per_s;
    int line;             /* in the file it came from */
} soap_calib_row;

/* Reads a measurement file: '#' comment lines, the header
 * "model,batch,devices,samples_per_s", then one row per line. Errors name
 * the file and line. *rows is owned by the caller (soap_calib_rows_free). */
soap_status soap_calib_read_csv(const char *path, soap_calib_row **rows, int *nrows,
                                soap_error *err);
void soap_calib_rows_free(soap_calib_row *rows);

typedef struct soap_calib_result {
    int type;                    /* the device type fitted */
    soap_device_calibration cal; /* its fitted calibration */
    int nrows;
    double *predicted;           /* samples/s per row with cal, owned */
    double rms_log;              /* root mean square of ln(predicted time /
                                    measured time) */
    int iterations;              /* of the best fit */
    long simulations;            /* full simulations the fit ran */
} soap_calib_result;
void soap_calib_result_free(soap_calib_result *r);

/* Fits the calibration of device type `type_name` of m (NULL: the type of
 * device 0) to the rows: least squares on log time over gemm_eff, conv_eff,
 * winograd and mem_eff, each kept in its range (simulator/calibrate.c).
 * Every row is simulated data parallel with the analytic costs (a measured
 * cost table would hide what is fitted). Needs at least 4 rows; a row's
 * model must load, its devices must exist and be of that type. `source`
 * names the measurements in messages (their file). r is zeroed first. */
soap_status soap_calibrate(const soap_machine *m, const char *type_name,
                           const soap_calib_row *rows, int nrows, const char *source,
                           soap_calib_result *r, soap_error *err);

#ifdef __cplusplus
}
#endif
#endif /* SOAP_SIM_H */
