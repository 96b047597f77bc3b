/*
 * Drives libjpeg (MozJPEG's copy of the libjpeg-turbo decoder) for src/decode/jpeg.rs.
 *
 * Why C: libjpeg reports fatal errors by calling err->error_exit, which must not return.
 * The standard, sound way to survive that is setjmp/longjmp entirely inside C frames, so
 * hostile JPEGs become ordinary status codes and no Rust frame is ever skipped.
 *
 * Every exported function that calls into libjpeg first does setjmp() on the decoder's
 * jmp_buf; error_exit formats libjpeg's message and longjmps back there. No Rust code runs
 * between the setjmp and the longjmp (there are no callbacks into Rust).
 */

#include <limits.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpeglib.h"
#include "jerror.h"

/* Status codes; keep in sync with src/decode/jpeg.rs. */
#define MH_OK 0
#define MH_CORRUPT 1
#define MH_TRUNCATED 2
#define MH_UNSUPPORTED 3
#define MH_ALLOC_LIMIT 4
#define MH_TOO_BIG 5
#define MH_BAD_CALL 6
#define MH_CANCELLED 7

/* Output pixel layouts requested by Rust. */
#define MH_OUT_RGB 0  /* 3 bytes per pixel, libjpeg does the colour conversion */
#define MH_OUT_CMYK 1 /* 4 bytes per pixel, raw CMYK as libjpeg outputs it */

/* A valid progressive file needs a few dozen scans at most (10 is typical); hostile files
 * use thousands of tiny scans to make decoding quadratic (as libjpeg-turbo's own
 * TJPARAM_SCANLIMIT guards against). */
#define MH_MAX_SCANS 1000

#define MH_MESSAGE_LEN 200 /* = JMSG_LENGTH_MAX */

struct mh_error_mgr {
  struct jpeg_error_mgr pub; /* must be first: libjpeg casts cinfo->err to this */
  jmp_buf jump;
  int status;                /* set before longjmp */
  unsigned long warnings;
  char message[MH_MESSAGE_LEN];
  char first_warning[MH_MESSAGE_LEN];
};

typedef struct mh_jpeg_decoder {
  struct jpeg_decompress_struct cinfo;
  struct mh_error_mgr err;
  struct jpeg_progress_mgr progress;
  int created;     /* jpeg_create_decompress succeeded */
  int header_read; /* jpeg_read_header succeeded */
  int configured;  /* mh_jpeg_configure succeeded; output dimensions are valid */
  int decoded;     /* mh_jpeg_decode was called (it may run once) */
  /* The caller's cancel flag (a Rust AtomicBool, one byte, 0 or 1) during mh_jpeg_decode,
   * read by the progress monitor; NULL when there is none. */
  const unsigned char *cancel;
} mh_jpeg_decoder;

/* Header facts handed to Rust after mh_jpeg_read_header. */
typedef struct mh_jpeg_header {
  unsigned int image_width;
  unsigned int image_height;
  int num_components;
  int jpeg_color_space; /* J_COLOR_SPACE value */
  int progressive;
  int arithmetic;
  int saw_adobe_marker;
  int adobe_transform;
  unsigned int output_width;  /* after scaling */
  unsigned int output_height;
  int output_components; /* bytes per pixel in the buffer mh_jpeg_decode fills */
  int multiple_scans;    /* the whole image's coefficients are buffered (progressive...) */
  unsigned long long coef_bytes; /* that buffer's size when multiple_scans, else 0 */
} mh_jpeg_header;

static int classify_error(int code) {
  switch (code) {
  case JERR_INPUT_EMPTY:
  case JERR_INPUT_EOF:
    return MH_TRUNCATED;
  case JERR_OUT_OF_MEMORY:
  case JERR_NO_BACKING_STORE:
  case JERR_TFILE_CREATE:
    return MH_ALLOC_LIMIT;
  case JERR_IMAGE_TOO_BIG:
  case JERR_WIDTH_OVERFLOW:
    return MH_TOO_BIG;
  case JERR_ARITH_NOTIMPL:
  case JERR_BAD_PRECISION:
  case JERR_CCIR601_NOTIMPL:
  case JERR_CONVERSION_NOTIMPL:
  case JERR_FRACT_SAMPLE_NOTIMPL:
  case JERR_NOT_COMPILED:
  case JERR_NOTIMPL:
  case JERR_SOF_UNSUPPORTED:
  case JERR_EMPTY_IMAGE: /* DNL marker */
    return MH_UNSUPPORTED;
  default:
    return MH_CORRUPT;
  }
}

static void mh_error_exit(j_common_ptr cinfo) {
  struct mh_error_mgr *err = (struct mh_error_mgr *)cinfo->err;
  (*cinfo->err->format_message)(cinfo, err->message);
  err->status = classify_error(cinfo->err->msg_code);
  longjmp(err->jump, 1);
}

/* libjpeg's default writes to stderr; the library must print nothing. */
static void mh_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void mh_emit_message(j_common_ptr cinfo, int msg_level) {
  struct mh_error_mgr *err = (struct mh_error_mgr *)cinfo->err;
  if (msg_level >= 0)
    return; /* trace messages */
  /* A premature end of data makes libjpeg pad the rest with grey and carry on. Pillow
   * refuses such files ("image file is truncated", even when only the final EOI marker is
   * missing), and silently padded evidence would be hashed as something it is not. */
  if (cinfo->err->msg_code == JWRN_JPEG_EOF) {
    (*cinfo->err->format_message)(cinfo, err->message);
    err->status = MH_TRUNCATED;
    longjmp(err->jump, 1);
  }
  if (err->warnings == 0)
    (*cinfo->err->format_message)(cinfo, err->first_warning);
  if (err->warnings < ULONG_MAX)
    err->warnings++;
  cinfo->err->num_warnings++;
}

/* Relaxed atomic load of the caller's flag (written by Rust with an atomic store). */
static int mh_cancel_requested(const unsigned char *flag) {
  if (flag == NULL)
    return 0;
#if defined(__GNUC__) || defined(__clang__)
  return __atomic_load_n(flag, __ATOMIC_RELAXED) != 0;
#else
  return *(const volatile unsigned char *)flag != 0;
#endif
}

/* libjpeg calls this once per row group of output and once per iMCU row while it reads the
 * scans of a multi-scan file into its coefficient buffer: the place to stop a decode. */
static void mh_progress(j_common_ptr cinfo) {
  if (!cinfo->is_decompressor)
    return;
  j_decompress_ptr dinfo = (j_decompress_ptr)cinfo;
  /* cinfo is the first member of mh_jpeg_decoder, so this is the decoder itself. */
  mh_jpeg_decoder *dec = (mh_jpeg_decoder *)dinfo;
  if (mh_cancel_requested(dec->cancel)) {
    snprintf(dec->err.message, sizeof dec->err.message, "decoding cancelled");
    dec->err.status = MH_CANCELLED;
    longjmp(dec->err.jump, 1);
  }
  if (dinfo->input_scan_number > MH_MAX_SCANS) {
    struct mh_error_mgr *err = (struct mh_error_mgr *)cinfo->err;
    snprintf(err->message, sizeof err->message,
             "progressive JPEG has more than %d scans (hostile or broken file)", MH_MAX_SCANS);
    err->status = MH_CORRUPT;
    longjmp(err->jump, 1);
  }
}

/* Returns 1 when jpeg_create_decompress succeeded (it fails only when out of memory). */
static int create_decompress(mh_jpeg_decoder *dec) {
  if (setjmp(dec->err.jump))
    return 0;
  jpeg_create_decompress(&dec->cinfo);
  return 1;
}

mh_jpeg_decoder *mh_jpeg_new(void) {
  mh_jpeg_decoder *dec = (mh_jpeg_decoder *)calloc(1, sizeof(mh_jpeg_decoder));
  if (dec == NULL)
    return NULL;
  dec->cinfo.err = jpeg_std_error(&dec->err.pub);
  dec->err.pub.error_exit = mh_error_exit;
  dec->err.pub.emit_message = mh_emit_message;
  dec->err.pub.output_message = mh_output_message;
  if (!create_decompress(dec)) {
    free(dec); /* nothing to destroy */
    return NULL;
  }
  dec->created = 1;
  dec->progress.progress_monitor = mh_progress;
  dec->cinfo.progress = &dec->progress;
  return dec;
}

void mh_jpeg_free(mh_jpeg_decoder *dec) {
  if (dec == NULL)
    return;
  if (dec->created)
    jpeg_destroy_decompress(&dec->cinfo); /* never calls error_exit */
  free(dec);
}

const char *mh_jpeg_message(const mh_jpeg_decoder *dec) { return dec->err.message; }

const char *mh_jpeg_first_warning(const mh_jpeg_decoder *dec) {
  return dec->err.first_warning;
}

unsigned long mh_jpeg_warning_count(const mh_jpeg_decoder *dec) { return dec->err.warnings; }

/* Fills the header facts without calling libjpeg (safe outside setjmp). */
static void fill_header(const mh_jpeg_decoder *dec, mh_jpeg_header *out) {
  const struct jpeg_decompress_struct *c = &dec->cinfo;
  out->image_width = c->image_width;
  out->image_height = c->image_height;
  out->num_components = c->num_components;
  out->jpeg_color_space = (int)c->jpeg_color_space;
  out->progressive = c->progressive_mode ? 1 : 0;
  out->arithmetic = c->arith_code ? 1 : 0;
  out->saw_adobe_marker = c->saw_Adobe_marker ? 1 : 0;
  out->adobe_transform = c->Adobe_transform;
  out->output_width = c->output_width;
  out->output_height = c->output_height;
  out->output_components = c->out_color_components;
}

/*
 * Reads the JPEG header from data[0..len), which must stay alive and unchanged until
 * mh_jpeg_free. Nothing large is allocated here. On MH_OK, *out holds the header facts.
 */
int mh_jpeg_read_header(mh_jpeg_decoder *dec, const unsigned char *data, size_t len,
                        mh_jpeg_header *out) {
  if (dec == NULL || data == NULL || out == NULL || dec->header_read || len == 0 ||
      len > (size_t)ULONG_MAX) {
    if (dec != NULL)
      snprintf(dec->err.message, sizeof dec->err.message, "invalid call to mh_jpeg_read_header");
    return MH_BAD_CALL;
  }
  memset(out, 0, sizeof *out);
  if (setjmp(dec->err.jump)) {
    fill_header(dec, out); /* the SOF dimensions are useful in TooLarge errors */
    return dec->err.status;
  }
  jpeg_mem_src(&dec->cinfo, data, (unsigned long)len);
  jpeg_read_header(&dec->cinfo, TRUE); /* require_image: errors instead of returning */
  dec->header_read = 1;
  fill_header(dec, out);
  /* Multi-scan files (progressive, or components in separate scans) keep every coefficient
   * of the image: round_up(blocks, sampling factor) blocks of 64 2-byte values per
   * component (jdcoefct.c). Known after the first SOS, so after jpeg_read_header. */
  if (jpeg_has_multiple_scans(&dec->cinfo)) {
    unsigned long long bytes = 0;
    for (int ci = 0; ci < dec->cinfo.num_components; ci++) {
      const jpeg_component_info *comp = &dec->cinfo.comp_info[ci];
      unsigned long long h = (unsigned long long)comp->h_samp_factor;
      unsigned long long v = (unsigned long long)comp->v_samp_factor;
      unsigned long long wide = ((unsigned long long)comp->width_in_blocks + h - 1) / h * h;
      unsigned long long tall = ((unsigned long long)comp->height_in_blocks + v - 1) / v * v;
      bytes += wide * tall * (unsigned long long)(DCTSIZE2 * sizeof(JCOEF));
    }
    out->multiple_scans = 1;
    out->coef_bytes = bytes;
  }
  return MH_OK;
}

/*
 * Chooses the output after mh_jpeg_read_header: scale 1/scale_denom (DCT-domain), output
 * RGB or raw CMYK (out_kind), and Pillow's settings (libjpeg defaults: ISLOW IDCT, fancy
 * upsampling, block smoothing). max_memory bounds libjpeg's large buffers (the whole-image
 * coefficient arrays of progressive files); exceeding it is MH_ALLOC_LIMIT, raised later by
 * mh_jpeg_decode. On MH_OK, *out also holds the output dimensions.
 */
int mh_jpeg_configure(mh_jpeg_decoder *dec, int scale_denom, int out_kind, size_t max_memory,
                      mh_jpeg_header *out) {
  if (dec == NULL || out == NULL || !dec->header_read || dec->configured ||
      !(scale_denom == 1 || scale_denom == 2 || scale_denom == 4 || scale_denom == 8) ||
      !(out_kind == MH_OUT_RGB || out_kind == MH_OUT_CMYK)) {
    if (dec != NULL)
      snprintf(dec->err.message, sizeof dec->err.message, "invalid call to mh_jpeg_configure");
    return MH_BAD_CALL;
  }
  if (setjmp(dec->err.jump))
    return dec->err.status;
  dec->cinfo.mem->max_memory_to_use =
      (long)(max_memory > (size_t)LONG_MAX ? (size_t)LONG_MAX : max_memory);
  dec->cinfo.dct_method = JDCT_ISLOW;
  dec->cinfo.do_fancy_upsampling = TRUE;
  dec->cinfo.do_block_smoothing = TRUE;
  dec->cinfo.scale_num = 1;
  dec->cinfo.scale_denom = (unsigned int)scale_denom;
  dec->cinfo.out_color_space = out_kind == MH_OUT_CMYK ? JCS_CMYK : JCS_RGB;
  jpeg_calc_output_dimensions(&dec->cinfo);
  dec->configured = 1;
  fill_header(dec, out);
  return MH_OK;
}

/*
 * Decodes every row into buf, which must be exactly
 * output_width * output_height * output_components bytes (rows packed, no padding).
 * cancel (may be NULL) points to the caller's flag; once it reads non-zero the decode
 * stops at the next row group or iMCU row with MH_CANCELLED.
 */
int mh_jpeg_decode(mh_jpeg_decoder *dec, unsigned char *buf, size_t buf_len,
                   const unsigned char *cancel) {
  if (dec == NULL || buf == NULL || !dec->configured || dec->decoded) {
    if (dec != NULL)
      snprintf(dec->err.message, sizeof dec->err.message, "invalid call to mh_jpeg_decode");
    return MH_BAD_CALL;
  }
  size_t row_len = (size_t)dec->cinfo.output_width * (size_t)dec->cinfo.out_color_components;
  size_t rows = dec->cinfo.output_height;
  if (row_len == 0 || rows > buf_len / row_len || rows * row_len != buf_len) {
    snprintf(dec->err.message, sizeof dec->err.message,
             "output buffer is %zu bytes, expected %zu x %zu", buf_len, rows, row_len);
    return MH_BAD_CALL;
  }
  dec->decoded = 1;
  dec->cancel = cancel;
  if (setjmp(dec->err.jump)) {
    dec->cancel = NULL;
    return dec->err.status;
  }
  jpeg_start_decompress(&dec->cinfo);
  while (dec->cinfo.output_scanline < dec->cinfo.output_height) {
    /* Offer several rows per call: libjpeg may produce up to rec_outbuf_height at once. */
    JSAMPROW row_ptrs[16];
    JDIMENSION first = dec->cinfo.output_scanline;
    JDIMENSION count = dec->cinfo.output_height - first;
    if (count > 16)
      count = 16;
    for (JDIMENSION i = 0; i < count; i++)
      row_ptrs[i] = buf + (size_t)(first + i) * row_len;
    if (jpeg_read_scanlines(&dec->cinfo, row_ptrs, count) == 0) {
      /* Only a suspending data source returns 0 rows; the memory source never does. */
      snprintf(dec->err.message, sizeof dec->err.message, "libjpeg returned no scanline");
      return MH_CORRUPT;
    }
  }
  /* Like Pillow, read on to the EOI marker: an error or a premature end in what follows
   * the last row still fails the decode. */
  jpeg_finish_decompress(&dec->cinfo);
  dec->cancel = NULL;
  return MH_OK;
}

/* Whether libjpeg was built with its SIMD code: mozjpeg-sys defines WITH_SIMD in the
 * jconfig.h it generates when the assembler was found. */
int mh_jpeg_with_simd(void) {
#ifdef WITH_SIMD
  return 1;
#else
  return 0;
#endif
}
