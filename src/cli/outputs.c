/* Rendering and writing the output files of one run (see outputs.h). */
#include "cli/outputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/npy_write.h"
#include "image/png_encode.h"
#include "output/masks.h"
#include "output/overlay.h"
#include "util/error.h"

typedef ct_status (*output_writer)(const char *path, const cli_engine *e, const cli_slice_run *run,
                                   ct_error *err);

typedef struct {
    const char *name;      /* in --outputs */
    const char *option;    /* the single-slice option */
    const char *suffix;    /* after the stem in --out-dir */
    int needs_segmentation;
    output_writer write;
} output_kind;

static ct_status write_overlay(const char *path, const cli_engine *e, const cli_slice_run *run, ct_error *err) {
    const ct_slice *s = &run->slice;
    ct_overlay_input in = {s->width, s->height, s->channels, s->pixels, e->info, &run->result,
                           (float)e->opt.mask_thresh};
    ct_canvas canvas;
    ct_status st = ct_render_overlay(&in, &canvas, err);
    if (st == CT_OK) st = ct_canvas_write_png(&canvas, path, err);
    ct_canvas_free(&canvas);
    return st;
}

static ct_status write_mask(const char *path, const cli_engine *e, const cli_slice_run *run, ct_error *err) {
    const ct_result *res = &run->result;
    uint8_t *pixels = malloc((size_t)res->mask_width * (size_t)res->mask_height);   /* [H, W] */
    if (!pixels) return ct_fail(err, CT_E_NOMEM, "out of memory for %s", path);
    ct_mask_union(res, (float)e->opt.mask_thresh, pixels);
    ct_status st = ct_png_write(path, pixels, res->mask_width, res->mask_height, 1, err);
    free(pixels);
    return st;
}

static ct_status write_scoremap(const char *path, const cli_engine *e, const cli_slice_run *run, ct_error *err) {
    (void)e;
    ct_canvas canvas;
    ct_status st = ct_render_scoremap(&run->result, &canvas, err);
    if (st == CT_OK) st = ct_canvas_write_png(&canvas, path, err);
    ct_canvas_free(&canvas);
    return st;
}

static ct_status write_masks(const char *path, const cli_engine *e, const cli_slice_run *run, ct_error *err) {
    (void)e;
    const ct_result *res = &run->result;
    size_t shape[3] = {(size_t)res->num_detections, (size_t)res->mask_height, (size_t)res->mask_width};
    return ct_npy_write(path, CT_NPY_F32, shape, 3, res->masks, err);
}

static ct_status write_input(const char *path, const cli_engine *e, const cli_slice_run *run, ct_error *err) {
    (void)run;
    if (!e->input_ok) return ct_fail(err, CT_E_NOMEM, "out of memory keeping the input tensor for %s", path);
    size_t shape[3] = {(size_t)e->input_dims[0], (size_t)e->input_dims[1], (size_t)e->input_dims[2]};
    return ct_npy_write(path, CT_NPY_F32, shape, 3, e->input, err);
}

static const output_kind KINDS[CLI_NUM_KINDS] = {
    [CLI_KIND_OVERLAY] = {"overlay", "--overlay", ".overlay.png", 0, write_overlay},
    [CLI_KIND_MASK] = {"mask", "--mask", ".mask.png", 1, write_mask},
    [CLI_KIND_SCOREMAP] = {"scoremap", "--scoremap", ".scoremap.png", 1, write_scoremap},
    [CLI_KIND_MASKS] = {"masks", "--masks", ".masks.npy", 1, write_masks},
    [CLI_KIND_INPUT] = {"input", "--dump-input", ".input.npy", 0, write_input},
};

static char *copy_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

ct_status cli_output_paths_from_args(const cli_args *a, cli_output_paths *p, ct_error *err) {
    const char *named[CLI_NUM_KINDS] = {a->overlay_png, a->mask_png, a->scoremap_png, a->masks_npy, a->dump_input};
    memset(p, 0, sizeof *p);
    for (int k = 0; k < CLI_NUM_KINDS; k++)
        if (named[k] && !(p->path[k] = copy_string(named[k]))) {
            cli_output_paths_free(p);
            return ct_fail(err, CT_E_NOMEM, "out of memory");
        }
    return CT_OK;
}

ct_status cli_output_paths_in_dir(const char *dir, const char *stem, unsigned kinds, cli_output_paths *p,
                                  ct_error *err) {
    memset(p, 0, sizeof *p);
    for (int k = 0; k < CLI_NUM_KINDS; k++) {
        if (!(kinds & (1u << k))) continue;
        size_t n = strlen(dir) + strlen(stem) + strlen(KINDS[k].suffix) + 2;
        if (!(p->path[k] = malloc(n))) {
            cli_output_paths_free(p);
            return ct_fail(err, CT_E_NOMEM, "out of memory");
        }
        snprintf(p->path[k], n, "%s/%s%s", dir, stem, KINDS[k].suffix);
    }
    return CT_OK;
}

void cli_output_paths_free(cli_output_paths *p) {
    for (int k = 0; k < CLI_NUM_KINDS; k++) free(p->path[k]);
    memset(p, 0, sizeof *p);
}

unsigned cli_output_kinds(const cli_output_paths *p) {
    unsigned kinds = 0;
    for (int k = 0; k < CLI_NUM_KINDS; k++)
        if (p->path[k]) kinds |= 1u << k;
    return kinds;
}

unsigned cli_default_kinds(unsigned requested, const ct_model_info *model) {
    if (requested) return requested;
    unsigned kinds = 1u << CLI_KIND_OVERLAY;
    if (model->task == CT_TASK_SEGMENTATION) kinds |= 1u << CLI_KIND_MASK;
    return kinds;
}

ct_status cli_outputs_check_task(unsigned kinds, const ct_model_info *model, const char *model_path, int batch,
                                 ct_error *err) {
    if (model->task == CT_TASK_SEGMENTATION) return CT_OK;
    for (int k = 0; k < CLI_NUM_KINDS; k++)
        if ((kinds & (1u << k)) && KINDS[k].needs_segmentation)
            return ct_fail(err, CT_E_MODEL, "%s%s needs a segmentation model; %s is a classifier",
                           batch ? "--outputs " : "", batch ? KINDS[k].name : KINDS[k].option, model_path);
    return CT_OK;
}

ct_status cli_check_writable(const char *path, ct_error *err) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    char *dir = malloc(n + 2);
    if (!dir) return ct_fail(err, CT_E_NOMEM, "out of memory");
    if (!slash) strcpy(dir, ".");
    else if (n == 0) strcpy(dir, "/");
    else {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    struct stat sb;
    ct_status st = CT_OK;
    if (stat(dir, &sb) != 0)
        st = ct_fail(err, CT_E_IO, "cannot write %s: directory %s: %s", path, dir, strerror(errno));
    else if (!S_ISDIR(sb.st_mode))
        st = ct_fail(err, CT_E_IO, "cannot write %s: %s is not a directory", path, dir);
    else if (access(dir, W_OK) != 0)
        st = ct_fail(err, CT_E_IO, "cannot write %s: directory %s is not writable", path, dir);
    else if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        st = ct_fail(err, CT_E_IO, "cannot write %s: %s", path,
                     S_ISDIR(sb.st_mode) ? "it is a directory" : "it exists and is not a regular file");
    free(dir);
    return st;
}

ct_status cli_prepare_out_dir(const char *dir, ct_error *err) {
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return ct_fail(err, CT_E_IO, "cannot make the output directory %s: %s", dir, strerror(errno));
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ct_fail(err, CT_E_IO, "the output directory %s is not a directory", dir);
    if (access(dir, W_OK) != 0) return ct_fail(err, CT_E_IO, "the output directory %s is not writable", dir);
    return CT_OK;
}

ct_status cli_outputs_write(const cli_output_paths *p, const cli_engine *e, const cli_slice_run *run,
                            ct_error *err) {
    for (int k = 0; k < CLI_NUM_KINDS; k++) {
        if (!p->path[k]) continue;
        ct_status st = KINDS[k].write(p->path[k], e, run, err);
        if (st != CT_OK) return st;
    }
    return CT_OK;
}
