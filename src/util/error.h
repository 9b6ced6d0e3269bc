/* Errors as values: every fallible internal call returns a ct_status and, on
 * failure, leaves a one-line message in the caller's ct_error. */
#ifndef CT_UTIL_ERROR_H
#define CT_UTIL_ERROR_H

#include "ctinfer.h"

/* Records status and a printf-style message in err (which may be NULL);
 * returns status so callers can write `return ct_fail(err, CT_E_FORMAT, ...)`. */
ct_status ct_fail(ct_error *err, ct_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Prefixes err->message with "prefix: " (for adding context such as a file name). */
void ct_error_prefix(ct_error *err, const char *prefix);

#endif
