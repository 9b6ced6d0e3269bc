/* The mask head's ConvTranspose2d(kernel 2, stride 2, padding 0) with bias
 * and optional ReLU: one GEMM [cout*4, cin] x [cin, h*w] into a buffer, then
 * a scatter of each (o, u, v) row to pixels (2i+u, 2j+v) of channel o. Also
 * its naive twin. */
#include <stdlib.h>

#include "conv.h"
#include "gemm.h"

static float bias_relu(float v, const float *bias, int o, int relu) {
    if (bias) v += bias[o];
    return relu && v < 0.0f ? 0.0f : v;
}

void ct_deconv2x2(const float *x, int cin, int h, int w, const float *weight,
                  const float *bias, int cout, int relu, float *y) {
    if (cout <= 0 || h <= 0 || w <= 0) return;
    size_t hw = (size_t)h * w;
    float *sums = malloc((size_t)cout * 4 * hw * sizeof *sums);   /* [cout*4, h*w] */
    if (!sums) {
        ct_deconv2x2_naive(x, cin, h, w, weight, bias, cout, relu, y);
        return;
    }
    /* Row r = o*4 + u*2 + v of A is weight[:, o, u, v]: element (r, c) sits at
     * weight[c*cout*4 + r], so A is the transposed view of weight. */
    ct_gemm(cout * 4, (int)hw, cin, weight, 1, (ptrdiff_t)cout * 4, x, (ptrdiff_t)hw, 1, sums,
            (ptrdiff_t)hw, NULL);
    for (int o = 0; o < cout; o++)
        for (int uv = 0; uv < 4; uv++) {
            const float *t = sums + ((size_t)o * 4 + uv) * hw;   /* [h,w] */
            float *yo = y + (size_t)o * 4 * hw;                   /* [2h,2w] */
            int u = uv >> 1, v = uv & 1;
            for (int i = 0; i < h; i++)
                for (int j = 0; j < w; j++)
                    yo[(size_t)(2 * i + u) * 2 * w + 2 * j + v] = bias_relu(t[(size_t)i * w + j], bias, o, relu);
        }
    free(sums);
}

void ct_deconv2x2_naive(const float *x, int cin, int h, int w, const float *weight,
                        const float *bias, int cout, int relu, float *y) {
    for (int o = 0; o < cout; o++)
        for (int oy = 0; oy < 2 * h; oy++)
            for (int ox = 0; ox < 2 * w; ox++) {
                int i = oy / 2, u = oy % 2, j = ox / 2, v = ox % 2;
                float s = 0.0f;
                for (int c = 0; c < cin; c++)
                    s += x[((size_t)c * h + i) * w + j] * weight[(((size_t)c * cout + o) * 2 + u) * 2 + v];
                y[((size_t)o * 2 * h + oy) * 2 * w + ox] = bias_relu(s, bias, o, relu);
            }
}
