/*
 * Sequential Huffman-coded DCT JPEG (ISO/IEC 10918-1: SOF0 baseline and SOF1 extended, 8 and 12
 * bits, 1 to 4 components, sampling factors 1 to 4 in whole ratios, restart intervals, DNL),
 * freestanding C for WebAssembly with SIMD (no libc: memory comes from a bump heap that grows the
 * instance's memory, and is given back whole at the start of each decode).
 *
 * Samples come out as the decoders it replaces give them (packages/formats/src/jpeg/): the IJG
 * library's accurate integer IDCT (jidctint.c, jpeg_idct_islow), bit for bit, with 2 fractional
 * bits between its passes at 8 bits and 1 at 12; jdsample.c's fancy (triangle) upsampling of 2:1
 * chroma and each sample repeated for other ratios; jdcolor.c's YCbCr to RGB in 16-bit fixed point.
 * Two flavours, which differ only where their references do:
 *   - libjpeg-turbo's (the 8-bit path of libjpeg-turbo.ts): range limiting as its post-IDCT table
 *     does it (the descaled value masked to 10 bits, then clamped), and 1 x 2 chroma, which it
 *     filters (h1v2_fancy_upsample) and this decoder does not, is refused as unsupported;
 *   - IJG 6b's as sequential.ts computes it (its 12-bit path): samples clamped, 1 x 2 chroma
 *     repeated, frames of 0 lines whose height a DNL segment confirms.
 * And lossless JPEG (SOF3: 2 to 16 bits, predictors 1 to 7, point transform, restart intervals,
 * one scan or one per component, DNL) with lossless.ts's samples and refusals.
 * Anything else (progressive, arithmetic, hierarchical, DAC, another precision) is reported
 * unsupported, for the caller to give to its other decoders unchanged.
 *
 * Hostile input: every length is checked against the stream before it is read; the frame must be
 * the size the caller expects before anything is allocated, so the memory used is bounded by that
 * size and the stream's; every loop is bounded by the stream or the frame. Errors return a code,
 * the byte offset and up to six numbers, which the JavaScript wrapper turns into its typed errors.
 * Integer arithmetic wraps (-fwrapv), as the JavaScript decoder's 32-bit arithmetic does.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#include "jpeg.h"

/* ------------------------------------------------------------------ results and errors */

enum {
  OK = 0,
  /* Refusals (the stream is damaged or not what the caller said): see jpeg-wasm.ts. */
  E_NO_SOI = 1,
  E_NO_EOI,
  E_NOT_MARKER,
  E_NO_LENGTH,
  E_SEGMENT_LENGTH,
  E_TWO_FRAMES,
  E_FRAME_MALFORMED,
  E_FRAME_SIZE,
  E_SAMPLING,
  E_DUPLICATE_COMPONENT,
  E_FRACTION,
  E_DQT_MALFORMED,
  E_DHT_CLASS,
  E_DHT_MALFORMED,
  E_DHT_OVERFULL,
  E_DRI_LENGTH,
  E_SCAN_BEFORE_FRAME,
  E_DNL_OUT_OF_PLACE,
  E_MARKER_OUT_OF_PLACE,
  E_NO_FRAME,
  E_COMPONENT_IN_NO_SCAN,
  E_SCAN_MALFORMED,
  E_SCAN_COMPONENT,
  E_SCAN_AGAIN,
  E_NO_HUFFMAN_TABLE,
  E_NO_QUANT_TABLE,
  E_BLOCKS_PER_MCU,
  E_SCAN_ENDS,
  E_RESTART_OVERRAN,
  E_RESTART_MISSING,
  E_ENDS_IN_SCAN,
  E_BAD_CODE,
  E_DC_SIZE,
  E_PAST_64,
  E_DNL_MISSING,
  E_DNL_LENGTH,
  E_DNL_LINES,
  E_ZERO_LINES,
  E_OUT_OF_MEMORY,
  /* Lossless JPEG's (lossless.ts's words). */
  E_NOT_LOSSLESS,
  E_LOSSLESS_PRECISION,
  E_ZERO_WIDTH,
  E_LOSSLESS_SAMPLING,
  E_DIFFERENCE_BITS,
  E_PREDICTOR,
  E_POINT_TRANSFORM,
  E_RESTART_ROWS,
  E_LOSSLESS_ENDS,
  E_NO_SCAN,
  /* Not refusals: what this decoder leaves to the others. */
  U_PROCESS = 100,
  U_PRECISION,
  U_CONDITIONING,
  U_SAMPLING,
  U_COMPONENTS,
  U_DNL,
};

/* What the last call left, read by JavaScript as 16 32-bit words from jd_result(). */
static struct {
  int32_t code;
  int32_t offset;
  int32_t detail[6];
  uint32_t samples; /* address of the interleaved samples: bytes at 8 bits, 16-bit words at 12 */
  int32_t width;
  int32_t height;
  int32_t components;
  int32_t precision;
  int32_t spare[3];
} result;

/* Sets the result's error and returns its code, for `return fail(...)`. */
static int fail(int code, uint32_t offset, int a, int b, int c, int d, int e, int f) {
  result.code = code;
  result.offset = (int32_t)offset;
  result.detail[0] = a;
  result.detail[1] = b;
  result.detail[2] = c;
  result.detail[3] = d;
  result.detail[4] = e;
  result.detail[5] = f;
  return code;
}
#define FAIL(code, offset) fail(code, offset, 0, 0, 0, 0, 0, 0)
#define CHECK(call)        \
  do {                     \
    int status_ = (call);  \
    if (status_ != OK) {   \
      return status_;      \
    }                      \
  } while (0)

/* ------------------------------------------------------------------ memory */

extern unsigned char __heap_base;
static uintptr_t heap_top;

void *heap_take(uint64_t bytes) {
  uintptr_t start = (heap_top + 15) & ~(uintptr_t)15;
  uint64_t end = (uint64_t)start + bytes;
  if (end > 0xffff0000u) {
    return 0;
  }
  uint64_t have = (uint64_t)__builtin_wasm_memory_size(0) << 16;
  if (end > have) {
    uint64_t pages = (end - have + 0xffff) >> 16;
    if (__builtin_wasm_memory_grow(0, (uintptr_t)pages) == (uintptr_t)-1) {
      return 0;
    }
  }
  heap_top = (uintptr_t)end;
  return (void *)start;
}

void heap_reset(void) { heap_top = (uintptr_t)&__heap_base; }

/* Gives back everything taken and returns room for a stream of `length` bytes, for JS to fill. */
EXPORT(jd_input)
uint8_t *jd_input(uint32_t length) {
  heap_reset();
  return (uint8_t *)heap_take((uint64_t)length + 16);
}

EXPORT(jd_result)
void *jd_result(void) { return &result; }

/* ------------------------------------------------------------------ tables and the frame */

#define LOOKAHEAD 10
#define LOOKAHEAD_SIZE (1 << LOOKAHEAD)

const uint8_t ZIGZAG[64] = {
    0,  1,  8,  16, 9,  2,  3,  10, 17, 24, 32, 25, 18, 11, 4,  5,  12, 19, 26, 33, 40, 48,
    41, 34, 27, 20, 13, 6,  7,  14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23,
    30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63};

/* A Huffman table (T.81 C, F.2.2.3) with lookups of 10-bit prefixes. */
typedef struct {
  int is_defined;
  /* `length << 8 | symbol` for each prefix that starts a code of at most 10 bits, else 0. */
  uint16_t lookup[LOOKAHEAD_SIZE];
  /*
   * Each prefix that holds a whole code and the value's bits after it: `value << 8 | run << 4 |
   * bits taken`, else 0 (huffman.ts's `fast`: in a DC table the run is 0; in an AC table a symbol
   * of no bits has value 0, ZRL keeping its run 15 and any other being the end of the block).
   */
  int32_t fast[LOOKAHEAD_SIZE];
  int32_t max_code[18]; /* the largest code of each length, -1 when none */
  int32_t offset[18];   /* index of the first symbol of each length, minus its code */
  uint8_t symbols[256];
} huffman_t;

typedef struct {
  int id, h, v, quant_table;
  int blocks_wide, blocks_high;   /* blocks that carry samples (A.2.2) */
  int sample_width, sample_height; /* A.1.1: ceil(X * h / Hmax) */
  int stride;                      /* whole MCUs of blocks, so interleaved scans fill it */
  uint16_t *plane;
  int is_decoded;
} component_t;

typedef struct {
  const uint8_t *stream;
  uint32_t length;
  int is_turbo;     /* libjpeg-turbo's flavour, else IJG 6b's (see the top) */
  int is_lossless;  /* lossless JPEG (SOF3) as lossless.ts reads it */
  int expected_width, expected_height, expected_count;
  int has_frame, scans;
  uint16_t *work; /* lossless: the samples, interleaved */
  int precision;
  int width, height;
  int count;
  int h_max, v_max;
  int mcus_wide, mcus_high;
  int is_dnl_pending;
  component_t components[4];
  int32_t quant[4][64]; /* zig-zag order */
  int quant_defined[4];
  huffman_t dc[4], ac[4];
  int restart_interval;
  /* APP0 JFIF and APP14 Adobe before the first scan, for libjpeg's guess of the colour space. */
  int has_jfif, has_adobe, adobe_transform, has_scanned;
} decoder_t;

static decoder_t decoder;

static uint32_t be16(const uint8_t *p) { return ((uint32_t)p[0] << 8) | p[1]; }

/* Reads the tables of a DQT segment (T.81 B.2.4.1), 8 or 16 bits each, in zig-zag order. */
static int read_quantization(decoder_t *d, const uint8_t *s, uint32_t length, uint32_t at) {
  uint32_t offset = 0;
  while (offset < length) {
    int wide = s[offset] >> 4;
    int id = s[offset] & 15;
    uint32_t size = wide == 0 ? 64 : 128;
    if (wide > 1 || id > 3 || offset + 1 + size > length) {
      return FAIL(E_DQT_MALFORMED, at);
    }
    for (int k = 0; k < 64; k += 1) {
      d->quant[id][k] = wide == 0 ? s[offset + 1 + k] : (int32_t)be16(s + offset + 1 + 2 * k);
    }
    d->quant_defined[id] = 1;
    offset += 1 + size;
  }
  return OK;
}

/*
 * Fills `fast` for one code of `length` bits at most LOOKAHEAD (huffman.ts's `fast`): each value
 * its bits can have, when they fit the lookahead after the code, gets the prefixes that start
 * with the code and those bits.
 */
static void fill_fast(huffman_t *t, int32_t code, int length, int symbol, int is_dc) {
  int size = is_dc ? symbol : symbol & 15;
  int run = is_dc ? 0 : symbol >> 4;
  if (size > 15 || length + size > LOOKAHEAD) {
    return; /* left to the slow path */
  }
  int spare = LOOKAHEAD - length - size;
  for (int32_t bits = 0; bits < (1 << size); bits += 1) {
    int32_t entry;
    if (size == 0) {
      entry = (run == 15 ? 0xf0 : 0) | length;
    } else {
      int32_t value = bits < (1 << (size - 1)) ? bits - (1 << size) + 1 : bits; /* EXTEND (F.2.2.1) */
      entry = (int32_t)((uint32_t)value << 8) | (run << 4) | (length + size);
    }
    int32_t first = ((code << size) | bits) << spare;
    for (int32_t p = first; p < first + (1 << spare); p += 1) {
      t->fast[p] = entry;
    }
  }
}

/* Reads the tables of a DHT segment (T.81 B.2.4.2): DC (class 0) and AC (class 1), ids 0 to 3. */
static int read_huffman(decoder_t *d, const uint8_t *s, uint32_t length, uint32_t at) {
  uint32_t offset = 0;
  while (offset < length) {
    int table_class = s[offset] >> 4;
    int id = s[offset] & 15;
    /* Lossless JPEG codes differences alone: DC tables (lossless.ts's readHuffmanTables). */
    if (table_class > (d->is_lossless ? 0 : 1) || id > 3) {
      return fail(E_DHT_CLASS, at, table_class, id, 0, 0, 0, 0);
    }
    if (offset + 17 > length) {
      return FAIL(E_DHT_MALFORMED, at);
    }
    const uint8_t *counts = s + offset + 1;
    uint32_t total = 0;
    for (int i = 0; i < 16; i += 1) {
      total += counts[i];
    }
    if (total > (d->is_lossless ? 17u : 256u) || offset + 17 + total > length) {
      return FAIL(E_DHT_MALFORMED, at);
    }
    for (uint32_t i = 0; d->is_lossless && i < total; i += 1) {
      if (s[offset + 17 + i] > 16) {
        return fail(E_DIFFERENCE_BITS, at, s[offset + 17 + i], 0, 0, 0, 0, 0);
      }
    }
    huffman_t *t = table_class == 0 ? &d->dc[id] : &d->ac[id];
    __builtin_memset(t->lookup, 0, sizeof t->lookup);
    __builtin_memset(t->fast, 0, sizeof t->fast);
    __builtin_memset(t->symbols, 0, sizeof t->symbols);
    __builtin_memcpy(t->symbols, s + offset + 17, total);
    t->is_defined = 0;
    int32_t code = 0;
    int32_t index = 0;
    for (int len = 1; len <= 16; len += 1) {
      int count = counts[len - 1];
      t->offset[len] = index - code;
      t->max_code[len] = -1;
      if (code + count > (1 << len)) {
        return FAIL(E_DHT_OVERFULL, at);
      }
      for (int i = 0; i < count; i += 1) {
        if (len <= LOOKAHEAD) {
          int shift = LOOKAHEAD - len;
          uint16_t entry = (uint16_t)((len << 8) | t->symbols[index]);
          for (int32_t p = code << shift, end = (code + 1) << shift; p < end; p += 1) {
            t->lookup[p] = entry;
          }
          fill_fast(t, code, len, t->symbols[index], table_class == 0);
        }
        code += 1;
        index += 1;
      }
      if (count > 0) {
        t->max_code[len] = code - 1;
      }
      code <<= 1;
    }
    t->max_code[17] = 0x7fffffff;
    t->is_defined = 1;
    offset += 17 + total;
  }
  return OK;
}

/*
 * The frame header (T.81 B.2.2), checked against what the caller expects before the planes are
 * allocated: sequential.ts's readFrame.
 */
static int read_frame(decoder_t *d, const uint8_t *s, uint32_t length, uint32_t at, int expected_width,
                      int expected_height, int expected_count) {
  int count = length >= 6 ? s[5] : 0;
  if (length < 6 || count < 1 || count > 4 || length != 6u + 3u * (uint32_t)count) {
    return FAIL(E_FRAME_MALFORMED, at);
  }
  d->precision = s[0];
  if (d->precision != 8 && (d->precision != 12 || d->is_turbo)) {
    return FAIL(U_PRECISION, at);
  }
  int height = (int)be16(s + 1);
  int width = (int)be16(s + 3);
  if (height == 0) {
    if (d->is_turbo) {
      return FAIL(U_DNL, at);
    }
    if (expected_height == 0) {
      return FAIL(E_ZERO_LINES, at);
    }
    height = expected_height;
    d->is_dnl_pending = 1;
  }
  if (width != expected_width || height != expected_height || count != expected_count) {
    return fail(E_FRAME_SIZE, at, width, height, count, 0, 0, 0);
  }
  if (d->is_turbo && count != 1 && count != 3) {
    return FAIL(U_COMPONENTS, at);
  }
  d->width = width;
  d->height = height;
  d->count = count;
  d->h_max = 1;
  d->v_max = 1;
  for (int i = 0; i < count; i += 1) {
    component_t *c = &d->components[i];
    c->id = s[6 + 3 * i];
    c->h = s[7 + 3 * i] >> 4;
    c->v = s[7 + 3 * i] & 15;
    c->quant_table = s[8 + 3 * i];
    c->is_decoded = 0;
    if (c->h < 1 || c->h > 4 || c->v < 1 || c->v > 4 || c->quant_table > 3) {
      return fail(E_SAMPLING, at, i, c->h, c->v, c->quant_table, 0, 0);
    }
    for (int j = 0; j < i; j += 1) {
      if (d->components[j].id == c->id) {
        return fail(E_DUPLICATE_COMPONENT, at, c->id, 0, 0, 0, 0, 0);
      }
    }
    d->h_max = c->h > d->h_max ? c->h : d->h_max;
    d->v_max = c->v > d->v_max ? c->v : d->v_max;
  }
  d->mcus_wide = (width + 8 * d->h_max - 1) / (8 * d->h_max);
  d->mcus_high = (height + 8 * d->v_max - 1) / (8 * d->v_max);
  for (int i = 0; i < count; i += 1) {
    component_t *c = &d->components[i];
    if (d->h_max % c->h != 0 || d->v_max % c->v != 0) {
      return fail(E_FRACTION, at, c->id, c->h, c->v, d->h_max, d->v_max, 0);
    }
    if (d->is_turbo && d->h_max == c->h && d->v_max == 2 * c->v) {
      return FAIL(U_SAMPLING, at); /* libjpeg-turbo filters 1 x 2 chroma: left to it */
    }
  }
  for (int i = 0; i < count; i += 1) {
    component_t *c = &d->components[i];
    c->sample_width = (width * c->h + d->h_max - 1) / d->h_max;
    c->sample_height = (height * c->v + d->v_max - 1) / d->v_max;
    c->blocks_wide = (c->sample_width + 7) / 8;
    c->blocks_high = (c->sample_height + 7) / 8;
    c->stride = d->mcus_wide * c->h * 8;
    uint64_t samples = (uint64_t)c->stride * (uint64_t)(d->mcus_high * c->v * 8);
    c->plane = (uint16_t *)heap_take(samples * 2);
    if (c->plane == 0) {
      return fail(E_OUT_OF_MEMORY, at, (int)(samples * 2 > 0x7fffffff ? 0x7fffffff : samples * 2), 0, 0, 0, 0,
                  0);
    }
  }
  return OK;
}

/* ------------------------------------------------------------------ entropy-coded data */

/*
 * Entropy-coded data read MSB first into 64 bits: 0xFF00 is 0xFF; a marker stops the bytes, and
 * zeros are fed after it, counted, so that reading past the data is detected rather than trusted
 * (huffman.ts's BitReader).
 */
typedef struct {
  const uint8_t *stream;
  uint32_t length;
  uint32_t at;
  uint64_t bits; /* the low `count` bits are unread */
  int count;
  int padding; /* zero bytes fed past a marker or the stream's end */
} reader_t;

/* At least 57 bits unread (some of them padding past the data). */
static void fill(reader_t *r) {
  /*
   * Most of the time the next eight bytes hold no 0xFF (no stuffing, no marker): as many whole
   * bytes as fit are taken from them at once, with what the byte loop below would give.
   */
  if (r->padding == 0 && r->at + 8 <= r->length) {
    uint64_t word;
    __builtin_memcpy(&word, r->stream + r->at, 8);
    uint64_t inverse = ~word; /* a byte of 0xFF is a zero byte here */
    if (((inverse - 0x0101010101010101ull) & ~inverse & 0x8080808080808080ull) == 0) {
      int bytes = (63 - r->count) >> 3; /* 1 to 7: the count stays within 64 */
      word = __builtin_bswap64(word);
      r->bits = (r->bits << (8 * bytes)) | (word >> (64 - 8 * bytes));
      r->count += 8 * bytes;
      r->at += (uint32_t)bytes;
      return;
    }
  }
  while (r->count <= 56) {
    uint32_t byte = 0;
    if (r->padding == 0 && r->at < r->length) {
      byte = r->stream[r->at];
      if (byte == 0xff) {
        uint32_t next = r->at + 1 < r->length ? r->stream[r->at + 1] : 0;
        if (next == 0) {
          r->at += 2;
        } else {
          byte = 0;
          r->padding += 1;
        }
      } else {
        r->at += 1;
      }
    } else {
      r->padding += 1;
    }
    r->bits = (r->bits << 8) | byte;
    r->count += 8;
  }
}

static int overran(const reader_t *r) { return r->padding * 8 > r->count; }

static uint32_t peek(const reader_t *r, int n) {
  return (uint32_t)(r->bits >> (r->count - n)) & ((1u << n) - 1);
}

/* One symbol by the canonical code's limits (F.2.2.3), for codes the lookups do not hold. */
static int decode_symbol(reader_t *r, const huffman_t *t) {
  uint32_t entry = t->lookup[peek(r, LOOKAHEAD)];
  if (entry != 0) {
    r->count -= (int)(entry >> 8);
    return (int)(entry & 0xff);
  }
  int length = LOOKAHEAD + 1;
  int32_t code = (int32_t)peek(r, length);
  while (code > t->max_code[length]) {
    length += 1;
    code = (int32_t)peek(r, length);
  }
  if (length > 16) {
    return -1;
  }
  r->count -= length;
  return t->symbols[(t->offset[length] + code) & 0xff];
}

/* The `size` (1 to 15) bits after a symbol as a signed value (F.2.2.1, EXTEND). */
static int32_t receive_extend(reader_t *r, int size) {
  int32_t value = (int32_t)peek(r, size);
  r->count -= size;
  return value < (1 << (size - 1)) ? value - (1 << size) + 1 : value;
}

/* Drops the bits left in the byte and skips the restart marker expected next (RSTn). */
static int restart(reader_t *r, int expected) {
  if (overran(r)) {
    return FAIL(E_RESTART_OVERRAN, r->at);
  }
  uint32_t at = r->at;
  while (at + 1 < r->length && r->stream[at] == 0xff && r->stream[at + 1] == 0xff) {
    at += 1;
  }
  if (at + 1 >= r->length || r->stream[at] != 0xff || r->stream[at + 1] != 0xd0 + expected) {
    return fail(E_RESTART_MISSING, at, expected, 0, 0, 0, 0, 0);
  }
  r->at = at + 2;
  r->bits = 0;
  r->count = 0;
  r->padding = 0;
  return OK;
}

/* Where the scan's data ends: the next marker other than RSTn (fill bytes skipped). */
static int scan_end(const reader_t *r, uint32_t *end) {
  uint32_t at = r->at;
  while (at + 1 < r->length) {
    if (r->stream[at] == 0xff) {
      uint32_t next = r->stream[at + 1];
      if (next != 0 && next != 0xff && (next < 0xd0 || next > 0xd7)) {
        *end = at;
        return OK;
      }
      at += next == 0xff ? 1 : 2;
    } else {
      at += 1;
    }
  }
  return FAIL(E_ENDS_IN_SCAN, r->at);
}

/* ------------------------------------------------------------------ the inverse DCT */

#define CONST_BITS 13
#define FIX_0_298631336 2446
#define FIX_0_390180644 3196
#define FIX_0_541196100 4433
#define FIX_0_765366865 6270
#define FIX_0_899976223 7373
#define FIX_1_175875602 9633
#define FIX_1_501321110 12299
#define FIX_1_847759065 15137
#define FIX_1_961570560 16069
#define FIX_2_053119869 16819
#define FIX_2_562915447 20995
#define FIX_3_072711026 25172

/* Four 32-bit lanes times a constant. */
#define MUL(v, k) wasm_i32x4_mul((v), wasm_i32x4_splat(k))

/*
 * A descaled sample (before the level shift) as the reference limits it: libjpeg-turbo's post-IDCT
 * table is indexed by the value masked to 10 bits (jdmaster.c prepare_range_limit_table), IJG 6b's
 * as sequential.ts computes it clamps.
 */
static inline int32_t limit(int32_t x, int is_turbo, int center, int max) {
  if (is_turbo) {
    x = ((x + 512) & 1023) - 512;
  }
  x += center;
  return x < 0 ? 0 : x > max ? max : x;
}

/* A block of DC alone: every sample the same (jidctint.c's shortcuts give what the sums do). */
static void fill_block(int32_t dc, int pass1, int is_turbo, int precision, uint16_t *out, int stride) {
  int32_t x = ((dc << pass1) + (1 << (pass1 + 2))) >> (pass1 + 3);
  uint16_t sample = (uint16_t)limit(x, is_turbo, 1 << (precision - 1), (1 << precision) - 1);
  v128_t row = wasm_i16x8_splat((int16_t)sample);
  for (int y = 0; y < 8; y += 1) {
    wasm_v128_store(out + y * stride, row);
  }
}

#ifdef JD_SCALAR_IDCT
/* jidctint.c, one column or row of eight at a time (kept to measure the SIMD one against). */
static void idct_block(const int32_t *in, int is_narrow, int pass1, int is_turbo, int precision,
                       uint16_t *out, int stride) {
  (void)is_narrow;
  int32_t ws[64];
  int shift1 = CONST_BITS - pass1;
  int shift2 = CONST_BITS + pass1 + 3;
  int center = 1 << (precision - 1);
  int max = (1 << precision) - 1;
  for (int pass = 0; pass < 2; pass += 1) {
    const int32_t *src = pass == 0 ? in : ws;
    int step = pass == 0 ? 8 : 1; /* between a column's or row's terms */
    int next = pass == 0 ? 1 : 8; /* between columns or rows */
    int shift = pass == 0 ? shift1 : shift2;
    int32_t round = 1 << (shift - 1);
    for (int i = 0; i < 8; i += 1) {
      const int32_t *p = src + i * next;
      int32_t d0 = p[0], d1 = p[step], d2 = p[2 * step], d3 = p[3 * step];
      int32_t d4 = p[4 * step], d5 = p[5 * step], d6 = p[6 * step], d7 = p[7 * step];
      int32_t z1 = (d2 + d6) * FIX_0_541196100;
      int32_t e2 = z1 - d6 * FIX_1_847759065;
      int32_t e3 = z1 + d2 * FIX_0_765366865;
      int32_t e0 = ((d0 + d4) << CONST_BITS) + round;
      int32_t e1 = ((d0 - d4) << CONST_BITS) + round;
      int32_t t10 = e0 + e3, t13 = e0 - e3, t11 = e1 + e2, t12 = e1 - e2;
      int32_t y1 = d7 + d1, y2 = d5 + d3, y3 = d7 + d3, y4 = d5 + d1;
      int32_t z5 = (y3 + y4) * FIX_1_175875602;
      int32_t za = y1 * -FIX_0_899976223, zb = y2 * -FIX_2_562915447;
      int32_t zc = y3 * -FIX_1_961570560 + z5, zd = y4 * -FIX_0_390180644 + z5;
      int32_t o0 = d7 * FIX_0_298631336 + za + zc;
      int32_t o1 = d5 * FIX_2_053119869 + zb + zd;
      int32_t o2 = d3 * FIX_3_072711026 + zb + zc;
      int32_t o3 = d1 * FIX_1_501321110 + za + zd;
      int32_t r[8] = {t10 + o3, t11 + o2, t12 + o1, t13 + o0, t13 - o0, t12 - o1, t11 - o2, t10 - o3};
      int is_dc = (d1 | d2 | d3 | d4 | d5 | d6 | d7) == 0; /* jidctint.c's shortcut */
      int32_t dc = pass == 0 ? d0 << pass1 : (d0 + (1 << (pass1 + 2))) >> (pass1 + 3);
      for (int k = 0; k < 8; k += 1) {
        int32_t x = is_dc ? dc : r[k] >> shift;
        if (pass == 0) {
          ws[k * 8 + i] = x;
        } else {
          out[i * stride + k] = (uint16_t)limit(x, is_turbo, center, max);
        }
      }
    }
  }
}
#else
/* jidctint.c's last butterfly: outputs k and 7 - k are even[k] plus and minus odd[k], descaled. */
static inline void idct_outputs(v128_t d[8], const v128_t even[4], const v128_t odd[4], int shift) {
  for (int k = 0; k < 4; k += 1) {
    d[k] = wasm_i32x4_shr(wasm_i32x4_add(even[k], odd[k]), shift);
    d[7 - k] = wasm_i32x4_shr(wasm_i32x4_sub(even[k], odd[k]), shift);
  }
}

/* The butterflies of jidctint.c on four columns (or rows) at once, in 32-bit lanes: exact. */
static inline void idct_lanes(v128_t d[8], int shift) {
  v128_t round = wasm_i32x4_splat(1 << (shift - 1));
  v128_t z1 = MUL(wasm_i32x4_add(d[2], d[6]), FIX_0_541196100);
  v128_t e2 = wasm_i32x4_sub(z1, MUL(d[6], FIX_1_847759065));
  v128_t e3 = wasm_i32x4_add(z1, MUL(d[2], FIX_0_765366865));
  v128_t e0 = wasm_i32x4_add(wasm_i32x4_shl(wasm_i32x4_add(d[0], d[4]), CONST_BITS), round);
  v128_t e1 = wasm_i32x4_add(wasm_i32x4_shl(wasm_i32x4_sub(d[0], d[4]), CONST_BITS), round);
  v128_t t10 = wasm_i32x4_add(e0, e3), t13 = wasm_i32x4_sub(e0, e3);
  v128_t t11 = wasm_i32x4_add(e1, e2), t12 = wasm_i32x4_sub(e1, e2);
  v128_t y1 = wasm_i32x4_add(d[7], d[1]), y2 = wasm_i32x4_add(d[5], d[3]);
  v128_t y3 = wasm_i32x4_add(d[7], d[3]), y4 = wasm_i32x4_add(d[5], d[1]);
  v128_t z5 = MUL(wasm_i32x4_add(y3, y4), FIX_1_175875602);
  v128_t za = MUL(y1, -FIX_0_899976223), zb = MUL(y2, -FIX_2_562915447);
  v128_t zc = wasm_i32x4_add(MUL(y3, -FIX_1_961570560), z5);
  v128_t zd = wasm_i32x4_add(MUL(y4, -FIX_0_390180644), z5);
  v128_t o0 = wasm_i32x4_add(MUL(d[7], FIX_0_298631336), wasm_i32x4_add(za, zc));
  v128_t o1 = wasm_i32x4_add(MUL(d[5], FIX_2_053119869), wasm_i32x4_add(zb, zd));
  v128_t o2 = wasm_i32x4_add(MUL(d[3], FIX_3_072711026), wasm_i32x4_add(zb, zc));
  v128_t o3 = wasm_i32x4_add(MUL(d[1], FIX_1_501321110), wasm_i32x4_add(za, zd));
  idct_outputs(d, (v128_t[4]){t10, t11, t12, t13}, (v128_t[4]){o3, o2, o1, o0}, shift);
}

/*
 * idct_lanes when d[4] to d[7] are zero (a block coded in its first four rows and columns): the
 * same sums without their zero terms (e1 is e0, e2 is z1; y1 and y4 are d1, y2 and y3 are d3).
 */
static inline void idct_lanes_narrow(v128_t d[8], int shift) {
  v128_t round = wasm_i32x4_splat(1 << (shift - 1));
  v128_t z1 = MUL(d[2], FIX_0_541196100);
  v128_t e3 = wasm_i32x4_add(z1, MUL(d[2], FIX_0_765366865));
  v128_t e0 = wasm_i32x4_add(wasm_i32x4_shl(d[0], CONST_BITS), round);
  v128_t t10 = wasm_i32x4_add(e0, e3), t13 = wasm_i32x4_sub(e0, e3);
  v128_t t11 = wasm_i32x4_add(e0, z1), t12 = wasm_i32x4_sub(e0, z1);
  v128_t z5 = MUL(wasm_i32x4_add(d[3], d[1]), FIX_1_175875602);
  v128_t za = MUL(d[1], -FIX_0_899976223), zb = MUL(d[3], -FIX_2_562915447);
  v128_t zc = wasm_i32x4_add(MUL(d[3], -FIX_1_961570560), z5);
  v128_t zd = wasm_i32x4_add(MUL(d[1], -FIX_0_390180644), z5);
  v128_t o0 = wasm_i32x4_add(za, zc);
  v128_t o1 = wasm_i32x4_add(zb, zd);
  v128_t o2 = wasm_i32x4_add(MUL(d[3], FIX_3_072711026), wasm_i32x4_add(zb, zc));
  v128_t o3 = wasm_i32x4_add(MUL(d[1], FIX_1_501321110), wasm_i32x4_add(za, zd));
  idct_outputs(d, (v128_t[4]){t10, t11, t12, t13}, (v128_t[4]){o3, o2, o1, o0}, shift);
}

/*
 * One pass over four columns (or rows) in lanes, with jidctint.c's shortcut: lanes whose terms
 * past the first are zero all come out `dc` (a column's d0 << PASS1_BITS, a row's descaled d0),
 * which the sums give too except where hostile coefficients overflow them, so that samples are
 * the reference's whatever the stream. `is_narrow`: d[4] to d[7] are zero.
 */
static inline void idct_pass(v128_t d[8], int is_narrow, int shift, v128_t dc) {
  v128_t terms = wasm_v128_or(wasm_v128_or(d[1], d[2]), d[3]);
  if (!is_narrow) {
    terms = wasm_v128_or(terms, wasm_v128_or(wasm_v128_or(d[4], d[5]), wasm_v128_or(d[6], d[7])));
  }
  v128_t is_dc = wasm_i32x4_eq(terms, wasm_i32x4_splat(0));
  if (is_narrow) {
    idct_lanes_narrow(d, shift);
  } else {
    idct_lanes(d, shift);
  }
  for (int k = 0; k < 8; k += 1) {
    d[k] = wasm_v128_bitselect(dc, d[k], is_dc);
  }
}

/* Transposes the 4 x 4 lanes of a[0..3] in place. */
static inline void transpose4(v128_t *a, v128_t *b, v128_t *c, v128_t *d) {
  v128_t t0 = wasm_i32x4_shuffle(*a, *b, 0, 4, 1, 5);
  v128_t t1 = wasm_i32x4_shuffle(*a, *b, 2, 6, 3, 7);
  v128_t t2 = wasm_i32x4_shuffle(*c, *d, 0, 4, 1, 5);
  v128_t t3 = wasm_i32x4_shuffle(*c, *d, 2, 6, 3, 7);
  *a = wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5);
  *b = wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7);
  *c = wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5);
  *d = wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7);
}

/*
 * jidctint.c on a whole block: columns (four at a time, lanes across), transposed, rows (four at
 * a time), limited, transposed back and stored eight samples a row.
 */
static void idct_block(const int32_t *in, int is_narrow, int pass1, int is_turbo, int precision,
                       uint16_t *out, int stride) {
  v128_t left[8], right[8]; /* columns 0-3 and 4-7 of each row */
  for (int r = 0; r < 8; r += 1) {
    left[r] = wasm_v128_load(in + 8 * r);
    right[r] = wasm_v128_load(in + 8 * r + 4);
  }
  /* Columns 4 to 7 of a narrow block are zero, and so is what the first pass makes of them. */
  idct_pass(left, is_narrow, CONST_BITS - pass1, wasm_i32x4_shl(left[0], pass1));
  if (!is_narrow) {
    idct_pass(right, 0, CONST_BITS - pass1, wasm_i32x4_shl(right[0], pass1));
  }
  /* Rows 0-3 and 4-7 as columns: top[k] is column k of rows 0-3. */
  v128_t top[8], bottom[8];
  for (int h = 0; h < 2; h += 1) {
    v128_t *src = h == 0 ? left : right;
    v128_t a = src[0], b = src[1], c = src[2], d = src[3];
    transpose4(&a, &b, &c, &d);
    top[4 * h] = a, top[4 * h + 1] = b, top[4 * h + 2] = c, top[4 * h + 3] = d;
    a = src[4], b = src[5], c = src[6], d = src[7];
    transpose4(&a, &b, &c, &d);
    bottom[4 * h] = a, bottom[4 * h + 1] = b, bottom[4 * h + 2] = c, bottom[4 * h + 3] = d;
  }
  int shift2 = CONST_BITS + pass1 + 3;
  v128_t half = wasm_i32x4_splat(1 << (pass1 + 2));
  idct_pass(top, is_narrow, shift2, wasm_i32x4_shr(wasm_i32x4_add(top[0], half), pass1 + 3));
  idct_pass(bottom, is_narrow, shift2, wasm_i32x4_shr(wasm_i32x4_add(bottom[0], half), pass1 + 3));
  v128_t center = wasm_i32x4_splat(1 << (precision - 1));
  v128_t max = wasm_i16x8_splat((int16_t)((1 << precision) - 1));
  v128_t wrap = wasm_i32x4_splat(512), mask = wasm_i32x4_splat(1023);
  for (int g = 0; g < 2; g += 1) {
    v128_t *rows = g == 0 ? top : bottom;
    for (int k = 0; k < 8; k += 1) {
      v128_t x = rows[k];
      if (is_turbo) {
        x = wasm_i32x4_sub(wasm_v128_and(wasm_i32x4_add(x, wrap), mask), wrap);
      }
      rows[k] = wasm_i32x4_add(x, center);
    }
    transpose4(&rows[0], &rows[1], &rows[2], &rows[3]);
    transpose4(&rows[4], &rows[5], &rows[6], &rows[7]);
    for (int i = 0; i < 4; i += 1) {
      /* Saturating narrowing clamps below 0; the minimum clamps above the precision's range. */
      v128_t samples = wasm_u16x8_min(wasm_u16x8_narrow_i32x4(rows[i], rows[i + 4]), max);
      wasm_v128_store(out + (4 * g + i) * stride, samples);
    }
  }
}
#endif

/* ------------------------------------------------------------------ scans */

typedef struct {
  int count;
  component_t *components[4];
  const huffman_t *dc[4];
  const huffman_t *ac[4];
  const int32_t *quant[4];
} scan_t;

/* A scan header (T.81 B.2.3): its components and their tables as they are now. */
static int read_scan(decoder_t *d, const uint8_t *s, uint32_t length, uint32_t at, scan_t *scan) {
  int count = length >= 1 ? s[0] : 0;
  if (count < 1 || count > d->count || length != 4u + 2u * (uint32_t)count) {
    return FAIL(E_SCAN_MALFORMED, at);
  }
  int blocks = 0;
  scan->count = count;
  for (int i = 0; i < count; i += 1) {
    int id = s[1 + 2 * i];
    component_t *c = 0;
    for (int j = 0; j < d->count; j += 1) {
      if (d->components[j].id == id) {
        c = &d->components[j];
      }
    }
    for (int j = 0; j < i && c != 0; j += 1) {
      if (scan->components[j] == c) {
        c = 0;
      }
    }
    if (c == 0) {
      return FAIL(E_SCAN_COMPONENT, at);
    }
    if (c->is_decoded) {
      return fail(E_SCAN_AGAIN, at, id, 0, 0, 0, 0, 0);
    }
    const huffman_t *dc = &d->dc[s[2 + 2 * i] >> 4 & 3];
    const huffman_t *ac = &d->ac[s[2 + 2 * i] & 3];
    if ((s[2 + 2 * i] >> 4) > 3 || (s[2 + 2 * i] & 15) > 3 || !dc->is_defined || !ac->is_defined) {
      return FAIL(E_NO_HUFFMAN_TABLE, at);
    }
    if (!d->quant_defined[c->quant_table]) {
      return FAIL(E_NO_QUANT_TABLE, at);
    }
    blocks += c->h * c->v;
    scan->components[i] = c;
    scan->dc[i] = dc;
    scan->ac[i] = ac;
    scan->quant[i] = d->quant[c->quant_table];
  }
  if (count > 1 && blocks > 10) {
    return fail(E_BLOCKS_PER_MCU, at, blocks, 0, 0, 0, 0, 0);
  }
  return OK;
}

/*
 * One block (F.2.2): the DC difference and the AC runs to the end of the block, dequantized into
 * `coefficients` (natural order, zero on entry), then transformed into the plane at `out`; the
 * coefficients are left zero again.
 */
static int decode_block(decoder_t *d, reader_t *r, const huffman_t *dc, const huffman_t *ac,
                        const int32_t *quant, int32_t *prediction, int32_t *coefficients, uint16_t *out,
                        int stride) {
  if (r->count < 32) {
    fill(r);
  }
  int32_t difference;
  int32_t entry = dc->fast[peek(r, LOOKAHEAD)];
  if (entry != 0) {
    r->count -= entry & 15;
    difference = entry >> 8;
  } else {
    int size = decode_symbol(r, dc);
    if (size < 0) {
      return FAIL(E_BAD_CODE, r->at);
    }
    if (size > (d->precision == 8 ? 11 : 15)) {
      return fail(E_DC_SIZE, r->at, size, 0, 0, 0, 0, 0);
    }
    difference = size == 0 ? 0 : receive_extend(r, size);
  }
  *prediction += difference;
  coefficients[0] = *prediction * quant[0];
  int last = 0;
  int wide = 0; /* the natural positions' bits or'ed: row 4 and up sets 32, column 4 and up 4 */
  for (int z = 1; z < 64; z += 1) {
    if (r->count < 32) {
      fill(r);
    }
    entry = ac->fast[peek(r, LOOKAHEAD)];
    if (entry != 0) {
      r->count -= entry & 15;
    } else {
      int symbol = decode_symbol(r, ac);
      if (symbol < 0) {
        return FAIL(E_BAD_CODE, r->at);
      }
      int size = symbol & 15;
      int run = symbol >> 4;
      entry = size == 0 ? (run == 15 ? 0xf0 : 0)
                        : (int32_t)((uint32_t)receive_extend(r, size) << 8) | (run << 4);
    }
    int32_t value = entry >> 8;
    if (value == 0) {
      if ((entry & 0xf0) == 0) {
        break; /* end of block */
      }
      z += 15; /* ZRL: sixteen zeros */
      continue;
    }
    z += (entry >> 4) & 15;
    if (z > 63) {
      return FAIL(E_PAST_64, r->at);
    }
    coefficients[ZIGZAG[z]] = value * quant[z];
    wide |= ZIGZAG[z];
    last = z;
  }
  int pass1 = d->precision == 8 ? 2 : 1;
  if (last == 0) {
    fill_block(coefficients[0], pass1, d->is_turbo, d->precision, out, stride);
  } else {
    idct_block(coefficients, (wide & 0x24) == 0, pass1, d->is_turbo, d->precision, out, stride);
    for (int z = 1; z <= last; z += 1) {
      coefficients[ZIGZAG[z]] = 0;
    }
  }
  coefficients[0] = 0;
  return OK;
}

/*
 * A scan's blocks into their components' planes: one component's in raster order over the blocks
 * that carry samples (A.2.2), an interleaved scan's in whole MCUs; `*at` goes to where its data
 * ends.
 */
static int decode_scan(decoder_t *d, const scan_t *scan, uint32_t *at) {
  reader_t reader = {d->stream, d->length, *at, 0, 0, 0};
  reader_t *r = &reader;
  int32_t predictions[4] = {0, 0, 0, 0};
  __attribute__((aligned(16))) int32_t coefficients[64];
  __builtin_memset(coefficients, 0, sizeof coefficients);
  component_t *single = scan->count == 1 ? scan->components[0] : 0;
  int units_wide = single != 0 ? single->blocks_wide : d->mcus_wide;
  int units_high = single != 0 ? single->blocks_high : d->mcus_high;
  int restarts = 0;
  int until_restart = d->restart_interval;
  for (int uy = 0; uy < units_high; uy += 1) {
    for (int ux = 0; ux < units_wide; ux += 1) {
      if (d->restart_interval != 0) {
        if (until_restart == 0) {
          CHECK(restart(r, restarts % 8));
          restarts += 1;
          predictions[0] = predictions[1] = predictions[2] = predictions[3] = 0;
          until_restart = d->restart_interval;
        }
        until_restart -= 1;
      }
      for (int k = 0; k < scan->count; k += 1) {
        component_t *c = scan->components[k];
        int h = single != 0 ? 1 : c->h;
        int v = single != 0 ? 1 : c->v;
        for (int by = 0; by < v; by += 1) {
          for (int bx = 0; bx < h; bx += 1) {
            uint16_t *out = c->plane + (uy * v + by) * 8 * c->stride + (ux * h + bx) * 8;
            CHECK(decode_block(d, r, scan->dc[k], scan->ac[k], scan->quant[k], &predictions[k],
                               coefficients, out, c->stride));
          }
        }
      }
    }
    if (overran(r)) {
      return fail(E_SCAN_ENDS, r->at, uy, units_high, 0, 0, 0, 0);
    }
  }
  for (int k = 0; k < scan->count; k += 1) {
    scan->components[k]->is_decoded = 1;
  }
  return scan_end(r, at);
}

/* The DNL segment that must follow the first scan of a frame of 0 lines (lines.ts). */
static int read_defined_lines(decoder_t *d, uint32_t *at) {
  const uint8_t *s = d->stream;
  uint32_t p = *at;
  if (p + 1 >= d->length || s[p] != 0xff || s[p + 1] != 0xdc) {
    return FAIL(E_DNL_MISSING, p);
  }
  if (p + 6 > d->length || be16(s + p + 2) != 4) {
    return FAIL(E_DNL_LENGTH, p);
  }
  uint32_t lines = be16(s + p + 4);
  if ((int)lines != d->height) {
    return fail(E_DNL_LINES, p, (int)lines, d->height, 0, 0, 0, 0);
  }
  *at = p + 6;
  return OK;
}

/* Notes APP0 JFIF and APP14 Adobe as libjpeg's jdmarker.c does (examine_app0, examine_app14). */
static void note_app(decoder_t *d, int marker, const uint8_t *s, uint32_t length) {
  if (d->has_scanned) {
    return;
  }
  if (marker == 0xe0 && length >= 14 && s[0] == 'J' && s[1] == 'F' && s[2] == 'I' && s[3] == 'F' &&
      s[4] == 0) {
    d->has_jfif = 1;
  }
  if (marker == 0xee && length >= 12 && s[0] == 'A' && s[1] == 'd' && s[2] == 'o' && s[3] == 'b' &&
      s[4] == 'e') {
    d->has_adobe = 1;
    d->adobe_transform = s[11];
  }
}

/*
 * A segment of a sequential stream (sequential.ts's decodeJpegSequential): `*next` is where the
 * stream goes on, the segment's end unless it is a scan's header.
 */
static int read_sequential_segment(decoder_t *d, int marker, const uint8_t *segment, uint32_t size,
                                   uint32_t at, uint32_t *next) {
  if (marker == 0xc0 || marker == 0xc1) {
    if (d->has_frame) {
      return FAIL(E_TWO_FRAMES, at);
    }
    CHECK(read_frame(d, segment, size, at, d->expected_width, d->expected_height, d->expected_count));
    d->has_frame = 1;
  } else if (marker >= 0xc2 && marker <= 0xcf && marker != 0xc4) {
    /* Progressive, lossless, hierarchical, arithmetic coding and its conditioning (DAC). */
    return fail(marker == 0xcc ? U_CONDITIONING : U_PROCESS, at, marker, 0, 0, 0, 0, 0);
  } else if (marker == 0xc4) {
    CHECK(read_huffman(d, segment, size, at));
  } else if (marker == 0xdb) {
    CHECK(read_quantization(d, segment, size, at));
  } else if (marker == 0xda) {
    if (!d->has_frame) {
      return FAIL(E_SCAN_BEFORE_FRAME, at);
    }
    scan_t scan;
    CHECK(read_scan(d, segment, size, at, &scan));
    d->has_scanned = 1;
    CHECK(decode_scan(d, &scan, next));
    if (d->is_dnl_pending) {
      CHECK(read_defined_lines(d, next));
      d->is_dnl_pending = 0;
    }
  } else if (marker == 0xdc) {
    return FAIL(E_DNL_OUT_OF_PLACE, at);
  } else if (marker >= 0xd0 && marker <= 0xd8) {
    return fail(E_MARKER_OUT_OF_PLACE, at, marker, 0, 0, 0, 0, 0);
  } else if (marker == 0xe0 || marker == 0xee) {
    note_app(d, marker, segment, size);
  }
  return OK;
}

static int read_lossless_segment(decoder_t *d, int marker, const uint8_t *segment, uint32_t size,
                                 uint32_t at, uint32_t *next);

/*
 * The markers of the stream, each segment read by its process's reader (scans decoded as they
 * come), then what must have come.
 */
static int read_stream(decoder_t *d) {
  const uint8_t *s = d->stream;
  uint32_t n = d->length;
  if (n < 4 || s[0] != 0xff || s[1] != 0xd8) {
    return FAIL(E_NO_SOI, 0);
  }
  uint32_t at = 2;
  for (;;) {
    if (at + 2 > n) {
      return FAIL(E_NO_EOI, at);
    }
    if (s[at] != 0xff) {
      return FAIL(E_NOT_MARKER, at);
    }
    int marker = s[at + 1];
    if (marker == 0xff) {
      at += 1;
      continue;
    }
    if (marker == 0xd9) {
      break;
    }
    if (at + 4 > n) {
      return FAIL(E_NO_LENGTH, at);
    }
    uint32_t length = be16(s + at + 2);
    uint32_t next = at + 2 + length;
    if (length < 2 || next > n) {
      return fail(E_SEGMENT_LENGTH, at, (int)length, 0, 0, 0, 0, 0);
    }
    const uint8_t *segment = s + at + 4;
    if (marker == 0xdd) {
      if (length != 4) {
        return FAIL(E_DRI_LENGTH, at);
      }
      d->restart_interval = (int)be16(segment);
    } else if (d->is_lossless) {
      CHECK(read_lossless_segment(d, marker, segment, length - 2, at, &next));
    } else {
      CHECK(read_sequential_segment(d, marker, segment, length - 2, at, &next));
    }
    at = next;
  }
  if (d->is_lossless) {
    return d->has_frame && d->scans > 0 ? OK : FAIL(E_NO_SCAN, at);
  }
  if (!d->has_frame) {
    return FAIL(E_NO_FRAME, at);
  }
  for (int i = 0; i < d->count; i += 1) {
    if (!d->components[i].is_decoded) {
      return fail(E_COMPONENT_IN_NO_SCAN, at, d->components[i].id, 0, 0, 0, 0, 0);
    }
  }
  return OK;
}

/* ------------------------------------------------------------------ lossless JPEG */

/*
 * A lossless frame header (T.81 B.2.2; lossless.ts's readFrame): 2 to 16 bits, components sampled
 * 1 x 1, checked against what the caller expects before its samples are allocated.
 */
static int read_lossless_frame(decoder_t *d, const uint8_t *s, uint32_t length, uint32_t at) {
  int count = length >= 6 ? s[5] : 0;
  if (length < 6 || count < 1 || count > 4 || length != 6u + 3u * (uint32_t)count) {
    return FAIL(E_FRAME_MALFORMED, at);
  }
  int height = (int)be16(s + 1);
  int width = (int)be16(s + 3);
  if (height == 0) {
    if (d->expected_height == 0) {
      return FAIL(E_ZERO_LINES, at);
    }
    height = d->expected_height;
    d->is_dnl_pending = 1;
  }
  d->precision = s[0];
  if (d->precision < 2 || d->precision > 16) {
    return fail(E_LOSSLESS_PRECISION, at, d->precision, 0, 0, 0, 0, 0);
  }
  if (width == 0) {
    return fail(E_ZERO_WIDTH, at, width, height, 0, 0, 0, 0);
  }
  for (int i = 0; i < count; i += 1) {
    int sampling = s[7 + 3 * i];
    if (sampling != 0x11) {
      return fail(E_LOSSLESS_SAMPLING, at, i, sampling >> 4, sampling & 15, 0, 0, 0);
    }
    d->components[i].id = s[6 + 3 * i];
  }
  if (width != d->expected_width || height != d->expected_height || count != d->expected_count) {
    return fail(E_FRAME_SIZE, at, width, height, count, 0, 0, 0);
  }
  d->width = width;
  d->height = height;
  d->count = count;
  uint64_t samples = (uint64_t)width * (uint64_t)height * (uint64_t)count;
  d->work = (uint16_t *)heap_take(samples * 2);
  if (d->work == 0) {
    return fail(E_OUT_OF_MEMORY, at, (int)(samples * 2 > 0x7fffffff ? 0x7fffffff : samples * 2), 0, 0, 0, 0, 0);
  }
  /*
   * Zeros, as lossless.ts's: a component that no scan codes comes out 0, never what an earlier
   * call left in this memory.
   */
  __builtin_memset(d->work, 0, (uint32_t)(samples * 2));
  return OK;
}

/* A lossless scan header (lossless.ts's readScan): components, tables, predictor, transform. */
typedef struct {
  int count;
  int components[4]; /* frame indices */
  const huffman_t *tables[4];
  int predictor;
  int point_transform;
} lossless_scan_t;

static int read_lossless_scan(decoder_t *d, const uint8_t *s, uint32_t length, uint32_t at,
                              lossless_scan_t *scan) {
  int count = length >= 1 ? s[0] : 0;
  if (count < 1 || count > d->count || length != 4u + 2u * (uint32_t)count) {
    return FAIL(E_SCAN_MALFORMED, at);
  }
  scan->count = count;
  for (int i = 0; i < count; i += 1) {
    int index = -1;
    for (int j = d->count - 1; j >= 0; j -= 1) {
      index = d->components[j].id == s[1 + 2 * i] ? j : index;
    }
    for (int j = 0; j < i && index >= 0; j += 1) {
      index = scan->components[j] == index ? -1 : index;
    }
    int table = s[2 + 2 * i] >> 4;
    if (index < 0) {
      return FAIL(E_SCAN_COMPONENT, at);
    }
    if (table > 3 || !d->dc[table].is_defined) {
      return FAIL(E_NO_HUFFMAN_TABLE, at);
    }
    scan->components[i] = index;
    scan->tables[i] = &d->dc[table];
  }
  scan->predictor = s[1 + 2 * count];
  scan->point_transform = s[3 + 2 * count] & 15;
  if (scan->predictor < 1 || scan->predictor > 7) {
    return fail(E_PREDICTOR, at, scan->predictor, 0, 0, 0, 0, 0);
  }
  if (scan->point_transform >= d->precision) {
    return fail(E_POINT_TRANSFORM, at, scan->point_transform, 0, 0, 0, 0, 0);
  }
  return OK;
}

/* One difference (H.1.2.2): from the lookup, or a symbol then its bits; SSSS 16 is 32768. */
static inline int lossless_difference(reader_t *r, const huffman_t *t, int32_t *difference) {
  if (r->count < 32) {
    fill(r);
  }
  int32_t entry = t->fast[peek(r, LOOKAHEAD)];
  if (entry != 0) {
    r->count -= entry & 15;
    *difference = entry >> 8;
    return OK;
  }
  int size = decode_symbol(r, t);
  if (size < 0) {
    return FAIL(E_BAD_CODE, r->at);
  }
  /* The tables hold sizes of 16 bits at most (read_huffman). */
  *difference = size == 0 ? 0 : size == 16 ? 32768 : receive_extend(r, size);
  return OK;
}

/* T.81 Table H.1's predictors (Ra left, Rb above, Rc above left). */
static inline int32_t predict(int predictor, int32_t a, int32_t b, int32_t c) {
  switch (predictor) {
  case 1:
    return a;
  case 2:
    return b;
  case 3:
    return c;
  case 4:
    return a + b - c;
  case 5:
    return a + ((b - c) >> 1);
  case 6:
    return b + ((a - c) >> 1);
  default:
    return (a + b) >> 1;
  }
}

/*
 * A lossless scan's samples (before the point transform's shift) into the work samples (lossless.ts's
 * decodeScan): the first sample of the image and of each restart interval predicted as
 * 2^(P - Pt - 1), the rest of that first row from the left, the first of a row from above.
 */
static int decode_lossless_scan(decoder_t *d, const lossless_scan_t *scan, uint32_t *at) {
  int width = d->width, height = d->height, stride = d->count;
  int row = width * stride;
  int32_t initial = 1 << (d->precision - scan->point_transform - 1);
  if (d->restart_interval != 0 && d->restart_interval % width != 0) {
    return fail(E_RESTART_ROWS, *at, d->restart_interval, width, 0, 0, 0, 0);
  }
  int rows_per_interval = d->restart_interval == 0 ? height : d->restart_interval / width;
  reader_t reader = {d->stream, d->length, *at, 0, 0, 0};
  reader_t *r = &reader;
  uint16_t *work = d->work;
  int restarts = 0;
  for (int y = 0; y < height; y += 1) {
    int first = y == 0;
    if (y != 0 && y % rows_per_interval == 0) {
      CHECK(restart(r, restarts % 8));
      restarts += 1;
      first = 1;
    }
    uint16_t *line = work + (uint64_t)y * (uint64_t)row;
    for (int k = 0; k < scan->count; k += 1) {
      int c = scan->components[k];
      int32_t difference;
      CHECK(lossless_difference(r, scan->tables[k], &difference));
      line[c] = (uint16_t)((first ? initial : line[c - row]) + difference);
    }
    int is_from_left = first || scan->predictor == 1;
    for (int x = 1; x < width; x += 1) {
      for (int k = 0; k < scan->count; k += 1) {
        int i = x * stride + scan->components[k];
        int32_t a = line[i - stride];
        int32_t prediction = is_from_left ? a : predict(scan->predictor, a, line[i - row], line[i - row - stride]);
        int32_t difference;
        CHECK(lossless_difference(r, scan->tables[k], &difference));
        line[i] = (uint16_t)(prediction + difference);
      }
    }
    if (overran(r)) {
      return fail(E_LOSSLESS_ENDS, r->at, y, height, 0, 0, 0, 0);
    }
  }
  /* The point transform's low bits come back as zeros, in this scan's components. */
  if (scan->point_transform != 0) {
    uint64_t samples = (uint64_t)row * (uint64_t)height;
    for (uint64_t i = 0; i < samples; i += (uint64_t)stride) {
      for (int k = 0; k < scan->count; k += 1) {
        uint16_t *sample = work + i + scan->components[k];
        *sample = (uint16_t)(*sample << scan->point_transform);
      }
    }
  }
  return scan_end(r, at);
}

/* A segment of a lossless stream (lossless.ts's decodeJpegLossless skips the markers it does not read). */
static int read_lossless_segment(decoder_t *d, int marker, const uint8_t *segment, uint32_t size,
                                 uint32_t at, uint32_t *next) {
  if (marker == 0xc3) {
    if (d->has_frame) {
      return FAIL(E_TWO_FRAMES, at);
    }
    CHECK(read_lossless_frame(d, segment, size, at));
    d->has_frame = 1;
  } else if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xcc) {
    return fail(E_NOT_LOSSLESS, at, marker, 0, 0, 0, 0, 0);
  } else if (marker == 0xc4) {
    CHECK(read_huffman(d, segment, size, at));
  } else if (marker == 0xda) {
    if (!d->has_frame) {
      return FAIL(E_SCAN_BEFORE_FRAME, at);
    }
    lossless_scan_t scan;
    CHECK(read_lossless_scan(d, segment, size, at, &scan));
    CHECK(decode_lossless_scan(d, &scan, next));
    d->scans += 1;
    if (d->is_dnl_pending) {
      CHECK(read_defined_lines(d, next));
      d->is_dnl_pending = 0;
    }
  }
  return OK;
}

/* The lossless samples: as they are above 8 bits, else narrowed to bytes. */
static int present_lossless(decoder_t *d) {
  uint64_t size = (uint64_t)d->width * (uint64_t)d->height * (uint64_t)d->count;
  if (d->precision > 8) {
    result.samples = (uint32_t)(uintptr_t)d->work;
    return OK;
  }
  uint8_t *samples = (uint8_t *)heap_take(size);
  if (samples == 0) {
    return fail(E_OUT_OF_MEMORY, 0, (int)(size > 0x7fffffff ? 0x7fffffff : size), 0, 0, 0, 0, 0);
  }
  /* The low byte of each, as lossless.ts's Uint8Array.set keeps it (damaged data can carry). */
  uint64_t i = 0;
  v128_t low = wasm_i16x8_splat(0xff);
  for (; i + 16 <= size; i += 16) {
    v128_t first = wasm_v128_and(wasm_v128_load(d->work + i), low);
    v128_t second = wasm_v128_and(wasm_v128_load(d->work + i + 8), low);
    wasm_v128_store(samples + i, wasm_u8x16_narrow_i16x8(first, second));
  }
  for (; i < size; i += 1) {
    samples[i] = (uint8_t)d->work[i];
  }
  result.samples = (uint32_t)(uintptr_t)samples;
  return OK;
}

/* ------------------------------------------------------------------ upsampling and colour */

/*
 * The inner samples of a triangle filter across (jdsample.c): for each input i from 1 to width - 2,
 * (3 in[i] + in[i - 1] + even_round) >> shift and (3 in[i] + in[i + 1] + odd_round) >> shift; eight
 * inputs at a time in 16-bit lanes, which the sums fit (at most 4 x 16380 + 8 at 12 bits).
 */
static void fancy_inner(const uint16_t *in, int width, uint16_t *out, int even_round, int odd_round,
                        int shift) {
  int i = 1;
  v128_t even_add = wasm_i16x8_splat((int16_t)even_round);
  v128_t odd_add = wasm_i16x8_splat((int16_t)odd_round);
  for (; i + 8 < width; i += 8) {
    v128_t value = wasm_v128_load(in + i);
    v128_t triple = wasm_i16x8_add(wasm_i16x8_add(value, value), value);
    v128_t even = wasm_u16x8_shr(wasm_i16x8_add(wasm_i16x8_add(triple, wasm_v128_load(in + i - 1)), even_add), shift);
    v128_t odd = wasm_u16x8_shr(wasm_i16x8_add(wasm_i16x8_add(triple, wasm_v128_load(in + i + 1)), odd_add), shift);
    wasm_v128_store(out + 2 * i, wasm_i16x8_shuffle(even, odd, 0, 8, 1, 9, 2, 10, 3, 11));
    wasm_v128_store(out + 2 * i + 8, wasm_i16x8_shuffle(even, odd, 4, 12, 5, 13, 6, 14, 7, 15));
  }
  for (; i < width - 1; i += 1) {
    int value = in[i] * 3;
    out[2 * i] = (uint16_t)((value + in[i - 1] + even_round) >> shift);
    out[2 * i + 1] = (uint16_t)((value + in[i + 1] + odd_round) >> shift);
  }
}

/*
 * jdsample.c h2v1_fancy_upsample: each output sample 3/4 of the nearer input, 1/4 of the farther,
 * the two at the ends copied; `width` (more than 2) inputs make 2 x `width`.
 */
static void upsample_h2v1(const uint16_t *in, int width, uint16_t *out) {
  out[0] = in[0];
  out[1] = (uint16_t)((in[0] * 3 + in[1] + 2) >> 2);
  fancy_inner(in, width, out, 1, 2, 2);
  out[2 * width - 2] = (uint16_t)((in[width - 1] * 3 + in[width - 2] + 1) >> 2);
  out[2 * width - 1] = in[width - 1];
}

/*
 * jdsample.c h2v2_fancy_upsample: each column's nearer row 3/4 and farther 1/4, then the same
 * across, in sixteenths; `sums` holds the column sums (width entries, and room for 8 more).
 */
static void upsample_h2v2(const uint16_t *near, const uint16_t *far, int width, uint16_t *sums,
                          uint16_t *out) {
  for (int i = 0; i < width; i += 8) {
    v128_t value = wasm_v128_load(near + i);
    v128_t triple = wasm_i16x8_add(wasm_i16x8_add(value, value), value);
    wasm_v128_store(sums + i, wasm_i16x8_add(triple, wasm_v128_load(far + i)));
  }
  out[0] = (uint16_t)((sums[0] * 4 + 8) >> 4);
  out[1] = (uint16_t)((sums[0] * 3 + sums[1] + 7) >> 4);
  fancy_inner(sums, width, out, 8, 7, 4);
  out[2 * width - 2] = (uint16_t)((sums[width - 1] * 3 + sums[width - 2] + 8) >> 4);
  out[2 * width - 1] = (uint16_t)((sums[width - 1] * 4 + 7) >> 4);
}

/* A component's row `y` at the frame's width: its plane's row, or one upsampled into `row`. */
static const uint16_t *component_row(const decoder_t *d, const component_t *c, int y, uint16_t *row,
                                     uint16_t *sums) {
  int across = d->h_max / c->h;
  int down = d->v_max / c->v;
  if (across == 1 && down == 1) {
    return c->plane + y * c->stride;
  }
  int is_fancy = across == 2 && (down == 1 || down == 2) && c->sample_width > 2;
  if (!is_fancy) {
    const uint16_t *in = c->plane + (y / down) * c->stride;
    for (int i = 0, o = 0; i < c->sample_width; i += 1) {
      for (int k = 0; k < across; k += 1, o += 1) {
        row[o] = in[i];
      }
    }
    return row;
  }
  if (down == 1) {
    upsample_h2v1(c->plane + y * c->stride, c->sample_width, row);
    return row;
  }
  /* The nearer row 3/4, the farther 1/4; rows past the edges are the edge rows (jdmainct.c). */
  int in_y = y >> 1;
  int far_y = (y & 1) == 0 ? in_y - 1 : in_y + 1;
  far_y = far_y < 0 ? 0 : far_y > c->sample_height - 1 ? c->sample_height - 1 : far_y;
  upsample_h2v2(c->plane + in_y * c->stride, c->plane + far_y * c->stride, c->sample_width, sums, row);
  return row;
}

/* jdcolor.c's constants: FIX(x) = x * 2^16 rounded. */
#define FIX_1_40200 91881
#define FIX_1_77200 116130
#define FIX_0_71414 46802
#define FIX_0_34414 22554

static inline int32_t clamp(int32_t x, int32_t max) { return x < 0 ? 0 : x > max ? max : x; }

/*
 * One pixel of YCbCr (T.871, full range) to RGB as jdcolor.c's tables give it: the same sums,
 * made here rather than looked up.
 */
static inline void convert_pixel(int32_t y, int32_t cb, int32_t cr, int center, int max, int32_t rgb[3]) {
  cb -= center;
  cr -= center;
  rgb[0] = clamp(y + ((FIX_1_40200 * cr + 32768) >> 16), max);
  rgb[1] = clamp(y + ((-FIX_0_34414 * cb + 32768 - FIX_0_71414 * cr) >> 16), max);
  rgb[2] = clamp(y + ((FIX_1_77200 * cb + 32768) >> 16), max);
}

/* Eight pixels' R, G and B (16-bit lanes, at most 255) stored as 24 interleaved bytes. */
static inline void store_rgb8(uint8_t *out, v128_t r, v128_t g, v128_t b) {
  v128_t rg = wasm_u8x16_narrow_i16x8(r, g); /* r0..r7 g0..g7 */
  v128_t bb = wasm_u8x16_narrow_i16x8(b, b); /* b0..b7 twice */
  v128_t first = wasm_i8x16_shuffle(rg, bb, 0, 8, 16, 1, 9, 17, 2, 10, 18, 3, 11, 19, 4, 12, 20, 5);
  v128_t rest = wasm_i8x16_shuffle(rg, bb, 13, 21, 6, 14, 22, 7, 15, 23, 0, 0, 0, 0, 0, 0, 0, 0);
  wasm_v128_store(out, first);
  wasm_v128_store64_lane(out + 16, rest, 0);
}

/* One half (four lanes) of a colour sum: y + ((k1 * a + k2 * b + 32768) >> 16), in 32 bits. */
static inline v128_t colour_lanes(v128_t y, v128_t a, int32_t k1, v128_t b, int32_t k2) {
  v128_t sum = wasm_i32x4_add(MUL(a, k1), wasm_i32x4_splat(32768));
  if (k2 != 0) {
    sum = wasm_i32x4_add(sum, MUL(b, k2));
  }
  return wasm_i32x4_add(y, wasm_i32x4_shr(sum, 16));
}

/* Eight pixels' colour sums of both halves, clamped to 0 .. 255 in 16-bit lanes. */
static inline v128_t colour8(v128_t y[2], v128_t a[2], int32_t k1, v128_t b[2], int32_t k2) {
  v128_t low = colour_lanes(y[0], a[0], k1, b[0], k2);
  v128_t high = colour_lanes(y[1], a[1], k1, b[1], k2);
  return wasm_u16x8_min(wasm_u16x8_narrow_i32x4(low, high), wasm_i16x8_splat(255));
}

/* Eight 16-bit samples from `p` as two halves of 32-bit lanes, less `center`. */
static inline void widen(const uint16_t *p, int32_t center, v128_t out[2]) {
  v128_t v = wasm_v128_load(p);
  out[0] = wasm_i32x4_sub(wasm_u32x4_extend_low_u16x8(v), wasm_i32x4_splat(center));
  out[1] = wasm_i32x4_sub(wasm_u32x4_extend_high_u16x8(v), wasm_i32x4_splat(center));
}

/* A row of 8-bit YCbCr to interleaved RGB, eight pixels at a time. */
static void convert_row8(const uint16_t *luma, const uint16_t *blue, const uint16_t *red, int width,
                         uint8_t *out) {
  int x = 0;
  for (; x + 8 <= width; x += 8) {
    v128_t y[2], cb[2], cr[2];
    widen(luma + x, 0, y);
    widen(blue + x, 128, cb);
    widen(red + x, 128, cr);
    v128_t r = colour8(y, cr, FIX_1_40200, cr, 0);
    v128_t g = colour8(y, cb, -FIX_0_34414, cr, -FIX_0_71414);
    v128_t b = colour8(y, cb, FIX_1_77200, cb, 0);
    store_rgb8(out + 3 * x, r, g, b);
  }
  for (; x < width; x += 1) {
    int32_t rgb[3];
    convert_pixel(luma[x], blue[x], red[x], 128, 255, rgb);
    out[3 * x] = (uint8_t)rgb[0];
    out[3 * x + 1] = (uint8_t)rgb[1];
    out[3 * x + 2] = (uint8_t)rgb[2];
  }
}

/* A row of three 8-bit components interleaved as they are, eight pixels at a time. */
static void interleave_row8(const uint16_t *c0, const uint16_t *c1, const uint16_t *c2, int width,
                            uint8_t *out) {
  int x = 0;
  for (; x + 8 <= width; x += 8) {
    store_rgb8(out + 3 * x, wasm_v128_load(c0 + x), wasm_v128_load(c1 + x), wasm_v128_load(c2 + x));
  }
  for (; x < width; x += 1) {
    out[3 * x] = (uint8_t)c0[x];
    out[3 * x + 1] = (uint8_t)c1[x];
    out[3 * x + 2] = (uint8_t)c2[x];
  }
}

/* A row of one 8-bit component, sixteen samples at a time. */
static void copy_row8(const uint16_t *in, int width, uint8_t *out) {
  int x = 0;
  for (; x + 16 <= width; x += 16) {
    wasm_v128_store(out + x, wasm_u8x16_narrow_i16x8(wasm_v128_load(in + x), wasm_v128_load(in + x + 8)));
  }
  for (; x < width; x += 1) {
    out[x] = (uint8_t)in[x];
  }
}

/* A row of any precision and count: converted from YCbCr, or interleaved as coded. */
static void present_row(const uint16_t *const *source, int count, int is_ycbcr, int width, int precision,
                        uint8_t *out8, uint16_t *out16) {
  if (is_ycbcr) {
    int max = (1 << precision) - 1;
    for (int x = 0; x < width; x += 1) {
      int32_t rgb[3];
      convert_pixel(source[0][x], source[1][x], source[2][x], 1 << (precision - 1), max, rgb);
      for (int i = 0; i < 3; i += 1) {
        if (out8 != 0) {
          out8[3 * x + i] = (uint8_t)rgb[i];
        } else {
          out16[3 * x + i] = (uint16_t)rgb[i];
        }
      }
    }
    return;
  }
  if (out16 != 0 && count == 1) {
    __builtin_memcpy(out16, source[0], (uint32_t)width * 2);
    return;
  }
  for (int i = 0; i < count; i += 1) {
    const uint16_t *in = source[i];
    if (out8 != 0) {
      for (int x = 0; x < width; x += 1) {
        out8[x * count + i] = (uint8_t)in[x];
      }
    } else {
      for (int x = 0; x < width; x += 1) {
        out16[x * count + i] = in[x];
      }
    }
  }
}

/* The frame's samples, interleaved at full size, a row at a time (sequential.ts's `present`). */
static int present(decoder_t *d, int is_ycbcr) {
  int width = d->width, count = d->count;
  uint64_t size = (uint64_t)width * (uint64_t)d->height * (uint64_t)count;
  int is_wide = d->precision != 8;
  if (is_wide && count == 1 && d->components[0].stride == width) {
    /* One component whose plane's rows are the image's: its first rows are the samples. */
    result.samples = (uint32_t)(uintptr_t)d->components[0].plane;
    return OK;
  }
  void *samples = heap_take(size * (is_wide ? 2 : 1));
  /* Rows for each upsampled component: whole groups, so the filters need not stop at the width. */
  uint16_t *rows[4];
  uint16_t *sums = (uint16_t *)heap_take((uint64_t)d->width * 2 + 32);
  for (int i = 0; i < count; i += 1) {
    rows[i] = (uint16_t *)heap_take((uint64_t)(d->components[i].sample_width + 1) * 4 * 2 + 16);
    if (rows[i] == 0) {
      samples = 0;
    }
  }
  if (samples == 0 || sums == 0) {
    return fail(E_OUT_OF_MEMORY, 0, (int)(size > 0x3fffffff ? 0x3fffffff : size), 0, 0, 0, 0, 0);
  }
  for (int y = 0; y < d->height; y += 1) {
    const uint16_t *source[4];
    for (int i = 0; i < count; i += 1) {
      source[i] = component_row(d, &d->components[i], y, rows[i], sums);
    }
    uint64_t start = (uint64_t)y * (uint64_t)width * (uint64_t)count;
    uint8_t *out8 = is_wide ? 0 : (uint8_t *)samples + start;
    uint16_t *out16 = is_wide ? (uint16_t *)samples + start : 0;
    if (out8 != 0 && count == 1) {
      copy_row8(source[0], width, out8);
    } else if (out8 != 0 && count == 3 && is_ycbcr) {
      convert_row8(source[0], source[1], source[2], width, out8);
    } else if (out8 != 0 && count == 3) {
      interleave_row8(source[0], source[1], source[2], width, out8);
    } else {
      present_row(source, count, is_ycbcr, width, d->precision, out8, out16);
    }
  }
  result.samples = (uint32_t)(uintptr_t)samples;
  return OK;
}

/* ------------------------------------------------------------------ the call */

/* What `colour` asks: the components as coded, converted from YCbCr, or as libjpeg guesses. */
enum { COLOUR_AS_CODED = 0, COLOUR_YCBCR = 1, COLOUR_AUTO = 2 };

/* jdapimin.c default_decompress_parms for three components: YCbCr unless marked or named RGB. */
static int guesses_ycbcr(const decoder_t *d) {
  if (d->has_jfif) {
    return 1;
  }
  if (d->has_adobe) {
    return d->adobe_transform != 0;
  }
  const component_t *c = d->components;
  return !(c[0].id == 82 && c[1].id == 71 && c[2].id == 66);
}

/*
 * Decodes the `length` bytes given to jd_input to a frame that must be `width` x `height` x
 * `count`; `flags` bit 0-1 the colour (above), bit 2 libjpeg-turbo's flavour, bit 3 lossless JPEG
 * (SOF3) instead of sequential. Returns the result's
 * code (0: its samples are ready).
 */
EXPORT(jd_decode)
int jd_decode(uint32_t length, int width, int height, int count, int flags) {
  decoder_t *d = &decoder;
  __builtin_memset(d, 0, sizeof *d);
  __builtin_memset(&result, 0, sizeof result);
  d->stream = (const uint8_t *)(((uintptr_t)&__heap_base + 15) & ~(uintptr_t)15);
  d->length = length;
  d->is_turbo = (flags >> 2) & 1;
  d->is_lossless = (flags >> 3) & 1;
  d->expected_width = width;
  d->expected_height = height;
  d->expected_count = count;
  CHECK(read_stream(d));
  if (d->is_lossless) {
    CHECK(present_lossless(d));
    result.width = d->width;
    result.height = d->height;
    result.components = d->count;
    result.precision = d->precision;
    return OK;
  }
  int colour = flags & 3;
  int is_ycbcr = d->count == 3 && (colour == COLOUR_YCBCR || (colour == COLOUR_AUTO && guesses_ycbcr(d)));
  CHECK(present(d, is_ycbcr));
  result.width = d->width;
  result.height = d->height;
  result.components = d->count;
  result.precision = d->precision;
  return OK;
}
