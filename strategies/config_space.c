/* config_space.c: the configuration space of one operator: which dim kinds
 * may be split (soap_dims_mask), the enumeration of valid degree vectors in a
 * fixed order, and uniformly random configs.
 *
 * Order of the enumeration: lexicographic over (degree[0], degree[1], ...),
 * each ascending, i.e. dim 0 slowest. Only divisors of a dim's size can be
 * degrees, and only those <= max_tasks, so the space of an op is small (a few
 * hundred vectors at most for 64 tasks and 4 dims).
 *
 * soap_config_random sits on the search's proposal path, so it allocates
 * nothing: it counts the space, draws an index and walks the enumeration
 * again to that index.
 */
#include <ctype.h>
#include <string.h>

#include "soap_strategies.h"

soap_dims_mask soap_dims_mask_all(void)
{
    soap_dims_mask m;
    memset(&m, 0, sizeof m);
    m.allow[SOAP_DIM_SAMPLE] = 1;
    m.allow[SOAP_DIM_ATTRIBUTE] = 1;
    m.allow[SOAP_DIM_PARAMETER] = 1;
    return m;
}

soap_status soap_dims_mask_parse(const char *s, soap_dims_mask *out, soap_error *err)
{
    if (!s || !out)
        return soap_error_set(err, SOAP_ERR_INVALID, "dims mask: no text given");
    soap_dims_mask m;
    memset(&m, 0, sizeof m);
    if (!s[0])
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "dims mask '': expected one or more of the letters S (sample), "
                              "A (attribute), P (parameter)");
    for (const char *p = s; *p; p++) {
        switch (toupper((unsigned char)*p)) {
        case 'S': m.allow[SOAP_DIM_SAMPLE] = 1; break;
        case 'A': m.allow[SOAP_DIM_ATTRIBUTE] = 1; break;
        case 'P': m.allow[SOAP_DIM_PARAMETER] = 1; break;
        default:
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "dims mask '%s': unexpected character '%c' at position %d "
                                  "(expected the letters S, A, P)",
                                  s, *p, (int)(p - s) + 1);
        }
    }
    *out = m;
    return SOAP_OK;
}

/* The walk over the space: per dim the list of its candidate degrees. */
typedef struct space {
    int ndims;
    int ncand[SOAP_MAX_DIMS];
    int cand[SOAP_MAX_DIMS][SOAP_MAX_TASKS]; /* ascending */
    int max_tasks;
} space;

static void space_init(space *sp, const soap_graph *g, int op, int max_tasks,
                       const soap_dims_mask *mask)
{
    SOAP_ASSERT(g && op >= 0 && op < g->nops);
    const soap_shape *s = &g->ops[op].out;
    soap_dims_mask all = soap_dims_mask_all();
    if (!mask)
        mask = &all;
    if (max_tasks > SOAP_MAX_TASKS)
        max_tasks = SOAP_MAX_TASKS;
    if (max_tasks < 1)
        max_tasks = 1;
    sp->ndims = s->ndims;
    sp->max_tasks = max_tasks;
    for (int d = 0; d < s->ndims; d++) {
        sp->ncand[d] = 0;
        int splittable = s->kind[d] != SOAP_DIM_NONE && mask->allow[s->kind[d]];
        int top = splittable ? max_tasks : 1;
        for (int k = 1; k <= top; k++)
            if (s->size[d] % k == 0)
                sp->cand[d][sp->ncand[d]++] = k;
        SOAP_ASSERT(sp->ncand[d] >= 1);
    }
}

/* Visits the vectors in order from dim d on, with `product` of the degrees
 * chosen so far in cur[0..d). Counts them into *count; when *count reaches
 * `stop` (>= 0) the vector is copied to *hit and the walk ends (returns 1).
 * Vectors are written to out[*count] while *count < cap. */
static int walk(const space *sp, int d, int product, int cur[SOAP_MAX_DIMS], int *count,
                int (*out)[SOAP_MAX_DIMS], int cap, int stop, int hit[SOAP_MAX_DIMS])
{
    if (d >= sp->ndims || d >= SOAP_MAX_DIMS) { /* the second bounds the arrays for gcc */
        if (*count == stop) {
            memcpy(hit, cur, sizeof(int) * SOAP_MAX_DIMS);
            return 1;
        }
        if (out && *count < cap)
            memcpy(out[*count], cur, sizeof(int) * SOAP_MAX_DIMS);
        (*count)++;
        return 0;
    }
    for (int i = 0; i < sp->ncand[d]; i++) {
        int k = sp->cand[d][i];
        if ((int64_t)product * k > sp->max_tasks)
            break; /* ascending: every later one is too big as well */
        cur[d] = k;
        if (walk(sp, d + 1, product * k, cur, count, out, cap, stop, hit))
            return 1;
    }
    cur[d] = 1;
    return 0;
}

int soap_config_degrees(const soap_graph *g, int op, int max_tasks,
                        const soap_dims_mask *mask, int (*out)[SOAP_MAX_DIMS], int cap)
{
    space sp;
    space_init(&sp, g, op, max_tasks, mask);
    int cur[SOAP_MAX_DIMS] = {1, 1, 1, 1};
    int hit[SOAP_MAX_DIMS];
    int count = 0;
    walk(&sp, 0, 1, cur, &count, out, cap < 0 ? 0 : cap, -1, hit);
    return count;
}

soap_config soap_config_random(const soap_graph *g, int op, int ndevices,
                               const soap_dims_mask *mask, gsl_rng *rng)
{
    SOAP_ASSERT(rng && ndevices >= 1);
    /* More tasks than devices only queue tasks behind each other on some
     * device, so the space a search draws from stops at the machine size. */
    space sp;
    space_init(&sp, g, op, ndevices, mask);
    int cur[SOAP_MAX_DIMS] = {1, 1, 1, 1};
    int hit[SOAP_MAX_DIMS] = {1, 1, 1, 1};
    int count = 0;
    walk(&sp, 0, 1, cur, &count, NULL, 0, -1, hit);
    SOAP_ASSERT(count >= 1); /* all ones is always there */
    int pick = (int)gsl_rng_uniform_int(rng, (unsigned long)count);
    int seen = 0;
    int found = walk(&sp, 0, 1, cur, &seen, NULL, 0, pick, hit);
    SOAP_ASSERT(found);

    soap_config c = soap_config_single(g, op, 0);
    c.ntasks = 1;
    for (int d = 0; d < c.ndims; d++) {
        c.degree[d] = hit[d];
        c.ntasks *= hit[d];
    }
    for (int t = 0; t < c.ntasks; t++)
        c.device[t] = (int16_t)gsl_rng_uniform_int(rng, (unsigned long)ndevices);
    return c;
}
