/* Test support: running programs and handling scratch files (see cli_run.h). */
#include "cli_run.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int redirect(const char *path, int fd, int flags) {
    int f = open(path ? path : "/dev/null", flags, 0644);
    if (f < 0) return -1;
    int ok = dup2(f, fd) >= 0;
    close(f);
    return ok ? 0 : -1;
}

pid_t cli_spawn(const char *const *argv, const char *stdout_path, const char *stderr_path) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid != 0) return pid;
    if (redirect(NULL, 0, O_RDONLY) || redirect(stdout_path, 1, O_WRONLY | O_CREAT | O_TRUNC) ||
        redirect(stderr_path, 2, O_WRONLY | O_CREAT | O_TRUNC))
        _exit(126);
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

int cli_wait(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

char *cli_read_text(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
        n += got;
        if (n + 1 == cap) {
            char *grown = realloc(buf, cap *= 2);
            if (!grown) free(buf);
            buf = grown;
        }
    }
    fclose(f);
    if (!buf) return NULL;
    buf[n] = '\0';
    if (len) *len = n;
    return buf;
}

int cli_write_bytes(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) == 0 && ok ? 0 : -1;
}

int cli_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

int cli_run(const char *scratch_dir, const char *const *argv, cli_result *r) {
    memset(r, 0, sizeof *r);
    char out_path[4096], err_path[4096];
    snprintf(out_path, sizeof out_path, "%s/.stdout", scratch_dir);
    snprintf(err_path, sizeof err_path, "%s/.stderr", scratch_dir);
    pid_t pid = cli_spawn(argv, out_path, err_path);
    if (pid < 0) return -1;
    r->status = cli_wait(pid);
    r->out = cli_read_text(out_path, &r->out_len);
    r->err = cli_read_text(err_path, &r->err_len);
    unlink(out_path);
    unlink(err_path);
    return r->out && r->err ? 0 : -1;
}

void cli_result_free(cli_result *r) {
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

char *cli_make_scratch(void) {
    char *dir = malloc(32);
    if (!dir) return NULL;
    strcpy(dir, "/tmp/ct_cli_XXXXXX");
    if (!mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

void cli_remove_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        unlink(dir);
        return;
    }
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) cli_remove_tree(path);
        else unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

size_t cli_count_lines(const char *text) {
    size_t n = 0;
    for (; *text; text++) n += *text == '\n';
    return n;
}

int cli_dir_has(const char *dir, const char *part) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int found = 0;
    for (struct dirent *e; !found && (e = readdir(d));) found = strstr(e->d_name, part) != NULL;
    closedir(d);
    return found;
}

const char *cli_bin_dir(void) {
    const char *bin = getenv("CT_BIN");
    return bin && *bin ? bin : "build";
}

void cli_program_path(char *out, size_t size, const char *name) { snprintf(out, size, "%s/%s", cli_bin_dir(), name); }

const char *cli_scratch_path(const char *scratch_dir, const char *name) {
    static char bufs[64][1024];
    static int next;
    char *b = bufs[next++ % 64];
    snprintf(b, sizeof bufs[0], "%s/%s", scratch_dir, name);
    return b;
}
