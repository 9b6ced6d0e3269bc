/* ct_model_load: validate the file, then prepare every layer once — fold each
 * BatchNorm into its convolution and widen float16 tensors — so that a run
 * only reads. */
#include "model/model.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/modelfile.h"
#include "util/error.h"
#include "util/half.h"

#define BN_EPS 1e-5f

typedef struct {
    ct_model *model;
    ct_error *err;
} loader;

static float *owned_alloc(loader *L, size_t count) {
    ct_model *m = L->model;
    if (m->num_owned == m->cap_owned) {
        int cap = m->cap_owned ? 2 * m->cap_owned : 64;
        float **grown = realloc(m->owned, (size_t)cap * sizeof *grown);
        if (!grown) return NULL;
        m->owned = grown;
        m->cap_owned = cap;
    }
    float *p = malloc((count ? count : 1) * sizeof(float));
    if (p) m->owned[m->num_owned++] = p;
    return p;
}

/* The tensor `name` as float32 (a view into the file, or a widened copy);
 * *entry_out receives its table entry. */
static const float *tensor(loader *L, const char *name, const ctm_tensor_entry **entry_out) {
    const ctm_tensor_entry *e = ct_modelfile_find(L->model->file, name);
    if (!e) {
        ct_fail(L->err, CT_E_FORMAT, "model file has no tensor %s", name);
        return NULL;
    }
    if (entry_out) *entry_out = e;
    const void *data = ct_modelfile_data(L->model->file, e);
    size_t n = ct_modelfile_numel(e);
    if (e->dtype == CTM_DTYPE_F32) return data;
    float *wide = owned_alloc(L, n);
    if (!wide) {
        ct_fail(L->err, CT_E_NOMEM, "out of memory widening %s", name);
        return NULL;
    }
    ct_half_to_float(data, wide, n);
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

/* Shape of a convolution from its weight entry [cout,cin,kh,kw]. */
static void conv_shape(const ctm_tensor_entry *e, int stride, int pad, ct_conv_layer *c) {
    c->cout = (int)e->dims[0];
    c->cin = (int)e->dims[1];
    c->kh = (int)e->dims[2];
    c->kw = (int)e->dims[3];
    c->stride = stride;
    c->pad = pad;
}

/* A bias-carrying convolution `prefix`.weight/.bias. */
static int load_conv(loader *L, const char *prefix, int stride, int pad, ct_conv_layer *c) {
    const ctm_tensor_entry *e;
    c->weight = tensorf(L, &e, "%s.weight", prefix);
    if (!c->weight) return 0;
    conv_shape(e, stride, pad, c);
    c->bias = tensorf(L, NULL, "%s.bias", prefix);
    return c->bias != NULL;
}

/* A bias-free convolution `conv`.weight followed by BatchNorm `bn`, folded:
 * alpha = w_bn / sqrt(var + eps), weight' = weight * alpha, bias' = b_bn - mean * alpha
 * (the same alpha/beta PyTorch's eval BatchNorm computes). */
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
    size_t per_out = (size_t)c->cin * c->kh * c->kw;
    float *fw = owned_alloc(L, (size_t)c->cout * per_out);  /* [cout,cin,kh,kw] */
    float *fb = owned_alloc(L, (size_t)c->cout);             /* [cout] */
    if (!fw || !fb) {
        ct_fail(L->err, CT_E_NOMEM, "out of memory folding %s", bn);
        return 0;
    }
    for (int o = 0; o < c->cout; o++) {
        float invstd = 1.0f / sqrtf(var[o] + BN_EPS);
        float alpha = invstd * gamma[o];
        fb[o] = fmaf(-mean[o], alpha, beta[o]);
        for (size_t i = 0; i < per_out; i++) fw[o * per_out + i] = w[o * per_out + i] * alpha;
    }
    c->weight = fw;
    c->bias = fb;
    return 1;
}

static int load_linear(loader *L, const char *prefix, ct_linear_layer *f) {
    const ctm_tensor_entry *e;
    f->weight = tensorf(L, &e, "%s.weight", prefix);
    if (!f->weight) return 0;
    f->out = (int)e->dims[0];
    f->in = (int)e->dims[1];
    f->bias = tensorf(L, NULL, "%s.bias", prefix);
    return f->bias != NULL;
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
            blk->has_downsample = ct_modelfile_find(L->model->file, conv) != NULL;
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

static int load_heads(loader *L, ct_network *net) {
    const ctm_config *cfg = &net->cfg;
    net->num_anchors = (int)(cfg->num_anchor_sizes * cfg->num_aspect_ratios);
    if (!load_conv(L, "rpn.head.conv", 1, 1, &net->rpn_conv) ||
        !load_conv(L, "rpn.head.cls_logits", 1, 0, &net->rpn_cls) ||
        !load_conv(L, "rpn.head.bbox_pred", 1, 0, &net->rpn_bbox) ||
        !load_linear(L, "roi_heads.box_head.fc6", &net->fc6) ||
        !load_linear(L, "roi_heads.box_head.fc7", &net->fc7) ||
        !load_linear(L, "roi_heads.box_predictor.cls_score", &net->cls_score) ||
        !load_linear(L, "roi_heads.box_predictor.bbox_pred", &net->bbox_pred))
        return 0;
    if (cfg->task == CTM_TASK_CLASSIFICATION)
        return load_linear(L, "s2new.fc_scores", &net->s_fc1) &&
               load_linear(L, "s2new.fc_scores_2", &net->s_fc2) &&
               load_linear(L, "s2new.fc_scores_img", &net->s_fc3);

    net->num_mask_convs = cfg->backbone_depth == 50 ? 4 : 1;
    char name[CTM_NAME_LEN];
    for (int i = 0; i < net->num_mask_convs; i++) {
        snprintf(name, sizeof name, "roi_heads.mask_head.mask_fcn%d", i + 1);
        if (!load_conv(L, name, 1, 1, &net->mask_conv[i])) return 0;
    }
    const ctm_tensor_entry *e;
    net->deconv_weight = tensor(L, "roi_heads.mask_predictor.conv5_mask.weight", &e);
    if (!net->deconv_weight) return 0;
    net->deconv_cin = (int)e->dims[0];
    net->deconv_cout = (int)e->dims[1];
    net->deconv_bias = tensor(L, "roi_heads.mask_predictor.conv5_mask.bias", NULL);
    return net->deconv_bias &&
           load_conv(L, "roi_heads.mask_predictor.mask_fcn_logits", 1, 0, &net->mask_logits);
}

static void fill_info(ct_model *m) {
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
    info->num_parameters = ct_modelfile_parameter_count(m->file);
}

ct_status ct_model_load(const char *path, ct_model **out, ct_error *err) {
    *out = NULL;
    ct_model *m = calloc(1, sizeof *m);
    if (!m) return ct_fail(err, CT_E_NOMEM, "out of memory");
    ct_status st = ct_modelfile_open(path, &m->file, err);
    if (st != CT_OK) {
        free(m);
        return st;
    }
    /* The config is copied so that names in it stay NUL-terminated for the info struct. */
    memcpy(&m->net.cfg, ct_modelfile_config(m->file), sizeof m->net.cfg);
    loader L = {m, err};
    if (!load_backbone(&L, &m->net) || !load_fpn(&L, &m->net) || !load_heads(&L, &m->net)) {
        ct_error_prefix(err, path);
        st = err ? err->status : CT_E_FORMAT;
        ct_model_free(m);
        return st;
    }
    fill_info(m);
    *out = m;
    return CT_OK;
}

void ct_model_free(ct_model *model) {
    if (!model) return;
    for (int i = 0; i < model->num_owned; i++) free(model->owned[i]);
    free(model->owned);
    ct_modelfile_close(model->file);
    free(model);
}

const ct_model_info *ct_model_get_info(const ct_model *model) { return &model->info; }
