/* Building reference sets from C: hash-list files (detected and named formats), single
 * hashes, the bad-line rule, and every error path. argv[1]: a scratch directory. */
#define _POSIX_C_SOURCE 200809L /* unlink */
#include "check.h"

#include <stdint.h>
#include <unistd.h>

static char list_path[4096], bad_path[4096], set_path[4096];

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fputs(text, f) >= 0);
    CHECK(fclose(f) == 0);
}

static int progress_calls;

static int stop_at_first(void *userdata, uint64_t done, uint64_t total) {
    CHECK(userdata == &progress_calls && done == 65536 && total == 0);
    progress_calls++;
    return 1;
}

/* A list of `lines` distinct MD5 lines. */
static void write_long_list(const char *path, unsigned lines) {
    FILE *f = fopen(path, "wb");
    unsigned i;
    CHECK(f != NULL);
    for (i = 0; i < lines; i++)
        CHECK(fprintf(f, "%032x  f%u\n", i + 1, i) > 0);
    CHECK(fclose(f) == 0);
}

static size_t lookup_count(const mh_refset *set, uint32_t kind, const uint8_t *value, size_t len) {
    mh_matches *matches = NULL;
    size_t n;
    CHECK_STATUS(mh_refset_lookup(set, kind, value, len, &matches), MH_STATUS_OK);
    n = mh_matches_len(matches);
    mh_matches_free(matches);
    return n;
}

int main(int argc, char **argv) {
    /* md5("abc"), and a value given directly. */
    static const uint8_t md5_abc[16] = {0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0,
                                        0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72};
    uint8_t sha1[20];
    mh_refset_builder *b = NULL;
    mh_import_summary summary = {.struct_size = sizeof summary};
    mh_refset *set = NULL;
    mh_refset_info info = {.struct_size = sizeof info};
    size_t i;

    CHECK(argc == 2);
    snprintf(list_path, sizeof list_path, "%s/list.md5", argv[1]);
    snprintf(bad_path, sizeof bad_path, "%s/bad.txt", argv[1]);
    snprintf(set_path, sizeof set_path, "%s/built.mhset", argv[1]);
    unlink(set_path);
    write_text(list_path, "900150983cd24fb0d6963f7d28e17f72  abc.jpg\n"
                          "not a hash line\n"
                          "e2fc714c4727ee9395f324cd2e7f331f  abcd.jpg\n");
    write_text(bad_path, "hello\nworld\nthis is no hash list\n");
    for (i = 0; i < sizeof sha1; i++)
        sha1[i] = (uint8_t)(i * 7 + 1);

    CHECK_STATUS(mh_refset_builder_new(NULL), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_builder_new(&b), MH_STATUS_OK);
    /* A list: format detected, one bad line counted. */
    CHECK_STATUS(mh_refset_builder_add_file(b, list_path, NULL, MH_DISPOSITION_ALERT, "known",
                                            0, &summary),
                 MH_STATUS_OK);
    CHECK(summary.records == 2 && summary.bad_records == 1);
    CHECK(strlen(summary.format) > 0);
    /* A file with no usable line: refused unless allowed. */
    memset(&summary, 0xAB, sizeof summary);
    summary.struct_size = sizeof summary;
    CHECK_STATUS(mh_refset_builder_add_file(b, bad_path, "md5sum", MH_DISPOSITION_IGNORE, NULL, 0,
                                            &summary),
                 MH_STATUS_IMPORT_UNUSABLE);
    CHECK(summary.records == 0xABABABABABABABABull); /* untouched */
    CHECK(strstr(last_error(), "bad.txt") != NULL);
    CHECK_STATUS(mh_refset_builder_add_file(b, bad_path, "md5sum", MH_DISPOSITION_IGNORE, NULL,
                                            MH_IMPORT_ALLOW_BAD_LINES, NULL),
                 MH_STATUS_OK);
    /* Errors. */
    CHECK_STATUS(mh_refset_builder_add_file(b, "/no/such/list.txt", NULL, MH_DISPOSITION_ALERT,
                                            NULL, 0, NULL),
                 MH_STATUS_NOT_FOUND);
    CHECK_STATUS(mh_refset_builder_add_file(b, list_path, "no-such-format", MH_DISPOSITION_ALERT,
                                            NULL, 0, NULL),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_builder_add_file(b, list_path, NULL, 9, NULL, 0, NULL),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_builder_add_file(b, list_path, NULL, MH_DISPOSITION_ALERT, NULL, 1u << 9,
                                            NULL),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_builder_add_file(NULL, list_path, NULL, 1, NULL, 0, NULL),
                 MH_STATUS_NULL_PARAMETER);
    /* Single hashes. */
    CHECK_STATUS(mh_refset_builder_add_hash(b, MH_HASH_KIND_SHA1, sha1, 20, "by hand",
                                            MH_DISPOSITION_ALERT, "2"),
                 MH_STATUS_OK);
    CHECK_STATUS(mh_refset_builder_add_hash(b, MH_HASH_KIND_SHA1, sha1, 19, "by hand",
                                            MH_DISPOSITION_ALERT, NULL),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_builder_add_hash(b, MH_HASH_KIND_SHA1, NULL, 20, "by hand", 1, NULL),
                 MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_builder_add_hash(b, 42, sha1, 20, "by hand", 1, NULL),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_builder_finish(b, NULL), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_builder_finish(b, list_path), MH_STATUS_INVALID_PARAMETER); /* exists */
    CHECK(strstr(last_error(), "already exists") != NULL);
    CHECK_STATUS(mh_refset_builder_finish(b, set_path), MH_STATUS_OK);
    CHECK_STATUS(mh_refset_builder_add_hash(b, MH_HASH_KIND_SHA1, sha1, 20, "x", 1, NULL),
                 MH_STATUS_INVALID_PARAMETER); /* finished */
    CHECK_STATUS(mh_refset_builder_finish(b, set_path), MH_STATUS_INVALID_PARAMETER);
    mh_refset_builder_free(b);
    mh_refset_builder_free(NULL);

    /* Progress and cancel while importing a long list (70,000 lines). */
    {
        char long_path[4200];
        mh_cancel *cancel = NULL;
        snprintf(long_path, sizeof long_path, "%s/long.md5", argv[1]);
        write_long_list(long_path, 70000);
        CHECK_STATUS(mh_refset_builder_new(&b), MH_STATUS_OK);
        CHECK_STATUS(mh_refset_builder_set_progress(b, stop_at_first, &progress_calls, NULL),
                     MH_STATUS_OK);
        CHECK_STATUS(mh_refset_builder_add_file(b, long_path, "md5sum", MH_DISPOSITION_IGNORE,
                                                NULL, 0, NULL),
                     MH_STATUS_CANCELLED);
        CHECK(progress_calls == 1);
        CHECK_STATUS(mh_cancel_new(&cancel), MH_STATUS_OK);
        mh_cancel_set(cancel);
        CHECK_STATUS(mh_refset_builder_set_progress(b, NULL, NULL, cancel), MH_STATUS_OK);
        CHECK_STATUS(mh_refset_builder_add_file(b, long_path, "md5sum", MH_DISPOSITION_IGNORE,
                                                NULL, 0, NULL),
                     MH_STATUS_CANCELLED);
        CHECK_STATUS(mh_refset_builder_set_progress(b, NULL, NULL, NULL), MH_STATUS_OK);
        CHECK_STATUS(mh_refset_builder_add_file(b, long_path, "md5sum", MH_DISPOSITION_IGNORE,
                                                NULL, 0, &summary),
                     MH_STATUS_OK);
        CHECK(summary.records == 70000);
        CHECK_STATUS(mh_refset_builder_set_progress(NULL, NULL, NULL, NULL),
                     MH_STATUS_NULL_PARAMETER);
        mh_cancel_free(cancel);
        mh_refset_builder_free(b);
        unlink(long_path);
    }

    /* The set holds what was added. */
    CHECK_STATUS(mh_refset_open(set_path, &set), MH_STATUS_OK);
    CHECK_STATUS(mh_refset_verify(set), MH_STATUS_OK);
    CHECK_STATUS(mh_refset_get_info(set, &info), MH_STATUS_OK);
    CHECK(info.md5_count == 2 && info.sha1_count == 1);
    /* The list, the refused bad file (listed with its counts), the allowed one, the C API's
     * hashes. */
    CHECK(info.source_count == 4);
    CHECK(lookup_count(set, MH_HASH_KIND_MD5, md5_abc, 16) == 1);
    CHECK(lookup_count(set, MH_HASH_KIND_SHA1, sha1, 20) == 1);
    {
        mh_matches *matches = NULL;
        mh_match m = {.struct_size = sizeof m};
        CHECK_STATUS(mh_refset_lookup(set, MH_HASH_KIND_SHA1, sha1, 20, &matches), MH_STATUS_OK);
        CHECK_STATUS(mh_matches_get(matches, 0, &m), MH_STATUS_OK);
        CHECK(strcmp(m.set_name, "by hand") == 0 && strcmp(m.category, "2") == 0);
        CHECK(m.disposition == MH_DISPOSITION_ALERT);
        mh_matches_free(matches);
    }
    mh_refset_free(set);
    unlink(set_path);
    puts("test_build: ok");
    return 0;
}
