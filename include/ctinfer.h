/* ctinfer — CPU inference for the lightweight Mask R-CNN lesion-segmentation
 * models and the COVID-CT-Mask-Net classifier (Ter-Sarkisov, 2020).
 *
 * Usage (error handling shortened):
 *
 *     #include "ctinfer.h"
 *
 *     ct_error err;
 *     ct_model *model;
 *     if (ct_model_load("model.bin", &model, &err) != CT_OK)
 *         fprintf(stderr, "%s\n", err.message);
 *
 *     ct_options opt;
 *     ct_options_default(model, &opt);          // thresholds stored in the model file
 *     ct_session *s;
 *     ct_session_new(model, &opt, &s, &err);    // one per thread; model is shared
 *
 *     ct_image img = {width, height, 1, pixels}; // 8-bit gray or RGB, row-major
 *     ct_result res;
 *     if (ct_run(s, &img, &res, &err) == CT_OK)
 *         for (int i = 0; i < res.num_detections; i++)
 *             printf("%d %.3f\n", res.detections[i].label, res.detections[i].score);
 *     ct_result_free(&res);
 *     ct_session_free(s);
 *     ct_model_free(model);
 *
 * Ownership: everything a ct_*_new/load/run call hands out is freed by the
 * matching ct_*_free call. The library never prints, exits or aborts on user
 * input: every failure is a ct_status plus a one-line message in ct_error.
 */
#ifndef CTINFER_H
#define CTINFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CTINFER_VERSION "0.1.0"

typedef enum {
    CT_OK = 0,
    CT_E_ARG,          /* invalid argument from the caller */
    CT_E_IO,           /* a file could not be opened, read or written */
    CT_E_FORMAT,       /* malformed or corrupt input */
    CT_E_UNSUPPORTED,  /* valid input this build does not handle */
    CT_E_NOMEM,        /* allocation failed */
    CT_E_LIMIT,        /* input exceeds a documented size limit */
    CT_E_MODEL,        /* model unsuited to the request (e.g. wrong task) */
    CT_E_NO_SURVIVORS  /* classifier: no detection survived to rank (K = 0) */
} ct_status;

typedef struct {
    ct_status status;
    char message[256];
} ct_error;

/* A short fixed description of a status code. */
const char *ct_status_name(ct_status status);

#ifdef __cplusplus
}
#endif
#endif
