/* Reading the tab-separated fixture manifests (PngSuite MANIFEST.tsv, the
 * DICOM variants' EXPECTED.tsv). Test support only. */
#ifndef CT_TESTS_TSV_H
#define CT_TESTS_TSV_H

#define TSV_MAX_FIELDS 16

/* Calls fn with the fields (at most TSV_MAX_FIELDS) of every data line of
 * the file at path: lines starting with '#' and the first skip_header other
 * lines are skipped. Returns the number of lines passed to fn, 0 when the
 * file cannot be read. */
int tsv_for_each_row(const char *path, int skip_header, void (*fn)(char **fields, int nfields));

#endif
