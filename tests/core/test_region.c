/* Tests of shapes and regions: volume, intersection (commutative, contained in
 * both operands, idempotent), containment, and the enum name tables. */
#include <check.h>
#include <gsl/gsl_rng.h>

#include "soap_core.h"

static soap_region make_region(int nd, const int64_t *lo, const int64_t *hi)
{
    soap_region r = {.ndims = nd};
    for (int d = 0; d < nd; d++) {
        r.lo[d] = lo[d];
        r.hi[d] = hi[d];
    }
    return r;
}

static soap_region random_region(gsl_rng *rng, int nd)
{
    soap_region r = {.ndims = nd};
    for (int d = 0; d < nd; d++) {
        r.lo[d] = (int64_t)gsl_rng_uniform_int(rng, 10);
        r.hi[d] = r.lo[d] + (int64_t)gsl_rng_uniform_int(rng, 8); /* may be empty */
    }
    return r;
}

START_TEST(test_volume)
{
    soap_shape s = {.ndims = 4, .size = {2, 3, 4, 5}};
    ck_assert_int_eq(soap_shape_volume(&s), 120);
    soap_region full = soap_region_full(&s);
    ck_assert_int_eq(soap_region_volume(&full), 120);
    soap_region r = make_region(2, (int64_t[]){1, 5}, (int64_t[]){3, 5});
    ck_assert(soap_region_empty(&r));
    ck_assert_int_eq(soap_region_volume(&r), 0);
    soap_shape scalar = {.ndims = 0};
    ck_assert_int_eq(soap_shape_volume(&scalar), 1);
}
END_TEST

START_TEST(test_intersect_known)
{
    soap_region a = make_region(2, (int64_t[]){0, 0}, (int64_t[]){4, 6});
    soap_region b = make_region(2, (int64_t[]){2, 5}, (int64_t[]){8, 9});
    soap_region c;
    ck_assert(soap_region_intersect(&a, &b, &c));
    ck_assert_int_eq(c.lo[0], 2);
    ck_assert_int_eq(c.hi[0], 4);
    ck_assert_int_eq(c.lo[1], 5);
    ck_assert_int_eq(c.hi[1], 6);
    ck_assert_int_eq(soap_region_volume(&c), 2);
    /* Touching half-open ranges do not intersect. */
    soap_region d = make_region(2, (int64_t[]){4, 0}, (int64_t[]){5, 6});
    ck_assert(!soap_region_intersect(&a, &d, &c));
}
END_TEST

/* Properties over random regions, one loop iteration per dimensionality. */
START_TEST(test_intersect_properties)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7 + (unsigned long)_i);
    int nd = _i;
    int iterations = nd <= 2 ? 2000 : 50; /* the point count below is 18^nd */
    for (int k = 0; k < iterations; k++) {
        soap_region a = random_region(rng, nd), b = random_region(rng, nd);
        soap_region ab, ba, aa;
        int nab = soap_region_intersect(&a, &b, &ab);
        int nba = soap_region_intersect(&b, &a, &ba);
        ck_assert_int_eq(nab, nba);
        ck_assert_int_eq(soap_region_volume(&ab), soap_region_volume(&ba));
        ck_assert(soap_region_contains(&a, &ab));
        ck_assert(soap_region_contains(&b, &ab));
        ck_assert_int_le(soap_region_volume(&ab), soap_region_volume(&a));
        if (!soap_region_empty(&a)) {
            ck_assert(soap_region_intersect(&a, &a, &aa));
            ck_assert(soap_region_equal(&a, &aa));
        }
        /* Inclusion-exclusion by counting points on a small grid. */
        int64_t count = 0;
        int64_t idx[SOAP_MAX_DIMS] = {0};
        int64_t total = 1;
        for (int d = 0; d < nd; d++)
            total *= 18;
        for (int64_t p = 0; p < total; p++) {
            int64_t q = p;
            int in_a = 1, in_b = 1;
            for (int d = 0; d < nd; d++) {
                idx[d] = q % 18;
                q /= 18;
                in_a &= idx[d] >= a.lo[d] && idx[d] < a.hi[d];
                in_b &= idx[d] >= b.lo[d] && idx[d] < b.hi[d];
            }
            count += in_a && in_b;
        }
        ck_assert_int_eq(count, soap_region_volume(&ab));
    }
    gsl_rng_free(rng);
}
END_TEST

START_TEST(test_contains_and_str)
{
    soap_region outer = make_region(3, (int64_t[]){0, 0, 0}, (int64_t[]){4, 4, 4});
    soap_region inner = make_region(3, (int64_t[]){1, 0, 2}, (int64_t[]){2, 4, 4});
    soap_region out = make_region(3, (int64_t[]){1, 0, 2}, (int64_t[]){2, 5, 4});
    ck_assert(soap_region_contains(&outer, &inner));
    ck_assert(!soap_region_contains(&outer, &out));
    char buf[64];
    ck_assert_str_eq(soap_region_str(&inner, buf, sizeof buf), "[1:2,0:4,2:4]");
    soap_shape s = {.ndims = 3, .size = {64, 3, 224}};
    ck_assert_str_eq(soap_shape_str(&s, buf, sizeof buf), "[64,3,224]");
}
END_TEST

START_TEST(test_hull)
{
    soap_region a = make_region(2, (int64_t[]){2, 0}, (int64_t[]){4, 3});
    soap_region b = make_region(2, (int64_t[]){0, 5}, (int64_t[]){1, 8});
    soap_region empty = make_region(2, (int64_t[]){0, 0}, (int64_t[]){0, 8});
    soap_region h = soap_region_hull(&a, &b);
    soap_region want = make_region(2, (int64_t[]){0, 0}, (int64_t[]){4, 8});
    ck_assert(soap_region_equal(&h, &want));
    h = soap_region_hull(&b, &a);
    ck_assert(soap_region_equal(&h, &want));
    h = soap_region_hull(&empty, &a); /* an empty box adds nothing */
    ck_assert(soap_region_equal(&h, &a));
    h = soap_region_hull(&a, &a);
    ck_assert(soap_region_equal(&h, &a));
    ck_assert(soap_region_contains(&want, &a) && soap_region_contains(&want, &b));
}
END_TEST

START_TEST(test_names_round_trip)
{
    for (int k = 0; k < SOAP_OP_KIND_COUNT; k++)
        ck_assert_int_eq(soap_op_kind_parse(soap_op_kind_name((soap_op_kind)k)), k);
    for (int k = 0; k < SOAP_LINK_KIND_COUNT; k++)
        ck_assert_int_eq(soap_link_kind_parse(soap_link_kind_name((soap_link_kind)k)), k);
    for (int k = 0; k <= SOAP_DIM_PARAMETER; k++)
        ck_assert_int_eq(soap_dim_kind_parse(soap_dim_kind_name((soap_dim_kind)k)), k);
    ck_assert_int_eq(soap_op_kind_parse("conv3d"), -1);
    ck_assert_int_eq(soap_op_kind_parse(NULL), -1);
    ck_assert_str_eq(soap_op_kind_name(SOAP_OP_CONV2D), "conv2d");
    ck_assert_str_eq(soap_unary_fn_name(SOAP_UNARY_SIGMOID), "sigmoid");
}
END_TEST

START_TEST(test_error_prefix)
{
    soap_error err;
    soap_error_clear(&err);
    ck_assert_int_eq(soap_error_set(&err, SOAP_ERR_PARSE, "line %d: bad", 3), SOAP_ERR_PARSE);
    ck_assert_int_eq(soap_error_prefix(&err, "%s", "m.json"), SOAP_ERR_PARSE);
    ck_assert_str_eq(err.msg, "m.json: line 3: bad");
    ck_assert_int_eq(soap_error_set(NULL, SOAP_ERR_IO, "x"), SOAP_ERR_IO);
}
END_TEST

Suite *soap_suite_region(void);
Suite *soap_suite_region(void)
{
    Suite *s = suite_create("region");
    TCase *tc = tcase_create("volume");
    tcase_add_test(tc, test_volume);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    tc = tcase_create("intersection");
    tcase_add_test(tc, test_intersect_known);
    tcase_add_loop_test(tc, test_intersect_properties, 1, SOAP_MAX_DIMS + 1);
    tcase_add_test(tc, test_contains_and_str);
    tcase_add_test(tc, test_hull);
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    tc = tcase_create("names and errors");
    tcase_add_test(tc, test_names_round_trip);
    tcase_add_test(tc, test_error_prefix);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
    return s;
}
