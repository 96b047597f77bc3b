/*
 * Videos: mh_vpdq_hash_file (through the ffmpeg program), the list accessors,
 * mh_vpdq_hash_rgb for caller-decoded frames, mh_refset_match_vpdq, and the error paths.
 *
 * argv: VIDEO SET FIRST_HEX
 * VIDEO is tests/data/video/testsrc2-h264.mp4 (30 fps, 4 s); SET holds its vPDQ list at
 * every frame as the known video "testsrc2-h264.mp4.0" (built by tests/ffi_c.rs with
 * mh refset build --alert-vpdq); FIRST_HEX is Meta's vpdq hash of its frame 0.
 */
#include "check.h"

static void hex_of(const uint8_t hash[32], char out[65]) {
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = digits[hash[i] >> 4];
        out[2 * i + 1] = digits[hash[i] & 15];
    }
    out[64] = '\0';
}

int main(int argc, char **argv) {
    CHECK(argc == 4);
    const char *video = argv[1], *set_path = argv[2], *first_hex = argv[3];
    mh_vpdq_list *list = NULL;
    mh_vpdq_frame frame;
    char hex[65];

    /* One hash per second of a 4 s, 30 fps video: frames 0, 30, 60, 90. */
    CHECK_STATUS(mh_vpdq_hash_file(video, 1.0, NULL, 0, &list), MH_STATUS_OK);
    CHECK(mh_vpdq_list_len(list) == 4);
    CHECK(mh_vpdq_list_vpdq_equal(list) == 1);
    CHECK_STATUS(mh_vpdq_list_get(list, 0, &frame), MH_STATUS_OK);
    hex_of(frame.hash, hex);
    CHECK(strcmp(hex, first_hex) == 0);
    CHECK(frame.frame == 0 && frame.quality <= 100);
    CHECK_STATUS(mh_vpdq_list_get(list, 3, &frame), MH_STATUS_OK);
    CHECK(frame.frame == 90 && frame.timestamp > 2.99 && frame.timestamp < 3.01);
    CHECK_STATUS(mh_vpdq_list_get(list, 4, &frame), MH_STATUS_INVALID_PARAMETER);
    CHECK(mh_vpdq_list_frames(list) != NULL);

    /* The known video in SET is found by the reference rule. */
    mh_refset *set = NULL;
    mh_vpdq_matches *matches = NULL;
    mh_vpdq_match m = {.struct_size = sizeof m};
    CHECK_STATUS(mh_refset_open(set_path, &set), MH_STATUS_OK);
    CHECK_STATUS(mh_refset_match_vpdq(set, mh_vpdq_list_frames(list), mh_vpdq_list_len(list),
                                      &matches),
                 MH_STATUS_OK);
    CHECK(mh_vpdq_matches_len(matches) == 1);
    CHECK_STATUS(mh_vpdq_matches_get(matches, 0, &m), MH_STATUS_OK);
    CHECK(m.reference_match == 1 && m.query_percent == 100.0);
    CHECK(m.disposition == MH_DISPOSITION_ALERT);
    CHECK(m.video_id != NULL && strcmp(m.video_id, "testsrc2-h264.mp4.0") == 0);
    CHECK_STATUS(mh_vpdq_matches_get(matches, 1, &m), MH_STATUS_INVALID_PARAMETER);
    mh_vpdq_matches_free(matches);
    /* No frames: no match. */
    CHECK_STATUS(mh_refset_match_vpdq(set, NULL, 0, &matches), MH_STATUS_OK);
    CHECK(mh_vpdq_matches_len(matches) == 0);
    mh_vpdq_matches_free(matches);
    CHECK_STATUS(mh_refset_match_vpdq(set, NULL, 3, &matches), MH_STATUS_NULL_PARAMETER);
    mh_refset_free(set);

    /* A caller-decoded frame. */
    enum { W = 64, H = 48 };
    static uint8_t rgb[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        rgb[i] = (uint8_t)((i * 7) ^ (i / 97));
    CHECK_STATUS(mh_vpdq_hash_rgb(rgb, sizeof rgb, W, H, 29, 30000.0 / 1001.0, &frame),
                 MH_STATUS_OK);
    CHECK(frame.frame == 29 && frame.timestamp > 0.967 && frame.timestamp < 0.969);
    CHECK_STATUS(mh_vpdq_hash_rgb(rgb, 10, W, H, 0, 30.0, &frame), MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_vpdq_hash_rgb(rgb, sizeof rgb, W, H, 0, 0.0, &frame),
                 MH_STATUS_INVALID_PARAMETER);

    /* Errors: NULLs, a missing ffmpeg, a bad interval; outputs untouched. */
    mh_vpdq_list *untouched = list;
    CHECK_STATUS(mh_vpdq_hash_file(NULL, 1.0, NULL, 0, &untouched), MH_STATUS_NULL_PARAMETER);
    CHECK_STATUS(mh_vpdq_hash_file(video, -1.0, NULL, 0, &untouched), MH_STATUS_INVALID_PARAMETER);
    CHECK_STATUS(mh_vpdq_hash_file(video, 1.0, "/nonexistent/ffmpeg", 0, &untouched),
                 MH_STATUS_VIDEO_FAILED);
    CHECK(strstr(last_error(), "apt-get install ffmpeg") != NULL);
    CHECK(untouched == list);
    CHECK(mh_vpdq_list_len(NULL) == 0 && mh_vpdq_list_frames(NULL) == NULL);
    mh_vpdq_list_free(list);
    mh_vpdq_list_free(NULL);
    mh_vpdq_matches_free(NULL);
    puts("test_video: ok");
    return 0;
}
