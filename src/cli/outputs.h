/* The files a run can write besides stdout: --masks, --mask, --dump-input. */
#ifndef CT_CLI_OUTPUTS_H
#define CT_CLI_OUTPUTS_H

#include "cli/args.h"
#include "cli/report.h"
#include "net/session.h"

/* Installs what the outputs need to see during the run (the input tensor
 * for --dump-input). Call before ct_run; cli_outputs_free afterwards. */
typedef struct {
    const cli_args *args;
    float *input;          /* [3,H,W] copy of the traced input, or NULL */
    int input_dims[3];
} cli_outputs;

void cli_outputs_attach(cli_outputs *o, const cli_args *args, ct_session *session);
ct_status cli_outputs_write(const cli_outputs *o, const cli_report *r, ct_error *err);
void cli_outputs_free(cli_outputs *o);

#endif
