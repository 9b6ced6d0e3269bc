/* Output files, each written atomically (temporary file, then rename). */
#include "cli/outputs.h"

#include <stdlib.h>
#include <string.h>

#include "image/npy_write.h"
#include "image/png_encode.h"
#include "util/error.h"

static void capture_input(void *user, const char *stage, const float *data, int rank, const int *dims) {
    cli_outputs *o = user;
    if (strcmp(stage, "input") != 0 || rank != 3) return;
    size_t n = (size_t)dims[0] * dims[1] * dims[2];
    free(o->input);
    o->input = malloc(n * sizeof *o->input);
    if (!o->input) return;
    memcpy(o->input, data, n * sizeof *o->input);
    memcpy(o->input_dims, dims, sizeof o->input_dims);
}

void cli_outputs_attach(cli_outputs *o, const cli_args *args, ct_session *session) {
    memset(o, 0, sizeof *o);
    o->args = args;
    if (args->dump_input) ct_session_set_trace(session, capture_input, o);
}

void cli_outputs_free(cli_outputs *o) {
    free(o->input);
    o->input = NULL;
}

/* Union of the detections' masks: logit > mask threshold (compared in float32). */
static ct_status write_mask_png(const char *path, const cli_report *r, ct_error *err) {
    const ct_result *res = r->res;
    size_t plane = (size_t)r->height * r->width;
    uint8_t *pixels = calloc(plane ? plane : 1, 1);
    if (!pixels) return ct_fail(err, CT_E_NOMEM, "out of memory for %s", path);
    float thresh = (float)r->opt->mask_thresh;
    for (int d = 0; d < res->num_detections; d++)
        for (size_t i = 0; i < plane; i++)
            if (res->masks[d * plane + i] > thresh) pixels[i] = 255;
    ct_status st = ct_png_write(path, pixels, r->width, r->height, 1, err);
    free(pixels);
    return st;
}

ct_status cli_outputs_write(const cli_outputs *o, const cli_report *r, ct_error *err) {
    const cli_args *a = o->args;
    const ct_result *res = r->res;
    int segmentation = r->model->task == CT_TASK_SEGMENTATION;
    if ((a->masks_npy || a->mask_png) && !segmentation)
        return ct_fail(err, CT_E_MODEL, "--masks and --mask need a segmentation model; this one is a classifier");
    ct_status st = CT_OK;
    if (a->masks_npy) {
        size_t shape[3] = {(size_t)res->num_detections, (size_t)r->height, (size_t)r->width};
        st = ct_npy_write(a->masks_npy, CT_NPY_F32, shape, 3, res->masks, err);
    }
    if (st == CT_OK && a->mask_png) st = write_mask_png(a->mask_png, r, err);
    if (st == CT_OK && a->dump_input) {
        if (!o->input) return ct_fail(err, CT_E_NOMEM, "out of memory keeping the input tensor");
        size_t shape[3] = {(size_t)o->input_dims[0], (size_t)o->input_dims[1], (size_t)o->input_dims[2]};
        st = ct_npy_write(a->dump_input, CT_NPY_F32, shape, 3, o->input, err);
    }
    return st;
}
