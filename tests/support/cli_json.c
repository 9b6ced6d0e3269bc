/* Test support: JSON syntax check and number extraction (see cli_json.h). */
#include "cli_json.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p, *end;
    int depth;
} parser;

static int value(parser *ps);

static void skip_space(parser *ps) {
    while (ps->p < ps->end && strchr(" \t\r\n", *ps->p) && *ps->p) ps->p++;
}

static int literal(parser *ps, const char *word) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0) return 0;
    ps->p += n;
    return 1;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int digits(parser *ps) {
    const char *start = ps->p;
    while (ps->p < ps->end && is_digit(*ps->p)) ps->p++;
    return ps->p > start;
}

static int number(parser *ps) {
    if (ps->p < ps->end && *ps->p == '-') ps->p++;
    if (ps->p < ps->end && *ps->p == '0') ps->p++;
    else if (!digits(ps)) return 0;
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (!digits(ps)) return 0;
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-')) ps->p++;
        if (!digits(ps)) return 0;
    }
    return 1;
}

static int string(parser *ps) {
    if (ps->p >= ps->end || *ps->p != '"') return 0;
    for (ps->p++; ps->p < ps->end; ps->p++) {
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"') {
            ps->p++;
            return 1;
        }
        if (c < 0x20) return 0;
        if (c != '\\') continue;
        if (++ps->p >= ps->end) return 0;
        if (*ps->p == 'u') {
            for (int k = 0; k < 4; k++)
                if (++ps->p >= ps->end || !strchr("0123456789abcdefABCDEF", *ps->p) || !*ps->p) return 0;
        } else if (!*ps->p || !strchr("\"\\/bfnrt", *ps->p)) {
            return 0;
        }
    }
    return 0;
}

/* Elements of an array or members of an object, after its opening bracket. */
static int container(parser *ps, char close, int members) {
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 1;
    }
    for (;;) {
        skip_space(ps);
        if (members) {
            if (!string(ps)) return 0;
            skip_space(ps);
            if (ps->p >= ps->end || *ps->p++ != ':') return 0;
        }
        if (!value(ps)) return 0;
        skip_space(ps);
        if (ps->p >= ps->end) return 0;
        char c = *ps->p++;
        if (c == close) return 1;
        if (c != ',') return 0;
    }
}

static int value(parser *ps) {
    skip_space(ps);
    if (ps->p >= ps->end || ++ps->depth > 64) return 0;
    int ok;
    char c = *ps->p;
    if (c == '{' || c == '[') {
        ps->p++;
        ok = container(ps, c == '{' ? '}' : ']', c == '{');
    } else if (c == '"') {
        ok = string(ps);
    } else if (c == 't' || c == 'f' || c == 'n') {
        ok = literal(ps, "true") || literal(ps, "false") || literal(ps, "null");
    } else {
        ok = number(ps);
    }
    ps->depth--;
    return ok;
}

int json_valid(const char *text, size_t len) {
    parser ps = {text, text + len, 0};
    if (!value(&ps)) return 0;
    skip_space(&ps);
    return ps.p == ps.end;
}

int json_numbers_after(const char *text, const char *key, double *out, int max) {
    int n = 0;
    size_t k = strlen(key);
    for (const char *p = strstr(text, key); p && n < max; p = strstr(p + k, key)) {
        char *end;
        double v = strtod(p + k, &end);
        if (end == p + k) continue;
        out[n++] = v;
    }
    return n;
}
