/*
 * Hashing files and buffers: results, options, and every error path.
 *
 * argv: IMAGE_PNG SHA256_HEX PDQ_HEX PHASH_HEX WIDTH HEIGHT CORRUPT_PNG DIRECTORY
 * (expected values computed by the Rust driver with crate::analyze).
 */
#define _POSIX_C_SOURCE 200809L /* mkfifo, unlink */
#include "check.h"

#include <sys/stat.h>
#include <unistd.h>

static const char *image_path, *sha256_hex, *pdq_hex, *phash_hex, *corrupt_path, *dir_path;
static unsigned width, height;

static void to_hex(const uint8_t *bytes, size_t len, char *out) {
    size_t i;
    for (i = 0; i < len; i++)
        sprintf(out + 2 * i, "%02x", bytes[i]);
    out[2 * len] = '\0';
}

static int hex_equals(const uint8_t *bytes, size_t len, const char *want) {
    char got[2 * 144 + 1];
    to_hex(bytes, len, got);
    return strcmp(got, want) == 0;
}

static void check_image_result(const mh_hash_result *r) {
    char phash[17];
    CHECK((r->valid & (MH_VALID_MD5 | MH_VALID_SHA1 | MH_VALID_SHA256)) ==
          (MH_VALID_MD5 | MH_VALID_SHA1 | MH_VALID_SHA256));
    CHECK(r->valid & MH_VALID_IMAGE);
    CHECK(r->valid & MH_VALID_PDQ);
    CHECK(r->valid & MH_VALID_IMAGEHASH);
    CHECK(!(r->valid & MH_VALID_BLAKE3));
    CHECK(!(r->valid & MH_VALID_PDQ_DIHEDRAL));
    CHECK(r->image_format == MH_IMAGE_FORMAT_PNG);
    CHECK(r->width == width && r->height == height);
    CHECK(r->decoded_width == width && r->decoded_height == height);
    CHECK(hex_equals(r->sha256, 32, sha256_hex));
    CHECK(hex_equals(r->pdq, 32, pdq_hex));
    CHECK(r->pdq_quality <= 100);
    CHECK(r->pdq_convention == MH_PDQ_CONVENTION_FULL_RESOLUTION);
    sprintf(phash, "%016llx", (unsigned long long)r->phash);
    CHECK(strcmp(phash, phash_hex) == 0);
    CHECK(r->image_status == MH_STATUS_OK);
    CHECK(r->image_error[0] == '\0');
}

static void test_defaults(void) {
    mh_hash_options o = {.struct_size = sizeof o};
    CHECK_STATUS(mh_hash_options_default(&o), MH_STATUS_OK);
    CHECK(o.digests == MH_DIGEST_DEFAULT);
    CHECK(o.perceptual == MH_PERCEPTUAL_DEFAULT);
    CHECK(o.pdq_convention == MH_PDQ_CONVENTION_FULL_RESOLUTION);
    CHECK(o.jpeg_fast_min_side == 0);
    CHECK(o.max_width > 0 && o.max_height > 0 && o.max_pixels > 0 && o.max_alloc_bytes > 0);
    CHECK(o.max_image_file_bytes > 0);
    CHECK_STATUS(mh_hash_options_default(NULL), MH_STATUS_NULL_PARAMETER);
}

static void test_file_and_buffer_agree(void) {
    mh_hash_options o = {.struct_size = sizeof o};
    mh_hash_result from_file = {.struct_size = sizeof from_file};
    mh_hash_result from_buffer = {.struct_size = sizeof from_buffer};
    mh_hash_result with_null_options = {.struct_size = sizeof with_null_options};
    size_t len = 0;
    unsigned char *bytes = read_file(image_path, &len);

    CHECK_STATUS(mh_hash_options_default(&o), MH_STATUS_OK);
    CHECK_STATUS(mh_hash_file(image_path, &o, &from_file), MH_STATUS_OK);
    check_image_result(&from_file);
    CHECK(from_file.size == len);

    CHECK_STATUS(mh_hash_buffer(bytes, len, &o, &from_buffer), MH_STATUS_OK);
    check_image_result(&from_buffer);
    CHECK(memcmp(&from_file.md5, &from_buffer.md5, 16) == 0);
    CHECK(memcmp(&from_file.sha1, &from_buffer.sha1, 20) == 0);
    CHECK(memcmp(&from_file.pdq, &from_buffer.pdq, 32) == 0);
    CHECK(from_file.pdq_quality == from_buffer.pdq_quality);

    /* NULL options means the defaults. */
    CHECK_STATUS(mh_hash_file(image_path, NULL, &with_null_options), MH_STATUS_OK);
    check_image_result(&with_null_options);
    free(bytes);
}

static void test_options(void) {
    mh_hash_options o = {.struct_size = sizeof o};
    mh_hash_result r = {.struct_size = sizeof r};
    int i;

    /* BLAKE3 and dihedrals. */
    mh_hash_options_default(&o);
    o.digests |= MH_DIGEST_BLAKE3;
    o.perceptual |= MH_PERCEPTUAL_PDQ_DIHEDRAL;
    CHECK_STATUS(mh_hash_file(image_path, &o, &r), MH_STATUS_OK);
    CHECK(r.valid & MH_VALID_BLAKE3);
    CHECK(r.valid & MH_VALID_PDQ_DIHEDRAL);
    CHECK(memcmp(r.pdq_dihedral[0], r.pdq, 32) == 0);
    for (i = 1; i < 8; i++)
        CHECK(memcmp(r.pdq_dihedral[i], r.pdq, 32) != 0);

    /* Only SHA-256, no perceptual hashes: the image is not decoded. */
    mh_hash_options_default(&o);
    o.digests = MH_DIGEST_SHA256;
    o.perceptual = 0;
    CHECK_STATUS(mh_hash_file(image_path, &o, &r), MH_STATUS_OK);
    CHECK(r.valid == MH_VALID_SHA256);
    CHECK(hex_equals(r.sha256, 32, sha256_hex));
    CHECK(r.image_format == MH_IMAGE_FORMAT_NONE);
    CHECK(r.image_status == MH_STATUS_OK);

    /* PDQ only. */
    mh_hash_options_default(&o);
    o.perceptual = MH_PERCEPTUAL_PDQ;
    CHECK_STATUS(mh_hash_file(image_path, &o, &r), MH_STATUS_OK);
    CHECK(r.valid & MH_VALID_PDQ);
    CHECK(!(r.valid & MH_VALID_IMAGEHASH));

    /* The 512 convention is accepted and reported. */
    mh_hash_options_default(&o);
    o.pdq_convention = MH_PDQ_CONVENTION_CLI512;
    CHECK_STATUS(mh_hash_file(image_path, &o, &r), MH_STATUS_OK);
    CHECK(r.pdq_convention == MH_PDQ_CONVENTION_CLI512);

    /* A decode limit: the digests survive, the image is refused with a reason. */
    mh_hash_options_default(&o);
    o.max_width = 8;
    CHECK_STATUS(mh_hash_file(image_path, &o, &r), MH_STATUS_OK);
    CHECK(r.valid & MH_VALID_SHA256);
    CHECK(!(r.valid & MH_VALID_PDQ));
    CHECK(r.image_status == MH_STATUS_IMAGE_TOO_LARGE);
    CHECK(strlen(r.image_error) > 0);

    mh_hash_options_default(&o);
    o.max_image_file_bytes = 10;
    CHECK_STATUS(mh_hash_file(image_path, &o, &r), MH_STATUS_OK);
    CHECK(r.image_status == MH_STATUS_IMAGE_TOO_LARGE);
}

static void test_non_images(void) {
    static const char text[] = "not an image at all";
    static const char empty_sha256[] =
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    mh_hash_result r = {.struct_size = sizeof r};

    CHECK_STATUS(mh_hash_buffer((const uint8_t *)text, strlen(text), NULL, &r), MH_STATUS_OK);
    CHECK(r.size == strlen(text));
    CHECK(!(r.valid & (MH_VALID_IMAGE | MH_VALID_PDQ)));
    CHECK(r.image_format == MH_IMAGE_FORMAT_NONE);
    CHECK(r.image_status == MH_STATUS_OK);

    /* Zero bytes: data may be NULL. */
    CHECK_STATUS(mh_hash_buffer(NULL, 0, NULL, &r), MH_STATUS_OK);
    CHECK(r.size == 0);
    CHECK(hex_equals(r.sha256, 32, empty_sha256));

    /* A corrupt image: success with digests, image_status explains. */
    CHECK_STATUS(mh_hash_file(corrupt_path, NULL, &r), MH_STATUS_OK);
    CHECK(r.valid & MH_VALID_SHA256);
    CHECK(!(r.valid & MH_VALID_PDQ));
    CHECK(r.image_format == MH_IMAGE_FORMAT_PNG);
    CHECK(r.image_status == MH_STATUS_IMAGE_DECODE_FAILED);
    CHECK(strlen(r.image_error) > 0 && strlen(r.image_error) < 256);
}

/* A failed call must leave the output untouched. */
static void check_untouched(const mh_hash_result *r) {
    const unsigned char *p = (const unsigned char *)r;
    size_t i;
    for (i = 0; i < sizeof *r; i++)
        CHECK(p[i] == 0xAB);
}

static void test_errors(void) {
    mh_hash_options o = {.struct_size = sizeof o};
    mh_hash_result r = {.struct_size = sizeof r};
    char missing[4096];

    memset(&r, 0xAB, sizeof r);
    CHECK_STATUS(mh_hash_file(NULL, NULL, &r), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_hash_file(image_path, NULL, NULL), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_hash_buffer(NULL, 5, NULL, &r), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_hash_buffer((const uint8_t *)"x", 1, NULL, NULL), MH_STATUS_NULL_PARAMETER);
    CHECK(strstr(last_error(), "NULL") != NULL);

    snprintf(missing, sizeof missing, "%s.does-not-exist", image_path);
    CHECK_STATUS(mh_hash_file(missing, NULL, &r), MH_STATUS_NOT_FOUND);
    CHECK(strstr(last_error(), "does-not-exist") != NULL);
    CHECK_STATUS(mh_hash_file(dir_path, NULL, &r), MH_STATUS_NOT_REGULAR_FILE);
    CHECK(strlen(last_error()) > 0);
    /* Special files are refused at once, never read: a FIFO nobody writes would block, a
     * device like /dev/zero never end. */
    CHECK_STATUS(mh_hash_file("/dev/zero", NULL, &r), MH_STATUS_NOT_REGULAR_FILE);
    {
        char fifo[4200];
        snprintf(fifo, sizeof fifo, "%s/fifo", dir_path);
        unlink(fifo);
        CHECK(mkfifo(fifo, 0600) == 0);
        CHECK_STATUS(mh_hash_file(fifo, NULL, &r), MH_STATUS_NOT_REGULAR_FILE);
        CHECK(strstr(last_error(), "FIFO") != NULL || strstr(last_error(), "fifo") != NULL);
        unlink(fifo);
    }

    mh_hash_options_default(&o);
    o.digests = 1u << 20;
    CHECK_STATUS(mh_hash_file(image_path, &o, &r), MH_STATUS_INVALID_PARAMETER);
    CHECK(strstr(last_error(), "digests") != NULL);
    mh_hash_options_default(&o);
    o.perceptual = 0x80000000u;
    CHECK_STATUS(mh_hash_buffer((const uint8_t *)"x", 1, &o, &r), MH_STATUS_INVALID_PARAMETER);
    CHECK(strstr(last_error(), "perceptual") != NULL);
    mh_hash_options_default(&o);
    o.pdq_convention = 7;
    CHECK_STATUS(mh_hash_file(image_path, &o, &r), MH_STATUS_INVALID_PARAMETER);
    CHECK(strstr(last_error(), "pdq_convention") != NULL);

    check_untouched(&r);
}

int main(int argc, char **argv) {
    CHECK(argc == 9);
    image_path = argv[1];
    sha256_hex = argv[2];
    pdq_hex = argv[3];
    phash_hex = argv[4];
    width = (unsigned)strtoul(argv[5], NULL, 10);
    height = (unsigned)strtoul(argv[6], NULL, 10);
    corrupt_path = argv[7];
    dir_path = argv[8];

    test_defaults();
    test_file_and_buffer_agree();
    test_options();
    test_non_images();
    test_errors();
    puts("test_hash: ok");
    return 0;
}
