/* Test helpers for the converter and the model-file reader (see convert_support.h). */
#include "convert_support.h"

#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../tools/convert/checkpoint.h"
#include "../../tools/convert/infer.h"
#include "../../tools/convert/writer.h"
#include "util/crc32.h"

uint8_t *convert_read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *data = NULL;
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0) n = ftell(f);
    if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (data = malloc(n ? (size_t)n : 1)) &&
        fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *size = data ? (size_t)n : 0;
    return data;
}

int convert_write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

static char scratch[64];

static void remove_scratch(void) {
    DIR *d = opendir(scratch);
    if (!d) return;
    char path[512];
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", scratch, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(scratch);
}

const char *convert_scratch_dir(void) {
    if (!scratch[0]) {
        strcpy(scratch, "/tmp/ctinfer_test_XXXXXX");
        if (!mkdtemp(scratch)) {
            perror("mkdtemp");
            exit(1);
        }
        atexit(remove_scratch);
    }
    return scratch;
}

const char *convert_scratch_path(int slot, const char *name) {
    static char paths[4][512];
    snprintf(paths[slot & 3], sizeof paths[0], "%s/%s", convert_scratch_dir(), name);
    return paths[slot & 3];
}

/* ---- .expect ------------------------------------------------------------ */

static int read_floats(const char *text, float *out, uint32_t *n) {
    char *end;
    *n = 0;
    for (const char *p = text; *n < CTM_MAX_ANCHORS; p = end) {
        float v = strtof(p, &end);
        if (end == p) break;
        out[(*n)++] = v;
    }
    return *n > 0;
}

/* One "key value" header line; 1 when understood. */
static int header_line(convert_expect *e, const char *key, const char *value) {
    static const char *keys[] = {"backbone_depth", "truncation", "num_classes", "stem_width",
                                 "fpn_channels", "representation_size", "mask_head_channels",
                                 "roi_batch_size", "s_features", "anchors_from_checkpoint",
                                 "parameters"};
    long *fields[] = {&e->backbone_depth, &e->truncation, &e->num_classes, &e->stem_width,
                      &e->fpn_channels, &e->representation_size, &e->mask_head_channels,
                      &e->roi_batch_size, &e->s_features, &e->anchors_from_checkpoint,
                      &e->parameters};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strcmp(key, keys[i])) return sscanf(value, "%ld", fields[i]) == 1;
    if (!strcmp(key, "task")) return snprintf(e->task, sizeof e->task, "%s", value) > 0;
    if (!strcmp(key, "anchor_sizes")) return read_floats(value, e->anchor_sizes, &e->num_anchor_sizes);
    if (!strcmp(key, "aspect_ratios")) return read_floats(value, e->aspect_ratios, &e->num_aspect_ratios);
    return !strcmp(key, "ctinfer-convert-expect");
}

static int read_record(const uint8_t **p, const uint8_t *end, convert_expect_tensor *t) {
    if (end - *p < 3) return 0;
    size_t len = (size_t)((*p)[0] | (*p)[1] << 8);
    if (len >= CTM_NAME_LEN || (size_t)(end - *p) < 3 + len) return 0;
    memcpy(t->name, *p + 2, len);
    t->name[len] = '\0';
    t->rank = (*p)[2 + len];
    *p += 3 + len;
    if (t->rank > CTM_MAX_RANK || (size_t)(end - *p) < 4 * t->rank) return 0;
    size_t numel = 1;
    for (uint32_t i = 0; i < t->rank; i++) {
        memcpy(&t->dims[i], *p, 4);
        numel *= t->dims[i];
        *p += 4;
    }
    t->nbytes = numel * 4;
    if ((size_t)(end - *p) < t->nbytes) return 0;
    t->bytes = *p;
    *p += t->nbytes;
    return 1;
}

int convert_expect_load(const char *fixture, convert_expect *e) {
    char path[256], line[512], key[64];
    memset(e, 0, sizeof *e);
    snprintf(path, sizeof path, "%s/%s.expect", CONVERT_FIXTURES, fixture);
    size_t size;
    e->buf = convert_read_file(path, &size);
    if (!e->buf) return 0;
    const uint8_t *p = e->buf, *end = e->buf + size;
    for (;;) {   /* text lines up to "tensors N" */
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        if (!nl || nl - p >= (long)sizeof line) return 0;
        memcpy(line, p, (size_t)(nl - p));
        line[nl - p] = '\0';
        p = nl + 1;
        const char *space = strchr(line, ' ');
        if (!space || space - line >= (long)sizeof key) return 0;
        memcpy(key, line, (size_t)(space - line));
        key[space - line] = '\0';
        if (!strcmp(key, "tensors")) {
            e->num_tensors = strtoul(space + 1, NULL, 10);
            break;
        }
        if (!header_line(e, key, space + 1)) return 0;
    }
    e->tensors = calloc(e->num_tensors ? e->num_tensors : 1, sizeof *e->tensors);
    if (!e->tensors) return 0;
    for (size_t i = 0; i < e->num_tensors; i++)
        if (!read_record(&p, end, &e->tensors[i])) return 0;
    return p == end;
}

void convert_expect_free(convert_expect *e) {
    free(e->tensors);
    free(e->buf);
    memset(e, 0, sizeof *e);
}

/* ---- in-memory conversion ----------------------------------------------- */

static ct_status read_all(ct_checkpoint *ck, const ctm_config *cfg, ct_error *err) {
    ctm_tensor_entry *entries;
    size_t *source, n;
    ct_status st = ct_writer_entries(ck, cfg, CTM_DTYPE_F32, &entries, &source, &n, err);
    for (size_t i = 0; i < n && st == CT_OK; i++) {
        float *buf = malloc(entries[i].nbytes ? (size_t)entries[i].nbytes : 1);
        st = buf ? ct_checkpoint_read(ck, source[i], buf, err) : ct_fail(err, CT_E_NOMEM, "oom");
        free(buf);
    }
    free(entries);
    free(source);
    return st;
}

ct_status convert_memory(const uint8_t *data, size_t size, ct_error *err) {
    ct_checkpoint ck;
    ct_convert_options opt;
    ct_convert_options_init(&opt);
    ct_status st = ct_checkpoint_open_memory(&ck, data, size, err);
    if (st != CT_OK) return st;
    ctm_config cfg;
    st = ct_infer_config(&ck, &opt, &cfg, NULL, err);
    if (st == CT_OK) st = read_all(&ck, &cfg, err);
    ct_checkpoint_close(&ck);
    return st;
}

void convert_reseal_model(uint8_t *model, size_t size) {
    uint32_t body = ct_crc32(0, model + CTM_HEADER_SIZE, size - CTM_HEADER_SIZE);
    memcpy(model + offsetof(ctm_header, body_crc32), &body, sizeof body);
    uint32_t head = ct_crc32(0, model, offsetof(ctm_header, header_crc32));
    memcpy(model + offsetof(ctm_header, header_crc32), &head, sizeof head);
}

/* ---- builders ----------------------------------------------------------- */

void convert_buf_put(convert_buf *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n) cap *= 2;
        uint8_t *grown = realloc(b->data, cap);
        if (!grown) {
            perror("realloc");
            exit(1);
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

void convert_buf_free(convert_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

static void put_le(convert_buf *b, uint64_t v, int n) {
    for (int i = 0; i < n; i++) {
        uint8_t byte = (uint8_t)(v >> (8 * i));
        convert_buf_put(b, &byte, 1);
    }
}

void convert_pk_op(convert_buf *b, uint8_t op) { convert_buf_put(b, &op, 1); }

void convert_pk_str(convert_buf *b, const char *s) {
    convert_pk_op(b, 'X');
    put_le(b, strlen(s), 4);
    convert_buf_put(b, s, strlen(s));
}

void convert_pk_int(convert_buf *b, int64_t v) {
    if (v >= INT32_MIN && v <= INT32_MAX) {
        convert_pk_op(b, 'J');
        put_le(b, (uint64_t)v, 4);
    } else {
        convert_pk_op(b, 0x8a);
        convert_pk_op(b, 8);
        put_le(b, (uint64_t)v, 8);
    }
}

void convert_pk_global(convert_buf *b, const char *module, const char *name) {
    convert_pk_op(b, 'c');
    convert_buf_put(b, module, strlen(module));
    convert_pk_op(b, '\n');
    convert_buf_put(b, name, strlen(name));
    convert_pk_op(b, '\n');
}

/* Central directory entry; with zip64 the sizes and offset move to an extra field. */
static void central_entry(convert_buf *dir, const convert_zip_item *item, uint32_t crc, uint64_t at,
                          int zip64) {
    size_t name_len = strlen(item->name);
    uint64_t small_size = zip64 ? 0xFFFFFFFFu : item->size, small_at = zip64 ? 0xFFFFFFFFu : at;
    put_le(dir, 0x02014b50u, 4);
    put_le(dir, 45, 2); put_le(dir, 45, 2); put_le(dir, 0, 2); put_le(dir, 0, 2);
    put_le(dir, 0, 4);
    put_le(dir, crc, 4); put_le(dir, small_size, 4); put_le(dir, small_size, 4);
    put_le(dir, name_len, 2); put_le(dir, zip64 ? 28 : 0, 2); put_le(dir, 0, 2);   /* extra, comment */
    put_le(dir, 0, 2); put_le(dir, 0, 2); put_le(dir, 0, 4);                       /* disk, attrs */
    put_le(dir, small_at, 4);
    convert_buf_put(dir, item->name, name_len);
    if (zip64) {
        put_le(dir, 1, 2); put_le(dir, 24, 2);
        put_le(dir, item->size, 8); put_le(dir, item->size, 8); put_le(dir, at, 8);
    }
}

/* End records: with zip64, a zip64 record and its locator before a saturated EOCD. */
static void end_records(convert_buf *out, size_t n, uint64_t dir_at, uint64_t dir_len, int zip64) {
    if (zip64) {
        uint64_t record_at = out->len;
        put_le(out, 0x06064b50u, 4); put_le(out, 44, 8);
        put_le(out, 45, 2); put_le(out, 45, 2); put_le(out, 0, 4); put_le(out, 0, 4);
        put_le(out, n, 8); put_le(out, n, 8); put_le(out, dir_len, 8); put_le(out, dir_at, 8);
        put_le(out, 0x07064b50u, 4); put_le(out, 0, 4); put_le(out, record_at, 8); put_le(out, 1, 4);
    }
    put_le(out, 0x06054b50u, 4);
    put_le(out, 0, 2); put_le(out, 0, 2);
    put_le(out, zip64 ? 0xFFFF : n, 2); put_le(out, zip64 ? 0xFFFF : n, 2);
    put_le(out, zip64 ? 0xFFFFFFFFu : dir_len, 4); put_le(out, zip64 ? 0xFFFFFFFFu : dir_at, 4);
    put_le(out, 0, 2);
}

uint8_t *convert_zip_build(const convert_zip_item *items, size_t n, int zip64, size_t *size) {
    convert_buf out = {0}, dir = {0};
    for (size_t i = 0; i < n; i++) {
        size_t name_len = strlen(items[i].name);
        uint32_t crc = ct_crc32(0, items[i].data, items[i].size);
        uint64_t at = out.len;
        put_le(&out, 0x04034b50u, 4);
        put_le(&out, 20, 2); put_le(&out, 0, 2); put_le(&out, 0, 2);     /* version, flags, stored */
        put_le(&out, 0, 4);                                              /* time, date */
        put_le(&out, crc, 4); put_le(&out, items[i].size, 4); put_le(&out, items[i].size, 4);
        put_le(&out, name_len, 2); put_le(&out, 0, 2);
        convert_buf_put(&out, items[i].name, name_len);
        convert_buf_put(&out, items[i].data, items[i].size);
        central_entry(&dir, &items[i], crc, at, zip64);
    }
    uint64_t dir_at = out.len;
    convert_buf_put(&out, dir.data, dir.len);
    end_records(&out, n, dir_at, dir.len, zip64);
    convert_buf_free(&dir);
    *size = out.len;
    return out.data;
}
