/* IEEE 754 binary16 <-> binary32 conversion (exact widening, narrowing
 * rounded to nearest even). */
#ifndef CT_UTIL_HALF_H
#define CT_UTIL_HALF_H

#include <stddef.h>
#include <stdint.h>

float ct_half_to_float1(uint16_t h);
/* src: n little-endian binary16 values (any alignment); dst: n floats. */
void ct_half_to_float(const void *src, float *dst, size_t n);

/* f rounded to the nearest binary16 (ties to even); beyond +-65504 it
 * becomes an infinity, as a hardware conversion does. NaN stays NaN. */
uint16_t ct_float_to_half1(float f);

#endif
