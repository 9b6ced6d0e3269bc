/* ct_model_load: validate the file, then prepare every layer once — fold
 * each BatchNorm into its convolution, widen float16 tensors, pack weights
 * into the GEMM's panels and merge the 1x1 layers that read the same input —
 * so that a run only reads. The prepared weights live in the model's own
 * memory; the file mapping is released when loading ends.
 *
 * The packing, most of the work, is only recorded while the layers are
 * walked (its destination allocated, its sources left in the mapping or the
 * scratch arena) and done at the end, largest first, on one thread per
 * core, beside the scan that refuses non-finite weights. */
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
#include "threadpool.h"
#include "util/error.h"
#include "util/half.h"
#include "winograd.h"

#define BN_EPS 1e-5f
/* The largest architecture (ResNet50 + FPN + mask heads) has 70 packings. */
#define MAX_PACK_JOBS 128

/* A float16 tensor whose float32 copy is left for its packing job. */
typedef struct {
    const void *half;           /* the file's data, or NULL: nothing to widen */
    float *wide;                /* its staging copy, the job's source */
} deferred_widening;

/* One weight packing left for the end of loading. */
typedef struct {
    enum { PACK_WINOGRAD, PACK_CONV, PACK_GEMM } kind;
    ct_conv_params conv;        /* PACK_WINOGRAD, PACK_CONV */
    int rows, cols;             /* src [rows, cols] (a convolution's [cout, cin*kh*kw]) */
    const float *src, *scale;   /* scale: [rows or cout], or NULL */
    deferred_widening widen;    /* src first widened from float16 */
    int bins;                   /* PACK_GEMM, > 0: src's columns [cols/bins][bins] packed bin-major */
    float *dst;
    size_t floats;              /* dst's size: the job's cost */
} pack_job;

typedef struct {
    ct_model *model;
    ct_modelfile *file;
    ct_arena scratch;            /* widened tensors and staging, freed when loading ends */
    ct_error *err;
    pack_job jobs[MAX_PACK_JOBS];
    int num_jobs;
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
 * widened copy; *entry_out (if not NULL) receives its table entry. With
 * `later` (for the weights only a packing job reads), a float16 tensor's
 * copy is left for the job to widen (later->half set, else NULL). */
static const float *tensor_as(loader *L, const char *name, const ctm_tensor_entry **entry_out,
                              deferred_widening *later) {
    const ctm_tensor_entry *e = ct_modelfile_find(L->file, name);
    if (later) *later = (deferred_widening){NULL, NULL};
    if (!e) {
        ct_fail(L->err, CT_E_FORMAT, "model file has no tensor %s", name);
        return NULL;
    }
    if (entry_out) *entry_out = e;
    const void *data = ct_modelfile_data(L->file, e);
    if (e->dtype == CTM_DTYPE_F32) return data;
    size_t n = ct_modelfile_numel(e);
    float *wide = staging(L, n, name);
    if (wide && later) *later = (deferred_widening){data, wide};
    else if (wide) ct_half_to_float(data, wide, n);
    return wide;
}

static const float *tensor(loader *L, const char *name, const ctm_tensor_entry **entry_out) {
    return tensor_as(L, name, entry_out, NULL);
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

/* Room in the model's memory for a packing of `floats`, recorded for the
 * end of loading; NULL (err set) when out of memory or jobs. */
static float *defer_pack(loader *L, pack_job job, const char *what) {
    if (L->num_jobs == MAX_PACK_JOBS) {
        ct_fail(L->err, CT_E_UNSUPPORTED, "too many layers to prepare (%s)", what);
        return NULL;
    }
    if (!(job.dst = owned(L, job.floats, what))) return NULL;
    L->jobs[L->num_jobs++] = job;
    return job.dst;
}

/* The layer's weights [cout, cin*kh*kw] (rows times scale[o] if given)
 * packed into the model's memory: Winograd-transformed for 3x3 stride-1
 * convolutions, as GEMM panels for the others. */
static int pack_conv(loader *L, ct_conv_layer *c, const float *weight, deferred_widening widen, const float *scale,
                     const char *what) {
    ct_conv_params p = {c->cin, 1, 1, c->cout, c->kh, c->kw, c->stride, c->pad, 1, 0};
    c->winograd = ct_winograd_fits(&p);
    pack_job job = {c->winograd ? PACK_WINOGRAD : PACK_CONV, p, c->cout, c->cin * c->kh * c->kw, weight, scale, widen,
                    0, NULL, c->winograd ? ct_winograd_packed_floats(c->cin, c->cout) : ct_conv_packed_floats(&p)};
    return (c->packed = defer_pack(L, job, what)) != NULL;
}

static void run_pack_job(void *arg, int index, int thread) {
    (void)thread;
    const pack_job *j = (const pack_job *)arg + index;
    if (j->widen.half) ct_half_to_float(j->widen.half, j->widen.wide, (size_t)j->rows * j->cols);
    if (j->kind == PACK_WINOGRAD) ct_winograd_pack_weight(j->conv.cin, j->conv.cout, j->src, j->scale, j->dst);
    else if (j->kind == PACK_CONV) ct_conv_pack_weight(&j->conv, j->src, j->scale, j->dst);
    else if (j->bins) ct_gemm_pack_a_bin_major(j->rows, j->cols, j->src, j->bins, j->scale, j->dst);
    else ct_gemm_pack_a(j->rows, j->cols, j->src, j->cols, 1, j->scale, j->dst);
}

static int larger_job_first(const void *a, const void *b) {
    size_t x = ((const pack_job *)a)->floats, y = ((const pack_job *)b)->floats;
    return (x < y) - (x > y);
}

/* Task 0 scans the file for NaN and infinities, task 1 + i runs pack job i. */
typedef struct {
    loader *L;
    ct_status finite;
} finish_job;

static void finish_task(void *arg, int index, int thread) {
    finish_job *f = arg;
    if (index == 0) f->finite = ct_modelfile_check_finite(f->L->file, f->L->err);
    else run_pack_job(f->L->jobs, index - 1, thread);
}

/* The scan for non-finite weights and every recorded packing, largest
 * first, on one thread per core (or on this one alone when threads cannot
 * be started); fails when the scan does (the packings are then wasted). */
static int finish_loading(loader *L) {
    qsort(L->jobs, (size_t)L->num_jobs, sizeof *L->jobs, larger_job_first);
    finish_job f = {L, CT_OK};
    int tasks = 1 + L->num_jobs, threads = ct_cpu_count() < tasks ? ct_cpu_count() : tasks;
    ct_pool *pool = threads > 1 ? ct_pool_new(threads) : NULL;
    ct_pool_run(pool, tasks, finish_task, &f);
    ct_pool_free(pool);
    return f.finite == CT_OK;
}

/* `prefix`.weight as the source of a packing job (tensor_as). */
static const float *pack_source(loader *L, const char *prefix, const ctm_tensor_entry **e, deferred_widening *widen) {
    char name[CTM_NAME_LEN + 32];
    snprintf(name, sizeof name, "%s.weight", prefix);
    return tensor_as(L, name, e, widen);
}

/* A bias-carrying convolution `prefix`.weight/.bias. */
static int load_conv(loader *L, const char *prefix, int stride, int pad, ct_conv_layer *c) {
    const ctm_tensor_entry *e;
    deferred_widening widen;
    const float *w = pack_source(L, prefix, &e, &widen);
    if (!w) return 0;
    conv_shape(e, stride, pad, c);
    c->bias = keptf(L, NULL, "%s.bias", prefix);
    return c->bias && pack_conv(L, c, w, widen, NULL, prefix);
}

/* A bias-free convolution `conv`.weight followed by BatchNorm `bn`, folded:
 * alpha = w_bn / sqrt(var + eps), weight' = weight * alpha, bias' = b_bn - mean * alpha
 * (the same alpha/beta PyTorch's eval BatchNorm computes); the scaling
 * happens while the weights are packed. */
static int load_conv_bn(loader *L, const char *conv, const char *bn, int stride, int pad,
                        ct_conv_layer *c) {
    const ctm_tensor_entry *e;
    deferred_widening widen;
    const float *w = pack_source(L, conv, &e, &widen);
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
    return pack_conv(L, c, w, widen, alpha, conv);
}

/* Linear layers whose weights [out_i, in] are stacked row-wise into one
 * layer (several heads on the same input run as one GEMM). bins > 0: the
 * input [in/bins][bins] is taken bin-major, [bins][in/bins] (fc6 on RoIs
 * pooled by ct_roi_panels). */
static int load_linear_stack(loader *L, const char *const *prefixes, int count, int bins, ct_linear_layer *f) {
    const float *w[2], *b[2];
    deferred_widening widen = {NULL, NULL};   /* one layer: its weights widened by the packing job */
    int rows[2];
    f->out = 0;
    for (int i = 0; i < count; i++) {
        const ctm_tensor_entry *e;
        if (!(w[i] = count == 1 ? pack_source(L, prefixes[i], &e, &widen) : tensorf(L, &e, "%s.weight", prefixes[i])) ||
            !(b[i] = tensorf(L, NULL, "%s.bias", prefixes[i])))
            return 0;
        rows[i] = (int)e->dims[0];
        f->in = (int)ct_modelfile_numel(e) / rows[i];
        f->out += rows[i];
    }
    float *stacked = count > 1 ? staging(L, (size_t)f->out * f->in, prefixes[0]) : (float *)w[0];
    float *bias = owned(L, (size_t)f->out, prefixes[0]);
    if (!stacked || !bias) return 0;
    for (int i = 0, row = 0; i < count; row += rows[i], i++) {
        if (count > 1) memcpy(stacked + (size_t)row * f->in, w[i], (size_t)rows[i] * f->in * sizeof *stacked);
        memcpy(bias + row, b[i], (size_t)rows[i] * sizeof *bias);
    }
    if (bins && f->in % bins) {
        ct_fail(L->err, CT_E_FORMAT, "%s has %d inputs, not a multiple of the %d RoI bins", prefixes[0], f->in, bins);
        return 0;
    }
    pack_job job = {PACK_GEMM, {0}, f->out, f->in, stacked, NULL, widen, bins, NULL, ct_gemm_packed_a_floats(f->out, f->in)};
    f->bias = bias;
    return (f->packed = defer_pack(L, job, prefixes[0])) != NULL;
}

static int load_linear(loader *L, const char *prefix, ct_linear_layer *f) {
    return load_linear_stack(L, &prefix, 1, 0, f);
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
    if (!load_linear_stack(L, prefixes, count, 0, &f)) return 0;
    *c = (ct_conv_layer){f.in, f.out, 1, 1, 1, 0, 0, f.packed, f.bias};
    return 1;
}

static const char *const RPN_OUTPUTS[2] = {"rpn.head.cls_logits", "rpn.head.bbox_pred"};
static const char *const FC6 = "roi_heads.box_head.fc6";
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
        !load_linear_stack(L, &FC6, 1, CT_BOX_POOL_SIZE * CT_BOX_POOL_SIZE, &net->fc6) ||
        !load_linear(L, "roi_heads.box_head.fc7", &net->fc7) ||
        !load_linear_stack(L, BOX_PREDICTOR, 2, 0, &net->predictor))
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
    int ok = load_backbone(&L, &m->net) && load_fpn(&L, &m->net) && load_heads(&L, &m->net) && finish_loading(&L);
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
