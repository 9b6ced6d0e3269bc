/* The model-file writer (see writer.h). */
#include "writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infer.h"
#include "model/finite.h"
#include "model/modelfile.h"
#include "util/crc32.h"
#include "util/half.h"

#define HEADER_CRC_BYTES 76u

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

static uint64_t table_offset(void) { return align_up(CTM_HEADER_SIZE + sizeof(ctm_config), 8); }

static uint64_t data_offset(size_t count) {
    return align_up(table_offset() + count * sizeof(ctm_tensor_entry), CTM_ALIGN);
}

ct_status ct_writer_entries(const ct_checkpoint *ck, const ctm_config *cfg, ct_weight_dtype weights,
                            ctm_tensor_entry **entries, size_t **source, size_t *count,
                            ct_error *err) {
    *entries = NULL;
    *source = NULL;
    *count = 0;
    size_t n = ck->num_tensors;
    ctm_tensor_entry *e = calloc(n ? n : 1, sizeof *e);
    size_t *order = calloc(n ? n : 1, sizeof *order);
    if (!e || !order) {
        free(e);
        free(order);
        return ct_fail(err, CT_E_NOMEM, "out of memory for %zu tensors", n);
    }
    ct_status st = ct_infer_check_tensors(ck, cfg, order, err);
    uint64_t at = data_offset(n);
    for (size_t i = 0; i < n && st == CT_OK; i++) {
        const ct_ckpt_tensor *t = &ck->tensors[order[i]];
        memcpy(e[i].name, t->name, CTM_NAME_LEN);
        e[i].dtype = weights == CTM_DTYPE_F16 && t->view.rank >= 2 ? CTM_DTYPE_F16 : CTM_DTYPE_F32;
        e[i].rank = t->view.rank;
        memcpy(e[i].dims, t->view.dims, sizeof e[i].dims);
        e[i].nbytes = t->view.numel * (e[i].dtype == CTM_DTYPE_F16 ? sizeof(uint16_t) : sizeof(float));
        e[i].offset = at;
        at = align_up(at + e[i].nbytes, CTM_ALIGN);
    }
    if (st != CT_OK) {
        free(e);
        free(order);
        return st;
    }
    *entries = e;
    *source = order;
    *count = n;
    return CT_OK;
}

/* An output stream that keeps the CRC of everything after the header. */
typedef struct {
    FILE *f;
    uint64_t pos;
    uint32_t crc;
} sink;

static int put(sink *s, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, s->f) != n) return 0;
    if (s->pos >= CTM_HEADER_SIZE) s->crc = ct_crc32(s->crc, p, n);
    s->pos += n;
    return 1;
}

static int pad_to(sink *s, uint64_t target) {
    static const uint8_t zeros[CTM_ALIGN];
    while (s->pos < target) {
        size_t n = target - s->pos < sizeof zeros ? (size_t)(target - s->pos) : sizeof zeros;
        if (!put(s, zeros, n)) return 0;
    }
    return 1;
}

/* Bytes of the largest tensor as float32. */
static size_t largest(const ctm_tensor_entry *e, size_t n) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (ct_modelfile_numel(&e[i]) * sizeof(float) > m) m = ct_modelfile_numel(&e[i]) * sizeof(float);
    return m;
}

static ct_status write_failed(ct_error *err) {
    return ct_fail(err, CT_E_IO, "write failed (%s)", strerror(errno));
}

/* A checkpoint with NaN or infinite weights is broken: refuse to carry it over. */
static ct_status check_finite(const ctm_tensor_entry *e, const float *v /* [numel] */, ct_error *err) {
    size_t n = ct_modelfile_numel(e), i = ct_first_nonfinite_f32(v, n);
    if (i == n) return CT_OK;
    return ct_fail(err, CT_E_FORMAT, "tensor %s holds NaN/Inf (element %zu)", e->name, i);
}

/* v[0, n) rounded to float16 in place (the first 2n bytes); fails naming the
 * first value beyond float16's range. */
static ct_status narrow_to_half(const ctm_tensor_entry *e, float *v /* [numel] */, ct_error *err) {
    uint16_t *h = (uint16_t *)(void *)v;
    for (size_t i = 0, n = ct_modelfile_numel(e); i < n; i++) {
        float x = v[i];
        h[i] = ct_float_to_half1(x);   /* h[i] overlaps only v[i/2], already read */
        if ((h[i] & 0x7C00u) == 0x7C00u)
            return ct_fail(err, CT_E_FORMAT, "tensor %s element %zu (%g) is beyond float16's range; "
                           "convert without --half", e->name, i, (double)x);
    }
    return CT_OK;
}

/* Config, table and data after a zero header placeholder. */
static ct_status write_body(ct_checkpoint *ck, const ctm_config *cfg, const ctm_tensor_entry *e,
                            const size_t *source, size_t n, sink *s, ct_error *err) {
    ctm_header zero;
    memset(&zero, 0, sizeof zero);
    size_t biggest = largest(e, n);
    float *buf = malloc(biggest ? biggest : 1);   /* [numel of the largest tensor] */
    if (!buf) return ct_fail(err, CT_E_NOMEM, "out of memory for the largest tensor");
    ct_status st = CT_OK;
    if (!put(s, &zero, sizeof zero) || !put(s, cfg, sizeof *cfg) || !pad_to(s, table_offset()) ||
        !put(s, e, n * sizeof *e))
        st = write_failed(err);
    for (size_t i = 0; i < n && st == CT_OK; i++) {
        st = ct_checkpoint_read(ck, source[i], buf, err);
        if (st == CT_OK) st = check_finite(&e[i], buf, err);
        if (st == CT_OK && e[i].dtype == CTM_DTYPE_F16) st = narrow_to_half(&e[i], buf, err);
        if (st == CT_OK && (!pad_to(s, e[i].offset) || !put(s, buf, (size_t)e[i].nbytes)))
            st = write_failed(err);
    }
    if (st == CT_OK && !pad_to(s, n ? align_up(e[n - 1].offset + e[n - 1].nbytes, CTM_ALIGN)
                                    : data_offset(0)))
        st = write_failed(err);
    free(buf);
    return st;
}

static void fill_header(ctm_header *h, size_t count, uint64_t file_size, uint32_t body_crc) {
    memset(h, 0, sizeof *h);
    memcpy(h->magic, CTM_MAGIC, sizeof h->magic);
    h->version = CTM_VERSION;
    h->header_size = CTM_HEADER_SIZE;
    h->file_size = file_size;
    h->config_offset = CTM_HEADER_SIZE;
    h->config_size = sizeof(ctm_config);
    h->table_offset = table_offset();
    h->tensor_count = count;
    h->data_offset = data_offset(count);
    h->data_size = file_size - h->data_offset;
    h->body_crc32 = body_crc;
    h->header_crc32 = ct_crc32(0, h, HEADER_CRC_BYTES);
}

static ct_status write_file(ct_checkpoint *ck, const ctm_config *cfg, const ctm_tensor_entry *e,
                            const size_t *source, size_t n, int fd, ct_error *err) {
    sink s = {fdopen(fd, "wb"), 0, 0};
    if (!s.f) {
        close(fd);
        return ct_fail(err, CT_E_IO, "cannot write the file");
    }
    ct_status st = write_body(ck, cfg, e, source, n, &s, err);
    ctm_header h;
    fill_header(&h, n, s.pos, s.crc);
    if (st == CT_OK && (fflush(s.f) != 0 || pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h))
        st = write_failed(err);
    if (fclose(s.f) != 0 && st == CT_OK) st = write_failed(err);
    return st;
}

ct_status ct_writer_write(ct_checkpoint *ck, const ctm_config *cfg, ct_weight_dtype weights,
                          const char *path, ct_error *err) {
    ctm_tensor_entry *e;
    size_t *source, n;
    ct_status st = ct_writer_entries(ck, cfg, weights, &e, &source, &n, err);
    if (st != CT_OK) return st;
    char tmp[4096];
    struct stat sb;
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= sizeof tmp) {
        st = ct_fail(err, CT_E_ARG, "%s: path too long", path);
    } else if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        /* The file is renamed into place, which would replace a device or a directory entry. */
        st = ct_fail(err, CT_E_IO, "%s: exists and is not a regular file", path);
    } else {
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0)
            st = ct_fail(err, CT_E_IO, "%s: cannot create %s (%s)", path, tmp, strerror(errno));
        else if ((st = write_file(ck, cfg, e, source, n, fd, err)) == CT_E_IO)
            ct_error_prefix(err, path);
        if (st == CT_OK && rename(tmp, path) != 0) st = ct_fail(err, CT_E_IO, "%s: cannot rename %s", path, tmp);
        if (st != CT_OK && fd >= 0) unlink(tmp);
    }
    free(e);
    free(source);
    return st;
}
