/*
 * One mh_refset queried from many threads at once, hashing in parallel, and the
 * per-thread error detail. argv: SET IMAGE (the fixture described in test_refset.c).
 */
#include <pthread.h>

#include "check.h"

#define THREADS 8
#define ITERATIONS 200

static const mh_refset *shared_set;
static mh_hash_result img = {.struct_size = sizeof img};

static void *worker(void *arg) {
    long id = (long)arg;
    int i;
    for (i = 0; i < ITERATIONS; i++) {
        mh_matches *matches = NULL;
        mh_match m = {.struct_size = sizeof m};
        mh_refset_info info = {.struct_size = sizeof info};
        mh_set_info set_info = {.struct_size = sizeof set_info};
        mh_hash_result r = {.struct_size = sizeof r};
        char detail[256];
        size_t needed = 0;
        char text[32];
        int len = sprintf(text, "thread %ld iteration %d", id, i);

        CHECK_STATUS(mh_refset_lookup(shared_set, MH_HASH_KIND_SHA256, img.sha256, 32, &matches),
                     MH_STATUS_OK);
        CHECK(mh_matches_len(matches) == 2);
        mh_matches_free(matches);

        CHECK_STATUS(mh_refset_search_pdq(shared_set, &img.pdq_dihedral[0][0], 8,
                                          MH_PDQ_DEFAULT_RADIUS, &matches),
                     MH_STATUS_OK);
        CHECK(mh_matches_len(matches) == 2);
        CHECK_STATUS(mh_matches_get(matches, 1, &m), MH_STATUS_OK);
        CHECK(m.distance == 5 && strcmp(m.category, "1") == 0);
        mh_matches_free(matches);

        CHECK_STATUS(mh_refset_search_u64(shared_set, MH_HASH_KIND_PHASH, &img.phash, 1,
                                          MH_U64_DEFAULT_RADIUS, &matches),
                     MH_STATUS_OK);
        CHECK(mh_matches_len(matches) == 1);
        mh_matches_free(matches);

        CHECK_STATUS(mh_refset_get_info(shared_set, &info), MH_STATUS_OK);
        if (i % 50 == 0)
            CHECK_STATUS(mh_refset_verify(shared_set), MH_STATUS_OK);
        CHECK(info.records == 4);

        CHECK_STATUS(mh_hash_buffer((const uint8_t *)text, (size_t)len, NULL, &r), MH_STATUS_OK);
        CHECK(r.size == (uint64_t)len);

        /* The error detail is per thread: this thread's failure, whatever the others do. */
        if (i % 10 == 0) {
            char want[64];
            sprintf(want, "set index %ld is out of range", 1000 + id);
            CHECK_STATUS(mh_refset_set_get(shared_set, (size_t)(1000 + id), NULL),
                         MH_STATUS_NULL_PARAMETER);
            CHECK(mh_refset_set_get(shared_set, (size_t)(1000 + id), &set_info) ==
                  MH_STATUS_INVALID_PARAMETER);
            CHECK_STATUS(mh_last_error_message(detail, sizeof detail, &needed), MH_STATUS_OK);
            CHECK(strstr(detail, want) != NULL);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    pthread_t threads[THREADS];
    mh_refset *set = NULL;
    mh_hash_options o = {.struct_size = sizeof o};
    long t;

    CHECK(argc == 3);
    mh_hash_options_default(&o);
    o.perceptual |= MH_PERCEPTUAL_PDQ_DIHEDRAL;
    CHECK_STATUS(mh_hash_file(argv[2], &o, &img), MH_STATUS_OK);
    CHECK_STATUS(mh_refset_open(argv[1], &set), MH_STATUS_OK);
    shared_set = set;

    for (t = 0; t < THREADS; t++)
        CHECK(pthread_create(&threads[t], NULL, worker, (void *)t) == 0);
    for (t = 0; t < THREADS; t++)
        CHECK(pthread_join(threads[t], NULL) == 0);

    mh_refset_free(set);
    puts("test_threads: ok");
    return 0;
}
