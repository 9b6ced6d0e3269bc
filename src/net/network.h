/* The prepared network: every layer's weights in the form the kernels use
 * (BatchNorm folded into the preceding convolution, float16 widened, packed
 * into GEMM panels, layers that read the same input merged), built once at
 * load from the model file and never changed afterwards. */
#ifndef CT_NET_NETWORK_H
#define CT_NET_NETWORK_H

#include "model/format.h"

/* A convolution with its (folded) bias. */
typedef struct {
    int cin, cout, kh, kw, stride, pad;
    int winograd;          /* 3x3 stride 1: run by ct_winograd_conv, packed for it */
    const float *packed;   /* weight [cout,cin,kh,kw] as ct_conv_pack_weight (or
                              ct_winograd_pack_weight) packs it */
    const float *bias;     /* [cout], or NULL */
} ct_conv_layer;

/* A fully connected layer y = x W^T + b, run transposed: y^T = W x^T, so the
 * weights are the GEMM's packed A and the activations its B. */
typedef struct {
    int in, out;
    const float *packed;   /* W [out,in] as ct_gemm_pack_a packs it */
    const float *bias;     /* [out] */
} ct_linear_layer;

/* A residual block: BasicBlock (conv1, conv2) or Bottleneck (conv1..3),
 * with an optional downsample convolution on the identity path. */
typedef struct {
    ct_conv_layer conv[3];
    int num_convs;         /* 2 basic, 3 bottleneck */
    ct_conv_layer downsample;
    int has_downsample;
} ct_block;

#define CT_MAX_LEVELS 4
#define CT_BOX_POOL_SIZE 7     /* RoIAlign bins per side for the box head */
#define CT_MAX_BLOCKS 6
#define CT_MAX_MASK_CONVS 4

typedef struct {
    ctm_config cfg;

    /* Backbone: stem conv1+bn1 (ReLU, 3x3/2 max-pool follow) and the kept layers. */
    ct_conv_layer stem;
    int num_layers;                             /* layers kept: 4 - truncation, or 4 */
    int num_blocks[4];
    ct_block blocks[4][CT_MAX_BLOCKS];
    int layer_channels[4];                      /* output channels of layer1..4 */

    /* FPN over the last num_levels kept layers (1 lightweight, 4 resnet50). */
    int num_levels;
    ct_conv_layer fpn_inner[CT_MAX_LEVELS];     /* 1x1 laterals */
    ct_conv_layer fpn_layer[CT_MAX_LEVELS];     /* 3x3 outputs */

    /* RPN head, shared by the levels. */
    int num_anchors;                            /* A per location: sizes x ratios */
    ct_conv_layer rpn_conv;
    ct_conv_layer rpn_out;                      /* 1x1: cls_logits (A rows), then bbox_pred (4A) */

    /* Box branch. fc6's input is taken bin-major, [bins][channels] (the
     * order ct_roi_panels pools in), not PyTorch's [channels][bins]. */
    ct_linear_layer fc6, fc7;
    ct_linear_layer predictor;                  /* cls_score (n_c rows), then bbox_pred (4 n_c) */

    /* Mask branch (segmentation only). */
    int num_mask_convs;
    ct_conv_layer mask_conv[CT_MAX_MASK_CONVS];
    int deconv_cin, deconv_cout;
    const float *deconv_packed;                 /* conv5_mask as ct_deconv_pack packs it */
    const float *mask_logits_weight;            /* [n_c, deconv_cout]: the 1x1 mask_fcn_logits */
    const float *mask_logits_bias;              /* [n_c] */

    /* Classifier S module (classification only). */
    ct_linear_layer s_fc1, s_fc2, s_fc3;
} ct_network;

#endif
