/* lenet.c: LeNet (the Caffe "lenet" variant of LeCun et al., 1998, as used in
 * the MNIST examples of Caffe and PyTorch), a tiny CNN for exhaustive-search
 * experiments.
 *
 * [N,1,28,28] -> conv 20 5x5 -> maxpool 2 -> conv 50 5x5 -> maxpool 2 ->
 * flatten (800) -> linear 500 -> relu -> linear 10 -> softmax_ce.
 * Published figures: 431,080 parameters (conv1 520, conv2 25,050, ip1
 * 400,500, ip2 5,010); about 2.3e6 multiply-adds per 28x28 sample.
 * Tiny (opt->tiny): the same layers on the same 28x28 images with conv1 4,
 * conv2 8 and ip1 64 channels: 9,818 parameters, 117,632 multiply-adds per
 * sample.
 */
#include "models_internal.h"

soap_graph *soap_model_build_lenet(const soap_model_options *opt)
{
    const int64_t n = soap_model_batch(opt);
    const int tiny = soap_model_tiny(opt);
    soap_graph *g = soap_graph_new("lenet", n);
    const int64_t image[4] = {n, 1, 28, 28};
    int x = soap_add_input(g, "data", 4, image, NULL, 0);
    x = soap_add_conv2d(g, "conv1", x, tiny ? 4 : 20, 5, 5, 1, 1, 0, 0, 1); /* 24x24 */
    x = soap_add_pool2d(g, "pool1", x, SOAP_POOL_MAX, 2, 2, 2, 2, 0, 0); /* 12x12 */
    x = soap_add_conv2d(g, "conv2", x, tiny ? 8 : 50, 5, 5, 1, 1, 0, 0, 1); /* 8x8 */
    x = soap_add_pool2d(g, "pool2", x, SOAP_POOL_MAX, 2, 2, 2, 2, 0, 0); /* 4x4 */
    x = soap_add_flatten(g, "flatten", x);
    x = soap_add_linear(g, "ip1", x, tiny ? 64 : 500, 1, -1);
    x = soap_add_unary(g, "relu1", x, SOAP_UNARY_RELU);
    x = soap_add_linear(g, "ip2", x, 10, 1, -1);
    soap_add_softmax_ce(g, "loss", x);
    return g;
}
