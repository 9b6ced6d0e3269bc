/* Minimal .npy reader for test fixtures (format version 1.0 and 2.0). */
#include "npy.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_shape(const char *header, npy_array *out) {
    const char *p = strstr(header, "'shape':");
    if (!p || !(p = strchr(p, '('))) return -1;
    p++;
    out->rank = 0;
    out->count = 1;
    while (*p && *p != ')') {
        while (*p == ' ' || *p == ',') p++;
        if (*p == ')') break;
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || out->rank == 8) return -1;
        out->dims[out->rank++] = v;
        out->count *= (size_t)v;
        p = end;
    }
    return 0;
}

int npy_read(const char *path, npy_array *out) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("    cannot open %s\n", path);
        return -1;
    }
    unsigned char pre[12];
    int rc = -1;
    if (fread(pre, 1, 10, f) != 10 || memcmp(pre, "\x93NUMPY", 6) != 0) goto done;
    size_t hlen = pre[8] | (size_t)pre[9] << 8;
    if (pre[6] >= 2) {
        if (fread(pre + 10, 1, 2, f) != 2) goto done;
        hlen = pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 | (size_t)pre[11] << 24;
    }
    char *header = calloc(hlen + 1, 1);
    if (!header || fread(header, 1, hlen, f) != hlen) {
        free(header);
        goto done;
    }
    int is_f4 = strstr(header, "'<f4'") != NULL, is_i8 = strstr(header, "'<i8'") != NULL;
    int fortran = strstr(header, "'fortran_order': True") != NULL;
    if ((!is_f4 && !is_i8) || fortran || parse_shape(header, out) != 0) {
        printf("    %s: unsupported npy header %s\n", path, header);
        free(header);
        goto done;
    }
    free(header);
    out->data = malloc((out->count ? out->count : 1) * sizeof(float));
    if (!out->data) goto done;
    if (is_f4) {
        if (fread(out->data, sizeof(float), out->count, f) != out->count) goto done;
    } else {
        for (size_t i = 0; i < out->count; i++) {
            int64_t v;
            if (fread(&v, sizeof v, 1, f) != 1) goto done;
            out->data[i] = (float)v;
        }
    }
    rc = 0;
done:
    if (rc != 0) {
        printf("    cannot read %s\n", path);
        free(out->data);
        out->data = NULL;
    }
    fclose(f);
    return rc;
}

void npy_free(npy_array *a) {
    free(a->data);
    a->data = NULL;
}
