/* Small helpers shared by the C examples: reading files and streams, printing views. */
#ifndef PEC_EXAMPLES_COMMON_H
#define PEC_EXAMPLES_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pec.h>

/* Reads a whole stream into a malloc'ed buffer; returns NULL on error. */
static inline unsigned char *read_stream(FILE *f, size_t *out_len)
{
    size_t cap = 65536, len = 0;
    unsigned char *buf = malloc(cap);
    if (buf == NULL)
        return NULL;
    for (;;) {
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (len < cap) {
            if (ferror(f)) {
                free(buf);
                return NULL;
            }
            break;
        }
        unsigned char *bigger = realloc(buf, cap * 2);
        if (bigger == NULL) {
            free(buf);
            return NULL;
        }
        buf = bigger;
        cap *= 2;
    }
    *out_len = len;
    return buf;
}

/* Reads a whole file; returns NULL (and prints why) on error. */
static inline unsigned char *read_file(const char *path, size_t *out_len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return NULL;
    }
    unsigned char *buf = read_stream(f, out_len);
    fclose(f);
    if (buf == NULL)
        fprintf(stderr, "%s: read error\n", path);
    return buf;
}

/* The last error of this thread, for messages (static buffer: not thread-safe). */
static inline const char *last_error(void)
{
    static char buf[1024];
    size_t n = 0;
    if (pec_last_error_message(buf, sizeof buf, &n) != PEC_RESULT_OK)
        snprintf(buf, sizeof buf, "(message too long: %zu bytes)", n);
    return buf;
}

/* Prints "label: value" for a text view; "(none)" when absent. */
static inline void print_view(FILE *f, const char *label, const char *s, size_t len)
{
    if (s == NULL)
        fprintf(f, "%s: (none)\n", label);
    else
        fprintf(f, "%s: %.*s\n", label, (int)len, s);
}

#endif
