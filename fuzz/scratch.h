/* A private scratch directory for the fuzz targets that must go through a
 * file (in /dev/shm when it exists, so that nothing touches a disk), removed
 * with its files when the process exits normally. */
#ifndef CT_FUZZ_SCRATCH_H
#define CT_FUZZ_SCRATCH_H

#include <stddef.h>
#include <stdint.h>

/* "<scratch dir>/name" in a static buffer; aborts when no directory can be made. */
const char *fuzz_scratch_path(const char *name);
/* Writes data to path (aborts on failure: the fuzz target cannot go on). */
void fuzz_write_file(const char *path, const uint8_t *data, size_t size);
/* Number of entries in the scratch directory (. and .. not counted). */
int fuzz_scratch_entries(void);

#endif
