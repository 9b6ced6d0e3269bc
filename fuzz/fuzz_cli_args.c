/* libFuzzer target: ctinfer's argument parser (src/cli/args.c). The input is
 * split at NUL bytes into up to 64 arguments. A refusal must come with a
 * message; an accepted command line must be consistent (a run has a model
 * and at least one input, numbers are in their documented ranges). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"

#define MAX_ARGS 64

static int in(double v, double lo, double hi) { return isfinite(v) && v >= lo && v <= hi; }

static void check_accepted(const cli_args *a) {
    if ((a->command == CLI_RUN || a->command == CLI_BATCH) &&
        (!a->model_path || a->num_inputs < 1 || !a->inputs || !a->inputs[0]))
        abort();
    if (a->command == CLI_RUN && a->num_inputs != 1) abort();
    if (a->command == CLI_DECODE && (a->num_inputs != 1 || !a->decode_out)) abort();
    if (a->command == CLI_INFO && !a->model_path) abort();
    if (a->window_set && !(a->window_width > 0 && isfinite(a->window_level))) abort();
    ct_options o = {0};
    cli_apply_options(a, &o);
    if (!isfinite(o.score_thresh) || !isfinite(o.mask_thresh) || !in(o.nms_thresh, 0, 1) ||
        !in(o.rpn_nms_thresh, 0, 1) || o.threads < 0 || o.threads > 1024 || o.detections < 0 ||
        o.min_size < 0 || o.max_size < 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    char *argv[MAX_ARGS + 1] = {"ctinfer"};
    int argc = 1;
    for (size_t at = 0; at <= size && argc < MAX_ARGS; at += strlen(text + at) + 1) argv[argc++] = text + at;
    argv[argc] = NULL;
    cli_args args;
    char msg[256] = "";
    if (cli_parse(argc, argv, &args, msg, sizeof msg) == 0) check_accepted(&args);
    else if (!msg[0]) abort();
    cli_args_free(&args);
    free(text);
    return 0;
}
