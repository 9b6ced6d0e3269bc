/* Model loading, session setup and running one slice (see engine.h). */
#include "cli/engine.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/session.h"
#include "util/error.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Trace hook: keeps a copy of the "input" stage tensor. */
static void capture_input(void *user, const char *stage, const float *data, int rank, const int *dims) {
    cli_engine *e = user;
    if (strcmp(stage, "input") != 0 || rank != 3) return;
    size_t n = (size_t)dims[0] * (size_t)dims[1] * (size_t)dims[2];
    if (n > e->input_capacity) {
        free(e->input);
        e->input = malloc(n * sizeof *e->input);
        e->input_capacity = e->input ? n : 0;
        if (!e->input) return;
    }
    memcpy(e->input, data, n * sizeof *e->input);
    memcpy(e->input_dims, dims, sizeof e->input_dims);
    e->input_ok = 1;
}

static void slice_options(const cli_args *a, ct_slice_options *so) {
    ct_slice_options_default(so);
    if (a->window_set) {
        so->window_width = a->window_width;
        so->window_level = a->window_level;
    }
    if (a->hu_offset.set) so->hu_offset = a->hu_offset.value;
}

ct_status cli_engine_open(cli_engine *e, const cli_args *args, int capture, ct_error *err) {
    memset(e, 0, sizeof *e);
    double t0 = now_ms();
    ct_status st = ct_model_load(args->model_path, &e->model, err);
    if (st != CT_OK) return st;
    e->load_ms = now_ms() - t0;
    e->info = ct_model_get_info(e->model);
    ct_options_default(e->model, &e->opt);
    cli_apply_options(args, &e->opt);
    if ((st = ct_session_new(e->model, &e->opt, &e->session, err)) != CT_OK) {
        cli_engine_close(e);
        return st;
    }
    if (capture) ct_session_set_trace(e->session, capture_input, e);
    slice_options(args, &e->slice_opt);
    return CT_OK;
}

void cli_engine_close(cli_engine *e) {
    free(e->input);
    ct_session_free(e->session);
    ct_model_free(e->model);
    memset(e, 0, sizeof *e);
}

ct_status cli_engine_run(cli_engine *e, const char *path, cli_slice_run *run, ct_error *err) {
    memset(run, 0, sizeof *run);
    run->path = path;
    e->input_ok = 0;
    double t0 = now_ms();
    ct_status st = ct_load_slice(path, &e->slice_opt, &run->slice, err);
    if (st != CT_OK) return st;
    run->decode_ms = now_ms() - t0;
    ct_image img = {run->slice.width, run->slice.height, run->slice.channels, run->slice.pixels};
    st = ct_run(e->session, &img, &run->result, err);
    if (st != CT_OK) ct_error_prefix(err, path);
    return st;
}

void cli_slice_run_free(cli_slice_run *run) {
    ct_result_free(&run->result);
    ct_slice_free(&run->slice);
}
