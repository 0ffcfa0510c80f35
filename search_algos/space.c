/* space.c: the search space of a search: the "SOAP" letters (which dim kinds
 * may be split, whether operators may be placed freely), the candidate
 * degree vectors of every op computed once, uniformly random configs drawn
 * from them without allocating (the proposal hot path), and the
 * neighbourhood of a config (greedy search, check-local). The groups of ops
 * that share weights are groups.c's, computed here once.
 *
 * Uniform here means: the degree vector uniform over the op's vectors, then
 * the devices. With placement freedom a draw is, with probability 1/2, a
 * contiguous block of devices with a uniform start, otherwise every task on
 * an independently uniform device; so both data-parallel-like blocks (rare
 * under independent draws on many devices) and arbitrary placements are
 * reachable and likely. Without it task t runs on device t (OptCNN's
 * assumption: no inter-operator placement).
 */
#include <ctype.h>
#include <string.h>

#include "search_internal.h"

struct soap_space {
    const soap_graph *g;
    int ndevices;
    soap_search_space sp;
    int *nvec;                 /* per op */
    int *first;                /* per op: index of its first vector */
    int (*vec)[SOAP_MAX_DIMS]; /* all ops' vectors */
    int *tasks;                /* product of each vector */
    search_groups groups;      /* ops that share weights (groups.c) */
};

soap_search_space soap_search_space_all(void)
{
    soap_search_space s;
    memset(&s, 0, sizeof s);
    s.dims = soap_dims_mask_all();
    s.placement = 1;
    return s;
}

soap_status soap_search_space_parse(const char *s, soap_search_space *out, soap_error *err)
{
    static const char expected[] =
        "expected one or more of the letters S (sample), O (operator placement), "
        "A (attribute), P (parameter), e.g. SOAP, SAP or S";
    if (!s || !out)
        return soap_error_set(err, SOAP_ERR_INVALID, "search dims: no text given");
    if (!s[0])
        return soap_error_set(err, SOAP_ERR_INVALID, "search dims '': %s", expected);
    soap_search_space r;
    memset(&r, 0, sizeof r);
    for (const char *p = s; *p; p++) {
        int c = toupper((unsigned char)*p);
        int *slot = NULL;
        switch (c) {
        case 'S': slot = &r.dims.allow[SOAP_DIM_SAMPLE]; break;
        case 'A': slot = &r.dims.allow[SOAP_DIM_ATTRIBUTE]; break;
        case 'P': slot = &r.dims.allow[SOAP_DIM_PARAMETER]; break;
        case 'O': slot = &r.placement; break;
        default:
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "search dims '%s': unexpected character '%c' at position "
                                  "%d (%s)",
                                  s, *p, (int)(p - s) + 1, expected);
        }
        if (*slot)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "search dims '%s': letter '%c' given twice (%s)", s, *p,
                                  expected);
        *slot = 1;
    }
    *out = r;
    return SOAP_OK;
}

char *soap_search_space_str(const soap_search_space *sp, char *buf, size_t len)
{
    SOAP_ASSERT(sp && buf && len >= 5);
    size_t n = 0;
    if (sp->dims.allow[SOAP_DIM_SAMPLE])
        buf[n++] = 'S';
    if (sp->placement)
        buf[n++] = 'O';
    if (sp->dims.allow[SOAP_DIM_ATTRIBUTE])
        buf[n++] = 'A';
    if (sp->dims.allow[SOAP_DIM_PARAMETER])
        buf[n++] = 'P';
    buf[n] = '\0';
    return buf;
}

soap_space *soap_space_new(const soap_graph *g, int ndevices, const soap_search_space *sp)
{
    SOAP_ASSERT(g && sp && ndevices >= 1);
    soap_space *s = soap_xcalloc(1, sizeof *s);
    s->g = g;
    s->ndevices = ndevices;
    s->sp = *sp;
    s->nvec = soap_xcalloc((size_t)g->nops, sizeof *s->nvec);
    s->first = soap_xcalloc((size_t)g->nops, sizeof *s->first);
    int total = 0;
    for (int op = 0; op < g->nops; op++) {
        s->nvec[op] = soap_config_degrees(g, op, ndevices, &sp->dims, NULL, 0);
        SOAP_ASSERT(s->nvec[op] >= 1);
        s->first[op] = total;
        total += s->nvec[op];
    }
    s->vec = soap_xcalloc((size_t)total, sizeof *s->vec);
    s->tasks = soap_xcalloc((size_t)total, sizeof *s->tasks);
    for (int op = 0; op < g->nops; op++) {
        int n = soap_config_degrees(g, op, ndevices, &sp->dims, s->vec + s->first[op],
                                    s->nvec[op]);
        SOAP_ASSERT(n == s->nvec[op]);
        for (int v = 0; v < n; v++) {
            int k = 1;
            for (int d = 0; d < SOAP_MAX_DIMS; d++)
                k *= s->vec[s->first[op] + v][d];
            s->tasks[s->first[op] + v] = k;
        }
    }
    search_groups_build(s, g, &s->groups);
    return s;
}

void soap_space_free(soap_space *s)
{
    if (!s)
        return;
    free(s->nvec);
    free(s->first);
    free(s->vec);
    free(s->tasks);
    search_groups_free(&s->groups);
    free(s);
}

int soap_space_ndegrees(const soap_space *s, int op)
{
    SOAP_ASSERT(s && op >= 0 && op < s->g->nops);
    return s->nvec[op];
}

const search_groups *search_space_groups(const soap_space *s)
{
    return &s->groups;
}

const soap_search_space *search_space_spec(const soap_space *s)
{
    return &s->sp;
}

int search_space_vec_tasks(const soap_space *s, int op, int v)
{
    SOAP_ASSERT(v >= 0 && v < s->nvec[op]);
    return s->tasks[s->first[op] + v];
}

/* The config of op with degree vector v, devices not set (task t on t). */
void search_space_config_vec(const soap_space *s, int op, int v, soap_config *out)
{
    SOAP_ASSERT(v >= 0 && v < s->nvec[op]);
    const int *deg = s->vec[s->first[op] + v];
    memset(out, 0, sizeof *out);
    out->ndims = s->g->ops[op].out.ndims;
    for (int d = 0; d < SOAP_MAX_DIMS; d++)
        out->degree[d] = deg[d];
    out->ntasks = s->tasks[s->first[op] + v];
    for (int t = 0; t < out->ntasks; t++)
        out->device[t] = (int16_t)t;
}

void soap_space_random(const soap_space *s, int op, gsl_rng *rng, soap_config *out)
{
    SOAP_ASSERT(s && rng && out && op >= 0 && op < s->g->nops);
    int v = (int)gsl_rng_uniform_int(rng, (unsigned long)s->nvec[op]);
    search_space_config_vec(s, op, v, out);
    if (!s->sp.placement)
        return;
    int n = s->ndevices, k = out->ntasks;
    if (gsl_rng_uniform_int(rng, 2) == 0) {
        int start = (int)gsl_rng_uniform_int(rng, (unsigned long)(n - k + 1));
        for (int t = 0; t < k; t++)
            out->device[t] = (int16_t)(start + t);
    } else {
        for (int t = 0; t < k; t++)
            out->device[t] = (int16_t)gsl_rng_uniform_int(rng, (unsigned long)n);
    }
}

void soap_space_random_strategy(const soap_space *s, gsl_rng *rng, soap_strategy *out)
{
    SOAP_ASSERT(s && out && out->nops == s->g->nops);
    for (int op = 0; op < s->g->nops; op++)
        soap_space_random(s, op, rng, &out->configs[op]);
}

/* n^k, or cap + 1 when it exceeds cap. */
static long power_capped(int n, int k, long cap)
{
    long p = 1;
    for (int i = 0; i < k; i++) {
        p *= n;
        if (p > cap)
            return cap + 1;
    }
    return p;
}

/* Device assignments of k tasks the neighbourhood enumerates (all of them
 * up to SOAP_SEARCH_ALL_ASSIGN, else the contiguous blocks; 1 without
 * placement freedom). */
static long assignments(const soap_space *s, int k)
{
    if (!s->sp.placement)
        return 1;
    long all = power_capped(s->ndevices, k, SOAP_SEARCH_ALL_ASSIGN);
    return all <= SOAP_SEARCH_ALL_ASSIGN ? all : (long)(s->ndevices - k + 1);
}

/* Assignment `a` of k tasks (see assignments) into c (c->ntasks set): every
 * assignment as digits base n (task 0 the most significant), or block
 * start a. */
static void assign(const soap_space *s, long a, soap_config *c)
{
    int n = s->ndevices, k = c->ntasks;
    if (!s->sp.placement) {
        for (int t = 0; t < k; t++)
            c->device[t] = (int16_t)t;
        return;
    }
    if (power_capped(n, k, SOAP_SEARCH_ALL_ASSIGN) <= SOAP_SEARCH_ALL_ASSIGN) {
        for (int t = k - 1; t >= 0; t--) {
            c->device[t] = (int16_t)(a % n);
            a /= n;
        }
    } else {
        for (int t = 0; t < k; t++)
            c->device[t] = (int16_t)(a + t);
    }
}

int soap_space_neighbour(const soap_space *s, int op, const soap_config *current,
                         soap_space_cursor *cur, soap_config *out)
{
    SOAP_ASSERT(s && current && cur && out && op >= 0 && op < s->g->nops);
    int nvec = s->nvec[op];
    int n = s->ndevices;
    for (;;) {
        if (cur->vec < nvec) {
            int k = s->tasks[s->first[op] + cur->vec];
            if (cur->assign >= assignments(s, k)) {
                cur->vec++;
                cur->assign = 0;
                continue;
            }
            search_space_config_vec(s, op, cur->vec, out);
            assign(s, cur->assign, out);
            cur->assign++;
            if (soap_config_equal(out, current))
                continue;
            return 1;
        }
        /* Moves of one task of the current config; only needed when its
         * assignments were not all enumerated above. */
        if (cur->vec > nvec || !s->sp.placement ||
            power_capped(n, current->ntasks, SOAP_SEARCH_ALL_ASSIGN) <= SOAP_SEARCH_ALL_ASSIGN)
            return 0;
        if (cur->assign >= (long)current->ntasks * n) {
            cur->vec++;
            return 0;
        }
        int t = (int)(cur->assign / n), d = (int)(cur->assign % n);
        cur->assign++;
        if (current->device[t] == d)
            continue;
        *out = *current;
        out->device[t] = (int16_t)d;
        return 1;
    }
}
