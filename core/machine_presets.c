/* machine_presets.c: the built-in machines "p100x16", "k80x64", "dgx-h100"
 * and "cpu-N", their names and descriptions.
 *
 * A device is one GPU as CUDA sees it. Every device and link figure below is
 * from the vendor's published specification, named in a comment beside it;
 * latencies and launch overheads are not in those documents and are marked
 * as estimates with what they stand for.
 *
 * Sources (vendor documents, read as published):
 *  [P100]  NVIDIA, "NVIDIA Tesla P100" datasheet (2016), SXM2 / NVLink version.
 *  [GP100] NVIDIA, "NVIDIA Tesla P100" whitepaper (Pascal GP100 architecture,
 *          2016): NVLink 1.0 runs 20 GB/s per direction per link.
 *  [K80]   NVIDIA, "Tesla K80 GPU Accelerator" board specification / datasheet
 *          (2014): two GK210 GPUs per board.
 *  [H100]  NVIDIA, "NVIDIA H100 Tensor Core GPU" datasheet (2022), SXM5.
 *  [PCIe3] PCI-SIG, "PCI Express Base Specification, Revision 3.0": 8 GT/s
 *          per lane with 128b/130b encoding, 0.985 GB/s per lane per direction.
 *  [IBTA]  InfiniBand Trade Association, "InfiniBand Roadmap": FDR 4x
 *          56 Gb/s, EDR 4x 100 Gb/s per port.
 *  [CX3]   Mellanox, "ConnectX-3 VPI" adapter product brief: FDR HCA on a
 *          PCI Express 3.0 x8 host interface.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "soap_core.h"

/* ---- shared figures ---- */
#define GB 1e9

/* [PCIe3]: 16 lanes x 0.985 GB/s = 15.75 GB/s per direction. */
#define PCIE3_X16_BW (15.75 * GB)
/* [PCIe3] x8 for the FDR HCA [CX3]: 7.88 GB/s per direction. */
#define PCIE3_X8_BW (7.875 * GB)
/* Estimate: about 2 us from issuing a small GPU copy to its arrival over
 * PCIe (DMA setup dominates, not the wire); charged on the GPU's own link. */
#define PCIE_GPU_LAT 2e-6
/* Estimate: crossing a PCIe switch or root port adds well under 1 us. */
#define PCIE_FABRIC_LAT 0.5e-6
/* Estimate: about 5 us for a GPU message to cross InfiniBand node to node
 * (vendor adapters quote ~1 us MPI latency for host memory; GPU staging adds
 * the rest), split over the two hops NIC-switch and switch-NIC. */
#define IB_HOP_LAT 2.5e-6
/* Estimate: about 1 us for a small peer copy over NVLink (no vendor figure). */
#define NVLINK_LAT 1e-6
/* Estimate: CUDA kernel launch overhead of a few microseconds. */
#define GPU_LAUNCH 5e-6

static soap_machine *p100x16(void)
{
    soap_machine *m = soap_machine_new("p100x16");
    soap_device_type t = {
        .name = "P100",
        .cls = SOAP_DEVICE_GPU,
        .peak_flops = 10.6e12,  /* [P100] single precision, NVLink version */
        .mem_bandwidth = 732e9, /* [P100] HBM2 */
        .mem_capacity = 16e9,   /* [P100] "16 GB" CoWoS HBM2 */
        .launch_overhead = GPU_LAUNCH,
        /* Fitted by `soap calibrate` to the single-GPU training
         * throughputs of experiments/calibration/p100_tf_benchmarks_2017.csv
         * (rms log error 0.044; every model within 7%). */
        .cal = {.gemm_eff = 1.0, .conv_eff = 0.467, .winograd = 3.927, .mem_eff = 0.4501},
    };
    int type = soap_machine_add_type(m, &t);
    enum { NODES = 4, GPUS = 4 };
    char name[SOAP_NAME_MAX];
    for (int n = 0; n < NODES; n++)
        for (int g = 0; g < GPUS; g++) {
            snprintf(name, sizeof name, "n%d.gpu%d", n, g);
            soap_machine_add_device(m, name, type, n);
        }
    int nic[NODES];
    for (int n = 0; n < NODES; n++) {
        /* The node's host bridge and its NIC, one vertex. */
        snprintf(name, sizeof name, "n%d.nic", n);
        nic[n] = soap_machine_add_switch(m, name);
    }
    int ib = soap_machine_add_switch(m, "ib");
    for (int n = 0; n < NODES; n++) {
        /* All-to-all NVLink inside a node, one NVLink 1.0 link per pair:
         * 20 GB/s per direction [GP100]. */
        for (int a = 0; a < GPUS; a++)
            for (int b = a + 1; b < GPUS; b++) {
                snprintf(name, sizeof name, "n%d.nv%d%d", n, a, b);
                int ends[2] = {n * GPUS + a, n * GPUS + b};
                soap_machine_add_link(m, name, SOAP_LINK_NVLINK, 20 * GB, NVLINK_LAT, ends, 2);
            }
        for (int g = 0; g < GPUS; g++) {
            snprintf(name, sizeof name, "n%d.pcie%d", n, g);
            int ends[2] = {n * GPUS + g, nic[n]};
            soap_machine_add_link(m, name, SOAP_LINK_PCIE, PCIE3_X16_BW, PCIE_GPU_LAT, ends, 2);
        }
        /* EDR InfiniBand, 100 Gb/s = 12.5 GB/s [IBTA]. */
        snprintf(name, sizeof name, "n%d.ib", n);
        int ends[2] = {nic[n], ib};
        soap_machine_add_link(m, name, SOAP_LINK_INFINIBAND, 12.5 * GB, IB_HOP_LAT, ends, 2);
    }
    return m;
}

static soap_machine *k80x64(void)
{
    soap_machine *m = soap_machine_new("k80x64");
    soap_device_type t = {
        .name = "K80",
        .cls = SOAP_DEVICE_GPU,
        /* [K80]: 8.73 TFLOP/s fp32 at boost, 480 GB/s and 24 GB per board
         * of two GK210; one GK210 is half of each. */
        .peak_flops = 4.37e12,
        .mem_bandwidth = 240e9,
        .mem_capacity = 12e9,
        /* Estimate: Kepler-era launch overhead, at the upper end of 5-10 us. */
        .launch_overhead = 10e-6,
        /* Fitted by `soap calibrate` to
         * experiments/calibration/k80_tf_benchmarks_2017.csv (rms log error
         * 0.045; every model within 9%). */
        .cal = {.gemm_eff = 0.9185, .conv_eff = 0.2469, .winograd = 3.999, .mem_eff = 0.2804},
    };
    int type = soap_machine_add_type(m, &t);
    enum { NODES = 16, GPUS = 4 };
    char name[SOAP_NAME_MAX];
    for (int n = 0; n < NODES; n++)
        for (int g = 0; g < GPUS; g++) {
            snprintf(name, sizeof name, "n%d.gpu%d", n, g);
            soap_machine_add_device(m, name, type, n);
        }
    /* Per node: PCIe switch A (GPUs 0, 1: one K80 board), switch B (GPUs 2,
     * 3), the host's root complex, the NIC; then one IB switch. */
    int swa[NODES], swb[NODES], host[NODES], nic[NODES];
    for (int n = 0; n < NODES; n++) {
        snprintf(name, sizeof name, "n%d.pcieA", n);
        swa[n] = soap_machine_add_switch(m, name);
        snprintf(name, sizeof name, "n%d.pcieB", n);
        swb[n] = soap_machine_add_switch(m, name);
        snprintf(name, sizeof name, "n%d.host", n);
        host[n] = soap_machine_add_switch(m, name);
        snprintf(name, sizeof name, "n%d.nic", n);
        nic[n] = soap_machine_add_switch(m, name);
    }
    int ib = soap_machine_add_switch(m, "ib");
    for (int n = 0; n < NODES; n++) {
        for (int g = 0; g < GPUS; g++) {
            snprintf(name, sizeof name, "n%d.pcie%d", n, g);
            int ends[2] = {n * GPUS + g, g < 2 ? swa[n] : swb[n]};
            soap_machine_add_link(m, name, SOAP_LINK_PCIE, PCIE3_X16_BW, PCIE_GPU_LAT, ends, 2);
        }
        int up_a[2] = {swa[n], host[n]}, up_b[2] = {swb[n], host[n]};
        snprintf(name, sizeof name, "n%d.pcieA.host", n);
        soap_machine_add_link(m, name, SOAP_LINK_PCIE, PCIE3_X16_BW, PCIE_FABRIC_LAT, up_a, 2);
        snprintf(name, sizeof name, "n%d.pcieB.host", n);
        soap_machine_add_link(m, name, SOAP_LINK_PCIE, PCIE3_X16_BW, PCIE_FABRIC_LAT, up_b, 2);
        int to_nic[2] = {host[n], nic[n]};
        snprintf(name, sizeof name, "n%d.host.nic", n);
        soap_machine_add_link(m, name, SOAP_LINK_PCIE, PCIE3_X8_BW, PCIE_FABRIC_LAT, to_nic, 2);
        /* FDR InfiniBand, 56 Gb/s = 7 GB/s [IBTA]. */
        int to_ib[2] = {nic[n], ib};
        snprintf(name, sizeof name, "n%d.ib", n);
        soap_machine_add_link(m, name, SOAP_LINK_INFINIBAND, 7 * GB, IB_HOP_LAT, to_ib, 2);
    }
    return m;
}

static soap_machine *dgx_h100(void)
{
    soap_machine *m = soap_machine_new("dgx-h100");
    soap_device_type t = {
        .name = "H100",
        .cls = SOAP_DEVICE_GPU,
        .peak_flops = 67e12,     /* [H100] SXM5 FP32 (not tensor cores) */
        .mem_bandwidth = 3.35e12, /* [H100] SXM5 HBM3 */
        .mem_capacity = 80e9,    /* [H100] SXM5 */
        .launch_overhead = GPU_LAUNCH,
    };
    int type = soap_machine_add_type(m, &t);
    char name[SOAP_NAME_MAX];
    for (int g = 0; g < 8; g++) {
        snprintf(name, sizeof name, "gpu%d", g);
        soap_machine_add_device(m, name, type, 0);
    }
    /* The DGX's NVSwitch chips as one vertex. */
    int sw = soap_machine_add_switch(m, "nvswitch");
    for (int g = 0; g < 8; g++) {
        /* [H100]: NVLink 900 GB/s per GPU, both directions: 450 GB/s each. */
        snprintf(name, sizeof name, "nvl%d", g);
        int ends[2] = {g, sw};
        soap_machine_add_link(m, name, SOAP_LINK_NVSWITCH, 450 * GB, NVLINK_LAT, ends, 2);
    }
    return m;
}

static soap_machine *cpu_n(int n)
{
    char name[SOAP_NAME_MAX];
    snprintf(name, sizeof name, "cpu-%d", n);
    soap_machine *m = soap_machine_new(name);
    /* Plausible figures for one core of a current x86 server, not a vendor
     * specification: 2.5 GHz x 32 FLOP/cycle (two 8-wide fp32 FMA units);
     * 10 GB/s as one core's share of DRAM bandwidth; 4 GB each; 2 us to hand a
     * task to a worker thread (estimate). */
    soap_device_type t = {
        .name = "CPU",
        .cls = SOAP_DEVICE_CPU,
        .peak_flops = 2.5e9 * 32,
        .mem_bandwidth = 10 * GB,
        .mem_capacity = 4e9,
        .launch_overhead = 2e-6,
    };
    int type = soap_machine_add_type(m, &t);
    int *ends = soap_xmalloc((size_t)n * sizeof *ends);
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "cpu%d", i);
        ends[i] = soap_machine_add_device(m, name, type, 0);
    }
    /* One memory bus shared by all cores; a copy between two threads'
     * memories moves at about 10 GB/s after about 1 us (estimates). */
    if (n >= 2)
        soap_machine_add_link(m, "membus", SOAP_LINK_MEMBUS, 10 * GB, 1e-6, ends, n);
    free(ends);
    return m;
}

static const char *const preset_names[] = {"p100x16", "k80x64", "dgx-h100", "cpu-<n>", NULL};

static const char *const preset_descriptions[] = {
    "4 nodes x 4 Tesla P100 (SXM2): all-to-all NVLink inside a node, PCIe 3.0 to the host, "
    "EDR InfiniBand between nodes (the paper's first cluster)",
    "16 nodes x 4 K80 GPUs (GK210): pairs behind a PCIe switch, FDR InfiniBand between "
    "nodes (the paper's second cluster)",
    "one DGX H100: 8 H100 SXM5 GPUs, each with NVLink 4 to an NVSwitch",
    "n CPU cores of one node (1 <= n <= 1024) sharing a memory bus, for the reference "
    "executor backend",
};

const char *const *soap_machine_preset_names(void) { return preset_names; }

/* "cpu-N": 1 if `name` has that form (N may still be out of range); N in *n,
 * or -1 when N is not a plain decimal number that fits. */
static int parse_cpu(const char *name, int *n)
{
    if (strncmp(name, "cpu-", 4) != 0)
        return 0;
    const char *p = name + 4;
    long v = 0;
    *n = -1;
    if (!*p)
        return 1;
    for (; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100000)
            return 1;
        v = v * 10 + (*p - '0');
    }
    *n = (int)v;
    return 1;
}

const char *soap_machine_preset_description(const char *name)
{
    if (!name)
        return NULL;
    int n;
    if (strcmp(name, "cpu-<n>") == 0 || parse_cpu(name, &n))
        return preset_descriptions[3];
    for (int i = 0; i < 3; i++)
        if (strcmp(name, preset_names[i]) == 0)
            return preset_descriptions[i];
    return NULL;
}

soap_machine *soap_machine_preset(const char *name, soap_error *err)
{
    SOAP_ASSERT(name);
    soap_machine *m = NULL;
    int n;
    if (strcmp(name, "p100x16") == 0) {
        m = p100x16();
    } else if (strcmp(name, "k80x64") == 0) {
        m = k80x64();
    } else if (strcmp(name, "dgx-h100") == 0) {
        m = dgx_h100();
    } else if (parse_cpu(name, &n)) {
        if (n < 1 || n > SOAP_MAX_DEVICES) {
            soap_error_set(err, SOAP_ERR_INVALID,
                           "machine '%s': cpu-<n> needs a number of cores n in 1..%d", name,
                           SOAP_MAX_DEVICES);
            return NULL;
        }
        m = cpu_n(n);
    } else {
        soap_error_set(err, SOAP_ERR_NOT_FOUND,
                       "unknown machine '%s' (presets: p100x16, k80x64, dgx-h100, cpu-<n>)", name);
        return NULL;
    }
    /* Presets are code, not input: a failure here is a bug. */
    soap_error e;
    soap_error_clear(&e);
    if (soap_machine_finish(m, &e) != SOAP_OK) {
        fprintf(stderr, "soap: preset %s: %s\n", name, e.msg);
        SOAP_ASSERT(!"preset machine is valid");
    }
    return m;
}
