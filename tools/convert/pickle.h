/* A protocol-2 pickle interpreter that builds an object tree and never runs
 * code: GLOBALs become class references, calls of known torch/collections
 * functions are modelled, any other call yields an opaque object. The opcode
 * subset is what torch.save writes (spec §14.4); anything else is refused. */
#ifndef CT_CONVERT_PICKLE_H
#define CT_CONVERT_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "pyobj.h"
#include "util/error.h"

/* Limits that keep hostile input bounded. */
#define CT_PICKLE_MAX_STACK  (1u << 20)   /* values on the stack */
#define CT_PICKLE_MAX_MARKS  1024u        /* nesting of MARK-delimited groups */
#define CT_PICKLE_MAX_MEMO   (1u << 24)   /* memo indices */
#define CT_PICKLE_MAX_GLOBAL 1024u        /* bytes of a GLOBAL module or name */

/* Interprets the pickle at data[0, size) up to its STOP opcode. On success
 * *result is the top of the stack and *consumed the bytes read (STOP included).
 * Strings in the result point into data, which must outlive the heap's use. */
ct_status ct_pickle_run(ct_py_heap *heap, const uint8_t *data, size_t size, size_t *consumed,
                        ct_pyobj **result, ct_error *err);

#endif
