/* inception_v3.c: Inception-v3 (Szegedy, Vanhoucke, Ioffe, Shlens, Wojna,
 * "Rethinking the Inception Architecture for Computer Vision", CVPR 2016) as
 * in torchvision, without the auxiliary classifier, on 299x299 images.
 *
 * Every conv is torchvision's BasicConv2d: conv without bias + batchnorm +
 * relu, named "<module>.conv", ".bn", ".relu" after torchvision's modules
 * ("Mixed_6b.branch7x7_2"). Stem: 3x3/2 32, 3x3 32, 3x3 pad 1 64, maxpool
 * 3/2, 1x1 80, 3x3 192, maxpool 3/2 (35x35x192). Then Mixed_5b..5d
 * (InceptionA, 35x35), Mixed_6a (InceptionB, to 17x17x768), Mixed_6b..6e
 * (InceptionC with the factorized 1x7 / 7x1 kernels), Mixed_7a (InceptionD,
 * to 8x8x1280), Mixed_7b..7c (InceptionE with 1x3 / 3x1 kernels, 2048
 * channels). Branches are joined by a concat along the channels (axis 1);
 * InceptionE's split branches (1x3 and 3x1 side by side) go straight into
 * the block's concat, which gives the same channel order as torchvision's
 * nested concats. Average-pool branches are 3x3 stride 1 pad 1. Head: global
 * average pool 8x8, flatten, linear 1000 with bias, softmax_ce (dropout left
 * out: no op).
 * Published figures (torchvision): 27,161,264 parameters with the auxiliary
 * head (3,326,696 of them), so 23,834,568 without it; 5.71 GFLOPS (about
 * 5.7e9 multiply-adds) per sample.
 * Tiny (opt->tiny): the same 94 BasicConv2d, 11 blocks and concats on 75x75
 * images, the smallest size that keeps every output at least 1x1 (stem 37,
 * 35, 35, maxpool 17, 17, 15, maxpool 7; Mixed_5* 7x7, Mixed_6* 3x3, Mixed_7*
 * 1x1, so the global average pool is 1x1), every conv's channels / 16 (at
 * least 2; Mixed_5b 16 channels out ... Mixed_7c 128), fc 10 classes:
 * 88,458 parameters, about 0.86e6 multiply-adds per sample (15.9e6 forward
 * FLOP at batch 8).
 */
#include "models_internal.h"

/* Tiny widths: every BasicConv2d's channels / TINY_DIV, at least TINY_MIN (the
 * channel counts in the comments below are the full model's). */
#define TINY_DIV 16
#define TINY_MIN 2

/* BasicConv2d "<mod>" with a kh x kw kernel, stride s, padding (ph, pw). */
static int basic(soap_graph *g, const soap_model_options *opt, const char *mod, int in,
                 int64_t c, int kh, int kw, int s, int ph, int pw)
{
    char nm[SOAP_NAME_MAX];
    c = soap_model_width(opt, c, TINY_DIV, TINY_MIN);
    int x = soap_add_conv2d(g, soap_model_name(nm, "%s.conv", mod), in, c, kh, kw, s, s, ph,
                            pw, 0);
    x = soap_add_batchnorm(g, soap_model_name(nm, "%s.bn", mod), x);
    return soap_add_unary(g, soap_model_name(nm, "%s.relu", mod), x, SOAP_UNARY_RELU);
}

/* basic() on the module "<block>.<branch>". */
static int bconv(soap_graph *g, const soap_model_options *opt, const char *block,
                 const char *branch, int in, int64_t c, int kh, int kw, int s, int ph, int pw)
{
    char mod[SOAP_NAME_MAX];
    return basic(g, opt, soap_model_name(mod, "%s.%s", block, branch), in, c, kh, kw, s, ph,
                 pw);
}

/* The 3x3 stride-1 pad-1 average pool that opens a pooling branch. */
static int avg3(soap_graph *g, const char *block, int in)
{
    char nm[SOAP_NAME_MAX];
    return soap_add_pool2d(g, soap_model_name(nm, "%s.branch_pool.avgpool", block), in,
                           SOAP_POOL_AVG, 3, 3, 1, 1, 1, 1);
}

/* The 3x3 stride-2 max pool of the grid-reduction blocks. */
static int max3s2(soap_graph *g, const char *block, int in)
{
    char nm[SOAP_NAME_MAX];
    return soap_add_pool2d(g, soap_model_name(nm, "%s.branch_pool", block), in,
                           SOAP_POOL_MAX, 3, 3, 2, 2, 0, 0);
}

static int join(soap_graph *g, const char *block, const int *branches, int n)
{
    char nm[SOAP_NAME_MAX];
    return soap_add_concat(g, soap_model_name(nm, "%s.concat", block), branches, n, 1);
}

/* InceptionA (35x35): 64 + 64 + 96 + pool_features channels. */
static int inception_a(soap_graph *g, const soap_model_options *opt, const char *blk, int in,
                       int64_t pool_features)
{
    int b[4];
    b[0] = bconv(g, opt, blk, "branch1x1", in, 64, 1, 1, 1, 0, 0);
    int x = bconv(g, opt, blk, "branch5x5_1", in, 48, 1, 1, 1, 0, 0);
    b[1] = bconv(g, opt, blk, "branch5x5_2", x, 64, 5, 5, 1, 2, 2);
    x = bconv(g, opt, blk, "branch3x3dbl_1", in, 64, 1, 1, 1, 0, 0);
    x = bconv(g, opt, blk, "branch3x3dbl_2", x, 96, 3, 3, 1, 1, 1);
    b[2] = bconv(g, opt, blk, "branch3x3dbl_3", x, 96, 3, 3, 1, 1, 1);
    b[3] = bconv(g, opt, blk, "branch_pool", avg3(g, blk, in), pool_features, 1, 1, 1, 0, 0);
    return join(g, blk, b, 4);
}

/* InceptionB (35x35 -> 17x17): 384 + 96 + the input's channels. */
static int inception_b(soap_graph *g, const soap_model_options *opt, const char *blk,
                       int in)
{
    int b[3];
    b[0] = bconv(g, opt, blk, "branch3x3", in, 384, 3, 3, 2, 0, 0);
    int x = bconv(g, opt, blk, "branch3x3dbl_1", in, 64, 1, 1, 1, 0, 0);
    x = bconv(g, opt, blk, "branch3x3dbl_2", x, 96, 3, 3, 1, 1, 1);
    b[1] = bconv(g, opt, blk, "branch3x3dbl_3", x, 96, 3, 3, 2, 0, 0);
    b[2] = max3s2(g, blk, in);
    return join(g, blk, b, 3);
}

/* InceptionC (17x17, 768 channels), c7 the width of the 7x7 branches. */
static int inception_c(soap_graph *g, const soap_model_options *opt, const char *blk, int in,
                       int64_t c7)
{
    int b[4];
    b[0] = bconv(g, opt, blk, "branch1x1", in, 192, 1, 1, 1, 0, 0);
    int x = bconv(g, opt, blk, "branch7x7_1", in, c7, 1, 1, 1, 0, 0);
    x = bconv(g, opt, blk, "branch7x7_2", x, c7, 1, 7, 1, 0, 3);
    b[1] = bconv(g, opt, blk, "branch7x7_3", x, 192, 7, 1, 1, 3, 0);
    x = bconv(g, opt, blk, "branch7x7dbl_1", in, c7, 1, 1, 1, 0, 0);
    x = bconv(g, opt, blk, "branch7x7dbl_2", x, c7, 7, 1, 1, 3, 0);
    x = bconv(g, opt, blk, "branch7x7dbl_3", x, c7, 1, 7, 1, 0, 3);
    x = bconv(g, opt, blk, "branch7x7dbl_4", x, c7, 7, 1, 1, 3, 0);
    b[2] = bconv(g, opt, blk, "branch7x7dbl_5", x, 192, 1, 7, 1, 0, 3);
    b[3] = bconv(g, opt, blk, "branch_pool", avg3(g, blk, in), 192, 1, 1, 1, 0, 0);
    return join(g, blk, b, 4);
}

/* InceptionD (17x17 -> 8x8): 320 + 192 + the input's channels. */
static int inception_d(soap_graph *g, const soap_model_options *opt, const char *blk,
                       int in)
{
    int b[3];
    int x = bconv(g, opt, blk, "branch3x3_1", in, 192, 1, 1, 1, 0, 0);
    b[0] = bconv(g, opt, blk, "branch3x3_2", x, 320, 3, 3, 2, 0, 0);
    x = bconv(g, opt, blk, "branch7x7x3_1", in, 192, 1, 1, 1, 0, 0);
    x = bconv(g, opt, blk, "branch7x7x3_2", x, 192, 1, 7, 1, 0, 3);
    x = bconv(g, opt, blk, "branch7x7x3_3", x, 192, 7, 1, 1, 3, 0);
    b[1] = bconv(g, opt, blk, "branch7x7x3_4", x, 192, 3, 3, 2, 0, 0);
    b[2] = max3s2(g, blk, in);
    return join(g, blk, b, 3);
}

/* InceptionE (8x8): 320 + (384 + 384) + (384 + 384) + 192 = 2048 channels. */
static int inception_e(soap_graph *g, const soap_model_options *opt, const char *blk,
                       int in)
{
    int b[6];
    b[0] = bconv(g, opt, blk, "branch1x1", in, 320, 1, 1, 1, 0, 0);
    int x = bconv(g, opt, blk, "branch3x3_1", in, 384, 1, 1, 1, 0, 0);
    b[1] = bconv(g, opt, blk, "branch3x3_2a", x, 384, 1, 3, 1, 0, 1);
    b[2] = bconv(g, opt, blk, "branch3x3_2b", x, 384, 3, 1, 1, 1, 0);
    x = bconv(g, opt, blk, "branch3x3dbl_1", in, 448, 1, 1, 1, 0, 0);
    x = bconv(g, opt, blk, "branch3x3dbl_2", x, 384, 3, 3, 1, 1, 1);
    b[3] = bconv(g, opt, blk, "branch3x3dbl_3a", x, 384, 1, 3, 1, 0, 1);
    b[4] = bconv(g, opt, blk, "branch3x3dbl_3b", x, 384, 3, 1, 1, 1, 0);
    b[5] = bconv(g, opt, blk, "branch_pool", avg3(g, blk, in), 192, 1, 1, 1, 0, 0);
    return join(g, blk, b, 6);
}

soap_graph *soap_model_build_inception_v3(const soap_model_options *opt)
{
    const int64_t n = soap_model_batch(opt);
    const int tiny = soap_model_tiny(opt);
    const int64_t side = tiny ? 75 : 299;
    soap_graph *g = soap_graph_new("inception_v3", n);
    const int64_t image[4] = {n, 3, side, side};
    int x = soap_add_input(g, "data", 4, image, NULL, 0);
    x = basic(g, opt, "Conv2d_1a_3x3", x, 32, 3, 3, 2, 0, 0); /* 149x149 */
    x = basic(g, opt, "Conv2d_2a_3x3", x, 32, 3, 3, 1, 0, 0); /* 147x147 */
    x = basic(g, opt, "Conv2d_2b_3x3", x, 64, 3, 3, 1, 1, 1);
    x = soap_add_pool2d(g, "maxpool1", x, SOAP_POOL_MAX, 3, 3, 2, 2, 0, 0); /* 73x73 */
    x = basic(g, opt, "Conv2d_3b_1x1", x, 80, 1, 1, 1, 0, 0);
    x = basic(g, opt, "Conv2d_4a_3x3", x, 192, 3, 3, 1, 0, 0); /* 71x71 */
    x = soap_add_pool2d(g, "maxpool2", x, SOAP_POOL_MAX, 3, 3, 2, 2, 0, 0); /* 35x35 */
    x = inception_a(g, opt, "Mixed_5b", x, 32);  /* 256 channels */
    x = inception_a(g, opt, "Mixed_5c", x, 64);  /* 288 */
    x = inception_a(g, opt, "Mixed_5d", x, 64);  /* 288 */
    x = inception_b(g, opt, "Mixed_6a", x);      /* 768, 17x17 */
    x = inception_c(g, opt, "Mixed_6b", x, 128);
    x = inception_c(g, opt, "Mixed_6c", x, 160);
    x = inception_c(g, opt, "Mixed_6d", x, 160);
    x = inception_c(g, opt, "Mixed_6e", x, 192);
    x = inception_d(g, opt, "Mixed_7a", x);      /* 1280, 8x8 */
    x = inception_e(g, opt, "Mixed_7b", x);      /* 2048 */
    x = inception_e(g, opt, "Mixed_7c", x);
    /* Global: Mixed_7c's H x W (8x8; tiny 1x1). */
    const int hw = (int)g->ops[x].out.size[2];
    x = soap_add_pool2d(g, "avgpool", x, SOAP_POOL_AVG, hw, hw, 1, 1, 0, 0);
    x = soap_add_flatten(g, "flatten", x);
    x = soap_add_linear(g, "fc", x, tiny ? 10 : 1000, 1, -1);
    soap_add_softmax_ce(g, "loss", x);
    return g;
}
