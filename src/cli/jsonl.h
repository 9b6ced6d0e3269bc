/* The --jsonl file of a batch: one line per input, appended and flushed as
 * each input finishes, so an interrupted batch keeps every completed line.
 *
 * --resume reads the file first: the inputs of its complete lines with
 * "error": null count as done; lines with an error, and a last line cut
 * short, are dropped by rewriting the file atomically (temporary file, then
 * rename) before anything is appended, so that every input ends up with at
 * most one line and no line is ever partial. Without --resume the file is
 * truncated. */
#ifndef CT_CLI_JSONL_H
#define CT_CLI_JSONL_H

#include <stddef.h>

#include "ctinfer.h"

typedef struct {
    const char *path;
    int fd;
    int regular;           /* fd is a regular file (not a pipe or a device) */
    char **done;           /* [num_done] sorted input paths with a good line */
    size_t num_done;
} cli_jsonl;

ct_status cli_jsonl_open(cli_jsonl *j, const char *path, int resume, ct_error *err);

/* 1 when input_path already has a line without an error. */
int cli_jsonl_is_done(const cli_jsonl *j, const char *input_path);

/* Appends one complete line (text ends with '\n') in a single write. */
ct_status cli_jsonl_append(cli_jsonl *j, const char *text, size_t len, ct_error *err);

void cli_jsonl_close(cli_jsonl *j);

/* The input path of a line this program wrote, when it has "error": null;
 * NULL otherwise (allocated; free() it). Exposed for the tests. */
char *cli_jsonl_done_path(const char *line, size_t len);

#endif
