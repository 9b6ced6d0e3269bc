/* Error reporting helpers (see error.h). */
#include "util/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

ct_status ct_fail(ct_error *err, ct_status status, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->status = status;
    }
    return status;
}

void ct_error_prefix(ct_error *err, const char *prefix) {
    if (!err) return;
    char old[sizeof err->message];
    memcpy(old, err->message, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->message - 3) n = sizeof err->message - 3;
    memcpy(err->message, prefix, n);
    memcpy(err->message + n, ": ", 2);
    size_t room = sizeof err->message - n - 2;
    size_t m = strnlen(old, room - 1);
    memcpy(err->message + n + 2, old, m);
    err->message[n + 2 + m] = '\0';
}

const char *ct_status_name(ct_status status) {
    switch (status) {
    case CT_OK: return "ok";
    case CT_E_ARG: return "invalid argument";
    case CT_E_IO: return "I/O error";
    case CT_E_FORMAT: return "malformed input";
    case CT_E_UNSUPPORTED: return "unsupported input";
    case CT_E_NOMEM: return "out of memory";
    case CT_E_LIMIT: return "size limit exceeded";
    case CT_E_MODEL: return "model does not fit the request";
    case CT_E_NO_SURVIVORS: return "no detections survived";
    }
    return "unknown status";
}
