/* Running the built command-line programs from a test: exit status and
 * captured stdout/stderr, plus scratch-directory and file helpers. Test
 * support only. */
#ifndef CT_TESTS_CLI_RUN_H
#define CT_TESTS_CLI_RUN_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    int status;            /* exit code, or 128 + signal when killed */
    char *out, *err;       /* captured stdout and stderr, NUL-terminated */
    size_t out_len, err_len;
} cli_result;

/* Runs argv (argv[0] a path, NULL-terminated) with stdin from /dev/null,
 * capturing its output through files in scratch_dir. 0 on success. */
int cli_run(const char *scratch_dir, const char *const *argv, cli_result *r);
void cli_result_free(cli_result *r);

/* Starts argv with stdout and stderr redirected to the given files (NULL:
 * /dev/null); returns the pid or -1. */
pid_t cli_spawn(const char *const *argv, const char *stdout_path, const char *stderr_path);

/* Waits for pid; exit code or 128 + signal; -1 on error. */
int cli_wait(pid_t pid);

/* Runs the programs' argv (a list of strings) in the test's `scratch`
 * directory into the cli_result r, failing the test (test.h's CHECK) when it
 * cannot be started. */
#define CLI(r, ...)                                                    \
    do {                                                               \
        const char *argv_[] = {__VA_ARGS__, NULL};                     \
        CHECK(cli_run(scratch, argv_, &(r)) == 0);                     \
    } while (0)

/* Where the built programs are: $CT_BIN, or build without it. */
const char *cli_bin_dir(void);
/* The built program `name` (cli_bin_dir()/name) into out. */
void cli_program_path(char *out, size_t size, const char *name);

/* scratch_dir/name in one of 64 rotating static buffers, for short-lived uses. */
const char *cli_scratch_path(const char *scratch_dir, const char *name);

/* A new scratch directory under /tmp (free() the name) and its removal. */
char *cli_make_scratch(void);
void cli_remove_tree(const char *dir);

/* Whole file into a NUL-terminated buffer (free() it); NULL if unreadable. */
char *cli_read_text(const char *path, size_t *len);
int cli_write_bytes(const char *path, const void *data, size_t len);
int cli_exists(const char *path);

/* Number of '\n' in text. */
size_t cli_count_lines(const char *text);

/* 1 when dir holds an entry whose name contains `part`. */
int cli_dir_has(const char *dir, const char *part);

#endif
