/* ctinfer — CPU inference for the lightweight Mask R-CNN lesion-segmentation
 * models and the COVID-CT-Mask-Net classifier (Ter-Sarkisov, 2020).
 *
 * Usage (error handling shortened):
 *
 *     #include "ctinfer.h"
 *
 *     ct_error err;
 *     ct_model *model;
 *     if (ct_model_load("model.bin", &model, &err) != CT_OK)
 *         fprintf(stderr, "%s\n", err.message);
 *
 *     ct_options opt;
 *     ct_options_default(model, &opt);          // thresholds stored in the model file
 *     ct_session *s;
 *     ct_session_new(model, &opt, &s, &err);    // one per thread; model is shared
 *
 *     ct_image img = {width, height, 1, pixels}; // 8-bit gray or RGB, row-major
 *     ct_result res;
 *     if (ct_run(s, &img, &res, &err) == CT_OK)
 *         for (int i = 0; i < res.num_detections; i++)
 *             printf("%d %.3f\n", res.detections[i].label, res.detections[i].score);
 *     ct_result_free(&res);
 *     ct_session_free(s);
 *     ct_model_free(model);
 *
 * Ownership: everything a ct_*_new/load/run call hands out is freed by the
 * matching ct_*_free call. The library never prints, exits or aborts on user
 * input: every failure is a ct_status plus a one-line message in ct_error.
 */
#ifndef CTINFER_H
#define CTINFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CTINFER_VERSION "0.1.0"

typedef enum {
    CT_OK = 0,
    CT_E_ARG,          /* invalid argument from the caller */
    CT_E_IO,           /* a file could not be opened, read or written */
    CT_E_FORMAT,       /* malformed or corrupt input */
    CT_E_UNSUPPORTED,  /* valid input this build does not handle */
    CT_E_NOMEM,        /* allocation failed */
    CT_E_LIMIT,        /* input exceeds a documented size limit */
    CT_E_MODEL,        /* model unsuited to the request (e.g. wrong task) */
    CT_E_NO_SURVIVORS  /* classifier: no detection survived to rank (K = 0) */
} ct_status;

typedef struct {
    ct_status status;
    char message[256];
} ct_error;

/* A short fixed description of a status code. */
const char *ct_status_name(ct_status status);

/* ---- Models ------------------------------------------------------------ */

typedef struct ct_model ct_model;   /* immutable after load; share it freely */

typedef enum { CT_TASK_SEGMENTATION = 0, CT_TASK_CLASSIFICATION = 1 } ct_task;

/* What a model is, read from its file. */
typedef struct {
    ct_task task;
    int backbone_depth;            /* 18, 34 or 50 */
    int truncation;                /* 0, 1, 2, or -1 for resnet50 (4 FPN levels) */
    int num_classes;               /* box classes n_c, background included */
    const char *class_names[8];    /* [num_classes]; [0] is the background */
    int num_image_classes;         /* 3 for classifiers, else 0 */
    const char *image_class_names[3];
    size_t num_parameters;         /* BatchNorm running statistics not counted */
} ct_model_info;

/* Maps and validates a model file written by ctconvert and prepares its
 * weights, on one short-lived thread per core (ct_default_threads; just the
 * caller's when threads cannot be started). */
ct_status ct_model_load(const char *path, ct_model **out, ct_error *err);
void ct_model_free(ct_model *model);
const ct_model_info *ct_model_get_info(const ct_model *model);

/* ---- Running ----------------------------------------------------------- */

/* Run-time settings; ct_options_default fills them from the model file. */
typedef struct {
    double score_thresh;       /* keep detections with score > this */
    double nms_thresh;         /* per-class NMS IoU threshold of the box head */
    int detections;            /* D: at most this many detections (classifier: rows ranked for S) */
    double mask_thresh;        /* binarization of mask logits (outputs only) */
    double rpn_nms_thresh;
    int rpn_pre_nms_top_n;     /* per FPN level */
    int rpn_post_nms_top_n;
    int min_size, max_size;    /* resize: shorter side target, longer side cap */
    uint32_t seed;             /* classifier: seed of the fixed-batch replication (torch.manual_seed) */
    int threads;               /* worker threads; 0 = one per core */
} ct_options;

void ct_options_default(const ct_model *model, ct_options *opt);

/* The thread count a session with threads = 0 uses: the cores available. */
int ct_default_threads(void);

/* Per-run state (activation memory). One session per concurrent caller. */
typedef struct ct_session ct_session;
ct_status ct_session_new(const ct_model *model, const ct_options *opt, ct_session **out,
                         ct_error *err);
void ct_session_free(ct_session *session);

/* An 8-bit image, row-major, channels interleaved: 1 (gray) or 3 (RGB). */
typedef struct {
    int width, height, channels;
    const uint8_t *pixels;     /* [height][width][channels] */
} ct_image;

typedef struct {
    float box[4];              /* x1, y1, x2, y2 in original-image pixels */
    float score;               /* softmax probability of the label */
    int label;                 /* 1..num_classes-1 */
} ct_detection;

/* One row the classifier's S module ranked (COVID-CT-Mask-Net). */
typedef struct {
    float score;               /* softmax probability of the row's class */
    float deltas[4];           /* raw box-regression outputs dx, dy, dw, dh */
    float box[4];              /* the decoded, clipped box, original-image pixels */
    int label;
    int index;                 /* position in the NMS-ordered detection list (replicas repeat it) */
} ct_ranked_roi;

typedef struct {
    int num_detections;
    ct_detection *detections;  /* [num_detections], descending score */
    int mask_height, mask_width;
    float *masks;              /* [num_detections, mask_height, mask_width] pasted mask logits
                                  (segmentation models; no sigmoid) */
    int num_rois;              /* classifier: D ranked rows, else 0 */
    ct_ranked_roi *rois;
    int num_survivors;         /* classifier: K, distinct detections before replication */
    float logits[3];           /* classifier: Control, Common Pneumonia, COVID-19 */
    float probabilities[3];    /* softmax over the logits */
    float sigmoid[3];          /* per-class sigmoid (how the model was trained) */
    int class_index;           /* argmax */
    double timings_ms[8];      /* per stage, see ct_stage_name */
    double gflop[8];           /* convolution and linear arithmetic per stage */
} ct_result;

enum { CT_STAGE_PREPROCESS, CT_STAGE_BACKBONE, CT_STAGE_RPN, CT_STAGE_BOX_HEAD,
       CT_STAGE_MASK_HEAD, CT_STAGE_PASTE, CT_STAGE_CLASSIFIER, CT_STAGE_COUNT };
const char *ct_stage_name(int stage);

/* Runs the model on one image. On success fills res (free with
 * ct_result_free); on failure res is left empty. */
ct_status ct_run(ct_session *session, const ct_image *image, ct_result *res, ct_error *err);
void ct_result_free(ct_result *res);

#ifdef __cplusplus
}
#endif
#endif
