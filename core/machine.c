/* machine.c: the machine model. Builder (types, devices, switches, links),
 * soap_machine_finish (checks, node count, routes between every ordered pair
 * of devices), route lookup, vertex names, narrowing to the first n devices,
 * the fingerprint, and soap_machine_load (preset name or JSON path).
 *
 * Topology: vertices are the devices (0..ndevices-1) followed by the
 * switches. A link with two ends is a full-duplex point-to-point link; one
 * with more ends is a bus, and a hop over it goes directly between any two of
 * its ends.
 *
 * Routes: fewest hops; among those, the highest bottleneck bandwidth; among
 * those, the lexicographically smallest sequence of vertex ids; between the
 * same two vertices, the link with the highest bandwidth, then the lowest
 * link id. They are stored flat: route_start/route_len index `hops`. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uthash.h>

#include "soap_core.h"

/* ------------------------------------------------------------------ */
/* Builder                                                             */
/* ------------------------------------------------------------------ */

static void copy_name(char *dst, const char *src)
{
    /* Names longer than SOAP_NAME_MAX - 1 are cut; file readers reject them
     * before they get here. */
    size_t n = src ? strlen(src) : 0;
    if (n > SOAP_NAME_MAX - 1)
        n = SOAP_NAME_MAX - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

soap_machine *soap_machine_new(const char *name)
{
    soap_machine *m = soap_xcalloc(1, sizeof *m);
    copy_name(m->name, name);
    return m;
}

static void free_routes(soap_machine *m)
{
    free(m->route_start);
    free(m->route_len);
    free(m->hops);
    m->route_start = m->route_len = NULL;
    m->hops = NULL;
}

void soap_machine_free(soap_machine *m)
{
    if (!m)
        return;
    free(m->types);
    free(m->devices);
    free(m->switch_names);
    for (int i = 0; i < m->nlinks; i++)
        free(m->links[i].ends);
    free(m->links);
    free_routes(m);
    free(m);
}

int soap_machine_add_type(soap_machine *m, const soap_device_type *t)
{
    SOAP_ASSERT(m && t);
    m->types = soap_xrealloc(m->types, (size_t)(m->ntypes + 1) * sizeof *m->types);
    m->types[m->ntypes] = *t;
    m->types[m->ntypes].name[SOAP_NAME_MAX - 1] = '\0';
    return m->ntypes++;
}

int soap_machine_add_device(soap_machine *m, const char *name, int type, int node)
{
    SOAP_ASSERT(m && name);
    /* Switch vertex ids follow the devices: all devices come first. */
    SOAP_ASSERT(m->nswitches == 0);
    m->devices = soap_xrealloc(m->devices, (size_t)(m->ndevices + 1) * sizeof *m->devices);
    soap_device *d = &m->devices[m->ndevices];
    copy_name(d->name, name);
    d->type = type; /* checked by soap_machine_finish */
    d->node = node;
    return m->ndevices++;
}

int soap_machine_add_switch(soap_machine *m, const char *name)
{
    SOAP_ASSERT(m && name);
    m->switch_names = soap_xrealloc(m->switch_names,
                                    (size_t)(m->nswitches + 1) * sizeof *m->switch_names);
    copy_name(m->switch_names[m->nswitches], name);
    return m->ndevices + m->nswitches++;
}

int soap_machine_add_link(soap_machine *m, const char *name, soap_link_kind kind,
                          double bandwidth, double latency, const int *ends, int nends)
{
    SOAP_ASSERT(m && name && nends >= 0 && (ends || nends == 0));
    m->links = soap_xrealloc(m->links, (size_t)(m->nlinks + 1) * sizeof *m->links);
    soap_link *l = &m->links[m->nlinks];
    copy_name(l->name, name);
    l->kind = kind;
    l->bandwidth = bandwidth; /* figures and ends are checked by finish */
    l->latency = latency;
    l->nends = nends;
    l->ends = soap_xmalloc((size_t)(nends ? nends : 1) * sizeof *l->ends);
    if (nends)
        memcpy(l->ends, ends, (size_t)nends * sizeof *ends);
    return m->nlinks++;
}

const char *soap_machine_vertex_name(const soap_machine *m, int v)
{
    SOAP_ASSERT(m && v >= 0 && v < m->ndevices + m->nswitches);
    return v < m->ndevices ? m->devices[v].name : m->switch_names[v - m->ndevices];
}

/* ------------------------------------------------------------------ */
/* Checks                                                              */
/* ------------------------------------------------------------------ */

typedef struct name_entry {
    const char *key;
    int idx;
    UT_hash_handle hh;
} name_entry;

/* Finds the first name that repeats among `n` names (name(i) gives the
 * i-th); returns 1 and the two indices if one does. */
static int find_repeat(int n, const char *(*name)(const soap_machine *, int),
                       const soap_machine *m, int *first, int *second)
{
    name_entry *table = NULL, *entries = soap_xcalloc((size_t)(n ? n : 1), sizeof *entries);
    int found = 0;
    for (int i = 0; i < n && !found; i++) {
        const char *key = name(m, i);
        name_entry *e = NULL;
        HASH_FIND_STR(table, key, e);
        if (e) {
            *first = e->idx;
            *second = i;
            found = 1;
            break;
        }
        entries[i].key = key;
        entries[i].idx = i;
        HASH_ADD_KEYPTR(hh, table, key, strlen(key), &entries[i]);
    }
    HASH_CLEAR(hh, table);
    free(entries);
    return found;
}

static const char *type_name_at(const soap_machine *m, int i) { return m->types[i].name; }
static const char *link_name_at(const soap_machine *m, int i) { return m->links[i].name; }

/* x within [lo, hi] (NaN is not). */
static int in_range(double x, double lo, double hi) { return x >= lo && x <= hi; }

int soap_device_calibration_valid(const soap_device_calibration *c)
{
    SOAP_ASSERT(c);
    const double effs[3] = {c->gemm_eff, c->conv_eff, c->mem_eff};
    for (int i = 0; i < 3; i++)
        if (effs[i] != 0 && !in_range(effs[i], SOAP_CAL_EFF_MIN, SOAP_CAL_EFF_MAX))
            return 0;
    return c->winograd == 0 || in_range(c->winograd, SOAP_CAL_WINOGRAD_MIN, SOAP_CAL_WINOGRAD_MAX);
}

/* "machine 'm': <what>: <field> <x> is out of range: expected lo..hi unit". */
static soap_status out_of_range(soap_error *err, const soap_machine *m, const char *what,
                                const char *name, const char *field, double x, double lo,
                                double hi, const char *unit)
{
    char esc[SOAP_NAME_MAX * 4], mesc[SOAP_NAME_MAX * 4];
    return soap_error_set(err, SOAP_ERR_INVALID,
                          "machine '%s': %s '%s': %s %g is out of range: expected %g..%g %s",
                          soap_name_escape(m->name, mesc, sizeof mesc), what,
                          soap_name_escape(name, esc, sizeof esc), field, x, lo, hi, unit);
}

static soap_status check_machine(const soap_machine *m, soap_error *err)
{
    int nv = m->ndevices + m->nswitches;
    char esc[SOAP_NAME_MAX * 4];
    /* Names may come from a machine file: printed escaped. */
    char mn[SOAP_NAME_MAX * 4], e1[SOAP_NAME_MAX * 4], e2[SOAP_NAME_MAX * 4];
    soap_name_escape(m->name, mn, sizeof mn);
#define E1(s) soap_name_escape((s), e1, sizeof e1)
#define E2(s) soap_name_escape((s), e2, sizeof e2)
    if (m->ndevices < 1)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "machine '%s': no devices (expected at least 1)", mn);
    if (m->ndevices > SOAP_MAX_DEVICES)
        return soap_error_set(err, SOAP_ERR_INVALID, "machine '%s': %d devices (at most %d)",
                              mn, m->ndevices, SOAP_MAX_DEVICES);
    for (int t = 0; t < m->ntypes; t++) {
        const soap_device_type *ty = &m->types[t];
        if (!ty->name[0])
            return soap_error_set(err, SOAP_ERR_INVALID, "machine '%s': device type %d has no name",
                                  mn, t);
        if ((int)ty->cls < 0 || ty->cls >= SOAP_DEVICE_CLASS_COUNT)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "machine '%s': device type '%s': class %d (expected gpu or "
                                  "cpu)",
                                  mn, soap_name_escape(ty->name, esc, sizeof esc),
                                  (int)ty->cls);
        if (!in_range(ty->peak_flops, SOAP_PEAK_FLOPS_MIN, SOAP_PEAK_FLOPS_MAX))
            return out_of_range(err, m, "device type", ty->name, "peak FLOP/s", ty->peak_flops,
                                SOAP_PEAK_FLOPS_MIN, SOAP_PEAK_FLOPS_MAX, "FLOP/s");
        if (!in_range(ty->mem_bandwidth, SOAP_BANDWIDTH_MIN, SOAP_BANDWIDTH_MAX))
            return out_of_range(err, m, "device type", ty->name, "memory bandwidth",
                                ty->mem_bandwidth, SOAP_BANDWIDTH_MIN, SOAP_BANDWIDTH_MAX,
                                "bytes/s");
        if (!in_range(ty->mem_capacity, SOAP_MEMORY_MIN, SOAP_MEMORY_MAX))
            return out_of_range(err, m, "device type", ty->name, "memory capacity",
                                ty->mem_capacity, SOAP_MEMORY_MIN, SOAP_MEMORY_MAX,
                                "bytes (1 KiB..1 PiB)");
        if (!in_range(ty->launch_overhead, 0, SOAP_LATENCY_MAX))
            return out_of_range(err, m, "device type", ty->name, "launch overhead",
                                ty->launch_overhead, 0, SOAP_LATENCY_MAX, "seconds");
        if (!soap_device_calibration_valid(&ty->cal))
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "machine '%s': device type '%s': calibration out of range "
                                  "(gemm %g, conv %g, memory %g: expected 0 or %g..%g; "
                                  "winograd %g: expected 0 or %g..%g)",
                                  mn, soap_name_escape(ty->name, esc, sizeof esc),
                                  ty->cal.gemm_eff, ty->cal.conv_eff, ty->cal.mem_eff,
                                  SOAP_CAL_EFF_MIN, SOAP_CAL_EFF_MAX, ty->cal.winograd,
                                  SOAP_CAL_WINOGRAD_MIN, SOAP_CAL_WINOGRAD_MAX);
    }
    int a, b;
    if (find_repeat(m->ntypes, type_name_at, m, &a, &b))
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "machine '%s': device type name '%s' repeats (types %d and %d)",
                              mn, E1(m->types[a].name), a, b);
    for (int d = 0; d < m->ndevices; d++) {
        const soap_device *dev = &m->devices[d];
        if (dev->type < 0 || dev->type >= m->ntypes)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "machine '%s': device '%s': type index %d (expected 0..%d)",
                                  mn, E1(dev->name), dev->type, m->ntypes - 1);
        if (dev->node < 0 || dev->node >= SOAP_MAX_DEVICES)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "machine '%s': device '%s': node %d (expected 0..%d)", mn,
                                  E1(dev->name), dev->node, SOAP_MAX_DEVICES - 1);
    }
    for (int v = 0; v < nv; v++)
        if (!soap_machine_vertex_name(m, v)[0])
            return soap_error_set(err, SOAP_ERR_INVALID, "machine '%s': vertex %d has no name",
                                  mn, v);
    if (find_repeat(nv, soap_machine_vertex_name, m, &a, &b))
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "machine '%s': name '%s' repeats (vertices %d and %d; device and "
                              "switch names must be unique)",
                              mn, E1(soap_machine_vertex_name(m, a)), a, b);
    if (find_repeat(m->nlinks, link_name_at, m, &a, &b))
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "machine '%s': link name '%s' repeats (links %d and %d)", mn,
                              E1(m->links[a].name), a, b);
    for (int i = 0; i < m->nlinks; i++) {
        const soap_link *l = &m->links[i];
        if ((int)l->kind < 0 || l->kind >= SOAP_LINK_KIND_COUNT)
            return soap_error_set(err, SOAP_ERR_INVALID, "machine '%s': link '%s': bad kind %d",
                                  mn, E1(l->name), (int)l->kind);
        if (!in_range(l->bandwidth, SOAP_BANDWIDTH_MIN, SOAP_BANDWIDTH_MAX))
            return out_of_range(err, m, "link", l->name, "bandwidth", l->bandwidth,
                                SOAP_BANDWIDTH_MIN, SOAP_BANDWIDTH_MAX, "bytes/s per direction");
        if (!in_range(l->latency, 0, SOAP_LATENCY_MAX))
            return out_of_range(err, m, "link", l->name, "latency", l->latency, 0,
                                SOAP_LATENCY_MAX, "seconds");
        if (l->nends < 2)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "machine '%s': link '%s': %d ends (expected at least 2)", mn,
                                  E1(l->name), l->nends);
        for (int e = 0; e < l->nends; e++) {
            if (l->ends[e] < 0 || l->ends[e] >= nv)
                return soap_error_set(err, SOAP_ERR_INVALID,
                                      "machine '%s': link '%s': end %d is unknown vertex %d "
                                      "(expected 0..%d)",
                                      mn, E1(l->name), e, l->ends[e], nv - 1);
            for (int f = 0; f < e; f++)
                if (l->ends[f] == l->ends[e])
                    return soap_error_set(err, SOAP_ERR_INVALID,
                                          "machine '%s': link '%s': vertex '%s' is an end twice",
                                          mn, E1(l->name),
                                          E2(soap_machine_vertex_name(m, l->ends[e])));
        }
    }
#undef E1
#undef E2
    return SOAP_OK;
}

/* ------------------------------------------------------------------ */
/* Routes                                                              */
/* ------------------------------------------------------------------ */

/* Incidence lists (vertex -> links), each sorted by bandwidth descending then
 * link id, so that between two vertices the best link is met first. */
typedef struct topo {
    int nv;
    int *inc_start; /* nv + 1 */
    int *inc;       /* link ids */
    /* scratch, sized once per finish */
    int *dist, *parent_v, *parent_l, *order, *stamp;
    double *best, *linkmax;
} topo;

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void topo_init(topo *t, const soap_machine *m)
{
    int nv = m->ndevices + m->nswitches;
    t->nv = nv;
    t->inc_start = soap_xcalloc((size_t)nv + 1, sizeof *t->inc_start);
    int total = 0;
    for (int i = 0; i < m->nlinks; i++) {
        total += m->links[i].nends;
        for (int e = 0; e < m->links[i].nends; e++)
            t->inc_start[m->links[i].ends[e] + 1]++;
    }
    for (int v = 0; v < nv; v++)
        t->inc_start[v + 1] += t->inc_start[v];
    t->inc = soap_xmalloc((size_t)(total ? total : 1) * sizeof *t->inc);
    int *fill = soap_xmalloc((size_t)nv * sizeof *fill);
    memcpy(fill, t->inc_start, (size_t)nv * sizeof *fill);
    for (int i = 0; i < m->nlinks; i++)
        for (int e = 0; e < m->links[i].nends; e++)
            t->inc[fill[m->links[i].ends[e]]++] = i;
    free(fill);
    /* Links were added in id order, so each list is sorted by id; a stable
     * insertion sort by bandwidth (descending) keeps the id order on ties. */
    for (int v = 0; v < nv; v++) {
        for (int i = t->inc_start[v] + 1; i < t->inc_start[v + 1]; i++) {
            int l = t->inc[i], j = i;
            while (j > t->inc_start[v] &&
                   m->links[t->inc[j - 1]].bandwidth < m->links[l].bandwidth) {
                t->inc[j] = t->inc[j - 1];
                j--;
            }
            t->inc[j] = l;
        }
    }
    size_t n = (size_t)(nv ? nv : 1);
    t->dist = soap_xmalloc(n * sizeof(int));
    t->parent_v = soap_xmalloc(n * sizeof(int));
    t->parent_l = soap_xmalloc(n * sizeof(int));
    t->order = soap_xmalloc(n * sizeof(int));
    t->best = soap_xmalloc(n * sizeof(double));
    size_t nl = (size_t)(m->nlinks ? m->nlinks : 1);
    t->stamp = soap_xmalloc(nl * sizeof(int));
    t->linkmax = soap_xmalloc(nl * sizeof(double));
}

static void topo_free(topo *t)
{
    free(t->inc_start);
    free(t->inc);
    free(t->dist);
    free(t->parent_v);
    free(t->parent_l);
    free(t->order);
    free(t->best);
    free(t->stamp);
    free(t->linkmax);
}

/* Breadth-first layers from `src`: dist[] (-1 unreachable), order[] the
 * vertices in layer order, and best[] the highest bottleneck bandwidth over
 * the fewest-hop paths. Each link is scanned once per layer it touches (a
 * bus's ends all lie within two adjacent layers), so a bus costs O(ends). */
static void layers_from(topo *t, const soap_machine *m, int src)
{
    for (int v = 0; v < t->nv; v++) {
        t->dist[v] = -1;
        t->best[v] = 0.0;
    }
    for (int i = 0; i < m->nlinks; i++)
        t->stamp[i] = -1;
    t->dist[src] = 0;
    t->best[src] = 1e300;
    t->order[0] = src;
    int head = 0, tail = 1;
    while (head < tail) {
        int layer_end = tail, level = t->dist[t->order[head]];
        /* Pass 1: discover the next layer and collect per link the best
         * bottleneck of its ends in this layer. */
        for (int q = head; q < layer_end; q++) {
            int u = t->order[q];
            for (int k = t->inc_start[u]; k < t->inc_start[u + 1]; k++) {
                int l = t->inc[k];
                if (t->stamp[l] != level) {
                    t->stamp[l] = level;
                    t->linkmax[l] = 0.0;
                }
                if (t->best[u] > t->linkmax[l])
                    t->linkmax[l] = t->best[u];
            }
        }
        /* Pass 2: each link touched in this layer relaxes its ends in the next. */
        for (int q = head; q < layer_end; q++) {
            int u = t->order[q];
            for (int k = t->inc_start[u]; k < t->inc_start[u + 1]; k++) {
                int l = t->inc[k];
                if (t->stamp[l] != level)
                    continue; /* already relaxed from this layer */
                t->stamp[l] = -2 - level;
                const soap_link *lk = &m->links[l];
                double via = t->linkmax[l] < lk->bandwidth ? t->linkmax[l] : lk->bandwidth;
                for (int e = 0; e < lk->nends; e++) {
                    int v = lk->ends[e];
                    if (t->dist[v] == -1) {
                        t->dist[v] = level + 1;
                        t->order[tail++] = v;
                    }
                    if (t->dist[v] == level + 1 && via > t->best[v])
                        t->best[v] = via;
                }
            }
        }
        head = layer_end;
    }
}

/* Fewest-hop paths from `src` over links of bandwidth >= `floor`, each the
 * lexicographically smallest vertex sequence: layer by layer, parents are
 * taken in the rank order of their own paths, and a layer is ranked by
 * (parent's rank, vertex id). Fills parent_v/parent_l; dist[] is reused. */
static void ranked_paths(topo *t, const soap_machine *m, int src, double floor)
{
    for (int v = 0; v < t->nv; v++) {
        t->dist[v] = -1;
        t->parent_v[v] = t->parent_l[v] = -1;
    }
    for (int i = 0; i < m->nlinks; i++)
        t->stamp[i] = 0; /* 1 = expanded */
    t->dist[src] = 0;
    t->order[0] = src;
    int head = 0, tail = 1;
    while (head < tail) {
        int layer_end = tail;
        for (int q = head; q < layer_end; q++) {
            int u = t->order[q], group = tail;
            for (int k = t->inc_start[u]; k < t->inc_start[u + 1]; k++) {
                int l = t->inc[k];
                const soap_link *lk = &m->links[l];
                if (t->stamp[l] || lk->bandwidth < floor)
                    continue;
                /* The first (best-ranked) vertex to expand a link is the
                 * best parent of all its unreached ends. */
                t->stamp[l] = 1;
                for (int e = 0; e < lk->nends; e++) {
                    int v = lk->ends[e];
                    if (t->dist[v] != -1)
                        continue;
                    t->dist[v] = t->dist[u] + 1;
                    t->parent_v[v] = u;
                    t->parent_l[v] = l;
                    t->order[tail++] = v;
                }
            }
            /* Children of one parent are ranked by vertex id. */
            qsort(t->order + group, (size_t)(tail - group), sizeof(int), cmp_int);
        }
        head = layer_end;
    }
}

static int cmp_double_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

static void compute_routes(soap_machine *m, topo *t)
{
    int n = m->ndevices;
    free_routes(m);
    m->route_start = soap_xcalloc((size_t)n * (size_t)n, sizeof(int));
    m->route_len = soap_xcalloc((size_t)n * (size_t)n, sizeof(int));
    size_t cap = 64, nhops = 0;
    m->hops = soap_xmalloc(cap * sizeof *m->hops);
    double *floors = soap_xmalloc((size_t)n * sizeof *floors);
    double *target_best = soap_xmalloc((size_t)n * sizeof *target_best);
    int *target_dist = soap_xmalloc((size_t)n * sizeof *target_dist);
    for (int s = 0; s < n; s++) {
        layers_from(t, m, s);
        int nf = 0;
        for (int d = 0; d < n; d++) {
            SOAP_ASSERT(t->dist[d] >= 0); /* checked by check_reach */
            target_best[d] = t->best[d];
            target_dist[d] = t->dist[d];
            if (d != s)
                floors[nf++] = t->best[d];
        }
        qsort(floors, (size_t)nf, sizeof *floors, cmp_double_desc);
        for (int f = 0; f < nf; f++) {
            if (f > 0 && floors[f] == floors[f - 1])
                continue;
            ranked_paths(t, m, s, floors[f]);
            for (int d = 0; d < n; d++) {
                if (d == s || target_best[d] != floors[f])
                    continue;
                int len = t->dist[d];
                SOAP_ASSERT(len == target_dist[d]);
                if (nhops + (size_t)len > cap) {
                    while (nhops + (size_t)len > cap)
                        cap *= 2;
                    m->hops = soap_xrealloc(m->hops, cap * sizeof *m->hops);
                }
                int at = (int)nhops;
                m->route_start[s * n + d] = at;
                m->route_len[s * n + d] = len;
                for (int v = d, i = len - 1; v != s; v = t->parent_v[v], i--) {
                    SOAP_ASSERT(i >= 0);
                    m->hops[at + i] =
                        (soap_hop){.link = t->parent_l[v], .from = t->parent_v[v], .to = v};
                }
                nhops += (size_t)len;
            }
        }
    }
    free(floors);
    free(target_best);
    free(target_dist);
}

static soap_status check_reach(soap_machine *m, topo *t, soap_error *err)
{
    char mn[SOAP_NAME_MAX * 4], e1[SOAP_NAME_MAX * 4], e2[SOAP_NAME_MAX * 4];
    layers_from(t, m, 0);
    for (int d = 1; d < m->ndevices; d++)
        if (t->dist[d] < 0)
            return soap_error_set(err, SOAP_ERR_INVALID,
                                  "machine '%s': device '%s' cannot reach device '%s' (no path "
                                  "of links joins them)",
                                  soap_name_escape(m->name, mn, sizeof mn),
                                  soap_name_escape(m->devices[0].name, e1, sizeof e1),
                                  soap_name_escape(m->devices[d].name, e2, sizeof e2));
    return SOAP_OK;
}

soap_status soap_machine_finish(soap_machine *m, soap_error *err)
{
    SOAP_ASSERT(m);
    soap_status st = check_machine(m, err);
    if (st != SOAP_OK)
        return st;
    int maxnode = 0;
    for (int d = 0; d < m->ndevices; d++)
        if (m->devices[d].node > maxnode)
            maxnode = m->devices[d].node;
    m->nnodes = maxnode + 1;
    topo t;
    topo_init(&t, m);
    st = check_reach(m, &t, err);
    if (st == SOAP_OK)
        compute_routes(m, &t);
    topo_free(&t);
    return st;
}

const soap_hop *soap_machine_route(const soap_machine *m, int src, int dst, int *len)
{
    SOAP_ASSERT(m && len && m->route_len);
    SOAP_ASSERT(src >= 0 && src < m->ndevices && dst >= 0 && dst < m->ndevices);
    int k = src * m->ndevices + dst;
    *len = m->route_len[k];
    return *len ? &m->hops[m->route_start[k]] : NULL;
}

/* ------------------------------------------------------------------ */
/* Narrowing                                                           */
/* ------------------------------------------------------------------ */

soap_machine *soap_machine_narrow(const soap_machine *m, int n, soap_error *err)
{
    SOAP_ASSERT(m);
    if (n < 1 || n > m->ndevices) {
        soap_error_set(err, SOAP_ERR_INVALID,
                       "machine '%s': cannot narrow to %d devices (expected 1..%d)", m->name, n,
                       m->ndevices);
        return NULL;
    }
    int nv = m->ndevices + m->nswitches;
    /* Which links survive, and which of their ends. */
    int *live_ends = soap_xcalloc((size_t)(m->nlinks ? m->nlinks : 1), sizeof *live_ends);
    int total_ends = 0;
    int *end_at = soap_xmalloc((size_t)(m->nlinks + 1) * sizeof *end_at);
    for (int i = 0; i < m->nlinks; i++) {
        end_at[i] = total_ends;
        total_ends += m->links[i].nends;
    }
    end_at[m->nlinks] = total_ends;
    char *end_ok = soap_xcalloc((size_t)(total_ends ? total_ends : 1), 1);
    char *vertex_ok = soap_xcalloc((size_t)nv, 1);
    for (int v = 0; v < nv; v++)
        vertex_ok[v] = v < n || v >= m->ndevices;
    /* A point-to-point link dies with a removed end; a bus loses its removed
     * ends and dies below 2. A switch joined to fewer than 2 other vertices
     * serves no route between devices: it goes too, and this repeats until
     * nothing changes (a chain of switches leading nowhere goes whole). */
    int changed = 1;
    while (changed) {
        changed = 0;
        for (int i = 0; i < m->nlinks; i++) {
            const soap_link *l = &m->links[i];
            int live = 0;
            for (int e = 0; e < l->nends; e++) {
                end_ok[end_at[i] + e] = vertex_ok[l->ends[e]];
                live += vertex_ok[l->ends[e]];
            }
            live_ends[i] = live >= 2 ? live : 0;
        }
        for (int v = m->ndevices; v < nv; v++) {
            if (!vertex_ok[v])
                continue;
            /* Count distinct neighbours, up to 2 (parallel links count once). */
            int first = -1, distinct = 0;
            for (int i = 0; i < m->nlinks && distinct < 2; i++) {
                const soap_link *l = &m->links[i];
                int on = 0;
                for (int e = 0; e < l->nends && live_ends[i]; e++)
                    on |= end_ok[end_at[i] + e] && l->ends[e] == v;
                for (int e = 0; on && e < l->nends && distinct < 2; e++) {
                    int w = l->ends[e];
                    if (!end_ok[end_at[i] + e] || w == v || w == first)
                        continue;
                    if (first < 0)
                        first = w;
                    distinct++;
                }
            }
            if (distinct < 2) {
                vertex_ok[v] = 0;
                changed = 1;
            }
        }
    }
    char name[SOAP_NAME_MAX + 16];
    if (n < m->ndevices)
        snprintf(name, sizeof name, "%s:%d", m->name, n);
    else
        snprintf(name, sizeof name, "%s", m->name);
    soap_machine *out = soap_machine_new(name);
    for (int i = 0; i < m->ntypes; i++)
        soap_machine_add_type(out, &m->types[i]);
    for (int d = 0; d < n; d++)
        soap_machine_add_device(out, m->devices[d].name, m->devices[d].type, m->devices[d].node);
    int *newid = soap_xmalloc((size_t)nv * sizeof *newid);
    for (int v = 0; v < nv; v++)
        newid[v] = v < n ? v : -1;
    for (int v = m->ndevices; v < nv; v++)
        if (vertex_ok[v])
            newid[v] = soap_machine_add_switch(out, m->switch_names[v - m->ndevices]);
    int *ends = soap_xmalloc((size_t)(total_ends ? total_ends : 1) * sizeof *ends);
    for (int i = 0; i < m->nlinks; i++) {
        if (!live_ends[i])
            continue;
        const soap_link *l = &m->links[i];
        int k = 0;
        for (int e = 0; e < l->nends; e++)
            if (end_ok[end_at[i] + e])
                ends[k++] = newid[l->ends[e]];
        soap_machine_add_link(out, l->name, l->kind, l->bandwidth, l->latency, ends, k);
    }
    free(ends);
    free(newid);
    free(vertex_ok);
    free(end_ok);
    free(end_at);
    free(live_ends);
    if (soap_machine_finish(out, err) != SOAP_OK) {
        soap_machine_free(out);
        return NULL;
    }
    return out;
}

/* ------------------------------------------------------------------ */
/* Fingerprint and loading                                             */
/* ------------------------------------------------------------------ */

static uint64_t hash_int(uint64_t h, int64_t x) { return soap_fnv1a(h, &x, sizeof x); }
static uint64_t hash_double(uint64_t h, double x)
{
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return soap_fnv1a(h, &bits, sizeof bits);
}

uint64_t soap_machine_fingerprint(const soap_machine *m)
{
    SOAP_ASSERT(m);
    uint64_t h = SOAP_FNV_INIT;
    h = hash_int(h, m->ntypes);
    for (int i = 0; i < m->ntypes; i++) {
        h = hash_int(h, (int)m->types[i].cls);
        h = hash_double(h, m->types[i].peak_flops);
        h = hash_double(h, m->types[i].mem_bandwidth);
        h = hash_double(h, m->types[i].mem_capacity);
        h = hash_double(h, m->types[i].launch_overhead);
        const soap_device_calibration *c = &m->types[i].cal;
        h = hash_double(h, c->gemm_eff);
        h = hash_double(h, c->conv_eff);
        h = hash_double(h, c->winograd);
        h = hash_double(h, c->mem_eff);
    }
    h = hash_int(h, m->ndevices);
    for (int d = 0; d < m->ndevices; d++) {
        h = hash_int(h, m->devices[d].type);
        h = hash_int(h, m->devices[d].node);
    }
    h = hash_int(h, m->nswitches);
    h = hash_int(h, m->nlinks);
    for (int i = 0; i < m->nlinks; i++) {
        const soap_link *l = &m->links[i];
        h = hash_int(h, l->kind);
        h = hash_double(h, l->bandwidth);
        h = hash_double(h, l->latency);
        h = hash_int(h, l->nends);
        for (int e = 0; e < l->nends; e++)
            h = hash_int(h, l->ends[e]);
    }
    return h;
}

static int looks_like_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') || (n > 5 && strcmp(s + n - 5, ".json") == 0) || access(s, F_OK) == 0;
}

soap_machine *soap_machine_load(const char *name_or_path, int ndevices, soap_error *err)
{
    SOAP_ASSERT(name_or_path);
    soap_error perr;
    soap_error_clear(&perr);
    soap_machine *m = soap_machine_preset(name_or_path, &perr);
    if (!m) {
        if (perr.code != SOAP_ERR_NOT_FOUND || !looks_like_path(name_or_path)) {
            if (err)
                *err = perr;
            return NULL;
        }
        m = soap_machine_read_json(name_or_path, err);
        if (!m)
            return NULL;
    }
    if (ndevices > m->ndevices) {
        soap_error_set(err, SOAP_ERR_INVALID,
                       "machine '%s' has %d devices; %d were asked for", m->name, m->ndevices,
                       ndevices);
        soap_machine_free(m);
        return NULL;
    }
    if (ndevices > 0 && ndevices != m->ndevices) {
        soap_machine *narrow = soap_machine_narrow(m, ndevices, err);
        soap_machine_free(m);
        return narrow;
    }
    return m;
}
