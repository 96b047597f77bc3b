/* Tiny assertion helpers shared by the C tests (driven by tests/ffi_c.rs). */
#ifndef MH_TEST_CHECK_H
#define MH_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mediahash.h"

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                                \
        }                                                                           \
    } while (0)

/* Checks that `call` returned `want`; on a mismatch prints both names and the detail. */
#define CHECK_STATUS(call, want)                                                       \
    do {                                                                               \
        mh_status got_ = (call);                                                       \
        if (got_ != (mh_status)(want)) {                                               \
            char detail_[512];                                                         \
            size_t needed_ = 0;                                                        \
            if (mh_last_error_message(detail_, sizeof detail_, &needed_) != MH_STATUS_OK) \
                detail_[0] = '\0';                                                     \
            fprintf(stderr, "%s:%d: %s returned %u (%s), expected %u (%s); detail: %s\n", \
                    __FILE__, __LINE__, #call, (unsigned)got_, mh_status_str(got_),    \
                    (unsigned)(want), mh_status_str(want), detail_);                   \
            exit(1);                                                                   \
        }                                                                              \
    } while (0)

/* The detail message of the last failure on this thread (static buffer; not thread-safe). */
static inline const char *last_error(void) {
    static char buf[1024];
    size_t needed = 0;
    if (mh_last_error_message(buf, sizeof buf, &needed) != MH_STATUS_OK)
        buf[0] = '\0';
    return buf;
}

/* The whole file at `path` (malloc'd; the caller frees it), its size in `*len`. */
static inline unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf;
    long size;
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    size = ftell(f);
    CHECK(size > 0);
    CHECK(fseek(f, 0, SEEK_SET) == 0);
    buf = malloc((size_t)size);
    CHECK(buf != NULL);
    CHECK(fread(buf, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return buf;
}

#endif
