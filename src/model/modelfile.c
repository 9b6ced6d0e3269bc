/* Model file reader and validator (see modelfile.h and models/FORMAT.md). */
/* MAP_POPULATE is a Linux extension, visible with _DEFAULT_SOURCE. */
#define _DEFAULT_SOURCE
#include "model/modelfile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/arch.h"
#include "util/crc32.h"
#include "util/error.h"
#include "util/file_map.h"

#define HEADER_CRC_BYTES 76u   /* the header CRC covers bytes [0, 76) */
/* The largest model file read. Full-size models are 16-100 MB (ResNet50 about
 * 130 MB); the limit keeps a sparse or mistaken multi-gigabyte file from being
 * read whole. */
#define CT_MODEL_MAX_BYTES (4ull << 30)

struct ct_modelfile {
    const uint8_t *map;
    size_t size;
    int mapped;                        /* map is ours to munmap (opened by path) */
    ctm_header header;
    ctm_config config;                 /* the fields this version knows */
    const ctm_tensor_entry *entries;   /* [count], inside the mapping */
    size_t count;
    const ctm_tensor_entry **by_name;  /* sorted, for lookup */
};

static size_t element_size(uint32_t dtype) { return dtype == CTM_DTYPE_F16 ? 2 : 4; }

size_t ct_modelfile_numel(const ctm_tensor_entry *e) {
    size_t n = 1;
    for (uint32_t i = 0; i < e->rank; i++) n *= e->dims[i];
    return n;
}

/* ---- header and layout -------------------------------------------------- */

static ct_status check_header(ct_modelfile *mf, ct_error *err) {
    if (mf->size < CTM_HEADER_SIZE)
        return ct_fail(err, CT_E_FORMAT, "file too small to be a ctinfer model (%zu bytes)", mf->size);
    memcpy(&mf->header, mf->map, sizeof mf->header);
    const ctm_header *h = &mf->header;
    if (memcmp(h->magic, CTM_MAGIC, sizeof h->magic) != 0)
        return ct_fail(err, CT_E_FORMAT, "not a ctinfer model file (bad magic)");
    if (h->version != CTM_VERSION)
        return ct_fail(err, CT_E_UNSUPPORTED, "model file version %u is not supported (this build reads %u)",
                       h->version, CTM_VERSION);
    if (ct_crc32(0, mf->map, HEADER_CRC_BYTES) != h->header_crc32)
        return ct_fail(err, CT_E_FORMAT, "header checksum mismatch: the file is corrupt");
    for (size_t i = 0; i < sizeof h->reserved; i++)
        if (h->reserved[i]) return ct_fail(err, CT_E_FORMAT, "reserved header bytes are not zero");
    if (h->header_size != CTM_HEADER_SIZE)
        return ct_fail(err, CT_E_FORMAT, "header size %u, expected %u", h->header_size, CTM_HEADER_SIZE);
    if (h->file_size != mf->size)
        return ct_fail(err, CT_E_FORMAT, "file is %zu bytes but its header says %llu (truncated?)",
                       mf->size, (unsigned long long)h->file_size);
    if (ct_crc32(0, mf->map + CTM_HEADER_SIZE, mf->size - CTM_HEADER_SIZE) != h->body_crc32)
        return ct_fail(err, CT_E_FORMAT, "checksum mismatch: the file is corrupt");
    return CT_OK;
}

/* [offset, offset + len) lies inside [lo, hi), without overflow. */
static int inside(uint64_t offset, uint64_t len, uint64_t lo, uint64_t hi) {
    return offset >= lo && offset <= hi && len <= hi - offset;
}

static ct_status check_layout(ct_modelfile *mf, ct_error *err) {
    const ctm_header *h = &mf->header;
    uint64_t size = mf->size;
    if (h->config_offset % 8 || h->config_size < sizeof(ctm_config) ||
        !inside(h->config_offset, h->config_size, CTM_HEADER_SIZE, size))
        return ct_fail(err, CT_E_FORMAT, "config block (offset %llu, %llu bytes) is invalid",
                       (unsigned long long)h->config_offset, (unsigned long long)h->config_size);
    if (h->table_offset % 8 || h->tensor_count > size / sizeof(ctm_tensor_entry) ||
        !inside(h->table_offset, h->tensor_count * sizeof(ctm_tensor_entry),
                h->config_offset + h->config_size, size))
        return ct_fail(err, CT_E_FORMAT, "tensor table (offset %llu, %llu entries) is invalid",
                       (unsigned long long)h->table_offset, (unsigned long long)h->tensor_count);
    uint64_t table_end = h->table_offset + h->tensor_count * sizeof(ctm_tensor_entry);
    if (h->data_offset % CTM_ALIGN || h->data_offset < table_end || h->data_offset > size ||
        h->data_size != size - h->data_offset)
        return ct_fail(err, CT_E_FORMAT, "data area (offset %llu, %llu bytes) is invalid",
                       (unsigned long long)h->data_offset, (unsigned long long)h->data_size);
    memcpy(&mf->config, mf->map + h->config_offset, sizeof mf->config);
    mf->entries = (const ctm_tensor_entry *)(const void *)(mf->map + h->table_offset);
    mf->count = (size_t)h->tensor_count;
    return CT_OK;
}

/* ---- tensor table ------------------------------------------------------- */

static ct_status check_entry(const ct_modelfile *mf, size_t i, ct_error *err) {
    const ctm_tensor_entry *e = &mf->entries[i];
    size_t len = strnlen(e->name, CTM_NAME_LEN);
    if (len == 0 || len == CTM_NAME_LEN)
        return ct_fail(err, CT_E_FORMAT, "tensor %zu has an empty or unterminated name", i);
    if (e->dtype != CTM_DTYPE_F32 && e->dtype != CTM_DTYPE_F16)
        return ct_fail(err, CT_E_FORMAT, "tensor %s has unknown dtype %u", e->name, e->dtype);
    if (e->rank > CTM_MAX_RANK)
        return ct_fail(err, CT_E_FORMAT, "tensor %s has rank %u", e->name, e->rank);
    uint64_t bytes = element_size(e->dtype);
    for (uint32_t d = 0; d < CTM_MAX_RANK; d++) {
        if (d >= e->rank) {
            if (e->dims[d]) return ct_fail(err, CT_E_FORMAT, "tensor %s has a dimension beyond its rank", e->name);
            continue;
        }
        if (e->dims[d] && bytes > UINT64_MAX / e->dims[d])
            return ct_fail(err, CT_E_FORMAT, "tensor %s is impossibly large", e->name);
        bytes *= e->dims[d];
    }
    if (e->nbytes != bytes)
        return ct_fail(err, CT_E_FORMAT, "tensor %s: %llu bytes recorded, its shape needs %llu", e->name,
                       (unsigned long long)e->nbytes, (unsigned long long)bytes);
    if (e->offset % CTM_ALIGN || !inside(e->offset, e->nbytes, mf->header.data_offset, mf->size))
        return ct_fail(err, CT_E_FORMAT, "tensor %s: data offset %llu is misaligned or outside the data area",
                       e->name, (unsigned long long)e->offset);
    return CT_OK;
}

static int entry_ptr_cmp(const void *a, const void *b) {
    return strncmp((*(const ctm_tensor_entry *const *)a)->name,
                   (*(const ctm_tensor_entry *const *)b)->name, CTM_NAME_LEN);
}

static ct_status check_table(ct_modelfile *mf, ct_error *err) {
    for (size_t i = 0; i < mf->count; i++) {
        ct_status st = check_entry(mf, i, err);
        if (st != CT_OK) return st;
    }
    mf->by_name = malloc((mf->count ? mf->count : 1) * sizeof *mf->by_name);
    if (!mf->by_name) return ct_fail(err, CT_E_NOMEM, "out of memory for %zu tensors", mf->count);
    for (size_t i = 0; i < mf->count; i++) mf->by_name[i] = &mf->entries[i];
    qsort(mf->by_name, mf->count, sizeof *mf->by_name, entry_ptr_cmp);
    for (size_t i = 1; i < mf->count; i++)
        if (entry_ptr_cmp(&mf->by_name[i - 1], &mf->by_name[i]) == 0)
            return ct_fail(err, CT_E_FORMAT, "tensor %s appears twice", mf->by_name[i]->name);
    return CT_OK;
}

/* The tensor set must be exactly the declared architecture's. */
static ct_status check_architecture(const ct_modelfile *mf, ct_error *err) {
    ct_tensor_spec *have = calloc(mf->count ? mf->count : 1, sizeof *have);
    if (!have) return ct_fail(err, CT_E_NOMEM, "out of memory for %zu tensors", mf->count);
    for (size_t i = 0; i < mf->count; i++) {
        memcpy(have[i].name, mf->entries[i].name, CTM_NAME_LEN);
        have[i].rank = mf->entries[i].rank;
        memcpy(have[i].dims, mf->entries[i].dims, sizeof have[i].dims);
    }
    ct_status st = ct_arch_match(&mf->config, have, mf->count, NULL, err);
    free(have);
    return st;
}

/* ---- config ------------------------------------------------------------- */

/* The ranges ct_session_new accepts (src/net/pipeline.c), so that a file this
 * reader accepts always runs with its own defaults. */
#define MAX_RESIZE     8192u
#define MAX_TOP_N      1000000u
#define MAX_DETECTIONS 100000u

static int in_range(uint32_t v, uint32_t max) { return v >= 1 && v <= max; }

static int finite_positive(const float *v, uint32_t n) {
    for (uint32_t i = 0; i < n; i++)
        if (!isfinite(v[i]) || !(v[i] > 0)) return 0;
    return 1;
}

static int names_ok(const char (*names)[CTM_CLASS_NAME_LEN], uint32_t used, uint32_t total) {
    for (uint32_t i = 0; i < total; i++) {
        size_t len = strnlen(names[i], CTM_CLASS_NAME_LEN);
        if (len == CTM_CLASS_NAME_LEN || (i < used) != (len > 0)) return 0;
    }
    return 1;
}

ct_status ct_modelfile_check_config(const ctm_config *c, ct_error *err) {
    const char *bad = NULL;
    int cls = c->task == CTM_TASK_CLASSIFICATION;
    if (c->num_anchor_sizes > CTM_MAX_ANCHORS || !finite_positive(c->anchor_sizes, c->num_anchor_sizes))
        bad = "anchor_sizes";
    else if (c->num_aspect_ratios > CTM_MAX_ANCHORS || !finite_positive(c->aspect_ratios, c->num_aspect_ratios))
        bad = "aspect_ratios";
    else if (!isfinite(c->image_mean[0]) || !isfinite(c->image_mean[1]) || !isfinite(c->image_mean[2]))
        bad = "image_mean";
    else if (!finite_positive(c->image_std, 3)) bad = "image_std";
    else if (c->min_size == 0 || c->max_size < c->min_size || c->max_size > MAX_RESIZE) bad = "min_size/max_size";
    else if (c->size_divisible == 0 || c->size_divisible > 1024) bad = "size_divisible";
    else if (!in_range(c->rpn_pre_nms_top_n, MAX_TOP_N) || !in_range(c->rpn_post_nms_top_n, MAX_TOP_N))
        bad = "rpn top-n";
    else if (!in_range(c->detections_per_img, MAX_DETECTIONS)) bad = "detections_per_img";
    else if (!(c->rpn_nms_thresh >= 0 && c->rpn_nms_thresh <= 1) || !(c->box_nms_thresh >= 0 && c->box_nms_thresh <= 1))
        bad = "NMS threshold";
    else if (!isfinite(c->box_score_thresh)) bad = "box_score_thresh";
    else if (!isfinite(c->mask_thresh)) bad = "mask_thresh";
    else if (c->num_image_classes != (cls ? CTM_IMAGE_CLASSES : 0)) bad = "num_image_classes";
    else if (c->num_classes > CTM_MAX_CLASSES) bad = "num_classes";
    else if (!names_ok(c->class_names, c->num_classes, CTM_MAX_CLASSES)) bad = "class_names";
    else if (!names_ok(c->image_class_names, c->num_image_classes, CTM_IMAGE_CLASSES))
        bad = "image_class_names";
    if (bad) return ct_fail(err, CT_E_FORMAT, "model config: invalid %s", bad);
    return CT_OK;
}

/* ---- open / close ------------------------------------------------------- */

static ct_status map_file(ct_modelfile *mf, const char *path, ct_error *err) {
    int fd;
    uint64_t size;
    ct_status st = ct_open_regular(path, &fd, &size, err);
    if (st != CT_OK) return st;
    if (size < CTM_HEADER_SIZE)
        st = ct_fail(err, CT_E_FORMAT, "file too small to be a ctinfer model (%llu bytes)",
                     (unsigned long long)size);
    else if (size > CT_MODEL_MAX_BYTES || size > SIZE_MAX)
        st = ct_fail(err, CT_E_LIMIT, "the file has %llu bytes, over the limit of %llu for a model",
                     (unsigned long long)size, (unsigned long long)CT_MODEL_MAX_BYTES);
    if (st != CT_OK) {
        close(fd);
        return st;
    }
    mf->size = (size_t)size;
    /* The whole file is read at once (checksum, then weights): populate the
     * mapping in one go rather than page fault by page fault. */
    void *map;
    st = ct_map_fd(fd, mf->size, 1, &map, err);
    if (st == CT_OK) mf->map = map;
    return st;
}

/* Every check, in order; the first failure names the problem. */
static ct_status validate(ct_modelfile *mf, ct_error *err) {
    ct_status st = check_header(mf, err);
    if (st == CT_OK) st = check_layout(mf, err);
    if (st == CT_OK) st = ct_modelfile_check_config(&mf->config, err);
    if (st == CT_OK) st = check_table(mf, err);
    if (st == CT_OK) st = check_architecture(mf, err);
    return st;
}

ct_status ct_modelfile_open(const char *path, ct_modelfile **out, ct_error *err) {
    *out = NULL;
    ct_modelfile *mf = calloc(1, sizeof *mf);
    if (!mf) return ct_fail(err, CT_E_NOMEM, "%s: out of memory", path);
    ct_status st = map_file(mf, path, err);
    mf->mapped = mf->map != NULL;
    if (st == CT_OK) st = validate(mf, err);
    if (st != CT_OK) {
        ct_error_prefix(err, path);
        ct_modelfile_close(mf);
        return st;
    }
    *out = mf;
    return CT_OK;
}

ct_status ct_modelfile_open_memory(const void *data, size_t size, ct_modelfile **out, ct_error *err) {
    *out = NULL;
    if (!data || (uintptr_t)data % CTM_ALIGN)
        return ct_fail(err, CT_E_ARG, "model file buffer is not %u-byte aligned", CTM_ALIGN);
    ct_modelfile *mf = calloc(1, sizeof *mf);
    if (!mf) return ct_fail(err, CT_E_NOMEM, "out of memory");
    mf->map = data;
    mf->size = size;
    ct_status st = validate(mf, err);
    if (st != CT_OK) {
        ct_modelfile_close(mf);
        return st;
    }
    *out = mf;
    return CT_OK;
}

void ct_modelfile_close(ct_modelfile *mf) {
    if (!mf) return;
    if (mf->mapped) munmap((void *)mf->map, mf->size);
    free(mf->by_name);
    free(mf);
}

const ctm_config *ct_modelfile_config(const ct_modelfile *mf) { return &mf->config; }

size_t ct_modelfile_count(const ct_modelfile *mf) { return mf->count; }

const ctm_tensor_entry *ct_modelfile_entry(const ct_modelfile *mf, size_t i) {
    return i < mf->count ? &mf->entries[i] : NULL;
}

const ctm_tensor_entry *ct_modelfile_find(const ct_modelfile *mf, const char *name) {
    size_t len = strlen(name);
    if (len >= CTM_NAME_LEN) return NULL;
    ctm_tensor_entry probe;
    memset(&probe, 0, sizeof probe);
    memcpy(probe.name, name, len);
    const ctm_tensor_entry *key = &probe;
    const ctm_tensor_entry **hit = bsearch(&key, mf->by_name, mf->count, sizeof key, entry_ptr_cmp);
    return hit ? *hit : NULL;
}

const void *ct_modelfile_data(const ct_modelfile *mf, const ctm_tensor_entry *e) {
    return mf->map + e->offset;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

size_t ct_modelfile_count_parameters(const ctm_tensor_entry *entries, size_t count) {
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        const char *name = entries[i].name;
        if (!ends_with(name, ".running_mean") && !ends_with(name, ".running_var"))
            n += ct_modelfile_numel(&entries[i]);
    }
    return n;
}

size_t ct_modelfile_parameter_count(const ct_modelfile *mf) {
    return ct_modelfile_count_parameters(mf->entries, mf->count);
}
