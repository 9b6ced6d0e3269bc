/* The architecture tables (src/model/arch.c): the full-size tensor sets give
 * the parameter counts of spec §12-§13, the state_dict order and names of
 * spec §13, the authors' defaults, and the matcher names what does not fit. */
#include "test.h"

#include <string.h>

#include "model/arch.h"

static ctm_config full_config(uint32_t task, uint32_t depth, uint32_t truncation, uint32_t nc) {
    ctm_config c;
    memset(&c, 0, sizeof c);
    c.task = task;
    c.backbone_depth = depth;
    c.truncation = truncation;
    c.num_classes = nc;
    c.stem_width = 64;
    c.fpn_channels = 256;
    c.representation_size = 128;
    if (task == CTM_TASK_SEGMENTATION) {
        c.mask_head_channels = depth == 50 ? 256 : 128;
    } else {
        c.roi_batch_size = depth == 50 ? 256 : 128;
        c.s_features = depth == 50 ? 1024 : 512;
    }
    ct_arch_defaults(&c);
    return c;
}

/* Parameters (BatchNorm running statistics excluded) and running statistics. */
static void count(const ctm_config *c, size_t *params, size_t *stats, size_t *tensors) {
    ct_tensor_spec *s;
    ct_error err;
    *params = *stats = *tensors = 0;
    if (ct_arch_tensors(c, &s, tensors, &err) != CT_OK) {
        CHECKF(0, "%s", err.message);
        return;
    }
    for (size_t i = 0; i < *tensors; i++) {
        size_t n = 1;
        for (uint32_t d = 0; d < s[i].rank; d++) n *= s[i].dims[d];
        int stat = strstr(s[i].name, "running_") != NULL;
        *(stat ? stats : params) += n;
    }
    free(s);
}

static size_t prefix_params(const ctm_config *c, const char *prefix) {
    ct_tensor_spec *s;
    size_t n, total = 0;
    ct_error err;
    if (ct_arch_tensors(c, &s, &n, &err) != CT_OK) return 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(s[i].name, prefix, strlen(prefix))) continue;
        size_t k = 1;
        for (uint32_t d = 0; d < s[i].rank; d++) k *= s[i].dims[d];
        total += k;
    }
    free(s);
    return total;
}

static void test_parameter_counts_match_spec(void) {
    static const struct { uint32_t depth, trunc; size_t seg, cls; } table[] = {
        {18, 0, 14511074, 14742499}, {18, 1, 6051810, 6283235}, {18, 2, 3919330, 4150755},
        {34, 0, 24619234, 24850659}, {34, 1, 11439330, 11670755}, {34, 2, 4584162, 4815587}};
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        size_t p, s, n;
        ctm_config seg = full_config(CTM_TASK_SEGMENTATION, table[i].depth, table[i].trunc, 2);
        count(&seg, &p, &s, &n);
        CHECKF(p == table[i].seg, "R%u T%u seg %zu", table[i].depth, table[i].trunc, p);
        ctm_config cls = full_config(CTM_TASK_CLASSIFICATION, table[i].depth, table[i].trunc, 2);
        count(&cls, &p, &s, &n);
        CHECKF(p == table[i].cls, "R%u T%u cls %zu", table[i].depth, table[i].trunc, p);
    }
    /* R18 T1: 114 state_dict entries = 99 float tensors + 15 num_batches_tracked; 4480 BN stats. */
    size_t p, s, n;
    ctm_config t1 = full_config(CTM_TASK_SEGMENTATION, 18, 1, 2);
    count(&t1, &p, &s, &n);
    CHECK(n == 99 && s == 4480);
    /* resnet50 (§12): 31 727 842 parameters, 31 781 015 entries with BN statistics and counters. */
    ctm_config r50 = full_config(CTM_TASK_SEGMENTATION, 50, CTM_TRUNCATION_NONE, 2);
    count(&r50, &p, &s, &n);
    CHECKF(p == 31727842, "resnet50 %zu", p);
    CHECKF(p + s + 53 == 31781015, "resnet50 with stats %zu", p + s);
    /* S of the full classifier: 2 364 419 parameters (§12); lightweight: 592 387 (§13). */
    ctm_config r50c = full_config(CTM_TASK_CLASSIFICATION, 50, CTM_TRUNCATION_NONE, 2);
    CHECK(prefix_params(&r50c, "s2new.") == 2364419);
    CHECK(prefix_params(&t1, "roi_heads.mask_") == 360962);
    ctm_config t1c = full_config(CTM_TASK_CLASSIFICATION, 18, 1, 2);
    CHECK(prefix_params(&t1c, "s2new.") == 592387);
}

static const ct_tensor_spec *find(const ct_tensor_spec *s, size_t n, const char *name, size_t *at) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(s[i].name, name)) {
            *at = i;
            return &s[i];
        }
    return NULL;
}

static int dims_are(const ct_tensor_spec *s, uint32_t rank, uint32_t d0, uint32_t d1, uint32_t d2,
                    uint32_t d3) {
    uint32_t want[4] = {d0, d1, d2, d3};
    return s && s->rank == rank && !memcmp(s->dims, want, rank * sizeof *want);
}

/* Names, shapes and order of spec §13's table (R18 T1). */
static void test_r18_t1_names_and_order(void) {
    ctm_config c = full_config(CTM_TASK_SEGMENTATION, 18, 1, 2);
    ct_tensor_spec *s;
    size_t n, at = 0, prev = 0;
    ct_error err;
    if (ct_arch_tensors(&c, &s, &n, &err) != CT_OK) {
        CHECKF(0, "%s", err.message);
        return;
    }
    static const struct { const char *name; uint32_t rank, d[4]; } rows[] = {
        {"backbone.body.conv1.weight", 4, {64, 3, 7, 7}},
        {"backbone.body.bn1.running_var", 1, {64}},
        {"backbone.body.layer1.0.conv1.weight", 4, {64, 64, 3, 3}},
        {"backbone.body.layer2.0.conv1.weight", 4, {128, 64, 3, 3}},
        {"backbone.body.layer2.0.bn2.running_var", 1, {128}},
        {"backbone.body.layer2.0.downsample.0.weight", 4, {128, 64, 1, 1}},
        {"backbone.body.layer2.0.downsample.1.running_var", 1, {128}},
        {"backbone.body.layer3.1.bn2.running_var", 1, {256}},
        {"backbone.fpn.inner_blocks.0.weight", 4, {256, 256, 1, 1}},
        {"backbone.fpn.layer_blocks.0.bias", 1, {256}},
        {"rpn.head.conv.weight", 4, {256, 256, 3, 3}},
        {"rpn.head.cls_logits.weight", 4, {30, 256, 1, 1}},
        {"rpn.head.bbox_pred.bias", 1, {120}},
        {"roi_heads.box_head.fc6.weight", 2, {128, 12544}},
        {"roi_heads.box_predictor.cls_score.weight", 2, {2, 128}},
        {"roi_heads.box_predictor.bbox_pred.weight", 2, {8, 128}},
        {"roi_heads.mask_head.mask_fcn1.weight", 4, {128, 256, 3, 3}},
        {"roi_heads.mask_predictor.conv5_mask.weight", 4, {128, 128, 2, 2}},
        {"roi_heads.mask_predictor.mask_fcn_logits.bias", 1, {2}}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const ct_tensor_spec *t = find(s, n, rows[i].name, &at);
        CHECKF(dims_are(t, rows[i].rank, rows[i].d[0], rows[i].d[1], rows[i].d[2], rows[i].d[3]),
               "%s", rows[i].name);
        CHECKF(!t || i == 0 || at > prev, "%s out of order", rows[i].name);
        prev = at;
    }
    CHECK(!find(s, n, "backbone.body.layer1.0.downsample.0.weight", &at));
    CHECK(!find(s, n, "backbone.body.layer4.0.conv1.weight", &at));
    CHECK(at == n - 1);   /* mask_fcn_logits.bias is last */
    free(s);
}

static void test_other_variants(void) {
    ct_tensor_spec *s;
    size_t n, at;
    ct_error err;
    ctm_config c = full_config(CTM_TASK_CLASSIFICATION, 34, 0, 3);
    c.roi_batch_size = 256;
    CHECK(ct_arch_tensors(&c, &s, &n, &err) == CT_OK);
    CHECK(dims_are(find(s, n, "backbone.fpn.inner_blocks.0.weight", &at), 4, 256, 512, 1, 1));
    CHECK(dims_are(find(s, n, "backbone.body.layer4.2.conv2.weight", &at), 4, 512, 512, 3, 3));
    CHECK(!find(s, n, "backbone.body.layer4.3.conv2.weight", &at));
    CHECK(dims_are(find(s, n, "roi_heads.box_predictor.bbox_pred.weight", &at), 2, 12, 128, 0, 0));
    CHECK(dims_are(find(s, n, "s2new.fc_scores.weight", &at), 2, 512, 1280, 0, 0));
    CHECK(dims_are(find(s, n, "s2new.fc_scores_img.bias", &at), 1, 3, 0, 0, 0) && at == n - 1);
    CHECK(!find(s, n, "roi_heads.mask_head.mask_fcn1.weight", &at));
    free(s);
    c = full_config(CTM_TASK_SEGMENTATION, 18, 2, 2);
    CHECK(ct_arch_tensors(&c, &s, &n, &err) == CT_OK);
    CHECK(dims_are(find(s, n, "backbone.fpn.inner_blocks.0.weight", &at), 4, 256, 128, 1, 1));
    CHECK(!find(s, n, "backbone.body.layer3.0.conv1.weight", &at));
    free(s);
    c = full_config(CTM_TASK_SEGMENTATION, 50, CTM_TRUNCATION_NONE, 2);
    CHECK(ct_arch_tensors(&c, &s, &n, &err) == CT_OK);
    CHECK(dims_are(find(s, n, "backbone.body.layer1.0.downsample.0.weight", &at), 4, 256, 64, 1, 1));
    CHECK(dims_are(find(s, n, "backbone.fpn.inner_blocks.3.weight", &at), 4, 256, 2048, 1, 1));
    CHECK(dims_are(find(s, n, "roi_heads.mask_head.mask_fcn4.weight", &at), 4, 256, 256, 3, 3));
    free(s);
}

static void test_defaults(void) {
    ctm_config seg = full_config(CTM_TASK_SEGMENTATION, 18, 1, 3);
    CHECK(seg.box_score_thresh == 0.05 && seg.box_nms_thresh == 0.5 && seg.detections_per_img == 100);
    CHECK(seg.mask_thresh == 0.5 && seg.rpn_nms_thresh == 0.75 && seg.num_image_classes == 0);
    CHECK(!strcmp(seg.class_names[1], "ground-glass opacity") && !strcmp(seg.class_names[2], "consolidation"));
    CHECK(seg.num_anchor_sizes == 5 && seg.num_aspect_ratios == 6 && seg.aspect_ratios[0] == 0.1f);
    CHECK(seg.anchor_sizes[4] == 32 && seg.anchor_sizes[5] == 0 && seg.image_std[2] == 0.225f);
    ctm_config cls = full_config(CTM_TASK_CLASSIFICATION, 18, 1, 2);
    CHECK(cls.box_score_thresh == -0.01 && cls.box_nms_thresh == 0.75 && cls.detections_per_img == 128);
    CHECK(cls.num_image_classes == 3 && !strcmp(cls.image_class_names[1], "Common Pneumonia"));
    CHECK(!strcmp(cls.class_names[1], "lesion") && cls.class_names[2][0] == 0);
}

static void test_unsupported_configs(void) {
    static const char *fields[] = {"backbone_depth", "truncation", "num_classes", "stem_width",
                                   "mask_head_channels", "num_anchor_sizes", "roi_batch_size"};
    for (int k = 0; k < 7; k++) {
        ctm_config c = full_config(CTM_TASK_SEGMENTATION, 18, 1, 2);
        if (k == 0) c.backbone_depth = 101;
        if (k == 1) c.truncation = 3;
        if (k == 2) c.num_classes = 9;
        if (k == 3) c.stem_width = 0;
        if (k == 4) c.mask_head_channels = 0;
        if (k == 5) c.num_anchor_sizes = 17;
        if (k == 6) c.roi_batch_size = 128;   /* segmentation models have none */
        ct_tensor_spec *s;
        size_t n;
        ct_error err = {0};
        CHECK(ct_arch_tensors(&c, &s, &n, &err) == CT_E_UNSUPPORTED);
        CHECKF(strstr(err.message, fields[k]) != NULL, "%s", err.message);
    }
    ctm_config c = full_config(CTM_TASK_SEGMENTATION, 50, 1, 2);   /* resnet50 has no truncation */
    ct_tensor_spec *s;
    size_t n;
    ct_error err;
    CHECK(ct_arch_tensors(&c, &s, &n, &err) == CT_E_UNSUPPORTED);
}

static void test_match(void) {
    ctm_config c = full_config(CTM_TASK_SEGMENTATION, 18, 2, 2);
    ct_tensor_spec *want;
    size_t n;
    ct_error err = {0};
    if (ct_arch_tensors(&c, &want, &n, &err) != CT_OK) return;
    /* Reversed order matches, and order[] maps back. */
    ct_tensor_spec *have = malloc((n + 1) * sizeof *have);
    size_t *order = malloc(n * sizeof *order);
    for (size_t i = 0; i < n; i++) have[i] = want[n - 1 - i];
    CHECK(ct_arch_match(&c, have, n, order, &err) == CT_OK);
    int mapped = 1;
    for (size_t i = 0; i < n; i++) mapped &= order[i] == n - 1 - i;
    CHECK(mapped);
    have[3].dims[0]++;
    CHECK(ct_arch_match(&c, have, n, NULL, &err) == CT_E_FORMAT);
    CHECKF(strstr(err.message, have[3].name) && strstr(err.message, "shape"), "%s", err.message);
    have[3].dims[0]--;
    strcpy(have[5].name, "backbone.body.layer9.weight");
    CHECK(ct_arch_match(&c, have, n, NULL, &err) == CT_E_FORMAT);
    CHECKF(strstr(err.message, "missing tensor") && strstr(err.message, want[n - 1 - 5].name), "%s", err.message);
    have[5] = want[n - 1 - 5];
    have[n] = have[0];
    CHECK(ct_arch_match(&c, have, n + 1, NULL, &err) == CT_E_FORMAT);
    CHECKF(strstr(err.message, "appears twice"), "%s", err.message);
    strcpy(have[n].name, "s2new.fc_scores.weight");
    CHECK(ct_arch_match(&c, have, n + 1, NULL, &err) == CT_E_FORMAT);
    CHECKF(strstr(err.message, "unexpected tensor s2new.fc_scores.weight"), "%s", err.message);
    CHECK(ct_arch_match(&c, have, n - 1, NULL, &err) == CT_E_FORMAT);
    free(have);
    free(order);
    free(want);
}

int main(void) {
    RUN(test_parameter_counts_match_spec);
    RUN(test_r18_t1_names_and_order);
    RUN(test_other_variants);
    RUN(test_defaults);
    RUN(test_unsupported_configs);
    RUN(test_match);
    return TEST_SUMMARY();
}
