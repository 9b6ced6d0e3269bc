/* The batch progress bar on stderr: count, rate and ETA, redrawn in place,
 * shown only when stderr is a terminal. */
#ifndef CT_CLI_PROGRESS_H
#define CT_CLI_PROGRESS_H

#include <stddef.h>

typedef struct {
    int enabled;           /* stderr is a terminal */
    int shown;             /* a bar is on the current line */
    size_t total;
    double start_ms;
} cli_progress;

void cli_progress_start(cli_progress *p, size_t total);

/* Redraws the bar after `done` of the total, `failed` of them failed. */
void cli_progress_update(cli_progress *p, size_t done, size_t failed);

/* Erases the bar so that a message can be printed on a clean line. */
void cli_progress_clear(cli_progress *p);

/* Milliseconds since an arbitrary fixed point (monotonic). */
double cli_now_ms(void);

#endif
