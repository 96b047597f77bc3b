/*
 * Hashes files and, given a reference set, reports which ones it knows.
 *
 *   mh_example [--set SET.mhset] FILE...
 *
 * Build: see README.md in this directory.
 */
#include <stdio.h>
#include <string.h>

#include <mediahash.h>

static void print_hex(const uint8_t *bytes, size_t len) {
    size_t i;
    for (i = 0; i < len; i++)
        printf("%02x", bytes[i]);
}

/* Prints the detail of the last failure on this thread. */
static void report_error(const char *what, mh_status status) {
    char detail[512];
    size_t needed = 0;
    if (mh_last_error_message(detail, sizeof detail, &needed) != MH_STATUS_OK)
        detail[0] = '\0'; /* longer than our buffer: the status name will do */
    fprintf(stderr, "%s: %s (%u): %s\n", what, mh_status_str(status), (unsigned)status, detail);
}

static void print_matches(const char *how, mh_matches *matches) {
    size_t i, n = mh_matches_len(matches);
    for (i = 0; i < n; i++) {
        mh_match m = {.struct_size = sizeof m};
        if (mh_matches_get(matches, i, &m) != MH_STATUS_OK)
            continue;
        printf("  %s match: set \"%s\" (%s), distance %u", how, m.set_name,
               m.disposition == MH_DISPOSITION_ALERT ? "alert" : "ignore", (unsigned)m.distance);
        if (m.category != NULL)
            printf(", category %s", m.category);
        printf("\n");
    }
}

static int check_against_set(const mh_refset *set, const mh_hash_result *r) {
    mh_matches *matches = NULL;
    mh_status status;

    status = mh_refset_lookup(set, MH_HASH_KIND_SHA256, r->sha256, sizeof r->sha256, &matches);
    if (status != MH_STATUS_OK) {
        report_error("lookup", status);
        return 1;
    }
    print_matches("sha256", matches);
    mh_matches_free(matches);

    if (r->valid & MH_VALID_PDQ) {
        /* With dihedrals, search all 8 rotations/flips at once; otherwise the hash alone. */
        int dihedral = (r->valid & MH_VALID_PDQ_DIHEDRAL) != 0;
        const uint8_t *needles = dihedral ? &r->pdq_dihedral[0][0] : r->pdq;
        status = mh_refset_search_pdq(set, needles, dihedral ? 8 : 1, MH_PDQ_DEFAULT_RADIUS,
                                      &matches);
        if (status != MH_STATUS_OK) {
            report_error("PDQ search", status);
            return 1;
        }
        print_matches("pdq", matches);
        mh_matches_free(matches);
    }
    return 0;
}

int main(int argc, char **argv) {
    mh_refset *set = NULL;
    mh_hash_options options = {.struct_size = sizeof options};
    int i = 1, failures = 0;

    if (strcmp(mh_version(), "") == 0)
        return 2;
    if (argc > 2 && strcmp(argv[1], "--set") == 0) {
        mh_status status = mh_refset_open(argv[2], &set);
        if (status != MH_STATUS_OK) {
            report_error(argv[2], status);
            return 2;
        }
        i = 3;
    }
    if (i >= argc) {
        fprintf(stderr, "usage: %s [--set SET.mhset] FILE...\n", argv[0]);
        mh_refset_free(set);
        return 2;
    }

    mh_hash_options_default(&options);
    options.perceptual |= MH_PERCEPTUAL_PDQ_DIHEDRAL;

    for (; i < argc; i++) {
        mh_hash_result r = {.struct_size = sizeof r};
        mh_status status = mh_hash_file(argv[i], &options, &r);
        if (status != MH_STATUS_OK) {
            report_error(argv[i], status);
            failures++;
            continue;
        }
        printf("%s\n  size %llu\n  sha256 ", argv[i], (unsigned long long)r.size);
        print_hex(r.sha256, sizeof r.sha256);
        printf("\n");
        if (r.valid & MH_VALID_PDQ) {
            printf("  pdq ");
            print_hex(r.pdq, sizeof r.pdq);
            printf(" quality %u\n", (unsigned)r.pdq_quality);
        }
        if (r.valid & MH_VALID_IMAGEHASH)
            printf("  phash %016llx\n", (unsigned long long)r.phash);
        if (r.image_status != MH_STATUS_OK)
            printf("  image not hashed: %s\n", r.image_error);
        if (set != NULL)
            failures += check_against_set(set, &r);
    }
    mh_refset_free(set);
    return failures == 0 ? 0 : 1;
}
