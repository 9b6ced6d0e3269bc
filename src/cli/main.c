/* ctinfer: run a converted model on CT slices and report what it found. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/args.h"
#include "cli/batch.h"
#include "cli/decode.h"
#include "cli/engine.h"
#include "cli/inputs.h"
#include "cli/outputs.h"
#include "cli/report.h"
#include "ctinfer.h"
#include "model/modelfile.h"
#include "model/summary.h"
#include "util/error.h"

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

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

/* The files of a single-slice run: named by the options, or in --out-dir. */
static ct_status single_output_paths(const cli_args *a, const cli_engine *e, cli_output_paths *paths,
                                     ct_error *err) {
    if (!a->out_dir) return cli_output_paths_from_args(a, paths, err);
    char *stem = cli_input_stem(a->inputs[0]);
    if (!stem) return ct_fail(err, CT_E_NOMEM, "out of memory");
    ct_status st = cli_prepare_out_dir(a->out_dir, err);
    if (st == CT_OK) st = cli_output_paths_in_dir(a->out_dir, stem, cli_default_kinds(a->outputs, e->info), paths, err);
    free(stem);
    return st;
}

/* Everything that can be refused before running: the task and the paths. */
static ct_status check_outputs(const cli_args *a, const cli_engine *e, const cli_output_paths *paths,
                               ct_error *err) {
    ct_status st = cli_outputs_check_task(cli_output_kinds(paths), e->info, a->model_path, a->out_dir != NULL, err);
    for (int k = 0; k < CLI_NUM_KINDS && st == CT_OK; k++)
        if (paths->path[k]) st = cli_check_writable(paths->path[k], err);
    return st;
}

static int run_single(const cli_args *a, const char *image_path) {
    if (cli_is_directory(image_path)) {
        fprintf(stderr, "ctinfer: %s is a directory (to run every slice in it, add --jsonl OUT.jsonl)\n",
                image_path);
        return EXIT_FAILED;
    }
    ct_error err = {0};
    cli_engine e;
    int capture = a->dump_input || (a->out_dir && (a->outputs & (1u << CLI_KIND_INPUT)));
    ct_status st = cli_engine_open(&e, a, capture, &err);
    if (st != CT_OK) {
        fail(&err);
        return st == CT_E_ARG ? EXIT_USAGE : EXIT_FAILED;
    }
    cli_output_paths paths = {0};
    cli_slice_run run = {0};
    int rc = EXIT_FAILED;
    if (single_output_paths(a, &e, &paths, &err) != CT_OK || check_outputs(a, &e, &paths, &err) != CT_OK ||
        cli_engine_run(&e, image_path, &run, &err) != CT_OK) {
        fail(&err);
        goto done;
    }
    if (run.slice.warnings & CT_SLICE_WARN_MULTIFRAME)
        fprintf(stderr, "ctinfer: %s: warning: %d frames, using frame 0\n", image_path, run.slice.frames);
    if (cli_outputs_write(&paths, &e, &run, &err) != CT_OK) {
        fail(&err);
        goto done;
    }
    cli_report report = {image_path, run.slice.width, run.slice.height, e.info, &e.opt, &run.result, e.load_ms,
                         run.decode_ms};
    if (a->json) cli_print_json(stdout, &report);
    else cli_print_text(stdout, &report);
    rc = 0;
done:
    cli_slice_run_free(&run);
    cli_output_paths_free(&paths);
    cli_engine_close(&e);
    return rc;
}

static int dispatch(const cli_args *a) {
    switch (a->command) {
    case CLI_HELP:
        printf("%s\n%s", CLI_USAGE, CLI_HELP_TEXT);
        return 0;
    case CLI_VERSION:
        printf("ctinfer %s\n", CTINFER_VERSION);
        return 0;
    case CLI_INFO:
        return print_info(a->model_path);
    case CLI_DECODE: {
        ct_error err = {0};
        return cli_decode(a->inputs[0], a->decode_out, &err) == CT_OK ? 0 : fail(&err);
    }
    case CLI_RUN:
        return run_single(a, a->inputs[0]);
    case CLI_BATCH:
        return cli_batch(a);
    }
    return EXIT_FAILED;
}

int main(int argc, char **argv) {
    cli_args args;
    char msg[256];
    int rc;
    if (cli_parse(argc, argv, &args, msg, sizeof msg) != 0) {
        fprintf(stderr, "ctinfer: %s\n%s", msg, CLI_USAGE);
        rc = EXIT_USAGE;
    } else {
        rc = dispatch(&args);
    }
    cli_args_free(&args);
    return rc;
}
