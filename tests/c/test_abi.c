/* ABI versioning: the ABI version, struct_size for structs from older and newer headers,
 * and cancel tokens. argv[1]: a PNG file. */
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

static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    uint8_t *data;
    long size;
    CHECK(f != NULL);
    CHECK(fseek(f, 0, SEEK_END) == 0);
    size = ftell(f);
    CHECK(size > 0);
    CHECK(fseek(f, 0, SEEK_SET) == 0);
    data = malloc((size_t)size);
    CHECK(data != NULL);
    CHECK(fread(data, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return data;
}

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

    free(png);
    puts("test_abi: ok");
    return 0;
}
