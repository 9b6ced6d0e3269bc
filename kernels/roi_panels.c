/* The RoIAlign B provider (roi_panels.h). A panel's rows [k0, k0+kc) are
 * runs of channels of one bin; each run is pooled RoI by RoI into a local
 * [RoI][channel] block (in L1) and transposed into the panel by the
 * matrix provider. */
#include "roi_panels.h"

enum {
    NR = CT_GEMM_NR,
    RUN_CHANNELS = 256   /* channels pooled per bin at once: the local block is NR x 256 floats (24 KB) */
};

static int min_int(int a, int b) { return a < b ? a : b; }

static const float *roi_panels(const ct_gemm_b *b, int k0, int kc, int n0, int nc, float *buf,
                               ptrdiff_t *panel_stride) {
    const ct_roi *rois = b->ctx;
    int c = rois[0].c;
    _Alignas(64) float local[NR * RUN_CHANNELS];   /* [RoI][channel], RUN_CHANNELS apart */
    *panel_stride = (ptrdiff_t)kc * NR;
    for (int q = 0; q * NR < nc; q++) {
        const ct_roi *panel_rois = rois + n0 + q * NR;
        int cols = min_int(NR, nc - q * NR);
        for (int k = k0; k < k0 + kc;) {
            int bin = k / c, c0 = k % c, cn = min_int(min_int(c - c0, k0 + kc - k), RUN_CHANNELS);
            for (int j = 0; j < cols; j++) ct_roi_pool_bin(&panel_rois[j], bin, c0, cn, local + j * RUN_CHANNELS);
            ct_gemm_b run = ct_gemm_b_matrix(local, 1, RUN_CHANNELS, cols);
            ptrdiff_t run_stride;
            run.panels(&run, 0, cn, 0, cols, buf + q * *panel_stride + (ptrdiff_t)(k - k0) * NR, &run_stride);
            k += cn;
        }
    }
    return buf;
}

ct_gemm_b ct_roi_panels(const ct_roi *rois, int n) { return (ct_gemm_b){roi_panels, NULL, 0, 0, n, rois}; }
