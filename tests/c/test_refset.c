/*
 * Reference sets: open/free/verify/info, exact lookup, PDQ and 64-bit search, mh_matches,
 * and every error path.
 *
 * argv: SET TAMPERED NEWER_VERSION GARBAGE EMPTY IMAGE
 * The Rust driver (tests/ffi_c.rs, fn build_fixture_set) built SET from IMAGE's hashes:
 *   set "alerts" (alert), source "alerts.json":
 *     record 1: SHA-256 and MD5 of IMAGE, PDQ of IMAGE with 5 bits flipped (quality 90),
 *               category "1", profile "Default", victim yes, source_id "media-1",
 *               file_name "img\xff.png", file_size 1234, note "a\0b"
 *     record 2: PDQ of IMAGE rotated 90 degrees (dihedral 1), category "2"
 *     record 3: pHash of IMAGE xor 7, category "3"
 *   set "NSRL" (ignore), source "nsrl.txt": SHA-256 of IMAGE, file_name "x.png"
 * TAMPERED opens but fails verification; NEWER_VERSION claims format version 2.
 * test_truncation writes SET.truncate-test beside SET and removes it.
 */
#define _POSIX_C_SOURCE 200809L /* truncate, unlink */
#include "check.h"

#include <unistd.h>

static const char *set_path, *tampered_path, *newer_path, *garbage_path, *empty_path, *image;
static mh_hash_result img = {.struct_size = sizeof img};

static mh_refset *open_set(void) {
    mh_refset *set = NULL;
    CHECK_STATUS(mh_refset_open(set_path, &set), MH_STATUS_OK);
    CHECK(set != NULL);
    return set;
}

static void test_open_errors(void) {
    mh_refset *sentinel = (mh_refset *)&img; /* any non-NULL value: must stay untouched */
    mh_refset *set = sentinel;
    char missing[4096];

    CHECK_STATUS(mh_refset_open(NULL, &set), MH_STATUS_NULL_PARAMETER);
    CHECK(strcmp(last_error(), "mh_refset_open: path or out is NULL") == 0);
    CHECK_STATUS(mh_refset_open(set_path, NULL), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_open_mapped(NULL, &set), MH_STATUS_NULL_PARAMETER);
    CHECK(strcmp(last_error(), "mh_refset_open_mapped: path or out is NULL") == 0);
    CHECK_STATUS(mh_refset_open_mapped(set_path, NULL), MH_STATUS_NULL_PARAMETER);
    snprintf(missing, sizeof missing, "%s.missing", set_path);
    CHECK_STATUS(mh_refset_open(missing, &set), MH_STATUS_NOT_FOUND);
    CHECK(strstr(last_error(), ".missing") != NULL);
    CHECK_STATUS(mh_refset_open(garbage_path, &set), MH_STATUS_REFSET_INVALID);
    CHECK(strlen(last_error()) > 0);
    CHECK_STATUS(mh_refset_open(empty_path, &set), MH_STATUS_REFSET_INVALID);
    CHECK_STATUS(mh_refset_open(newer_path, &set), MH_STATUS_REFSET_UNSUPPORTED_VERSION);
    CHECK(strstr(last_error(), "version") != NULL);
    CHECK_STATUS(mh_refset_open_mapped(missing, &set), MH_STATUS_NOT_FOUND);
    CHECK_STATUS(mh_refset_open_mapped(garbage_path, &set), MH_STATUS_REFSET_INVALID);
    CHECK_STATUS(mh_refset_open_mapped(newer_path, &set),
                 MH_STATUS_REFSET_UNSUPPORTED_VERSION);
    /* A directory is not a reference set. */
    {
        mh_status status = mh_refset_open("/", &set);
        CHECK(status == MH_STATUS_IO || status == MH_STATUS_REFSET_INVALID);
        CHECK(strlen(last_error()) > 0);
    }
    CHECK(set == sentinel);

    mh_refset_free(NULL);
}

struct progress {
    int calls, stop;
    uint64_t last_done, total;
};

static int on_progress(void *userdata, uint64_t done, uint64_t total) {
    struct progress *p = userdata;
    CHECK(done >= p->last_done && done <= total);
    p->calls++;
    p->last_done = done;
    p->total = total;
    return p->stop;
}

static void test_verify(void) {
    mh_refset *set = open_set(), *tampered = NULL;
    struct progress p = {0, 0, 0, 0};
    mh_cancel *cancel = NULL;
    CHECK_STATUS(mh_refset_verify(set), MH_STATUS_OK);
    /* With progress: reaches the total; a callback or a token that says stop cancels. */
    CHECK_STATUS(mh_refset_verify_with_progress(set, on_progress, &p, NULL), MH_STATUS_OK);
    CHECK(p.calls >= 1 && p.last_done == p.total && p.total > 0);
    p.stop = 1;
    CHECK_STATUS(mh_refset_verify_with_progress(set, on_progress, &p, NULL), MH_STATUS_CANCELLED);
    CHECK_STATUS(mh_refset_verify_with_progress(set, NULL, NULL, NULL), MH_STATUS_OK);
    CHECK_STATUS(mh_cancel_new(&cancel), MH_STATUS_OK);
    mh_cancel_set(cancel);
    CHECK_STATUS(mh_refset_verify_with_progress(set, NULL, NULL, cancel), MH_STATUS_CANCELLED);
    mh_cancel_free(cancel);
    CHECK_STATUS(mh_refset_verify_with_progress(NULL, NULL, NULL, NULL),
                 MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_verify(NULL), MH_STATUS_NULL_PARAMETER);
    CHECK(strcmp(last_error(), "mh_refset_verify: set is NULL") == 0);
    CHECK_STATUS(mh_refset_open(tampered_path, &tampered), MH_STATUS_OK);
    CHECK_STATUS(mh_refset_verify(tampered), MH_STATUS_REFSET_CHECKSUM_MISMATCH);
    CHECK(strstr(last_error(), "checksum") != NULL);
    mh_refset_free(tampered);
    mh_refset_free(set);
}

static void test_info(void) {
    mh_refset *set = open_set();
    mh_refset_info info = {.struct_size = sizeof info};
    mh_set_info s = {.struct_size = sizeof s};
    mh_source_info src = {.struct_size = sizeof src};
    size_t i;
    int saw_alerts = 0, saw_nsrl = 0;

    CHECK_STATUS(mh_refset_get_info(set, &info), MH_STATUS_OK);
    CHECK(info.format_version == 1);
    CHECK(info.file_len > 0);
    CHECK(info.records == 4);
    CHECK(info.sha256_count == 1 && info.md5_count == 1 && info.sha1_count == 0);
    CHECK(info.pdq_count == 2 && info.phash_count == 1 && info.dhash_count == 0);
    CHECK(info.ahash_count == 0 && info.photodna_count == 0);
    CHECK(info.set_count == 2 && info.source_count == 2);
    CHECK(strncmp(info.tool, "mediahash", 9) == 0);

    for (i = 0; i < info.set_count; i++) {
        CHECK_STATUS(mh_refset_set_get(set, i, &s), MH_STATUS_OK);
        CHECK(s.source_count == 1);
        if (strcmp(s.name, "alerts") == 0) {
            saw_alerts = 1;
            CHECK(s.disposition == MH_DISPOSITION_ALERT);
        } else {
            CHECK(strcmp(s.name, "NSRL") == 0);
            saw_nsrl = 1;
            CHECK(s.disposition == MH_DISPOSITION_IGNORE);
        }
    }
    CHECK(saw_alerts && saw_nsrl);
    for (i = 0; i < info.source_count; i++) {
        CHECK_STATUS(mh_refset_source_get(set, i, &src), MH_STATUS_OK);
        CHECK(strlen(src.sha256) == 64);
        CHECK(strcmp(src.format, "test") == 0);
        if (strcmp(src.name, "alerts.json") == 0) {
            CHECK(strcmp(src.set_name, "alerts") == 0);
            CHECK(src.disposition == MH_DISPOSITION_ALERT);
            CHECK(src.records == 3 && src.bad_records == 1);
            CHECK(src.source_version != NULL && strcmp(src.source_version, "2.0") == 0);
        } else {
            CHECK(strcmp(src.name, "nsrl.txt") == 0);
            CHECK(src.records == 1 && src.bad_records == 0);
            CHECK(src.source_version == NULL);
            CHECK(src.struct_size == sizeof src && src.empty_file_records_skipped == 0);
        }
    }

    /* Errors: outputs untouched. */
    memset(&s, 0xAB, sizeof s);
    CHECK_STATUS(mh_refset_get_info(NULL, &info), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_get_info(set, NULL), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_set_get(set, 2, &s), MH_STATUS_INVALID_PARAMETER);
    CHECK(strstr(last_error(), "out of range") != NULL);
    CHECK_STATUS(mh_refset_set_get(set, (size_t)-1, &s), MH_STATUS_INVALID_PARAMETER);
    CHECK(((unsigned char *)&s)[0] == 0xAB);
    CHECK_STATUS(mh_refset_set_get(NULL, 0, &s), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_set_get(set, 0, NULL), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_source_get(set, 2, &src), MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_source_get(NULL, 0, &src), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_source_get(set, 0, NULL), MH_STATUS_NULL_PARAMETER);
    mh_refset_free(set);
}

static void test_lookup(void) {
    mh_refset *set = open_set();
    mh_matches *matches = NULL, *sentinel = (mh_matches *)&img;
    mh_match m = {.struct_size = sizeof m};
    uint8_t zeros[144] = {0}, phash_be[8];
    uint64_t phash = img.phash ^ 7u;
    size_t i;
    int saw_alerts = 0, saw_nsrl = 0;

    CHECK_STATUS(mh_refset_lookup(set, MH_HASH_KIND_SHA256, img.sha256, 32, &matches),
                 MH_STATUS_OK);
    CHECK(mh_matches_len(matches) == 2);
    for (i = 0; i < 2; i++) {
        CHECK_STATUS(mh_matches_get(matches, i, &m), MH_STATUS_OK);
        CHECK(m.kind == MH_HASH_KIND_SHA256);
        CHECK(m.distance == 0 && m.needle == 0);
        CHECK(m.value_len == 32 && memcmp(m.value, img.sha256, 32) == 0);
        CHECK(m.value_u64 == 0 && m.pdq_quality == -1);
        if (strcmp(m.set_name, "alerts") == 0) {
            saw_alerts = 1;
            CHECK(m.disposition == MH_DISPOSITION_ALERT);
            CHECK(strcmp(m.source_name, "alerts.json") == 0);
            CHECK(strcmp(m.category, "1") == 0);
            CHECK(strcmp(m.profile, "Default") == 0);
            CHECK(m.series == NULL);
            CHECK(strcmp(m.source_id, "media-1") == 0);
            CHECK(m.victim_identified == 1 && m.offender_identified == -1);
            CHECK(m.file_size == 1234);
            CHECK(m.file_name_len == 8 && memcmp(m.file_name, "img\xff.png", 9) == 0);
            /* The embedded NUL became U+FFFD (EF BF BD). */
            CHECK(strcmp(m.note, "a\xef\xbf\xbd" "b") == 0);
        } else {
            saw_nsrl = 1;
            CHECK(strcmp(m.set_name, "NSRL") == 0);
            CHECK(m.disposition == MH_DISPOSITION_IGNORE);
            CHECK(m.category == NULL && m.note == NULL);
            CHECK(m.victim_identified == -1 && m.file_size == -1);
            CHECK(m.file_name_len == 5 && strcmp((const char *)m.file_name, "x.png") == 0);
        }
    }
    CHECK(saw_alerts && saw_nsrl);
    /* Out of range / NULL: output untouched. */
    memset(&m, 0xAB, sizeof m);
    CHECK_STATUS(mh_matches_get(matches, 2, &m), MH_STATUS_INVALID_PARAMETER);
    CHECK(((unsigned char *)&m)[0] == 0xAB);
    CHECK_STATUS(mh_matches_get(NULL, 0, &m), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_matches_get(matches, 0, NULL), MH_STATUS_NULL_PARAMETER);
    mh_matches_free(matches);

    CHECK_STATUS(mh_refset_lookup(set, MH_HASH_KIND_MD5, img.md5, 16, &matches), MH_STATUS_OK);
    CHECK(mh_matches_len(matches) == 1);
    mh_matches_free(matches);

    /* Absent values and absent kinds: success, no rows. */
    CHECK_STATUS(mh_refset_lookup(set, MH_HASH_KIND_SHA1, img.sha1, 20, &matches), MH_STATUS_OK);
    CHECK(mh_matches_len(matches) == 0);
    mh_matches_free(matches);
    CHECK_STATUS(mh_refset_lookup(set, MH_HASH_KIND_PHOTODNA, zeros, 144, &matches),
                 MH_STATUS_OK);
    CHECK(mh_matches_len(matches) == 0);
    mh_matches_free(matches);

    /* 64-bit kinds take 8 big-endian bytes. */
    for (i = 0; i < 8; i++)
        phash_be[i] = (uint8_t)(phash >> (56 - 8 * i));
    CHECK_STATUS(mh_refset_lookup(set, MH_HASH_KIND_PHASH, phash_be, 8, &matches), MH_STATUS_OK);
    CHECK(mh_matches_len(matches) == 1);
    CHECK_STATUS(mh_matches_get(matches, 0, &m), MH_STATUS_OK);
    CHECK(m.value_u64 == phash && m.value_len == 8 && memcmp(m.value, phash_be, 8) == 0);
    CHECK(strcmp(m.category, "3") == 0);
    mh_matches_free(matches);

    /* Errors: out stays untouched. */
    matches = sentinel;
    CHECK_STATUS(mh_refset_lookup(set, MH_HASH_KIND_SHA256, img.sha256, 31, &matches),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK(strstr(last_error(), "32 bytes") != NULL);
    CHECK_STATUS(mh_refset_lookup(set, 0, img.sha256, 32, &matches), MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_lookup(set, 99, img.sha256, 32, &matches),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK(strstr(last_error(), "mh_hash_kind") != NULL);
    CHECK_STATUS(mh_refset_lookup(NULL, MH_HASH_KIND_SHA256, img.sha256, 32, &matches),
                 MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_lookup(set, MH_HASH_KIND_SHA256, NULL, 32, &matches),
                 MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_lookup(set, MH_HASH_KIND_SHA256, img.sha256, 32, NULL),
                 MH_STATUS_NULL_PARAMETER);
    CHECK(matches == sentinel);

    CHECK(mh_matches_len(NULL) == 0);
    mh_matches_free(NULL);
    mh_refset_free(set);
}

static void test_search(void) {
    mh_refset *set = open_set();
    mh_matches *matches = NULL, *sentinel = (mh_matches *)&img;
    mh_match m = {.struct_size = sizeof m};
    uint64_t needles[2];

    /* One needle: the stored hash 5 bits away. */
    CHECK_STATUS(mh_refset_search_pdq(set, img.pdq, 1, MH_PDQ_DEFAULT_RADIUS, &matches),
                 MH_STATUS_OK);
    CHECK(mh_matches_len(matches) == 1);
    CHECK_STATUS(mh_matches_get(matches, 0, &m), MH_STATUS_OK);
    CHECK(m.kind == MH_HASH_KIND_PDQ && m.distance == 5 && m.needle == 0);
    CHECK(m.pdq_quality == 90 && m.value_len == 32);
    CHECK(strcmp(m.category, "1") == 0);
    mh_matches_free(matches);

    /* Radius 4: nothing. */
    CHECK_STATUS(mh_refset_search_pdq(set, img.pdq, 1, 4, &matches), MH_STATUS_OK);
    CHECK(mh_matches_len(matches) == 0);
    mh_matches_free(matches);

    /* All 8 dihedrals: the rotated copy is found exactly, through needle 1 (rot90). */
    CHECK_STATUS(mh_refset_search_pdq(set, &img.pdq_dihedral[0][0], 8, MH_PDQ_DEFAULT_RADIUS,
                                      &matches),
                 MH_STATUS_OK);
    CHECK(mh_matches_len(matches) == 2);
    CHECK_STATUS(mh_matches_get(matches, 0, &m), MH_STATUS_OK);
    CHECK(m.distance == 0 && m.needle == 1 && strcmp(m.category, "2") == 0);
    CHECK(m.pdq_quality == -1);
    CHECK(memcmp(m.value, img.pdq_dihedral[1], 32) == 0);
    CHECK_STATUS(mh_matches_get(matches, 1, &m), MH_STATUS_OK);
    CHECK(m.distance == 5 && m.needle == 0 && strcmp(m.category, "1") == 0);
    /* Matches outlive their reference set. */
    mh_refset_free(set);
    CHECK(strcmp(m.set_name, "alerts") == 0);
    CHECK_STATUS(mh_matches_get(matches, 0, &m), MH_STATUS_OK);
    CHECK(strcmp(m.source_name, "alerts.json") == 0);
    mh_matches_free(matches);
    set = open_set();

    /* 64-bit search. */
    needles[0] = img.phash;
    needles[1] = ~img.phash;
    CHECK_STATUS(mh_refset_search_u64(set, MH_HASH_KIND_PHASH, needles, 2, MH_U64_DEFAULT_RADIUS,
                                      &matches),
                 MH_STATUS_OK);
    CHECK(mh_matches_len(matches) == 1);
    CHECK_STATUS(mh_matches_get(matches, 0, &m), MH_STATUS_OK);
    CHECK(m.kind == MH_HASH_KIND_PHASH && m.distance == 3 && m.needle == 0);
    CHECK(m.value_u64 == (img.phash ^ 7u));
    mh_matches_free(matches);
    CHECK_STATUS(mh_refset_search_u64(set, MH_HASH_KIND_PHASH, needles, 1, 2, &matches),
                 MH_STATUS_OK);
    CHECK(mh_matches_len(matches) == 0);
    mh_matches_free(matches);
    /* A kind the set does not hold: empty. */
    CHECK_STATUS(mh_refset_search_u64(set, MH_HASH_KIND_DHASH, needles, 1, 64, &matches),
                 MH_STATUS_OK);
    CHECK(mh_matches_len(matches) == 0);
    mh_matches_free(matches);

    /* Errors. */
    matches = sentinel;
    CHECK_STATUS(mh_refset_search_pdq(set, img.pdq, 0, 31, &matches), MH_STATUS_INVALID_PARAMETER);
    CHECK(strstr(last_error(), "needle") != NULL);
    CHECK_STATUS(mh_refset_search_pdq(set, &img.pdq_dihedral[0][0], 9, 31, &matches),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_search_pdq(set, img.pdq, 1, 257, &matches),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK(strstr(last_error(), "radius") != NULL);
    CHECK_STATUS(mh_refset_search_pdq(NULL, img.pdq, 1, 31, &matches), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_search_pdq(set, NULL, 1, 31, &matches), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_search_pdq(set, img.pdq, 1, 31, NULL), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_search_u64(set, MH_HASH_KIND_MD5, needles, 1, 8, &matches),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_search_u64(set, 42, needles, 1, 8, &matches),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_search_u64(set, MH_HASH_KIND_PHASH, needles, 1, 65, &matches),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_search_u64(set, MH_HASH_KIND_PHASH, needles, 0, 8, &matches),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_search_u64(NULL, MH_HASH_KIND_PHASH, needles, 1, 8, &matches),
                 MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_search_u64(set, MH_HASH_KIND_PHASH, NULL, 1, 8, &matches),
                 MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_search_u64(set, MH_HASH_KIND_PHASH, needles, 1, 8, NULL),
                 MH_STATUS_NULL_PARAMETER);
    CHECK(matches == sentinel);
    mh_refset_free(set);
}

/* The rows of an exact SHA-256 lookup and a dihedral PDQ search of IMAGE, as text. */
static void describe_matches(mh_refset *set, char *out, size_t len) {
    mh_matches *matches = NULL;
    mh_match m = {.struct_size = sizeof m};
    size_t i, used = 0;
    out[0] = '\0';
    CHECK_STATUS(mh_refset_lookup(set, MH_HASH_KIND_SHA256, img.sha256, 32, &matches),
                 MH_STATUS_OK);
    for (i = 0; i < mh_matches_len(matches); i++) {
        CHECK_STATUS(mh_matches_get(matches, i, &m), MH_STATUS_OK);
        used += (size_t)snprintf(out + used, len - used, "sha256 %s;", m.set_name);
        CHECK(used < len);
    }
    mh_matches_free(matches);
    CHECK_STATUS(mh_refset_search_pdq(set, &img.pdq_dihedral[0][0], 8, MH_PDQ_DEFAULT_RADIUS,
                                      &matches),
                 MH_STATUS_OK);
    for (i = 0; i < mh_matches_len(matches); i++) {
        CHECK_STATUS(mh_matches_get(matches, i, &m), MH_STATUS_OK);
        used += (size_t)snprintf(out + used, len - used, "pdq %u/%u %s;", m.distance, m.needle,
                                 m.category);
        CHECK(used < len);
    }
    mh_matches_free(matches);
}

/* mh_refset_open copies the file: truncating it afterwards (as copying over it in place
 * would) changes nothing for the handle, where a mapped handle would die by SIGBUS. */
static void test_truncation(void) {
    char copy_path[4096], want[1024], got[1024];
    mh_refset *set = open_set(), *mapped = NULL, *copy = NULL;
    FILE *in, *out;
    int c;

    describe_matches(set, want, sizeof want);
    CHECK(strcmp(want, "sha256 alerts;sha256 NSRL;pdq 0/1 2;pdq 5/0 1;") == 0);
    /* The mapped handle over the untouched file answers the same. */
    CHECK_STATUS(mh_refset_open_mapped(set_path, &mapped), MH_STATUS_OK);
    CHECK_STATUS(mh_refset_verify(mapped), MH_STATUS_OK);
    describe_matches(mapped, got, sizeof got);
    CHECK(strcmp(got, want) == 0);
    mh_refset_free(mapped);

    snprintf(copy_path, sizeof copy_path, "%s.truncate-test", set_path);
    in = fopen(set_path, "rb");
    out = fopen(copy_path, "wb");
    CHECK(in != NULL && out != NULL);
    while ((c = fgetc(in)) != EOF)
        CHECK(fputc(c, out) != EOF);
    CHECK(fclose(in) == 0 && fclose(out) == 0);

    CHECK_STATUS(mh_refset_open(copy_path, &copy), MH_STATUS_OK);
    CHECK(truncate(copy_path, 0) == 0);
    CHECK_STATUS(mh_refset_verify(copy), MH_STATUS_OK);
    describe_matches(copy, got, sizeof got);
    CHECK(strcmp(got, want) == 0);
    mh_refset_free(copy);

    /* Opening the truncated file now is a clean error, not a crash. */
    CHECK_STATUS(mh_refset_open(copy_path, &copy), MH_STATUS_REFSET_INVALID);
    CHECK(strstr(last_error(), "0 bytes") != NULL);
    CHECK(unlink(copy_path) == 0);
    mh_refset_free(set);
}

/* Batch lookups of 10^5 SHA-256 values (every 997th the image's, which the set holds
 * twice) equal single lookups; memberships read without allocating. */
static void test_lookup_batch(void) {
    enum { COUNT = 100000 };
    mh_refset *set = open_set();
    uint8_t *values = malloc((size_t)COUNT * 32);
    uint64_t *entries = malloc(sizeof(uint64_t) * COUNT);
    uint32_t *counts = malloc(sizeof(uint32_t) * COUNT);
    uint32_t seed = 7;
    size_t i, j, found = 0, expected_found = 0;
    mh_membership mb = {.struct_size = sizeof mb};
    int saw_alerts = 0, saw_nsrl = 0;

    CHECK(values != NULL && entries != NULL && counts != NULL);
    for (i = 0; i < COUNT; i++) {
        if (i % 997 == 0) {
            memcpy(values + i * 32, img.sha256, 32);
            continue;
        }
        for (j = 0; j < 32; j++) {
            seed = seed * 1103515245u + 12345u;
            values[i * 32 + j] = (uint8_t)(seed >> 16);
        }
    }
    CHECK_STATUS(mh_refset_lookup_batch(set, MH_HASH_KIND_SHA256, values, COUNT, entries, counts,
                                        &found),
                 MH_STATUS_OK);
    for (i = 0; i < COUNT; i++) {
        mh_matches *matches = NULL;
        size_t n;
        CHECK_STATUS(mh_refset_lookup(set, MH_HASH_KIND_SHA256, values + i * 32, 32, &matches),
                     MH_STATUS_OK);
        n = mh_matches_len(matches);
        CHECK(n == counts[i]);
        CHECK((n == 0) == (entries[i] == MH_ENTRY_NONE));
        if (n > 0) {
            mh_match m = {.struct_size = sizeof m};
            CHECK_STATUS(mh_matches_get(matches, 0, &m), MH_STATUS_OK);
            CHECK(m.entry == entries[i]);
            expected_found++;
        }
        mh_matches_free(matches);
    }
    CHECK(found == expected_found && found == (COUNT + 996) / 997);
    CHECK(counts[0] == 2);
    for (i = 0; i < counts[0]; i++) {
        mh_set_info s = {.struct_size = sizeof s};
        CHECK_STATUS(mh_refset_membership_get(set, entries[0], (uint32_t)i, &mb), MH_STATUS_OK);
        CHECK_STATUS(mh_refset_set_get(set, mb.set_index, &s), MH_STATUS_OK);
        CHECK(mb.disposition == s.disposition);
        if (strcmp(s.name, "alerts") == 0) {
            saw_alerts = 1;
            CHECK(mb.category_len == 1 && memcmp(mb.category, "1", 1) == 0);
            CHECK(mb.source_id_len == 7 && memcmp(mb.source_id, "media-1", 7) == 0);
            CHECK(mb.file_name_len == 8 && memcmp(mb.file_name, "img\xff.png", 8) == 0);
            CHECK(mb.victim_identified == 1 && mb.file_size == 1234 && mb.series == NULL);
        }
        if (strcmp(s.name, "NSRL") == 0) {
            saw_nsrl = 1;
            CHECK(mb.category == NULL && mb.category_len == 0);
        }
    }
    CHECK(saw_alerts && saw_nsrl);
    /* Errors: index past the memberships, a bad entry, NULLs; outputs untouched. */
    CHECK_STATUS(mh_refset_membership_get(set, entries[0], counts[0], &mb),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_membership_get(set, MH_ENTRY_NONE, 0, &mb), MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_membership_get(set, entries[0], 0, NULL), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_lookup_batch(set, MH_HASH_KIND_SHA256, NULL, 1, entries, NULL, NULL),
                 MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_refset_lookup_batch(set, 99, values, 1, entries, NULL, NULL),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_refset_lookup_batch(set, MH_HASH_KIND_MD5, NULL, 0, NULL, NULL, &found),
                 MH_STATUS_OK);
    CHECK(found == 0);
    free(values);
    free(entries);
    free(counts);
    mh_refset_free(set);
}

int main(int argc, char **argv) {
    mh_hash_options o = {.struct_size = sizeof o};
    CHECK(argc == 7);
    set_path = argv[1];
    tampered_path = argv[2];
    newer_path = argv[3];
    garbage_path = argv[4];
    empty_path = argv[5];
    image = argv[6];

    mh_hash_options_default(&o);
    o.perceptual |= MH_PERCEPTUAL_PDQ_DIHEDRAL;
    CHECK_STATUS(mh_hash_file(image, &o, &img), MH_STATUS_OK);
    CHECK(img.valid & MH_VALID_PDQ_DIHEDRAL);

    test_open_errors();
    test_verify();
    test_info();
    test_lookup();
    test_lookup_batch();
    test_search();
    test_truncation();
    puts("test_refset: ok");
    return 0;
}
