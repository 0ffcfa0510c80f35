/* soap_core.h: the public interface of soap_core.
 *
 * Holds: errors, tensor shapes and regions, operator kinds (one X-macro list),
 * the operator graph and its builder, per-kind semantics (shape inference,
 * input regions, weights, FLOP and byte counts), the machine model with its
 * presets and routes, the built-in models, and JSON files for models and
 * machines.
 *
 * Units: time in seconds, sizes in bytes, work in FLOP (a multiply-add is 2
 * FLOP), bandwidth in bytes per second. Tensor elements are 4 bytes (fp32 or
 * int32 indices).
 *
 * Dimension letters used in comments: N batch (samples), C channels, H and W
 * image height and width, T time steps / sequence length, K and F input and
 * output features, V vocabulary, E embedding width.
 */
#ifndef SOAP_CORE_H
#define SOAP_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <gsl/gsl_rng.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Limits                                                              */
/* ------------------------------------------------------------------ */
#define SOAP_MAX_DIMS 4     /* dims of any tensor */
#define SOAP_MAX_WEIGHTS 4  /* weight tensors of one operator */
#define SOAP_NAME_MAX 64    /* operator, device, link names incl. NUL */
#define SOAP_MAX_DEVICES 1024
#define SOAP_ELEM_BYTES 4   /* fp32 and int32 */

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */
/* Bad input returns a status with a message that names the file, the place
 * and what was expected. Broken invariants abort through SOAP_ASSERT. */
typedef enum soap_status {
    SOAP_OK = 0,
    SOAP_ERR_INVALID,   /* an argument or value that does not fit */
    SOAP_ERR_PARSE,     /* malformed file */
    SOAP_ERR_IO,        /* cannot open / read / write a file */
    SOAP_ERR_NOT_FOUND, /* unknown name */
    SOAP_ERR_MISMATCH,  /* e.g. a strategy made for another model */
    SOAP_ERR_NOT_BUILT  /* a feature compiled out of this build */
} soap_status;

#define SOAP_ERR_MSG_MAX 512
typedef struct soap_error {
    soap_status code;
    char msg[SOAP_ERR_MSG_MAX];
} soap_error;

/* Fills *err (if non-NULL) and returns code. printf-style message. */
soap_status soap_error_set(soap_error *err, soap_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Prepends "prefix: " to err->msg (e.g. a file name) and returns err->code. */
soap_status soap_error_prefix(soap_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void soap_error_clear(soap_error *err);
const char *soap_status_name(soap_status s);

/* Never returns (aborts), so that compilers and analysers know a failed
 * SOAP_ASSERT ends the path. */
#if defined(__GNUC__)
__attribute__((noreturn))
#endif
void soap_assert_fail(const char *expr, const char *file, int line);
#define SOAP_ASSERT(e) ((e) ? (void)0 : soap_assert_fail(#e, __FILE__, __LINE__))

/* Allocation that aborts on failure (out of memory is not bad input). */
void *soap_xmalloc(size_t n);
void *soap_xcalloc(size_t count, size_t size);
void *soap_xrealloc(void *p, size_t n);
char *soap_xstrdup(const char *s);

/* ------------------------------------------------------------------ */
/* Shapes and regions                                                  */
/* ------------------------------------------------------------------ */
/* What splitting an output dim means (PAPER.md section 1). NONE: the dim
 * cannot be partitioned. */
typedef enum soap_dim_kind {
    SOAP_DIM_NONE = 0,
    SOAP_DIM_SAMPLE,
    SOAP_DIM_ATTRIBUTE,
    SOAP_DIM_PARAMETER
} soap_dim_kind;
const char *soap_dim_kind_name(soap_dim_kind k);
/* Parses "sample", "attribute", "parameter", "none"; -1 if unknown. */
int soap_dim_kind_parse(const char *s);

typedef struct soap_shape {
    int ndims;                         /* 0..SOAP_MAX_DIMS */
    int64_t size[SOAP_MAX_DIMS];       /* elements per dim */
    soap_dim_kind kind[SOAP_MAX_DIMS]; /* partitionability per dim */
} soap_shape;

int64_t soap_shape_volume(const soap_shape *s);
int soap_shape_equal_sizes(const soap_shape *a, const soap_shape *b);
/* "[64,3,224,224]" into buf; returns buf. */
char *soap_shape_str(const soap_shape *s, char *buf, size_t len);

/* Per-dim half-open ranges [lo, hi). An empty region has some lo >= hi. */
typedef struct soap_region {
    int ndims;
    int64_t lo[SOAP_MAX_DIMS];
    int64_t hi[SOAP_MAX_DIMS];
} soap_region;

soap_region soap_region_full(const soap_shape *s);
int64_t soap_region_volume(const soap_region *r); /* 0 if empty */
int soap_region_empty(const soap_region *r);
/* out = a ∩ b (same ndims); returns 1 if non-empty. */
int soap_region_intersect(const soap_region *a, const soap_region *b, soap_region *out);
int soap_region_equal(const soap_region *a, const soap_region *b);
int soap_region_contains(const soap_region *outer, const soap_region *inner);
/* The bounding box of a and b (a empty: b; both of the same ndims). */
soap_region soap_region_hull(const soap_region *a, const soap_region *b);
char *soap_region_str(const soap_region *r, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Operator kinds: the one list                                        */
/* ------------------------------------------------------------------ */
/* X(ENUM, "json-name") */
#define SOAP_OP_KINDS(X)              \
    X(INPUT, "input")                 \
    X(CONV2D, "conv2d")               \
    X(POOL2D, "pool2d")               \
    X(BATCHNORM, "batchnorm")         \
    X(UNARY, "unary")                 \
    X(BINARY, "binary")               \
    X(CONCAT, "concat")               \
    X(FLATTEN, "flatten")             \
    X(LINEAR, "linear")               \
    X(SOFTMAX, "softmax")             \
    X(SOFTMAX_CE, "softmax_ce")       \
    X(EMBEDDING, "embedding")         \
    X(LSTM, "lstm")                   \
    X(ATTENTION, "attention")         \
    X(LAYERNORM, "layernorm")         \
    X(MATMUL, "matmul")

typedef enum soap_op_kind {
#define SOAP_X_ENUM(e, s) SOAP_OP_##e,
    SOAP_OP_KINDS(SOAP_X_ENUM)
#undef SOAP_X_ENUM
    SOAP_OP_KIND_COUNT
} soap_op_kind;

const char *soap_op_kind_name(soap_op_kind k);
int soap_op_kind_parse(const char *s); /* -1 if unknown */

/* Sub-kinds, each also one X-macro list. */
#define SOAP_POOL_TYPES(X) X(MAX, "max") X(AVG, "avg")
typedef enum soap_pool_type {
#define SOAP_X_ENUM(e, s) SOAP_POOL_##e,
    SOAP_POOL_TYPES(SOAP_X_ENUM)
#undef SOAP_X_ENUM
    SOAP_POOL_TYPE_COUNT
} soap_pool_type;

#define SOAP_UNARY_FNS(X) X(RELU, "relu") X(TANH, "tanh") X(SIGMOID, "sigmoid")
typedef enum soap_unary_fn {
#define SOAP_X_ENUM(e, s) SOAP_UNARY_##e,
    SOAP_UNARY_FNS(SOAP_X_ENUM)
#undef SOAP_X_ENUM
    SOAP_UNARY_FN_COUNT
} soap_unary_fn;

#define SOAP_BINARY_FNS(X) X(ADD, "add") X(MUL, "mul")
typedef enum soap_binary_fn {
#define SOAP_X_ENUM(e, s) SOAP_BINARY_##e,
    SOAP_BINARY_FNS(SOAP_X_ENUM)
#undef SOAP_X_ENUM
    SOAP_BINARY_FN_COUNT
} soap_binary_fn;

/* Batched matrix products used by a Transformer's self-attention.
 *  PLAIN: A[..., M, K] x B[..., K, P] -> [..., M, P] (B^T if trans_b; then
 *         B is [..., P, K]); leading dims must match.
 *  QK:    Q[N, T, D] x K[N, T, D], `heads` heads of D/heads -> scores
 *         [N, heads, T, T], scaled by 1/sqrt(D/heads).
 *  PV:    P[N, heads, T, T] x V[N, T, D] -> context [N, T, D]. */
#define SOAP_MATMUL_MODES(X) X(PLAIN, "plain") X(QK, "qk") X(PV, "pv")
typedef enum soap_matmul_mode {
#define SOAP_X_ENUM(e, s) SOAP_MATMUL_##e,
    SOAP_MATMUL_MODES(SOAP_X_ENUM)
#undef SOAP_X_ENUM
    SOAP_MATMUL_MODE_COUNT
} soap_matmul_mode;

const char *soap_pool_type_name(soap_pool_type t);
int soap_pool_type_parse(const char *s);
const char *soap_unary_fn_name(soap_unary_fn f);
int soap_unary_fn_parse(const char *s);
const char *soap_binary_fn_name(soap_binary_fn f);
int soap_binary_fn_parse(const char *s);
const char *soap_matmul_mode_name(soap_matmul_mode m);
int soap_matmul_mode_parse(const char *s);

/* Parameters of an operator. One flat struct: each kind reads only the
 * fields listed for it; the rest stay zero. */
typedef struct soap_op_params {
    /* INPUT: the tensor fed to the graph (sizes and dim kinds). */
    soap_shape shape;
    int is_index;             /* INPUT: int32 token ids instead of fp32 */
    /* CONV2D, POOL2D */
    int kernel[2], stride[2], pad[2]; /* (H, W) */
    int64_t out_channels;     /* CONV2D */
    int has_bias;             /* CONV2D, LINEAR: 1 = bias vector */
    soap_pool_type pool;      /* POOL2D */
    soap_unary_fn unary;      /* UNARY */
    soap_binary_fn binary;    /* BINARY */
    int axis;                 /* CONCAT: dim along which inputs are joined */
    int64_t out_features;     /* LINEAR: F */
    int64_t vocab, embed_dim; /* EMBEDDING: V, E */
    int64_t hidden;           /* LSTM: hidden units per cell */
    soap_matmul_mode matmul;  /* MATMUL */
    int trans_b;              /* MATMUL PLAIN */
    int heads;                /* MATMUL QK/PV */
    /* Weight sharing: name of an earlier operator of the same kind and
     * parameters whose weights this one uses (LSTM steps of one layer).
     * Empty: own weights. */
    char share_weights[SOAP_NAME_MAX];
} soap_op_params;

/* ------------------------------------------------------------------ */
/* Operator graph                                                      */
/* ------------------------------------------------------------------ */
/* A weight tensor. Several operators may use one (shared weights). */
typedef struct soap_weight {
    char name[SOAP_NAME_MAX]; /* "<op>.w", "<op>.b", ... */
    soap_shape shape;
    int owner;                /* the op that created it */
} soap_weight;

/* An operator: one output tensor, inputs are other operators' outputs.
 * Inputs always precede the operator, so op ids are a topological order. */
typedef struct soap_op {
    char name[SOAP_NAME_MAX];
    soap_op_kind kind;
    soap_op_params p;
    int ninputs;
    int *inputs;              /* op ids, owned */
    soap_shape out;           /* inferred output shape with dim kinds */
    int nweights;
    int weights[SOAP_MAX_WEIGHTS]; /* ids into graph->weights */
    int layer;                /* model-level layer index, -1 if none (used
                                 by the expert strategy); LSTM steps of one
                                 layer share it */
} soap_op;

typedef struct soap_graph {
    char name[SOAP_NAME_MAX];
    int64_t batch;            /* N of the graph's inputs */
    int nops, cap_ops;
    soap_op *ops;
    int nweights, cap_weights;
    soap_weight *weights;
    struct soap_name_index *index; /* name -> op id (internal) */
} soap_graph;

soap_graph *soap_graph_new(const char *name, int64_t batch);
void soap_graph_free(soap_graph *g);

/* Adds an operator: checks its inputs and parameters, infers its output
 * shape, creates (or shares) its weights. Returns the new op id, or -1 with
 * *err naming the operator and what does not fit. */
int soap_graph_add(soap_graph *g, soap_op_kind kind, const char *name,
                   const int *inputs, int ninputs, const soap_op_params *p,
                   soap_error *err);
int soap_graph_find(const soap_graph *g, const char *name); /* -1 if absent */
/* Sets the layer index of an op (builders of multi-layer models). */
void soap_graph_set_layer(soap_graph *g, int op, int layer);

/* Convenience builders used by the model files. They abort (SOAP_ASSERT)
 * on errors, since built-in models are code, not input. */
int soap_add_input(soap_graph *g, const char *name, int ndims, const int64_t *size,
                   const soap_dim_kind *kinds, int is_index);
int soap_add_conv2d(soap_graph *g, const char *name, int in, int64_t out_channels,
                    int kh, int kw, int sh, int sw, int ph, int pw, int has_bias);
int soap_add_pool2d(soap_graph *g, const char *name, int in, soap_pool_type t,
                    int kh, int kw, int sh, int sw, int ph, int pw);
int soap_add_batchnorm(soap_graph *g, const char *name, int in);
int soap_add_unary(soap_graph *g, const char *name, int in, soap_unary_fn f);
int soap_add_binary(soap_graph *g, const char *name, int a, int b, soap_binary_fn f);
int soap_add_concat(soap_graph *g, const char *name, const int *ins, int n, int axis);
int soap_add_flatten(soap_graph *g, const char *name, int in);
/* share: op id of an earlier linear/embedding whose weights to use, or -1
 * (e.g. the softmax projection and the embedding of every RNN step). */
int soap_add_linear(soap_graph *g, const char *name, int in, int64_t out_features,
                    int has_bias, int share);
int soap_add_softmax(soap_graph *g, const char *name, int in);
int soap_add_softmax_ce(soap_graph *g, const char *name, int in);
int soap_add_embedding(soap_graph *g, const char *name, int in, int64_t vocab,
                       int64_t embed_dim, int share);
/* x: [N, K] or a previous LSTM's state [N, 2, K] (its h is used);
 * state: previous step's state [N, 2, hidden] or -1 for zeros;
 * share: op id of the step whose weights to use, or -1. */
int soap_add_lstm(soap_graph *g, const char *name, int x, int state, int64_t hidden,
                  int share);
/* query: decoder state [N, 2, H] (its h) or [N, H]; memory: the encoder's
 * top-layer outputs, one op per step, each [N, 2, H] or [N, H]. */
int soap_add_attention(soap_graph *g, const char *name, int query, const int *memory,
                       int nmemory);
int soap_add_layernorm(soap_graph *g, const char *name, int in);
int soap_add_matmul(soap_graph *g, const char *name, int a, int b, soap_matmul_mode m,
                    int trans_b, int heads);

/* Whole-graph figures. Shared weights count once. */
int64_t soap_graph_param_count(const soap_graph *g);
double soap_graph_forward_flops(const soap_graph *g);  /* FLOP, whole batch */
double soap_graph_backward_flops(const soap_graph *g);
/* Stable 64-bit fingerprint of the structure (kinds, params, inputs, shapes,
 * batch); the name does not enter. Strategies record it. */
uint64_t soap_graph_fingerprint(const soap_graph *g);

/* ------------------------------------------------------------------ */
/* Per-kind semantics (core/ops/)                                      */
/* ------------------------------------------------------------------ */
/* Output shape of an op from its input shapes and parameters; fills the dim
 * kinds. Error names the op (`name`) and what does not fit. */
soap_status soap_op_infer_shape(soap_op_kind kind, const char *name,
                                const soap_op_params *p, const soap_shape *const *in,
                                int ninputs, soap_shape *out, soap_error *err);

/* Weight shapes of an op (count returned, <= SOAP_MAX_WEIGHTS). */
int soap_op_weight_shapes(const soap_graph *g, int op, soap_shape *w);

/* The region of input `i` that computing output region `out` needs, e.g.
 * a convolution's rows plus the halo. Empty if the input is not needed. */
soap_region soap_op_input_region(const soap_graph *g, int op, int i,
                                 const soap_region *out);
/* The region of weight `w` (index into op->weights) that computing output
 * region `out` needs (a parameter split needs a slice). */
soap_region soap_op_weight_region(const soap_graph *g, int op, int w,
                                  const soap_region *out);

/* Work and memory traffic to compute an output region. */
typedef struct soap_op_cost {
    double fwd_flops;  /* FLOP */
    double bwd_flops;  /* FLOP: input gradients + weight gradients */
    double fwd_bytes;  /* bytes read + written by the forward pass */
    double bwd_bytes;
} soap_op_cost;
soap_op_cost soap_op_region_cost(const soap_graph *g, int op, const soap_region *out);

/* A string that identifies an op's computation up to its inputs' sizes and
 * parameters, not its name: "conv2d k3x3 s1x1 p1x1 c64 in[64,64,56,56]".
 * Cost tables are keyed by it (with the partition shape). */
char *soap_op_signature(const soap_graph *g, int op, char *buf, size_t len);

/* ------------------------------------------------------------------ */
/* Machine model                                                       */
/* ------------------------------------------------------------------ */
/* What kind of processor a device type is: it picks the analytic cost
 * model's efficiency constants (simulator/cost_analytic.c). GPU is 0, so a
 * zeroed type is a GPU; presets and machine files always say which. */
#define SOAP_DEVICE_CLASSES(X) X(GPU, "gpu") X(CPU, "cpu")
typedef enum soap_device_class {
#define SOAP_X_ENUM(e, s) SOAP_DEVICE_##e,
    SOAP_DEVICE_CLASSES(SOAP_X_ENUM)
#undef SOAP_X_ENUM
    SOAP_DEVICE_CLASS_COUNT
} soap_device_class;
const char *soap_device_class_name(soap_device_class c);
int soap_device_class_parse(const char *s); /* -1 if unknown */

/* Physically meaningful ranges of machine figures, all in one place. They
 * admit every real device from a microcontroller to a future datacenter
 * GPU; a value outside is a typo or hostile input (and would overflow the
 * simulator's clocks). soap_machine_finish checks every machine against
 * them (files, presets and machines built in code); the machine file reader
 * checks them too, naming the place in the file. Bounds are inclusive. */
#define SOAP_PEAK_FLOPS_MIN 1e6        /* FLOP/s: a microcontroller */
#define SOAP_PEAK_FLOPS_MAX 1e18       /* FLOP/s: 1 EFLOP/s in one device */
#define SOAP_BANDWIDTH_MIN 1e3         /* bytes/s, memory and links: 1 kB/s */
#define SOAP_BANDWIDTH_MAX 1e15        /* bytes/s: 1 PB/s */
#define SOAP_MEMORY_MIN 1024.0         /* bytes: 1 KiB */
#define SOAP_MEMORY_MAX 1125899906842624.0 /* bytes: 1 PiB */
#define SOAP_LATENCY_MAX 10.0          /* seconds: link latency and launch
                                          overhead lie in [0, 10] */

/* How close a device type's kernels come to its nominal figures: the
 * analytic cost model's efficiencies (simulator/cost_analytic.c), fitted to
 * measured throughput by `soap calibrate` (soap_calibrate in soap_sim.h).
 * A field of 0 means the device class's default; set ones lie in the
 * ranges below (SOAP_CAL_*). */
typedef struct soap_device_calibration {
    double gemm_eff;  /* fraction of peak FLOP/s that large matrix products
                         (linear, matmul, LSTM gates, attention) reach */
    double conv_eff;  /* fraction of peak that convolutions reach on the
                         multiply-adds they really do */
    double winograd;  /* 3x3 and 5x5 stride-1 convolutions of >= 16 input
                         channels do 1/winograd of the direct multiply-adds
                         (the Winograd and FFT algorithms cuDNN picks) */
    double mem_eff;   /* fraction of memory bandwidth that memory-bound
                         kernels reach */
} soap_device_calibration;
#define SOAP_CAL_EFF_MIN 0.01     /* gemm_eff, conv_eff, mem_eff: (0.01..1] */
#define SOAP_CAL_EFF_MAX 1.0
#define SOAP_CAL_WINOGRAD_MIN 1.0 /* direct convolution */
#define SOAP_CAL_WINOGRAD_MAX 4.0 /* F(4x4, 3x3) saves at most 4x */
/* 1 when every field is 0 or in its range. */
int soap_device_calibration_valid(const soap_device_calibration *c);

typedef struct soap_device_type {
    char name[SOAP_NAME_MAX];  /* "P100", "K80", "H100", "CPU" */
    soap_device_class cls;     /* GPU or CPU */
    double peak_flops;         /* FLOP/s, fp32 */
    double mem_bandwidth;      /* bytes/s */
    double mem_capacity;       /* bytes */
    double launch_overhead;    /* seconds per task */
    soap_device_calibration cal; /* zero: the class's defaults */
} soap_device_type;

#define SOAP_LINK_KINDS(X)          \
    X(NVLINK, "nvlink")             \
    X(NVSWITCH, "nvswitch")         \
    X(PCIE, "pcie")                 \
    X(INFINIBAND, "infiniband")     \
    X(MEMBUS, "membus")
typedef enum soap_link_kind {
#define SOAP_X_ENUM(e, s) SOAP_LINK_##e,
    SOAP_LINK_KINDS(SOAP_X_ENUM)
#undef SOAP_X_ENUM
    SOAP_LINK_KIND_COUNT
} soap_link_kind;
const char *soap_link_kind_name(soap_link_kind k);
int soap_link_kind_parse(const char *s);

/* Vertices of the topology: devices are vertices 0..ndevices-1; switches,
 * NICs and host bridges follow. */
typedef struct soap_device {
    char name[SOAP_NAME_MAX];
    int type;   /* index into machine->types */
    int node;   /* node index, 0-based */
} soap_device;

/* A link joins two vertices (a full-duplex point-to-point link: each
 * direction has its own bandwidth) or, for a bus (nends > 2), all of its
 * ends (one shared medium). */
typedef struct soap_link {
    char name[SOAP_NAME_MAX];
    soap_link_kind kind;
    double bandwidth;  /* bytes/s per direction */
    double latency;    /* seconds */
    int nends;
    int *ends;         /* vertex ids, owned */
} soap_link;

/* One hop of a route: over `link`, from vertex `from` to vertex `to`. */
typedef struct soap_hop {
    int link, from, to;
} soap_hop;

typedef struct soap_machine {
    char name[SOAP_NAME_MAX];
    int ntypes;
    soap_device_type *types;
    int ndevices;
    soap_device *devices;
    int nnodes;
    int nswitches;                 /* vertices ndevices..ndevices+nswitches-1 */
    char (*switch_names)[SOAP_NAME_MAX];
    int nlinks;
    soap_link *links;
    /* routes[src * ndevices + dst] = first hop index in `hops`, route length
     * in route_len[...]; src == dst has length 0. Built by
     * soap_machine_finish. */
    int *route_start, *route_len;
    soap_hop *hops;
} soap_machine;

/* Builder: an empty machine, then types, devices, switches, links, then
 * soap_machine_finish (checks, computes nodes and routes). */
soap_machine *soap_machine_new(const char *name);
void soap_machine_free(soap_machine *m);
int soap_machine_add_type(soap_machine *m, const soap_device_type *t);
int soap_machine_add_device(soap_machine *m, const char *name, int type, int node);
int soap_machine_add_switch(soap_machine *m, const char *name); /* vertex id */
int soap_machine_add_link(soap_machine *m, const char *name, soap_link_kind kind,
                          double bandwidth, double latency, const int *ends, int nends);
/* Checks that every device reaches every other, computes routes (fewest
 * hops, then highest bottleneck bandwidth, then lowest vertex ids). */
soap_status soap_machine_finish(soap_machine *m, soap_error *err);

/* Route between two devices (NULL and *len = 0 when src == dst). */
const soap_hop *soap_machine_route(const soap_machine *m, int src, int dst, int *len);
/* Vertex name (device or switch). */
const char *soap_machine_vertex_name(const soap_machine *m, int v);

/* Presets: "p100x16", "k80x64", "dgx-h100", "cpu-N". NULL with *err listing
 * the valid names if unknown. */
soap_machine *soap_machine_preset(const char *name, soap_error *err);
/* Names of the presets (cpu-N shown as "cpu-<n>"), NULL-terminated. */
const char *const *soap_machine_preset_names(void);
const char *soap_machine_preset_description(const char *name);
/* A copy holding only the first n devices (links and switches that no longer
 * serve them are dropped; routes recomputed). */
soap_machine *soap_machine_narrow(const soap_machine *m, int n, soap_error *err);
/* Preset name or JSON path; then narrowed if ndevices > 0. */
soap_machine *soap_machine_load(const char *name_or_path, int ndevices, soap_error *err);
uint64_t soap_machine_fingerprint(const soap_machine *m);

/* ------------------------------------------------------------------ */
/* Built-in models (core/models/)                                      */
/* ------------------------------------------------------------------ */
typedef struct soap_model_options {
    int64_t batch;   /* N; <= 0: the model's default (64) */
    int unroll;      /* RNN steps T; <= 0: 40 (tiny: 4) */
    int layers;      /* transformer layers; <= 0: 12 (tiny: 2) */
    int seq_len;     /* transformer sequence length; <= 0: 128 (tiny: 8) */
    int tiny;        /* 1: the small variant (fewer channels, smaller images, shorter
                      * sequences, smaller vocabularies); 0: the published sizes */
} soap_model_options;

/* The tiny variant of a model has the same ops, names and wiring as the full
 * one at the same unroll / layers (only widths, image sizes and vocabularies
 * shrink; each model file's opening comment gives its tiny sizes), so that a
 * CPU executor can run real training steps of every model in tests: at batch 8
 * one forward + backward is a few tens of MFLOP at most and the parameters
 * stay under 1e6. The graph keeps the model's name; its fingerprint differs
 * (the shapes do). */

typedef struct soap_model_info {
    const char *name;
    const char *description;
    soap_graph *(*build)(const soap_model_options *opt);
} soap_model_info;

/* NULL-terminated by name == NULL. */
const soap_model_info *soap_models(void);
const soap_model_info *soap_model_find(const char *name);
/* Built-in name or JSON path. Built-ins take `opt`; files carry their own
 * batch (opt->batch > 0 overrides it only for built-ins). */
soap_graph *soap_model_load(const char *name_or_path, const soap_model_options *opt,
                            soap_error *err);

/* ------------------------------------------------------------------ */
/* JSON files                                                          */
/* ------------------------------------------------------------------ */
soap_graph *soap_graph_read_json(const char *path, soap_error *err);
soap_status soap_graph_write_json(const soap_graph *g, const char *path, soap_error *err);
soap_machine *soap_machine_read_json(const char *path, soap_error *err);
soap_status soap_machine_write_json(const soap_machine *m, const char *path,
                                    soap_error *err);

/* Reads a JSON document (jansson, duplicate keys rejected). NULL with *err:
 * "path: cannot open", "path: is a directory, expected a <what> file" or
 * "path:line:column: message". The caller json_decref()s the result. */
struct json_t;
struct json_t *soap_json_load_file(const char *path, const char *what, soap_error *err);

/* Writes `text` to `path` through soap_outfile (below): for a regular file
 * a temporary file and rename, so that a failure leaves nothing
 * half-written. */
soap_status soap_write_file_atomic(const char *path, const char *text, soap_error *err);

/* The one seed derivation: a generator for (seed, stream, index), where the
 * seed is the user's (--seed), the stream names what is drawn and the index
 * which one of them (chain, weight, op, j-th random strategy). Same triple,
 * same numbers, on every platform; distinct triples, unrelated numbers.
 * Free with gsl_rng_free. */
#define SOAP_RNG_STREAMS(X)                                                      \
    X(RANDOM_STRATEGY, "random-strategy") /* index: j-th random strategy, 0.. */ \
    X(SEARCH_CHAIN, "search-chain")       /* index: chain */                     \
    X(WEIGHTS, "weights")                 /* index: weight id */                 \
    X(INPUTS, "inputs")                   /* index: input op id */               \
    X(LABELS, "labels")                   /* index: loss op id */                \
    X(PROFILE, "profile")                 /* index: 0 */
typedef enum soap_rng_stream {
#define SOAP_X_ENUM(e, s) SOAP_RNG_##e,
    SOAP_RNG_STREAMS(SOAP_X_ENUM)
#undef SOAP_X_ENUM
    SOAP_RNG_STREAM_COUNT
} soap_rng_stream;
gsl_rng *soap_rng_new(unsigned long seed, soap_rng_stream stream, unsigned long index);
/* The 64-bit value soap_rng_new seeds its generator from (for tests). */
uint64_t soap_rng_derive(unsigned long seed, soap_rng_stream stream, unsigned long index);

/* A name as it may be printed: control characters and backslashes escaped
 * (\n, \t, \\, \xNN), so a hostile name cannot break a message or a
 * terminal. Writes into buf (truncated with "..." to fit len); returns buf. */
char *soap_name_escape(const char *name, char *buf, size_t len);

/* The JSON document soap_machine_write_json / soap_graph_write_json write
 * (a machine file, a model file); it reads back as the same machine / model
 * (same fingerprint). The caller json_decref()s it. soap_graph_to_json
 * gives NULL if a name is not valid UTF-8 (JSON cannot hold it). */
struct json_t *soap_machine_to_json(const soap_machine *m);
struct json_t *soap_graph_to_json(const soap_graph *g);

/* Output files. Every file soap writes (--out, --trace, --dot, --log,
 * --csv, cost tables, weights) goes through one writer: a regular file, or
 * a symlink to one (its target is written), gets a temporary file beside
 * the target and a rename at commit, so a failure leaves the old contents;
 * a character device or FIFO (/dev/null, a terminal, a pipe) is written
 * directly; /dev/stdout, /dev/stderr, /dev/fd/N and /proc/self/fd/N are
 * written through a copy of that descriptor (wherever it goes: nothing is
 * truncated or renamed); anything else (a directory, a block device, a
 * socket) is refused with a message naming the path. New files get the
 * usual permissions (0666 less the umask); a replaced file keeps its mode.
 * A failed write (ENOSPC on /dev/full, a full disk) is an error naming the
 * path. */
typedef struct soap_outfile soap_outfile;
/* NULL with *err if the target cannot be written. */
soap_outfile *soap_outfile_open(const char *path, soap_error *err);
/* The stream to write to (owned by the outfile). */
FILE *soap_outfile_stream(soap_outfile *o);
/* Flushes, checks every write succeeded, closes and renames into place;
 * frees o whatever the outcome. */
soap_status soap_outfile_commit(soap_outfile *o, soap_error *err);
/* Drops what was written (the temporary file is removed); frees o. */
void soap_outfile_abort(soap_outfile *o);

/* Provenance: the '#' lines that open every CSV soap writes:
 *   # soap <what>
 *   # commit: <git commit of the build, or SOAP_COMMIT from the environment>
 *   # date: <UTC, ISO 8601>
 *   # host: <hostname> (<cores> cores)
 * then one "# key: value" line per setting (NULL-terminated key/value
 * pairs, may be NULL). */
void soap_provenance_write(FILE *f, const char *what, const char *const *settings);

/* ------------------------------------------------------------------ */
/* Cost tables (core/cost_table.c)                                     */
/* ------------------------------------------------------------------ */
/* Forward and backward time of one task, in seconds. */
typedef struct soap_task_cost {
    double fwd_s, bwd_s;
} soap_task_cost;

/* Cost table file (CSV, '#' comments and blank lines skipped anywhere):
 *   device_type,signature,partition,fwd_s,bwd_s          <- header, first
 *   P100,"conv2d k3x3 s1x1 p1x1 c64 bias0 in[64,64,56,56]",[16;64;56;56],1.2e-4,2.5e-4
 * Fields may be double-quoted ("" is one quote inside quotes); signature =
 * soap_op_signature; partition = the task's output sizes (1 to
 * SOAP_MAX_DIMS integers >= 1, ';'-separated in brackets); times in seconds,
 * in [0, SOAP_COST_TIME_MAX). */
#define SOAP_COST_TABLE_HEADER "device_type,signature,partition,fwd_s,bwd_s"
/* No task of any real device takes a million seconds (11.6 days); larger
 * figures are corrupt (and would overflow the simulator's clocks). */
#define SOAP_COST_TIME_MAX 1e6
/* 1 if t is a time a table may hold: finite, >= 0, < SOAP_COST_TIME_MAX. */
int soap_cost_time_ok(double t);

/* Called once per data row, in file order. A status other than SOAP_OK
 * stops the reading (the message gets "path:line: " in front). */
typedef soap_status (*soap_cost_row_fn)(void *arg, const char *device_type,
                                        const char *signature, const soap_shape *part,
                                        soap_task_cost cost, soap_error *err);
/* Reads a whole table, handing each row to fn. Any malformed row stops it
 * with "path:line: expected ..., got ..." (SOAP_ERR_PARSE); the caller
 * drops what it collected. */
soap_status soap_cost_table_read(const char *path, soap_cost_row_fn fn, void *arg,
                                 soap_error *err);
/* The header line (with its newline). */
void soap_cost_table_write_header(FILE *f);
/* Checks and writes one row (%.17g: the times read back exactly); `where`
 * names the file in messages. */
soap_status soap_cost_table_write_row(FILE *f, const char *where, const char *device_type,
                                      const char *signature, const soap_shape *part,
                                      soap_task_cost cost, soap_error *err);
/* Appends one row to the file at path (the header first if it is new or
 * empty). */
soap_status soap_cost_table_append(const char *path, const char *device_type,
                                   const char *signature, const soap_shape *part,
                                   soap_task_cost cost, soap_error *err);
/* "[16;64;56;56]": a partition's sizes as cost tables write them. Returns
 * buf (truncated to len). */
char *soap_cost_partition_str(const soap_shape *part, char *buf, size_t len);

/* 64-bit FNV-1a, for fingerprints. */
uint64_t soap_fnv1a(uint64_t h, const void *data, size_t n);
#define SOAP_FNV_INIT 1469598103934665603ULL

#ifdef __cplusplus
}
#endif
#endif /* SOAP_CORE_H */
