/* A strict JSON syntax check and a few extractors for the CLI tests (RFC
 * 8259 grammar; no semantic checks). Test support only. */
#ifndef CT_TESTS_CLI_JSON_H
#define CT_TESTS_CLI_JSON_H

#include <stddef.h>

/* 1 when text[0..len) is exactly one JSON value, surrounded by optional whitespace. */
int json_valid(const char *text, size_t len);

/* Reads up to max numbers following each occurrence of `key` (e.g.
 * "\"score\": ") in text, in order; returns how many were read. */
int json_numbers_after(const char *text, const char *key, double *out, int max);

#endif
