/* The human-readable summary of a model (task, backbone, widths, classes,
 * anchors, thresholds, parameter and tensor counts), printed the same way by
 * `ctconvert --info` and `ctinfer --info`. */
#ifndef CT_MODEL_SUMMARY_H
#define CT_MODEL_SUMMARY_H

#include <stddef.h>
#include <stdio.h>

#include "model/format.h"

/* Writes the summary of cfg and its tensor table entries[0, count) to out. */
void ct_summary_print(FILE *out, const ctm_config *cfg, const ctm_tensor_entry *entries,
                      size_t count);

#endif
