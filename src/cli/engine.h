/* The model and session of a ctinfer invocation, loaded once and reused for
 * every input, and one slice's trip through them. */
#ifndef CT_CLI_ENGINE_H
#define CT_CLI_ENGINE_H

#include "cli/args.h"
#include "ctinfer.h"
#include "image/slice.h"

typedef struct {
    ct_model *model;
    ct_session *session;
    const ct_model_info *info;
    ct_options opt;
    ct_slice_options slice_opt;
    double load_ms;
    float *input;          /* [3, H', W'] the last run's traced input tensor (--dump-input), or NULL */
    size_t input_capacity; /* floats allocated in input */
    int input_dims[3];
    int input_ok;          /* input holds this run's tensor */
} cli_engine;

/* What one slice gave. */
typedef struct {
    const char *path;
    ct_slice slice;        /* the 8-bit picture the model saw */
    ct_result result;
    double decode_ms;
} cli_slice_run;

/* Loads the model and makes a session with the user's settings. Returns
 * CT_E_ARG only when the settings are out of range (a usage error). With
 * capture_input the session keeps each run's input tensor. */
ct_status cli_engine_open(cli_engine *e, const cli_args *args, int capture_input, ct_error *err);
void cli_engine_close(cli_engine *e);

/* Decodes and runs one image; errors are prefixed with its path. Free the
 * run with cli_slice_run_free whatever the status. */
ct_status cli_engine_run(cli_engine *e, const char *path, cli_slice_run *run, ct_error *err);
void cli_slice_run_free(cli_slice_run *run);

#endif
