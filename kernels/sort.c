/* Bottom-up merge sort of indices: O(n log n), stable, reentrant. */
#include "sort.h"

#include <string.h>

void ct_argsort_desc(const float *scores, int n, int *idx, int *tmp) {
    for (int i = 0; i < n; i++) idx[i] = i;
    int *src = idx, *dst = tmp;
    for (int width = 1; width < n; width *= 2) {
        for (int lo = 0; lo < n; lo += 2 * width) {
            int mid = lo + width < n ? lo + width : n;
            int hi = lo + 2 * width < n ? lo + 2 * width : n;
            int i = lo, j = mid, k = lo;
            /* Take from the right run only when strictly greater: keeps stability. */
            while (i < mid && j < hi) dst[k++] = scores[src[j]] > scores[src[i]] ? src[j++] : src[i++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        int *t = src;
        src = dst;
        dst = t;
    }
    if (src != idx) memcpy(idx, src, (size_t)n * sizeof *idx);
}
