/* sim_export.c: the last simulation as a Chrome trace event file (open it in
 * Perfetto or chrome://tracing) and as a DOT task graph.
 *
 * Trace: {"traceEvents": [...], "otherData": {...}}. One "X" (complete)
 * event per task with ts and dur in microseconds, pid 0, tid = the task's
 * resource (devices first, then link directions and buses, then one track
 * "joins" for the zero-duration joins and barrier); "M" metadata events name
 * the process and every track. Tasks on the critical path carry
 * args.critical = 1.
 *
 * DOT: one node per task (label: what it is, where, when), one edge per
 * dependency; critical-path tasks drawn bold.
 *
 * Both are streamed through soap_outfile (core): a regular file gets a
 * temporary file and a rename, so that a failure never leaves a half-written
 * file; /dev/stdout or a pipe is written directly (the outputs can be large:
 * a string in memory would double their footprint).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_internal.h"

/* A double-quoted string with " and \ escaped; control characters as JSON
 * \u escapes, or for DOT (dot = 1) a newline as DOT's \n and others as
 * spaces. */
static void put_str_mode(FILE *f, const char *s, int dot)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20 && dot)
            fputs(ch == '\n' ? "\\n" : " ", f);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void put_str(FILE *f, const char *s)
{
    put_str_mode(f, s, 0);
}

static soap_status check_sim(const soap_sim *sim, const char *path, soap_error *err)
{
    if (!sim || !path || !path[0])
        return soap_error_set(err, SOAP_ERR_INVALID, "export: expected a simulator and a path");
    if (!sim->simulated)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "%s: nothing to export, no simulation has run", path);
    return SOAP_OK;
}

/* Track of a task: its resource, or the joins track after them. */
static int track_of(const soap_sim *sim, const sim_task *t)
{
    return t->res >= 0 ? t->res : sim->nres;
}

/* ------------------------------------------------------------------ */
/* Chrome trace                                                        */
/* ------------------------------------------------------------------ */

soap_status soap_sim_write_trace(const soap_sim *sim, const char *path, soap_error *err)
{
    soap_status st = check_sim(sim, path, err);
    if (st != SOAP_OK)
        return st;
    soap_outfile *o = soap_outfile_open(path, err);
    if (!o)
        return err ? err->code : SOAP_ERR_IO;
    FILE *f = soap_outfile_stream(o);
    unsigned char *crit = soap_xmalloc((size_t)(sim->task_used ? sim->task_used : 1));
    sim_mark_critical(sim, crit);
    char buf[256];

    fputs("{\"traceEvents\":[\n", f);
    snprintf(buf, sizeof buf, "soap: %s on %s (%s)", sim->g->name, sim->m->name,
             soap_sync_mode_name(sim->opt.sync));
    fputs("{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":0,\"tid\":0,\"args\":{\"name\":", f);
    put_str(f, buf);
    fputs("}}", f);
    for (int r = 0; r <= sim->nres; r++) {
        sim_res_name(sim, r < sim->nres ? r : -1, buf, sizeof buf);
        fprintf(f, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":0,\"tid\":%d,"
                   "\"args\":{\"name\":", r);
        put_str(f, buf);
        fprintf(f, "}},\n{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":0,\"tid\":%d,"
                   "\"args\":{\"sort_index\":%d}}", r, r);
    }
    for (int i = 0; i < sim->norder; i++) {
        int x = sim->order[i];
        const sim_task *t = &sim->tasks[x];
        sim_task_label(sim, x, buf, sizeof buf);
        fputs(",\n{\"name\":", f);
        put_str(f, buf);
        fprintf(f,
                ",\"cat\":\"%s\",\"ph\":\"X\",\"ts\":%.6f,\"dur\":%.6f,\"pid\":0,\"tid\":%d,"
                "\"args\":{\"ready_us\":%.6f,\"key\":\"%016llx\"",
                sim_kind_names[t->kind], t->start * 1e6, t->dur * 1e6, track_of(sim, t),
                t->ready * 1e6, (unsigned long long)t->key);
        if (t->bytes > 0 && t->kind != SIM_FWD && t->kind != SIM_BWD)
            fprintf(f, ",\"bytes\":%.17g", t->bytes);
        if (crit[x])
            fputs(",\"critical\":1", f);
        fputs("}}", f);
    }
    fprintf(f, "\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{\"model\":");
    put_str(f, sim->g->name);
    fputs(",\"machine\":", f);
    put_str(f, sim->m->name);
    fprintf(f, ",\"sync\":\"%s\",\"overlap\":%s,\"iteration_s\":%.17g,\"tasks\":%d}}\n",
            soap_sync_mode_name(sim->opt.sync), sim->opt.no_overlap ? "false" : "true",
            sim->iteration_s, sim->norder);
    free(crit);
    return soap_outfile_commit(o, err);
}

/* ------------------------------------------------------------------ */
/* DOT                                                                 */
/* ------------------------------------------------------------------ */

static const char *const kind_color[SIM_KIND_COUNT] = {
    [SIM_FREE] = "white",       [SIM_FWD] = "lightblue",  [SIM_BWD] = "lightsalmon",
    [SIM_XFER] = "palegreen",   [SIM_GRAD] = "khaki",     [SIM_SYNC] = "plum",
    [SIM_UPDATE] = "lightgray", [SIM_JOIN] = "white",     [SIM_BARRIER] = "white",
};

soap_status soap_sim_write_dot(const soap_sim *sim, const char *path, soap_error *err)
{
    soap_status st = check_sim(sim, path, err);
    if (st != SOAP_OK)
        return st;
    soap_outfile *o = soap_outfile_open(path, err);
    if (!o)
        return err ? err->code : SOAP_ERR_IO;
    FILE *f = soap_outfile_stream(o);
    unsigned char *crit = soap_xmalloc((size_t)(sim->task_used ? sim->task_used : 1));
    sim_mark_critical(sim, crit);
    char label[256], res[160], text[512];
    fputs("digraph soap_tasks {\n  node [shape=box, style=filled, fontsize=10];\n", f);
    fputs("  label=", f);
    snprintf(text, sizeof text, "%s on %s: %.6g s per iteration (%d tasks)", sim->g->name,
             sim->m->name, sim->iteration_s, sim->norder);
    put_str_mode(f, text, 1);
    fputs(";\n", f);
    for (int i = 0; i < sim->norder; i++) {
        int x = sim->order[i];
        const sim_task *t = &sim->tasks[x];
        sim_task_label(sim, x, label, sizeof label);
        sim_res_name(sim, t->res, res, sizeof res);
        snprintf(text, sizeof text, "%s\n%s\n%.3f..%.3f us", label, res, t->start * 1e6,
                 t->end * 1e6);
        fprintf(f, "  t%d [label=", x);
        put_str_mode(f, text, 1);
        fprintf(f, ", fillcolor=%s%s];\n", kind_color[t->kind],
                crit[x] ? ", penwidth=3, color=red" : "");
    }
    for (int i = 0; i < sim->norder; i++) {
        int x = sim->order[i];
        for (int e = sim->tasks[x].eout; e >= 0; e = sim->edges[e].next_out)
            fprintf(f, "  t%d -> t%d;\n", x, sim->edges[e].dst);
    }
    fputs("}\n", f);
    free(crit);
    return soap_outfile_commit(o, err);
}
