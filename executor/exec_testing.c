/* exec_testing.c: the plan's weight bytes and collectives for the tests
 * (read from the plan's jobs, as the runner runs them); compiles the testing header
 * (exec_testing.h) together with the kernels' header, so that the compiler
 * checks every declaration the tests see against the real one (a prototype
 * or a macro that differs is an error here). */
#include <string.h>

#include "cpu/cpu_kernels.h"
#include "exec_internal.h"
#include "exec_testing.h"

/* A translation unit needs a declaration; this one also pins the index
 * limit the tests rely on (ids are stored as floats). */
_Static_assert(SOAP_CPU_MAX_INDEX == (1LL << 24), "ids up to 2^24 are exact in a float");

double exec_testing_weight_bytes(const soap_exec *x, int dev)
{
    SOAP_ASSERT(x && dev >= 0 && dev < x->m->ndevices);
    return x->dev[dev].weight_bytes;
}

int exec_testing_nrings(const soap_exec *x)
{
    SOAP_ASSERT(x);
    return x->nrings;
}

void exec_testing_ring_get(const soap_exec *x, int c, exec_testing_ring *out)
{
    SOAP_ASSERT(x && c >= 0 && c < x->nrings && out);
    const xring *rg = &x->rings[c];
    memset(out, 0, sizeof *out);
    out->op = rg->op;
    out->input = rg->input;
    out->ndevices = rg->ga.ndevices;
    memcpy(out->devices, rg->ga.devices, (size_t)rg->ga.ndevices * sizeof out->devices[0]);
    /* Every job of the plan that belongs to this ring, whatever its index. */
    int max_step[2] = {-1, -1};
    for (int j = 0; j < x->njobs; j++) {
        const xjob *jb = &x->jobs[j];
        if ((jb->kind != XJOB_RING_FWD && jb->kind != XJOB_RING_BWD) || jb->index != c)
            continue;
        int back = jb->kind == XJOB_RING_BWD, s, recv, send, origin;
        xring_step(rg, j, back, &s, &recv, &send, &origin);
        SOAP_ASSERT(jb->dev == rg->ga.devices[recv]);
        if (s < 0) {
            out->fwd_local++;
            continue;
        }
        if (s > max_step[back])
            max_step[back] = s;
        int64_t el = 0;
        for (int b = rg->block_base[origin]; b < rg->block_base[origin + 1]; b++)
            el += soap_region_volume(&x->tasks[rg->blocks[b]].out);
        (back ? out->bwd_elems : out->fwd_elems)[send] += el;
    }
    out->fwd_steps = max_step[0] + 1;
    out->bwd_steps = max_step[1] + 1;
}
