/* strategies_internal.h: what the files of strategies/ share (internal to
 * soap_strategies): the ops tables of the built-in strategies, listed by
 * registry.c, and small helpers the built-ins use to build configs.
 */
#ifndef SOAP_STRATEGIES_INTERNAL_H
#define SOAP_STRATEGIES_INTERNAL_H

#include "soap_strategies.h"

/* One per builtin_*.c file. */
extern const soap_strategy_ops soap_strategy_data;
extern const soap_strategy_ops soap_strategy_model;
extern const soap_strategy_ops soap_strategy_owt;
extern const soap_strategy_ops soap_strategy_expert;
extern const soap_strategy_ops soap_strategy_random;

/* The largest divisor of `size` that is <= limit (limit >= 1), capped at
 * SOAP_MAX_TASKS since no config holds more tasks. */
int soap_strategy_largest_divisor(int64_t size, int limit);

/* The first output dim of `op` whose kind is `kind`, or -1. */
int soap_strategy_find_dim(const soap_graph *g, int op, soap_dim_kind kind);

/* A config of `op` with degree k on dim `dim` (1 elsewhere), task i on
 * devices[i]. dim < 0 or k == 1 gives one task on devices[0]. */
soap_config soap_strategy_split(const soap_graph *g, int op, int dim, int k,
                                const int *devices);

/* The data-parallel config of one op on the first `ndevices` devices: its
 * SAMPLE dim split over the largest divisor of its size <= ndevices, task i on
 * device i; one task on device 0 when it has no SAMPLE dim. Shared by data,
 * owt and expert. */
soap_config soap_strategy_data_config(const soap_graph *g, int op, int ndevices);

#endif /* SOAP_STRATEGIES_INTERNAL_H */
