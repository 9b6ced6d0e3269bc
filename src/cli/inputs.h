/* The inputs of a batch: files as given, directories expanded to the PNG and
 * DICOM files directly inside them (by signature, not by name), sorted. */
#ifndef CT_CLI_INPUTS_H
#define CT_CLI_INPUTS_H

#include <stddef.h>

#include "ctinfer.h"

typedef struct {
    char **paths;          /* [count] owned */
    size_t count;
    size_t skipped;        /* directory entries that are not PNG or DICOM */
} cli_input_list;

/* Expands args[0..n): a directory contributes its PNG and DICOM files
 * (hidden files, subdirectories and DICOMDIR left out) sorted by byte
 * value, at its place in the list; anything else, even a missing file, is
 * an input as given (it fails when run). A directory that cannot be listed
 * is also kept as an input, so that its error is recorded. Only running out
 * of memory fails. */
ct_status cli_inputs_expand(const char *const *args, int n, cli_input_list *list, ct_error *err);
void cli_inputs_free(cli_input_list *list);

/* 1 when path names a directory. */
int cli_is_directory(const char *path);

/* The file name of path without its directory and last extension
 * ("a/b/x.dcm" -> "x", "IM0001" -> "IM0001"), in a buffer it allocates. */
char *cli_input_stem(const char *path);

/* With --out-dir, inputs must have distinct stems: fails (CT_E_ARG) naming
 * the first two inputs that would write the same files. */
ct_status cli_inputs_check_stems(const cli_input_list *list, ct_error *err);

#endif
