/* cmd_machine.c: `soap machine`: a machine model (preset or file, optionally
 * narrowed to n devices): its fingerprint, device types, devices by node,
 * switches, links and a few example routes as text, or with --json the
 * machine file itself (soap_machine_to_json), which reads back as the same
 * machine.
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

#define GIGA 1e9
#define TERA 1e12
#define MICRO 1e-6
#define MAX_EXAMPLE_ROUTES 3
#define MAX_ENDS_SHOWN 6 /* a bus of a CPU machine has one end per core */

/* Example routes: device 0 to its neighbour, to the first device of another
 * node, and to the last device; distinct pairs only. Returns the count. */
static int example_routes(const soap_machine *m, int dst[MAX_EXAMPLE_ROUTES])
{
    int cand[MAX_EXAMPLE_ROUTES] = {1, -1, m->ndevices - 1};
    for (int d = 1; d < m->ndevices; d++)
        if (m->devices[d].node != m->devices[0].node) {
            cand[1] = d;
            break;
        }
    int n = 0;
    for (int i = 0; i < MAX_EXAMPLE_ROUTES; i++) {
        int c = cand[i], dup = c < 1 || c >= m->ndevices;
        for (int k = 0; k < n && !dup; k++)
            dup = dst[k] == c;
        if (!dup)
            dst[n++] = c;
    }
    return n;
}

/* Lowest bandwidth (bytes/s) and summed latency (seconds) along a route. */
static void route_figures(const soap_machine *m, const soap_hop *h, int n, double *bw,
                          double *lat)
{
    *bw = 0;
    *lat = 0;
    for (int i = 0; i < n; i++) {
        const soap_link *l = &m->links[h[i].link];
        if (i == 0 || l->bandwidth < *bw)
            *bw = l->bandwidth;
        *lat += l->latency;
    }
}

static void machine_text(const soap_machine *m)
{
    printf("machine %s: %d devices on %d node%s, %d switches, %d links (fingerprint "
           "%016" PRIx64 ")\n",
           cli_name(m->name), m->ndevices, m->nnodes, m->nnodes == 1 ? "" : "s", m->nswitches, m->nlinks,
           soap_machine_fingerprint(m));
    printf("\ndevice types:\n");
    for (int t = 0; t < m->ntypes; t++) {
        const soap_device_type *ty = &m->types[t];
        printf("  %-8s peak %.2f TFLOP/s, memory %.1f GB/s, %.1f GB, launch overhead %.1f "
               "us\n",
               cli_name(ty->name), ty->peak_flops / TERA, ty->mem_bandwidth / GIGA,
               ty->mem_capacity / GIGA, ty->launch_overhead / MICRO);
    }
    printf("\ndevices by node:\n");
    for (int node = 0; node < m->nnodes; node++) {
        printf("  node %d:", node);
        int first = 1;
        for (int d = 0; d < m->ndevices; d++) {
            if (m->devices[d].node != node)
                continue;
            printf("%s %s", first ? "" : ",", cli_name(m->devices[d].name));
            if (m->ntypes > 1)
                printf(" (%s)", cli_name(m->types[m->devices[d].type].name));
            first = 0;
        }
        if (m->ntypes == 1 && !first)
            printf(" (%s)", cli_name(m->types[0].name));
        printf("\n");
    }
    if (m->nswitches > 0) {
        printf("\nswitches:");
        for (int s = 0; s < m->nswitches; s++)
            printf("%s %s", s ? "," : "", cli_name(m->switch_names[s]));
        printf("\n");
    }
    if (m->nlinks > 0) {
        int w = 4;
        for (int i = 0; i < m->nlinks; i++) {
            int n = (int)strlen(cli_name(m->links[i].name));
            w = n > w ? n : w;
        }
        printf("\nlinks:\n  %-*s  %-10s  %10s  %10s  ends\n", w, "name", "kind", "GB/s",
               "latency us");
        for (int i = 0; i < m->nlinks; i++) {
            const soap_link *l = &m->links[i];
            printf("  %-*s  %-10s  %10.2f  %10.2f ", w, cli_name(l->name),
                   soap_link_kind_name(l->kind),
                   l->bandwidth / GIGA, l->latency / MICRO);
            for (int e = 0; e < l->nends && e < MAX_ENDS_SHOWN; e++)
                printf(" %s", cli_name(soap_machine_vertex_name(m, l->ends[e])));
            if (l->nends > MAX_ENDS_SHOWN)
                printf(" ... (%d ends in all)", l->nends);
            printf("\n");
        }
    }
    int dst[MAX_EXAMPLE_ROUTES];
    int nr = example_routes(m, dst);
    if (nr > 0)
        printf("\nroutes (examples):\n");
    for (int r = 0; r < nr; r++) {
        int n = 0;
        const soap_hop *h = soap_machine_route(m, 0, dst[r], &n);
        double bw, lat;
        route_figures(m, h, n, &bw, &lat);
        printf("  %s -> %s: %d hop%s, bottleneck %.2f GB/s, latency %.2f us\n    %s",
               cli_name(m->devices[0].name), cli_name(m->devices[dst[r]].name), n,
               n == 1 ? "" : "s", bw / GIGA, lat / MICRO,
               cli_name(soap_machine_vertex_name(m, 0)));
        for (int i = 0; i < n; i++)
            printf(" -[%s]-> %s", cli_name(m->links[h[i].link].name),
                   cli_name(soap_machine_vertex_name(m, h[i].to)));
        printf("\n");
    }
}

static int run_machine(const cli_options *o, const cli_inputs *in, void *own)
{
    (void)own;
    if (o->json)
        cli_print_json(stdout, soap_machine_to_json(in->m));
    else
        machine_text(in->m);
    return CLI_EXIT_OK;
}

static const cli_opt *const machine_opts[] = {&cli_opt_machine, &cli_opt_devices, &cli_opt_json,
                                              NULL};

const cli_command cli_cmd_machine = {
    .name = "machine",
    .summary = "a machine model: devices, nodes, links, routes",
    .description = "Describes machine X (a preset or a machine file): device types, devices "
                   "by node, switches, links (bandwidth, latency, ends), example routes and "
                   "the fingerprint that strategy files record. With --json it prints the "
                   "machine file instead (JSON: format, version, name, device_types, "
                   "devices, switches, links), which --machine FILE reads back as the same "
                   "machine (same fingerprint); with --devices n, the narrowed machine.",
    .opts = machine_opts,
    .load = CLI_LOAD_MACHINE,
    .run = run_machine,
};
