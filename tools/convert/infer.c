/* Config inference from a checkpoint's tensors (see infer.h). */
#include "infer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/arch.h"
#include "model/modelfile.h"

#define MAX_LAYERS 4

void ct_convert_options_init(ct_convert_options *opt) {
    memset(opt, 0, sizeof *opt);
    opt->task = -1;
    opt->score_thresh = opt->nms_thresh = opt->rpn_nms_thresh = opt->mask_thresh = NAN;
}

static void note(ct_convert_notes *notes, const char *text) {
    if (notes && notes->count < CT_MAX_NOTES)
        snprintf(notes->text[notes->count++], sizeof notes->text[0], "%s", text);
}

static const ct_ckpt_tensor *find(const ct_checkpoint *ck, const char *name) {
    for (size_t i = 0; i < ck->num_tensors; i++)
        if (strcmp(ck->tensors[i].name, name) == 0) return &ck->tensors[i];
    return NULL;
}

/* dims[dim] of the rank-`rank` tensor `name`, which the inference needs. */
static ct_status dim_of(const ct_checkpoint *ck, const char *name, uint32_t rank, uint32_t dim,
                        const char *what, uint32_t *out, ct_error *err) {
    const ct_ckpt_tensor *t = find(ck, name);
    if (!t) return ct_fail(err, CT_E_FORMAT, "cannot infer the %s: the checkpoint has no %s", what, name);
    if (t->view.rank != rank)
        return ct_fail(err, CT_E_FORMAT, "cannot infer the %s: %s has rank %u, expected %u", what,
                       name, t->view.rank, rank);
    *out = t->view.dims[dim];
    return CT_OK;
}

/* Blocks per ResNet layer ("backbone.body.layerL.B."), and whether blocks are bottlenecks. */
static void count_blocks(const ct_checkpoint *ck, uint32_t blocks[MAX_LAYERS], int *bottleneck) {
    static const char prefix[] = "backbone.body.layer";
    memset(blocks, 0, MAX_LAYERS * sizeof *blocks);
    *bottleneck = 0;
    for (size_t i = 0; i < ck->num_tensors; i++) {
        const char *n = ck->tensors[i].name;
        if (strncmp(n, prefix, sizeof prefix - 1) != 0) continue;
        n += sizeof prefix - 1;
        if (n[0] < '1' || n[0] > '4' || n[1] != '.') continue;
        int layer = n[0] - '1';
        char *end;
        unsigned long b = strtoul(n + 2, &end, 10);
        if (end == n + 2 || *end != '.' || b > 1000) continue;
        if (b + 1 > blocks[layer]) blocks[layer] = (uint32_t)b + 1;
        if (strstr(end, ".conv3.")) *bottleneck = 1;
    }
}

static ct_status infer_backbone(const ct_checkpoint *ck, ctm_config *cfg, ct_error *err) {
    uint32_t blocks[MAX_LAYERS];
    int bottleneck;
    count_blocks(ck, blocks, &bottleneck);
    if (bottleneck) {
        cfg->backbone_depth = 50;
        cfg->truncation = CTM_TRUNCATION_NONE;
        return CT_OK;
    }
    if (blocks[0] != 2 && blocks[0] != 3)
        return ct_fail(err, CT_E_FORMAT, "cannot infer the ResNet depth: layer1 has %u blocks "
                                         "(resnet18 has 2, resnet34 has 3)", blocks[0]);
    cfg->backbone_depth = blocks[0] == 2 ? 18 : 34;
    uint32_t last = 0;   /* deepest layer present, 1-based */
    for (uint32_t l = 0; l < MAX_LAYERS; l++)
        if (blocks[l]) last = l + 1;
    if (last < 2)
        return ct_fail(err, CT_E_UNSUPPORTED, "the backbone ends at layer1; ctinfer runs truncations "
                                              "0-2 (layer4, layer3 or layer2 last)");
    cfg->truncation = MAX_LAYERS - last;
    /* The FPN lateral must read that layer's output: stem << (last - 1) channels. */
    uint32_t lateral_in = 0, stem = 0;
    ct_status st = dim_of(ck, "backbone.body.conv1.weight", 4, 0, "stem width", &stem, err);
    if (st == CT_OK)
        st = dim_of(ck, "backbone.fpn.inner_blocks.0.weight", 4, 1, "truncation", &lateral_in, err);
    if (st == CT_OK && lateral_in != stem << (last - 1))
        st = ct_fail(err, CT_E_FORMAT, "layer%u is the deepest layer but the FPN lateral "
                     "backbone.fpn.inner_blocks.0.weight takes %u channels, not its %u",
                     last, lateral_in, stem << (last - 1));
    return st;
}

static ct_status infer_widths(const ct_checkpoint *ck, ctm_config *cfg, ct_error *err) {
    uint32_t in = 0;
    ct_status st = dim_of(ck, "backbone.body.conv1.weight", 4, 0, "stem width", &cfg->stem_width, err);
    if (st == CT_OK)
        st = dim_of(ck, "backbone.fpn.inner_blocks.0.weight", 4, 0, "FPN width", &cfg->fpn_channels, err);
    if (st == CT_OK)
        st = dim_of(ck, "roi_heads.box_head.fc6.weight", 2, 0, "box head width",
                    &cfg->representation_size, err);
    if (st == CT_OK)
        st = dim_of(ck, "roi_heads.box_predictor.cls_score.weight", 2, 0, "number of classes",
                    &cfg->num_classes, err);
    if (st != CT_OK) return st;
    if (cfg->task == CTM_TASK_SEGMENTATION)
        return dim_of(ck, "roi_heads.mask_head.mask_fcn1.weight", 4, 0, "mask head width",
                      &cfg->mask_head_channels, err);
    st = dim_of(ck, "s2new.fc_scores.weight", 2, 0, "S width", &cfg->s_features, err);
    if (st == CT_OK) st = dim_of(ck, "s2new.fc_scores.weight", 2, 1, "RoI batch size", &in, err);
    if (st == CT_OK && (in == 0 || in % 5))
        st = ct_fail(err, CT_E_FORMAT, "s2new.fc_scores.weight takes %u inputs, not 5 per RoI", in);
    cfg->roi_batch_size = in / 5;
    return st;
}

static int has_prefix(const ct_checkpoint *ck, const char *prefix) {
    for (size_t i = 0; i < ck->num_tensors; i++)
        if (strncmp(ck->tensors[i].name, prefix, strlen(prefix)) == 0) return 1;
    return 0;
}

static void format_list(const float *v, uint32_t n, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%g", i ? "," : "", v[i]);
}

/* Anchors: the command line, else the pickled generator, else the authors' defaults. */
static ct_status infer_anchors(const ct_checkpoint *ck, const ct_convert_options *opt,
                               ctm_config *cfg, ct_convert_notes *notes, ct_error *err) {
    ct_anchor_set a;
    int found;
    uint32_t levels = cfg->truncation == CTM_TRUNCATION_NONE ? 4 : 1;
    ct_status st = ct_checkpoint_anchors(ck, levels, &a, &found, err);
    if (st != CT_OK) return st;
    if (found) {
        cfg->num_anchor_sizes = a.num_sizes;
        cfg->num_aspect_ratios = a.num_ratios;
        memset(cfg->anchor_sizes, 0, sizeof cfg->anchor_sizes);
        memset(cfg->aspect_ratios, 0, sizeof cfg->aspect_ratios);
        memcpy(cfg->anchor_sizes, a.sizes, a.num_sizes * sizeof(float));
        memcpy(cfg->aspect_ratios, a.ratios, a.num_ratios * sizeof(float));
    } else if (!opt->num_anchor_sizes || !opt->num_aspect_ratios) {
        char sizes[64], ratios[64], text[256];
        format_list(cfg->anchor_sizes, cfg->num_anchor_sizes, sizes, sizeof sizes);
        format_list(cfg->aspect_ratios, cfg->num_aspect_ratios, ratios, sizeof ratios);
        snprintf(text, sizeof text, "no readable anchor_generator in the checkpoint; using the "
                 "authors' anchors: sizes %s, aspect ratios %s", sizes, ratios);
        note(notes, text);
    }
    if (opt->num_anchor_sizes) {
        cfg->num_anchor_sizes = opt->num_anchor_sizes;
        memset(cfg->anchor_sizes, 0, sizeof cfg->anchor_sizes);
        memcpy(cfg->anchor_sizes, opt->anchor_sizes, opt->num_anchor_sizes * sizeof(float));
    }
    if (opt->num_aspect_ratios) {
        cfg->num_aspect_ratios = opt->num_aspect_ratios;
        memset(cfg->aspect_ratios, 0, sizeof cfg->aspect_ratios);
        memcpy(cfg->aspect_ratios, opt->aspect_ratios, opt->num_aspect_ratios * sizeof(float));
    }
    uint32_t head = 0;
    st = dim_of(ck, "rpn.head.cls_logits.weight", 4, 0, "anchors per location", &head, err);
    if (st == CT_OK && head != cfg->num_anchor_sizes * cfg->num_aspect_ratios)
        st = ct_fail(err, CT_E_FORMAT, "rpn.head.cls_logits.weight scores %u anchors per location "
                     "but the anchors give %u sizes x %u ratios; use --anchor-sizes and --aspect-ratios",
                     head, cfg->num_anchor_sizes, cfg->num_aspect_ratios);
    return st;
}

static ct_status apply_overrides(const ct_convert_options *opt, ctm_config *cfg, ct_error *err) {
    if (!isnan(opt->score_thresh)) cfg->box_score_thresh = opt->score_thresh;
    if (!isnan(opt->nms_thresh)) cfg->box_nms_thresh = opt->nms_thresh;
    if (!isnan(opt->rpn_nms_thresh)) cfg->rpn_nms_thresh = opt->rpn_nms_thresh;
    if (!isnan(opt->mask_thresh)) cfg->mask_thresh = opt->mask_thresh;
    if (opt->rpn_pre_nms_top_n) cfg->rpn_pre_nms_top_n = opt->rpn_pre_nms_top_n;
    if (opt->rpn_post_nms_top_n) cfg->rpn_post_nms_top_n = opt->rpn_post_nms_top_n;
    if (opt->min_size) cfg->min_size = opt->min_size;
    if (opt->max_size) cfg->max_size = opt->max_size;
    if (opt->detections) {
        if (cfg->task == CTM_TASK_CLASSIFICATION && opt->detections != cfg->roi_batch_size)
            return ct_fail(err, CT_E_ARG, "a classifier ranks exactly its RoI batch size (%u) "
                           "detections; --detections %u does not fit", cfg->roi_batch_size,
                           opt->detections);
        cfg->detections_per_img = opt->detections;
    }
    if (opt->num_class_names) {
        if (opt->num_class_names != cfg->num_classes)
            return ct_fail(err, CT_E_ARG, "%u class names given, the model has %u classes "
                           "(background included)", opt->num_class_names, cfg->num_classes);
        memset(cfg->class_names, 0, sizeof cfg->class_names);
        memcpy(cfg->class_names, opt->class_names, opt->num_class_names * sizeof cfg->class_names[0]);
    }
    return CT_OK;
}

ct_status ct_infer_config(const ct_checkpoint *ck, const ct_convert_options *opt, ctm_config *cfg,
                          ct_convert_notes *notes, ct_error *err) {
    memset(cfg, 0, sizeof *cfg);
    if (notes) notes->count = 0;
    if (opt->task >= 0)
        cfg->task = (uint32_t)opt->task;
    else
        cfg->task = has_prefix(ck, "s2new.") ? CTM_TASK_CLASSIFICATION : CTM_TASK_SEGMENTATION;
    ct_status st = infer_backbone(ck, cfg, err);
    if (st == CT_OK) st = infer_widths(ck, cfg, err);
    if (st != CT_OK) return st;
    ct_arch_defaults(cfg);
    st = infer_anchors(ck, opt, cfg, notes, err);
    if (st == CT_OK) st = apply_overrides(opt, cfg, err);
    if (st == CT_OK) st = ct_modelfile_check_config(cfg, err);
    return st;
}

ct_status ct_infer_check_tensors(const ct_checkpoint *ck, const ctm_config *cfg, size_t *order,
                                 ct_error *err) {
    ct_tensor_spec *have = calloc(ck->num_tensors ? ck->num_tensors : 1, sizeof *have);
    if (!have) return ct_fail(err, CT_E_NOMEM, "out of memory for %zu tensors", ck->num_tensors);
    for (size_t i = 0; i < ck->num_tensors; i++) {
        memcpy(have[i].name, ck->tensors[i].name, CTM_NAME_LEN);
        have[i].rank = ck->tensors[i].view.rank;
        memcpy(have[i].dims, ck->tensors[i].view.dims, sizeof have[i].dims);
    }
    ct_status st = ct_arch_match(cfg, have, ck->num_tensors, order, err);
    free(have);
    return st;
}
