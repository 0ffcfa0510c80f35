/* resnet.c: the bottleneck ResNets ResNet-50, -101 and -152 (He, Zhang, Ren,
 * Sun, "Deep Residual Learning for Image Recognition", CVPR 2016) as in
 * torchvision (v1.5: the stride of a downsampling bottleneck sits in its
 * 3x3 conv), on 224x224 images. They differ only in the blocks per stage:
 * [3, 4, 6, 3], [3, 4, 23, 3] and [3, 8, 36, 3].
 *
 * Stem: conv 64 7x7/2 pad 3 + bn + relu (112x112), maxpool 3/2 pad 1 (56).
 * Four stages of bottleneck blocks with widths 64, 128, 256, 512 (outputs
 * 4x wider); stages 2-4 halve H and W in their first block.
 * Block: 1x1 conv + bn + relu, 3x3 conv (stride) + bn + relu, 1x1 conv (4x
 * width) + bn, add the shortcut, relu. The shortcut is the block input, or
 * a projection (1x1 conv with the block's stride + bn) in the first block
 * of each stage. Convs have no bias (the batchnorm shifts). Head: global
 * average pool 7x7, flatten, linear 1000 with bias, softmax_ce.
 * Published figures (torchvision; batchnorm gamma and beta included,
 * running statistics are buffers; GFLOPS there count multiply-adds):
 *   resnet50   25,557,032 parameters,  4.09e9 multiply-adds per sample
 *   resnet101  44,549,160 parameters,  7.80e9
 *   resnet152  60,192,808 parameters, 11.51e9
 * Tiny (opt->tiny): the same blocks on 32x32 images (CIFAR size: stem
 * 16x16, maxpool 8, stages 8, 4, 2, 1, so the global average pool is 1x1),
 * stem 4 channels and stage widths 4, 8, 16, 32 (1/16; outputs 16 to 128),
 * fc 10 classes: resnet50 96,782 parameters (8.6e6 forward FLOP at batch
 * 8), resnet101 174,030 (about 0.76e6 multiply-adds per sample, 13.8e6
 * forward FLOP at batch 8), resnet152 237,838 (19.2e6).
 */
#include "models_internal.h"

/* conv (no bias) + batchnorm (+ relu when `relu` is non-NULL), named
 * "<prefix>.<conv>", "<prefix>.<bn>", "<prefix>.<relu>". */
static int conv_bn(soap_graph *g, const char *prefix, const char *conv, const char *bn,
                   const char *relu, int in, int64_t c, int k, int s, int pad)
{
    char nm[SOAP_NAME_MAX];
    int x = soap_add_conv2d(g, soap_model_name(nm, "%s%s", prefix, conv), in, c, k, k, s, s,
                            pad, pad, 0);
    x = soap_add_batchnorm(g, soap_model_name(nm, "%s%s", prefix, bn), x);
    if (relu)
        x = soap_add_unary(g, soap_model_name(nm, "%s%s", prefix, relu), x, SOAP_UNARY_RELU);
    return x;
}

/* One bottleneck block "layer<stage>.<block>"; `project`: the shortcut is a
 * 1x1 conv + bn (the first block of a stage). */
static int bottleneck(soap_graph *g, int stage, int block, int in, int64_t width, int stride,
                      int project)
{
    char p[SOAP_NAME_MAX], nm[SOAP_NAME_MAX];
    soap_model_name(p, "layer%d.%d.", stage, block);
    int x = conv_bn(g, p, "conv1", "bn1", "relu1", in, width, 1, 1, 0);
    x = conv_bn(g, p, "conv2", "bn2", "relu2", x, width, 3, stride, 1);
    x = conv_bn(g, p, "conv3", "bn3", NULL, x, 4 * width, 1, 1, 0);
    int shortcut = in;
    if (project)
        shortcut = conv_bn(g, p, "downsample.0", "downsample.1", NULL, in, 4 * width, 1,
                           stride, 0);
    x = soap_add_binary(g, soap_model_name(nm, "%sadd", p), x, shortcut, SOAP_BINARY_ADD);
    return soap_add_unary(g, soap_model_name(nm, "%srelu3", p), x, SOAP_UNARY_RELU);
}

/* The ResNet named `name` with blocks[s] bottlenecks in stage s. */
static soap_graph *build_resnet(const char *name, const int blocks[4],
                                const soap_model_options *opt)
{
    const int64_t n = soap_model_batch(opt);
    const int tiny = soap_model_tiny(opt);
    const int64_t side = tiny ? 32 : 224;
    soap_graph *g = soap_graph_new(name, n);
    const int64_t image[4] = {n, 3, side, side};
    int x = soap_add_input(g, "data", 4, image, NULL, 0);
    int64_t width = soap_model_width(opt, 64, 16, 4);
    x = conv_bn(g, "", "conv1", "bn1", "relu", x, width, 7, 2, 3);
    x = soap_add_pool2d(g, "maxpool", x, SOAP_POOL_MAX, 3, 3, 2, 2, 1, 1);
    for (int s = 0; s < 4; s++) {
        for (int b = 0; b < blocks[s]; b++) {
            int stride = (b == 0 && s > 0) ? 2 : 1;
            x = bottleneck(g, s + 1, b, x, width, stride, b == 0);
        }
        width *= 2;
    }
    /* Global: the last stage's H x W (7x7; tiny 1x1). */
    const int hw = (int)g->ops[x].out.size[2];
    x = soap_add_pool2d(g, "avgpool", x, SOAP_POOL_AVG, hw, hw, 1, 1, 0, 0);
    x = soap_add_flatten(g, "flatten", x);
    x = soap_add_linear(g, "fc", x, tiny ? 10 : 1000, 1, -1);
    soap_add_softmax_ce(g, "loss", x);
    return g;
}

soap_graph *soap_model_build_resnet50(const soap_model_options *opt)
{
    static const int blocks[4] = {3, 4, 6, 3};
    return build_resnet("resnet50", blocks, opt);
}

soap_graph *soap_model_build_resnet101(const soap_model_options *opt)
{
    static const int blocks[4] = {3, 4, 23, 3};
    return build_resnet("resnet101", blocks, opt);
}

soap_graph *soap_model_build_resnet152(const soap_model_options *opt)
{
    static const int blocks[4] = {3, 8, 36, 3};
    return build_resnet("resnet152", blocks, opt);
}
