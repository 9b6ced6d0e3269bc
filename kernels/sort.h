/* Stable index sort by descending score (ties keep ascending index), the
 * order torch.sort(descending=True, stable=True) and torchvision's NMS use. */
#ifndef CT_KERNELS_SORT_H
#define CT_KERNELS_SORT_H

/* idx[0..n) receives the permutation; tmp has room for n ints. */
void ct_argsort_desc(const float *scores, int n, int *idx, int *tmp);

#endif
