/* Box decode and clip (torchvision's BoxCoder and clip_boxes_to_image) and
 * greedy NMS / batched NMS as torchvision 0.14's CPU code, with the same
 * float32 operations so that kept sets and their order match exactly. */
#include "boxes.h"

#include <math.h>

#include "simd.h"
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

/* Greedy suppression over order[0..m) (box indices by descending score),
 * the reference twin: box by box, as torchvision's loop. Appends the kept
 * box indices to keep and returns their count. suppressed is indexed by box
 * index and must be 0 for every box in order. */
static int greedy_nms_naive(const float *boxes /* [*,4] */, const int *order, int m, double iou_thresh,
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
            if (!suppressed[j] && (double)box_iou(bi, area_i, boxes + 4 * (size_t)j) > iou_thresh) suppressed[j] = 1;
        }
    }
    return kept;
}

/* The sorted boxes as columns, for the vector loop below. */
typedef struct {
    float *x1, *y1, *x2, *y2, *area;   /* [m] each, in score order */
} sorted_boxes;

/* The largest float <= t: for a float x, x > t exactly when x > it. */
static float float_below(double t) {
    float f = (float)t;
    return (double)f > t ? nextafterf(f, -INFINITY) : f;
}

static ct_vec4 splat4(float v) { return (ct_vec4){v, v, v, v}; }

/* std_max / std_min lane by lane. */
static ct_vec4 vmax4(ct_vec4 a, ct_vec4 b) { return ct_select4(a < b, b, a); }
static ct_vec4 vmin4(ct_vec4 a, ct_vec4 b) { return ct_select4(b < a, b, a); }

/* flags[b] = 1 for b in [a+1, m) whose IoU with box a is above thresh (a
 * float, see float_below): box_iou's operations four boxes at a time. With
 * no intersection the IoU is 0 or NaN, never above thresh >= 0: such
 * quadruples skip the division. */
static void suppress_after(const sorted_boxes *s, int a, int m, float thresh, int *flags) {
    ct_vec4 ax1 = splat4(s->x1[a]), ay1 = splat4(s->y1[a]), ax2 = splat4(s->x2[a]), ay2 = splat4(s->y2[a]);
    ct_vec4 area_a = splat4(s->area[a]), zero = splat4(0.0f), t = splat4(thresh);
    int b = a + 1, nonnegative = thresh >= 0.0f;
    for (; b + 4 <= m; b += 4) {
        ct_vec4 w = vmax4(zero, vmin4(ax2, ct_load4(s->x2 + b)) - vmax4(ax1, ct_load4(s->x1 + b)));
        ct_vec4 h = vmax4(zero, vmin4(ay2, ct_load4(s->y2 + b)) - vmax4(ay1, ct_load4(s->y1 + b)));
        ct_vec4 inter = w * h;
        ct_ivec4 overlap = inter != zero;
        unsigned long long halves[2];
        __builtin_memcpy(halves, &overlap, sizeof halves);
        if (nonnegative && !(halves[0] | halves[1])) continue;   /* IoU 0 or NaN */
        ct_ivec4 above = inter / (area_a + ct_load4(s->area + b) - inter) > t, f;
        __builtin_memcpy(&f, flags + b, sizeof f);
        f |= above & 1;
        __builtin_memcpy(flags + b, &f, sizeof f);
    }
    const float box_a[4] = {s->x1[a], s->y1[a], s->x2[a], s->y2[a]};
    for (; b < m; b++) {
        const float box_b[4] = {s->x1[b], s->y1[b], s->x2[b], s->y2[b]};
        flags[b] |= box_iou(box_a, s->area[a], box_b) > thresh;
    }
}

/* Floats of greedy_nms's work area for m boxes: their columns, then m ints
 * of flags. */
static size_t greedy_work_floats(int m) { return 6 * (size_t)(m > 0 ? m : 0); }

/* greedy_nms_naive's result: the boxes gathered in score order into
 * columns, each kept box suppressing the later ones four at a time. work:
 * greedy_work_floats(m) floats. */
static int greedy_nms(const float *boxes, const int *order, int m, double iou_thresh, float *work, int *keep) {
    sorted_boxes s = {work, work + m, work + 2 * (size_t)m, work + 3 * (size_t)m, work + 4 * (size_t)m};
    int *flags = (int *)(work + 5 * (size_t)m);   /* [m] suppressed */
    for (int a = 0; a < m; a++) {
        const float *b = boxes + 4 * (size_t)order[a];
        s.x1[a] = b[0], s.y1[a] = b[1], s.x2[a] = b[2], s.y2[a] = b[3], s.area[a] = box_area(b);
        flags[a] = 0;
    }
    float thresh = float_below(iou_thresh);
    int kept = 0;
    for (int a = 0; a < m; a++) {
        if (flags[a]) continue;
        keep[kept++] = order[a];
        suppress_after(&s, a, m, thresh, flags);
    }
    return kept;
}

/* greedy_nms's work area, then the order. */
size_t ct_nms_scratch_bytes(int n) {
    return greedy_work_floats(n) * sizeof(float) + (size_t)(n > 0 ? n : 0) * sizeof(int);
}

int ct_nms(const float *boxes, const float *scores, int n, double iou_thresh, int *keep, void *scratch) {
    if (n <= 0) return 0;
    float *work = scratch;
    int *order = (int *)(work + greedy_work_floats(n));
    ct_argsort_desc(scores, n, order, (int *)work);   /* the work area as the sort's scratch */
    return greedy_nms(boxes, order, n, iou_thresh, work, keep);
}

int ct_nms_naive(const float *boxes, const float *scores, int n, double iou_thresh, int *keep, void *scratch) {
    if (n <= 0) return 0;
    int *order = scratch, *flags = order + n;
    ct_argsort_desc(scores, n, order, flags);
    for (int i = 0; i < n; i++) flags[i] = 0;
    return greedy_nms_naive(boxes, order, n, iou_thresh, flags, keep);
}

/* Scratch of ct_batched_nms: 4n floats (the shifted boxes, or the
 * groups' scores), BATCH_INTS n + 1 ints, then ct_nms's. */
enum { BATCH_INTS = 6 };

size_t ct_batched_nms_scratch_bytes(int n) {
    size_t m = n > 0 ? (size_t)n : 0;
    return 4 * m * sizeof(float) + (BATCH_INTS * m + 1) * sizeof(int) + ct_nms_scratch_bytes(n);
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
                              double iou_thresh, int *keep, float *shifted /* [n,4] */, void *nms_scratch) {
    float step = max_coordinate(boxes, n) + 1.0f;
    for (int i = 0; i < n; i++) {
        float offset = (float)groups[i] * step;
        for (int k = 0; k < 4; k++) shifted[4 * (size_t)i + k] = boxes[4 * (size_t)i + k] + offset;
    }
    return ct_nms(shifted, scores, n, iou_thresh, keep, nms_scratch);
}

/* torchvision's _batched_nms_vanilla, group by group: members holds the
 * box indices group after group (group g at [start[g], start[g+1])), and
 * each group's slice of every array below is its own, so the groups run as
 * independent tasks. */
typedef struct {
    const float *boxes, *scores;
    double iou_thresh;
    const int *members, *start;
    float *member_scores;    /* [n] */
    int *order, *kept_at;    /* [n] each: a group's order, then its kept boxes */
    float *work;             /* greedy_work_floats(n): group g's from greedy_work_floats(start[g]) */
    int *kept;               /* [groups] */
} groups_job;

static void group_task(void *arg, int g, int thread) {
    (void)thread;
    const groups_job *j = arg;
    int first = j->start[g], m = j->start[g + 1] - first;
    float *f = j->member_scores + first;
    int *order = j->order + first, *tmp = j->kept_at + first;
    for (int a = 0; a < m; a++) f[a] = j->scores[j->members[first + a]];
    ct_argsort_desc(f, m, order, tmp);
    for (int a = 0; a < m; a++) order[a] = j->members[first + order[a]];
    j->kept[g] = greedy_nms(j->boxes, order, m, j->iou_thresh, j->work + greedy_work_floats(first), tmp);
}

/* NMS per group (groups in order of first appearance), then the kept
 * indices in ascending order sorted by descending score. (torchvision sorts
 * that last list with an unstable sort; here exact ties keep ascending
 * index.) */
static int batched_nms_per_group(const float *boxes, const float *scores, const int *groups, int n,
                                 double iou_thresh, int *keep, float *fscratch, int *iscratch, float *work,
                                 ct_pool *pool) {
    int *members = iscratch, *order = iscratch + n, *kept_at = iscratch + 2 * (size_t)n;
    int *state = iscratch + 3 * (size_t)n;   /* 0 unvisited, 1 visited, 2 kept */
    int *kept = iscratch + 4 * (size_t)n, *start = iscratch + 5 * (size_t)n;   /* [groups], [groups + 1] */
    int count = 0, num_groups = 0;
    for (int i = 0; i < n; i++) state[i] = 0;
    for (int first = 0; first < n; first++) {
        if (state[first]) continue;
        start[num_groups++] = count;
        for (int i = first; i < n; i++)
            if (!state[i] && groups[i] == groups[first]) {
                members[count++] = i;
                state[i] = 1;
            }
    }
    start[num_groups] = n;
    groups_job job = {boxes, scores, iou_thresh, members, start, fscratch, order, kept_at, work, kept};
    ct_pool_run(pool, num_groups, group_task, &job);
    for (int g = 0; g < num_groups; g++)
        for (int a = 0; a < kept[g]; a++) state[kept_at[start[g] + a]] = 2;
    int survivors = 0;   /* the kept boxes in ascending index, into members */
    for (int i = 0; i < n; i++)
        if (state[i] == 2) {
            members[survivors] = i;
            fscratch[survivors++] = scores[i];
        }
    ct_argsort_desc(fscratch, survivors, order, kept_at);
    for (int a = 0; a < survivors; a++) keep[a] = members[order[a]];
    return survivors;
}

int ct_batched_nms(const float *boxes, const float *scores, const int *groups, int n,
                   double iou_thresh, int *keep, void *scratch, ct_pool *pool) {
    if (n <= 0) return 0;
    float *fscratch = scratch;
    int *iscratch = (int *)(fscratch + 4 * (size_t)n);
    float *nms_scratch = (float *)(iscratch + BATCH_INTS * (size_t)n + 1);
    if (4 * (size_t)n <= 4000)
        return batched_nms_offset(boxes, scores, groups, n, iou_thresh, keep, fscratch, nms_scratch);
    return batched_nms_per_group(boxes, scores, groups, n, iou_thresh, keep, fscratch, iscratch, nms_scratch,
                                 pool);
}
