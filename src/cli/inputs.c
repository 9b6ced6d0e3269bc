/* Batch input expansion and output naming (see inputs.h). */
#include "cli/inputs.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/slice.h"
#include "util/error.h"

#define PROBE_BYTES 4096   /* enough for the PNG signature and a DICOM preamble or first elements */

static char *copy_string(const char *s) {
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    if (c) memcpy(c, s, n);
    return c;
}

static ct_status push(cli_input_list *list, size_t *capacity, char *path, ct_error *err) {
    if (!path) return ct_fail(err, CT_E_NOMEM, "out of memory listing the inputs");
    if (list->count == *capacity) {
        size_t cap = *capacity ? 2 * *capacity : 64;
        char **grown = realloc(list->paths, cap * sizeof *grown);
        if (!grown) {
            free(path);
            return ct_fail(err, CT_E_NOMEM, "out of memory listing the inputs");
        }
        list->paths = grown;
        *capacity = cap;
    }
    list->paths[list->count++] = path;
    return CT_OK;
}

int cli_is_directory(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* 1 for a regular file starting like a PNG or DICOM file, and for one that
 * cannot be read (so that its error is recorded); 0 for anything else.
 * O_NONBLOCK: a FIFO must not block the listing. */
static int wanted_file(const char *path) {
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return !cli_is_directory(path);
    struct stat sb;
    uint8_t head[PROBE_BYTES];
    int regular = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
    ssize_t n = regular ? read(fd, head, sizeof head) : 0;
    close(fd);
    if (n < 0) return 1;
    return n > 0 && ct_detect_format(head, (size_t)n) != CT_FORMAT_UNKNOWN;
}

static char *join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    int slash = a > 0 && dir[a - 1] != '/';
    char *p = malloc(a + (size_t)slash + b + 1);
    if (!p) return NULL;
    memcpy(p, dir, a);
    if (slash) p[a] = '/';
    memcpy(p + a + slash, name, b + 1);
    return p;
}

static int compare_paths(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static ct_status expand_directory(const char *dir, cli_input_list *list, size_t *capacity, ct_error *err) {
    DIR *d = opendir(dir);
    if (!d) return push(list, capacity, copy_string(dir), err);   /* fails when run, with the reason */
    size_t first = list->count;
    ct_status st = CT_OK;
    for (struct dirent *e; st == CT_OK && (e = readdir(d));) {
        if (e->d_name[0] == '.' || !strcmp(e->d_name, "DICOMDIR")) continue;
        char *path = join(dir, e->d_name);
        if (!path) st = ct_fail(err, CT_E_NOMEM, "out of memory listing %s", dir);
        else if (wanted_file(path)) st = push(list, capacity, path, err);
        else {
            if (!cli_is_directory(path)) list->skipped++;
            free(path);
        }
    }
    closedir(d);
    if (list->count > first) qsort(list->paths + first, list->count - first, sizeof *list->paths, compare_paths);
    return st;
}

ct_status cli_inputs_expand(const char *const *args, int n, cli_input_list *list, ct_error *err) {
    memset(list, 0, sizeof *list);
    size_t capacity = 0;
    ct_status st = CT_OK;
    for (int i = 0; i < n && st == CT_OK; i++)
        st = cli_is_directory(args[i]) ? expand_directory(args[i], list, &capacity, err)
                                       : push(list, &capacity, copy_string(args[i]), err);
    if (st != CT_OK) cli_inputs_free(list);
    return st;
}

void cli_inputs_free(cli_input_list *list) {
    for (size_t i = 0; i < list->count; i++) free(list->paths[i]);
    free(list->paths);
    memset(list, 0, sizeof *list);
}

char *cli_input_stem(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *name = slash ? slash + 1 : path;
    const char *dot = strrchr(name, '.');
    size_t n = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    char *stem = malloc(n + 1);
    if (!stem) return NULL;
    memcpy(stem, name, n);
    stem[n] = '\0';
    return stem;
}

typedef struct {
    char *stem;
    size_t index;
} named_input;

static int compare_stems(const void *a, const void *b) {
    const named_input *x = a, *y = b;
    int c = strcmp(x->stem, y->stem);
    return c ? c : (x->index > y->index) - (x->index < y->index);
}

ct_status cli_inputs_check_stems(const cli_input_list *list, ct_error *err) {
    named_input *names = calloc(list->count ? list->count : 1, sizeof *names);
    if (!names) return ct_fail(err, CT_E_NOMEM, "out of memory");
    ct_status st = CT_OK;
    for (size_t i = 0; i < list->count && st == CT_OK; i++) {
        names[i] = (named_input){cli_input_stem(list->paths[i]), i};
        if (!names[i].stem) st = ct_fail(err, CT_E_NOMEM, "out of memory");
    }
    if (st == CT_OK) qsort(names, list->count, sizeof *names, compare_stems);
    for (size_t i = 1; i < list->count && st == CT_OK; i++)
        if (!strcmp(names[i - 1].stem, names[i].stem))
            st = ct_fail(err, CT_E_ARG, "%s and %s would write the same files in --out-dir (stem '%s')",
                         list->paths[names[i - 1].index], list->paths[names[i].index], names[i].stem);
    for (size_t i = 0; i < list->count; i++) free(names[i].stem);
    free(names);
    return st;
}
