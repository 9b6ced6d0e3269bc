/* RoIAlign as torchvision's roi_align with aligned=False (spec §7.1). */
#ifndef CT_KERNELS_ROI_ALIGN_H
#define CT_KERNELS_ROI_ALIGN_H

#include "threadpool.h"

/* feat [c,h,w] -> feat_hwc [h,w,c], the layout ct_roi_align reads. */
void ct_roi_align_hwc(const float *feat, int c, int h, int w, float *feat_hwc);

/* feat_hwc [h,w,c]; boxes [n,4] as (x1,y1,x2,y2) in image coordinates;
 * out [n,c,out_h,out_w]. sampling_ratio > 0 samples that many points per bin
 * side; <= 0 uses ceil(roi_size / out_size) as torchvision does, capped at 64.
 * Bit-exact with torchvision's CPU kernel. Samples at non-finite coordinates
 * count as outside the map; an empty map (h or w <= 0) gives zeros. RoIs
 * are split over the pool's threads (pool may be NULL). */
void ct_roi_align(ct_pool *pool, const float *feat_hwc, int c, int h, int w,
                  const float *boxes, int n, float spatial_scale,
                  int out_h, int out_w, int sampling_ratio, float *out);

/* The reference twin on the [c,h,w] map: one channel at a time. */
void ct_roi_align_naive(const float *feat, int c, int h, int w,
                        const float *boxes, int n, float spatial_scale,
                        int out_h, int out_w, int sampling_ratio, float *out);

#endif
