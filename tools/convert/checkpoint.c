/* Interpretation of a checkpoint's object tree (see checkpoint.h). */
#include "checkpoint.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/file_map.h"

/* Where the state_dict sits, tried in order. */
static const struct {
    const char *key, *layout;
} WEIGHT_KEYS[] = {{"model_weights", "authors' training checkpoint"},
                   {"state_dict", "dict with a state_dict entry"},
                   {"model", "dict with a model entry"}};

static int all_values_tensors(const ct_pyobj *d) {
    if (d->u.seq.len == 0) return 0;
    for (size_t i = 1; i < d->u.seq.len; i += 2)
        if (d->u.seq.items[i]->kind != CT_PY_TENSOR) return 0;
    return 1;
}

static ct_status find_state_dict(ct_checkpoint *ck, ct_error *err) {
    const ct_pyobj *root = ck->archive.root;
    char what[160];
    if (root->kind != CT_PY_DICT) {
        ct_py_describe(root, what, sizeof what);
        return ct_fail(err, CT_E_FORMAT, "holds %s, not a checkpoint dict or state_dict", what);
    }
    for (size_t i = 0; i < sizeof WEIGHT_KEYS / sizeof WEIGHT_KEYS[0]; i++) {
        const ct_pyobj *v = ct_py_dict_get(root, WEIGHT_KEYS[i].key);
        if (!v) continue;
        if (v->kind != CT_PY_DICT) {
            ct_py_describe(v, what, sizeof what);
            return ct_fail(err, CT_E_FORMAT, "entry '%s' holds %s, not a state_dict",
                           WEIGHT_KEYS[i].key, what);
        }
        ck->state_dict = v;
        ck->weights_key = WEIGHT_KEYS[i].key;
        ck->layout = WEIGHT_KEYS[i].layout;
        return CT_OK;
    }
    if (!all_values_tensors(root))
        return ct_fail(err, CT_E_FORMAT, "no state_dict found: expected a model_weights, state_dict "
                                         "or model entry, or a dict of tensors");
    ck->state_dict = root;
    ck->layout = "bare state_dict";
    return CT_OK;
}

/* torchvision >= 0.13 wraps FPN convs: "backbone.fpn.inner_blocks.N.0.weight"
 * becomes "backbone.fpn.inner_blocks.N.weight" (likewise layer_blocks). */
static int rename_fpn(char *name) {
    static const char *prefixes[] = {"backbone.fpn.inner_blocks.", "backbone.fpn.layer_blocks."};
    for (int k = 0; k < 2; k++) {
        size_t n = strlen(prefixes[k]);
        if (strncmp(name, prefixes[k], n) != 0) continue;
        char *p = name + n;
        if (*p < '0' || *p > '9') return 0;
        while (*p >= '0' && *p <= '9') p++;
        if (strncmp(p, ".0.", 3) != 0 || strchr(p + 3, '.')) return 0;
        memmove(p, p + 2, strlen(p + 2) + 1);
        return 1;
    }
    return 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Adds entry (key, value) of the state_dict to ck->tensors, or counts it as skipped. */
static ct_status add_entry(ct_checkpoint *ck, size_t index, const ct_pyobj *key,
                           const ct_pyobj *value, ct_error *err) {
    if (key->kind != CT_PY_STR || key->u.s.len == 0)
        return ct_fail(err, CT_E_FORMAT, "state_dict key %zu is not a non-empty string", index);
    int shown = key->u.s.len > 100 ? 100 : (int)key->u.s.len;
    if (key->u.s.len >= CTM_NAME_LEN || memchr(key->u.s.ptr, 0, key->u.s.len))
        return ct_fail(err, CT_E_LIMIT, "state_dict key %.*s is longer than %u bytes or holds NUL",
                       shown, key->u.s.ptr, CTM_NAME_LEN - 1);
    ct_ckpt_tensor *t = &ck->tensors[ck->num_tensors];
    memset(t, 0, sizeof *t);
    memcpy(t->name, key->u.s.ptr, key->u.s.len);
    ct_status st = ct_tensor_view_parse(value, &t->view, err);
    if (st != CT_OK) {
        ct_error_prefix(err, t->name);
        return st;
    }
    if (!ct_tensor_is_float(&t->view)) {
        if (ends_with(t->name, ".num_batches_tracked")) {
            ck->num_counters++;
            return CT_OK;
        }
        return ct_fail(err, CT_E_UNSUPPORTED, "%s: dtype %s is not a floating-point type", t->name,
                       ct_py_dtype_name(t->view.dtype));
    }
    t->renamed = rename_fpn(t->name);
    ck->num_tensors++;
    return CT_OK;
}

static ct_status collect_tensors(ct_checkpoint *ck, ct_error *err) {
    size_t n = ck->state_dict->u.seq.len / 2;
    ck->tensors = calloc(n ? n : 1, sizeof *ck->tensors);
    if (!ck->tensors) return ct_fail(err, CT_E_NOMEM, "out of memory for %zu tensors", n);
    for (size_t i = 0; i < n; i++) {
        ct_status st = add_entry(ck, i, ck->state_dict->u.seq.items[2 * i],
                                 ck->state_dict->u.seq.items[2 * i + 1], err);
        if (st != CT_OK) return st;
    }
    return CT_OK;
}

ct_status ct_checkpoint_open_memory(ct_checkpoint *ck, const uint8_t *data, size_t size,
                                    ct_error *err) {
    memset(ck, 0, sizeof *ck);
    ct_status st = ct_archive_open(&ck->archive, data, size, err);
    if (st != CT_OK) return st;
    st = find_state_dict(ck, err);
    if (st == CT_OK) st = collect_tensors(ck, err);
    if (st != CT_OK) ct_checkpoint_close(ck);
    return st;
}

static ct_status map_file(const char *path, void **map, size_t *size, ct_error *err) {
    int fd;
    uint64_t bytes;
    ct_status st = ct_open_regular(path, &fd, &bytes, err);
    if (st != CT_OK) return st;
    if (bytes == 0)
        st = ct_fail(err, CT_E_FORMAT, "the file is empty");
    else if (bytes > SIZE_MAX)
        st = ct_fail(err, CT_E_LIMIT, "the file is too large to map");
    if (st != CT_OK) {
        close(fd);
        return st;
    }
    *size = (size_t)bytes;
    return ct_map_fd(fd, *size, 0, map, err);
}

ct_status ct_checkpoint_open_file(ct_checkpoint *ck, const char *path, ct_error *err) {
    void *map = NULL;
    size_t size = 0;
    ct_status st = map_file(path, &map, &size, err);
    if (st == CT_OK) st = ct_checkpoint_open_memory(ck, map, size, err);
    if (st != CT_OK) {
        if (map) munmap(map, size);
        ct_error_prefix(err, path);
        return st;
    }
    ck->map = map;
    ck->map_size = size;
    return CT_OK;
}

void ct_checkpoint_close(ct_checkpoint *ck) {
    ct_archive_close(&ck->archive);
    free(ck->tensors);
    if (ck->map) munmap(ck->map, ck->map_size);
    memset(ck, 0, sizeof *ck);
}

ct_status ct_checkpoint_read(ct_checkpoint *ck, size_t i, float *dst /* [numel] */, ct_error *err) {
    ct_status st = ct_tensor_view_read(&ck->archive, &ck->tensors[i].view, dst, err);
    if (st != CT_OK) ct_error_prefix(err, ck->tensors[i].name);
    return st;
}

/* ---- anchors ------------------------------------------------------------ */

static int is_seq(const ct_pyobj *o) {
    return o && (o->kind == CT_PY_TUPLE || o->kind == CT_PY_LIST);
}

/* Level `level` of a per-level tuple of tuples; a flat tuple of numbers is one level. */
static const ct_pyobj *level_tuple(const ct_pyobj *all, uint32_t level) {
    if (!is_seq(all) || all->u.seq.len == 0) return NULL;
    if (!is_seq(all->u.seq.items[0])) return level == 0 ? all : NULL;
    return level < all->u.seq.len ? all->u.seq.items[level] : NULL;
}

/* Positive finite numbers, 1..CTM_MAX_ANCHORS of them, as float32. */
static int read_numbers(const ct_pyobj *t, float *out, uint32_t *n) {
    if (!is_seq(t) || t->u.seq.len == 0 || t->u.seq.len > CTM_MAX_ANCHORS) return 0;
    for (size_t i = 0; i < t->u.seq.len; i++) {
        double v;
        if (!ct_py_number(t->u.seq.items[i], &v) || !(v > 0) || !isfinite(v) || v > 1e6) return 0;
        out[i] = (float)v;
    }
    *n = (uint32_t)t->u.seq.len;
    return 1;
}

static int same_numbers(const ct_pyobj *t, const float *ref, uint32_t n) {
    float v[CTM_MAX_ANCHORS];
    uint32_t m;
    return read_numbers(t, v, &m) && m == n && memcmp(v, ref, n * sizeof *v) == 0;
}

/* Reads level 0 of `all` into out/n and checks levels 1..levels-1 agree. */
static ct_status read_levels(const ct_pyobj *all, const char *what, uint32_t levels, float *out,
                             uint32_t *n, int *found, ct_error *err) {
    if (!read_numbers(level_tuple(all, 0), out, n)) {
        *found = 0;
        return CT_OK;
    }
    for (uint32_t l = 1; l < levels; l++)
        if (!same_numbers(level_tuple(all, l), out, *n))
            return ct_fail(err, CT_E_UNSUPPORTED,
                           "anchor_generator.%s: level %u differs from level 0 (or is missing); "
                           "ctinfer needs the same anchors on every level", what, l);
    return CT_OK;
}

ct_status ct_checkpoint_anchors(const ct_checkpoint *ck, uint32_t levels, ct_anchor_set *out,
                                int *found, ct_error *err) {
    memset(out, 0, sizeof *out);
    *found = 0;
    const ct_pyobj *gen = ck->weights_key ? ct_py_dict_get(ck->archive.root, "anchor_generator") : NULL;
    if (!gen || gen->kind != CT_PY_OBJECT) return CT_OK;
    const ct_pyobj *state = gen->u.object.state;
    const ct_pyobj *sizes = ct_py_dict_get(state, "sizes");
    const ct_pyobj *ratios = ct_py_dict_get(state, "aspect_ratios");
    *found = 1;
    ct_status st = read_levels(sizes, "sizes", levels, out->sizes, &out->num_sizes, found, err);
    if (st == CT_OK && *found)
        st = read_levels(ratios, "aspect_ratios", levels, out->ratios, &out->num_ratios, found, err);
    return st;
}
