/* config.c: the parallel configuration of one operator: the single-task
 * config, the output region of each task, equality, printing and the validity
 * check against the op and a machine size.
 *
 * Task t has the row-major multi-index of t over degree[] (dim 0 slowest) and
 * computes, on each dim d of size S split k ways at index i, the half-open
 * block [S*i/k, S*(i+1)/k). The check requires k to divide S, so every block
 * has the same size S/k.
 */
#include <stdio.h>
#include <string.h>

#include "soap_strategies.h"

soap_config soap_config_single(const soap_graph *g, int op, int device)
{
    SOAP_ASSERT(g && op >= 0 && op < g->nops);
    soap_config c;
    /* memset so that unused slots compare and print the same everywhere. */
    memset(&c, 0, sizeof c);
    c.ndims = g->ops[op].out.ndims;
    for (int d = 0; d < SOAP_MAX_DIMS; d++)
        c.degree[d] = 1;
    c.ntasks = 1;
    c.device[0] = (int16_t)device;
    return c;
}

soap_region soap_config_task_region(const soap_graph *g, int op, const soap_config *c,
                                    int t)
{
    SOAP_ASSERT(g && op >= 0 && op < g->nops && c);
    const soap_shape *s = &g->ops[op].out;
    SOAP_ASSERT(c->ndims == s->ndims);
    SOAP_ASSERT(t >= 0 && t < c->ntasks);
    soap_region r;
    memset(&r, 0, sizeof r);
    r.ndims = s->ndims;
    /* Peel the multi-index off from the fastest dim (the last one). */
    int rest = t;
    for (int d = s->ndims - 1; d >= 0; d--) {
        int k = c->degree[d];
        SOAP_ASSERT(k >= 1);
        int i = rest % k;
        rest /= k;
        r.lo[d] = s->size[d] * i / k;
        r.hi[d] = s->size[d] * (i + 1) / k;
    }
    SOAP_ASSERT(rest == 0);
    return r;
}

int soap_config_equal(const soap_config *a, const soap_config *b)
{
    SOAP_ASSERT(a && b);
    if (a->ndims != b->ndims || a->ntasks != b->ntasks || a->ndims < 0 ||
        a->ndims > SOAP_MAX_DIMS)
        return 0;
    for (int d = 0; d < a->ndims; d++)
        if (a->degree[d] != b->degree[d])
            return 0;
    if (a->ntasks < 0 || a->ntasks > SOAP_MAX_TASKS)
        return 0;
    for (int t = 0; t < a->ntasks; t++)
        if (a->device[t] != b->device[t])
            return 0;
    return 1;
}

/* Appends printf-style to buf[len] at *used; stops quietly when full (the
 * result is then truncated, still NUL-terminated). */
static void append(char *buf, size_t len, size_t *used, const char *fmt, int v)
{
    if (*used + 1 >= len)
        return;
    int w = snprintf(buf + *used, len - *used, fmt, v);
    if (w < 0)
        return;
    *used += (size_t)w < len - *used ? (size_t)w : len - *used - 1;
}

char *soap_config_str(const soap_config *c, char *buf, size_t len)
{
    SOAP_ASSERT(c && buf && len > 0);
    size_t used = 0;
    buf[0] = '\0';
    append(buf, len, &used, "degrees [", 0);
    for (int d = 0; d < c->ndims && d < SOAP_MAX_DIMS; d++)
        append(buf, len, &used, d ? ",%d" : "%d", c->degree[d]);
    append(buf, len, &used, "] devices [", 0);
    int n = c->ntasks < 0 ? 0 : (c->ntasks > SOAP_MAX_TASKS ? SOAP_MAX_TASKS : c->ntasks);
    for (int t = 0; t < n; t++)
        append(buf, len, &used, t ? ",%d" : "%d", c->device[t]);
    append(buf, len, &used, "]", 0);
    return buf;
}

soap_status soap_config_check(const soap_graph *g, int op, const soap_config *c,
                              int ndevices, soap_error *err)
{
    if (!g || !c || op < 0 || op >= g->nops)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "config check: expected a graph, an op id in 0..%d and a config",
                              g ? g->nops - 1 : -1);
    const soap_op *o = &g->ops[op];
    const soap_shape *s = &o->out;
    if (c->ndims != s->ndims)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "op '%s': config has %d dims, expected %d (the output's dims)",
                              o->name, c->ndims, s->ndims);
    int64_t product = 1;
    for (int d = 0; d < s->ndims; d++) {
        int k = c->degree[d];
        if (k < 1)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "op '%s': degree %d on dim %d, expected >= 1", o->name, k, d);
        if (k > 1 && s->kind[d] == SOAP_DIM_NONE)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "op '%s': degree %d on dim %d (size %lld), which cannot be "
                                  "partitioned (kind none); expected 1",
                                  o->name, k, d, (long long)s->size[d]);
        if (s->size[d] % k != 0)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "op '%s': degree %d does not divide dim %d (%s, size %lld)",
                                  o->name, k, d, soap_dim_kind_name(s->kind[d]),
                                  (long long)s->size[d]);
        product *= k;
        if (product > SOAP_MAX_TASKS)
            break;
    }
    if (product > SOAP_MAX_TASKS)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "op '%s': the degrees make more than %d tasks (at most %d allowed)",
                              o->name, SOAP_MAX_TASKS, SOAP_MAX_TASKS);
    if (c->ntasks != product)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "op '%s': config has %d tasks, expected %lld (the product of the "
                              "degrees)",
                              o->name, c->ntasks, (long long)product);
    for (int t = 0; t < c->ntasks; t++)
        if (c->device[t] < 0 || c->device[t] >= ndevices)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "op '%s': task %d is on device %d, expected a device in "
                                  "0..%d",
                                  o->name, t, c->device[t], ndevices - 1);
    return SOAP_OK;
}
