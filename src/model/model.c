/* ct_model_load: validate the file, then prepare every layer once — fold
 * each BatchNorm into its convolution, widen float16 tensors, pack weights
 * into the GEMM's panels and merge the 1x1 layers that read the same input —
 * so that a run only reads. The prepared weights live in the model's own
 * memory; the file mapping is released when loading ends. */
#include "model/model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conv.h"
#include "gemm.h"
#include "model/finite.h"
#include "model/modelfile.h"
#include "util/error.h"
#include "util/half.h"
#include "winograd.h"

#define BN_EPS 1e-5f

typedef struct {
    ct_model *model;
    ct_modelfile *file;
    ct_arena scratch;            /* widened tensors and staging, freed when loading ends */
    ct_error *err;
} loader;

/* count floats of the model's memory (64-byte aligned). */
static float *owned(loader *L, size_t count, const char *what) {
    float *p = ct_arena_floats(&L->model->memory, count ? count : 1);
    if (!p) ct_fail(L->err, CT_E_NOMEM, "out of memory preparing %s", what);
    return p;
}

static float *staging(loader *L, size_t count, const char *what) {
    float *p = ct_arena_floats(&L->scratch, count ? count : 1);
    if (!p) ct_fail(L->err, CT_E_NOMEM, "out of memory preparing %s", what);
    return p;
}

/* The tensor `name` as float32 while loading: a view into the mapping, or a
 * widened copy; *entry_out (if not NULL) receives its table entry. */
static const float *tensor(loader *L, const char *name, const ctm_tensor_entry **entry_out) {
    const ctm_tensor_entry *e = ct_modelfile_find(L->file, name);
    if (!e) {
        ct_fail(L->err, CT_E_FORMAT, "model file has no tensor %s", name);
        return NULL;
    }
    if (entry_out) *entry_out = e;
    const void *data = ct_modelfile_data(L->file, e);
    if (e->dtype == CTM_DTYPE_F32) return data;
    size_t n = ct_modelfile_numel(e);
    float *wide = staging(L, n, name);
    if (wide) ct_half_to_float(data, wide, n);
    return wide;
}

static const float *tensorf(loader *L, const ctm_tensor_entry **e, const char *fmt, ...) {
    char name[CTM_NAME_LEN + 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return tensor(L, name, e);
}

/* A float32 copy of tensor `name` in the model's memory. */
static const float *kept(loader *L, const char *name, const ctm_tensor_entry **entry_out) {
    const ctm_tensor_entry *e;
    const float *t = tensor(L, name, &e);
    if (!t) return NULL;
    size_t n = ct_modelfile_numel(e);
    float *copy = owned(L, n, name);
    if (!copy) return NULL;
    memcpy(copy, t, n * sizeof *copy);
    if (entry_out) *entry_out = e;
    return copy;
}

static const float *keptf(loader *L, const ctm_tensor_entry **e, const char *fmt, ...) {
    char name[CTM_NAME_LEN + 32];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    return kept(L, name, e);
}

/* Shape of a convolution from its weight entry [cout,cin,kh,kw]. */
static void conv_shape(const ctm_tensor_entry *e, int stride, int pad, ct_conv_layer *c) {
    c->cout = (int)e->dims[0];
    c->cin = (int)e->dims[1];
    c->kh = (int)e->dims[2];
    c->kw = (int)e->dims[3];
    c->stride = stride;
    c->pad = pad;
}

/* The layer's weights [cout, cin*kh*kw] (rows times scale[o] if given)
 * packed into the model's memory: Winograd-transformed for 3x3 stride-1
 * convolutions, as GEMM panels for the others. */
static int pack_conv(loader *L, ct_conv_layer *c, const float *weight, const float *scale, const char *what) {
    ct_conv_params p = {c->cin, 1, 1, c->cout, c->kh, c->kw, c->stride, c->pad, 1, 0};
    c->winograd = ct_winograd_fits(&p);
    float *packed = owned(L, c->winograd ? ct_winograd_packed_floats(c->cin, c->cout) : ct_conv_packed_floats(&p), what);
    if (!packed) return 0;
    if (c->winograd) ct_winograd_pack_weight(c->cin, c->cout, weight, scale, packed);
    else ct_conv_pack_weight(&p, weight, scale, packed);
    c->packed = packed;
    return 1;
}

/* A bias-carrying convolution `prefix`.weight/.bias. */
static int load_conv(loader *L, const char *prefix, int stride, int pad, ct_conv_layer *c) {
    const ctm_tensor_entry *e;
    const float *w = tensorf(L, &e, "%s.weight", prefix);
    if (!w) return 0;
    conv_shape(e, stride, pad, c);
    c->bias = keptf(L, NULL, "%s.bias", prefix);
    return c->bias && pack_conv(L, c, w, NULL, prefix);
}

/* A bias-free convolution `conv`.weight followed by BatchNorm `bn`, folded:
 * alpha = w_bn / sqrt(var + eps), weight' = weight * alpha, bias' = b_bn - mean * alpha
 * (the same alpha/beta PyTorch's eval BatchNorm computes); the scaling
 * happens while the weights are packed. */
static int load_conv_bn(loader *L, const char *conv, const char *bn, int stride, int pad,
                        ct_conv_layer *c) {
    const ctm_tensor_entry *e;
    const float *w = tensorf(L, &e, "%s.weight", conv);
    const float *gamma = tensorf(L, NULL, "%s.weight", bn);
    const float *beta = tensorf(L, NULL, "%s.bias", bn);
    const float *mean = tensorf(L, NULL, "%s.running_mean", bn);
    const float *var = tensorf(L, NULL, "%s.running_var", bn);
    if (!w || !gamma || !beta || !mean || !var) return 0;
    conv_shape(e, stride, pad, c);
    float *alpha = staging(L, (size_t)c->cout, bn);   /* [cout] */
    float *fb = owned(L, (size_t)c->cout, bn);        /* [cout] */
    if (!alpha || !fb) return 0;
    for (int o = 0; o < c->cout; o++) {
        float invstd = 1.0f / sqrtf(var[o] + BN_EPS);
        alpha[o] = invstd * gamma[o];
        fb[o] = fmaf(-mean[o], alpha[o], beta[o]);
    }
    c->bias = fb;
    return pack_conv(L, c, w, alpha, conv);
}

/* Linear layers whose weights [out_i, in] are stacked row-wise into one
 * layer (several heads on the same input run as one GEMM). */
static int load_linear_stack(loader *L, const char *const *prefixes, int count, ct_linear_layer *f) {
    const float *w[2], *b[2];
    int rows[2];
    f->out = 0;
    for (int i = 0; i < count; i++) {
        const ctm_tensor_entry *e;
        if (!(w[i] = tensorf(L, &e, "%s.weight", prefixes[i])) || !(b[i] = tensorf(L, NULL, "%s.bias", prefixes[i])))
            return 0;
        rows[i] = (int)e->dims[0];
        f->in = (int)ct_modelfile_numel(e) / rows[i];
        f->out += rows[i];
    }
    float *stacked = count > 1 ? staging(L, (size_t)f->out * f->in, prefixes[0]) : (float *)w[0];
    float *bias = owned(L, (size_t)f->out, prefixes[0]);
    float *packed = owned(L, ct_gemm_packed_a_floats(f->out, f->in), prefixes[0]);
    if (!stacked || !bias || !packed) return 0;
    for (int i = 0, row = 0; i < count; row += rows[i], i++) {
        if (count > 1) memcpy(stacked + (size_t)row * f->in, w[i], (size_t)rows[i] * f->in * sizeof *stacked);
        memcpy(bias + row, b[i], (size_t)rows[i] * sizeof *bias);
    }
    ct_gemm_pack_a(f->out, f->in, stacked, f->in, 1, NULL, packed);
    f->packed = packed;
    f->bias = bias;
    return 1;
}

static int load_linear(loader *L, const char *prefix, ct_linear_layer *f) {
    return load_linear_stack(L, &prefix, 1, f);
}

static const int BLOCKS[3][4] = {{2, 2, 2, 2}, {3, 4, 6, 3}, {3, 4, 6, 3}};

static int load_backbone(loader *L, ct_network *net) {
    const ctm_config *cfg = &net->cfg;
    int bottleneck = cfg->backbone_depth == 50;
    const int *blocks = BLOCKS[cfg->backbone_depth == 18 ? 0 : cfg->backbone_depth == 34 ? 1 : 2];
    net->num_layers = cfg->truncation == CTM_TRUNCATION_NONE ? 4 : 4 - (int)cfg->truncation;
    if (!load_conv_bn(L, "backbone.body.conv1", "backbone.body.bn1", 2, 3, &net->stem)) return 0;
    char conv[CTM_NAME_LEN], bn[CTM_NAME_LEN];
    for (int l = 0; l < net->num_layers; l++) {
        net->num_blocks[l] = blocks[l];
        for (int b = 0; b < blocks[l]; b++) {
            ct_block *blk = &net->blocks[l][b];
            int stride = (b == 0 && l > 0) ? 2 : 1;
            blk->num_convs = bottleneck ? 3 : 2;
            for (int k = 0; k < blk->num_convs; k++) {
                /* Basic: 3x3 (stride), 3x3. Bottleneck: 1x1, 3x3 (stride), 1x1. */
                int is3x3 = bottleneck ? k == 1 : 1;
                int s = (bottleneck ? k == 1 : k == 0) ? stride : 1;
                snprintf(conv, sizeof conv, "backbone.body.layer%d.%d.conv%d", l + 1, b, k + 1);
                snprintf(bn, sizeof bn, "backbone.body.layer%d.%d.bn%d", l + 1, b, k + 1);
                if (!load_conv_bn(L, conv, bn, s, is3x3 ? 1 : 0, &blk->conv[k])) return 0;
            }
            snprintf(conv, sizeof conv, "backbone.body.layer%d.%d.downsample.0.weight", l + 1, b);
            blk->has_downsample = ct_modelfile_find(L->file, conv) != NULL;
            if (blk->has_downsample) {
                snprintf(conv, sizeof conv, "backbone.body.layer%d.%d.downsample.0", l + 1, b);
                snprintf(bn, sizeof bn, "backbone.body.layer%d.%d.downsample.1", l + 1, b);
                if (!load_conv_bn(L, conv, bn, stride, 0, &blk->downsample)) return 0;
            }
        }
        const ct_block *last = &net->blocks[l][blocks[l] - 1];
        net->layer_channels[l] = last->conv[last->num_convs - 1].cout;
    }
    return 1;
}

/* FPN over the last num_levels kept layers; level i reads layer (num_layers - num_levels + i). */
static int load_fpn(loader *L, ct_network *net) {
    net->num_levels = net->cfg.truncation == CTM_TRUNCATION_NONE ? 4 : 1;
    char name[CTM_NAME_LEN];
    for (int i = 0; i < net->num_levels; i++) {
        snprintf(name, sizeof name, "backbone.fpn.inner_blocks.%d", i);
        if (!load_conv(L, name, 1, 0, &net->fpn_inner[i])) return 0;
        snprintf(name, sizeof name, "backbone.fpn.layer_blocks.%d", i);
        if (!load_conv(L, name, 1, 1, &net->fpn_layer[i])) return 0;
    }
    return 1;
}

/* A 1x1 convolution made of stacked 1x1 convolutions on the same input. */
static int load_pointwise_stack(loader *L, const char *const *prefixes, int count, ct_conv_layer *c) {
    ct_linear_layer f;
    if (!load_linear_stack(L, prefixes, count, &f)) return 0;
    *c = (ct_conv_layer){f.in, f.out, 1, 1, 1, 0, 0, f.packed, f.bias};
    return 1;
}

static const char *const RPN_OUTPUTS[2] = {"rpn.head.cls_logits", "rpn.head.bbox_pred"};
static const char *const BOX_PREDICTOR[2] = {"roi_heads.box_predictor.cls_score",
                                             "roi_heads.box_predictor.bbox_pred"};

static int load_mask_branch(loader *L, ct_network *net) {
    net->num_mask_convs = net->cfg.backbone_depth == 50 ? 4 : 1;
    char name[CTM_NAME_LEN];
    for (int i = 0; i < net->num_mask_convs; i++) {
        snprintf(name, sizeof name, "roi_heads.mask_head.mask_fcn%d", i + 1);
        if (!load_conv(L, name, 1, 1, &net->mask_conv[i])) return 0;
    }
    const ctm_tensor_entry *e;
    const float *w = tensor(L, "roi_heads.mask_predictor.conv5_mask.weight", &e);
    const float *b = tensor(L, "roi_heads.mask_predictor.conv5_mask.bias", NULL);
    if (!w || !b) return 0;
    net->deconv_cin = (int)e->dims[0];
    net->deconv_cout = (int)e->dims[1];
    float *packed = owned(L, ct_deconv_packed_floats(net->deconv_cin, net->deconv_cout), "conv5_mask");
    if (!packed) return 0;
    ct_deconv_pack(net->deconv_cin, net->deconv_cout, w, b, packed);
    net->deconv_packed = packed;
    net->mask_logits_weight = kept(L, "roi_heads.mask_predictor.mask_fcn_logits.weight", NULL);
    net->mask_logits_bias = kept(L, "roi_heads.mask_predictor.mask_fcn_logits.bias", NULL);
    return net->mask_logits_weight && net->mask_logits_bias;
}

static int load_heads(loader *L, ct_network *net) {
    const ctm_config *cfg = &net->cfg;
    net->num_anchors = (int)(cfg->num_anchor_sizes * cfg->num_aspect_ratios);
    if (!load_conv(L, "rpn.head.conv", 1, 1, &net->rpn_conv) ||
        !load_pointwise_stack(L, RPN_OUTPUTS, 2, &net->rpn_out) ||
        !load_linear(L, "roi_heads.box_head.fc6", &net->fc6) ||
        !load_linear(L, "roi_heads.box_head.fc7", &net->fc7) ||
        !load_linear_stack(L, BOX_PREDICTOR, 2, &net->predictor))
        return 0;
    if (cfg->task == CTM_TASK_CLASSIFICATION)
        return load_linear(L, "s2new.fc_scores", &net->s_fc1) &&
               load_linear(L, "s2new.fc_scores_2", &net->s_fc2) &&
               load_linear(L, "s2new.fc_scores_img", &net->s_fc3);
    return load_mask_branch(L, net);
}

static void fill_info(ct_model *m, const ct_modelfile *file) {
    const ctm_config *cfg = &m->net.cfg;
    ct_model_info *info = &m->info;
    info->task = cfg->task == CTM_TASK_CLASSIFICATION ? CT_TASK_CLASSIFICATION : CT_TASK_SEGMENTATION;
    info->backbone_depth = (int)cfg->backbone_depth;
    info->truncation = cfg->truncation == CTM_TRUNCATION_NONE ? -1 : (int)cfg->truncation;
    info->num_classes = (int)cfg->num_classes;
    for (int i = 0; i < info->num_classes && i < (int)CTM_MAX_CLASSES; i++)
        info->class_names[i] = cfg->class_names[i];
    info->num_image_classes = (int)cfg->num_image_classes;
    for (int i = 0; i < info->num_image_classes && i < (int)CTM_IMAGE_CLASSES; i++)
        info->image_class_names[i] = cfg->image_class_names[i];
    info->num_parameters = ct_modelfile_parameter_count(file);
}

ct_status ct_model_load(const char *path, ct_model **out, ct_error *err) {
    *out = NULL;
    ct_model *m = calloc(1, sizeof *m);
    if (!m) return ct_fail(err, CT_E_NOMEM, "out of memory");
    loader L = {.model = m, .err = err};
    ct_status st = ct_modelfile_open(path, &L.file, err);
    if (st != CT_OK) {
        free(m);
        return st;
    }
    ct_arena_init(&m->memory);
    ct_arena_init(&L.scratch);
    /* The config is copied so that names in it stay NUL-terminated for the info struct. */
    memcpy(&m->net.cfg, ct_modelfile_config(L.file), sizeof m->net.cfg);
    int ok = ct_modelfile_check_finite(L.file, err) == CT_OK && load_backbone(&L, &m->net) &&
             load_fpn(&L, &m->net) && load_heads(&L, &m->net);
    if (ok) fill_info(m, L.file);
    ct_arena_free(&L.scratch);
    ct_modelfile_close(L.file);
    if (!ok) {
        ct_error_prefix(err, path);
        st = err ? err->status : CT_E_FORMAT;
        ct_model_free(m);
        return st;
    }
    *out = m;
    return CT_OK;
}

void ct_model_free(ct_model *model) {
    if (!model) return;
    ct_arena_free(&model->memory);
    free(model);
}

const ct_model_info *ct_model_get_info(const ct_model *model) { return &model->info; }
