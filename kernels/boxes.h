/* Box arithmetic shared by the RPN and the RoI heads: decode with the
 * BoxCoder rule, clipping, and (batched) non-maximum suppression. Boxes are
 * (x1,y1,x2,y2) float32. */
#ifndef CT_KERNELS_BOXES_H
#define CT_KERNELS_BOXES_H

#include <stddef.h>

#include "threadpool.h"

/* BoxCoder.decode (spec §7.3): deltas [n,4] (dx,dy,dw,dh) against reference
 * boxes ref [n,4] -> out [n,4]; weights (wx,wy,ww,wh); dw, dh clamped from
 * above at clip. Deltas may be strided: delta i is at deltas + i*delta_stride. */
void ct_box_decode(const float *ref, const float *deltas, int delta_stride, int n,
                   const float weights[4], float clip, float *out);

/* Clamp x to [0,width] and y to [0,height], in place, n boxes. */
void ct_box_clip(float *boxes, int n, float width, float height);

/* Greedy NMS as torchvision 0.14's CPU kernel: order by descending score,
 * ties by ascending index (ct_argsort_desc; NaN scores, which torch sorts
 * first, are not handled like torch); suppress when IoU > iou_thresh (IoU in
 * float32, compared in double; zero-area boxes give NaN and are never
 * suppressed). Writes the kept indices, in that order, to keep
 * (room for n) and returns their count. scratch: ct_nms_scratch_bytes(n)
 * bytes, float-aligned. */
int ct_nms(const float *boxes, const float *scores, int n, double iou_thresh,
           int *keep, void *scratch);
size_t ct_nms_scratch_bytes(int n);
/* The reference twin, one pair at a time; scratch: room for 2n ints. */
int ct_nms_naive(const float *boxes, const float *scores, int n, double iou_thresh,
                 int *keep, void *scratch);

/* torchvision 0.14 batched_nms: NMS within each group (class or level).
 * Uses the coordinate-offset trick when n*4 <= 4000 (boxes shifted by
 * group * (max coordinate + 1) in float32) and a per-group loop otherwise,
 * exactly as torchvision chooses. Kept indices sorted by descending score,
 * ties by ascending index (in the per-group path torchvision's final sort is
 * unstable, so two kept boxes of exactly equal score may come out swapped
 * there). The per-group path runs the groups as tasks on pool (NULL: in
 * order on the caller). scratch: ct_batched_nms_scratch_bytes(n) bytes,
 * float-aligned. */
int ct_batched_nms(const float *boxes, const float *scores, const int *groups, int n,
                   double iou_thresh, int *keep, void *scratch, ct_pool *pool);
size_t ct_batched_nms_scratch_bytes(int n);

#endif
