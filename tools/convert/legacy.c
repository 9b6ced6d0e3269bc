/* Reader of the legacy torch.save stream (see legacy.h). */
#include "legacy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pickle.h"

/* 0x1950a86a20f9469cfc6c as LONG1, after PROTO 2. */
static const uint8_t MAGIC_PICKLE[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                       0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
#define LEGACY_PROTOCOL 1001

int ct_legacy_detect(const uint8_t *data, size_t size) {
    return size >= sizeof MAGIC_PICKLE && memcmp(data, MAGIC_PICKLE, sizeof MAGIC_PICKLE) == 0;
}

static int bytes_cmp(ct_py_bytes a, ct_py_bytes b) {
    int c = memcmp(a.ptr, b.ptr, a.len < b.len ? a.len : b.len);
    return c ? c : (a.len > b.len) - (a.len < b.len);
}

static int storage_obj_cmp(const void *a, const void *b) {
    const ct_pyobj *x = *(ct_pyobj *const *)a, *y = *(ct_pyobj *const *)b;
    return bytes_cmp(x->u.storage.key, y->u.storage.key);
}

static int table_cmp(const void *a, const void *b) {
    return bytes_cmp(((const ct_legacy_storage *)a)->key, ((const ct_legacy_storage *)b)->key);
}

/* Runs the next pickle at *pos, advancing it. */
static ct_status next_pickle(ct_py_heap *heap, const uint8_t *data, size_t size, size_t *pos,
                             ct_pyobj **out, const char *what, ct_error *err) {
    size_t used;
    ct_status st = ct_pickle_run(heap, data + *pos, size - *pos, &used, out, err);
    if (st != CT_OK) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "legacy stream, %s", what);
        ct_error_prefix(err, prefix);
        return st;
    }
    *pos += used;
    return CT_OK;
}

static ct_status check_header(ct_py_heap *heap, const uint8_t *data, size_t size, size_t *pos,
                              ct_error *err) {
    ct_pyobj *proto = NULL, *info = NULL;
    *pos = sizeof MAGIC_PICKLE;
    ct_status st = next_pickle(heap, data, size, pos, &proto, "protocol", err);
    if (st != CT_OK) return st;
    if (proto->kind != CT_PY_INT || proto->u.i != LEGACY_PROTOCOL)
        return ct_fail(err, CT_E_UNSUPPORTED, "legacy stream: unsupported protocol version");
    st = next_pickle(heap, data, size, pos, &info, "sys_info", err);
    if (st != CT_OK) return st;
    const ct_pyobj *little = ct_py_dict_get(info, "little_endian");
    if (info->kind != CT_PY_DICT || !little || little->kind != CT_PY_BOOL)
        return ct_fail(err, CT_E_FORMAT, "legacy stream: sys_info is not a dict with little_endian");
    if (!little->u.i)
        return ct_fail(err, CT_E_UNSUPPORTED, "legacy stream: saved on a big-endian machine");
    return CT_OK;
}

/* The storage object (any one) whose key is key, among the sorted `sorted`. */
static const ct_pyobj *storage_object(ct_pyobj **sorted, size_t n, ct_py_bytes key) {
    ct_pyobj probe = {.kind = CT_PY_STORAGE};
    probe.u.storage.key = key;
    const ct_pyobj *p = &probe;
    ct_pyobj **hit = bsearch(&p, sorted, n, sizeof *sorted, storage_obj_cmp);
    return hit ? *hit : NULL;
}

/* Reads the storage block at *pos for `key` (element type from its storage object). */
static ct_status read_block(ct_pyobj **sorted, size_t num_sorted, const ct_pyobj *key,
                            const uint8_t *data, size_t size, size_t *pos, ct_legacy_storage *out,
                            ct_error *err) {
    if (key->kind != CT_PY_STR) return ct_fail(err, CT_E_FORMAT, "legacy stream: a storage key is not a string");
    int kl = key->u.s.len > 40 ? 40 : (int)key->u.s.len;
    const ct_pyobj *obj = storage_object(sorted, num_sorted, key->u.s);
    size_t elem = obj ? ct_py_dtype_size(obj->u.storage.dtype) : 0;
    if (!elem)
        return ct_fail(err, CT_E_FORMAT, "legacy stream: storage %.*s has no known element type", kl,
                       key->u.s.ptr);
    if (size - *pos < 8)
        return ct_fail(err, CT_E_FORMAT, "legacy stream: truncated before storage %.*s", kl, key->u.s.ptr);
    int64_t numel;
    memcpy(&numel, data + *pos, 8);
    *pos += 8;
    if (numel < 0 || (uint64_t)numel > (size - *pos) / elem)
        return ct_fail(err, CT_E_FORMAT,
                       "legacy stream: storage %.*s claims %lld elements, more than the file holds",
                       kl, key->u.s.ptr, (long long)numel);
    *out = (ct_legacy_storage){key->u.s, data + *pos, (uint64_t)numel * elem};
    *pos += (size_t)numel * elem;
    return CT_OK;
}

/* Locates each listed storage's raw bytes, in list order after the key list. */
static ct_status locate_storages(ct_legacy *lg, ct_py_heap *heap, const ct_pyobj *keys,
                                 const uint8_t *data, size_t size, size_t pos, ct_error *err) {
    size_t n = keys->u.seq.len;
    ct_pyobj **sorted = malloc((heap->num_storages ? heap->num_storages : 1) * sizeof *sorted);
    lg->storages = calloc(n ? n : 1, sizeof *lg->storages);
    if (!sorted || !lg->storages) {
        free(sorted);
        return ct_fail(err, CT_E_NOMEM, "legacy stream: out of memory for %zu storages", n);
    }
    if (heap->num_storages) memcpy(sorted, heap->storages, heap->num_storages * sizeof *sorted);
    qsort(sorted, heap->num_storages, sizeof *sorted, storage_obj_cmp);
    ct_status st = CT_OK;
    for (size_t i = 0; i < n && st == CT_OK; i++)
        st = read_block(sorted, heap->num_storages, keys->u.seq.items[i], data, size, &pos,
                        &lg->storages[i], err);
    free(sorted);
    if (st != CT_OK) return st;
    lg->num_storages = n;
    qsort(lg->storages, n, sizeof *lg->storages, table_cmp);
    for (size_t i = 1; i < n; i++)
        if (table_cmp(&lg->storages[i - 1], &lg->storages[i]) == 0)
            return ct_fail(err, CT_E_FORMAT, "legacy stream: a storage key is listed twice");
    return CT_OK;
}

ct_status ct_legacy_open(ct_legacy *lg, ct_py_heap *heap, const uint8_t *data, size_t size,
                         ct_error *err) {
    memset(lg, 0, sizeof *lg);
    if (!ct_legacy_detect(data, size))
        return ct_fail(err, CT_E_FORMAT, "not a legacy torch.save stream (bad magic number)");
    size_t pos = 0;
    ct_pyobj *keys = NULL;
    ct_status st = check_header(heap, data, size, &pos, err);
    if (st == CT_OK) st = next_pickle(heap, data, size, &pos, &lg->root, "object pickle", err);
    if (st == CT_OK) st = next_pickle(heap, data, size, &pos, &keys, "storage key list", err);
    if (st == CT_OK && keys->kind != CT_PY_LIST)
        st = ct_fail(err, CT_E_FORMAT, "legacy stream: the storage key list is not a list");
    if (st == CT_OK) st = locate_storages(lg, heap, keys, data, size, pos, err);
    if (st != CT_OK) ct_legacy_close(lg);
    return st;
}

void ct_legacy_close(ct_legacy *lg) {
    free(lg->storages);
    memset(lg, 0, sizeof *lg);
}

const ct_legacy_storage *ct_legacy_find(const ct_legacy *lg, ct_py_bytes key) {
    ct_legacy_storage probe = {.key = key};
    return bsearch(&probe, lg->storages, lg->num_storages, sizeof probe, table_cmp);
}
