/* machine_json.c: machine files (soap_machine_read_json and
 * soap_machine_write_json, with jansson).
 *
 * Format (every key listed is required; any other key is an error):
 *
 *   {"format": "soap-machine", "version": 1, "name": "my-cluster",
 *    "device_types": [{"name": "P100", "class": "gpu", "peak_flops": 10.6e12,
 *                      "memory_bandwidth": 732e9, "memory_bytes": 16e9,
 *                      "launch_overhead_s": 5e-6}],
 *    "devices": [{"name": "n0.gpu0", "type": "P100", "node": 0}, ...],
 *    "switches": ["n0.nic", "ib"],
 *    "links": [{"name": "n0.nv01", "kind": "nvlink", "bandwidth": 20e9,
 *               "latency_s": 1e-6, "ends": ["n0.gpu0", "n0.gpu1"]}, ...]}
 *
 *  - optional per device type: "calibration": {"gemm_eff": 0.75,
 *    "conv_eff": 0.8, "winograd": 2.2, "mem_eff": 0.7}, any of the four
 *    (soap_device_calibration: efficiencies in 0.01..1, winograd 1..4; a
 *    missing one keeps the class default), as `soap calibrate` writes it.
 *  - class: "gpu" or "cpu" (picks the analytic cost model's efficiency
 *    constants); peak_flops: FLOP/s (fp32); memory_bandwidth: bytes/s;
 *    memory_bytes: bytes; launch_overhead_s: seconds per task. Every figure
 *    must lie in its range (SOAP_PEAK_FLOPS_MIN.. and the others in
 *    soap_core.h: peak 1e6..1e18 FLOP/s, bandwidths 1e3..1e15 bytes/s,
 *    memory 1 KiB..1 PiB, launch overhead and latency 0..10 s).
 *  - devices: one per compute device; "type" names a device type; "node" is
 *    the 0-based node index (the machine has 1 + the largest of them).
 *  - switches: names of the other vertices (NICs, PCIe switches, host
 *    bridges, IB switches, NVSwitch). May be empty.
 *  - links: "kind" is one of nvlink, nvswitch, pcie, infiniband, membus;
 *    "bandwidth" bytes/s per direction, "latency_s" seconds (0 allowed);
 *    "ends" names 2 vertices (a full-duplex point-to-point link) or more (a
 *    bus shared by all of them). May be empty when there is one device.
 *  - Names (of types, of vertices, of links) are unique, 1..63 characters.
 *  - Every device must reach every other over the links.
 *
 * Errors name the file and the place: "m.json:3:14: ..." for malformed JSON,
 * "m.json: devices[3]: unknown type 'X' (types: P100)" for content. Nothing
 * half-built is returned. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <uthash.h>

#include "soap_core.h"

#define FORMAT_NAME "soap-machine"
#define FORMAT_VERSION 1

typedef struct vertex_entry {
    const char *key;
    int idx;
    UT_hash_handle hh;
} vertex_entry;

/* State of one read: the file, the machine being built, name tables. */
typedef struct reader {
    const char *path;
    soap_error *err;
    soap_machine *m;
    vertex_entry *types, *vertices, *links; /* uthash tables */
    vertex_entry *pool;                     /* their entries */
    int npool, cap_pool;
    char esc[4][SOAP_NAME_MAX * 4];         /* escaped names for messages */
    int nesc;
} reader;

/* A name from the file as it may be printed (soap_name_escape); up to four
 * per message. */
static const char *esc(reader *r, const char *name)
{
    char *buf = r->esc[r->nesc++ % 4];
    return soap_name_escape(name, buf, sizeof r->esc[0]);
}

static soap_status fail(reader *r, soap_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static soap_status fail(reader *r, soap_status code, const char *fmt, ...)
{
    char msg[SOAP_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return soap_error_set(r->err, code, "%s: %s", r->path, msg);
}

/* uthash keeps pointers to the entries, so the pool never moves: it is sized
 * once from the file's array lengths. */
static vertex_entry *new_entry(reader *r, const char *key, int idx)
{
    SOAP_ASSERT(r->npool < r->cap_pool);
    vertex_entry *e = &r->pool[r->npool++];
    e->key = key;
    e->idx = idx;
    return e;
}

static int lookup(vertex_entry *table, const char *key)
{
    vertex_entry *e = NULL;
    HASH_FIND_STR(table, key, e);
    return e ? e->idx : -1;
}

static int key_in(const char *key, const char *const *keys)
{
    for (int i = 0; keys && keys[i]; i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

/* Unknown keys are errors: a typo must not pass silently. Every key of
 * `keys` is required, those of `optional` (may be NULL) may be left out. */
static soap_status check_keys_opt(reader *r, json_t *obj, const char *where,
                                  const char *const *keys, const char *const *optional)
{
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
        if (!key_in(key, keys) && !key_in(key, optional)) {
            char list[256] = "";
            for (int pass = 0; pass < 2; pass++) {
                const char *const *k = pass ? optional : keys;
                for (int i = 0; k && k[i]; i++) {
                    strncat(list, list[0] ? ", " : "", sizeof list - strlen(list) - 1);
                    strncat(list, k[i], sizeof list - strlen(list) - 1);
                }
            }
            return fail(r, SOAP_ERR_PARSE, "%s: unknown key '%s' (expected: %s)", where,
                        esc(r, key), list);
        }
    }
    for (int i = 0; keys[i]; i++)
        if (!json_object_get(obj, keys[i]))
            return fail(r, SOAP_ERR_PARSE, "%s: missing field '%s'", where, keys[i]);
    return SOAP_OK;
}

static soap_status check_keys(reader *r, json_t *obj, const char *where, const char *const *keys)
{
    return check_keys_opt(r, obj, where, keys, NULL);
}

static soap_status get_name(reader *r, json_t *v, const char *where, const char *field,
                            const char **out)
{
    if (!json_is_string(v))
        return fail(r, SOAP_ERR_PARSE, "%s: '%s' must be a string", where, field);
    const char *s = json_string_value(v);
    size_t n = strlen(s);
    if (n == 0 || n >= SOAP_NAME_MAX || n != json_string_length(v))
        return fail(r, SOAP_ERR_PARSE, "%s: '%s' must be a name of 1..%d characters", where,
                    field, SOAP_NAME_MAX - 1);
    *out = s;
    return SOAP_OK;
}

/* A number (integer or real) in [lo, hi]. */
static soap_status get_number(reader *r, json_t *obj, const char *where, const char *field,
                              double lo, double hi, const char *unit, double *out)
{
    json_t *v = json_object_get(obj, field);
    if (!json_is_number(v))
        return fail(r, SOAP_ERR_PARSE, "%s: %s must be a number: expected %g..%g %s", where,
                    field, lo, hi, unit);
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
        return fail(r, SOAP_ERR_PARSE, "%s: %s %g is out of range: expected %g..%g %s", where,
                    field, x, lo, hi, unit);
    *out = x;
    return SOAP_OK;
}

static soap_status get_array(reader *r, json_t *root, const char *field, json_t **out)
{
    json_t *a = json_object_get(root, field);
    if (!json_is_array(a))
        return fail(r, SOAP_ERR_PARSE, "'%s' must be an array", field);
    *out = a;
    return SOAP_OK;
}

/* A device type's "calibration": any of its four figures (a missing one
 * keeps the class default). */
static soap_status read_calibration(reader *r, json_t *c, const char *type_where,
                                    soap_device_calibration *out)
{
    static const char *const optional[] = {"gemm_eff", "conv_eff", "winograd", "mem_eff", NULL};
    static const char *const none[] = {NULL};
    char where[96];
    snprintf(where, sizeof where, "%s.calibration", type_where);
    if (!json_is_object(c))
        return fail(r, SOAP_ERR_PARSE, "%s: expected an object", where);
    soap_status st = check_keys_opt(r, c, where, none, optional);
    double *dst[4] = {&out->gemm_eff, &out->conv_eff, &out->winograd, &out->mem_eff};
    for (int i = 0; i < 4 && st == SOAP_OK; i++) {
        if (!json_object_get(c, optional[i]))
            continue;
        int wino = i == 2;
        st = get_number(r, c, where, optional[i], wino ? SOAP_CAL_WINOGRAD_MIN : SOAP_CAL_EFF_MIN,
                        wino ? SOAP_CAL_WINOGRAD_MAX : SOAP_CAL_EFF_MAX,
                        wino ? "(times fewer multiply-adds)" : "(fraction of the nominal figure)",
                        dst[i]);
    }
    return st;
}

static soap_status read_types(reader *r, json_t *types)
{
    static const char *const keys[] = {"name",         "class",
                                       "peak_flops",   "memory_bandwidth",
                                       "memory_bytes", "launch_overhead_s", NULL};
    static const char *const optional[] = {"calibration", NULL};
    size_t i;
    json_t *t;
    if (json_array_size(types) == 0)
        return fail(r, SOAP_ERR_PARSE, "'device_types' is empty (expected at least one type)");
    json_array_foreach(types, i, t) {
        char where[64];
        snprintf(where, sizeof where, "device_types[%zu]", i);
        if (!json_is_object(t))
            return fail(r, SOAP_ERR_PARSE, "%s: expected an object", where);
        soap_status st = check_keys_opt(r, t, where, keys, optional);
        const char *name = NULL;
        soap_device_type ty;
        memset(&ty, 0, sizeof ty);
        if (st == SOAP_OK)
            st = get_name(r, json_object_get(t, "name"), where, "name", &name);
        const char *cls = NULL;
        if (st == SOAP_OK)
            st = get_name(r, json_object_get(t, "class"), where, "class", &cls);
        if (st == SOAP_OK) {
            int c = soap_device_class_parse(cls);
            if (c < 0)
                st = fail(r, SOAP_ERR_PARSE, "%s: unknown class '%s' (classes: gpu, cpu)",
                          where, esc(r, cls));
            ty.cls = (soap_device_class)(c < 0 ? 0 : c);
        }
        if (st == SOAP_OK)
            st = get_number(r, t, where, "peak_flops", SOAP_PEAK_FLOPS_MIN, SOAP_PEAK_FLOPS_MAX,
                            "FLOP/s", &ty.peak_flops);
        if (st == SOAP_OK)
            st = get_number(r, t, where, "memory_bandwidth", SOAP_BANDWIDTH_MIN,
                            SOAP_BANDWIDTH_MAX, "bytes/s", &ty.mem_bandwidth);
        if (st == SOAP_OK)
            st = get_number(r, t, where, "memory_bytes", SOAP_MEMORY_MIN, SOAP_MEMORY_MAX,
                            "bytes (1 KiB..1 PiB)", &ty.mem_capacity);
        if (st == SOAP_OK)
            st = get_number(r, t, where, "launch_overhead_s", 0, SOAP_LATENCY_MAX, "seconds",
                            &ty.launch_overhead);
        if (st == SOAP_OK && json_object_get(t, "calibration"))
            st = read_calibration(r, json_object_get(t, "calibration"), where, &ty.cal);
        if (st != SOAP_OK)
            return st;
        if (lookup(r->types, name) >= 0)
            return fail(r, SOAP_ERR_PARSE, "%s: type name '%s' repeats", where, esc(r, name));
        snprintf(ty.name, sizeof ty.name, "%s", name);
        int idx = soap_machine_add_type(r->m, &ty);
        vertex_entry *e = new_entry(r, name, idx);
        HASH_ADD_KEYPTR(hh, r->types, e->key, strlen(e->key), e);
    }
    return SOAP_OK;
}

static soap_status add_vertex_name(reader *r, const char *where, const char *name, int idx)
{
    int prev = lookup(r->vertices, name);
    if (prev >= 0)
        return fail(r, SOAP_ERR_PARSE,
                    "%s: name '%s' is already used by %s (device and switch names must be "
                    "unique)",
                    where, esc(r, name), prev < r->m->ndevices ? "a device" : "a switch");
    vertex_entry *e = new_entry(r, name, idx);
    HASH_ADD_KEYPTR(hh, r->vertices, e->key, strlen(e->key), e);
    return SOAP_OK;
}

static soap_status read_devices(reader *r, json_t *devices)
{
    static const char *const keys[] = {"name", "type", "node", NULL};
    size_t i;
    json_t *d;
    if (json_array_size(devices) == 0)
        return fail(r, SOAP_ERR_PARSE, "'devices' is empty (expected at least one device)");
    if (json_array_size(devices) > SOAP_MAX_DEVICES)
        return fail(r, SOAP_ERR_PARSE, "%zu devices (at most %d)", json_array_size(devices),
                    SOAP_MAX_DEVICES);
    json_array_foreach(devices, i, d) {
        char where[320];
        snprintf(where, sizeof where, "devices[%zu]", i);
        if (!json_is_object(d))
            return fail(r, SOAP_ERR_PARSE, "%s: expected an object", where);
        const char *name = NULL, *type = NULL;
        soap_status st = check_keys(r, d, where, keys);
        if (st == SOAP_OK)
            st = get_name(r, json_object_get(d, "name"), where, "name", &name);
        if (st == SOAP_OK)
            st = get_name(r, json_object_get(d, "type"), where, "type", &type);
        if (st != SOAP_OK)
            return st;
        snprintf(where, sizeof where, "devices[%zu] ('%s')", i, esc(r, name));
        int ti = lookup(r->types, type);
        if (ti < 0) {
            char list[256] = "";
            for (int k = 0; k < r->m->ntypes; k++) {
                strncat(list, k ? ", " : "", sizeof list - strlen(list) - 1);
                strncat(list, esc(r, r->m->types[k].name), sizeof list - strlen(list) - 1);
            }
            return fail(r, SOAP_ERR_PARSE, "%s: unknown type '%s' (types: %s)", where,
                        esc(r, type), list);
        }
        json_t *node = json_object_get(d, "node");
        if (!json_is_integer(node) || json_integer_value(node) < 0 ||
            json_integer_value(node) >= SOAP_MAX_DEVICES)
            return fail(r, SOAP_ERR_PARSE, "%s: node must be an integer in 0..%d", where,
                        SOAP_MAX_DEVICES - 1);
        st = add_vertex_name(r, where, name, (int)i);
        if (st != SOAP_OK)
            return st;
        soap_machine_add_device(r->m, name, ti, (int)json_integer_value(node));
    }
    return SOAP_OK;
}

static soap_status read_switches(reader *r, json_t *switches)
{
    size_t i;
    json_t *s;
    json_array_foreach(switches, i, s) {
        char where[64];
        snprintf(where, sizeof where, "switches[%zu]", i);
        const char *name = NULL;
        soap_status st = get_name(r, s, where, "switch name", &name);
        if (st == SOAP_OK)
            st = add_vertex_name(r, where, name, r->m->ndevices + (int)i);
        if (st != SOAP_OK)
            return st;
        soap_machine_add_switch(r->m, name);
    }
    return SOAP_OK;
}

static soap_status read_links(reader *r, json_t *links)
{
    static const char *const keys[] = {"name", "kind", "bandwidth", "latency_s", "ends", NULL};
    size_t i;
    json_t *l;
    int nv = r->m->ndevices + r->m->nswitches;
    int *ends = soap_xmalloc((size_t)nv * sizeof *ends);
    soap_status st = SOAP_OK;
    json_array_foreach(links, i, l) {
        char where[320];
        snprintf(where, sizeof where, "links[%zu]", i);
        if (!json_is_object(l)) {
            st = fail(r, SOAP_ERR_PARSE, "%s: expected an object", where);
            break;
        }
        const char *name = NULL, *kind = NULL;
        st = check_keys(r, l, where, keys);
        if (st == SOAP_OK)
            st = get_name(r, json_object_get(l, "name"), where, "name", &name);
        if (st != SOAP_OK)
            break;
        snprintf(where, sizeof where, "links[%zu] ('%s')", i, esc(r, name));
        if (lookup(r->links, name) >= 0) {
            st = fail(r, SOAP_ERR_PARSE, "%s: link name '%s' repeats", where, esc(r, name));
            break;
        }
        vertex_entry *e = new_entry(r, name, (int)i);
        HASH_ADD_KEYPTR(hh, r->links, e->key, strlen(e->key), e);
        st = get_name(r, json_object_get(l, "kind"), where, "kind", &kind);
        if (st != SOAP_OK)
            break;
        int k = soap_link_kind_parse(kind);
        if (k < 0) {
            st = fail(r, SOAP_ERR_PARSE,
                      "%s: unknown kind '%s' (kinds: nvlink, nvswitch, pcie, infiniband, membus)",
                      where, esc(r, kind));
            break;
        }
        double bw = 0, lat = 0;
        st = get_number(r, l, where, "bandwidth", SOAP_BANDWIDTH_MIN, SOAP_BANDWIDTH_MAX,
                        "bytes/s per direction", &bw);
        if (st == SOAP_OK)
            st = get_number(r, l, where, "latency_s", 0, SOAP_LATENCY_MAX, "seconds", &lat);
        if (st != SOAP_OK)
            break;
        json_t *ja = json_object_get(l, "ends");
        if (!json_is_array(ja) || json_array_size(ja) < 2) {
            st = fail(r, SOAP_ERR_PARSE, "%s: ends must be an array of at least 2 vertex names",
                      where);
            break;
        }
        if (json_array_size(ja) > (size_t)nv) {
            st = fail(r, SOAP_ERR_PARSE, "%s: %zu ends but the machine has %d vertices", where,
                      json_array_size(ja), nv);
            break;
        }
        size_t j;
        json_t *jv;
        json_array_foreach(ja, j, jv) {
            const char *vname = NULL;
            char place[360];
            snprintf(place, sizeof place, "%s: ends[%zu]", where, j);
            st = get_name(r, jv, place, "end", &vname);
            if (st != SOAP_OK)
                break;
            int v = lookup(r->vertices, vname);
            if (v < 0) {
                st = fail(r, SOAP_ERR_PARSE,
                          "%s: unknown vertex '%s' (expected a device or switch name)", place,
                          esc(r, vname));
                break;
            }
            for (size_t q = 0; q < j; q++)
                if (ends[q] == v) {
                    st = fail(r, SOAP_ERR_PARSE, "%s: vertex '%s' is an end twice", place,
                              esc(r, vname));
                    break;
                }
            if (st != SOAP_OK)
                break;
            ends[j] = v;
        }
        if (st != SOAP_OK)
            break;
        soap_machine_add_link(r->m, name, (soap_link_kind)k, bw, lat, ends,
                              (int)json_array_size(ja));
    }
    free(ends);
    return st;
}

static soap_status read_root(reader *r, json_t *root)
{
    static const char *const keys[] = {"format",  "version",  "name", "device_types",
                                       "devices", "switches", "links", NULL};
    if (!json_is_object(root))
        return fail(r, SOAP_ERR_PARSE, "expected a JSON object at the top");
    soap_status st = check_keys(r, root, "top level", keys);
    if (st != SOAP_OK)
        return st;
    json_t *fmt = json_object_get(root, "format");
    if (!json_is_string(fmt) || strcmp(json_string_value(fmt), FORMAT_NAME) != 0)
        return fail(r, SOAP_ERR_PARSE, "format must be \"%s\" (is this a machine file?)",
                    FORMAT_NAME);
    json_t *ver = json_object_get(root, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) != FORMAT_VERSION)
        return fail(r, SOAP_ERR_PARSE, "version must be %d", FORMAT_VERSION);
    const char *name = NULL;
    st = get_name(r, json_object_get(root, "name"), "top level", "name", &name);
    json_t *types = NULL, *devices = NULL, *switches = NULL, *links = NULL;
    if (st == SOAP_OK)
        st = get_array(r, root, "device_types", &types);
    if (st == SOAP_OK)
        st = get_array(r, root, "devices", &devices);
    if (st == SOAP_OK)
        st = get_array(r, root, "switches", &switches);
    if (st == SOAP_OK)
        st = get_array(r, root, "links", &links);
    if (st != SOAP_OK)
        return st;
    r->m = soap_machine_new(name);
    r->cap_pool = (int)(json_array_size(types) + json_array_size(devices) +
                        json_array_size(switches) + json_array_size(links));
    r->pool = soap_xcalloc((size_t)(r->cap_pool ? r->cap_pool : 1), sizeof *r->pool);
    st = read_types(r, types);
    if (st == SOAP_OK)
        st = read_devices(r, devices);
    if (st == SOAP_OK)
        st = read_switches(r, switches);
    if (st == SOAP_OK)
        st = read_links(r, links);
    if (st == SOAP_OK && soap_machine_finish(r->m, r->err) != SOAP_OK)
        st = soap_error_prefix(r->err, "%s", r->path);
    return st;
}

soap_machine *soap_machine_read_json(const char *path, soap_error *err)
{
    json_t *root = soap_json_load_file(path, "machine", err);
    if (!root)
        return NULL;
    reader r = {.path = path, .err = err};
    soap_status st = read_root(&r, root);
    HASH_CLEAR(hh, r.types);
    HASH_CLEAR(hh, r.vertices);
    HASH_CLEAR(hh, r.links);
    free(r.pool);
    json_decref(root);
    if (st != SOAP_OK) {
        soap_machine_free(r.m);
        return NULL;
    }
    return r.m;
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* 1 if every figure of `m` reads back exactly when printed with `digits`
 * significant digits. */
static int figures_survive(const soap_machine *m, int digits)
{
    char buf[64];
    for (int i = 0; i < m->ntypes + m->nlinks; i++) {
        double x[8];
        int n;
        if (i < m->ntypes) {
            const soap_device_type *t = &m->types[i];
            x[0] = t->peak_flops, x[1] = t->mem_bandwidth, x[2] = t->mem_capacity;
            x[3] = t->launch_overhead;
            x[4] = t->cal.gemm_eff, x[5] = t->cal.conv_eff, x[6] = t->cal.winograd;
            x[7] = t->cal.mem_eff;
            n = 8;
        } else {
            x[0] = m->links[i - m->ntypes].bandwidth, x[1] = m->links[i - m->ntypes].latency;
            n = 2;
        }
        for (int k = 0; k < n; k++) {
            snprintf(buf, sizeof buf, "%.*g", digits, x[k]);
            if (strtod(buf, NULL) != x[k])
                return 0;
        }
    }
    return 1;
}

struct json_t *soap_machine_to_json(const soap_machine *m)
{
    SOAP_ASSERT(m);
    json_t *root = json_object();
    json_object_set_new(root, "format", json_string(FORMAT_NAME));
    json_object_set_new(root, "version", json_integer(FORMAT_VERSION));
    json_object_set_new(root, "name", json_string(m->name));
    json_t *types = json_array();
    for (int i = 0; i < m->ntypes; i++) {
        const soap_device_type *t = &m->types[i];
        json_t *jt = json_pack("{s:s, s:s, s:f, s:f, s:f, s:f}", "name", t->name, "class",
                               soap_device_class_name(t->cls), "peak_flops", t->peak_flops,
                               "memory_bandwidth", t->mem_bandwidth, "memory_bytes",
                               t->mem_capacity, "launch_overhead_s", t->launch_overhead);
        const char *const names[4] = {"gemm_eff", "conv_eff", "winograd", "mem_eff"};
        const double vals[4] = {t->cal.gemm_eff, t->cal.conv_eff, t->cal.winograd,
                                t->cal.mem_eff};
        json_t *cal = json_object();
        for (int k = 0; k < 4; k++)
            if (vals[k] != 0)
                json_object_set_new(cal, names[k], json_real(vals[k]));
        if (json_object_size(cal) > 0)
            json_object_set_new(jt, "calibration", cal);
        else
            json_decref(cal);
        json_array_append_new(types, jt);
    }
    json_object_set_new(root, "device_types", types);
    json_t *devices = json_array();
    for (int d = 0; d < m->ndevices; d++)
        json_array_append_new(devices,
                              json_pack("{s:s, s:s, s:i}", "name", m->devices[d].name, "type",
                                        m->types[m->devices[d].type].name, "node",
                                        m->devices[d].node));
    json_object_set_new(root, "devices", devices);
    json_t *switches = json_array();
    for (int s = 0; s < m->nswitches; s++)
        json_array_append_new(switches, json_string(m->switch_names[s]));
    json_object_set_new(root, "switches", switches);
    json_t *links = json_array();
    for (int i = 0; i < m->nlinks; i++) {
        const soap_link *l = &m->links[i];
        json_t *ends = json_array();
        for (int e = 0; e < l->nends; e++)
            json_array_append_new(ends, json_string(soap_machine_vertex_name(m, l->ends[e])));
        json_array_append_new(links, json_pack("{s:s, s:s, s:f, s:f, s:o}", "name", l->name,
                                               "kind", soap_link_kind_name(l->kind), "bandwidth",
                                               l->bandwidth, "latency_s", l->latency, "ends",
                                               ends));
    }
    json_object_set_new(root, "links", links);
    return root;
}

soap_status soap_machine_write_json(const soap_machine *m, const char *path, soap_error *err)
{
    SOAP_ASSERT(m && path);
    json_t *root = soap_machine_to_json(m);
    /* A written machine must read back with the same fingerprint: 17
     * significant digits always do, but print 2e-06 rather than
     * 1.9999999999999999e-06, so use the fewest of 15..17 that are exact. */
    int digits = 15;
    while (digits < 17 && !figures_survive(m, digits))
        digits++;
    char *text =
        json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(digits));
    json_decref(root);
    SOAP_ASSERT(text);
    size_t n = strlen(text);
    char *withnl = soap_xmalloc(n + 2);
    memcpy(withnl, text, n);
    withnl[n] = '\n';
    withnl[n + 1] = '\0';
    free(text);
    soap_status st = soap_write_file_atomic(path, withnl, err);
    free(withnl);
    return st;
}
