/* ABI versioning: the ABI version, struct_size for structs from older and newer headers,
 * cancel tokens, and streaming hashing. argv[1]: a PNG file. */
#include <stdint.h>

#include "check.h"

/* mh_hash_options as ABI version 1 first declared it: without the `cancel` field appended
 * since. A suite compiled against that header passes this layout. */
typedef struct {
    uint32_t struct_size;
    uint32_t digests;
    uint32_t perceptual;
    uint32_t pdq_convention;
    uint32_t jpeg_fast_min_side;
    uint32_t max_width;
    uint32_t max_height;
    uint64_t max_pixels;
    uint64_t max_alloc_bytes;
    uint64_t max_image_file_bytes;
} hash_options_v1_0;

/* mh_hash_options as a newer header could declare it: one more field at the end. */
typedef struct {
    mh_hash_options current;
    uint64_t added_later;
} hash_options_newer;

int main(int argc, char **argv) {
    size_t len = 0;
    uint8_t *png;
    mh_hash_result want = {.struct_size = sizeof want};
    mh_hash_result got = {.struct_size = sizeof got};
    hash_options_v1_0 old;
    hash_options_newer newer;
    mh_cancel *cancel = NULL;

    CHECK(argc == 2);
    CHECK(mh_abi_version() == MH_ABI_VERSION);
    png = read_file(argv[1], &len);
    CHECK_STATUS(mh_hash_buffer(png, len, NULL, &want), MH_STATUS_OK);
    CHECK(want.struct_size == sizeof want);
    CHECK(want.valid & MH_VALID_PDQ);

    /* An old-sized caller: filled by _default up to its size, accepted, same hashes. */
    memset(&old, 0xEE, sizeof old);
    old.struct_size = sizeof old;
    CHECK_STATUS(mh_hash_options_default((mh_hash_options *)&old), MH_STATUS_OK);
    CHECK(old.struct_size == sizeof old);
    CHECK(old.digests == MH_DIGEST_DEFAULT && old.max_image_file_bytes > 0);
    old.digests = MH_DIGEST_MD5;
    CHECK_STATUS(mh_hash_buffer(png, len, (const mh_hash_options *)&old, &got), MH_STATUS_OK);
    CHECK(got.valid & MH_VALID_MD5);
    CHECK(!(got.valid & MH_VALID_SHA1));
    CHECK(memcmp(got.pdq, want.pdq, 32) == 0 && got.phash == want.phash);

    /* Too small a struct_size: refused, with a message naming the field. */
    old.struct_size = 8;
    CHECK_STATUS(mh_hash_buffer(png, len, (const mh_hash_options *)&old, &got),
                 MH_STATUS_INVALID_PARAMETER);
    CHECK(strstr(last_error(), "struct_size") != NULL);
    /* An output struct without struct_size set: refused, nothing written. */
    {
        mh_hash_result unset;
        memset(&unset, 0, sizeof unset);
        CHECK_STATUS(mh_hash_buffer(png, len, NULL, &unset), MH_STATUS_INVALID_PARAMETER);
        CHECK(unset.valid == 0);
    }

    /* A newer caller: accepted while the fields this library does not know are zero. */
    memset(&newer, 0, sizeof newer);
    newer.current.struct_size = sizeof newer;
    CHECK_STATUS(mh_hash_options_default(&newer.current), MH_STATUS_OK);
    CHECK(newer.current.struct_size == sizeof(mh_hash_options));
    newer.current.struct_size = sizeof newer;
    CHECK_STATUS(mh_hash_buffer(png, len, &newer.current, &got), MH_STATUS_OK);
    newer.added_later = 1;
    CHECK_STATUS(mh_hash_buffer(png, len, &newer.current, &got), MH_STATUS_INVALID_PARAMETER);
    CHECK(strstr(last_error(), "does not know") != NULL);

    /* Cancel tokens: a set token stops the call, outputs untouched. */
    CHECK_STATUS(mh_cancel_new(NULL), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_cancel_new(&cancel), MH_STATUS_OK);
    CHECK(mh_cancel_is_set(cancel) == 0);
    {
        mh_hash_options o = {.struct_size = sizeof o};
        mh_hash_result r = {.struct_size = sizeof r};
        CHECK_STATUS(mh_hash_options_default(&o), MH_STATUS_OK);
        o.cancel = cancel;
        CHECK_STATUS(mh_hash_buffer(png, len, &o, &r), MH_STATUS_OK);
        CHECK(memcmp(r.pdq, want.pdq, 32) == 0);
        mh_cancel_set(cancel);
        CHECK(mh_cancel_is_set(cancel) == 1);
        memset(&r, 0, sizeof r);
        r.struct_size = sizeof r;
        CHECK_STATUS(mh_hash_buffer(png, len, &o, &r), MH_STATUS_CANCELLED);
        CHECK(r.valid == 0);
    }
    mh_cancel_set(NULL);
    CHECK(mh_cancel_is_set(NULL) == 0);
    mh_cancel_free(cancel);
    mh_cancel_free(NULL);

    /* Streaming: 1-byte, 4 KiB and pseudo-random pieces give mh_hash_file's result. */
    {
        mh_hash_result from_file = {.struct_size = sizeof from_file};
        size_t piece_sizes[3] = {1, 4096, 0};
        int mode;
        CHECK_STATUS(mh_hash_file(argv[1], NULL, &from_file), MH_STATUS_OK);
        for (mode = 0; mode < 3; mode++) {
            mh_hasher *h = NULL;
            mh_hash_result r = {.struct_size = sizeof r};
            size_t at = 0;
            uint32_t seed = 12345;
            CHECK_STATUS(mh_hasher_new(NULL, &h), MH_STATUS_OK);
            while (at < len) {
                size_t n = piece_sizes[mode];
                if (n == 0) {
                    seed = seed * 1103515245u + 12345u;
                    n = 1 + (seed >> 16) % 9000;
                }
                if (n > len - at)
                    n = len - at;
                CHECK_STATUS(mh_hasher_update(h, png + at, n), MH_STATUS_OK);
                at += n;
            }
            CHECK_STATUS(mh_hasher_update(h, NULL, 0), MH_STATUS_OK);
            CHECK_STATUS(mh_hasher_finish(h, &r), MH_STATUS_OK);
            CHECK(r.valid == from_file.valid && r.size == from_file.size);
            CHECK(memcmp(r.md5, from_file.md5, 16) == 0);
            CHECK(memcmp(r.sha1, from_file.sha1, 20) == 0);
            CHECK(memcmp(r.sha256, from_file.sha256, 32) == 0);
            CHECK(memcmp(r.pdq, from_file.pdq, 32) == 0 && r.pdq_quality == from_file.pdq_quality);
            CHECK(r.phash == from_file.phash && r.dhash == from_file.dhash);
            CHECK(r.ahash == from_file.ahash);
            /* Finished: no more bytes, no second result. */
            CHECK_STATUS(mh_hasher_update(h, png, 1), MH_STATUS_INVALID_PARAMETER);
            CHECK_STATUS(mh_hasher_finish(h, &r), MH_STATUS_INVALID_PARAMETER);
            mh_hasher_free(h);
        }
        CHECK_STATUS(mh_hasher_new(NULL, NULL), MH_STATUS_NULL_PARAMETER);
        CHECK_STATUS(mh_hasher_update(NULL, png, 1), MH_STATUS_NULL_PARAMETER);
        CHECK_STATUS(mh_hasher_finish(NULL, &got), MH_STATUS_NULL_PARAMETER);
        mh_hasher_free(NULL);
    }

    free(png);
    puts("test_abi: ok");
    return 0;
}
