/* alexnet.c: AlexNet (Krizhevsky, Sutskever, Hinton, NIPS 2012), the
 * single-tower variant of torchvision (from Krizhevsky's "One weird trick",
 * 2014), on 224x224 ImageNet images.
 *
 * conv 64 11x11/4 pad 2 (55x55) -> maxpool 3/2 (27) -> conv 192 5x5 pad 2 ->
 * maxpool 3/2 (13) -> conv 384, 256, 256 3x3 pad 1 -> maxpool 3/2 (6) ->
 * flatten (256*6*6 = 9216) -> linear 4096 -> linear 4096 -> linear 1000 ->
 * softmax_ce; relu after every conv and the first two linears. Dropout is
 * left out (no op; it does not change shapes or parameters).
 * Published figures (torchvision): 61,100,840 parameters; 0.71 GFLOPS
 * (i.e. about 0.714e9 multiply-adds) per sample.
 * Tiny (opt->tiny): the same layers on 63x63 images, the smallest size that
 * still leaves pool5 one pixel (conv1 15x15, pool1 7, pool2 3, pool5 1, so
 * flatten = conv5's channels), convs 8, 24, 48, 32, 32 channels (1/8),
 * fc6/fc7 128 and fc8 10 classes: 63,282 parameters, about 1.21e6
 * multiply-adds per sample (19.5e6 forward FLOP at batch 8).
 */
#include "models_internal.h"

/* conv (with bias) + relu; returns the relu. */
static int conv_relu(soap_graph *g, const char *name, int in, int64_t c, int k, int s, int pad)
{
    char nm[SOAP_NAME_MAX];
    int x = soap_add_conv2d(g, name, in, c, k, k, s, s, pad, pad, 1);
    return soap_add_unary(g, soap_model_name(nm, "%s.relu", name), x, SOAP_UNARY_RELU);
}

soap_graph *soap_model_build_alexnet(const soap_model_options *opt)
{
    const int64_t n = soap_model_batch(opt);
    const int tiny = soap_model_tiny(opt);
    const int64_t side = tiny ? 63 : 224, hidden = tiny ? 128 : 4096;
#define C(c) soap_model_width(opt, c, 8, 4)
    soap_graph *g = soap_graph_new("alexnet", n);
    const int64_t image[4] = {n, 3, side, side};
    int x = soap_add_input(g, "data", 4, image, NULL, 0);
    x = conv_relu(g, "conv1", x, C(64), 11, 4, 2);
    x = soap_add_pool2d(g, "pool1", x, SOAP_POOL_MAX, 3, 3, 2, 2, 0, 0);
    x = conv_relu(g, "conv2", x, C(192), 5, 1, 2);
    x = soap_add_pool2d(g, "pool2", x, SOAP_POOL_MAX, 3, 3, 2, 2, 0, 0);
    x = conv_relu(g, "conv3", x, C(384), 3, 1, 1);
    x = conv_relu(g, "conv4", x, C(256), 3, 1, 1);
    x = conv_relu(g, "conv5", x, C(256), 3, 1, 1);
#undef C
    x = soap_add_pool2d(g, "pool5", x, SOAP_POOL_MAX, 3, 3, 2, 2, 0, 0);
    x = soap_add_flatten(g, "flatten", x);
    x = soap_add_linear(g, "fc6", x, hidden, 1, -1);
    x = soap_add_unary(g, "fc6.relu", x, SOAP_UNARY_RELU);
    x = soap_add_linear(g, "fc7", x, hidden, 1, -1);
    x = soap_add_unary(g, "fc7.relu", x, SOAP_UNARY_RELU);
    x = soap_add_linear(g, "fc8", x, tiny ? 10 : 1000, 1, -1);
    soap_add_softmax_ce(g, "loss", x);
    return g;
}
