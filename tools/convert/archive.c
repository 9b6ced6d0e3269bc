/* Format detection and storage lookup over zip and legacy checkpoints (see archive.h). */
#include "archive.h"

#include <stdlib.h>
#include <string.h>

#include "model/format.h"
#include "pickle.h"

#define HEAP_BASE  (64u << 20)
#define HEAP_CAP   ((size_t)1 << 30)
#define HEAP_RATIO 64u             /* heap bytes allowed per input byte beyond the base */

static size_t heap_limit(size_t input) {
    return input > (HEAP_CAP - HEAP_BASE) / HEAP_RATIO ? HEAP_CAP : HEAP_BASE + HEAP_RATIO * input;
}

/* The zip's "<folder>/data.pkl": any single top-level folder name. */
static ct_zip_entry *find_data_pkl(ct_archive *a) {
    static const char suffix[] = "/data.pkl";
    size_t n = sizeof suffix - 1;
    for (size_t i = 0; i < a->zip.num_entries; i++) {
        ct_zip_entry *e = &a->zip.entries[i];
        if (e->name_len > n && memcmp(e->name + e->name_len - n, suffix, n) == 0 &&
            !memchr(e->name, '/', e->name_len - n))
            return e;
    }
    return NULL;
}

/* torch >= 2.1 records the byte order of the storages; older files are little-endian. */
static ct_status check_byteorder(ct_archive *a, ct_error *err) {
    char name[CT_ARCHIVE_MAX_PREFIX + 16];
    memcpy(name, a->prefix.ptr, a->prefix.len);
    memcpy(name + a->prefix.len, "byteorder", 9);
    ct_zip_entry *e = ct_zip_find(&a->zip, name, a->prefix.len + 9);
    const uint8_t *bytes;
    if (!e) return CT_OK;
    ct_status st = ct_zip_read(&a->zip, e, &bytes, err);
    if (st == CT_OK && !(e->size == 6 && !memcmp(bytes, "little", 6)))
        st = ct_fail(err, CT_E_UNSUPPORTED, "zip: storages are not little-endian (byteorder record)");
    return st;
}

static ct_status open_zip(ct_archive *a, const uint8_t *data, size_t size, ct_error *err) {
    ct_status st = ct_zip_open(&a->zip, data, size, err);
    if (st != CT_OK) return st;
    ct_zip_entry *pkl = find_data_pkl(a);
    if (!pkl)
        return ct_fail(err, CT_E_FORMAT, "zip archive has no <folder>/data.pkl record: "
                                         "not a torch.save checkpoint");
    a->prefix = (ct_py_bytes){pkl->name, pkl->name_len - strlen("data.pkl")};
    if (a->prefix.len > CT_ARCHIVE_MAX_PREFIX)
        return ct_fail(err, CT_E_LIMIT, "zip: top-level folder name longer than %u bytes",
                       CT_ARCHIVE_MAX_PREFIX);
    st = check_byteorder(a, err);
    const uint8_t *pickle;
    if (st == CT_OK) st = ct_zip_read(&a->zip, pkl, &pickle, err);
    if (st != CT_OK) return st;
    ct_py_heap_init(&a->heap, heap_limit((size_t)pkl->size));
    size_t used = 0;
    st = ct_pickle_run(&a->heap, pickle, (size_t)pkl->size, &used, &a->root, err);
    if (st != CT_OK) ct_error_prefix(err, "data.pkl");
    return st;
}

ct_status ct_archive_open(ct_archive *a, const uint8_t *data, size_t size, ct_error *err) {
    memset(a, 0, sizeof *a);
    ct_status st;
    if (ct_zip_detect(data, size)) {
        a->is_zip = 1;
        st = open_zip(a, data, size, err);
    } else if (ct_legacy_detect(data, size)) {
        ct_py_heap_init(&a->heap, heap_limit(size));
        st = ct_legacy_open(&a->legacy, &a->heap, data, size, err);
        a->root = a->legacy.root;
    } else if (size >= 8 && memcmp(data, CTM_MAGIC, 8) == 0) {
        st = ct_fail(err, CT_E_FORMAT, "is already a ctinfer model file, not a checkpoint");
    } else {
        st = ct_fail(err, CT_E_FORMAT, "not a PyTorch checkpoint: neither a zip archive nor a "
                                       "legacy torch.save stream");
    }
    if (st != CT_OK) ct_archive_close(a);
    return st;
}

void ct_archive_close(ct_archive *a) {
    ct_zip_close(&a->zip);
    ct_legacy_close(&a->legacy);
    ct_py_heap_free(&a->heap);
    a->root = NULL;
}

const char *ct_archive_format(const ct_archive *a) {
    return a->is_zip ? "zip (torch >= 1.6)" : "legacy stream (torch < 1.6)";
}

static ct_status zip_storage(ct_archive *a, ct_py_bytes key, const uint8_t **bytes,
                             uint64_t *nbytes, ct_error *err) {
    char name[CT_ARCHIVE_MAX_PREFIX + 5 + 64];
    int kl = key.len > 40 ? 40 : (int)key.len;
    if (key.len > 64) return ct_fail(err, CT_E_FORMAT, "storage key %.*s... is too long", kl, key.ptr);
    memcpy(name, a->prefix.ptr, a->prefix.len);
    memcpy(name + a->prefix.len, "data/", 5);
    memcpy(name + a->prefix.len + 5, key.ptr, key.len);
    ct_zip_entry *e = ct_zip_find(&a->zip, name, a->prefix.len + 5 + key.len);
    if (!e) return ct_fail(err, CT_E_FORMAT, "zip: no record data/%.*s for a storage", kl, key.ptr);
    *nbytes = e->size;
    return ct_zip_read(&a->zip, e, bytes, err);
}

ct_status ct_archive_storage(ct_archive *a, const ct_pyobj *s, const uint8_t **bytes,
                             uint64_t *nbytes, ct_error *err) {
    ct_py_bytes key = s->u.storage.key;
    if (a->is_zip) return zip_storage(a, key, bytes, nbytes, err);
    const ct_legacy_storage *ls = ct_legacy_find(&a->legacy, key);
    if (!ls)
        return ct_fail(err, CT_E_FORMAT, "legacy stream: storage %.*s is not in the file",
                       key.len > 40 ? 40 : (int)key.len, key.ptr);
    *bytes = ls->data;
    *nbytes = ls->nbytes;
    return CT_OK;
}
