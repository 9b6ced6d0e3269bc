/* Bottom-up merge sort of indices (O(n log n), stable, reentrant), and the
 * top k of the same order by selection. */
#include "sort.h"

#include <math.h>
#include <string.h>

/* Sorts idx[0..n) by descending scores[idx], equal scores keeping their
 * order in idx; tmp has room for n ints. */
static void merge_sort(const float *scores, int *idx, int *tmp, int n) {
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

void ct_argsort_desc(const float *scores, int n, int *idx, int *tmp) {
    for (int i = 0; i < n; i++) idx[i] = i;
    merge_sort(scores, idx, tmp, n);
}

static void swap_floats(float *a, float *b) {
    float t = *a;
    *a = *b;
    *b = t;
}

/* The value of rank r (0: the largest) among v[0..n) (no NaN), found by
 * quickselect (median of three, v reordered); NAN when it takes more than
 * 64 partition steps (typical inputs take about log2 n), which only
 * adversarial orders need: the caller then sorts instead. */
static float select_rank(float *v, int n, int r) {
    int lo = 0, hi = n - 1, budget = 64;
    while (lo < hi) {
        if (budget-- == 0) return NAN;
        int mid = lo + (hi - lo) / 2;   /* v[lo] >= v[mid] >= v[hi] after these swaps */
        if (v[mid] > v[lo]) swap_floats(&v[mid], &v[lo]);
        if (v[hi] > v[lo]) swap_floats(&v[hi], &v[lo]);
        if (v[hi] > v[mid]) swap_floats(&v[hi], &v[mid]);
        float pivot = v[mid];
        int i = lo, j = hi;
        while (i <= j) {   /* Hoare partition, descending */
            while (v[i] > pivot) i++;
            while (pivot > v[j]) j--;
            if (i <= j) swap_floats(&v[i++], &v[j--]);
        }
        if (r <= j) hi = j;
        else if (r >= i) lo = i;
        else return v[r];   /* between the parts: equal to the pivot */
    }
    return v[r];
}

int ct_topk_desc(const float *scores, int n, int k, int *idx, int *tmp, float *values) {
    if (k > n) k = n;
    if (k <= 0) return 0;
    int has_nan = 0;
    for (int i = 0; i < n; i++) has_nan |= isnan(scores[i]);
    float t = NAN;
    if (k < n && !has_nan) {
        memcpy(values, scores, (size_t)n * sizeof *values);
        t = select_rank(values, n, k - 1);
    }
    if (isnan(t)) {   /* NaN scores (whose order is the merge sort's own), k = n, or no selection */
        ct_argsort_desc(scores, n, idx, tmp);
        return k;
    }
    /* The k first of the stable order: every score above t, then scores equal
     * to t by ascending index; collected by ascending index, then sorted. */
    int m = 0;
    for (int i = 0; i < n; i++)
        if (scores[i] > t) idx[m++] = i;
    for (int i = 0; i < n && m < k; i++)
        if (scores[i] == t) idx[m++] = i;
    merge_sort(scores, idx, tmp, m);
    return m;
}
