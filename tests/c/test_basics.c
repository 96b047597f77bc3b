/* Version, status names, and the per-thread error detail. */
#include "check.h"

static void test_version(void) {
    char want[64];
    const char *version = mh_version();
    CHECK(version != NULL);
    snprintf(want, sizeof want, "%d.%d.%d", MH_VERSION_MAJOR, MH_VERSION_MINOR, MH_VERSION_PATCH);
    CHECK(strcmp(version, want) == 0);
}

static void test_status_str(void) {
    const uint32_t known[] = {
        MH_STATUS_OK,
        MH_STATUS_NULL_PARAMETER,
        MH_STATUS_INVALID_PARAMETER,
        MH_STATUS_BUFFER_TOO_SMALL,
        MH_STATUS_PANIC,
        MH_STATUS_CANCELLED,
        MH_STATUS_IO,
        MH_STATUS_NOT_FOUND,
        MH_STATUS_PERMISSION_DENIED,
        MH_STATUS_NOT_REGULAR_FILE,
        MH_STATUS_REFSET_INVALID,
        MH_STATUS_REFSET_UNSUPPORTED_VERSION,
        MH_STATUS_REFSET_CHECKSUM_MISMATCH,
        MH_STATUS_SCAN_CANCELLED,
        MH_STATUS_SCAN_FAILED,
        MH_STATUS_IMAGE_DECODE_FAILED,
        MH_STATUS_IMAGE_TOO_LARGE,
        MH_STATUS_IMAGE_HASH_FAILED,
    };
    size_t i;
    const char *unknown = mh_status_str(6);
    CHECK(MH_STATUS_OK == 0);
    CHECK(strcmp(mh_status_str(MH_STATUS_OK), "ok") == 0);
    CHECK(strcmp(unknown, "unknown mh_status") == 0);
    CHECK(strcmp(mh_status_str(0xffffffffu), "unknown mh_status") == 0);
    for (i = 0; i < sizeof known / sizeof known[0]; i++) {
        const char *name = mh_status_str(known[i]);
        CHECK(name != NULL && name[0] != '\0');
        CHECK(strcmp(name, unknown) != 0);
    }
}

static void test_last_error_message(void) {
    char buf[256];
    char tiny[2] = {'x', 'x'};
    size_t needed = 0;

    /* NULL arguments. */
    CHECK_STATUS(mh_last_error_message(NULL, 10, &needed), MH_STATUS_NULL_PARAMETER);

    /* Produce a failure with a detail: a status-returning call with a NULL out-pointer. */
    CHECK_STATUS(mh_hash_options_default(NULL), MH_STATUS_NULL_PARAMETER);

    /* Size query. */
    CHECK_STATUS(mh_last_error_message(NULL, 0, &needed), MH_STATUS_BUFFER_TOO_SMALL);
    CHECK(needed > 1);
    /* Too small: nothing written, size reported. */
    CHECK_STATUS(mh_last_error_message(tiny, sizeof tiny, &needed), MH_STATUS_BUFFER_TOO_SMALL);
    CHECK(tiny[0] == 'x' && tiny[1] == 'x');
    /* Exactly the needed size works, and reading does not clear it. */
    CHECK(needed <= sizeof buf);
    CHECK_STATUS(mh_last_error_message(buf, needed, &needed), MH_STATUS_OK);
    CHECK(strlen(buf) + 1 == needed);
    CHECK(strstr(buf, "NULL") != NULL);
    CHECK_STATUS(mh_last_error_message(buf, sizeof buf, &needed), MH_STATUS_OK);
    CHECK(strstr(buf, "NULL") != NULL);
    /* The size pointer is optional (NULL: the message alone). */
    memset(buf, 0, sizeof buf);
    CHECK_STATUS(mh_last_error_message(buf, sizeof buf, NULL), MH_STATUS_OK);
    CHECK(strstr(buf, "NULL") != NULL);
    CHECK_STATUS(mh_last_error_message(tiny, sizeof tiny, NULL), MH_STATUS_BUFFER_TOO_SMALL);

    /* A successful call clears it. */
    {
        mh_hash_options options = {.struct_size = sizeof options};
        CHECK_STATUS(mh_hash_options_default(&options), MH_STATUS_OK);
    }
    CHECK_STATUS(mh_last_error_message(buf, sizeof buf, &needed), MH_STATUS_OK);
    CHECK(needed == 1 && buf[0] == '\0');
}

int main(void) {
    test_version();
    test_status_str();
    test_last_error_message();
    puts("test_basics: ok");
    return 0;
}
