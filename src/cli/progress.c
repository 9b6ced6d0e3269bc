/* The batch progress bar (see progress.h). */
#include "cli/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

#define BAR_WIDTH 30

double cli_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

void cli_progress_start(cli_progress *p, size_t total) {
    p->enabled = isatty(STDERR_FILENO);
    p->shown = 0;
    p->total = total;
    p->start_ms = cli_now_ms();
}

/* Seconds as "1:05:09" or "5:09". */
static void format_duration(double seconds, char *buf, size_t size) {
    long s = seconds > 0 && seconds < 1e9 ? (long)(seconds + 0.5) : 0;
    if (s >= 3600) snprintf(buf, size, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else snprintf(buf, size, "%ld:%02ld", s / 60, s % 60);
}

void cli_progress_update(cli_progress *p, size_t done, size_t failed) {
    if (!p->enabled || p->total == 0) return;
    double seconds = (cli_now_ms() - p->start_ms) / 1e3;
    double rate = seconds > 0 ? (double)done / seconds : 0;
    char bar[BAR_WIDTH + 1], eta[32];
    size_t filled = done * BAR_WIDTH / p->total;
    for (size_t i = 0; i < BAR_WIDTH; i++) bar[i] = i < filled ? '#' : '.';
    bar[BAR_WIDTH] = '\0';
    format_duration(rate > 0 ? (double)(p->total - done) / rate : 0, eta, sizeof eta);
    fprintf(stderr, "\r\033[K[%s] %zu/%zu", bar, done, p->total);
    if (failed) fprintf(stderr, " (%zu failed)", failed);
    fprintf(stderr, "  %.2f/s  ETA %s", rate, rate > 0 ? eta : "?");
    fflush(stderr);
    p->shown = 1;
}

void cli_progress_clear(cli_progress *p) {
    if (!p->shown) return;
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->shown = 0;
}
