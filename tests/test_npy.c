/* .npy writer: headers byte-identical to numpy.save, little-endian data,
 * rasters, atomic file writes. */
#include "test.h"

#include <stdint.h>
#include <string.h>

#include "image/file_io.h"
#include "image/npy_write.h"

/* numpy 1.24 np.save headers for the arrays below (magic through '\n'). */
static void check_header(ct_npy_dtype dtype, const size_t *shape, int rank, const char *dict, size_t total) {
    size_t count = 1;
    for (int i = 0; i < rank; i++) count *= shape[i];
    uint8_t zeros[64] = {0}, *out = NULL;
    size_t len = 0;
    ct_error err;
    CHECK(ct_npy_encode(dtype, shape, rank, zeros, &out, &len, &err) == CT_OK);
    size_t esize = dtype == CT_NPY_U8 ? 1 : dtype == CT_NPY_U16 ? 2 : 4;
    char want[256];
    size_t dlen = strlen(dict);
    memcpy(want, "\x93NUMPY\x01\x00", 8);
    want[8] = (char)(total - 10);
    want[9] = 0;
    memcpy(want + 10, dict, dlen);
    memset(want + 10 + dlen, ' ', total - 11 - dlen);
    want[total - 1] = '\n';
    CHECKF(len == total + count * esize && memcmp(out, want, total) == 0, "header for %s", dict);
    free(out);
}

static void test_headers_match_numpy(void) {
    size_t s23[] = {2, 3}, s5[] = {5}, s234[] = {2, 3, 4}, s044[] = {0, 4, 4};
    check_header(CT_NPY_U16, s23, 2, "{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3), }", 128);
    check_header(CT_NPY_F32, s5, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", 128);
    check_header(CT_NPY_U8, s234, 3, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3, 4), }", 128);
    check_header(CT_NPY_F32, s044, 3, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 4, 4), }", 128);
    check_header(CT_NPY_F32, NULL, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 128);
}

static void test_data_little_endian(void) {
    uint16_t u[2] = {0x1234, 0xabcd};
    float f[2] = {1.0f, -2.5f};
    size_t shape[1] = {2};
    uint8_t *out;
    size_t len;
    ct_error err;
    CHECK(ct_npy_encode(CT_NPY_U16, shape, 1, u, &out, &len, &err) == CT_OK && len == 132);
    CHECK(out[128] == 0x34 && out[129] == 0x12 && out[130] == 0xcd && out[131] == 0xab);
    free(out);
    CHECK(ct_npy_encode(CT_NPY_F32, shape, 1, f, &out, &len, &err) == CT_OK && len == 136);
    const uint8_t want[8] = {0, 0, 0x80, 0x3f, 0, 0, 0x20, 0xc0};
    CHECK(memcmp(out + 128, want, 8) == 0);
    free(out);
    size_t huge[2] = {SIZE_MAX / 2, 3};
    CHECK(ct_npy_encode(CT_NPY_U8, huge, 2, u, &out, &len, &err) == CT_E_ARG);
    CHECK(ct_npy_encode(CT_NPY_U8, huge, 9, u, &out, &len, &err) == CT_E_ARG);
}

static void test_write_raster(void) {
    uint16_t samples[2 * 3 * 2];
    for (int i = 0; i < 12; i++) samples[i] = (uint16_t)(i * 1000);
    ct_raster r = {3, 2, 2, 16, NULL, samples, 0, {0, 0, 0}};
    const char *path = "build/test_npy_raster.npy";
    ct_error err;
    CHECK(ct_npy_write_raster(path, &r, &err) == CT_OK);
    uint8_t *data;
    size_t len;
    CHECK(ct_read_file(path, 1 << 20, &data, &len, &err) == CT_OK);
    const char *dict = "{'descr': '<u2', 'fortran_order': False, 'shape': (2, 3, 2), }";
    CHECKF(len == 128 + 24 && memcmp(data + 10, dict, strlen(dict)) == 0, "file has %zu bytes", len);
    CHECK(len == 128 + 24 && data[128 + 22] == (uint8_t)11000 && data[128 + 23] == 11000 >> 8);
    free(data);
    remove(path);
    uint8_t gray[6] = {1, 2, 3, 4, 5, 6};
    ct_raster g = {3, 2, 1, 8, gray, NULL, 0, {0, 0, 0}};
    CHECK(ct_npy_write_raster(path, &g, &err) == CT_OK);
    CHECK(ct_read_file(path, 1 << 20, &data, &len, &err) == CT_OK && len == 134);
    dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }";
    CHECK(len == 134 && memcmp(data + 10, dict, strlen(dict)) == 0 && memcmp(data + 128, gray, 6) == 0);
    free(data);
    remove(path);
}

int main(void) {
    RUN(test_headers_match_numpy);
    RUN(test_data_little_endian);
    RUN(test_write_raster);
    return TEST_SUMMARY();
}
