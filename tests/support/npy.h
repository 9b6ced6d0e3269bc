/* Reads the .npy files the golden fixtures are stored in (little-endian
 * float32 '<f4' or int64 '<i8', C order). Test support only. */
#ifndef CT_TESTS_NPY_H
#define CT_TESTS_NPY_H

#include <stddef.h>

typedef struct {
    int rank;
    long dims[8];
    size_t count;     /* product of dims */
    float *data;      /* [count], int64 files converted to float */
} npy_array;

/* 0 on success; on failure prints why and returns -1. */
int npy_read(const char *path, npy_array *out);
void npy_free(npy_array *a);

#endif
