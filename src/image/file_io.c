/* Whole-file reads and atomic whole-file writes (see file_io.h). */
#include "image/file_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"
#include "util/file_map.h"

ct_status ct_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *len,
                       ct_error *err) {
    int fd;
    uint64_t bytes;
    ct_status st = ct_open_regular(path, &fd, &bytes, err);
    if (st != CT_OK) {
        ct_error_prefix(err, path);
        return st;
    }
    if (bytes > max_bytes) {
        close(fd);
        return ct_fail(err, CT_E_LIMIT, "%s has %llu bytes, over the limit of %zu", path,
                       (unsigned long long)bytes, max_bytes);
    }
    size_t size = (size_t)bytes, got = 0;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        close(fd);
        return ct_fail(err, CT_E_NOMEM, "out of memory reading %zu bytes of %s", size, path);
    }
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = n < 0 ? errno : 0;
            free(buf);
            close(fd);
            return ct_fail(err, CT_E_IO, "cannot read %s: %s", path, e ? strerror(e) : "file shrank");
        }
        got += (size_t)n;
    }
    close(fd);
    *data = buf;
    *len = size;
    return CT_OK;
}

static int write_all(int fd, const uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

ct_status ct_write_file_atomic(const char *path, const void *data, size_t len, ct_error *err) {
    struct stat sb;
    /* The rename would replace a device (say /dev/stdout) or a FIFO by a regular file. */
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
        return ct_fail(err, CT_E_IO, "cannot write %s: it exists and is not a regular file", path);
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) return ct_fail(err, CT_E_NOMEM, "out of memory");
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        ct_status st = ct_fail(err, CT_E_IO, "cannot create a temporary file for %s: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    int failed = write_all(fd, data, len) != 0 || fchmod(fd, 0644) != 0;
    int saved = errno;
    if (close(fd) != 0 && !failed) {
        failed = 1;
        saved = errno;
    }
    if (!failed && rename(tmp, path) != 0) {
        failed = 1;
        saved = errno;
    }
    if (failed) {
        unlink(tmp);
        free(tmp);
        return ct_fail(err, CT_E_IO, "cannot write %s: %s", path, strerror(saved));
    }
    free(tmp);
    return CT_OK;
}
