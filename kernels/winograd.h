/* 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3)
 * (Lavin & Gray 2016): each 2x2 output tile comes from its 4x4 input tile
 * with 16 multiplies per input/output channel pair instead of 36:
 *     Y = A^T [ (G g G^T) (.) (B^T d B) ] A,
 * the element-wise products summed over input channels as 16 GEMMs
 * [cout, cin] x [cin, tiles]. The transforms use only 0, +-1 and +-1/2, so
 * results match a direct convolution to a few float roundings (not bit for
 * bit). */
#ifndef CT_KERNELS_WINOGRAD_H
#define CT_KERNELS_WINOGRAD_H

#include <stddef.h>

#include "conv.h"

/* Whether this kernel runs p: 3x3, stride 1, padding 1. */
int ct_winograd_fits(const ct_conv_params *p);

/* The weights as ct_winograd_conv takes them: the 16 matrices (G g G^T)[xi]
 * of [cout, cin] (g times scale[o] when scale is not NULL, BatchNorm
 * folding), each in ct_gemm_pack_a's layout. weight [cout,cin,3,3]. */
size_t ct_winograd_packed_floats(int cin, int cout);
void ct_winograd_pack_weight(int cin, int cout, const float *weight, const float *scale, float *dst);

/* Floats of per-thread workspace a layer needs (ct_gemm_ctx_reserve). */
size_t ct_winograd_workspace_floats(int cin, int cout);

/* ct_conv2d's contract for a p that ct_winograd_fits, with the weights
 * ct_winograd_pack_weight made; the context's workspaces must have been
 * reserved for (cin, cout). Blocks of tiles are split over the threads;
 * each output's arithmetic does not depend on the split. */
void ct_winograd_conv(const ct_gemm_ctx *ctx, const ct_conv_params *p, const float *x, const float *packed,
                      const float *bias, const float *residual, int relu, float *y);

#endif
