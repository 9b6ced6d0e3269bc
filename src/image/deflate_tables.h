/* The length and distance code tables of RFC 1951 3.2.5, shared by inflate
 * and deflate. */
#ifndef CT_IMAGE_DEFLATE_TABLES_H
#define CT_IMAGE_DEFLATE_TABLES_H

#include <stdint.h>

/* Length symbols 257..285 map to index 0..28; distance symbols 0..29. */
extern const uint16_t ct_deflate_length_base[29];
extern const uint8_t ct_deflate_length_extra[29];
extern const uint16_t ct_deflate_dist_base[30];
extern const uint8_t ct_deflate_dist_extra[30];

#endif
