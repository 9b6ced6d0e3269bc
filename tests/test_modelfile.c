/* Hostile input for the converter and the model-file reader: truncations,
 * flipped bytes, missing zip records, opcodes outside the pickle subset,
 * absurd sizes, deep nesting, non-checkpoint pickles, random bytes, and model
 * files with bad magic, version, checksums, offsets, shapes or config. Every
 * case must end in a non-OK status with a message, never a crash (run it
 * under `make asan` too). */
#include "test.h"

#include <string.h>

#include "../tools/convert/checkpoint.h"
#include "../tools/convert/infer.h"
#include "../tools/convert/writer.h"
#include "model/modelfile.h"
#include "support/convert_support.h"
#include "util/crc32.h"

#define LEGACY_FIXTURE CONVERT_FIXTURES "/seg_r18_t1_legacy_cuda.pth"
#define ZIP_FIXTURE    CONVERT_FIXTURES "/cls_r18_t1_zip.pth"

/* Converts a private copy of data[0, len) (so ASan sees any overread). */
static ct_status convert_copy(const uint8_t *data, size_t len, ct_error *err) {
    uint8_t *copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    err->message[0] = '\0';
    ct_status st = convert_memory(copy, len, err);
    free(copy);
    return st;
}

static int refused(ct_status st, const ct_error *err) { return st != CT_OK && err->message[0] != '\0'; }

/* ---- converter: truncation and flipped bytes ---------------------------- */

/* Every proper prefix of a checkpoint is refused. */
static void truncations(const char *path) {
    size_t size;
    uint8_t *data = convert_read_file(path, &size);
    CHECKF(data != NULL, "cannot read %s", path);
    if (!data) return;
    size_t step = size / 200 + 1, failures = 0, tried = 0;
    for (size_t len = 0; len < size; len += len < 512 || size - len < 512 ? 1 : step) {
        ct_error err;
        tried++;
        if (!refused(convert_copy(data, len, &err), &err) && failures++ < 3)
            CHECKF(0, "%s truncated to %zu bytes was accepted", path, len);
    }
    CHECKF(failures == 0 && tried > 500, "%s: %zu of %zu truncations accepted", path, failures, tried);
    free(data);
}

static void test_truncated_checkpoints(void) {
    truncations(LEGACY_FIXTURE);
    truncations(ZIP_FIXTURE);
}

/* A flipped byte never crashes; inside the zip's data.pkl or a model tensor's
 * record it is always caught by the record CRC. */
static void test_flipped_bytes(void) {
    const char *paths[] = {LEGACY_FIXTURE, ZIP_FIXTURE};
    for (int k = 0; k < 2; k++) {
        size_t size;
        uint8_t *data = convert_read_file(paths[k], &size);
        if (!data) continue;
        ct_zip zip = {0};
        const ct_zip_entry *pkl = NULL;
        if (k == 1 && ct_zip_open(&zip, data, size, NULL) == CT_OK)
            pkl = ct_zip_find(&zip, "cls_r18_t1_zip/data.pkl", strlen("cls_r18_t1_zip/data.pkl"));
        CHECK(k == 0 || pkl != NULL);
        const uint8_t *local = pkl ? data + pkl->local_offset : NULL;
        uint64_t pkl_start = pkl ? pkl->local_offset + 30 + pkl->name_len + (local[28] | local[29] << 8) : 0;
        uint64_t pkl_end = pkl ? pkl_start + pkl->size : 0;
        size_t silent = 0, caught_in_pkl = 0, in_pkl = 0;
        for (size_t at = 0; at < size; at += at < 2048 ? 3 : size / 700 + 1) {
            data[at] ^= 0x5A;
            ct_error err;
            ct_status st = convert_copy(data, size, &err);
            data[at] ^= 0x5A;
            CHECKF(st == CT_OK || err.message[0], "flip at %zu: status without message", at);
            if (at >= pkl_start && at < pkl_end) {
                in_pkl++;
                caught_in_pkl += st != CT_OK && strstr(err.message, "CRC") != NULL;
            }
            silent += st == CT_OK;
        }
        CHECKF(in_pkl == caught_in_pkl, "%zu of %zu flips in data.pkl not caught by its CRC",
               in_pkl - caught_in_pkl, in_pkl);
        CHECK(k == 0 || in_pkl > 100);
        /* The legacy format has no checksum: flips in weights convert (to other weights). */
        printf("    %s: %zu flipped bytes converted without error\n", paths[k], silent);
        ct_zip_close(&zip);
        free(data);
    }
}

/* ---- converter: structural damage --------------------------------------- */

/* The fixture's zip records, except the one named `drop`, in a new archive;
 * `pickle` (unless NULL) replaces data.pkl. */
static uint8_t *rebuild_zip(const uint8_t *data, size_t size, const char *drop, int zip64,
                            const convert_buf *pickle, size_t *out_size) {
    ct_zip zip;
    if (ct_zip_open(&zip, data, size, NULL) != CT_OK) return NULL;
    convert_zip_item *items = calloc(zip.num_entries, sizeof *items);
    char (*names)[256] = calloc(zip.num_entries, sizeof *names);
    size_t n = 0;
    for (size_t i = 0; i < zip.num_entries; i++) {
        ct_zip_entry *e = &zip.entries[i];
        snprintf(names[n], sizeof names[n], "%.*s", (int)e->name_len, e->name);
        if (drop && !strcmp(names[n], drop)) continue;
        const uint8_t *bytes;
        if (ct_zip_read(&zip, e, &bytes, NULL) != CT_OK) continue;
        items[n] = (convert_zip_item){names[n], bytes, (size_t)e->size};
        if (pickle && strstr(names[n], "/data.pkl")) items[n] = (convert_zip_item){names[n], pickle->data, pickle->len};
        n++;
    }
    uint8_t *out = convert_zip_build(items, n, zip64, out_size);
    free(items);
    free(names);
    ct_zip_close(&zip);
    return out;
}

static void test_zip_missing_record(void) {
    size_t size, rebuilt_size;
    uint8_t *data = convert_read_file(ZIP_FIXTURE, &size);
    if (!data) return;
    /* Rebuilt by the test's own zip writer, with or without zip64 records, it still converts. */
    ct_error err;
    for (int zip64 = 0; zip64 < 2; zip64++) {
        uint8_t *same = rebuild_zip(data, size, NULL, zip64, NULL, &rebuilt_size);
        CHECKF(same && convert_copy(same, rebuilt_size, &err) == CT_OK, "zip64 %d: %s", zip64, err.message);
        free(same);
    }
    /* Without the record of the first model tensor's storage, it does not. */
    ct_checkpoint ck;
    char drop[128] = "";
    if (ct_checkpoint_open_memory(&ck, data, size, &err) == CT_OK) {
        ct_py_bytes key = ck.tensors[0].view.storage->u.storage.key;
        snprintf(drop, sizeof drop, "cls_r18_t1_zip/data/%.*s", (int)key.len, key.ptr);
        ct_checkpoint_close(&ck);
    }
    uint8_t *missing = rebuild_zip(data, size, drop, 0, NULL, &rebuilt_size);
    CHECK(missing && refused(convert_copy(missing, rebuilt_size, &err), &err));
    CHECKF(strstr(err.message, drop + strlen("cls_r18_t1_zip/")) != NULL, "%s", err.message);
    free(missing);
    /* A torch >= 2.1 byteorder record: "little" is fine, "big" is refused. */
    for (int big = 0; big < 2; big++) {
        ct_zip zip;
        ct_zip_open(&zip, data, size, NULL);
        convert_zip_item *items = calloc(zip.num_entries + 1, sizeof *items);
        char (*names)[256] = calloc(zip.num_entries, sizeof *names);
        for (size_t i = 0; i < zip.num_entries; i++) {
            snprintf(names[i], sizeof names[i], "%.*s", (int)zip.entries[i].name_len, zip.entries[i].name);
            const uint8_t *bytes = NULL;
            ct_zip_read(&zip, &zip.entries[i], &bytes, NULL);
            items[i] = (convert_zip_item){names[i], bytes, (size_t)zip.entries[i].size};
        }
        items[zip.num_entries] = (convert_zip_item){"cls_r18_t1_zip/byteorder",
                                                    (const uint8_t *)(big ? "big" : "little"), big ? 3 : 6};
        uint8_t *z = convert_zip_build(items, zip.num_entries + 1, 0, &rebuilt_size);
        ct_status st = convert_copy(z, rebuilt_size, &err);
        CHECKF(big ? st == CT_E_UNSUPPORTED && strstr(err.message, "little-endian") : st == CT_OK, "%s", err.message);
        free(z);
        free(items);
        free(names);
        ct_zip_close(&zip);
    }
    /* Without data.pkl it is no checkpoint. */
    missing = rebuild_zip(data, size, "cls_r18_t1_zip/data.pkl", 1, NULL, &rebuilt_size);
    CHECK(missing && refused(convert_copy(missing, rebuilt_size, &err), &err));
    CHECKF(strstr(err.message, "data.pkl") != NULL, "%s", err.message);
    free(missing);
    free(data);
}

/* The fixture's data.pkl, mutated at random (bytes flipped, inserted, deleted,
 * ranges duplicated) and sealed with a valid CRC, so the interpreter itself sees
 * the damage: never a crash, always a message on failure. */
static void test_mutated_pickles(void) {
    size_t size, out_size;
    uint8_t *data = convert_read_file(ZIP_FIXTURE, &size);
    ct_zip zip;
    if (!data || ct_zip_open(&zip, data, size, NULL) != CT_OK) return;
    const char *name = "cls_r18_t1_zip/data.pkl";
    ct_zip_entry *pkl = ct_zip_find(&zip, name, strlen(name));
    const uint8_t *orig;
    if (!pkl || ct_zip_read(&zip, pkl, &orig, NULL) != CT_OK) return;
    size_t len = (size_t)pkl->size, accepted = 0;
    uint32_t state = 99;
    for (int k = 0; k < 1500; k++) {
        convert_buf b = {0};
        convert_buf_put(&b, orig, len);
        for (int m = 0; m < 1 + k % 4; m++) {
            state = state * 1664525u + 1013904223u;
            size_t at = (state >> 8) % b.len, span = 1 + (state >> 4) % 16;
            if (span > b.len - at) span = b.len - at;
            switch (state % 4) {
            case 0: b.data[at] ^= (uint8_t)(1 + (state >> 20) % 255); break;
            case 1: memmove(b.data + at, b.data + at + span, b.len - at - span), b.len -= span; break;
            case 2: {   /* a range repeated at the end */
                uint8_t range[16];
                memcpy(range, b.data + at, span);
                convert_buf_put(&b, range, span);
                break;
            }
            default: b.data[at] = (uint8_t)"(]}tuseaRbQqhX.N"[(state >> 12) % 16]; break;
            }
            if (b.len == 0) convert_pk_op(&b, '.');
        }
        uint8_t *z = rebuild_zip(data, size, NULL, 0, &b, &out_size);
        ct_error err;
        ct_status st = convert_copy(z, out_size, &err);
        CHECKF(st == CT_OK || err.message[0], "mutation %d: status %d without message", k, st);
        accepted += st == CT_OK;
        free(z);
        convert_buf_free(&b);
    }
    printf("    %zu of 1500 mutated pickles still converted\n", accepted);
    ct_zip_close(&zip);
    free(data);
}

/* A zip whose data.pkl is `pickle` (any storages it names are absent). */
static ct_status convert_pickle(const convert_buf *pickle, ct_error *err) {
    convert_zip_item items[] = {{"archive/data.pkl", pickle->data, pickle->len},
                                {"archive/version", (const uint8_t *)"3\n", 2}};
    size_t size;
    uint8_t *zip = convert_zip_build(items, 2, 0, &size);
    ct_status st = convert_copy(zip, size, err);
    free(zip);
    return st;
}

static void test_opcodes_outside_subset(void) {
    static const uint8_t ops[] = {'I', 'i', 'o', 'B', 'C', 'S', 'V', 'F', 'L', 'P', 'g', 'p', '2',
                                  'd', 'l', 0x82, 0x83, 0x84, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x91,
                                  0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x00, 0xff};
    for (size_t i = 0; i < sizeof ops; i++) {
        convert_buf b = {0};
        convert_pk_op(&b, 0x80);
        convert_pk_op(&b, 2);
        convert_pk_op(&b, '}');
        convert_pk_op(&b, ops[i]);
        convert_buf_put(&b, "\n\n\n\n\n\n\n\n", 8);
        convert_pk_op(&b, '.');
        ct_error err;
        ct_status st = convert_pickle(&b, &err);
        CHECKF(st == CT_E_UNSUPPORTED && strstr(err.message, "outside the supported subset"),
               "opcode 0x%02x: %s", ops[i], err.message);
        convert_buf_free(&b);
    }
}

/* The pickle of {'w': tensor} whose storage claims `numel` elements. */
static void tensor_pickle(convert_buf *b, int64_t numel, int64_t dim0) {
    convert_pk_op(b, 0x80);
    convert_pk_op(b, 2);
    convert_pk_op(b, '}');
    convert_pk_str(b, "backbone.body.conv1.weight");
    convert_pk_global(b, "torch._utils", "_rebuild_tensor_v2");
    convert_pk_op(b, '(');
    convert_pk_op(b, '(');
    convert_pk_str(b, "storage");
    convert_pk_global(b, "torch", "FloatStorage");
    convert_pk_str(b, "0");
    convert_pk_str(b, "cpu");
    convert_pk_int(b, numel);
    convert_pk_op(b, 't');
    convert_pk_op(b, 'Q');
    convert_pk_int(b, 0);
    convert_pk_int(b, dim0);
    convert_pk_op(b, 0x85);
    convert_pk_int(b, 1);
    convert_pk_op(b, 0x85);
    convert_pk_op(b, 0x89);
    convert_pk_op(b, ')');
    convert_pk_op(b, 't');
    convert_pk_op(b, 'R');
    convert_pk_op(b, 's');
    convert_pk_op(b, '.');
}

static void test_absurd_storage_sizes(void) {
    /* zip: a storage claiming 2^62 elements (and a view reaching past a real one). */
    const int64_t cases[][2] = {{(int64_t)1 << 62, 4}, {4, 5}, {4, (int64_t)1 << 40}};
    for (int k = 0; k < 3; k++) {
        convert_buf pk = {0};
        tensor_pickle(&pk, cases[k][0], cases[k][1]);
        static const float four[4] = {1, 2, 3, 4};
        convert_zip_item items[] = {{"archive/data.pkl", pk.data, pk.len},
                                    {"archive/data/0", (const uint8_t *)four, sizeof four}};
        size_t size;
        uint8_t *zip = convert_zip_build(items, 2, 0, &size);
        ct_checkpoint ck;
        ct_error err = {0};
        ct_status st = ct_checkpoint_open_memory(&ck, zip, size, &err);
        if (st == CT_OK) {
            float out[8];
            st = ck.num_tensors == 1 && ck.tensors[0].view.numel <= 8
                     ? ct_checkpoint_read(&ck, 0, out, &err) : CT_E_LIMIT;
            ct_checkpoint_close(&ck);
        }
        CHECKF(st != CT_OK, "case %d accepted", k);
        CHECKF(k != 0 || strstr(err.message, "4611686018427387904"), "%s", err.message);
        free(zip);
        convert_buf_free(&pk);
    }
    /* legacy: a storage's size header claiming 2^62 elements. */
    size_t size;
    uint8_t *data = convert_read_file(LEGACY_FIXTURE, &size);
    ct_archive ar;
    ct_error err;
    if (data && ct_archive_open(&ar, data, size, &err) == CT_OK) {
        size_t header = (size_t)(ar.legacy.storages[0].data - data) - 8;
        ct_archive_close(&ar);
        int64_t huge = (int64_t)1 << 62;
        memcpy(data + header, &huge, 8);
        CHECK(refused(convert_copy(data, size, &err), &err));
        CHECKF(strstr(err.message, "more than the file holds") != NULL, "%s", err.message);
    }
    free(data);
}

static void test_deep_nesting(void) {
    const struct { uint8_t op; size_t count; const char *message; } cases[] = {
        {'(', 100000, "nesting deeper"},   /* MARKs */
        {']', 3000000, "stack deeper"},    /* values */
        {')', 3000000, "stack deeper"}};
    for (int k = 0; k < 3; k++) {
        convert_buf b = {0};
        convert_pk_op(&b, 0x80);
        convert_pk_op(&b, 2);
        for (size_t i = 0; i < cases[k].count; i++) convert_pk_op(&b, cases[k].op);
        convert_pk_op(&b, '.');
        ct_error err;
        ct_status st = convert_pickle(&b, &err);
        CHECKF(st == CT_E_LIMIT && strstr(err.message, cases[k].message), "%d: %s", k, err.message);
        convert_buf_free(&b);
    }
    /* A list nested 500 000 deep is built without recursion and refused as no checkpoint. */
    convert_buf b = {0};
    convert_pk_op(&b, 0x80);
    convert_pk_op(&b, 2);
    for (int i = 0; i < 500000; i++) convert_pk_op(&b, ']');
    for (int i = 0; i < 499999; i++) convert_pk_op(&b, 'a');
    convert_pk_op(&b, '.');
    ct_error err;
    CHECK(refused(convert_pickle(&b, &err), &err));
    CHECKF(strstr(err.message, "not a checkpoint") != NULL, "%s", err.message);
    convert_buf_free(&b);
}

static void test_not_a_checkpoint(void) {
    ct_error err;
    /* [1, 2, 3] */
    convert_buf b = {0};
    convert_pk_op(&b, 0x80), convert_pk_op(&b, 2), convert_pk_op(&b, ']'), convert_pk_op(&b, '(');
    convert_pk_int(&b, 1), convert_pk_int(&b, 2), convert_pk_int(&b, 3);
    convert_pk_op(&b, 'e'), convert_pk_op(&b, '.');
    CHECK(refused(convert_pickle(&b, &err), &err) && strstr(err.message, "list of 3"));
    convert_buf_free(&b);
    /* os.system('...') is interpreted as an opaque object, never called. */
    convert_pk_op(&b, 0x80), convert_pk_op(&b, 2);
    convert_pk_global(&b, "os", "system");
    convert_pk_str(&b, "touch /tmp/ctinfer_pwned");
    convert_pk_op(&b, 0x85), convert_pk_op(&b, 'R'), convert_pk_op(&b, '.');
    CHECK(refused(convert_pickle(&b, &err), &err));
    CHECKF(strstr(err.message, "object of os.system") != NULL, "%s", err.message);
    convert_buf_free(&b);
    /* {'model_weights': 5} and a dict of strings. */
    convert_pk_op(&b, 0x80), convert_pk_op(&b, 2), convert_pk_op(&b, '}');
    convert_pk_str(&b, "model_weights"), convert_pk_int(&b, 5), convert_pk_op(&b, 's'), convert_pk_op(&b, '.');
    CHECK(refused(convert_pickle(&b, &err), &err) && strstr(err.message, "not a state_dict"));
    convert_buf_free(&b);
    convert_pk_op(&b, 0x80), convert_pk_op(&b, 2), convert_pk_op(&b, '}');
    convert_pk_str(&b, "a"), convert_pk_str(&b, "b"), convert_pk_op(&b, 's'), convert_pk_op(&b, '.');
    CHECK(refused(convert_pickle(&b, &err), &err) && strstr(err.message, "no state_dict"));
    convert_buf_free(&b);
    /* A dict that contains itself as its state_dict. */
    convert_pk_op(&b, 0x80), convert_pk_op(&b, 2), convert_pk_op(&b, '}');
    convert_pk_op(&b, 'q'), convert_pk_op(&b, 0);
    convert_pk_str(&b, "state_dict"), convert_pk_op(&b, 'h'), convert_pk_op(&b, 0);
    convert_pk_op(&b, 's'), convert_pk_op(&b, '.');
    CHECK(refused(convert_pickle(&b, &err), &err) && strstr(err.message, "is not a tensor"));
    convert_buf_free(&b);
    /* Memo abuse: an unset index, an absurd one; a STOP with two values. */
    const uint8_t bad[][8] = {{0x80, 2, 'h', 7, '.'},
                              {0x80, 2, ']', 'r', 0xff, 0xff, 0xff, 0xff},
                              {0x80, 2, ']', ']', '.'},
                              {0x80, 2, 'a', '.'},
                              {0x80, 2, 't', '.'}};
    for (int k = 0; k < 5; k++) {
        convert_buf_put(&b, bad[k], sizeof bad[k]);
        CHECKF(refused(convert_pickle(&b, &err), &err), "case %d", k);
        convert_buf_free(&b);
    }
}

static void test_random_files(void) {
    uint32_t state = 12345;
    for (int k = 0; k < 200; k++) {
        size_t size = (size_t)(k * 37 % 5000);
        uint8_t *data = malloc(size + 16);
        for (size_t i = 0; i < size; i++) data[i] = (uint8_t)((state = state * 1664525u + 1013904223u) >> 24);
        /* Some start like a zip, some like a legacy stream, to get past detection. */
        if (k % 3 == 1 && size >= 4) memcpy(data, "PK\x03\x04", 4);
        static const uint8_t magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                        0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
        if (k % 3 == 2 && size >= sizeof magic) memcpy(data, magic, sizeof magic);
        ct_error err;
        CHECKF(refused(convert_copy(data, size, &err), &err), "random file %d accepted", k);
        free(data);
    }
}

/* ---- model-file reader -------------------------------------------------- */

/* A valid model file converted from the legacy fixture, in memory. */
static uint8_t *valid_model(size_t *size) {
    const char *path = convert_scratch_path(0, "valid.bin");
    ct_checkpoint ck;
    ct_convert_options opt;
    ct_convert_options_init(&opt);
    ctm_config cfg;
    ct_error err;
    if (ct_checkpoint_open_file(&ck, LEGACY_FIXTURE, &err) != CT_OK) return NULL;
    ct_status st = ct_infer_config(&ck, &opt, &cfg, NULL, &err);
    if (st == CT_OK) st = ct_writer_write(&ck, &cfg, CTM_DTYPE_F32, path, &err);
    ct_checkpoint_close(&ck);
    return st == CT_OK ? convert_read_file(path, size) : NULL;
}

/* Writes data and opens it as a model file; returns the status. */
static ct_status open_bytes(const uint8_t *data, size_t size, ct_error *err) {
    const char *path = convert_scratch_path(1, "hostile.bin");
    convert_write_file(path, data, size);
    ct_modelfile *mf = NULL;
    err->message[0] = '\0';
    ct_status st = ct_modelfile_open(path, &mf, err);
    if (st == CT_OK) {
        /* Touch every tensor byte: they must all be mapped. */
        uint32_t crc = 0;
        for (size_t i = 0; i < ct_modelfile_count(mf); i++) {
            const ctm_tensor_entry *e = ct_modelfile_entry(mf, i);
            crc = ct_crc32(crc, ct_modelfile_data(mf, e), (size_t)e->nbytes);
        }
        (void)crc;
        ct_modelfile_close(mf);
    }
    return st;
}

static void test_model_truncated_and_flipped(void) {
    size_t size;
    uint8_t *data = valid_model(&size);
    CHECK(data != NULL);
    if (!data) return;
    ct_error err;
    CHECKF(open_bytes(data, size, &err) == CT_OK, "%s", err.message);
    size_t accepted = 0;
    for (size_t len = 0; len < size; len += len < 2048 ? 7 : size / 150 + 1)
        accepted += !refused(open_bytes(data, len, &err), &err);
    CHECKF(accepted == 0, "%zu truncated model files accepted", accepted);
    accepted = 0;
    for (size_t at = 0; at < size; at += at < 2048 ? 5 : size / 300 + 1) {
        data[at] ^= 0x01;
        accepted += !refused(open_bytes(data, size, &err), &err);
        data[at] ^= 0x01;
    }
    CHECKF(accepted == 0, "%zu model files with a flipped bit accepted", accepted);
    free(data);
}

typedef void (*mutation)(uint8_t *data, ctm_header *h, ctm_config *c, ctm_tensor_entry *t);

static void bad_magic(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)c, (void)t; h->magic[0] = 'X'; }
static void bad_version(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)c, (void)t; h->version = 2; }
static void bad_size(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)c, (void)t; h->file_size += 64; }
static void bad_config_size(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)c, (void)t; h->config_size = 600; }
static void bad_count(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)c, (void)t; h->tensor_count = (uint64_t)1 << 60; }
static void bad_data_size(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)c, (void)t; h->data_size -= 64; }
static void bad_reserved(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)c, (void)t; h->reserved[5] = 1; }
static void bad_offset(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)c; t[3].offset = h->file_size; }
static void huge_offset(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)c; t[3].offset = UINT64_MAX - 63; }
static void unaligned(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)c; t[3].offset += 4; }
static void bad_nbytes(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)c; t[3].nbytes += 4; }
static void bad_dtype(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)c; t[3].dtype = 7; }
static void bad_rank(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)c; t[3].rank = 5; }
static void unterminated(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)c; memset(t[3].name, 'a', CTM_NAME_LEN); }
static void duplicate(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)c; memcpy(t[4].name, t[3].name, CTM_NAME_LEN); }
static void renamed(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)c; t[0].name[0] = 'B'; }
static void misshapen(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)c; t[0].dims[0]--; t[0].nbytes = 4ull * t[0].dims[0] * 3 * 7 * 7; }
static void bad_classes(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)t; c->num_classes = 9; }
static void bad_task(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)t; c->task = CTM_TASK_CLASSIFICATION; c->mask_head_channels = 0; c->roi_batch_size = 4; c->s_features = 16; c->num_image_classes = 3; strcpy(c->image_class_names[0], "a"); strcpy(c->image_class_names[1], "b"); strcpy(c->image_class_names[2], "c"); }
static void bad_thresh(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)t; c->box_score_thresh = NAN; }
static void bad_anchor(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)t; c->anchor_sizes[2] = -1; }
static void bad_name(uint8_t *d, ctm_header *h, ctm_config *c, ctm_tensor_entry *t) { (void)d, (void)h, (void)t; memset(c->class_names[1], 'x', CTM_CLASS_NAME_LEN); }

static void test_model_structural_damage(void) {
    static const struct { mutation fn; const char *message; } cases[] = {
        {bad_magic, "bad magic"}, {bad_version, "version 2"}, {bad_size, "header says"},
        {bad_config_size, "config block"}, {bad_count, "tensor table"}, {bad_data_size, "data area"},
        {bad_reserved, "reserved"}, {bad_offset, "outside the data area"},
        {huge_offset, "outside the data area"}, {unaligned, "misaligned"}, {bad_nbytes, "bytes recorded"},
        {bad_dtype, "unknown dtype 7"}, {bad_rank, "rank 5"}, {unterminated, "unterminated name"},
        {duplicate, "appears twice"}, {renamed, "missing tensor backbone.body.conv1.weight"},
        {misshapen, "has shape [3, 3, 7, 7], expected [4, 3, 7, 7]"},
        {bad_classes, "num_classes"}, {bad_task, "missing tensor s2new.fc_scores.weight"},
        {bad_thresh, "box_score_thresh"}, {bad_anchor, "anchor_sizes"}, {bad_name, "class_names"}};
    size_t size;
    uint8_t *data = valid_model(&size);
    if (!data) return;
    uint8_t *copy = malloc(size);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(copy, data, size);
        ctm_header h;
        ctm_config c;
        memcpy(&h, copy, sizeof h);
        memcpy(&c, copy + h.config_offset, sizeof c);
        ctm_tensor_entry *t = (ctm_tensor_entry *)(void *)(copy + h.table_offset);
        cases[k].fn(copy, &h, &c, t);
        memcpy(copy, &h, sizeof h);
        memcpy(copy + 128, &c, sizeof c);
        if (cases[k].fn != bad_magic && cases[k].fn != bad_version) convert_reseal_model(copy, size);
        ct_error err;
        ct_status st = open_bytes(copy, size, &err);
        CHECKF(st != CT_OK && strstr(err.message, cases[k].message), "case %zu: %s", k, err.message);
    }
    /* The untouched file still opens, and unsealed damage is caught by the checksums. */
    ct_error err;
    CHECK(open_bytes(data, size, &err) == CT_OK);
    memcpy(copy, data, size);
    copy[size - 1] ^= 1;
    CHECK(open_bytes(copy, size, &err) != CT_OK && strstr(err.message, "checksum mismatch"));
    free(copy);
    free(data);
}

/* Float16 tensors are allowed: the engine widens them. */
static void test_model_float16_tensor(void) {
    size_t size;
    uint8_t *data = valid_model(&size);
    if (!data) return;
    ctm_header h;
    memcpy(&h, data, sizeof h);
    ctm_tensor_entry *t = (ctm_tensor_entry *)(void *)(data + h.table_offset);
    t[0].dtype = CTM_DTYPE_F16;
    t[0].nbytes /= 2;
    convert_reseal_model(data, size);
    const char *path = convert_scratch_path(1, "half.bin");
    convert_write_file(path, data, size);
    ct_modelfile *mf;
    ct_error err;
    CHECKF(ct_modelfile_open(path, &mf, &err) == CT_OK, "%s", err.message);
    if (mf) {
        const ctm_tensor_entry *e = ct_modelfile_find(mf, "backbone.body.conv1.weight");
        CHECK(e && e->dtype == CTM_DTYPE_F16 && ct_modelfile_numel(e) == 4 * 3 * 7 * 7);
        CHECK(ct_modelfile_find(mf, "no.such.tensor") == NULL);
        ct_modelfile_close(mf);
    }
    free(data);
    CHECK(ct_modelfile_open("/nonexistent/model.bin", &mf, &err) == CT_E_IO && mf == NULL);
    CHECK(strstr(err.message, "/nonexistent/model.bin") != NULL);
}

int main(void) {
    RUN(test_truncated_checkpoints);
    RUN(test_flipped_bytes);
    RUN(test_zip_missing_record);
    RUN(test_mutated_pickles);
    RUN(test_opcodes_outside_subset);
    RUN(test_absurd_storage_sizes);
    RUN(test_deep_nesting);
    RUN(test_not_a_checkpoint);
    RUN(test_random_files);
    RUN(test_model_truncated_and_flipped);
    RUN(test_model_structural_damage);
    RUN(test_model_float16_tensor);
    return TEST_SUMMARY();
}
