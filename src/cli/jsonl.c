/* The batch's JSON-lines file: resume, compaction and appending (see jsonl.h). */
#include "cli/jsonl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/file_io.h"
#include "util/error.h"

static const char LINE_START[] = "{\"image\": {\"path\": \"";
static const char LINE_END_OK[] = "\"error\": null}";

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Appends code point cp (< 0x10000) as UTF-8. */
static size_t put_utf8(char *out, unsigned cp) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
}

/* Decodes the JSON string body at s[0..len) up to its closing quote into a
 * new string; NULL when malformed or holding a NUL. */
static char *json_unquote(const char *s, size_t len) {
    char *out = malloc(3 * len + 1);   /* \uXXXX (6 bytes) gives at most 3 */
    if (!out) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == '"') {
            out[n] = '\0';
            return out;
        }
        if (c != '\\') {
            out[n++] = c;
            continue;
        }
        if (++i >= len) break;
        const char *simple = strchr("\"\\/bfnrt", s[i]);
        if (simple && s[i]) {
            out[n++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            continue;
        }
        if (s[i] != 'u' || i + 4 >= len) break;
        unsigned cp = 0;
        for (int k = 1; k <= 4; k++) {
            int h = hex_value(s[i + k]);
            if (h < 0) goto bad;
            cp = cp * 16 + (unsigned)h;
        }
        if (cp == 0) break;
        n += put_utf8(out + n, cp);
        i += 4;
    }
bad:
    free(out);
    return NULL;
}

char *cli_jsonl_done_path(const char *line, size_t len) {
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) len--;
    size_t start = sizeof LINE_START - 1, end = sizeof LINE_END_OK - 1;
    if (len < start + end || memcmp(line, LINE_START, start) != 0 || memcmp(line + len - end, LINE_END_OK, end) != 0)
        return NULL;
    return json_unquote(line + start, len - end - start);
}

static int compare_strings(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_jsonl_is_done(const cli_jsonl *j, const char *input_path) {
    return j->num_done && bsearch(&input_path, j->done, j->num_done, sizeof *j->done, compare_strings) != NULL;
}

/* A growable byte buffer for the lines kept on resume. */
typedef struct {
    char *data;
    size_t len, cap;
} buffer;

static int buffer_add(buffer *b, const char *s, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 0;
}

static int add_done(cli_jsonl *j, char *path, size_t *cap) {
    if (j->num_done == *cap) {
        size_t c = *cap ? 2 * *cap : 64;
        char **grown = realloc(j->done, c * sizeof *grown);
        if (!grown) return -1;
        j->done = grown;
        *cap = c;
    }
    j->done[j->num_done++] = path;
    return 0;
}

/* Reads the existing file: good lines into kept and j->done; counts the
 * error lines and a cut-short last line; refuses a file with a complete
 * line that is not one of ours (so that a wrong path is never rewritten). */
static ct_status read_existing(cli_jsonl *j, FILE *f, buffer *kept, size_t *dropped, ct_error *err) {
    char *line = NULL;
    size_t line_cap = 0, done_cap = 0;
    ssize_t n;
    size_t number = 0;
    ct_status st = CT_OK;
    while (st == CT_OK && (n = getline(&line, &line_cap, f)) > 0) {
        number++;
        int complete = line[n - 1] == '\n';
        if (complete && strncmp(line, LINE_START, sizeof LINE_START - 1) != 0) {
            st = ct_fail(err, CT_E_FORMAT, "line %zu of %s is not a ctinfer result; not resuming from it", number,
                         j->path);
            break;
        }
        char *path = complete ? cli_jsonl_done_path(line, (size_t)n) : NULL;
        if (!path) {
            (*dropped)++;
            continue;
        }
        if (buffer_add(kept, line, (size_t)n) != 0 || add_done(j, path, &done_cap) != 0) {
            free(path);
            st = ct_fail(err, CT_E_NOMEM, "out of memory reading %s", j->path);
        }
    }
    if (st == CT_OK && ferror(f)) st = ct_fail(err, CT_E_IO, "cannot read %s: %s", j->path, strerror(errno));
    free(line);
    return st;
}

/* --resume: keeps the good lines, rewriting the file when dropping others. */
static ct_status resume(cli_jsonl *j, ct_error *err) {
    /* O_NONBLOCK: a FIFO must not wait for a writer; it is refused below, as is
     * any file that is not regular (a device would be read forever, or
     * replaced by the rewrite). */
    int fd = open(j->path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) return errno == ENOENT ? CT_OK : ct_fail(err, CT_E_IO, "cannot read %s: %s", j->path, strerror(errno));
    struct stat sb;
    FILE *f = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? fdopen(fd, "rb") : NULL;
    if (!f) {
        close(fd);
        return ct_fail(err, CT_E_IO, "cannot resume from %s: it is not a regular file", j->path);
    }
    buffer kept = {0};
    size_t dropped = 0;
    ct_status st = read_existing(j, f, &kept, &dropped, err);
    fclose(f);
    if (st == CT_OK && dropped) st = ct_write_file_atomic(j->path, kept.data ? kept.data : "", kept.len, err);
    free(kept.data);
    if (st == CT_OK && j->num_done) qsort(j->done, j->num_done, sizeof *j->done, compare_strings);
    return st;
}

ct_status cli_jsonl_open(cli_jsonl *j, const char *path, int resume_run, ct_error *err) {
    memset(j, 0, sizeof *j);
    j->path = path;
    j->fd = -1;
    ct_status st = resume_run ? resume(j, err) : CT_OK;
    if (st == CT_OK) {
        j->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | (resume_run ? 0 : O_TRUNC), 0644);
        struct stat sb;
        if (j->fd < 0) st = ct_fail(err, CT_E_IO, "cannot write %s: %s", path, strerror(errno));
        else j->regular = fstat(j->fd, &sb) == 0 && S_ISREG(sb.st_mode);
    }
    if (st != CT_OK) cli_jsonl_close(j);
    return st;
}

ct_status cli_jsonl_append(cli_jsonl *j, const char *text, size_t len, ct_error *err) {
    off_t start = j->regular ? lseek(j->fd, 0, SEEK_END) : 0;
    while (len > 0) {
        ssize_t n = write(j->fd, text, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : ENOSPC;
            /* A line written in part (disk full) is taken back, so the file keeps whole lines. */
            int torn = j->regular && (start < 0 || ftruncate(j->fd, start) != 0);
            return ct_fail(err, CT_E_IO, "cannot write %s: %s%s", j->path, strerror(e),
                           torn ? "; its last line is cut short" : "");
        }
        text += n;
        len -= (size_t)n;
    }
    return CT_OK;
}

void cli_jsonl_close(cli_jsonl *j) {
    if (j->fd >= 0) close(j->fd);
    for (size_t i = 0; i < j->num_done; i++) free(j->done[i]);
    free(j->done);
    memset(j, 0, sizeof *j);
    j->fd = -1;
}
