/* The forward pass of one slice, top to bottom like the original forward():
 * transform -> backbone+FPN -> RPN -> box branch -> (mask branch + paste |
 * classifier S module). */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/backbone.h"
#include "net/classifier.h"
#include "net/mask_head.h"
#include "net/preprocess.h"
#include "net/roi_heads.h"
#include "net/rpn.h"
#include "net/session.h"
#include "threadpool.h"
#include "util/error.h"

/* Upper bound on pixels of an input image (documented in the README). */
#define CT_MAX_IMAGE_PIXELS (64 * 1024 * 1024)

void ct_options_default(const ct_model *model, ct_options *opt) {
    const ctm_config *cfg = &model->net.cfg;
    *opt = (ct_options){
        .score_thresh = cfg->box_score_thresh,
        .nms_thresh = cfg->box_nms_thresh,
        .detections = (int)cfg->detections_per_img,
        .mask_thresh = cfg->mask_thresh,
        .rpn_nms_thresh = cfg->rpn_nms_thresh,
        .rpn_pre_nms_top_n = (int)cfg->rpn_pre_nms_top_n,
        .rpn_post_nms_top_n = (int)cfg->rpn_post_nms_top_n,
        .min_size = (int)cfg->min_size,
        .max_size = (int)cfg->max_size,
        .seed = 0,
        .threads = 0,
    };
}

int ct_default_threads(void) { return ct_cpu_count(); }

static ct_status check_options(const ct_options *o, ct_error *err) {
    if (!isfinite(o->score_thresh) || !isfinite(o->mask_thresh))
        return ct_fail(err, CT_E_ARG, "thresholds must be finite numbers");
    if (!(o->nms_thresh >= 0.0 && o->nms_thresh <= 1.0) || !(o->rpn_nms_thresh >= 0.0 && o->rpn_nms_thresh <= 1.0))
        return ct_fail(err, CT_E_ARG, "NMS thresholds must lie in [0, 1]");
    if (o->detections < 1 || o->detections > 100000)
        return ct_fail(err, CT_E_ARG, "detections must lie in [1, 100000], not %d", o->detections);
    if (o->rpn_pre_nms_top_n < 1 || o->rpn_post_nms_top_n < 1 || o->rpn_pre_nms_top_n > 1000000 ||
        o->rpn_post_nms_top_n > 1000000)
        return ct_fail(err, CT_E_ARG, "RPN top-n values must lie in [1, 1000000]");
    if (o->min_size < 1 || o->max_size < o->min_size || o->max_size > 8192)
        return ct_fail(err, CT_E_ARG, "resize sizes need 1 <= min_size <= max_size <= 8192");
    if (o->threads < 0 || o->threads > 1024)
        return ct_fail(err, CT_E_ARG, "threads must lie in [0, 1024], not %d", o->threads);
    return CT_OK;
}

ct_status ct_session_new(const ct_model *model, const ct_options *opt, ct_session **out, ct_error *err) {
    *out = NULL;
    ct_session *s = calloc(1, sizeof *s);
    if (!s) return ct_fail(err, CT_E_NOMEM, "out of memory");
    s->model = model;
    if (opt) s->opt = *opt;
    else ct_options_default(model, &s->opt);
    ct_status st = check_options(&s->opt, err);
    if (st != CT_OK) {
        free(s);
        return st;
    }
    ct_arena_init(&s->arena);
    int threads = s->opt.threads ? s->opt.threads : ct_default_threads();
    if ((threads > 1 && !(s->pool = ct_pool_new(threads))) || !(s->gemm = ct_gemm_ctx_new(s->pool, NULL)) ||
        !ct_gemm_ctx_reserve(s->gemm, ct_network_workspace_floats(&model->net))) {
        ct_session_free(s);
        return ct_fail(err, CT_E_NOMEM, "cannot start %d threads with their workspaces", threads);
    }
    *out = s;
    return CT_OK;
}

void ct_session_free(ct_session *s) {
    if (!s) return;
    ct_gemm_ctx_free(s->gemm);
    ct_pool_free(s->pool);
    ct_arena_free(&s->arena);
    free(s);
}

void ct_session_set_trace(ct_session *s, ct_trace_fn fn, void *user) {
    s->trace = fn;
    s->trace_user = user;
}

void ct_trace(const ct_session *s, const char *stage, const float *data, int rank, ...) {
    if (!s->trace) return;
    int dims[8];
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank && i < 8; i++) dims[i] = va_arg(ap, int);
    va_end(ap);
    s->trace(s->trace_user, stage, data, rank, dims);
}

const char *ct_stage_name(int stage) {
    static const char *const names[CT_STAGE_COUNT] = {"preprocess", "backbone", "rpn", "box_head",
                                                      "mask_head", "paste", "classifier"};
    return stage >= 0 && stage < CT_STAGE_COUNT ? names[stage] : "unknown";
}

void ct_result_free(ct_result *res) {
    if (!res) return;
    free(res->detections);
    free(res->masks);
    free(res->rois);
    memset(res, 0, sizeof *res);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Closes a stage: its time since *t and its arithmetic since *flops. */
static void stage_done(const ct_session *s, ct_result *res, int stage, double *t, double *flops) {
    double now = now_ms();
    res->timings_ms[stage] += now - *t;
    res->gflop[stage] += (s->flops - *flops) * 1e-9;
    *t = now;
    *flops = s->flops;
}

/* Resized-image box -> original-image box: x * (orig_w / w), y * (orig_h / h),
 * the ratios taken as Python floats and applied in float32. */
static void box_to_original(const ct_input *in, const float *b, float *out) {
    float rw = (float)((double)in->orig_w / (double)in->w), rh = (float)((double)in->orig_h / (double)in->h);
    out[0] = b[0] * rw;
    out[1] = b[1] * rh;
    out[2] = b[2] * rw;
    out[3] = b[3] * rh;
}

static ct_status mask_branch_and_paste(ct_session *s, const ct_input *in, const ct_fmap *hwc,
                                       const ct_detections *dets, ct_result *res, double *t, double *flops,
                                       ct_error *err) {
    int D = dets->count, H = in->orig_h, W = in->orig_w;
    res->detections = calloc((size_t)D + 1, sizeof *res->detections);
    res->masks = calloc((size_t)D * H * W + 1, sizeof(float));
    float *logits = ct_arena_floats(&s->arena, (size_t)D * CT_MASK_SIZE * CT_MASK_SIZE + 1);
    float *boxes = ct_arena_floats(&s->arena, (size_t)D * 4 + 1);  /* [D,4] original frame */
    if (!res->detections || !res->masks || !logits || !boxes)
        return ct_fail(err, CT_E_NOMEM, "out of memory for %d detections", D);
    ct_status st = ct_mask_branch(s, in, hwc, dets, logits, err);
    if (st != CT_OK) return st;
    stage_done(s, res, CT_STAGE_MASK_HEAD, t, flops);
    for (int i = 0; i < D; i++) {
        box_to_original(in, dets->boxes + 4 * i, boxes + 4 * i);
        memcpy(res->detections[i].box, boxes + 4 * i, sizeof res->detections[i].box);
        res->detections[i].score = dets->scores[i];
        res->detections[i].label = dets->labels[i];
    }
    ct_trace(s, "final_boxes", boxes, 2, D, 4);
    ct_paste_masks(s, logits, boxes, D, H, W, res->masks);
    ct_trace(s, "pasted_masks", res->masks, 3, D, H, W);
    res->num_detections = D;
    res->mask_height = H;
    res->mask_width = W;
    stage_done(s, res, CT_STAGE_PASTE, t, flops);
    return CT_OK;
}

static ct_status check_image(const ct_image *img, ct_error *err) {
    if (!img || !img->pixels) return ct_fail(err, CT_E_ARG, "no image");
    if (img->channels != 1 && img->channels != 3)
        return ct_fail(err, CT_E_ARG, "images have 1 or 3 channels, not %d", img->channels);
    if (img->width < 1 || img->height < 1)
        return ct_fail(err, CT_E_ARG, "image size %dx%d is empty", img->width, img->height);
    if ((double)img->width * img->height > CT_MAX_IMAGE_PIXELS)
        return ct_fail(err, CT_E_LIMIT, "image %dx%d exceeds the limit of %d pixels", img->width,
                       img->height, CT_MAX_IMAGE_PIXELS);
    return CT_OK;
}

static ct_status run(ct_session *s, const ct_image *img, ct_result *res, ct_error *err) {
    const ctm_config *cfg = &s->model->net.cfg;
    double t = now_ms(), flops = s->flops = 0.0;
    ct_input in;
    ct_status st = ct_preprocess(img, cfg->image_mean, cfg->image_std, s->opt.min_size, s->opt.max_size,
                                 (int)cfg->size_divisible, &s->arena, s->pool, &in, err);
    if (st != CT_OK) return st;
    ct_trace(s, "input", in.tensor, 3, 3, in.padded_h, in.padded_w);
    stage_done(s, res, CT_STAGE_PREPROCESS, &t, &flops);

    ct_fmap input = {3, in.padded_h, in.padded_w, in.tensor}, levels[CT_MAX_LEVELS];
    if ((st = ct_backbone_fpn(s, &input, levels, err)) != CT_OK) return st;
    stage_done(s, res, CT_STAGE_BACKBONE, &t, &flops);

    ct_proposals props;
    if ((st = ct_rpn(s, &in, levels, &props, err)) != CT_OK) return st;
    stage_done(s, res, CT_STAGE_RPN, &t, &flops);

    ct_detections dets;
    ct_fmap hwc[CT_MAX_LEVELS];   /* the levels channels-last, for RoIAlign */
    if ((st = ct_roi_features(s, levels, hwc, err)) != CT_OK ||
        (st = ct_box_branch(s, &in, hwc, &props, &dets, err)) != CT_OK)
        return st;
    stage_done(s, res, CT_STAGE_BOX_HEAD, &t, &flops);

    if (cfg->task == CTM_TASK_CLASSIFICATION) {
        if ((st = ct_classify(s, &dets, res, err)) != CT_OK) return st;
        for (int i = 0; i < res->num_rois; i++) box_to_original(&in, res->rois[i].box, res->rois[i].box);
        stage_done(s, res, CT_STAGE_CLASSIFIER, &t, &flops);
        return CT_OK;
    }
    if ((st = mask_branch_and_paste(s, &in, hwc, &dets, res, &t, &flops, err)) != CT_OK) return st;
    return CT_OK;
}

ct_status ct_run(ct_session *s, const ct_image *img, ct_result *res, ct_error *err) {
    memset(res, 0, sizeof *res);
    ct_status st = check_image(img, err);
    if (st != CT_OK) return st;
    ct_arena_reset(&s->arena);
    st = run(s, img, res, err);
    if (st != CT_OK) ct_result_free(res);
    return st;
}
