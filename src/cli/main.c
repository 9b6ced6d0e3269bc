/* ctinfer: run a converted model on a CT slice and report what it found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/args.h"
#include "cli/decode.h"
#include "cli/outputs.h"
#include "cli/report.h"
#include "ctinfer.h"
#include "image/slice.h"
#include "model/modelfile.h"
#include "model/summary.h"
#include "util/error.h"

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int fail(const ct_error *err) {
    fprintf(stderr, "ctinfer: %s\n", err->message);
    return EXIT_FAILED;
}

static int print_info(const char *path) {
    ct_error err = {0};
    ct_modelfile *mf;
    if (ct_modelfile_open(path, &mf, &err) != CT_OK) return fail(&err);
    printf("%s\n", path);
    ct_summary_print(stdout, ct_modelfile_config(mf), ct_modelfile_entry(mf, 0), ct_modelfile_count(mf));
    ct_modelfile_close(mf);
    return 0;
}

static void slice_options(const cli_args *a, ct_slice_options *so) {
    ct_slice_options_default(so);
    if (a->window_set) {
        so->window_width = a->window_width;
        so->window_level = a->window_level;
    }
    if (a->hu_offset.set) so->hu_offset = a->hu_offset.value;
}

static int run(const cli_args *a) {
    ct_error err = {0};
    int rc = EXIT_FAILED;
    double t0 = now_ms();
    ct_model *model = NULL;
    ct_session *session = NULL;
    ct_slice slice = {0};
    ct_result res = {0};
    cli_outputs outputs = {0};
    if (ct_model_load(a->model_path, &model, &err) != CT_OK) return fail(&err);
    double load_ms = now_ms() - t0;
    ct_options opt;
    ct_options_default(model, &opt);
    cli_apply_options(a, &opt);
    if (ct_session_new(model, &opt, &session, &err) != CT_OK) {
        fprintf(stderr, "ctinfer: %s\n", err.message);
        rc = EXIT_USAGE;
        goto done;
    }
    ct_slice_options so;
    slice_options(a, &so);
    t0 = now_ms();
    if (ct_load_slice(a->image_path, &so, &slice, &err) != CT_OK) {
        fail(&err);
        goto done;
    }
    if (slice.warnings & CT_SLICE_WARN_MULTIFRAME)
        fprintf(stderr, "ctinfer: %s: warning: %d frames, using frame 0\n", a->image_path, slice.frames);
    double decode_ms = now_ms() - t0;
    ct_image img = {slice.width, slice.height, slice.channels, slice.pixels};
    cli_outputs_attach(&outputs, a, session);
    if (ct_run(session, &img, &res, &err) != CT_OK) {
        ct_error_prefix(&err, a->image_path);
        fail(&err);
        goto done;
    }
    const ct_model_info *info = ct_model_get_info(model);
    cli_report report = {a->image_path, slice.width, slice.height, info, &opt, &res, load_ms, decode_ms};
    if (cli_outputs_write(&outputs, &report, &err) != CT_OK) {
        fail(&err);
        goto done;
    }
    if (a->json) cli_print_json(stdout, &report);
    else cli_print_text(stdout, &report);
    rc = 0;
done:
    cli_outputs_free(&outputs);
    ct_result_free(&res);
    ct_slice_free(&slice);
    ct_session_free(session);
    ct_model_free(model);
    return rc;
}

int main(int argc, char **argv) {
    cli_args args;
    char msg[256];
    if (cli_parse(argc, argv, &args, msg, sizeof msg) != 0) {
        fprintf(stderr, "ctinfer: %s\n%s", msg, CLI_USAGE);
        return EXIT_USAGE;
    }
    switch (args.command) {
    case CLI_HELP:
        printf("%s\n%s", CLI_USAGE, CLI_HELP_TEXT);
        return 0;
    case CLI_VERSION:
        printf("ctinfer %s\n", CTINFER_VERSION);
        return 0;
    case CLI_INFO:
        return print_info(args.model_path);
    case CLI_DECODE: {
        ct_error err = {0};
        return cli_decode(args.image_path, args.decode_out, &err) == CT_OK ? 0 : fail(&err);
    }
    case CLI_RUN:
        return run(&args);
    }
    return EXIT_FAILED;
}
