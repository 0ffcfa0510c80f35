/* names.c: names and parsers of the enums generated from the X-macro lists
 * (operator kinds, pool types, unary/binary functions, matmul modes, link
 * kinds, dim kinds). Each table is checked against its enum's count. */
#include <string.h>

#include "soap_core.h"

#define SOAP_X_NAME(e, s) s,

static const char *const op_kind_names[] = {SOAP_OP_KINDS(SOAP_X_NAME)};
static const char *const pool_names[] = {SOAP_POOL_TYPES(SOAP_X_NAME)};
static const char *const unary_names[] = {SOAP_UNARY_FNS(SOAP_X_NAME)};
static const char *const binary_names[] = {SOAP_BINARY_FNS(SOAP_X_NAME)};
static const char *const matmul_names[] = {SOAP_MATMUL_MODES(SOAP_X_NAME)};
static const char *const link_names[] = {SOAP_LINK_KINDS(SOAP_X_NAME)};
static const char *const dim_kind_names[] = {"none", "sample", "attribute", "parameter"};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))
_Static_assert(COUNT(op_kind_names) == SOAP_OP_KIND_COUNT, "op kind names");
_Static_assert(COUNT(pool_names) == SOAP_POOL_TYPE_COUNT, "pool names");
_Static_assert(COUNT(unary_names) == SOAP_UNARY_FN_COUNT, "unary names");
_Static_assert(COUNT(binary_names) == SOAP_BINARY_FN_COUNT, "binary names");
_Static_assert(COUNT(matmul_names) == SOAP_MATMUL_MODE_COUNT, "matmul names");
_Static_assert(COUNT(link_names) == SOAP_LINK_KIND_COUNT, "link names");
_Static_assert(COUNT(dim_kind_names) == SOAP_DIM_PARAMETER + 1, "dim kind names");

static const char *name_of(const char *const *tab, int n, int i)
{
    return (i >= 0 && i < n) ? tab[i] : "?";
}

static int parse_in(const char *const *tab, int n, const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(tab[i], s) == 0)
            return i;
    return -1;
}

#define NAME_FNS(prefix, type, tab)                                                  \
    const char *prefix##_name(type v) { return name_of(tab, COUNT(tab), (int)v); }   \
    int prefix##_parse(const char *s) { return parse_in(tab, COUNT(tab), s); }

NAME_FNS(soap_op_kind, soap_op_kind, op_kind_names)
NAME_FNS(soap_pool_type, soap_pool_type, pool_names)
NAME_FNS(soap_unary_fn, soap_unary_fn, unary_names)
NAME_FNS(soap_binary_fn, soap_binary_fn, binary_names)
NAME_FNS(soap_matmul_mode, soap_matmul_mode, matmul_names)
NAME_FNS(soap_link_kind, soap_link_kind, link_names)
NAME_FNS(soap_dim_kind, soap_dim_kind, dim_kind_names)
