/*
 * Scanning a disk image through the C ABI. argv: SET IMAGE
 * SET is the fixture described in test_refset.c; IMAGE is a raw FAT16 image without a
 * partition table holding /PICS/IMAGE.PNG (the fixture image, an alert), /NOTE.TXT, and a
 * deleted /DELETED.TXT whose clusters are still free.
 */
#include "check.h"

struct tally {
    int entries, image_roots, volumes, alerts, deleted_files, live_files, errors;
    int whole_files; /* entries read as one file, not through the file system */
};

static int on_entry(void *userdata, const mh_scan_entry *e) {
    struct tally *t = userdata;
    CHECK(e != NULL && e->path != NULL);
    t->entries++;
    if (e->disposition == MH_ENTRY_DISPOSITION_ERROR) {
        fprintf(stderr, "error entry %s: %s\n", e->path, e->reason ? e->reason : "(none)");
        t->errors++;
    }
    if (e->location_json == NULL) {
        /* Read as a plain file (MH_SCAN_NO_DISK_IMAGES). */
        CHECK(e->deleted == -1);
        CHECK(e->disposition == MH_ENTRY_DISPOSITION_OTHER);
        t->whole_files++;
        return 0;
    }
    CHECK(strstr(e->location_json, "\"container\":\"raw\"") != NULL);
    if (e->reason_code == 15) { /* the image file itself: read through its volumes */
        CHECK(e->disposition == MH_ENTRY_DISPOSITION_SKIPPED);
        CHECK(e->deleted == -1);
        t->image_roots++;
        return 0;
    }
    CHECK(strstr(e->location_json, "\"fs_type\":\"fat16\"") != NULL);
    if (strstr(e->path, "/p0") != NULL && strstr(e->path, "/p0/") == NULL) {
        t->volumes++;
        return 0;
    }
    CHECK(e->deleted == 0 || e->deleted == 1);
    if (e->disposition == MH_ENTRY_DISPOSITION_ALERT) {
        CHECK(strstr(e->path, "/p0/PICS/IMAGE.PNG") != NULL);
        CHECK(e->deleted == 0);
        CHECK(strstr(e->location_json, "\"entry_number\":") != NULL);
        CHECK(strstr(e->location_json, "\"byte_runs\":[{") != NULL);
        t->alerts++;
    } else if (e->kind == MH_ENTRY_KIND_FILE && e->deleted == 1) {
        CHECK(strstr(e->path, "ELETED.TXT") != NULL);
        CHECK(e->disposition == MH_ENTRY_DISPOSITION_OTHER);
        CHECK(e->valid & MH_VALID_SHA1);
        t->deleted_files++;
    } else if (e->kind == MH_ENTRY_KIND_FILE) {
        t->live_files++;
    }
    return 0;
}

int main(int argc, char **argv) {
    mh_refset *set = NULL;
    const mh_refset *sets[1];
    const char *roots[1];
    mh_scan_options o = {.struct_size = sizeof o};
    mh_scan_summary summary = {.struct_size = sizeof summary};
    struct tally t;

    CHECK(argc == 3);
    CHECK_STATUS(mh_refset_open(argv[1], &set), MH_STATUS_OK);
    sets[0] = set;
    roots[0] = argv[2];
    mh_archive_limits limits = {.struct_size = sizeof limits};
    CHECK_STATUS(mh_scan_options_default(&o), MH_STATUS_OK);
    CHECK(o.archive_limits == NULL && o.hash == NULL && o.cancel == NULL);
    CHECK_STATUS(mh_archive_limits_default(&limits), MH_STATUS_OK);
    CHECK(limits.max_depth == 4 && limits.max_ratio == 100);
    CHECK(limits.max_entries == 1000000);
    o.threads = 2;

    /* The image is read through its file system by default. */
    memset(&t, 0, sizeof t);
    CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, on_entry, &t, &summary), MH_STATUS_OK);
    CHECK(t.image_roots == 1 && t.volumes == 1 && t.alerts == 1);
    CHECK(t.deleted_files == 1 && t.live_files == 1 && t.errors == 0 && t.whole_files == 0);
    CHECK(summary.entries == (uint64_t)t.entries && summary.alert == 1);
    CHECK(summary.images_verified == 0 && summary.image_verifications_failed == 0);
    CHECK(summary.exit_status == 1);

    /* Verified first: a raw image stores no digest, which is not a failure. */
    memset(&t, 0, sizeof t);
    o.flags = MH_SCAN_VERIFY_IMAGES | MH_SCAN_NO_ARCHIVES;
    CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, on_entry, &t, &summary), MH_STATUS_OK);
    CHECK(summary.images_verified == 1 && summary.image_verifications_failed == 0);
    CHECK(t.alerts == 1 && t.deleted_files == 1);

    /* Hashed as one file. */
    memset(&t, 0, sizeof t);
    o.flags = MH_SCAN_NO_DISK_IMAGES;
    CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, on_entry, &t, &summary), MH_STATUS_OK);
    CHECK(t.entries == 1 && t.whole_files == 1 && summary.other == 1);

    /* Archive limits are checked. */
    mh_scan_options_default(&o);
    limits.max_entries = 0;
    o.archive_limits = &limits;
    memset(&t, 0, sizeof t);
    CHECK_STATUS(mh_scan(roots, 1, sets, 1, &o, on_entry, &t, NULL), MH_STATUS_INVALID_PARAMETER);
    CHECK(strstr(last_error(), "max_entries") != NULL);
    CHECK(t.entries == 0);

    mh_refset_free(set);
    puts("test_scan_image: ok");
    return 0;
}
