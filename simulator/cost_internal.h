/* cost_internal.h: what the cost files of simulator/ share (internal to
 * soap_sim, not installed): the two built-in cost providers, listed by the
 * registry in costs.c. */
#ifndef SOAP_COST_INTERNAL_H
#define SOAP_COST_INTERNAL_H

#include "soap_sim.h"

/* cost_analytic.c: the roofline model (always answers). */
extern const soap_cost_ops soap_cost_provider_analytic;
/* cost_table.c: a measured cost table file (answers what it holds). */
extern const soap_cost_ops soap_cost_provider_table;

#endif
