/* region.c: tensor shapes and regions (per-dim half-open ranges): volume,
 * intersection, containment and printing. Everything that splits tensors or
 * derives transfers builds on these. */
#include <stdio.h>
#include <string.h>

#include "soap_core.h"

int64_t soap_shape_volume(const soap_shape *s)
{
    int64_t v = 1;
    for (int d = 0; d < s->ndims; d++)
        v *= s->size[d];
    return v;
}

int soap_shape_equal_sizes(const soap_shape *a, const soap_shape *b)
{
    if (a->ndims != b->ndims)
        return 0;
    for (int d = 0; d < a->ndims; d++)
        if (a->size[d] != b->size[d])
            return 0;
    return 1;
}

/* Appends "[a,b,c]" of n int64 values to buf. */
static char *format_list(const int64_t *v, int n, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf + used, len - used, "[");
    for (int i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, "%s%lld", i ? "," : "", (long long)v[i]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

char *soap_shape_str(const soap_shape *s, char *buf, size_t len)
{
    return format_list(s->size, s->ndims, buf, len);
}

soap_region soap_region_full(const soap_shape *s)
{
    soap_region r;
    memset(&r, 0, sizeof r);
    r.ndims = s->ndims;
    for (int d = 0; d < s->ndims; d++) {
        r.lo[d] = 0;
        r.hi[d] = s->size[d];
    }
    return r;
}

int soap_region_empty(const soap_region *r)
{
    for (int d = 0; d < r->ndims; d++)
        if (r->lo[d] >= r->hi[d])
            return 1;
    return 0;
}

int64_t soap_region_volume(const soap_region *r)
{
    int64_t v = 1;
    for (int d = 0; d < r->ndims; d++) {
        if (r->lo[d] >= r->hi[d])
            return 0;
        v *= r->hi[d] - r->lo[d];
    }
    return v;
}

int soap_region_intersect(const soap_region *a, const soap_region *b, soap_region *out)
{
    SOAP_ASSERT(a->ndims == b->ndims);
    soap_region r;
    memset(&r, 0, sizeof r);
    r.ndims = a->ndims;
    for (int d = 0; d < a->ndims; d++) {
        r.lo[d] = a->lo[d] > b->lo[d] ? a->lo[d] : b->lo[d];
        r.hi[d] = a->hi[d] < b->hi[d] ? a->hi[d] : b->hi[d];
    }
    if (out)
        *out = r;
    return !soap_region_empty(&r);
}

int soap_region_equal(const soap_region *a, const soap_region *b)
{
    if (a->ndims != b->ndims)
        return 0;
    for (int d = 0; d < a->ndims; d++)
        if (a->lo[d] != b->lo[d] || a->hi[d] != b->hi[d])
            return 0;
    return 1;
}

int soap_region_contains(const soap_region *outer, const soap_region *inner)
{
    if (soap_region_empty(inner))
        return 1;
    if (outer->ndims != inner->ndims)
        return 0;
    for (int d = 0; d < outer->ndims; d++)
        if (inner->lo[d] < outer->lo[d] || inner->hi[d] > outer->hi[d])
            return 0;
    return 1;
}

char *soap_region_str(const soap_region *r, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    used += (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < r->ndims && used < len; d++)
        used += (size_t)snprintf(buf + used, len - used, "%s%lld:%lld", d ? "," : "",
                                 (long long)r->lo[d], (long long)r->hi[d]);
    if (used < len)
        snprintf(buf + used, len - used, "]");
    return buf;
}

soap_region soap_region_hull(const soap_region *a, const soap_region *b)
{
    SOAP_ASSERT(a && b);
    if (soap_region_empty(a))
        return *b;
    SOAP_ASSERT(a->ndims == b->ndims);
    soap_region r = *a;
    for (int d = 0; d < r.ndims; d++) {
        if (b->lo[d] < r.lo[d])
            r.lo[d] = b->lo[d];
        if (b->hi[d] > r.hi[d])
            r.hi[d] = b->hi[d];
    }
    return r;
}
