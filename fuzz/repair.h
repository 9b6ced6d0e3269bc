/* Checksum repair for the fuzz targets: a mutated input gets its checksums
 * recomputed, so that mutations reach the checks that sit behind them (PNG
 * chunk CRCs, ZIP record CRCs, the model file's header and body CRCs). */
#ifndef CT_FUZZ_REPAIR_H
#define CT_FUZZ_REPAIR_H

#include <stddef.h>
#include <stdint.h>

/* Rewrites the CRC of every complete chunk after the PNG signature. */
void fuzz_repair_png(uint8_t *png, size_t len);
/* Rewrites the directory CRC of every stored record the ZIP reader can locate. */
void fuzz_repair_zip(uint8_t *zip, size_t len);
/* Rewrites the body and header CRCs of a model file (models/FORMAT.md). */
void fuzz_repair_model(uint8_t *model, size_t len);

#endif
