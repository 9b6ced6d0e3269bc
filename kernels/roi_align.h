/* RoIAlign as torchvision's roi_align with aligned=False (spec §7.1). */
#ifndef CT_KERNELS_ROI_ALIGN_H
#define CT_KERNELS_ROI_ALIGN_H

#include "threadpool.h"

/* feat [c,h,w] -> feat_hwc [h,w,c], the layout ct_roi_align reads; blocks
 * of pixels are split over the pool's threads (pool may be NULL). */
void ct_roi_align_hwc(ct_pool *pool, const float *feat, int c, int h, int w, float *feat_hwc);

/* Where a RoI's bins and their samples lie on its map. */
typedef struct {
    float x1, y1, bin_w, bin_h;   /* map coordinates: the RoI's corner, a bin's size */
    float count;                  /* samples per bin */
    int grid_h, grid_w;           /* samples per bin side */
} ct_roi_geometry;

/* A RoI ready to be pooled bin by bin. */
typedef struct {
    const float *feat;            /* its map [h,w,c] */
    int c, h, w, out_h, out_w;
    ct_roi_geometry g;
} ct_roi;

/* box (x1,y1,x2,y2) in image coordinates on the map feat_hwc [h,w,c];
 * sampling_ratio as for ct_roi_align. */
void ct_roi_prepare(const float *feat_hwc, int c, int h, int w, const float box[4], float spatial_scale,
                    int out_h, int out_w, int sampling_ratio, ct_roi *roi);
/* out[k], k < cn: the RoI's average of channel c0 + k over bin `bin`
 * (row-major over out_h x out_w); bit-exact with ct_roi_align. */
void ct_roi_pool_bin(const ct_roi *roi, int bin, int c0, int cn, float *out);
/* Every bin: out [c, out_h, out_w]. */
void ct_roi_align_one(const ct_roi *roi, float *out);

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
