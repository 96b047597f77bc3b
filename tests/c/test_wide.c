/* The UTF-16 path functions (Windows only): mh_hash_file_w, mh_refset_open_w and
 * mh_refset_open_mapped_w on names outside ASCII. Built with mingw-w64 against the Windows
 * build and run under Wine by .ci/windows. */
#include <stdio.h>
#include <wchar.h>

#include "check.h"

static const char CONTENT[] = "evidence named in UTF-16\n";

int main(void) {
    const wchar_t *name = L"f\u00f6t\u00f6 \u00fc \u6587.bin";
    FILE *f = _wfopen(name, L"wb");
    CHECK(f != NULL);
    CHECK(fwrite(CONTENT, 1, sizeof CONTENT - 1, f) == sizeof CONTENT - 1);
    CHECK(fclose(f) == 0);

    mh_hash_options options = {.struct_size = sizeof options};
    CHECK_STATUS(mh_hash_options_default(&options), MH_STATUS_OK);
    mh_hash_result from_path = {.struct_size = sizeof from_path};
    mh_hash_result from_bytes = {.struct_size = sizeof from_bytes};
    CHECK_STATUS(mh_hash_file_w((const uint16_t *)name, &options, &from_path), MH_STATUS_OK);
    CHECK_STATUS(mh_hash_buffer((const uint8_t *)CONTENT, sizeof CONTENT - 1, &options,
                                &from_bytes),
                 MH_STATUS_OK);
    CHECK(memcmp(from_path.sha256, from_bytes.sha256, 32) == 0);
    CHECK(memcmp(from_path.md5, from_bytes.md5, 16) == 0);

    CHECK_STATUS(mh_hash_file_w(NULL, &options, &from_path), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_hash_file_w((const uint16_t *)L"no such \u00e9.bin", &options, &from_path),
                 MH_STATUS_NOT_FOUND);
    /* An unpaired surrogate is not a path any Windows file system can hold. */
    const uint16_t lone[] = {'a', 0xD800, 0};
    CHECK(mh_hash_file_w(lone, &options, &from_path) != MH_STATUS_OK);

    /* A set written through the UTF-8 path function, opened through the UTF-16 ones. */
    mh_refset_builder *builder = NULL;
    CHECK_STATUS(mh_refset_builder_new(&builder), MH_STATUS_OK);
    CHECK_STATUS(mh_refset_builder_add_hash(builder, MH_HASH_KIND_SHA256, from_path.sha256, 32,
                                            "wide", MH_DISPOSITION_ALERT, NULL),
                 MH_STATUS_OK);
    CHECK_STATUS(mh_refset_builder_finish(builder, "s\xc3\xa9t \xe6\x96\x87.mhset"), MH_STATUS_OK);
    mh_refset_builder_free(builder);
    const wchar_t *set_name = L"s\u00e9t \u6587.mhset";
    mh_refset *set = NULL;
    CHECK_STATUS(mh_refset_open_w((const uint16_t *)set_name, &set), MH_STATUS_OK);
    mh_refset_info info = {.struct_size = sizeof info};
    CHECK_STATUS(mh_refset_get_info(set, &info), MH_STATUS_OK);
    CHECK(info.sha256_count == 1);
    mh_refset_free(set);
    set = NULL;
    CHECK_STATUS(mh_refset_open_mapped_w((const uint16_t *)set_name, &set), MH_STATUS_OK);
    CHECK_STATUS(mh_refset_get_info(set, &info), MH_STATUS_OK);
    CHECK(info.sha256_count == 1);
    mh_refset_free(set);
    CHECK_STATUS(mh_refset_open_w(NULL, &set), MH_STATUS_NULL_PARAMETER);

    _wremove(name);
    _wremove(set_name);
    printf("test_wide: ok\n");
    return 0;
}
