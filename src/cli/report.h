/* What ctinfer prints: the human summary, the --json object and the --jsonl
 * lines (the same object on one line with an "error" member). */
#ifndef CT_CLI_REPORT_H
#define CT_CLI_REPORT_H

#include <stdio.h>

#include "ctinfer.h"

typedef struct {
    const char *image_path;
    int width, height;
    const ct_model_info *model;
    const ct_options *opt;
    const ct_result *res;
    double load_ms, decode_ms;
} cli_report;

void cli_print_text(FILE *f, const cli_report *r);

/* The --json object, indented over several lines. */
void cli_print_json(FILE *f, const cli_report *r);

/* The --json object on one line, ending with "error": null and a newline. */
void cli_print_json_line(FILE *f, const cli_report *r);

/* The line of an input that failed: its path, the model and the message. */
void cli_print_error_line(FILE *f, const char *image_path, const ct_model_info *model, const char *message);

#endif
