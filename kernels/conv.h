/* 2-D convolution (im2col + GEMM), max pooling, nearest upsampling and the
 * 2x2 stride-2 transposed convolution of the mask head. Batch size is 1:
 * every feature map is [C,H,W], row-major. */
#ifndef CT_KERNELS_CONV_H
#define CT_KERNELS_CONV_H

#include <stddef.h>

typedef struct {
    int cin, h, w;          /* input  [cin,h,w] */
    int cout, kh, kw;       /* weight [cout,cin,kh,kw] */
    int stride, pad;        /* same in both directions; zero padding */
} ct_conv_params;

/* Output size of one spatial dimension: (in + 2*pad - k) / stride + 1. */
int ct_conv_out_size(int in, int k, int stride, int pad);

/* Scratch floats ct_conv2d needs for p (0 for 1x1 stride-1 unpadded convs;
 * otherwise at most cin*kh*kw*512: the patches are unrolled in chunks). */
size_t ct_conv2d_scratch_floats(const ct_conv_params *p);

/* y[cout,ho,wo] = relu?( conv(x, weight) + bias[cout] + residual[cout,ho,wo] ).
 * bias and residual may be NULL; residual may equal y; y must not overlap x.
 * scratch holds ct_conv2d_scratch_floats(p) floats. */
void ct_conv2d(const ct_conv_params *p, const float *x, const float *weight,
               const float *bias, const float *residual, int relu,
               float *y, float *scratch);

/* Reference twin: direct seven-loop convolution, same contract, no scratch. */
void ct_conv2d_naive(const ct_conv_params *p, const float *x, const float *weight,
                     const float *bias, const float *residual, int relu, float *y);

/* Max pooling with implicit -inf padding (PyTorch MaxPool2d, floor mode):
 * x [c,h,w] -> y [c,ho,wo], ho = (h + 2*pad - k)/stride + 1. */
void ct_maxpool2d(const float *x, int c, int h, int w, int k, int stride, int pad, float *y);

/* dst[c,hd,wd] += nearest_upsample(src[c,hs,ws]) with PyTorch's 'nearest'
 * rule for an output size: source index = floor(dst_index * (in/out as float)),
 * clamped to in-1. */
void ct_upsample_nearest_add(const float *src, int c, int hs, int ws, float *dst, int hd, int wd);

/* ConvTranspose2d(kernel 2, stride 2, padding 0) with bias, then optional ReLU:
 * x [cin,h,w], weight [cin,cout,2,2] -> y [cout,2h,2w], where
 * y[o,2i+u,2j+v] = bias[o] + sum_c x[c,i,j] * weight[c,o,u,v] (sum first).
 * bias may be NULL; y must not overlap x. ct_deconv2x2 computes the sums as
 * one GEMM into a [cout*4, h*w] buffer allocated per call (if that fails,
 * the naive twin computes the result) and scatters it into y. */
void ct_deconv2x2(const float *x, int cin, int h, int w, const float *weight,
                  const float *bias, int cout, int relu, float *y);
void ct_deconv2x2_naive(const float *x, int cin, int h, int w, const float *weight,
                        const float *bias, int cout, int relu, float *y);

#endif
