/* Drives tools/reference/bench_torch.py through two pipes: "run\n" in, one
 * line "total=<ms> <stage>=<ms> ... rss_kb=<KB>" out. */
#include "bench_torch.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct bench_torch {
    pid_t pid;
    FILE *to, *from;
};

bench_torch *bench_torch_start(const char *python, const char *checkpoint, const char *image, int threads,
                               int tuned) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) {
        perror("bench: pipe");
        return NULL;
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("bench: fork");
        return NULL;
    }
    if (pid == 0) {
        char nthreads[16];
        snprintf(nthreads, sizeof nthreads, "%d", threads);
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[1]);
        close(out[0]);
        execl(python, python, "tools/reference/bench_torch.py", checkpoint, image, "--threads", nthreads,
              tuned ? "--tuned" : (char *)NULL, (char *)NULL);
        perror("bench: cannot start the PyTorch peer");
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    bench_torch *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->pid = pid;
    t->to = fdopen(in[1], "w");
    t->from = fdopen(out[0], "r");
    return t;
}

int bench_torch_run(bench_torch *t, double *total_ms, double stage_ms[CT_STAGE_COUNT], long *rss_kb) {
    char line[1024];
    if (fputs("run\n", t->to) == EOF || fflush(t->to) != 0 || !fgets(line, sizeof line, t->from)) {
        fprintf(stderr, "bench: the PyTorch peer stopped answering\n");
        return -1;
    }
    for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
        char *eq = strchr(tok, '=');
        if (!eq) continue;
        *eq = '\0';
        double v = atof(eq + 1);
        if (!strcmp(tok, "total")) {
            if (total_ms) *total_ms = v;
            continue;
        }
        if (!strcmp(tok, "rss_kb")) {
            if (rss_kb) *rss_kb = (long)v;
            continue;
        }
        for (int k = 0; stage_ms && k < CT_STAGE_COUNT; k++)
            if (!strcmp(tok, ct_stage_name(k))) stage_ms[k] = v;
    }
    return 0;
}

void bench_torch_stop(bench_torch *t) {
    if (!t) return;
    fclose(t->to);
    fclose(t->from);
    waitpid(t->pid, NULL, 0);
    free(t);
}
