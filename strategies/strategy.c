/* strategy.c: strategies (one config per operator plus the names and
 * fingerprints of the model and machine they were made for): creation,
 * copies, and the check that a strategy fits a given graph and machine.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "soap_strategies.h"

/* Copies a name, truncated to SOAP_NAME_MAX - 1 bytes. */
static void copy_name(char dst[SOAP_NAME_MAX], const char *src)
{
    snprintf(dst, SOAP_NAME_MAX, "%s", src ? src : "");
}

soap_strategy *soap_strategy_new(const soap_graph *g, const soap_machine *m)
{
    SOAP_ASSERT(g && m && m->ndevices >= 1);
    soap_strategy *s = soap_xcalloc(1, sizeof *s);
    s->nops = g->nops;
    s->configs = soap_xcalloc((size_t)(g->nops ? g->nops : 1), sizeof *s->configs);
    for (int i = 0; i < g->nops; i++)
        s->configs[i] = soap_config_single(g, i, 0);
    copy_name(s->model, g->name);
    copy_name(s->machine, m->name);
    s->model_fp = soap_graph_fingerprint(g);
    s->machine_fp = soap_machine_fingerprint(m);
    s->ndevices = m->ndevices;
    return s;
}

soap_strategy *soap_strategy_clone(const soap_strategy *s)
{
    SOAP_ASSERT(s);
    soap_strategy *c = soap_xmalloc(sizeof *c);
    *c = *s;
    c->configs = soap_xmalloc((size_t)(s->nops ? s->nops : 1) * sizeof *c->configs);
    if (s->nops)
        memcpy(c->configs, s->configs, (size_t)s->nops * sizeof *c->configs);
    return c;
}

void soap_strategy_copy(soap_strategy *dst, const soap_strategy *src)
{
    SOAP_ASSERT(dst && src && dst->nops == src->nops);
    if (dst == src)
        return;
    soap_config *keep = dst->configs;
    *dst = *src;
    dst->configs = keep;
    if (src->nops)
        memcpy(dst->configs, src->configs, (size_t)src->nops * sizeof *dst->configs);
}

void soap_strategy_free(soap_strategy *s)
{
    if (!s)
        return;
    free(s->configs);
    free(s);
}

soap_status soap_strategy_check(const soap_strategy *s, const soap_graph *g,
                                const soap_machine *m, soap_error *err)
{
    if (!s || !g || !m)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "strategy check: expected a strategy, a graph and a machine");
    uint64_t gfp = soap_graph_fingerprint(g);
    if (s->model_fp != gfp || s->nops != g->nops)
        return soap_error_set(err, SOAP_ERR_MISMATCH,
                              "strategy was made for model '%s' (fingerprint %016" PRIx64
                              ", %d ops) but the model given is '%s' (fingerprint %016" PRIx64
                              ", %d ops)",
                              s->model, s->model_fp, s->nops, g->name, gfp, g->nops);
    uint64_t mfp = soap_machine_fingerprint(m);
    if (s->machine_fp != mfp || s->ndevices != m->ndevices)
        return soap_error_set(err, SOAP_ERR_MISMATCH,
                              "strategy was made for machine '%s' (fingerprint %016" PRIx64
                              ", %d devices) but the machine given is '%s' (fingerprint "
                              "%016" PRIx64 ", %d devices)",
                              s->machine, s->machine_fp, s->ndevices, m->name, mfp,
                              m->ndevices);
    for (int i = 0; i < g->nops; i++) {
        soap_status st = soap_config_check(g, i, &s->configs[i], m->ndevices, err);
        if (st != SOAP_OK)
            return st;
    }
    return SOAP_OK;
}
