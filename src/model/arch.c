/* The tensor set of every architecture ctinfer runs, built from the config's
 * depth, truncation, widths and class counts, and the authors' test-time
 * defaults (spec §3-§13; see arch.h). */
#include "model/arch.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

/* Range limits that keep every dimension and product well inside uint32. */
#define MAX_STEM   1024u
#define MAX_WIDTH  4096u
#define MAX_REPR   65536u
#define MAX_ROIS   65536u

static const uint32_t BLOCKS_BASIC_18[4] = {2, 2, 2, 2};
static const uint32_t BLOCKS_3463[4] = {3, 4, 6, 3};

typedef struct {
    ct_tensor_spec *specs;
    size_t count, cap;
    int failed;        /* out of memory */
} spec_list;

static void push(spec_list *l, const char *prefix, const char *leaf, uint32_t rank,
                 uint32_t d0, uint32_t d1, uint32_t d2, uint32_t d3) {
    if (l->failed) return;
    if (l->count == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 128;
        ct_tensor_spec *grown = realloc(l->specs, cap * sizeof *grown);
        if (!grown) {
            l->failed = 1;
            return;
        }
        l->specs = grown;
        l->cap = cap;
    }
    ct_tensor_spec *s = &l->specs[l->count++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s.%s", prefix, leaf);
    s->rank = rank;
    uint32_t dims[CTM_MAX_RANK] = {d0, d1, d2, d3};
    memcpy(s->dims, dims, rank * sizeof *dims);
}

static void conv(spec_list *l, const char *prefix, uint32_t cout, uint32_t cin, uint32_t k, int bias) {
    push(l, prefix, "weight", 4, cout, cin, k, k);
    if (bias) push(l, prefix, "bias", 1, cout, 0, 0, 0);
}

static void linear(spec_list *l, const char *prefix, uint32_t out, uint32_t in) {
    push(l, prefix, "weight", 2, out, in, 0, 0);
    push(l, prefix, "bias", 1, out, 0, 0, 0);
}

static void batchnorm(spec_list *l, const char *prefix, uint32_t c) {
    static const char *leaves[] = {"weight", "bias", "running_mean", "running_var"};
    for (int i = 0; i < 4; i++) push(l, prefix, leaves[i], 1, c, 0, 0, 0);
}

/* A prefix formatted into a caller buffer. */
static const char *name(char *buf, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, CTM_NAME_LEN, fmt, ap);
    va_end(ap);
    return buf;
}

/* A conv without bias followed by its BatchNorm: "<block>.convK" + "<block>.bnK". */
static void conv_bn(spec_list *l, const char *block, int k, uint32_t cout, uint32_t cin, uint32_t ks) {
    char c[CTM_NAME_LEN], b[CTM_NAME_LEN];
    conv(l, name(c, "%s.conv%d", block, k), cout, cin, ks, 0);
    batchnorm(l, name(b, "%s.bn%d", block, k), cout);
}

static void downsample(spec_list *l, const char *block, uint32_t cout, uint32_t cin) {
    char c[CTM_NAME_LEN], b[CTM_NAME_LEN];
    conv(l, name(c, "%s.downsample.0", block), cout, cin, 1, 0);
    batchnorm(l, name(b, "%s.downsample.1", block), cout);
}

/* ResNet layers 1..num_layers; out_channels[i] receives layer i+1's output width. */
static void backbone(spec_list *l, const ctm_config *cfg, uint32_t num_layers, uint32_t *out_channels) {
    int bottleneck = cfg->backbone_depth == 50;
    const uint32_t *blocks = cfg->backbone_depth == 18 ? BLOCKS_BASIC_18 : BLOCKS_3463;
    uint32_t in = cfg->stem_width;
    conv(l, "backbone.body.conv1", in, 3, 7, 0);
    batchnorm(l, "backbone.body.bn1", in);
    for (uint32_t layer = 0; layer < num_layers; layer++) {
        uint32_t planes = cfg->stem_width << layer, out = bottleneck ? 4 * planes : planes;
        for (uint32_t b = 0; b < blocks[layer]; b++) {
            char block[CTM_NAME_LEN];
            name(block, "backbone.body.layer%u.%u", layer + 1, b);
            uint32_t cin = b == 0 ? in : out;
            if (bottleneck) {
                conv_bn(l, block, 1, planes, cin, 1);
                conv_bn(l, block, 2, planes, planes, 3);
                conv_bn(l, block, 3, out, planes, 1);
            } else {
                conv_bn(l, block, 1, planes, cin, 3);
                conv_bn(l, block, 2, planes, planes, 3);
            }
            if (b == 0 && (layer > 0 || cin != out)) downsample(l, block, out, cin);
        }
        in = out;
        out_channels[layer] = out;
    }
}

static void fpn(spec_list *l, uint32_t levels, const uint32_t *in_channels, uint32_t width) {
    char n[CTM_NAME_LEN];
    for (uint32_t i = 0; i < levels; i++)
        conv(l, name(n, "backbone.fpn.inner_blocks.%u", i), width, in_channels[i], 1, 1);
    for (uint32_t i = 0; i < levels; i++)
        conv(l, name(n, "backbone.fpn.layer_blocks.%u", i), width, width, 3, 1);
}

static void heads(spec_list *l, const ctm_config *cfg) {
    uint32_t fpn_c = cfg->fpn_channels, rep = cfg->representation_size, nc = cfg->num_classes;
    uint32_t anchors = cfg->num_anchor_sizes * cfg->num_aspect_ratios;
    conv(l, "rpn.head.conv", fpn_c, fpn_c, 3, 1);
    conv(l, "rpn.head.cls_logits", anchors, fpn_c, 1, 1);
    conv(l, "rpn.head.bbox_pred", 4 * anchors, fpn_c, 1, 1);
    linear(l, "roi_heads.box_head.fc6", rep, fpn_c * 7 * 7);
    linear(l, "roi_heads.box_head.fc7", rep, rep);
    linear(l, "roi_heads.box_predictor.cls_score", nc, rep);
    linear(l, "roi_heads.box_predictor.bbox_pred", 4 * nc, rep);
    if (cfg->task == CTM_TASK_CLASSIFICATION) {
        uint32_t s = cfg->s_features;
        linear(l, "s2new.fc_scores", s, 5 * cfg->roi_batch_size);
        linear(l, "s2new.fc_scores_2", s, s);
        linear(l, "s2new.fc_scores_img", CTM_IMAGE_CLASSES, s);
        return;
    }
    /* Lightweight: one 3x3 conv; resnet50: torchvision's four. */
    uint32_t m = cfg->mask_head_channels, convs = cfg->backbone_depth == 50 ? 4 : 1;
    char n[CTM_NAME_LEN];
    for (uint32_t i = 0; i < convs; i++)
        conv(l, name(n, "roi_heads.mask_head.mask_fcn%u", i + 1), m, i ? m : fpn_c, 3, 1);
    push(l, "roi_heads.mask_predictor.conv5_mask", "weight", 4, m, m, 2, 2);   /* [in, out, 2, 2] */
    push(l, "roi_heads.mask_predictor.conv5_mask", "bias", 1, m, 0, 0, 0);
    conv(l, "roi_heads.mask_predictor.mask_fcn_logits", nc, m, 1, 1);
}

static int in_range(uint32_t v, uint32_t lo, uint32_t hi) { return v >= lo && v <= hi; }

/* Fails naming the first architecture field outside what ctinfer runs. */
static ct_status check_arch(const ctm_config *c, ct_error *err) {
    const char *bad = NULL;
    int seg = c->task == CTM_TASK_SEGMENTATION;
    int lightweight = c->backbone_depth == 18 || c->backbone_depth == 34;
    if (c->task != CTM_TASK_SEGMENTATION && c->task != CTM_TASK_CLASSIFICATION) bad = "task";
    else if (!lightweight && c->backbone_depth != 50) bad = "backbone_depth";
    else if (lightweight ? c->truncation > 2 : c->truncation != CTM_TRUNCATION_NONE) bad = "truncation";
    else if (!in_range(c->num_classes, 2, CTM_MAX_CLASSES)) bad = "num_classes";
    else if (!in_range(c->stem_width, 1, MAX_STEM)) bad = "stem_width";
    else if (!in_range(c->fpn_channels, 1, MAX_WIDTH)) bad = "fpn_channels";
    else if (!in_range(c->representation_size, 1, MAX_REPR)) bad = "representation_size";
    else if (seg ? !in_range(c->mask_head_channels, 1, MAX_WIDTH) : c->mask_head_channels != 0)
        bad = "mask_head_channels";
    else if (!in_range(c->num_anchor_sizes, 1, CTM_MAX_ANCHORS)) bad = "num_anchor_sizes";
    else if (!in_range(c->num_aspect_ratios, 1, CTM_MAX_ANCHORS)) bad = "num_aspect_ratios";
    else if (seg ? c->roi_batch_size != 0 : !in_range(c->roi_batch_size, 1, MAX_ROIS))
        bad = "roi_batch_size";
    else if (seg ? c->s_features != 0 : !in_range(c->s_features, 1, MAX_REPR)) bad = "s_features";
    if (bad) return ct_fail(err, CT_E_UNSUPPORTED, "model config: unsupported %s", bad);
    return CT_OK;
}

ct_status ct_arch_tensors(const ctm_config *cfg, ct_tensor_spec **specs, size_t *count,
                          ct_error *err) {
    *specs = NULL;
    *count = 0;
    ct_status st = check_arch(cfg, err);
    if (st != CT_OK) return st;
    spec_list l = {0};
    uint32_t layers = cfg->truncation == CTM_TRUNCATION_NONE ? 4 : 4 - cfg->truncation;
    uint32_t out_channels[4];
    backbone(&l, cfg, layers, out_channels);
    if (cfg->truncation == CTM_TRUNCATION_NONE)
        fpn(&l, 4, out_channels, cfg->fpn_channels);
    else
        fpn(&l, 1, &out_channels[layers - 1], cfg->fpn_channels);
    heads(&l, cfg);
    if (l.failed) {
        free(l.specs);
        return ct_fail(err, CT_E_NOMEM, "out of memory listing the model's tensors");
    }
    *specs = l.specs;
    *count = l.count;
    return CT_OK;
}

/* ---- defaults ----------------------------------------------------------- */

static void set_names(char (*dst)[CTM_CLASS_NAME_LEN], const char *const *names, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) snprintf(dst[i], CTM_CLASS_NAME_LEN, "%s", names[i]);
}

static void default_class_names(ctm_config *cfg) {
    static const char *const lesion[] = {"__background__", "lesion"};
    static const char *const ggo[] = {"__background__", "ground-glass opacity", "consolidation"};
    memset(cfg->class_names, 0, sizeof cfg->class_names);
    uint32_t n = cfg->num_classes > CTM_MAX_CLASSES ? CTM_MAX_CLASSES : cfg->num_classes;
    if (n == 2) {
        set_names(cfg->class_names, lesion, 2);
    } else if (n == 3) {
        set_names(cfg->class_names, ggo, 3);
    } else {
        set_names(cfg->class_names, lesion, 1);
        for (uint32_t i = 1; i < n; i++) snprintf(cfg->class_names[i], CTM_CLASS_NAME_LEN, "class %u", i);
    }
}

void ct_arch_defaults(ctm_config *cfg) {
    static const float sizes[] = {2, 4, 8, 16, 32};
    static const float ratios[] = {0.1f, 0.25f, 0.5f, 1.0f, 1.5f, 2.0f};
    static const float mean[3] = {0.485f, 0.456f, 0.406f}, std[3] = {0.229f, 0.224f, 0.225f};
    static const char *const image_classes[CTM_IMAGE_CLASSES] = {"Control", "Common Pneumonia",
                                                                  "COVID-19"};
    memset(cfg->anchor_sizes, 0, sizeof cfg->anchor_sizes);
    memset(cfg->aspect_ratios, 0, sizeof cfg->aspect_ratios);
    cfg->num_anchor_sizes = 5;
    cfg->num_aspect_ratios = 6;
    memcpy(cfg->anchor_sizes, sizes, sizeof sizes);
    memcpy(cfg->aspect_ratios, ratios, sizeof ratios);
    memcpy(cfg->image_mean, mean, sizeof mean);
    memcpy(cfg->image_std, std, sizeof std);
    cfg->min_size = 512;
    cfg->max_size = 1024;
    cfg->size_divisible = 32;
    cfg->rpn_pre_nms_top_n = 1000;
    cfg->rpn_post_nms_top_n = 1000;
    cfg->rpn_nms_thresh = 0.75;
    cfg->mask_thresh = 0.5;
    default_class_names(cfg);
    memset(cfg->image_class_names, 0, sizeof cfg->image_class_names);
    cfg->reserved = 0;
    if (cfg->task == CTM_TASK_CLASSIFICATION) {
        cfg->box_score_thresh = -0.01;
        cfg->box_nms_thresh = 0.75;
        cfg->detections_per_img = cfg->roi_batch_size;
        cfg->num_image_classes = CTM_IMAGE_CLASSES;
        set_names(cfg->image_class_names, image_classes, CTM_IMAGE_CLASSES);
    } else {
        cfg->box_score_thresh = 0.05;
        cfg->box_nms_thresh = 0.5;
        cfg->detections_per_img = 100;
        cfg->num_image_classes = 0;
    }
}

/* ---- matching a tensor list against the architecture -------------------- */

static int spec_ptr_cmp(const void *a, const void *b) {
    return strncmp((*(const ct_tensor_spec *const *)a)->name,
                   (*(const ct_tensor_spec *const *)b)->name, CTM_NAME_LEN);
}

static void format_shape(const ct_tensor_spec *s, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "[");
    for (uint32_t i = 0; i < s->rank && i < CTM_MAX_RANK && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%u", i ? ", " : "", s->dims[i]);
    if (n < size) snprintf(buf + n, size - n, "]");
}

static int same_shape(const ct_tensor_spec *a, const ct_tensor_spec *b) {
    return a->rank == b->rank && memcmp(a->dims, b->dims, a->rank * sizeof a->dims[0]) == 0;
}

static void describe_model(const ctm_config *cfg, char *buf, size_t size) {
    const char *task = cfg->task == CTM_TASK_CLASSIFICATION ? "classifier" : "segmentation model";
    if (cfg->truncation == CTM_TRUNCATION_NONE)
        snprintf(buf, size, "a resnet%u %s", cfg->backbone_depth, task);
    else
        snprintf(buf, size, "a resnet%u truncation-%u %s", cfg->backbone_depth, cfg->truncation, task);
}

static const ct_tensor_spec **sorted_pointers(const ct_tensor_spec *specs, size_t count) {
    const ct_tensor_spec **sorted = malloc((count ? count : 1) * sizeof *sorted);
    if (!sorted) return NULL;
    for (size_t i = 0; i < count; i++) sorted[i] = &specs[i];
    qsort(sorted, count, sizeof *sorted, spec_ptr_cmp);
    return sorted;
}

static int contains(const ct_tensor_spec **sorted, size_t count, const ct_tensor_spec *s) {
    return bsearch(&s, sorted, count, sizeof *sorted, spec_ptr_cmp) != NULL;
}

typedef struct {
    const ct_tensor_spec *want, *have;
    const ct_tensor_spec **want_sorted, **have_sorted;
    size_t num_want, num_have;
} match_ctx;

/* Duplicates first, then the expected tensors in order, then extras in `have` order. */
static ct_status match(const ctm_config *cfg, const match_ctx *m, size_t *order, ct_error *err) {
    char model[96], got[64], exp[64];
    describe_model(cfg, model, sizeof model);
    for (size_t i = 1; i < m->num_have; i++)
        if (spec_ptr_cmp(&m->have_sorted[i - 1], &m->have_sorted[i]) == 0)
            return ct_fail(err, CT_E_FORMAT, "tensor %.*s appears twice", (int)CTM_NAME_LEN,
                           m->have_sorted[i]->name);
    for (size_t i = 0; i < m->num_want; i++) {
        const ct_tensor_spec *key = &m->want[i];
        const ct_tensor_spec **hit = bsearch(&key, m->have_sorted, m->num_have, sizeof key, spec_ptr_cmp);
        if (!hit) return ct_fail(err, CT_E_FORMAT, "missing tensor %s (%s has it)", key->name, model);
        if (!same_shape(*hit, key)) {
            format_shape(*hit, got, sizeof got);
            format_shape(key, exp, sizeof exp);
            return ct_fail(err, CT_E_FORMAT, "tensor %s has shape %s, expected %s for %s",
                           key->name, got, exp, model);
        }
        if (order) order[i] = (size_t)(*hit - m->have);
    }
    for (size_t j = 0; j < m->num_have; j++)
        if (!contains(m->want_sorted, m->num_want, &m->have[j]))
            return ct_fail(err, CT_E_FORMAT, "unexpected tensor %.*s (%s has no such tensor)",
                           (int)CTM_NAME_LEN, m->have[j].name, model);
    return CT_OK;
}

ct_status ct_arch_match(const ctm_config *cfg, const ct_tensor_spec *have, size_t count,
                        size_t *order, ct_error *err) {
    match_ctx m = {.have = have, .num_have = count};
    ct_tensor_spec *want;
    ct_status st = ct_arch_tensors(cfg, &want, &m.num_want, err);
    if (st != CT_OK) return st;
    m.want = want;
    m.want_sorted = sorted_pointers(want, m.num_want);
    m.have_sorted = sorted_pointers(have, count);
    if (!m.want_sorted || !m.have_sorted)
        st = ct_fail(err, CT_E_NOMEM, "out of memory matching %zu tensors", count);
    else
        st = match(cfg, &m, order, err);
    free(m.want_sorted);
    free(m.have_sorted);
    free(want);
    return st;
}
