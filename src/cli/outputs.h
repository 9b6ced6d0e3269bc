/* The files one slice's run can write besides stdout: overlay, union mask
 * and score map pictures, the mask logits and the input tensor. Each is
 * written atomically (temporary file, then rename). */
#ifndef CT_CLI_OUTPUTS_H
#define CT_CLI_OUTPUTS_H

#include "cli/args.h"
#include "cli/engine.h"

/* Output kinds; kind k is bit 1u << k of cli_args.outputs. */
enum { CLI_KIND_OVERLAY, CLI_KIND_MASK, CLI_KIND_SCOREMAP, CLI_KIND_MASKS, CLI_KIND_INPUT, CLI_NUM_KINDS };

typedef struct {
    char *path[CLI_NUM_KINDS];   /* owned; NULL: not wanted */
} cli_output_paths;

/* The files the single-slice options (--overlay, --mask, ...) name. */
ct_status cli_output_paths_from_args(const cli_args *a, cli_output_paths *p, ct_error *err);

/* DIR/<stem>.overlay.png, .mask.png, .scoremap.png, .masks.npy, .input.npy
 * for the kinds set in `kinds`. */
ct_status cli_output_paths_in_dir(const char *dir, const char *stem, unsigned kinds, cli_output_paths *p,
                                  ct_error *err);
void cli_output_paths_free(cli_output_paths *p);

/* The kinds --out-dir writes: `requested`, or by default overlay and mask
 * (classifiers: overlay). */
unsigned cli_default_kinds(unsigned requested, const ct_model_info *model);

/* Fails (CT_E_MODEL) when a wanted kind needs a segmentation model and
 * model_path is a classifier; `batch` words the message for --outputs. */
ct_status cli_outputs_check_task(unsigned kinds, const ct_model_info *model, const char *model_path, int batch,
                                 ct_error *err);

/* Fails (CT_E_IO) unless path's directory exists and is writable and path
 * is not a directory: checked before running, so that a bad output path
 * costs no computation and leaves no file behind. */
ct_status cli_check_writable(const char *path, ct_error *err);

/* Makes directory dir if it does not exist (its parent must), and checks
 * that it is a writable directory. */
ct_status cli_prepare_out_dir(const char *dir, ct_error *err);

/* Bit set of the kinds p names. */
unsigned cli_output_kinds(const cli_output_paths *p);

/* Renders and writes every wanted file of one run. */
ct_status cli_outputs_write(const cli_output_paths *p, const cli_engine *e, const cli_slice_run *run,
                            ct_error *err);

#endif
