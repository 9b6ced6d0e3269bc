/* RoIAlign as the B operand of a GEMM: the pooled features are computed
 * panel by panel where the GEMM asks for them, so they go from the map
 * straight into cache-resident panels and never exist whole. */
#ifndef CT_KERNELS_ROI_PANELS_H
#define CT_KERNELS_ROI_PANELS_H

#include "gemm.h"
#include "roi_align.h"

/* B [K, n] with K = c * out_h * out_w (every RoI has the same c, out_h,
 * out_w): column j is RoI j's pooled features in bin-major order,
 * B[bin * c + channel][j], bins row-major over out_h x out_w. The values
 * are ct_roi_align's, bit for bit; rois must outlive the GEMM. */
ct_gemm_b ct_roi_panels(const ct_roi *rois, int n);

#endif
