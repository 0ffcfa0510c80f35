/* cost_internal.h: what the cost files of simulator/ share (internal to
 * soap_sim, not installed): the two built-in cost providers, listed by the
 * registry in costs.c, and the partition text of cost tables. */
#ifndef SOAP_COST_INTERNAL_H
#define SOAP_COST_INTERNAL_H

#include "soap_sim.h"

/* cost_analytic.c: the roofline model (always answers). */
extern const soap_cost_ops soap_cost_provider_analytic;
/* cost_table.c: a measured cost table file (answers what it holds). */
extern const soap_cost_ops soap_cost_provider_table;

/* "[16;64;56;56]": a partition's sizes as cost tables write them. Returns
 * buf (truncated to len). */
char *soap_cost_partition_str(const soap_shape *part, char *buf, size_t len);

#endif
