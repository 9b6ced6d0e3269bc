/* Box decode and clip (torchvision's BoxCoder and clip_boxes_to_image) and
 * greedy NMS / batched NMS as torchvision 0.14's CPU code, with the same
 * float32 operations so that kept sets and their order match exactly. */
#include "boxes.h"

#include <math.h>

#include "sort.h"

void ct_box_decode(const float *ref, const float *deltas, int delta_stride, int n,
                   const float weights[4], float clip, float *out) {
    for (int i = 0; i < n; i++) {
        const float *r = ref + 4 * (size_t)i, *d = deltas + (size_t)i * delta_stride;
        float w = r[2] - r[0], h = r[3] - r[1];
        float cx = r[0] + 0.5f * w, cy = r[1] + 0.5f * h;
        float dx = d[0] / weights[0], dy = d[1] / weights[1];
        float dw = d[2] / weights[2], dh = d[3] / weights[3];
        if (dw > clip) dw = clip;   /* torch.clamp(max=): NaN stays NaN */
        if (dh > clip) dh = clip;
        float pcx = dx * w + cx, pcy = dy * h + cy;
        float pw = expf(dw) * w, ph = expf(dh) * h;
        float half_w = 0.5f * pw, half_h = 0.5f * ph;
        float *o = out + 4 * (size_t)i;
        o[0] = pcx - half_w;
        o[1] = pcy - half_h;
        o[2] = pcx + half_w;
        o[3] = pcy + half_h;
    }
}

/* torch.clamp(v, 0, hi): NaN stays NaN. */
static float clamp_coord(float v, float hi) {
    if (v < 0.0f) return 0.0f;
    return v > hi ? hi : v;
}

void ct_box_clip(float *boxes, int n, float width, float height) {
    for (size_t i = 0; i < 4 * (size_t)(n > 0 ? n : 0); i += 4) {
        boxes[i + 0] = clamp_coord(boxes[i + 0], width);
        boxes[i + 1] = clamp_coord(boxes[i + 1], height);
        boxes[i + 2] = clamp_coord(boxes[i + 2], width);
        boxes[i + 3] = clamp_coord(boxes[i + 3], height);
    }
}

/* std::max / std::min as the C++ kernel uses them (the first argument wins
 * unless the comparison says otherwise; matters only for NaN). */
static float std_max(float a, float b) { return a < b ? b : a; }
static float std_min(float a, float b) { return b < a ? b : a; }

static float box_area(const float *b) { return (b[2] - b[0]) * (b[3] - b[1]); }

/* IoU of boxes a and b exactly as torchvision's CPU NMS computes it. */
static float box_iou(const float *a, float area_a, const float *b) {
    float w = std_max(0.0f, std_min(a[2], b[2]) - std_max(a[0], b[0]));
    float h = std_max(0.0f, std_min(a[3], b[3]) - std_max(a[1], b[1]));
    float inter = w * h;
    return inter / (area_a + box_area(b) - inter);
}

/* Greedy suppression over order[0..m) (box indices by descending score):
 * appends the kept box indices to keep and returns their count. suppressed
 * is indexed by box index and must be 0 for every box in order. */
static int greedy_nms(const float *boxes /* [*,4] */, const int *order, int m, double iou_thresh,
                      int *suppressed, int *keep) {
    int kept = 0;
    for (int a = 0; a < m; a++) {
        int i = order[a];
        if (suppressed[i]) continue;
        keep[kept++] = i;
        const float *bi = boxes + 4 * (size_t)i;
        float area_i = box_area(bi);
        for (int b = a + 1; b < m; b++) {
            int j = order[b];
            const float *bj = boxes + 4 * (size_t)j;
            /* Boxes that do not overlap have IoU 0 (or NaN for two empty
             * ones): never above a threshold >= 0, so skip the division. */
            if (iou_thresh >= 0 && !(bj[0] < bi[2] && bi[0] < bj[2] && bj[1] < bi[3] && bi[1] < bj[3])) continue;
            if (!suppressed[j] && (double)box_iou(bi, area_i, bj) > iou_thresh) suppressed[j] = 1;
        }
    }
    return kept;
}

int ct_nms(const float *boxes, const float *scores, int n, double iou_thresh,
           int *keep, int *scratch) {
    if (n <= 0) return 0;
    int *order = scratch, *flags = scratch + n;
    ct_argsort_desc(scores, n, order, flags);
    for (int i = 0; i < n; i++) flags[i] = 0;
    return greedy_nms(boxes, order, n, iou_thresh, flags, keep);
}

size_t ct_batched_nms_scratch_bytes(int n) {
    size_t m = n > 0 ? (size_t)n : 0;
    return 4 * m * sizeof(float) + 4 * m * sizeof(int);
}

/* boxes.max() over all 4n coordinates; NaN if any is NaN, as in torch. */
static float max_coordinate(const float *boxes, int n) {
    float m = -INFINITY;
    for (size_t i = 0; i < 4 * (size_t)n; i++) {
        if (isnan(boxes[i])) return boxes[i];
        if (boxes[i] > m) m = boxes[i];
    }
    return m;
}

/* torchvision's _batched_nms_coordinate_trick: shift every box by
 * group * (max coordinate + 1) so that groups cannot overlap, then one NMS. */
static int batched_nms_offset(const float *boxes, const float *scores, const int *groups, int n,
                              double iou_thresh, int *keep, float *shifted /* [n,4] */, int *iscratch) {
    float step = max_coordinate(boxes, n) + 1.0f;
    for (int i = 0; i < n; i++) {
        float offset = (float)groups[i] * step;
        for (int k = 0; k < 4; k++) shifted[4 * (size_t)i + k] = boxes[4 * (size_t)i + k] + offset;
    }
    return ct_nms(shifted, scores, n, iou_thresh, keep, iscratch);
}

/* torchvision's _batched_nms_vanilla: NMS per group, then the kept indices
 * in ascending order sorted by descending score. (torchvision sorts that
 * last list with an unstable sort; here exact ties keep ascending index.) */
static int batched_nms_per_group(const float *boxes, const float *scores, const int *groups, int n,
                                 double iou_thresh, int *keep, float *fscratch, int *iscratch) {
    int *members = iscratch, *order = iscratch + n, *tmp = iscratch + 2 * (size_t)n;
    int *state = iscratch + 3 * (size_t)n;   /* 0 unvisited, 1 suppressed or done, 2 kept */
    for (int i = 0; i < n; i++) state[i] = 0;
    for (int first = 0; first < n; first++) {
        if (state[first]) continue;
        int m = 0;
        for (int i = first; i < n; i++)
            if (!state[i] && groups[i] == groups[first]) {
                members[m] = i;
                fscratch[m++] = scores[i];
                state[i] = 1;
            }
        ct_argsort_desc(fscratch, m, order, tmp);
        for (int a = 0; a < m; a++) order[a] = members[order[a]];
        for (int a = 0; a < m; a++) state[order[a]] = 0;
        int kept = greedy_nms(boxes, order, m, iou_thresh, state, tmp);
        for (int a = 0; a < m; a++) state[order[a]] = 1;
        for (int a = 0; a < kept; a++) state[tmp[a]] = 2;
    }
    int count = 0;
    for (int i = 0; i < n; i++)
        if (state[i] == 2) {
            members[count] = i;
            fscratch[count++] = scores[i];
        }
    ct_argsort_desc(fscratch, count, order, tmp);
    for (int a = 0; a < count; a++) keep[a] = members[order[a]];
    return count;
}

int ct_batched_nms(const float *boxes, const float *scores, const int *groups, int n,
                   double iou_thresh, int *keep, void *scratch) {
    if (n <= 0) return 0;
    float *fscratch = scratch;
    int *iscratch = (int *)(fscratch + 4 * (size_t)n);
    if (4 * (size_t)n <= 4000)
        return batched_nms_offset(boxes, scores, groups, n, iou_thresh, keep, fscratch, iscratch);
    return batched_nms_per_group(boxes, scores, groups, n, iou_thresh, keep, fscratch, iscratch);
}
