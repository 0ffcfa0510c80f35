/* runner.c: executes the plan of a strategy (exec_internal.h): one host
 * thread per device runs that device's jobs in their fixed order, each once
 * its predecessors are done. A job's completion counts down its successors'
 * pending predecessors and wakes their devices. One iteration is: clear the
 * gradient blocks, forward (gathering inputs from producers, or from the
 * all-gather of a ring), backward (pulling gradient pieces back from
 * consumers, or from a ring's reduce-scatter, first), then per shard
 * replica the sum of the replicas' gradients and the SGD update. The loss
 * is the sum over SOFTMAX_CE ops of the mean over their rows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "exec_internal.h"

/* ------------------------------------------------------------------ */
/* Jobs                                                                */
/* ------------------------------------------------------------------ */

static void fail(soap_exec *x, const soap_error *e)
{
    pthread_mutex_lock(&x->err_mu);
    if (!atomic_load(&x->abort))
        x->err = *e;
    atomic_store(&x->abort, 1);
    pthread_mutex_unlock(&x->err_mu);
    for (int d = 0; d < x->m->ndevices; d++) {
        pthread_mutex_lock(&x->dev[d].mu);
        pthread_cond_broadcast(&x->dev[d].cv);
        pthread_mutex_unlock(&x->dev[d].mu);
    }
}

static soap_status run_forward(soap_exec *x, xtask *k, soap_error *err)
{
    const soap_op *o = &x->g->ops[k->op];
    for (int i = 0; i < o->ninputs; i++) {
        const xinput *xi = &k->inputs[i];
        for (int q = 0; q < xi->npieces; q++) {
            const xtask *p = &x->tasks[xi->pieces[q].task];
            x->b->copy(x->ctx, k->dev, &k->in[i], p->dev, &p->y, &xi->pieces[q].r);
        }
    }
    soap_status st = SOAP_OK;
    if (o->kind != SOAP_OP_INPUT)
        st = x->b->forward(x->ctx, k->dev, x->g, k->op, &k->out, k->in, k->w, &k->y, err);
    if (st == SOAP_OK && o->kind == SOAP_OP_SOFTMAX_CE)
        st = x->b->loss(x->ctx, k->dev, x->g, k->op, &k->out, &k->in[0], &k->labels,
                        &k->loss_sum, err);
    return st;
}

static soap_status run_backward(soap_exec *x, xtask *k, soap_error *err)
{
    /* The gradient pieces the consumers computed for this task's output. */
    for (int q = 0; q < k->npulls; q++) {
        const xpiece *pl = &k->pulls[q];
        if (pl->ring >= 0) {
            /* The block's full sum, left here by the reduce-scatter. */
            x->b->add(x->ctx, k->dev, &k->dy, k->dev, &x->rings[pl->ring].gbuf[pl->task], &pl->r);
            continue;
        }
        const xtask *c = &x->tasks[pl->task];
        x->b->add(x->ctx, k->dev, &k->dy, c->dev, &c->din[pl->input], &pl->r);
    }
    return x->b->backward(x->ctx, k->dev, x->g, k->op, &k->out, k->in, k->w,
                          k->labels.data ? &k->labels : NULL, &k->y, &k->dy, k->din, k->dw,
                          err);
}

static void run_update(soap_exec *x, const xupdate *u)
{
    int nw = x->g->nweights;
    const soap_block *w = &x->wrep[u->dev * nw + u->weight];
    if (u->nsrc == 1) {
        x->b->sgd(x->ctx, u->dev, w, &x->grep[u->dev * nw + u->weight], &u->r, x->lr);
        return;
    }
    /* The same sum, in the same order, on every replica. */
    for (int j = 0; j < u->nsrc; j++) {
        const soap_block *g = &x->grep[u->src[j] * nw + u->weight];
        if (j == 0)
            x->b->copy(x->ctx, u->dev, &u->scratch, u->src[j], g, &u->r);
        else
            x->b->add(x->ctx, u->dev, &u->scratch, u->src[j], g, &u->r);
    }
    x->b->sgd(x->ctx, u->dev, w, &u->scratch, &u->r, x->lr);
}

/* Ring job `job` of c: forward, the local copy of the receiver's producer
 * blocks into its buffer or one all-gather step (the blocks of one origin
 * copied from the sender's buffer); backward, one reduce-scatter step (the
 * sender's partial sums of one origin's blocks added into the receiver's
 * gradient buffer). Issued by the receiver's thread. */
static void run_ring(soap_exec *x, const xring *c, int job, int backward)
{
    int s, recv, send, origin;
    xring_step(c, job, backward, &s, &recv, &send, &origin);
    int rd = c->ga.devices[recv], sd = c->ga.devices[send];
    for (int b = c->block_base[origin]; b < c->block_base[origin + 1]; b++) {
        const xtask *p = &x->tasks[c->blocks[b]];
        if (backward)
            x->b->add(x->ctx, rd, &c->gbuf[recv], sd, &c->gbuf[send], &p->out);
        else if (s < 0)
            x->b->copy(x->ctx, rd, &c->buf[recv], rd, &p->y, &p->out);
        else
            x->b->copy(x->ctx, rd, &c->buf[recv], sd, &c->buf[send], &p->out);
    }
}

static void complete(soap_exec *x, const xjob *j)
{
    for (int s = 0; s < j->nsucc; s++) {
        xjob *n = &x->jobs[j->succ[s]];
        if (atomic_fetch_sub(&n->pending, 1) == 1 && n->dev != j->dev) {
            xdevice *d = &x->dev[n->dev];
            pthread_mutex_lock(&d->mu);
            pthread_cond_broadcast(&d->cv);
            pthread_mutex_unlock(&d->mu);
        }
    }
}

typedef struct worker_arg {
    soap_exec *x;
    int dev;
} worker_arg;

/* One iteration of device dev's jobs. */
static void run_device(soap_exec *x, int dev)
{
    xdevice *d = &x->dev[dev];
    for (int i = 0; i < d->nzero; i++)
        x->b->zero(x->ctx, dev, &d->zero[i], &d->zero[i].region);
    soap_error err;
    soap_error_clear(&err);
    for (int i = 0; i < d->njobs && !atomic_load(&x->abort); i++) {
        xjob *j = &x->jobs[d->jobs[i]];
        if (atomic_load(&j->pending) > 0) {
            pthread_mutex_lock(&d->mu);
            while (atomic_load(&j->pending) > 0 && !atomic_load(&x->abort))
                pthread_cond_wait(&d->cv, &d->mu);
            pthread_mutex_unlock(&d->mu);
            if (atomic_load(&x->abort))
                break;
        }
        soap_status st = SOAP_OK;
        if (j->kind == XJOB_FWD)
            st = run_forward(x, &x->tasks[j->index], &err);
        else if (j->kind == XJOB_BWD)
            st = run_backward(x, &x->tasks[j->index], &err);
        else if (j->kind == XJOB_RING_FWD || j->kind == XJOB_RING_BWD)
            run_ring(x, &x->rings[j->index], (int)(j - x->jobs), j->kind == XJOB_RING_BWD);
        else
            run_update(x, &x->updates[j->index]);
        if (st != SOAP_OK) {
            fail(x, &err);
            break;
        }
        complete(x, j);
    }
    x->b->synchronize(x->ctx, dev);
}

/* A device's thread: waits for each new generation, runs it, reports. */
static void *worker(void *arg)
{
    soap_exec *x = ((worker_arg *)arg)->x;
    int dev = ((worker_arg *)arg)->dev;
    free(arg);
    long seen = 0;
    for (;;) {
        pthread_mutex_lock(&x->it_mu);
        while (x->generation == seen && !x->quit)
            pthread_cond_wait(&x->it_start, &x->it_mu);
        int quit = x->quit;
        seen = x->generation;
        pthread_mutex_unlock(&x->it_mu);
        if (quit)
            return NULL;
        run_device(x, dev);
        pthread_mutex_lock(&x->it_mu);
        if (--x->running == 0)
            pthread_cond_signal(&x->it_done);
        pthread_mutex_unlock(&x->it_mu);
    }
}

static void start_threads(soap_exec *x)
{
    pthread_mutex_init(&x->it_mu, NULL);
    pthread_cond_init(&x->it_start, NULL);
    pthread_cond_init(&x->it_done, NULL);
    x->threads = soap_xmalloc((size_t)x->m->ndevices * sizeof *x->threads);
    for (int d = 0; d < x->m->ndevices; d++) {
        worker_arg *a = soap_xmalloc(sizeof *a);
        a->x = x;
        a->dev = d;
        SOAP_ASSERT(pthread_create(&x->threads[d], NULL, worker, a) == 0);
    }
}

static void stop_threads(soap_exec *x)
{
    if (!x->threads)
        return;
    pthread_mutex_lock(&x->it_mu);
    x->quit = 1;
    pthread_cond_broadcast(&x->it_start);
    pthread_mutex_unlock(&x->it_mu);
    for (int d = 0; d < x->m->ndevices; d++)
        pthread_join(x->threads[d], NULL);
    free(x->threads);
    pthread_mutex_destroy(&x->it_mu);
    pthread_cond_destroy(&x->it_start);
    pthread_cond_destroy(&x->it_done);
}

/* ------------------------------------------------------------------ */
/* Public                                                              */
/* ------------------------------------------------------------------ */

soap_exec *soap_exec_new(const soap_backend_ops *b, const soap_graph *g,
                         const soap_machine *m, const soap_strategy *s,
                         const soap_exec_options *opt, soap_error *err)
{
    if (!b || !g || !m || !s) {
        soap_error_set(err, SOAP_ERR_INVALID, "executor: expected a backend, a model, a "
                                              "machine and a strategy");
        return NULL;
    }
    /* s was checked where it entered (a loader or soap_strategy_check); here
     * only what says it is for g and m. */
    SOAP_ASSERT(s->nops == g->nops && s->ndevices == m->ndevices);
    SOAP_ASSERT(s->model_fp == soap_graph_fingerprint(g) &&
                s->machine_fp == soap_machine_fingerprint(m));
    void *ctx = b->create(m, err);
    if (!ctx)
        return NULL;
    soap_exec *x = soap_xcalloc(1, sizeof *x);
    x->b = b;
    x->ctx = ctx;
    x->g = g;
    x->m = m;
    x->s = soap_strategy_clone(s);
    x->lr = opt && opt->lr > 0 ? opt->lr : 0.01;
    x->dev = soap_xcalloc((size_t)m->ndevices, sizeof *x->dev);
    for (int d = 0; d < m->ndevices; d++) {
        pthread_mutex_init(&x->dev[d].mu, NULL);
        pthread_cond_init(&x->dev[d].cv, NULL);
    }
    pthread_mutex_init(&x->err_mu, NULL);
    soap_exec_plan(x, opt ? opt->seed : 0);
    start_threads(x);
    return x;
}

void soap_exec_free(soap_exec *x)
{
    if (!x)
        return;
    stop_threads(x);
    soap_exec_plan_free(x);
    for (int d = 0; d < x->m->ndevices; d++) {
        pthread_mutex_destroy(&x->dev[d].mu);
        pthread_cond_destroy(&x->dev[d].cv);
        free(x->dev[d].jobs);
        free(x->dev[d].zero);
    }
    pthread_mutex_destroy(&x->err_mu);
    free(x->dev);
    soap_strategy_free(x->s);
    x->b->destroy(x->ctx);
    free(x);
}

soap_status soap_exec_step(soap_exec *x, double *loss, double *seconds, soap_error *err)
{
    SOAP_ASSERT(x);
    for (int j = 0; j < x->njobs; j++)
        atomic_store(&x->jobs[j].pending, x->jobs[j].npred);
    atomic_store(&x->abort, 0);
    soap_error_clear(&x->err);
    double t0 = x->b->now(x->ctx);
    pthread_mutex_lock(&x->it_mu);
    x->running = x->m->ndevices;
    x->generation++;
    pthread_cond_broadcast(&x->it_start);
    while (x->running > 0)
        pthread_cond_wait(&x->it_done, &x->it_mu);
    pthread_mutex_unlock(&x->it_mu);
    double t1 = x->b->now(x->ctx);
    if (atomic_load(&x->abort)) {
        if (err)
            *err = x->err;
        return x->err.code != SOAP_OK ? x->err.code : SOAP_ERR_INVALID;
    }
    /* Loss: per SOFTMAX_CE op its tasks' sums over its rows, in task order. */
    double total = 0;
    for (int op = 0; op < x->g->nops; op++) {
        if (x->g->ops[op].kind != SOAP_OP_SOFTMAX_CE)
            continue;
        double sum = 0;
        for (int i = x->task_base[op]; i < x->task_base[op + 1]; i++)
            sum += x->tasks[i].loss_sum;
        const soap_shape *os = &x->g->ops[op].out;
        total += sum / (double)(soap_shape_volume(os) / os->size[os->ndims - 1]);
    }
    if (loss)
        *loss = total;
    if (seconds)
        *seconds = t1 - t0;
    return SOAP_OK;
}

void soap_exec_weight(soap_exec *x, int w, float *out)
{
    SOAP_ASSERT(x && w >= 0 && w < x->g->nweights && out);
    const soap_shape *s = &x->g->weights[w].shape;
    memcpy(out, x->host_w[w], (size_t)soap_shape_volume(s) * sizeof(float));
    soap_block host = {out, soap_region_full(s)};
    int nw = x->g->nweights;
    /* Each shard from its first replica (all replicas are equal). */
    for (int u = 0; u < x->nupdates; u++) {
        const xupdate *up = &x->updates[u];
        if (up->weight == w && up->dev == up->src[0])
            x->b->download(x->ctx, up->dev, &host, &x->wrep[up->dev * nw + w], &up->r);
    }
}

double soap_exec_device_bytes(const soap_exec *x, int dev)
{
    SOAP_ASSERT(x && dev >= 0 && dev < x->m->ndevices);
    return x->dev[dev].bytes;
}

soap_status soap_exec_run(soap_exec *x, int warmup, int iters, soap_run_result *r,
                          soap_error *err)
{
    SOAP_ASSERT(x && r);
    if (iters < 1 || warmup < 0)
        return soap_error_set(err, SOAP_ERR_INVALID,
                              "run: expected at least 1 timed iteration and a warm-up >= 0, "
                              "got %d and %d",
                              iters, warmup);
    memset(r, 0, sizeof *r);
    double *t = soap_xmalloc((size_t)iters * sizeof *t);
    for (int i = 0; i < warmup + iters; i++) {
        double loss, sec;
        soap_status st = soap_exec_step(x, &loss, &sec, err);
        if (st != SOAP_OK) {
            free(t);
            return st;
        }
        if (i == 0)
            r->first_loss = loss;
        r->last_loss = loss;
        if (i >= warmup)
            t[i - warmup] = sec;
    }
    gsl_sort(t, 1, (size_t)iters);
    r->iters = iters;
    r->min_s = t[0];
    r->max_s = t[iters - 1];
    r->median_s = gsl_stats_median_from_sorted_data(t, 1, (size_t)iters);
    free(t);
    return SOAP_OK;
}
