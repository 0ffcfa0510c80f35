/* groups.c: moves that respect shared weights: the groups of a search space
 * (ops that share a weight and have the same config space), the move sets
 * (op, tied, mixed: their names and parser), one proposal of a move set
 * (soap_space_propose, the Metropolis-Hastings argument is in soap_search.h)
 * and the units greedy search and check-local walk for a move set.
 *
 * Why groups: unrolled RNN steps share their layer's weights (and the steps
 * of a model share one embedding, attention or projection), and a config
 * change of one step alone mostly adds weight synchronisation between the
 * step and its siblings; giving every step the same config at once moves
 * the whole layer, which single-op proposals reach only through many
 * uphill steps.
 */
#include <string.h>

#include "search_internal.h"

static const char *const move_names[SOAP_MOVES_COUNT] = {
#define SOAP_X_NAME(e, s) s,
    SOAP_SEARCH_MOVES(SOAP_X_NAME)
#undef SOAP_X_NAME
};

const char *soap_search_moves_name(soap_search_moves m)
{
    SOAP_ASSERT(m >= 0 && m < SOAP_MOVES_COUNT);
    return move_names[m];
}

soap_status soap_search_moves_parse(const char *s, soap_search_moves *out, soap_error *err)
{
    if (!s || !out)
        return soap_error_set(err, SOAP_ERR_INVALID, "moves: no text given");
    for (int m = 0; m < SOAP_MOVES_COUNT; m++)
        if (strcmp(s, move_names[m]) == 0) {
            *out = (soap_search_moves)m;
            return SOAP_OK;
        }
    char list[64] = "";
    for (int m = 0; m < SOAP_MOVES_COUNT; m++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", m ? ", " : "", move_names[m]);
    }
    return soap_error_set(err, SOAP_ERR_INVALID, "moves '%s': expected one of %s", s, list);
}

/* ------------------------------------------------------------------ */
/* Groups                                                              */
/* ------------------------------------------------------------------ */
static int uf_find(int *parent, int x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* 1 when every config valid for op a is valid for op b and back: the same
 * output shape and dim kinds and the same candidate degree vectors in the
 * same order (so that soap_space_random draws alike for both). */
static int same_config_space(const soap_space *s, const soap_graph *g, int a, int b)
{
    const soap_shape *x = &g->ops[a].out, *y = &g->ops[b].out;
    if (x->ndims != y->ndims)
        return 0;
    for (int d = 0; d < x->ndims; d++)
        if (x->size[d] != y->size[d] || x->kind[d] != y->kind[d])
            return 0;
    int n = soap_space_ndegrees(s, a);
    if (n != soap_space_ndegrees(s, b))
        return 0;
    soap_config ca, cb;
    for (int v = 0; v < n; v++) {
        search_space_config_vec(s, a, v, &ca);
        search_space_config_vec(s, b, v, &cb);
        if (!soap_config_equal(&ca, &cb))
            return 0;
    }
    return 1;
}

void search_groups_build(const soap_space *s, const soap_graph *g, search_groups *out)
{
    int nops = g->nops;
    memset(out, 0, sizeof *out);
    /* Components of the "uses the same weight" relation. */
    int *parent = soap_xmalloc((size_t)nops * sizeof *parent);
    int *first_user = soap_xmalloc((size_t)(g->nweights ? g->nweights : 1) * sizeof *first_user);
    for (int op = 0; op < nops; op++)
        parent[op] = op;
    for (int w = 0; w < g->nweights; w++)
        first_user[w] = -1;
    for (int op = 0; op < nops; op++)
        for (int k = 0; k < g->ops[op].nweights; k++) {
            int w = g->ops[op].weights[k];
            if (first_user[w] < 0) {
                first_user[w] = op;
                continue;
            }
            int a = uf_find(parent, first_user[w]), b = uf_find(parent, op);
            if (a != b)
                parent[b < a ? a : b] = b < a ? b : a;
        }
    /* Each component split by config space: an op joins the first group of
     * its component whose first member has its space, else opens one.
     * Groups open in op order, so group ids follow their first member. */
    out->group_of = soap_xmalloc((size_t)nops * sizeof *out->group_of);
    int *lead = soap_xmalloc((size_t)nops * sizeof *lead);     /* per group */
    int *next = soap_xmalloc((size_t)nops * sizeof *next);     /* per group */
    int *head = soap_xmalloc((size_t)nops * sizeof *head);     /* per root */
    int *size = soap_xcalloc((size_t)nops, sizeof *size);      /* per group */
    for (int op = 0; op < nops; op++)
        head[op] = -1;
    int ng = 0;
    for (int op = 0; op < nops; op++) {
        int root = uf_find(parent, op);
        int gid = -1;
        for (int c = head[root]; c >= 0 && gid < 0; c = next[c])
            if (same_config_space(s, g, lead[c], op))
                gid = c;
        if (gid < 0) {
            gid = ng++;
            lead[gid] = op;
            next[gid] = head[root];
            head[root] = gid;
        }
        out->group_of[op] = gid;
        size[gid]++;
    }
    out->ngroups = ng;
    out->start = soap_xmalloc((size_t)(ng + 1) * sizeof *out->start);
    out->members = soap_xmalloc((size_t)(nops ? nops : 1) * sizeof *out->members);
    out->shared = soap_xmalloc((size_t)(ng ? ng : 1) * sizeof *out->shared);
    out->ident = soap_xmalloc((size_t)(nops ? nops : 1) * sizeof *out->ident);
    out->start[0] = 0;
    for (int gid = 0; gid < ng; gid++) {
        out->start[gid + 1] = out->start[gid] + size[gid];
        if (size[gid] > 1)
            out->shared[out->nshared++] = gid;
        if (size[gid] > out->max_size)
            out->max_size = size[gid];
        size[gid] = 0;
    }
    for (int op = 0; op < nops; op++) {
        int gid = out->group_of[op];
        out->members[out->start[gid] + size[gid]++] = op;
        out->ident[op] = op;
    }
    if (out->max_size < 1)
        out->max_size = 1;
    free(parent);
    free(first_user);
    free(lead);
    free(next);
    free(head);
    free(size);
}

void search_groups_free(search_groups *gr)
{
    free(gr->group_of);
    free(gr->start);
    free(gr->members);
    free(gr->shared);
    free(gr->ident);
    memset(gr, 0, sizeof *gr);
}

int soap_space_ngroups(const soap_space *s)
{
    SOAP_ASSERT(s);
    return search_space_groups(s)->ngroups;
}

int soap_space_nshared(const soap_space *s)
{
    SOAP_ASSERT(s);
    return search_space_groups(s)->nshared;
}

int soap_space_group_of(const soap_space *s, int op)
{
    SOAP_ASSERT(s);
    const search_groups *gr = search_space_groups(s);
    SOAP_ASSERT(op >= 0 && op < gr->start[gr->ngroups]);
    return gr->group_of[op];
}

int soap_space_group_members(const soap_space *s, int group, const int **members)
{
    SOAP_ASSERT(s && members);
    const search_groups *gr = search_space_groups(s);
    SOAP_ASSERT(group >= 0 && group < gr->ngroups);
    *members = gr->members + gr->start[group];
    return gr->start[group + 1] - gr->start[group];
}

/* ------------------------------------------------------------------ */
/* Proposals                                                           */
/* ------------------------------------------------------------------ */
/* 1 when every member of the group has the same config in cur. */
static int members_agree(const soap_strategy *cur, const int *m, int n)
{
    for (int i = 1; i < n; i++)
        if (!soap_config_equal(&cur->configs[m[i]], &cur->configs[m[0]]))
            return 0;
    return 1;
}

int soap_space_propose(const soap_space *s, soap_search_moves moves, const soap_strategy *cur,
                       gsl_rng *rng, const int **ops, soap_config *cfg)
{
    SOAP_ASSERT(s && cur && rng && ops && cfg);
    SOAP_ASSERT(moves >= 0 && moves < SOAP_MOVES_COUNT);
    const search_groups *gr = search_space_groups(s);
    int nops = gr->start[gr->ngroups];
    SOAP_ASSERT(cur->nops == nops);
    int group_move = moves == SOAP_MOVES_TIED ||
                     (moves == SOAP_MOVES_MIXED && gr->nshared > 0 &&
                      gsl_rng_uniform_int(rng, 2) == 0);
    if (!group_move) {
        int op = (int)gsl_rng_uniform_int(rng, (unsigned long)nops);
        soap_space_random(s, op, rng, cfg);
        *ops = &gr->ident[op];
        return 1;
    }
    int gid = (int)gsl_rng_uniform_int(rng, (unsigned long)gr->ngroups);
    const int *m = gr->members + gr->start[gid];
    int n = gr->start[gid + 1] - gr->start[gid];
    *ops = m;
    if (!members_agree(cur, m, n))
        return 0;
    soap_space_random(s, m[0], rng, cfg);
    return n;
}

/* ------------------------------------------------------------------ */
/* Neighbourhood units                                                 */
/* ------------------------------------------------------------------ */
int search_units(const soap_space *s, soap_search_moves moves)
{
    const search_groups *gr = search_space_groups(s);
    int nops = gr->start[gr->ngroups];
    switch (moves) {
    case SOAP_MOVES_TIED: return gr->ngroups;
    case SOAP_MOVES_MIXED: return nops + gr->nshared;
    default: return nops;
    }
}

int search_unit(const soap_space *s, soap_search_moves moves, int u, const int **ops)
{
    const search_groups *gr = search_space_groups(s);
    int nops = gr->start[gr->ngroups];
    SOAP_ASSERT(u >= 0 && u < search_units(s, moves));
    int gid;
    if (moves == SOAP_MOVES_TIED)
        gid = u;
    else if (u < nops) {
        *ops = &gr->ident[u];
        return 1;
    } else
        gid = gr->shared[u - nops];
    *ops = gr->members + gr->start[gid];
    return gr->start[gid + 1] - gr->start[gid];
}
