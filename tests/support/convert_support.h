/* Helpers for the converter and model-file tests: whole-file I/O, a scratch
 * directory, the fixtures' .expect files (written by
 * tools/reference/make_convert_fixtures.py), in-memory conversion, and tiny
 * builders for hand-made ZIP archives and pickles. */
#ifndef CT_TEST_CONVERT_SUPPORT_H
#define CT_TEST_CONVERT_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#include "ctinfer.h"
#include "model/format.h"

#define CONVERT_FIXTURES "tests/fixtures/convert"

/* malloc'd contents of path (exactly *size bytes, so overreads are caught), or NULL. */
uint8_t *convert_read_file(const char *path, size_t *size);
int convert_write_file(const char *path, const void *data, size_t size);
/* A directory under /tmp made on first use and removed (with its files) at exit. */
const char *convert_scratch_dir(void);
/* "<scratch>/<name>" in a static buffer per call slot (0..3). */
const char *convert_scratch_path(int slot, const char *name);

/* ---- expected conversion results ---------------------------------------- */

typedef struct {
    char name[CTM_NAME_LEN];
    uint32_t rank, dims[CTM_MAX_RANK];
    size_t nbytes;
    const uint8_t *bytes;     /* float32 little-endian, unaligned */
} convert_expect_tensor;

typedef struct {
    char task[32];
    long backbone_depth, truncation, num_classes, stem_width, fpn_channels, representation_size,
        mask_head_channels, roi_batch_size, s_features, anchors_from_checkpoint, parameters;
    float anchor_sizes[CTM_MAX_ANCHORS], aspect_ratios[CTM_MAX_ANCHORS];
    uint32_t num_anchor_sizes, num_aspect_ratios;
    size_t num_tensors;
    convert_expect_tensor *tensors;
    uint8_t *buf;
} convert_expect;

/* Reads CONVERT_FIXTURES/<fixture>.expect; 0 on a malformed file. */
int convert_expect_load(const char *fixture, convert_expect *e);
void convert_expect_free(convert_expect *e);

/* The whole conversion without writing: open, infer the config with default
 * options, match the architecture and read every tensor. */
ct_status convert_memory(const uint8_t *data, size_t size, ct_error *err);

/* Recomputes a model file's body and header CRCs in place, so that a
 * deliberate change reaches the checks behind them. */
void convert_reseal_model(uint8_t *model, size_t size);

/* ---- builders ----------------------------------------------------------- */

typedef struct {
    uint8_t *data;
    size_t len, cap;
} convert_buf;

void convert_buf_put(convert_buf *b, const void *p, size_t n);
void convert_buf_free(convert_buf *b);

/* Pickle opcodes (protocol 2). */
void convert_pk_op(convert_buf *b, uint8_t op);
void convert_pk_str(convert_buf *b, const char *s);           /* BINUNICODE */
void convert_pk_int(convert_buf *b, int64_t v);               /* BININT or LONG1 */
void convert_pk_global(convert_buf *b, const char *module, const char *name);

typedef struct {
    const char *name;
    const uint8_t *data;
    size_t size;
} convert_zip_item;

/* A stored (uncompressed) ZIP of the items; malloc'd, *size bytes. With zip64
 * the directory keeps sizes and offsets in zip64 fields only. */
uint8_t *convert_zip_build(const convert_zip_item *items, size_t n, int zip64, size_t *size);

#endif
