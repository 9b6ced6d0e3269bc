/* Batch runs (--jsonl): many slices through one loaded model and session,
 * one JSON line per input, per-input pictures with --out-dir, --resume, a
 * progress bar, and a clean stop on SIGINT or SIGTERM. */
#ifndef CT_CLI_BATCH_H
#define CT_CLI_BATCH_H

#include "cli/args.h"

/* Runs the batch the arguments describe; returns the exit status: 0 when
 * every input succeeded, 1 when any failed (or the batch could not start),
 * 2 on settings the model refuses, 128 + signal when interrupted. */
int cli_batch(const cli_args *args);

#endif
