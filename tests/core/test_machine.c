/* Tests of the machine model (suite "machine"): preset figures and sizes,
 * routes checked by hand on every preset and against an independent
 * all-pairs computation, the tie-break rules, soap_machine_finish's errors,
 * narrowing, fingerprints, soap_machine_load, and machine JSON files (round
 * trips of every preset, a hand-written file, bad files and their messages). */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "soap_core.h"
#include "test_util.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static soap_machine *preset(const char *name)
{
    soap_error err;
    soap_error_clear(&err);
    soap_machine *m = soap_machine_preset(name, &err);
    ck_assert_msg(m != NULL, "preset %s: %s", name, err.msg);
    return m;
}

static soap_machine *narrow(const soap_machine *m, int n)
{
    soap_error err;
    soap_error_clear(&err);
    soap_machine *out = soap_machine_narrow(m, n, &err);
    ck_assert_msg(out != NULL, "narrow %s to %d: %s", m->name, n, err.msg);
    return out;
}

static int find_vertex(const soap_machine *m, const char *name)
{
    for (int v = 0; v < m->ndevices + m->nswitches; v++)
        if (strcmp(soap_machine_vertex_name(m, v), name) == 0)
            return v;
    ck_abort_msg("no vertex %s in %s", name, m->name);
    return -1;
}

/* "v0 v1 ... vk" and "l1 ... lk" of a route, by names. */
static void route_strings(const soap_machine *m, int src, int dst, char *verts, char *links,
                          size_t len)
{
    int n;
    const soap_hop *h = soap_machine_route(m, src, dst, &n);
    snprintf(verts, len, "%s", soap_machine_vertex_name(m, src));
    links[0] = '\0';
    for (int i = 0; i < n; i++) {
        size_t a = strlen(verts), b = strlen(links);
        snprintf(verts + a, len - a, " %s", soap_machine_vertex_name(m, h[i].to));
        snprintf(links + b, len - b, "%s%s", i ? " " : "", m->links[h[i].link].name);
    }
}

static int link_count_of_kind(const soap_machine *m, soap_link_kind k)
{
    int c = 0;
    for (int i = 0; i < m->nlinks; i++)
        c += m->links[i].kind == k;
    return c;
}

static void assert_has_msg(const soap_error *err, const char *needle)
{
    ck_assert_msg(strstr(err->msg, needle) != NULL, "message '%s' lacks '%s'", err->msg, needle);
}

/* ------------------------------------------------------------------ */
/* Presets                                                             */
/* ------------------------------------------------------------------ */

/* Sizes counted by hand from the topology descriptions:
 * p100x16: per node 6 NVLink pairs + 4 PCIe + 1 IB = 11 links, 4 NICs + IB.
 * k80x64: per node 4 GPU PCIe + 2 switch-host + host-NIC + IB = 8 links,
 *         4 switches per node + IB. dgx-h100: 8 links to one NVSwitch. */
static const struct {
    const char *name;
    int ndevices, nnodes, nswitches, nlinks;
    double flops, membw, mem, launch;
} preset_table[] = {
    {"p100x16", 16, 4, 5, 44, 10.6e12, 732e9, 16e9, 5e-6},
    {"k80x64", 64, 16, 65, 128, 4.37e12, 240e9, 12e9, 10e-6},
    {"dgx-h100", 8, 1, 1, 8, 67e12, 3.35e12, 80e9, 5e-6},
    {"cpu-4", 4, 1, 0, 1, 80e9, 10e9, 4e9, 2e-6},
    {"cpu-1", 1, 1, 0, 0, 80e9, 10e9, 4e9, 2e-6},
    {"cpu-64", 64, 1, 0, 1, 80e9, 10e9, 4e9, 2e-6},
};
#define NPRESETS ((int)(sizeof preset_table / sizeof preset_table[0]))

START_TEST(test_preset_sizes)
{
    soap_machine *m = preset(preset_table[_i].name);
    ck_assert_str_eq(m->name, preset_table[_i].name);
    ck_assert_int_eq(m->ndevices, preset_table[_i].ndevices);
    ck_assert_int_eq(m->nnodes, preset_table[_i].nnodes);
    ck_assert_int_eq(m->nswitches, preset_table[_i].nswitches);
    ck_assert_int_eq(m->nlinks, preset_table[_i].nlinks);
    ck_assert_int_eq(m->ntypes, 1);
    ck_assert_double_eq(m->types[0].peak_flops, preset_table[_i].flops);
    ck_assert_double_eq(m->types[0].mem_bandwidth, preset_table[_i].membw);
    ck_assert_double_eq(m->types[0].mem_capacity, preset_table[_i].mem);
    ck_assert_double_eq(m->types[0].launch_overhead, preset_table[_i].launch);
    for (int i = 0; i < m->nlinks; i++) {
        ck_assert(m->links[i].bandwidth > 0 && m->links[i].latency > 0);
        ck_assert(m->links[i].latency <= 10e-6); /* every latency is microseconds */
    }
    soap_machine_free(m);
}
END_TEST

START_TEST(test_preset_link_figures)
{
    soap_machine *p = preset("p100x16"), *k = preset("k80x64"), *h = preset("dgx-h100");
    ck_assert_int_eq(link_count_of_kind(p, SOAP_LINK_NVLINK), 24);
    ck_assert_int_eq(link_count_of_kind(p, SOAP_LINK_INFINIBAND), 4);
    for (int i = 0; i < p->nlinks; i++) {
        double want = p->links[i].kind == SOAP_LINK_NVLINK   ? 20e9
                      : p->links[i].kind == SOAP_LINK_PCIE   ? 15.75e9
                                                             : 12.5e9;
        ck_assert_double_eq(p->links[i].bandwidth, want);
    }
    ck_assert_int_eq(link_count_of_kind(k, SOAP_LINK_INFINIBAND), 16);
    for (int i = 0; i < k->nlinks; i++)
        if (k->links[i].kind == SOAP_LINK_INFINIBAND)
            ck_assert_double_eq(k->links[i].bandwidth, 7e9);
    for (int i = 0; i < h->nlinks; i++) {
        ck_assert_int_eq(h->links[i].kind, SOAP_LINK_NVSWITCH);
        ck_assert_double_eq(h->links[i].bandwidth, 450e9);
    }
    /* Node indices: p100x16 device d sits in node d / 4. */
    for (int d = 0; d < p->ndevices; d++)
        ck_assert_int_eq(p->devices[d].node, d / 4);
    soap_machine_free(p);
    soap_machine_free(k);
    soap_machine_free(h);
}
END_TEST

START_TEST(test_preset_names)
{
    const char *const *names = soap_machine_preset_names();
    const char *want[] = {"p100x16", "k80x64", "dgx-h100", "cpu-<n>"};
    int n = 0;
    for (; names[n]; n++) {
        ck_assert_int_lt(n, 4);
        ck_assert_str_eq(names[n], want[n]);
        const char *d = soap_machine_preset_description(names[n]);
        ck_assert_ptr_nonnull(d);
        ck_assert_int_gt((int)strlen(d), 10);
    }
    ck_assert_int_eq(n, 4);
    ck_assert_ptr_nonnull(soap_machine_preset_description("cpu-8"));
    ck_assert_ptr_null(soap_machine_preset_description("tpu-v4"));
}
END_TEST

static const struct {
    const char *name;
    soap_status code;
    const char *needle;
} bad_preset_table[] = {
    {"x", SOAP_ERR_NOT_FOUND, "unknown machine 'x' (presets: p100x16, k80x64, dgx-h100, cpu-<n>)"},
    {"p100", SOAP_ERR_NOT_FOUND, "unknown machine 'p100'"},
    {"cpu-0", SOAP_ERR_INVALID, "1..1024"},
    {"cpu-", SOAP_ERR_INVALID, "cpu-<n>"},
    {"cpu-2x", SOAP_ERR_INVALID, "cpu-<n>"},
    {"cpu-1025", SOAP_ERR_INVALID, "1..1024"},
};

START_TEST(test_preset_unknown)
{
    soap_error err;
    soap_error_clear(&err);
    ck_assert_ptr_null(soap_machine_preset(bad_preset_table[_i].name, &err));
    ck_assert_int_eq(err.code, bad_preset_table[_i].code);
    assert_has_msg(&err, bad_preset_table[_i].needle);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Routes by hand                                                      */
/* ------------------------------------------------------------------ */

static const struct {
    const char *machine;
    const char *src, *dst;
    const char *vertices; /* the route's vertices, by name */
    const char *links;
} route_table[] = {
    /* p100x16: same node, one NVLink. */
    {"p100x16", "n0.gpu0", "n0.gpu3", "n0.gpu0 n0.gpu3", "n0.nv03"},
    {"p100x16", "n2.gpu3", "n2.gpu1", "n2.gpu3 n2.gpu1", "n2.nv13"},
    /* p100x16: other node, PCIe to the NIC, IB, IB, PCIe. */
    {"p100x16", "n0.gpu0", "n1.gpu2", "n0.gpu0 n0.nic ib n1.nic n1.gpu2",
     "n0.pcie0 n0.ib n1.ib n1.pcie2"},
    {"p100x16", "n3.gpu1", "n0.gpu0", "n3.gpu1 n3.nic ib n0.nic n0.gpu0",
     "n3.pcie1 n3.ib n0.ib n0.pcie0"},
    /* k80x64: same PCIe switch, 2 hops. */
    {"k80x64", "n0.gpu0", "n0.gpu1", "n0.gpu0 n0.pcieA n0.gpu1", "n0.pcie0 n0.pcie1"},
    {"k80x64", "n7.gpu3", "n7.gpu2", "n7.gpu3 n7.pcieB n7.gpu2", "n7.pcie3 n7.pcie2"},
    /* k80x64: other switch of the node, through the host, 4 hops. */
    {"k80x64", "n0.gpu1", "n0.gpu2", "n0.gpu1 n0.pcieA n0.host n0.pcieB n0.gpu2",
     "n0.pcie1 n0.pcieA.host n0.pcieB.host n0.pcie2"},
    /* k80x64: another node, 8 hops. */
    {"k80x64", "n0.gpu0", "n5.gpu3",
     "n0.gpu0 n0.pcieA n0.host n0.nic ib n5.nic n5.host n5.pcieB n5.gpu3",
     "n0.pcie0 n0.pcieA.host n0.host.nic n0.ib n5.ib n5.host.nic n5.pcieB.host n5.pcie3"},
    /* dgx-h100: 2 hops through the NVSwitch. */
    {"dgx-h100", "gpu0", "gpu7", "gpu0 nvswitch gpu7", "nvl0 nvl7"},
    /* cpu-4: 1 hop over the bus, straight between the two ends. */
    {"cpu-4", "cpu1", "cpu3", "cpu1 cpu3", "membus"},
    {"cpu-4", "cpu3", "cpu0", "cpu3 cpu0", "membus"},
    /* A route to itself is empty. */
    {"p100x16", "n1.gpu1", "n1.gpu1", "n1.gpu1", ""},
};

START_TEST(test_route_by_hand)
{
    soap_machine *m = preset(route_table[_i].machine);
    int s = find_vertex(m, route_table[_i].src), d = find_vertex(m, route_table[_i].dst);
    char verts[512], links[512];
    route_strings(m, s, d, verts, links, sizeof verts);
    ck_assert_str_eq(verts, route_table[_i].vertices);
    ck_assert_str_eq(links, route_table[_i].links);
    if (s == d) {
        int n = -1;
        ck_assert_ptr_null(soap_machine_route(m, s, d, &n));
        ck_assert_int_eq(n, 0);
    }
    soap_machine_free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Routes against an independent all-pairs computation                 */
/* ------------------------------------------------------------------ */

/* Every route of `m` is a connected path from src to dst over real links,
 * as short as possible (hop counts by Floyd-Warshall on a vertex adjacency
 * matrix) and with the best bottleneck among the shortest (a layered
 * dynamic program on the same matrix). */
static void check_routes(const soap_machine *m)
{
    int nv = m->ndevices + m->nswitches, n = m->ndevices;
    double *adj = calloc((size_t)nv * nv, sizeof *adj); /* best bandwidth between two vertices */
    int *dist = malloc((size_t)nv * nv * sizeof *dist);
    for (int i = 0; i < m->nlinks; i++)
        for (int a = 0; a < m->links[i].nends; a++)
            for (int b = 0; b < m->links[i].nends; b++) {
                int u = m->links[i].ends[a], v = m->links[i].ends[b];
                if (u != v && m->links[i].bandwidth > adj[u * nv + v])
                    adj[u * nv + v] = m->links[i].bandwidth;
            }
    const int inf = 1 << 28;
    for (int u = 0; u < nv; u++)
        for (int v = 0; v < nv; v++)
            dist[u * nv + v] = u == v ? 0 : adj[u * nv + v] > 0 ? 1 : inf;
    for (int k = 0; k < nv; k++)
        for (int u = 0; u < nv; u++)
            for (int v = 0; v < nv; v++)
                if (dist[u * nv + k] + dist[k * nv + v] < dist[u * nv + v])
                    dist[u * nv + v] = dist[u * nv + k] + dist[k * nv + v];
    double *best = malloc((size_t)nv * sizeof *best);
    for (int s = 0; s < n; s++) {
        for (int v = 0; v < nv; v++)
            best[v] = v == s ? INFINITY : 0.0;
        for (int level = 1; level < nv; level++)
            for (int v = 0; v < nv; v++) {
                if (dist[s * nv + v] != level)
                    continue;
                for (int u = 0; u < nv; u++)
                    if (dist[s * nv + u] == level - 1 && adj[u * nv + v] > 0) {
                        double b = fmin(best[u], adj[u * nv + v]);
                        if (b > best[v])
                            best[v] = b;
                    }
            }
        for (int d = 0; d < n; d++) {
            int len;
            const soap_hop *h = soap_machine_route(m, s, d, &len);
            ck_assert_int_eq(len, dist[s * nv + d]);
            if (s == d)
                continue;
            ck_assert_int_eq(h[0].from, s);
            ck_assert_int_eq(h[len - 1].to, d);
            double bottleneck = INFINITY;
            for (int i = 0; i < len; i++) {
                const soap_link *l = &m->links[h[i].link];
                int from_on = 0, to_on = 0;
                for (int e = 0; e < l->nends; e++) {
                    from_on |= l->ends[e] == h[i].from;
                    to_on |= l->ends[e] == h[i].to;
                }
                ck_assert(from_on && to_on && h[i].from != h[i].to);
                if (i + 1 < len)
                    ck_assert_int_eq(h[i].to, h[i + 1].from);
                bottleneck = fmin(bottleneck, l->bandwidth);
            }
            ck_assert_double_eq(bottleneck, best[d]);
        }
    }
    free(best);
    free(dist);
    free(adj);
}

static const struct {
    const char *name;
    int narrow_to; /* 0: whole machine */
} connected_table[] = {
    {"p100x16", 0}, {"k80x64", 0}, {"dgx-h100", 0}, {"cpu-1", 0}, {"cpu-2", 0},
    {"cpu-7", 0},   {"p100x16", 6}, {"k80x64", 3}, {"k80x64", 10}, {"dgx-h100", 2},
};

START_TEST(test_routes_connected_and_optimal)
{
    soap_machine *m = preset(connected_table[_i].name);
    if (connected_table[_i].narrow_to > 0) {
        soap_machine *nm = narrow(m, connected_table[_i].narrow_to);
        soap_machine_free(m);
        m = nm;
    }
    check_routes(m);
    soap_machine_free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Tie-breaks on hand-made machines                                    */
/* ------------------------------------------------------------------ */

static const soap_device_type gpu_type = {.name = "G", .cls = SOAP_DEVICE_GPU,
                                          .peak_flops = 1e12, .mem_bandwidth = 1e11,
                                          .mem_capacity = 1e9, .launch_overhead = 5e-6};

/* Two devices d0, d1 (vertices 0, 1) and `nsw` switches (2..). */
static soap_machine *two_devices(int nsw)
{
    soap_machine *m = soap_machine_new("tie");
    int t = soap_machine_add_type(m, &gpu_type);
    soap_machine_add_device(m, "d0", t, 0);
    soap_machine_add_device(m, "d1", t, 0);
    char name[16];
    for (int i = 0; i < nsw; i++) {
        snprintf(name, sizeof name, "s%d", i + 2);
        ck_assert_int_eq(soap_machine_add_switch(m, name), i + 2);
    }
    return m;
}

/* bw in GB/s (figures below 1 kB/s are out of range). */
static void link2(soap_machine *m, const char *name, int a, int b, double bw)
{
    int ends[2] = {a, b};
    soap_machine_add_link(m, name, SOAP_LINK_PCIE, bw * 1e9, 1e-6, ends, 2);
}

static void finish_ok(soap_machine *m)
{
    soap_error err;
    soap_error_clear(&err);
    ck_assert_msg(soap_machine_finish(m, &err) == SOAP_OK, "%s", err.msg);
}

/* Two devices d0, d1 and switches s2..s5 joined by the listed links (name,
 * two vertex ids, bandwidth in GB/s); the routes d0 -> d1 and d1 -> d0
 * expected, by vertex names, and the links of the first. */
typedef struct tie_link {
    const char *name;
    int a, b;
    double bw;
} tie_link;

static const struct {
    const char *why;
    int nsw;
    tie_link links[7];
    const char *forward, *forward_links, *backward;
} tie_table[] = {
    {"equal 2-hop paths: the lower switch id wins, not the first added", 2,
     {{"a", 0, 3, 10}, {"b", 3, 1, 10}, {"c", 0, 2, 10}, {"d", 2, 1, 10}},
     "d0 s2 d1", "c d", "d1 s2 d0"},
    {"a higher bottleneck beats lower ids", 2,
     {{"a", 0, 3, 10}, {"b", 3, 1, 10}, {"c", 0, 2, 10}, {"d", 2, 1, 5}},
     "d0 s3 d1", "a b", "d1 s3 d0"},
    {"fewer hops beat bandwidth", 1,
     {{"fast0", 0, 2, 100}, {"fast1", 2, 1, 100}, {"slow", 0, 1, 1}},
     "d0 d1", "slow", "d1 d0"},
    {"the first differing vertex decides (s2 < s3), not the last", 4,
     {{"a", 0, 3, 10}, {"b", 3, 4, 10}, {"c", 4, 1, 10}, {"d", 0, 2, 10}, {"e", 2, 5, 10},
      {"f", 5, 1, 10}},
     "d0 s2 s5 d1", "d e f", "d1 s4 s3 d0"},
    {"the bottleneck counts over the whole path", 4,
     {{"a", 0, 2, 10}, {"b", 2, 4, 1}, {"c", 4, 1, 10}, {"d", 0, 3, 10}, {"e", 3, 5, 10},
      {"f", 5, 1, 10}},
     "d0 s3 s5 d1", "d e f", "d1 s5 s3 d0"},
    {"parallel links: the faster, then the lower id", 0,
     {{"slow", 0, 1, 5}, {"fast", 0, 1, 10}, {"fast2", 0, 1, 10}},
     "d0 d1", "fast", "d1 d0"},
    {"parallel links above the bottleneck: still the faster", 1,
     {{"x", 0, 2, 10}, {"y", 0, 2, 20}, {"z", 2, 1, 5}},
     "d0 s2 d1", "y z", "d1 s2 d0"},
};

START_TEST(test_tie_break)
{
    soap_machine *m = two_devices(tie_table[_i].nsw);
    for (int k = 0; k < 7 && tie_table[_i].links[k].name; k++) {
        const tie_link *l = &tie_table[_i].links[k];
        link2(m, l->name, l->a, l->b, l->bw);
    }
    finish_ok(m);
    char v[256], l[256];
    route_strings(m, 0, 1, v, l, sizeof v);
    ck_assert_msg(strcmp(v, tie_table[_i].forward) == 0, "%s: got %s", tie_table[_i].why, v);
    ck_assert_str_eq(l, tie_table[_i].forward_links);
    route_strings(m, 1, 0, v, l, sizeof v);
    ck_assert_msg(strcmp(v, tie_table[_i].backward) == 0, "%s: got %s", tie_table[_i].why, v);
    check_routes(m);
    soap_machine_free(m);
}
END_TEST

START_TEST(test_bus_and_links)
{
    /* A bus among 3 devices plus a faster point-to-point link d0-d2: d0-d2
     * takes the link, d0-d1 and d1-d2 the bus. */
    soap_machine *m = soap_machine_new("mix");
    int t = soap_machine_add_type(m, &gpu_type);
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof name, "c%d", i);
        soap_machine_add_device(m, name, t, i);
    }
    int ends[3] = {0, 1, 2};
    soap_machine_add_link(m, "bus", SOAP_LINK_MEMBUS, 10e9, 1e-6, ends, 3);
    link2(m, "p02", 0, 2, 20);
    finish_ok(m);
    ck_assert_int_eq(m->nnodes, 3);
    int n;
    const soap_hop *h = soap_machine_route(m, 0, 2, &n);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(h[0].link, 1);
    h = soap_machine_route(m, 2, 1, &n);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(h[0].link, 0);
    ck_assert_int_eq(h[0].from, 2);
    ck_assert_int_eq(h[0].to, 1);
    check_routes(m);
    soap_machine_free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Errors of soap_machine_finish                                       */
/* ------------------------------------------------------------------ */

enum { BAD_UNREACHABLE, BAD_VERTEX, BAD_BW, BAD_LATENCY, BAD_TYPE, BAD_DUP_DEVICE,
       BAD_DUP_SWITCH, BAD_DUP_LINK, BAD_ONE_END, BAD_NO_DEVICES, BAD_NODE, BAD_TYPE_FIG,
       BAD_COUNT };

static const char *const finish_needles[BAD_COUNT][3] = {
    [BAD_UNREACHABLE] = {"machine 'bad'", "'d0' cannot reach device 'd2'", NULL},
    [BAD_VERTEX] = {"machine 'bad'", "link 'l1'", "unknown vertex 7"},
    [BAD_BW] = {"link 'l0'", "bandwidth -1e+09 is out of range",
                "expected 1000..1e+15 bytes/s per direction"},
    [BAD_LATENCY] = {"link 'l0'", "latency -1 is out of range", "expected 0..10 seconds"},
    [BAD_TYPE] = {"device 'd1'", "type index 3", NULL},
    [BAD_DUP_DEVICE] = {"name 'd1' repeats", NULL, NULL},
    [BAD_DUP_SWITCH] = {"name 'd0' repeats", NULL, NULL},
    [BAD_DUP_LINK] = {"link name 'l0' repeats", NULL, NULL},
    [BAD_ONE_END] = {"link 'l1'", "1 ends", NULL},
    [BAD_NO_DEVICES] = {"no devices", NULL, NULL},
    [BAD_NODE] = {"device 'd2'", "node -1", NULL},
    [BAD_TYPE_FIG] = {"device type 'G'", "memory bandwidth 0 is out of range",
                      "expected 1000..1e+15 bytes/s"},
};

START_TEST(test_finish_errors)
{
    soap_machine *m = soap_machine_new("bad");
    soap_device_type ty = gpu_type;
    if (_i == BAD_TYPE_FIG)
        ty.mem_bandwidth = 0;
    int t = soap_machine_add_type(m, &ty);
    if (_i != BAD_NO_DEVICES) {
        soap_machine_add_device(m, "d0", t, 0);
        soap_machine_add_device(m, "d1", _i == BAD_TYPE ? 3 : t, 0);
        soap_machine_add_device(m, _i == BAD_DUP_DEVICE ? "d1" : "d2", t, _i == BAD_NODE ? -1 : 1);
        soap_machine_add_switch(m, _i == BAD_DUP_SWITCH ? "d0" : "sw");
        link2(m, "l0", 0, 1, _i == BAD_BW ? -1 : 10);
        if (_i == BAD_LATENCY)
            m->links[0].latency = -1;
        if (_i == BAD_ONE_END) {
            int one = 3;
            soap_machine_add_link(m, "l1", SOAP_LINK_PCIE, 10e9, 1e-6, &one, 1);
        } else if (_i != BAD_UNREACHABLE) {
            link2(m, _i == BAD_DUP_LINK ? "l0" : "l1", _i == BAD_VERTEX ? 7 : 1, 3, 10);
            link2(m, "l2", 3, 2, 10);
        }
    }
    soap_error err;
    soap_error_clear(&err);
    ck_assert_int_eq(soap_machine_finish(m, &err), SOAP_ERR_INVALID);
    for (int k = 0; k < 3 && finish_needles[_i][k]; k++)
        assert_has_msg(&err, finish_needles[_i][k]);
    soap_machine_free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Narrowing                                                           */
/* ------------------------------------------------------------------ */

START_TEST(test_narrow_p100_to_node)
{
    soap_machine *m = preset("p100x16"), *n4 = narrow(m, 4);
    ck_assert_str_eq(n4->name, "p100x16:4");
    ck_assert_int_eq(n4->ndevices, 4);
    ck_assert_int_eq(n4->nnodes, 1);
    ck_assert_int_eq(link_count_of_kind(n4, SOAP_LINK_INFINIBAND), 0);
    /* 6 NVLink + 4 PCIe to the node's NIC, which stays (4 neighbours). */
    ck_assert_int_eq(n4->nlinks, 10);
    ck_assert_int_eq(n4->nswitches, 1);
    ck_assert_str_eq(soap_machine_vertex_name(n4, 4), "n0.nic");
    for (int d = 0; d < 4; d++)
        ck_assert_str_eq(n4->devices[d].name, m->devices[d].name);
    char v[256], l[256];
    route_strings(n4, 0, 3, v, l, sizeof v);
    ck_assert_str_eq(l, "n0.nv03");
    check_routes(n4);
    soap_machine_free(n4);
    soap_machine_free(m);
}
END_TEST

START_TEST(test_narrow_k80)
{
    soap_machine *m = preset("k80x64");
    soap_machine *n2 = narrow(m, 2);
    /* Only switch A serves two devices; host, NIC, IB and node 1.. go. */
    ck_assert_str_eq(n2->name, "k80x64:2");
    ck_assert_int_eq(n2->ndevices, 2);
    ck_assert_int_eq(n2->nnodes, 1);
    ck_assert_int_eq(n2->nswitches, 1);
    ck_assert_int_eq(n2->nlinks, 2);
    char v[256], l[256];
    route_strings(n2, 0, 1, v, l, sizeof v);
    ck_assert_str_eq(v, "n0.gpu0 n0.pcieA n0.gpu1");
    soap_machine *n3 = narrow(m, 3);
    ck_assert_int_eq(n3->nswitches, 3); /* A, B, host */
    ck_assert_int_eq(n3->nlinks, 5);
    ck_assert_int_eq(link_count_of_kind(n3, SOAP_LINK_INFINIBAND), 0);
    soap_machine *n8 = narrow(m, 8);
    ck_assert_int_eq(n8->nnodes, 2);
    ck_assert_int_eq(n8->nswitches, 9); /* 4 per node + IB */
    ck_assert_int_eq(n8->nlinks, 16);
    int len;
    soap_machine_route(n8, 0, 7, &len);
    ck_assert_int_eq(len, 8);
    soap_machine_free(n2);
    soap_machine_free(n3);
    soap_machine_free(n8);
    soap_machine_free(m);
}
END_TEST

START_TEST(test_narrow_bus_and_full)
{
    soap_machine *c = preset("cpu-4");
    soap_machine *c3 = narrow(c, 3), *c1 = narrow(c, 1), *c4 = narrow(c, 4);
    ck_assert_int_eq(c3->nlinks, 1);
    ck_assert_int_eq(c3->links[0].nends, 3);
    ck_assert_int_eq(c1->nlinks, 0);
    ck_assert_str_eq(c1->name, "cpu-4:1");
    ck_assert_str_eq(c4->name, "cpu-4");
    ck_assert(soap_machine_fingerprint(c4) == soap_machine_fingerprint(c));
    /* A narrowed cpu-N is the same topology as the smaller preset. */
    soap_machine *p3 = preset("cpu-3");
    ck_assert(soap_machine_fingerprint(c3) == soap_machine_fingerprint(p3));
    soap_machine_free(p3);
    soap_machine_free(c1);
    soap_machine_free(c3);
    soap_machine_free(c4);
    soap_machine_free(c);
}
END_TEST

static const int narrow_bad[] = {0, -1, 17, 1000};

START_TEST(test_narrow_errors)
{
    soap_machine *m = preset("p100x16");
    soap_error err;
    soap_error_clear(&err);
    ck_assert_ptr_null(soap_machine_narrow(m, narrow_bad[_i], &err));
    ck_assert_int_eq(err.code, SOAP_ERR_INVALID);
    char num[32];
    snprintf(num, sizeof num, "narrow to %d devices", narrow_bad[_i]);
    assert_has_msg(&err, num);
    assert_has_msg(&err, "1..16");
    soap_machine_free(m);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Fingerprints                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_fingerprints)
{
    const char *names[] = {"p100x16", "k80x64", "dgx-h100", "cpu-1", "cpu-2", "cpu-16"};
    const int nn = 6;
    uint64_t fp[6 + 4];
    for (int i = 0; i < nn; i++) {
        soap_machine *a = preset(names[i]), *b = preset(names[i]);
        fp[i] = soap_machine_fingerprint(a);
        ck_assert(fp[i] == soap_machine_fingerprint(b)); /* deterministic */
        /* Names do not enter. */
        strcpy(b->name, "renamed");
        strcpy(b->devices[0].name, "other");
        ck_assert(fp[i] == soap_machine_fingerprint(b));
        /* Nodes and figures do. */
        b->devices[0].node += 1;
        ck_assert(fp[i] != soap_machine_fingerprint(b));
        b->devices[0].node -= 1;
        if (b->nlinks) {
            b->links[0].latency *= 2;
            ck_assert(fp[i] != soap_machine_fingerprint(b));
            b->links[0].latency /= 2;
            b->links[0].bandwidth *= 2;
            ck_assert(fp[i] != soap_machine_fingerprint(b));
            b->links[0].bandwidth /= 2;
            ck_assert(fp[i] == soap_machine_fingerprint(b));
        }
        b->types[0].peak_flops *= 2;
        ck_assert(fp[i] != soap_machine_fingerprint(b));
        soap_machine_free(a);
        soap_machine_free(b);
    }
    soap_machine *p = preset("p100x16"), *k = preset("k80x64");
    soap_machine *ns[4] = {narrow(p, 4), narrow(p, 8), narrow(k, 4), narrow(k, 2)};
    for (int i = 0; i < 4; i++) {
        fp[nn + i] = soap_machine_fingerprint(ns[i]);
        soap_machine_free(ns[i]);
    }
    for (int i = 0; i < nn + 4; i++)
        for (int j = 0; j < i; j++)
            ck_assert_msg(fp[i] != fp[j], "fingerprints %d and %d are equal", i, j);
    soap_machine_free(p);
    soap_machine_free(k);
    /* The same parts wired differently: only the ends differ. */
    soap_machine *a = two_devices(1), *b = two_devices(1);
    link2(a, "l0", 0, 1, 10);
    link2(a, "l1", 0, 2, 10);
    link2(b, "l0", 0, 1, 10);
    link2(b, "l1", 1, 2, 10);
    finish_ok(a);
    finish_ok(b);
    ck_assert(soap_machine_fingerprint(a) != soap_machine_fingerprint(b));
    soap_machine_free(a);
    soap_machine_free(b);
}
END_TEST

/* ------------------------------------------------------------------ */
/* soap_machine_load                                                   */
/* ------------------------------------------------------------------ */

START_TEST(test_load)
{
    soap_error err;
    soap_error_clear(&err);
    soap_machine *m = soap_machine_load("p100x16", 0, &err);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(m->ndevices, 16);
    soap_machine_free(m);
    m = soap_machine_load("p100x16", 16, &err);
    ck_assert_str_eq(m->name, "p100x16");
    soap_machine_free(m);
    m = soap_machine_load("k80x64", 4, &err);
    ck_assert_str_eq(m->name, "k80x64:4");
    ck_assert_int_eq(m->ndevices, 4);
    soap_machine_free(m);
    char path[512];
    m = soap_machine_load(soap_test_data("machines/two-nodes.json", path, sizeof path), 2, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_str_eq(m->name, "two-nodes:2");
    /* The NVLink, and both GPUs' PCIe to the NIC (which still joins two
     * devices); the IB side goes. */
    ck_assert_int_eq(m->nlinks, 3);
    ck_assert_int_eq(m->nswitches, 1);
    soap_machine_free(m);

    ck_assert_ptr_null(soap_machine_load("p100x16", 17, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_INVALID);
    assert_has_msg(&err, "16 devices");
    assert_has_msg(&err, "17");
    ck_assert_ptr_null(soap_machine_load("nosuch", 0, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_NOT_FOUND);
    assert_has_msg(&err, "presets: p100x16");
    ck_assert_ptr_null(soap_machine_load("cpu-0", 0, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_INVALID);
    ck_assert_ptr_null(soap_machine_load("/nonexistent/m.json", 0, &err));
    ck_assert_int_eq(err.code, SOAP_ERR_IO);
    assert_has_msg(&err, "/nonexistent/m.json");
}
END_TEST

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

static void assert_same_machine(const soap_machine *a, const soap_machine *b)
{
    ck_assert(soap_machine_fingerprint(a) == soap_machine_fingerprint(b));
    ck_assert_str_eq(a->name, b->name);
    ck_assert_int_eq(a->ndevices, b->ndevices);
    ck_assert_int_eq(a->nnodes, b->nnodes);
    ck_assert_int_eq(a->nswitches, b->nswitches);
    ck_assert_int_eq(a->nlinks, b->nlinks);
    for (int v = 0; v < a->ndevices + a->nswitches; v++)
        ck_assert_str_eq(soap_machine_vertex_name(a, v), soap_machine_vertex_name(b, v));
    for (int i = 0; i < a->ntypes; i++)
        ck_assert_str_eq(a->types[i].name, b->types[i].name);
    for (int i = 0; i < a->nlinks; i++)
        ck_assert_str_eq(a->links[i].name, b->links[i].name);
    for (int s = 0; s < a->ndevices; s++)
        for (int d = 0; d < a->ndevices; d++) {
            int la, lb;
            const soap_hop *ha = soap_machine_route(a, s, d, &la);
            const soap_hop *hb = soap_machine_route(b, s, d, &lb);
            ck_assert_int_eq(la, lb);
            for (int i = 0; i < la; i++) {
                ck_assert_int_eq(ha[i].link, hb[i].link);
                ck_assert_int_eq(ha[i].from, hb[i].from);
                ck_assert_int_eq(ha[i].to, hb[i].to);
            }
        }
}

static const struct {
    const char *name;
    int narrow_to;
} roundtrip_table[] = {
    {"p100x16", 0}, {"k80x64", 0}, {"dgx-h100", 0}, {"cpu-1", 0},
    {"cpu-5", 0},   {"p100x16", 5}, {"k80x64", 3},
};

START_TEST(test_json_roundtrip)
{
    soap_machine *m = preset(roundtrip_table[_i].name);
    if (roundtrip_table[_i].narrow_to > 0) {
        soap_machine *nm = narrow(m, roundtrip_table[_i].narrow_to);
        soap_machine_free(m);
        m = nm;
    }
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    soap_error err;
    soap_error_clear(&err);
    ck_assert_int_eq(soap_machine_write_json(m, path, &err), SOAP_OK);
    soap_machine *r = soap_machine_read_json(path, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    assert_same_machine(m, r);
    /* Writing the read machine gives the same bytes. */
    char path2[64];
    soap_test_tmpfile(path2, sizeof path2, ".json");
    ck_assert_int_eq(soap_machine_write_json(r, path2, &err), SOAP_OK);
    FILE *f1 = fopen(path, "r"), *f2 = fopen(path2, "r");
    int c1, c2;
    do {
        c1 = fgetc(f1);
        c2 = fgetc(f2);
        ck_assert_int_eq(c1, c2);
    } while (c1 != EOF);
    fclose(f1);
    fclose(f2);
    unlink(path);
    unlink(path2);
    soap_machine_free(r);
    soap_machine_free(m);
}
END_TEST

START_TEST(test_json_hand_written)
{
    char path[512];
    soap_error err;
    soap_error_clear(&err);
    soap_machine *m =
        soap_machine_read_json(soap_test_data("machines/two-nodes.json", path, sizeof path), &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_str_eq(m->name, "two-nodes");
    ck_assert_int_eq(m->ndevices, 3);
    ck_assert_int_eq(m->nnodes, 2);
    ck_assert_int_eq(m->nswitches, 3);
    ck_assert_int_eq(m->nlinks, 6);
    ck_assert_double_eq(m->types[0].peak_flops, 10.6e12);
    ck_assert_double_eq(m->links[1].bandwidth, 15.75e9);
    ck_assert_double_eq(m->links[4].latency, 2.5e-6);
    ck_assert_int_eq(m->links[4].kind, SOAP_LINK_INFINIBAND);
    char v[256], l[256];
    route_strings(m, 1, 2, v, l, sizeof v);
    ck_assert_str_eq(v, "n0.gpu1 n0.nic ib n1.nic n1.gpu0");
    ck_assert_str_eq(l, "n0.pcie1 n0.ib n1.ib n1.pcie0");
    route_strings(m, 0, 1, v, l, sizeof v);
    ck_assert_str_eq(l, "n0.nv01");
    /* The same machine built in code has the same fingerprint. */
    soap_machine *b = soap_machine_new("built");
    soap_device_type t = {.name = "P100", .cls = SOAP_DEVICE_GPU, .peak_flops = 10.6e12,
                          .mem_bandwidth = 732e9, .mem_capacity = 16e9,
                          .launch_overhead = 5e-6};
    soap_machine_add_type(b, &t);
    soap_machine_add_device(b, "a", 0, 0);
    soap_machine_add_device(b, "b", 0, 0);
    soap_machine_add_device(b, "c", 0, 1);
    soap_machine_add_switch(b, "x");
    soap_machine_add_switch(b, "y");
    soap_machine_add_switch(b, "z");
    const int e[6][2] = {{0, 1}, {0, 3}, {1, 3}, {2, 4}, {3, 5}, {4, 5}};
    const soap_link_kind k[6] = {SOAP_LINK_NVLINK, SOAP_LINK_PCIE, SOAP_LINK_PCIE,
                                 SOAP_LINK_PCIE, SOAP_LINK_INFINIBAND, SOAP_LINK_INFINIBAND};
    const double bw[6] = {20e9, 15.75e9, 15.75e9, 15.75e9, 12.5e9, 12.5e9};
    const double lat[6] = {1e-6, 2e-6, 2e-6, 2e-6, 2.5e-6, 2.5e-6};
    for (int i = 0; i < 6; i++) {
        char name[8];
        snprintf(name, sizeof name, "l%d", i);
        soap_machine_add_link(b, name, k[i], bw[i], lat[i], e[i], 2);
    }
    finish_ok(b);
    ck_assert(soap_machine_fingerprint(b) == soap_machine_fingerprint(m));
    soap_machine_free(b);
    soap_machine_free(m);

    m = soap_machine_read_json(soap_test_data("machines/bus.json", path, sizeof path), &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    ck_assert_int_eq(m->nnodes, 3);
    ck_assert_int_eq(m->links[0].nends, 3);
    ck_assert_double_eq(m->types[0].launch_overhead, 0.0);
    check_routes(m);
    soap_machine_free(m);
}
END_TEST

static const struct {
    const char *file;
    soap_status code;
    const char *needles[3];
} bad_json_table[] = {
    {"malformed.json", SOAP_ERR_PARSE, {"malformed.json:4:4: ']' expected", NULL, NULL}},
    {"unknown-type.json", SOAP_ERR_PARSE,
     {"unknown-type.json: devices[1] ('g1'): unknown type 'V100' (types: P100)", NULL, NULL}},
    {"unreachable.json", SOAP_ERR_INVALID,
     {"unreachable.json: machine 'bad'", "'g0' cannot reach device 'g2'", NULL}},
    {"negative-bandwidth.json", SOAP_ERR_PARSE,
     {"negative-bandwidth.json: links[0] ('l01'): bandwidth -2e+10 is out of range: expected "
      "1000..1e+15 bytes/s per direction", NULL, NULL}},
    {"missing-field.json", SOAP_ERR_PARSE,
     {"missing-field.json: devices[0]: missing field 'node'", NULL, NULL}},
    {"unknown-key.json", SOAP_ERR_PARSE,
     {"unknown-key.json: links[0]: unknown key 'bandwith'", "expected: name, kind, bandwidth",
      NULL}},
    {"unknown-vertex.json", SOAP_ERR_PARSE,
     {"unknown-vertex.json: links[1] ('l1'): ends[1]: unknown vertex 'sw9'", NULL, NULL}},
    {"duplicate-name.json", SOAP_ERR_PARSE,
     {"duplicate-name.json: switches[0]: name 'g1' is already used by a device", NULL, NULL}},
    {"unknown-kind.json", SOAP_ERR_PARSE,
     {"links[0] ('l01'): unknown kind 'ethernet'", NULL, NULL}},
    {"wrong-format.json", SOAP_ERR_PARSE, {"format must be \"soap-machine\"", NULL, NULL}},
    {"no-such-file.json", SOAP_ERR_IO, {"no-such-file.json: cannot open", NULL, NULL}},
};

START_TEST(test_json_errors)
{
    char path[512], rel[128];
    snprintf(rel, sizeof rel, "machines/%s", bad_json_table[_i].file);
    soap_error err;
    soap_error_clear(&err);
    ck_assert_ptr_null(soap_machine_read_json(soap_test_data(rel, path, sizeof path), &err));
    ck_assert_int_eq(err.code, bad_json_table[_i].code);
    for (int k = 0; k < 3 && bad_json_table[_i].needles[k]; k++)
        assert_has_msg(&err, bad_json_table[_i].needles[k]);
}
END_TEST

/* Small errors made by editing one valid document in memory. */
static const struct {
    const char *from, *to, *needle;
} edit_table[] = {
    {"\"node\": 1", "\"node\": 1.5", "devices[2] ('n1.gpu0'): node must be an integer"},
    {"\"latency_s\": 2e-6,\n     \"ends\": [\"n0.gpu0\"",
     "\"latency_s\": -1,\n     \"ends\": [\"n0.gpu0\"",
     "links[1] ('n0.pcie0'): latency_s -1 is out of range: expected 0..10 seconds"},
    {"\"memory_bytes\": 16e9", "\"memory_bytes\": \"16e9\"",
     "device_types[0]: memory_bytes must be a number: expected 1024..1.1259e+15 bytes "
     "(1 KiB..1 PiB)"},
    {"\"version\": 1", "\"version\": 2", "version must be 1"},
    {"\"ends\": [\"n0.gpu0\", \"n0.gpu1\"]", "\"ends\": [\"n0.gpu0\"]",
     "links[0] ('n0.nv01'): ends must be an array of at least 2"},
    {"\"ends\": [\"n0.gpu0\", \"n0.gpu1\"]", "\"ends\": [\"n0.gpu0\", \"n0.gpu0\"]",
     "vertex 'n0.gpu0' is an end twice"},
    {"\"name\": \"n0.pcie1\"", "\"name\": \"n0.pcie0\"", "link name 'n0.pcie0' repeats"},
    {"\"switches\": [\"n0.nic\", \"n1.nic\", \"ib\"]", "\"switches\": {}",
     "'switches' must be an array"},
    {"\"name\": \"two-nodes\"", "\"name\": \"two-nodes\", \"name\": \"x\"", "duplicate object key"},
    /* Figures the loader used to accept and the simulator then aborted on
     * (assertion 'dur >= 0 && dur < 1e30'): each is out of its range. */
    {"\"bandwidth\": 20e9", "\"bandwidth\": 1e-300",
     "links[0] ('n0.nv01'): bandwidth 1e-300 is out of range: expected 1000..1e+15 bytes/s per "
     "direction"},
    {"\"bandwidth\": 20e9", "\"bandwidth\": 1e308",
     "links[0] ('n0.nv01'): bandwidth 1e+308 is out of range: expected 1000..1e+15 bytes/s"},
    {"\"latency_s\": 1e-6", "\"latency_s\": 1e30",
     "links[0] ('n0.nv01'): latency_s 1e+30 is out of range: expected 0..10 seconds"},
    {"\"launch_overhead_s\": 5e-6", "\"launch_overhead_s\": 1e30",
     "device_types[0]: launch_overhead_s 1e+30 is out of range: expected 0..10 seconds"},
    {"\"peak_flops\": 10.6e12", "\"peak_flops\": 1e-300",
     "device_types[0]: peak_flops 1e-300 is out of range: expected 1e+06..1e+18 FLOP/s"},
    {"\"peak_flops\": 10.6e12", "\"peak_flops\": 1e308",
     "device_types[0]: peak_flops 1e+308 is out of range: expected 1e+06..1e+18 FLOP/s"},
    {"\"memory_bandwidth\": 732e9", "\"memory_bandwidth\": 1e308",
     "device_types[0]: memory_bandwidth 1e+308 is out of range: expected 1000..1e+15 bytes/s"},
    {"\"memory_bytes\": 16e9", "\"memory_bytes\": 1e-300",
     "device_types[0]: memory_bytes 1e-300 is out of range: expected 1024..1.1259e+15 bytes"},
    {"\"class\": \"gpu\"", "\"class\": \"tpu\"",
     "device_types[0]: unknown class 'tpu' (classes: gpu, cpu)"},
    {"\"class\": \"gpu\", ", "", "device_types[0]: missing field 'class'"},
    /* The optional calibration of a device type. */
    {"\"launch_overhead_s\": 5e-6", "\"launch_overhead_s\": 5e-6, \"calibration\": {\"winograd\": 9}",
     "device_types[0].calibration: winograd 9 is out of range: expected 1..4"},
    {"\"launch_overhead_s\": 5e-6", "\"launch_overhead_s\": 5e-6, \"calibration\": {\"gemm_eff\": 0}",
     "device_types[0].calibration: gemm_eff 0 is out of range: expected 0.01..1"},
    {"\"launch_overhead_s\": 5e-6", "\"launch_overhead_s\": 5e-6, \"calibration\": {\"gemm\": 0.5}",
     "device_types[0].calibration: unknown key 'gemm' (expected: gemm_eff, conv_eff, winograd, "
     "mem_eff)"},
    {"\"launch_overhead_s\": 5e-6", "\"launch_overhead_s\": 5e-6, \"calibration\": 0.5",
     "device_types[0].calibration: expected an object"},
    {"\"launch_overhead_s\": 5e-6", "\"launch_overhead_s\": 5e-6, \"calib\": {}",
     "device_types[0]: unknown key 'calib' (expected: name, class, peak_flops, memory_bandwidth, "
     "memory_bytes, launch_overhead_s, calibration)"},
    /* Names from the file are printed escaped. */
    {"\"type\": \"P100\", \"node\": 1", "\"type\": \"P\\u001b[2J\", \"node\": 1",
     "unknown type 'P\\x1b[2J' (types: P100)"},
};


START_TEST(test_json_edits)
{
    char src[512];
    FILE *f = fopen(soap_test_data("machines/two-nodes.json", src, sizeof src), "r");
    ck_assert_ptr_nonnull(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    char *at = strstr(text, edit_table[_i].from);
    ck_assert_msg(at != NULL, "test text lacks %s", edit_table[_i].from);
    char edited[8192];
    snprintf(edited, sizeof edited, "%.*s%s%s", (int)(at - text), text, edit_table[_i].to,
             at + strlen(edit_table[_i].from));
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    soap_test_write(path, edited);
    soap_error err;
    soap_error_clear(&err);
    ck_assert_ptr_null(soap_machine_read_json(path, &err));
    ck_assert_int_ne(err.code, SOAP_OK);
    assert_has_msg(&err, path);
    assert_has_msg(&err, edit_table[_i].needle);
    unlink(path);
}
END_TEST

/* A calibration in the file is read field by field (the missing ones stay
 * 0: the class default), changes the fingerprint and is written back. */
START_TEST(test_json_calibration)
{
    char src[512];
    FILE *f = fopen(soap_test_data("machines/two-nodes.json", src, sizeof src), "r");
    ck_assert_ptr_nonnull(f);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    const char *from = "\"launch_overhead_s\": 5e-6";
    char *at = strstr(text, from);
    ck_assert_ptr_nonnull(at);
    char edited[8192];
    snprintf(edited, sizeof edited, "%.*s%s%s", (int)(at - text), text,
             "\"launch_overhead_s\": 5e-6, \"calibration\": {\"conv_eff\": 0.45, \"winograd\": 2.5}",
             at + strlen(from));
    char path[64], path2[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    soap_test_write(path, edited);
    soap_error err;
    soap_error_clear(&err);
    soap_machine *m = soap_machine_read_json(path, &err);
    ck_assert_msg(m != NULL, "%s", err.msg);
    soap_machine *plain = soap_machine_read_json(src, &err);
    ck_assert_msg(plain != NULL, "%s", err.msg);
    const soap_device_calibration *c = &m->types[0].cal;
    ck_assert(c->conv_eff == 0.45 && c->winograd == 2.5 && c->gemm_eff == 0 && c->mem_eff == 0);
    ck_assert(soap_machine_fingerprint(m) != soap_machine_fingerprint(plain));
    soap_test_tmpfile(path2, sizeof path2, ".json");
    ck_assert_int_eq(soap_machine_write_json(m, path2, &err), SOAP_OK);
    soap_machine *back = soap_machine_read_json(path2, &err);
    ck_assert_msg(back != NULL, "%s", err.msg);
    ck_assert(memcmp(&back->types[0].cal, c, sizeof *c) == 0);
    ck_assert(soap_machine_fingerprint(back) == soap_machine_fingerprint(m));
    soap_machine_free(back);
    soap_machine_free(plain);
    soap_machine_free(m);
    unlink(path);
    unlink(path2);
}
END_TEST

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 16];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

START_TEST(test_json_precision)
{
    /* Short figures stay short; figures that need 17 digits keep them. */
    soap_machine *m = preset("cpu-2");
    char path[64];
    soap_test_tmpfile(path, sizeof path, ".json");
    soap_error err;
    soap_error_clear(&err);
    ck_assert_int_eq(soap_machine_write_json(m, path, &err), SOAP_OK);
    const char *text = slurp(path);
    ck_assert_ptr_nonnull(strstr(text, "\"latency_s\": 1e-6"));
    ck_assert_ptr_nonnull(strstr(text, "\"launch_overhead_s\": 2e-6"));
    m->links[0].latency = 0.1 + 0.2; /* 0.30000000000000004 */
    m->types[0].peak_flops = 1e12 / 3;
    ck_assert_int_eq(soap_machine_write_json(m, path, &err), SOAP_OK);
    soap_machine *r = soap_machine_read_json(path, &err);
    ck_assert_msg(r != NULL, "%s", err.msg);
    ck_assert(r->links[0].latency == 0.1 + 0.2);
    ck_assert(r->types[0].peak_flops == 1e12 / 3);
    ck_assert(soap_machine_fingerprint(r) == soap_machine_fingerprint(m));
    unlink(path);
    soap_machine_free(r);
    soap_machine_free(m);
}
END_TEST

START_TEST(test_json_write_error)
{
    soap_machine *m = preset("cpu-2");
    soap_error err;
    soap_error_clear(&err);
    ck_assert_int_eq(soap_machine_write_json(m, "/nonexistent-dir/m.json", &err), SOAP_ERR_IO);
    assert_has_msg(&err, "/nonexistent-dir/m.json");
    soap_machine_free(m);
}
END_TEST

#define N(t) ((int)(sizeof(t) / sizeof((t)[0])))

Suite *soap_suite_machine(void)
{
    Suite *s = suite_create("machine");
    TCase *tc = tcase_create("presets");
    tcase_add_loop_test(tc, test_preset_sizes, 0, NPRESETS);
    tcase_add_test(tc, test_preset_link_figures);
    tcase_add_test(tc, test_preset_names);
    tcase_add_loop_test(tc, test_preset_unknown, 0, N(bad_preset_table));
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("routes");
    tcase_add_loop_test(tc, test_route_by_hand, 0, N(route_table));
    tcase_add_loop_test(tc, test_routes_connected_and_optimal, 0, N(connected_table));
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);

    tc = tcase_create("tie_breaks");
    tcase_add_loop_test(tc, test_tie_break, 0, N(tie_table));
    tcase_add_test(tc, test_bus_and_links);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("finish_errors");
    tcase_add_loop_test(tc, test_finish_errors, 0, BAD_COUNT);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("narrow");
    tcase_add_test(tc, test_narrow_p100_to_node);
    tcase_add_test(tc, test_narrow_k80);
    tcase_add_test(tc, test_narrow_bus_and_full);
    tcase_add_loop_test(tc, test_narrow_errors, 0, N(narrow_bad));
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("fingerprint");
    tcase_add_test(tc, test_fingerprints);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("load");
    tcase_add_test(tc, test_load);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);

    tc = tcase_create("json");
    tcase_add_loop_test(tc, test_json_roundtrip, 0, N(roundtrip_table));
    tcase_add_test(tc, test_json_hand_written);
    tcase_add_loop_test(tc, test_json_errors, 0, N(bad_json_table));
    tcase_add_loop_test(tc, test_json_edits, 0, N(edit_table));
    tcase_add_test(tc, test_json_calibration);
    tcase_add_test(tc, test_json_precision);
    tcase_add_test(tc, test_json_write_error);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
