/* Tab-separated manifests (see tsv.h). */
#include "tsv.h"

#include <stdlib.h>
#include <string.h>

#include "cli_run.h"

/* Splits a line in place at its tabs into at most max fields. */
static int split_tabs(char *line, char **fields, int max) {
    int n = 0;
    fields[n++] = line;
    for (char *p = line; *p && n < max; p++)
        if (*p == '\t') {
            *p = '\0';
            fields[n++] = p + 1;
        }
    return n;
}

int tsv_for_each_row(const char *path, int skip_header, void (*fn)(char **fields, int nfields)) {
    char *text = cli_read_text(path, NULL);
    if (!text) return 0;
    int rows = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || skip_header-- > 0) continue;
        char *fields[TSV_MAX_FIELDS];
        fn(fields, split_tabs(line, fields, TSV_MAX_FIELDS));
        rows++;
    }
    free(text);
    return rows;
}
