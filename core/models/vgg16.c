/* vgg16.c: VGG-16 (Simonyan, Zisserman, "Very Deep Convolutional Networks
 * for Large-Scale Image Recognition", ICLR 2015; configuration D) as in
 * torchvision's vgg16 (no batchnorm), on 224x224 images.
 *
 * Five blocks of 3x3 convs, pad 1, with bias, each followed by relu:
 * 64 x2, 128 x2, 256 x3, 512 x3, 512 x3, each block ending in a 2x2/2
 * maxpool (224 -> 112 -> 56 -> 28 -> 14 -> 7); flatten (512*7*7 = 25088),
 * linear 4096 + relu, linear 4096 + relu, linear 1000, softmax_ce. Dropout
 * is left out (no op; it changes neither shapes nor parameters), and so is
 * torchvision's adaptive average pool, the identity at 224x224.
 * Published figures: 138,357,544 parameters; 15.47e9 multiply-adds per
 * sample (torchvision's "15.47 GFLOPS"; the paper's 15.5G).
 * Tiny (opt->tiny): the same layers on 32x32 images (pool5 1x1, so flatten
 * = the last conv's channels), convs 1/32 wide and at least 4 (4, 4, 4, 4,
 * 8 x3, 16 x6 channels), fc 128, 128 and 10 classes: 34,766 parameters,
 * 9.3e6 forward FLOP at batch 8.
 */
#include "models_internal.h"

soap_graph *soap_model_build_vgg16(const soap_model_options *opt)
{
    /* Output channels of each conv; 0 closes a block with a maxpool. */
    static const int64_t layers[] = {64,  64,  0,   128, 128, 0,   256, 256, 256, 0,
                                     512, 512, 512, 0,   512, 512, 512, 0};
    const int64_t n = soap_model_batch(opt);
    const int tiny = soap_model_tiny(opt);
    const int64_t side = tiny ? 32 : 224, hidden = tiny ? 128 : 4096;
    soap_graph *g = soap_graph_new("vgg16", n);
    const int64_t image[4] = {n, 3, side, side};
    int x = soap_add_input(g, "data", 4, image, NULL, 0);
    char nm[SOAP_NAME_MAX];
    int block = 1, conv = 1;
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        if (layers[i] == 0) {
            x = soap_add_pool2d(g, soap_model_name(nm, "pool%d", block), x, SOAP_POOL_MAX, 2, 2,
                                2, 2, 0, 0);
            block++;
            conv = 1;
            continue;
        }
        int64_t c = soap_model_width(opt, layers[i], 32, 4);
        x = soap_add_conv2d(g, soap_model_name(nm, "conv%d_%d", block, conv), x, c, 3, 3, 1, 1,
                            1, 1, 1);
        x = soap_add_unary(g, soap_model_name(nm, "conv%d_%d.relu", block, conv), x,
                           SOAP_UNARY_RELU);
        conv++;
    }
    x = soap_add_flatten(g, "flatten", x);
    x = soap_add_linear(g, "fc6", x, hidden, 1, -1);
    x = soap_add_unary(g, "fc6.relu", x, SOAP_UNARY_RELU);
    x = soap_add_linear(g, "fc7", x, hidden, 1, -1);
    x = soap_add_unary(g, "fc7.relu", x, SOAP_UNARY_RELU);
    x = soap_add_linear(g, "fc8", x, tiny ? 10 : 1000, 1, -1);
    soap_add_softmax_ce(g, "loss", x);
    return g;
}
