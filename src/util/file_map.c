/* Regular-file opening and read-only mapping (see file_map.h). */
#include "util/file_map.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

ct_status ct_open_regular(const char *path, int *fd, uint64_t *size, ct_error *err) {
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (fstat then refuses it). */
    int f = open(path, O_RDONLY | O_NONBLOCK);
    if (f < 0) return ct_fail(err, CT_E_IO, "cannot open the file (%s)", strerror(errno));
    struct stat sb;
    if (fstat(f, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(f);
        return ct_fail(err, CT_E_IO, "not a regular file");
    }
    *fd = f;
    *size = (uint64_t)sb.st_size;
    return CT_OK;
}

ct_status ct_map_fd(int fd, size_t size, int populate, void **map, ct_error *err) {
    int flags = MAP_PRIVATE;
#ifdef MAP_POPULATE
    if (populate) flags |= MAP_POPULATE;
#else
    (void)populate;
#endif
    void *m = mmap(NULL, size, PROT_READ, flags, fd, 0);
    close(fd);
    if (m == MAP_FAILED) return ct_fail(err, CT_E_IO, "cannot map the file");
    *map = m;
    return CT_OK;
}
