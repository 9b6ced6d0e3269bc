/* 2-D convolution (GEMM with the patches unrolled straight into B's panels),
 * max pooling, nearest upsampling and the mask predictor's 2x2 stride-2
 * transposed convolution. Feature maps are [C,H,W] row-major; a convolution
 * over a batch of images writes [C, batch, H, W] (channel-major, which is
 * what the next GEMM reads). */
#ifndef CT_KERNELS_CONV_H
#define CT_KERNELS_CONV_H

#include <stddef.h>

#include "gemm.h"

typedef struct {
    int cin, h, w;          /* one input image [cin,h,w] */
    int cout, kh, kw;       /* weight [cout,cin,kh,kw] */
    int stride, pad;        /* same in both directions; zero padding */
    int batch;              /* images: x [batch,cin,h,w] -> y [cout,batch,ho,wo] */
    int channel_major;      /* x is [cin,batch,h,w] instead (a batched conv's own output) */
} ct_conv_params;

/* Output size of one spatial dimension: (in + 2*pad - k) / stride + 1, or 0
 * when the parameters are invalid or the kernel exceeds the padded input. */
int ct_conv_out_size(int in, int k, int stride, int pad);

/* The weights as ct_conv2d takes them: ct_gemm_pack_a of the
 * [cout, cin*kh*kw] matrix, each output row times scale[o] when scale is
 * not NULL (BatchNorm folding). */
size_t ct_conv_packed_floats(const ct_conv_params *p);
void ct_conv_pack_weight(const ct_conv_params *p, const float *weight, const float *scale, float *dst);

/* y = relu?( conv(x, weight) + bias[cout] + residual ) for every image.
 * bias and residual ([cout,batch,ho,wo]) may be NULL; y must not overlap x
 * or the residual. Threads and packing buffers come from ctx; nothing is
 * allocated. */
void ct_conv2d(const ct_gemm_ctx *ctx, const ct_conv_params *p, const float *x, const float *packed,
               const float *bias, const float *residual, int relu, float *y);

/* Reference twin: the direct seven-loop convolution on the plain weights,
 * taps summed in (c, ky, kx) order, then bias, residual, ReLU. */
void ct_conv2d_naive(const ct_conv_params *p, const float *x, const float *weight,
                     const float *bias, const float *residual, int relu, float *y);

/* Max pooling with implicit -inf padding (PyTorch MaxPool2d, floor mode):
 * x [c,h,w] -> y [c,ho,wo], ho = (h + 2*pad - k)/stride + 1. Channels are
 * split over the pool's threads (pool may be NULL). */
void ct_maxpool2d(ct_pool *pool, const float *x, int c, int h, int w, int k, int stride, int pad, float *y);

/* dst[c,hd,wd] += nearest_upsample(src[c,hs,ws]) with PyTorch's 'nearest'
 * rule for an output size: source index = floor(dst_index * (in/out as float)),
 * clamped to in-1. */
void ct_upsample_nearest_add(const float *src, int c, int hs, int ws, float *dst, int hd, int wd);

/* ---- the mask predictor: ConvTranspose2d 2x2/2 + ReLU, then a 1x1 conv --- */

/* For `batch` images of h x w with cin channels (x [cin, batch, h, w]):
 *   up[o,2i+u,2j+v] = relu?( bias[o] + sum_c x[c,b,i,j] * weight[c,o,u,v] )   (sum first)
 *   out[b,y,x]      = sum_o w1[channel[b],o] * up[o,y,x] + b1[channel[b]]      (ascending o)
 * i.e. ConvTranspose2d(cin -> cmid, kernel 2, stride 2) with bias and ReLU,
 * then the 1x1 conv w1 [n_c,cmid] + b1 [n_c], of which only channel[b] is
 * computed for image b; out [batch, 2h, 2w]. The transposed convolution is
 * a GEMM [cmid*4, cin] x [cin, pixels] per chunk of pixels, into the
 * thread's workspace of ctx (reserve ct_deconv_workspace_floats floats
 * with ct_gemm_ctx_reserve) where the 1x1 conv reads it. */
size_t ct_deconv_packed_floats(int cin, int cmid);
/* weight [cin,cmid,2,2], bias [cmid] -> dst (packed weights, then the bias
 * repeated per output phase). */
void ct_deconv_pack(int cin, int cmid, const float *weight, const float *bias, float *dst);
size_t ct_deconv_workspace_floats(int cmid);
void ct_deconv_1x1(const ct_gemm_ctx *ctx, const float *x, int cin, int batch, int h, int w,
                   const float *packed, int cmid, int relu, const float *w1, const float *b1,
                   const int *channel, float *out);

/* Reference twins. ct_deconv2x2_naive: x [cin,h,w], weight [cin,cout,2,2]
 * -> y [cout,2h,2w] as above (bias may be NULL). ct_deconv_1x1_naive: the
 * chain above image by image from the naive transposed and 1x1 convs. */
void ct_deconv2x2_naive(const float *x, int cin, int h, int w, const float *weight,
                        const float *bias, int cout, int relu, float *y);
void ct_deconv_1x1_naive(const float *x, int cin, int batch, int h, int w, const float *weight,
                         const float *bias, int cmid, int relu, const float *w1, const float *b1,
                         const int *channel, float *out);

#endif
