/* The batch driver (see batch.h). A signal stops the batch between two
 * inputs: the slice being run is finished and its line written, so the
 * JSONL holds only complete lines and no output file is ever partial. */
#include "cli/batch.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/engine.h"
#include "cli/inputs.h"
#include "cli/jsonl.h"
#include "cli/outputs.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "util/error.h"

enum { EXIT_FAILED = 1, EXIT_USAGE = 2 };

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

typedef struct {
    struct sigaction old_int, old_term;
} saved_handlers;

/* SA_RESETHAND: a second Ctrl-C ends the program at once. */
static void catch_signals(saved_handlers *saved) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    stop_signal = 0;
    sigaction(SIGINT, &sa, &saved->old_int);
    sigaction(SIGTERM, &sa, &saved->old_term);
}

static void restore_signals(const saved_handlers *saved) {
    sigaction(SIGINT, &saved->old_int, NULL);
    sigaction(SIGTERM, &saved->old_term, NULL);
}

typedef struct {
    const cli_args *args;
    cli_engine engine;
    cli_input_list inputs;
    cli_jsonl jsonl;
    cli_progress progress;
    unsigned kinds;            /* outputs written to --out-dir, 0 without it */
    size_t ok, failed, resumed, to_run;
    int load_reported;         /* the model's load time went into a line */
} batch;

static int message(batch *b, const char *text) {
    cli_progress_clear(&b->progress);
    fprintf(stderr, "ctinfer: %s\n", text);
    return EXIT_FAILED;
}

static ct_status write_outputs(batch *b, const char *path, const cli_slice_run *run, ct_error *err) {
    char *stem = cli_input_stem(path);
    if (!stem) return ct_fail(err, CT_E_NOMEM, "out of memory");
    cli_output_paths paths;
    ct_status st = cli_output_paths_in_dir(b->args->out_dir, stem, b->kinds, &paths, err);
    if (st == CT_OK) st = cli_outputs_write(&paths, &b->engine, run, err);
    cli_output_paths_free(&paths);
    free(stem);
    return st;
}

/* A directory left in the list could not be listed: say why. */
static ct_status directory_error(const char *path, ct_error *err) {
    DIR *d = opendir(path);
    int e = errno;
    if (d) closedir(d);
    return ct_fail(err, CT_E_IO, "%s: cannot list this directory: %s", path,
                   d ? "it changed while listing" : strerror(e));
}

/* Runs one input and prints its JSON line to `line`; returns its status. */
static ct_status process(batch *b, const char *path, FILE *line, ct_error *err) {
    cli_slice_run run = {0};
    ct_status st = cli_is_directory(path) ? directory_error(path, err) : cli_engine_run(&b->engine, path, &run, err);
    if (st == CT_OK && (run.slice.warnings & CT_SLICE_WARN_MULTIFRAME)) {
        char text[256];
        snprintf(text, sizeof text, "%s: warning: %d frames, using frame 0", path, run.slice.frames);
        message(b, text);
    }
    if (st == CT_OK && b->kinds) st = write_outputs(b, path, &run, err);
    if (st == CT_OK) {
        cli_report report = {path, run.slice.width, run.slice.height, b->engine.info, &b->engine.opt, &run.result,
                             b->load_reported ? 0.0 : b->engine.load_ms, run.decode_ms};
        cli_print_json_line(line, &report);
        b->load_reported = 1;
    } else {
        cli_print_error_line(line, path, b->engine.info, err->message);
    }
    cli_slice_run_free(&run);
    return st;
}

/* Runs one input and appends its line; fails only when the line cannot be written. */
static ct_status run_input(batch *b, const char *path, ct_error *err) {
    char *text = NULL;
    size_t len = 0;
    FILE *line = open_memstream(&text, &len);
    if (!line) return ct_fail(err, CT_E_NOMEM, "out of memory");
    ct_error input_err = {0};
    ct_status st = process(b, path, line, &input_err);
    if (st == CT_OK) b->ok++;
    else {
        b->failed++;
        message(b, input_err.message);
    }
    st = fclose(line) == 0 ? cli_jsonl_append(&b->jsonl, text, len, err)
                           : ct_fail(err, CT_E_NOMEM, "out of memory writing the line of %s", path);
    free(text);
    return st;
}

static void print_summary(batch *b, size_t not_run) {
    cli_progress_clear(&b->progress);
    fprintf(stderr, "ctinfer: %zu ok, %zu failed", b->ok, b->failed);
    if (b->resumed) fprintf(stderr, ", %zu already done", b->resumed);
    if (not_run) fprintf(stderr, ", %zu not run", not_run);
    size_t skipped = b->inputs.skipped;
    if (skipped) fprintf(stderr, "; skipped %zu file%s that %s not PNG or DICOM", skipped, skipped == 1 ? "" : "s",
                         skipped == 1 ? "is" : "are");
    fprintf(stderr, "; results in %s\n", b->args->jsonl);
}

static int run_all(batch *b) {
    ct_error err = {0};
    saved_handlers saved;
    catch_signals(&saved);
    cli_progress_start(&b->progress, b->to_run);
    int rc = 0;
    for (size_t i = 0; i < b->inputs.count && !stop_signal; i++) {
        const char *path = b->inputs.paths[i];
        if (cli_jsonl_is_done(&b->jsonl, path)) continue;
        if (run_input(b, path, &err) != CT_OK) {
            rc = message(b, err.message);
            break;
        }
        cli_progress_update(&b->progress, b->ok + b->failed, b->failed);
    }
    int sig = stop_signal;
    restore_signals(&saved);
    print_summary(b, b->to_run - b->ok - b->failed);
    if (rc) return rc;
    if (sig) {
        fprintf(stderr, "ctinfer: interrupted by %s; %s keeps every completed line (rerun with --resume to continue)\n",
                sig == SIGINT ? "SIGINT" : "SIGTERM", b->args->jsonl);
        return 128 + sig;
    }
    return b->failed ? EXIT_FAILED : 0;
}

/* Everything before the first input: the list, the model, the files. */
static int prepare(batch *b, ct_error *err) {
    const cli_args *a = b->args;
    if (cli_inputs_expand(a->inputs, a->num_inputs, &b->inputs, err) != CT_OK) return message(b, err->message);
    if (b->inputs.count == 0) return message(b, "no PNG or DICOM files among the inputs");
    if (a->out_dir &&
        (cli_inputs_check_stems(&b->inputs, err) != CT_OK || cli_prepare_out_dir(a->out_dir, err) != CT_OK))
        return message(b, err->message);
    unsigned wanted = a->out_dir ? a->outputs : 0;
    ct_status st = cli_engine_open(&b->engine, a, (wanted & (1u << CLI_KIND_INPUT)) != 0, err);
    if (st != CT_OK) {
        message(b, err->message);
        return st == CT_E_ARG ? EXIT_USAGE : EXIT_FAILED;
    }
    b->kinds = a->out_dir ? cli_default_kinds(a->outputs, b->engine.info) : 0;
    if (cli_outputs_check_task(b->kinds, b->engine.info, a->model_path, 1, err) != CT_OK ||
        cli_jsonl_open(&b->jsonl, a->jsonl, a->resume, err) != CT_OK)
        return message(b, err->message);
    for (size_t i = 0; i < b->inputs.count; i++)
        if (cli_jsonl_is_done(&b->jsonl, b->inputs.paths[i])) b->resumed++;
    b->to_run = b->inputs.count - b->resumed;
    return 0;
}

int cli_batch(const cli_args *args) {
    batch b = {.args = args};
    b.jsonl.fd = -1;
    ct_error err = {0};
    int rc = prepare(&b, &err);
    if (rc == 0) rc = run_all(&b);
    cli_jsonl_close(&b.jsonl);
    cli_engine_close(&b.engine);
    cli_inputs_free(&b.inputs);
    return rc;
}
