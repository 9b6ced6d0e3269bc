/* Stable index sort by descending score (ties keep ascending index), the
 * order torch.sort(descending=True, stable=True) and torchvision's NMS use. */
#ifndef CT_KERNELS_SORT_H
#define CT_KERNELS_SORT_H

/* idx[0..n) receives the permutation; tmp has room for n ints. */
void ct_argsort_desc(const float *scores, int n, int *idx, int *tmp);

/* The first min(k, n) indices of ct_argsort_desc's order into idx (which,
 * like tmp and values, has room for n), in O(n + k log k) by selecting the
 * k-th score first; with NaN among the scores it sorts them all. Returns
 * min(k, n). */
int ct_topk_desc(const float *scores, int n, int k, int *idx, int *tmp, float *values);

#endif
