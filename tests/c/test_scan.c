/*
 * Scanning a directory with a per-entry callback. argv: SET DIR
 * SET is the fixture described in test_refset.c; DIR holds image.png (the fixture image),
 * broken.png (truncated), note.txt, and sub/empty.bin.
 */
#include "check.h"

#include <stddef.h>

struct tally {
    int entries, alerts, unknown_images, errors, directories, others;
    int saw_alerts_sha256, saw_nsrl, saw_pdq, saw_pdq_rotated, saw_phash;
    int stop_after; /* 0 = never */
};

static int on_entry(void *userdata, const mh_scan_entry *e) {
    struct tally *t = userdata;
    size_t i, n;
    CHECK(e != NULL && e->path != NULL && e->matches != NULL);
    CHECK(e->path_bytes_len == strlen(e->path));
    CHECK(memcmp(e->path_bytes, e->path, e->path_bytes_len) == 0);
    CHECK(e->deleted == -1 && e->location_json == NULL); /* a mounted folder's entries */
    /* Fields appended after ABI version 1's first layout: inside struct_size here. */
    CHECK(e->struct_size >= offsetof(mh_scan_entry, provenance_json) + sizeof e->provenance_json);
    /* A PNG without EXIF says so; entries that are not pictures have no provenance. */
    if (e->disposition == MH_ENTRY_DISPOSITION_ALERT ||
        e->disposition == MH_ENTRY_DISPOSITION_UNKNOWN_IMAGE)
        CHECK(e->provenance_json != NULL &&
              strcmp(e->provenance_json, "[{\"kind\":\"no-camera-metadata\"}]") == 0);
    if (e->disposition == MH_ENTRY_DISPOSITION_DIRECTORY || strstr(e->path, "note.txt") != NULL)
        CHECK(e->provenance_json == NULL);
    if (e->disposition != MH_ENTRY_DISPOSITION_ERROR) {
        CHECK(e->inode > 0);
        CHECK(e->mtime != NULL && strlen(e->mtime) >= 20 && e->mtime[strlen(e->mtime) - 1] == 'Z');
    }
    t->entries++;
    switch (e->disposition) {
    case MH_ENTRY_DISPOSITION_ALERT:
        t->alerts++;
        CHECK(strstr(e->path, "image.png") != NULL);
        CHECK(e->kind == MH_ENTRY_KIND_FILE);
        CHECK((e->valid & (MH_VALID_MD5 | MH_VALID_SHA1 | MH_VALID_SHA256 | MH_VALID_PDQ)) ==
              (MH_VALID_MD5 | MH_VALID_SHA1 | MH_VALID_SHA256 | MH_VALID_PDQ));
        CHECK(e->valid & MH_VALID_IMAGE);
        CHECK(e->width == 96 && e->height == 64);
        CHECK(e->image_format != NULL && strcmp(e->image_format, "png") == 0);
        n = mh_matches_len(e->matches);
        for (i = 0; i < n; i++) {
            mh_match m = {.struct_size = sizeof m};
            CHECK_STATUS(mh_matches_get(e->matches, i, &m), MH_STATUS_OK);
            CHECK(m.value == NULL && m.value_len == 0);
            CHECK(strstr(m.source_name, ".mhset") != NULL);
            if (m.kind == MH_HASH_KIND_SHA256 && strcmp(m.set_name, "alerts") == 0)
                t->saw_alerts_sha256 = 1;
            if (m.kind == MH_HASH_KIND_SHA256 && strcmp(m.set_name, "NSRL") == 0) {
                CHECK(m.disposition == MH_DISPOSITION_IGNORE);
                t->saw_nsrl = 1;
            }
            if (m.kind == MH_HASH_KIND_PDQ && m.distance == 5) {
                CHECK(m.needle == 0 && strcmp(m.category, "1") == 0);
                t->saw_pdq = 1;
            }
            if (m.kind == MH_HASH_KIND_PDQ && m.distance == 0) {
                CHECK(m.needle == 1 && strcmp(m.category, "2") == 0);
                t->saw_pdq_rotated = 1;
            }
            if (m.kind == MH_HASH_KIND_PHASH) {
                CHECK(m.distance == 3 && strcmp(m.category, "3") == 0);
                t->saw_phash = 1;
            }
        }
        break;
    case MH_ENTRY_DISPOSITION_UNKNOWN_IMAGE:
        /* Without reference sets the image is new material. */
        t->unknown_images++;
        CHECK(strstr(e->path, "image.png") != NULL);
        CHECK(e->valid & MH_VALID_PDQ);
        CHECK(mh_matches_len(e->matches) == 0);
        break;
    case MH_ENTRY_DISPOSITION_ERROR:
        t->errors++;
        CHECK(strstr(e->path, "broken.png") != NULL);
        CHECK(e->reason != NULL && strlen(e->reason) > 0);
        CHECK(e->valid & MH_VALID_SHA256);
        CHECK(!(e->valid & MH_VALID_PDQ));
        break;
    case MH_ENTRY_DISPOSITION_DIRECTORY:
        t->directories++;
        CHECK(e->kind == MH_ENTRY_KIND_DIRECTORY);
        break;
    case MH_ENTRY_DISPOSITION_OTHER:
        t->others++;
        CHECK(e->valid & MH_VALID_SHA256);
        CHECK(e->image_format == NULL);
        break;
    default:
        fprintf(stderr, "unexpected disposition %u for %s\n", (unsigned)e->disposition, e->path);
        exit(1);
    }
    return t->stop_after != 0 && t->entries >= t->stop_after;
}

int main(int argc, char **argv) {
    mh_refset *set = NULL;
    const mh_refset *sets[1];
    const mh_refset *null_sets[1] = {NULL};
    const char *roots[1];
    const char *missing_roots[1] = {"/no/such/evidence/dir"};
    mh_scan_options o = {.struct_size = sizeof o};
    mh_scan_summary summary = {.struct_size = sizeof summary};
    struct tally t;

    CHECK(argc == 3);
    CHECK_STATUS(mh_refset_open(argv[1], &set), MH_STATUS_OK);
    sets[0] = set;
    roots[0] = argv[2];

    CHECK_STATUS(mh_scan_options_default(&o), MH_STATUS_OK);
    CHECK(o.pdq_radius == MH_PDQ_DEFAULT_RADIUS && o.phash_radius == MH_U64_DEFAULT_RADIUS);
    CHECK(o.flags == 0 && o.max_file_size == 0);
    CHECK_STATUS(mh_scan_options_default(NULL), MH_STATUS_NULL_PARAMETER);
    o.threads = 2;

    /* Plain scan. */
    memset(&t, 0, sizeof t);
    CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, on_entry, &t, &summary), MH_STATUS_OK);
    CHECK(t.alerts == 1 && t.errors == 1 && t.directories == 2 && t.others == 2);
    CHECK(t.saw_alerts_sha256 && t.saw_nsrl && t.saw_pdq && t.saw_phash);
    CHECK(!t.saw_pdq_rotated);
    CHECK(summary.entries == (uint64_t)t.entries);
    CHECK(summary.alert == 1 && summary.error == 1 && summary.directory == 2);
    CHECK(summary.other == 2 && summary.files_read == 4);
    CHECK(summary.exit_status == 2); /* an error entry wins */

    /* Dihedral matching finds the rotated copy; NULL options and out are accepted. */
    memset(&t, 0, sizeof t);
    o.flags = MH_SCAN_DIHEDRAL;
    CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, on_entry, &t, NULL), MH_STATUS_OK);
    CHECK(t.saw_pdq_rotated && t.saw_pdq);
    memset(&t, 0, sizeof t);
    CHECK_STATUS(mh_scan(roots, 1, NULL, 0, NULL, on_entry, &t, NULL), MH_STATUS_OK);
    CHECK(t.alerts == 0 && t.unknown_images == 1 && t.entries == 6);

    /* Reading where access times would change is the caller's choice; as the owner here,
       O_NOATIME is had, so the result is the same with the flag. */
    memset(&t, 0, sizeof t);
    o.flags = MH_SCAN_DIHEDRAL | MH_SCAN_ALLOW_ATIME_CHANGES;
    CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, on_entry, &t, &summary), MH_STATUS_OK);
    CHECK(t.saw_pdq_rotated && summary.files_without_noatime == 0);
    o.flags = MH_SCAN_DIHEDRAL;

    /* The callback stops the scan: cancelled, summary untouched. */
    memset(&t, 0, sizeof t);
    t.stop_after = 1;
    memset(&summary, 0xAB, sizeof summary);
    CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, on_entry, &t, &summary), MH_STATUS_SCAN_CANCELLED);
    CHECK(t.entries == 1);
    CHECK(((unsigned char *)&summary)[0] == 0xAB);

    /* Errors. */
    CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, NULL, &t, NULL), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_scan(NULL, 1, sets, 1, &o, on_entry, &t, NULL), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_scan(roots, 1, NULL, 1, &o, on_entry, &t, NULL), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_scan(roots, 1, null_sets, 1, &o, on_entry, &t, NULL),
                 MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_scan(roots, 0, sets, 1, &o, on_entry, &t, NULL), MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_scan(missing_roots, 1, sets, 1, &o, on_entry, &t, NULL), MH_STATUS_NOT_FOUND);
    CHECK(strstr(last_error(), "/no/such/evidence/dir") != NULL);
    o.flags = 1u << 30;
    CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, on_entry, &t, NULL), MH_STATUS_INVALID_PARAMETER);
    mh_scan_options_default(&o);
    o.pdq_radius = 300;
    CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, on_entry, &t, NULL), MH_STATUS_INVALID_PARAMETER);
    {
        mh_hash_options h = {.struct_size = sizeof h};
        CHECK_STATUS(mh_hash_options_default(&h), MH_STATUS_OK);
        h.pdq_convention = 9;
        mh_scan_options_default(&o);
        o.hash = &h;
        CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, on_entry, &t, NULL),
                     MH_STATUS_INVALID_PARAMETER);
    }
    /* A cancel token set (here before the call; any thread may set it) stops the scan. */
    {
        mh_cancel *cancel = NULL;
        CHECK_STATUS(mh_cancel_new(&cancel), MH_STATUS_OK);
        mh_cancel_set(cancel);
        mh_scan_options_default(&o);
        o.cancel = cancel;
        memset(&summary, 0xAB, sizeof summary);
        summary.struct_size = sizeof summary;
        CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, on_entry, &t, &summary), MH_STATUS_CANCELLED);
        CHECK(summary.entries == 0xABABABABABABABABull); /* untouched */
        mh_cancel_free(cancel);
    }
    /* A struct_size below the struct's ABI version 1 size is refused. */
    mh_scan_options_default(&o);
    o.struct_size = 8;
    CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, on_entry, &t, NULL), MH_STATUS_INVALID_PARAMETER);
    CHECK(strstr(last_error(), "struct_size") != NULL);
    o.struct_size = sizeof o;

    mh_refset_free(set);
    puts("test_scan: ok");
    return 0;
}
