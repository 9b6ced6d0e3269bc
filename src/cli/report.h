/* What ctinfer prints: the human summary and the --json object. */
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
void cli_print_json(FILE *f, const cli_report *r);

#endif
