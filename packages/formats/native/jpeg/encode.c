/*
 * Baseline JPEG encoder (ISO/IEC 10918-1 SOF0) of 8-bit RGB, freestanding C for WebAssembly,
 * linked into one module with decode.c. It writes, byte for byte, the stream libjpeg-turbo's
 * TurboJPEG (tjCompress2, 4:4:4, no flags) writes, as libjpeg-turbo.ts's npm build did (where it
 * did not write past its buffer) and Debian's cjpeg does (-sample 1x1 -baseline, -dct fast
 * below quality 96, -dct int from 96):
 *   - SOI; JFIF APP0 1.01, no density unit, 1:1, no thumbnail (jcmarker.c, emit_jfif_app0);
 *   - the quantization tables of T.81 Annex K scaled by quality as jcparam.c does
 *     (jpeg_quality_scaling, jpeg_add_quant_table with force_baseline), one DQT segment each;
 *   - SOF0, components 1, 2, 3 sampled 1 x 1, luma on table 0 and chroma on table 1;
 *   - Annex K's Huffman tables (no optimization), each in its own DHT segment, and one interleaved
 *     scan, no restart markers, EOI;
 *   - RGB to YCbCr in 16-bit fixed point as jccolor.c's tables; the image's last column and row
 *     repeated out to whole blocks (jcsample.c's expand_right_edge, jcprepct.c's
 *     expand_bottom_edge);
 *   - the fast integer forward DCT (jfdctfst.c, jpeg_fdct_ifast) below quality 96 and the
 *     accurate one (jfdctint.c, jpeg_fdct_islow) from 96, as turbojpeg.c's setCompDefaults
 *     chooses; quantization by reciprocals as libjpeg-turbo's C quantize with 32-bit DCT elements
 *     (jcdctmgr.c, compute_reciprocal), which is its build without SIMD.
 * The stream grows in the heap as it is written (it is the last thing taken, so it grows in
 * place), and room for a whole MCU is made before the MCU is coded: nothing is written past it.
 */
#include <stdint.h>

#include "jpeg.h"

/* ------------------------------------------------------------------ tables */

/* T.81 Table K.1 and K.2, in natural (row-major) order. */
static const uint8_t LUMA_QUANT[64] = {
    16, 11, 10, 16, 24,  40,  51,  61,  12, 12, 14, 19, 26,  58,  60,  55,
    14, 13, 16, 24, 40,  57,  69,  56,  14, 17, 22, 29, 51,  87,  80,  62,
    18, 22, 37, 56, 68,  109, 103, 77,  24, 35, 55, 64, 81,  104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99};
static const uint8_t CHROMA_QUANT[64] = {
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99,
    99, 99, 47, 66, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99};

/*
 * T.81 Tables K.3 to K.6 as a DHT segment's body holds them: class and id, the 16 counts of codes
 * of each length, the symbols (libjpeg's jstdhuff.c).
 */
static const uint8_t LUMA_DC[1 + 16 + 12] = {
    0x00, 0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const uint8_t CHROMA_DC[1 + 16 + 12] = {
    0x01, 0, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
static const uint8_t LUMA_AC[1 + 16 + 162] = {
    0x10, 0,    2,    1,    3,    3,    2,    4,    3,    5,    5,    4,    4,    0,    0,
    1,    0x7d, 0x01, 0x02, 0x03, 0x00, 0x04, 0x11, 0x05, 0x12, 0x21, 0x31, 0x41, 0x06, 0x13,
    0x51, 0x61, 0x07, 0x22, 0x71, 0x14, 0x32, 0x81, 0x91, 0xa1, 0x08, 0x23, 0x42, 0xb1, 0xc1,
    0x15, 0x52, 0xd1, 0xf0, 0x24, 0x33, 0x62, 0x72, 0x82, 0x09, 0x0a, 0x16, 0x17, 0x18, 0x19,
    0x1a, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x43,
    0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59, 0x5a,
    0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78, 0x79,
    0x7a, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97,
    0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2, 0xb3, 0xb4,
    0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8, 0xc9, 0xca,
    0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe6,
    0xe7, 0xe8, 0xe9, 0xea, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa};
static const uint8_t CHROMA_AC[1 + 16 + 162] = {
    0x11, 0,    2,    1,    2,    4,    4,    3,    4,    7,    5,    4,    4,    0,    1,
    2,    0x77, 0x00, 0x01, 0x02, 0x03, 0x11, 0x04, 0x05, 0x21, 0x31, 0x06, 0x12, 0x41, 0x51,
    0x07, 0x61, 0x71, 0x13, 0x22, 0x32, 0x81, 0x08, 0x14, 0x42, 0x91, 0xa1, 0xb1, 0xc1, 0x09,
    0x23, 0x33, 0x52, 0xf0, 0x15, 0x62, 0x72, 0xd1, 0x0a, 0x16, 0x24, 0x34, 0xe1, 0x25, 0xf1,
    0x17, 0x18, 0x19, 0x1a, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a,
    0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0x4a, 0x53, 0x54, 0x55, 0x56, 0x57, 0x58, 0x59,
    0x5a, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,
    0x79, 0x7a, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x92, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9a, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xb2,
    0xb3, 0xb4, 0xb5, 0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xc8,
    0xc9, 0xca, 0xd2, 0xd3, 0xd4, 0xd5, 0xd6, 0xd7, 0xd8, 0xd9, 0xda, 0xe2, 0xe3, 0xe4, 0xe5,
    0xe6, 0xe7, 0xe8, 0xe9, 0xea, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa};

/* A Huffman table's code and its length for each symbol (jchuff.c's c_derived_tbl). */
typedef struct {
  uint16_t code[256];
  uint8_t size[256];
} codes_t;

/* A quantization table as jcdctmgr.c's divisors: reciprocal, correction, shift. */
typedef struct {
  uint8_t table[64]; /* natural order, as DQT carries it (in zig-zag order) */
  uint32_t reciprocal[64];
  uint32_t correction[64];
  int shift[64];
} quant_t;

/* The codes of a DHT body (T.81 Annex C: Figures C.1 to C.3). */
static void derive_codes(const uint8_t *dht, codes_t *codes) {
  const uint8_t *symbol = dht + 17;
  uint32_t code = 0;
  for (int length = 1; length <= 16; length += 1) {
    for (int i = 0; i < dht[length]; i += 1) {
      codes->code[*symbol] = (uint16_t)code;
      codes->size[*symbol] = (uint8_t)length;
      symbol += 1;
      code += 1;
    }
    code <<= 1;
  }
}

/* jcparam.c's jpeg_quality_scaling: quality 1 to 100 as a percentage of Annex K's tables. */
static int quality_scale(int quality) {
  return quality < 50 ? 5000 / quality : 200 - quality * 2;
}

/* jcdctmgr.c's aanscales: the scale jpeg_fdct_ifast leaves in each output, times 2^14. */
static const uint16_t AAN_SCALES[64] = {
    16384, 22725, 21407, 19266, 16384, 12873, 8867,  4520,  22725, 31521, 29692, 26722, 22725,
    17855, 12299, 6270,  21407, 29692, 27969, 25172, 21407, 16819, 11585, 5906,  19266, 26722,
    25172, 22654, 19266, 15137, 10426, 5315,  16384, 22725, 21407, 19266, 16384, 12873, 8867,
    4520,  12873, 17855, 16819, 15137, 12873, 10114, 6967,  3552,  8867,  12299, 11585, 10426,
    8867,  6967,  4799,  2446,  4520,  6270,  5906,  5315,  4520,  3552,  2446,  1247};

/*
 * jcparam.c's jpeg_add_quant_table with force_baseline, then jcdctmgr.c's divisors: each value
 * times 8 for the islow DCT, times its AAN scale over 2^11 (rounded) for the ifast one; and
 * compute_reciprocal of each with 32-bit DCT elements: a division by a multiplication and a
 * shift, with the correction that rounds as libjpeg-turbo does.
 */
static void scale_quant(const uint8_t *basic, int scale, int is_accurate, quant_t *quant) {
  for (int i = 0; i < 64; i += 1) {
    int32_t value = ((int32_t)basic[i] * scale + 50) / 100;
    value = value < 1 ? 1 : value > 255 ? 255 : value;
    quant->table[i] = (uint8_t)value;
    uint32_t divisor = is_accurate ? (uint32_t)value << 3
                                   : ((uint32_t)value * AAN_SCALES[i] + (1 << 10)) >> 11;
    int b = 31 - __builtin_clz(divisor);
    int r = 32 + b;
    uint64_t fq = ((uint64_t)1 << r) / divisor;
    uint64_t fr = ((uint64_t)1 << r) % divisor;
    uint32_t c = divisor / 2;
    if (fr == 0) {
      fq >>= 1; /* a power of two (1 too): one bit too large for 32 bits */
      r -= 1;
    } else if (fr <= divisor / 2) {
      c += 1;
    } else {
      fq += 1;
    }
    quant->reciprocal[i] = (uint32_t)fq;
    quant->correction[i] = c;
    quant->shift[i] = r;
  }
}

/* ------------------------------------------------------------------ output */

static struct {
  uint8_t *bytes;
  uint32_t length;
  uint32_t capacity;
  uint32_t bits; /* bits not yet written, right-aligned */
  int count;     /* how many */
} out;

/*
 * Makes room for `bytes` more bytes, growing the stream in place (it is the heap's last block, and
 * capacities are multiples of 16): doubling it, or by what is needed when memory cannot hold
 * twice; 0 when memory cannot grow at all.
 */
static int reserve(uint32_t bytes) {
  if (out.capacity - out.length >= bytes) {
    return 1;
  }
  uint64_t needed = ((uint64_t)bytes + 15) & ~(uint64_t)15;
  uint64_t more = out.capacity > needed ? out.capacity : needed;
  uint8_t *grown = (uint8_t *)heap_take(more);
  if (grown == 0) {
    more = needed;
    grown = (uint8_t *)heap_take(more);
  }
  if (grown == 0 || grown != out.bytes + out.capacity) {
    return 0;
  }
  out.capacity += (uint32_t)more;
  return 1;
}

static void put_byte(uint32_t byte) { out.bytes[out.length++] = (uint8_t)byte; }

static void put_word(uint32_t word) {
  put_byte(word >> 8);
  put_byte(word & 0xff);
}

static void put_bytes(const uint8_t *bytes, uint32_t length) {
  for (uint32_t i = 0; i < length; i += 1) {
    put_byte(bytes[i]);
  }
}

/* The low `size` bits of `value` (size 0 to 16), most significant first, 0xFF stuffed (F.1.2.3). */
static void put_bits(uint32_t value, int size) {
  out.bits = (out.bits << size) | (value & ((1u << size) - 1));
  out.count += size;
  while (out.count >= 8) {
    out.count -= 8;
    uint32_t byte = (out.bits >> out.count) & 0xff;
    put_byte(byte);
    if (byte == 0xff) {
      put_byte(0);
    }
  }
}

/* ------------------------------------------------------------------ headers */

static void put_segment(uint32_t marker, const uint8_t *body, uint32_t length) {
  put_word(0xff00 | marker);
  put_word(length + 2);
  put_bytes(body, length);
}

static void put_dqt(int id, const quant_t *quant) {
  uint8_t body[65];
  body[0] = (uint8_t)id; /* 8-bit values */
  for (int k = 0; k < 64; k += 1) {
    body[1 + k] = quant->table[ZIGZAG[k]];
  }
  put_segment(0xdb, body, sizeof body);
}

static void put_headers(uint32_t width, uint32_t height, const quant_t *luma,
                        const quant_t *chroma) {
  static const uint8_t JFIF[14] = {'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0};
  static const uint8_t SOS[10] = {3, 1, 0x00, 2, 0x11, 3, 0x11, 0, 63, 0};
  const uint8_t sof[15] = {8, (uint8_t)(height >> 8), (uint8_t)height, (uint8_t)(width >> 8),
                           (uint8_t)width, 3, 1, 0x11, 0, 2, 0x11, 1, 3, 0x11, 1};
  put_word(0xffd8);
  put_segment(0xe0, JFIF, sizeof JFIF);
  put_dqt(0, luma);
  put_dqt(1, chroma);
  put_segment(0xc0, sof, sizeof sof);
  /* jcmarker.c's write_scan_header: each component's DC then AC table, each table once. */
  put_segment(0xc4, LUMA_DC, sizeof LUMA_DC);
  put_segment(0xc4, LUMA_AC, sizeof LUMA_AC);
  put_segment(0xc4, CHROMA_DC, sizeof CHROMA_DC);
  put_segment(0xc4, CHROMA_AC, sizeof CHROMA_AC);
  put_segment(0xda, SOS, sizeof SOS);
}

/* ------------------------------------------------------------------ blocks */

/*
 * The 8 x 8 block at (x0, y0) of each component, centred on 0: jccolor.c's rgb_ycc_convert (its
 * tables are these products; 0.5 - epsilon rounds Cb and Cr so that they never reach 256), the
 * last column and row standing in for those past the image.
 */
static void convert_block(const uint8_t *rgb, uint32_t width, uint32_t height, uint32_t x0,
                          uint32_t y0, int32_t blocks[3][64]) {
  for (int y = 0; y < 8; y += 1) {
    uint32_t row = y0 + (uint32_t)y < height ? y0 + (uint32_t)y : height - 1;
    for (int x = 0; x < 8; x += 1) {
      uint32_t column = x0 + (uint32_t)x < width ? x0 + (uint32_t)x : width - 1;
      const uint8_t *pixel = rgb + ((uint64_t)row * width + column) * 3;
      int32_t r = pixel[0], g = pixel[1], b = pixel[2];
      int i = y * 8 + x;
      blocks[0][i] = ((19595 * r + 38470 * g + 7471 * b + 32768) >> 16) - 128;
      blocks[1][i] = ((-11059 * r - 21709 * g + 32768 * b + (128 << 16) + 32767) >> 16) - 128;
      blocks[2][i] = ((32768 * r - 27439 * g - 5329 * b + (128 << 16) + 32767) >> 16) - 128;
    }
  }
}

/* What both DCTs' passes start with: sums and differences of the 8 values `step` apart at `v`. */
typedef struct {
  int32_t tmp4, tmp5, tmp6, tmp7, tmp10, tmp11, tmp12, tmp13;
} stage_t;

static stage_t first_stage(const int32_t *v, int step) {
  int32_t tmp0 = v[0] + v[7 * step], tmp1 = v[step] + v[6 * step];
  int32_t tmp2 = v[2 * step] + v[5 * step], tmp3 = v[3 * step] + v[4 * step];
  stage_t s = {
      .tmp4 = v[3 * step] - v[4 * step],
      .tmp5 = v[2 * step] - v[5 * step],
      .tmp6 = v[step] - v[6 * step],
      .tmp7 = v[0] - v[7 * step],
      .tmp10 = tmp0 + tmp3,
      .tmp11 = tmp1 + tmp2,
      .tmp12 = tmp1 - tmp2,
      .tmp13 = tmp0 - tmp3,
  };
  return s;
}

/* jfdctfst.c's MULTIPLY: a product with 8 fractional bits, truncated (no accurate rounding). */
#define MULTIPLY(value, constant) (((value) * (constant)) >> 8)

/*
 * One pass of jfdctfst.c's jpeg_fdct_ifast (Arai, Agui and Nakajima's scaled DCT) over the 8
 * values `step` apart at `v`; the scale it leaves in each output is divided out with the
 * quantization (scale_quant).
 */
static void ifast_pass(int32_t *v, int step) {
  stage_t s = first_stage(v, step);
  int32_t tmp4 = s.tmp4, tmp5 = s.tmp5, tmp6 = s.tmp6, tmp7 = s.tmp7;
  int32_t tmp10 = s.tmp10, tmp11 = s.tmp11, tmp12 = s.tmp12, tmp13 = s.tmp13;
  v[0] = tmp10 + tmp11;
  v[4 * step] = tmp10 - tmp11;
  int32_t z1 = MULTIPLY(tmp12 + tmp13, 181); /* FIX_0_707106781 */
  v[2 * step] = tmp13 + z1;
  v[6 * step] = tmp13 - z1;

  tmp10 = tmp4 + tmp5;
  tmp11 = tmp5 + tmp6;
  tmp12 = tmp6 + tmp7;
  int32_t z5 = MULTIPLY(tmp10 - tmp12, 98);  /* FIX_0_382683433 */
  int32_t z2 = MULTIPLY(tmp10, 139) + z5;    /* FIX_0_541196100 */
  int32_t z4 = MULTIPLY(tmp12, 334) + z5;    /* FIX_1_306562965 */
  int32_t z3 = MULTIPLY(tmp11, 181);         /* FIX_0_707106781 */
  int32_t z11 = tmp7 + z3, z13 = tmp7 - z3;
  v[5 * step] = z13 + z2;
  v[3 * step] = z13 - z2;
  v[step] = z11 + z4;
  v[7 * step] = z11 - z4;
}

#define CONST_BITS 13
#define PASS1_BITS 2
#define DESCALE(x, n) (((x) + (1 << ((n)-1))) >> (n))

/*
 * One pass of jfdctint.c's jpeg_fdct_islow over the 8 values `step` apart at `v`. The row pass
 * leaves PASS1_BITS fractional bits (outputs 0 and 4 shifted left, the rest descaled by 11), the
 * column pass takes them out (0 and 4 descaled by 2, the rest by 15); the outputs are 8 times
 * the DCT's, which the divisors take out.
 */
static void islow_pass(int32_t *v, int step, int is_rows) {
  stage_t s = first_stage(v, step);
  int32_t tmp4 = s.tmp4, tmp5 = s.tmp5, tmp6 = s.tmp6, tmp7 = s.tmp7;
  int32_t tmp10 = s.tmp10, tmp11 = s.tmp11, tmp12 = s.tmp12, tmp13 = s.tmp13;
  int shift = is_rows ? CONST_BITS - PASS1_BITS : CONST_BITS + PASS1_BITS;

  if (is_rows) {
    v[0] = (tmp10 + tmp11) * (1 << PASS1_BITS);
    v[4 * step] = (tmp10 - tmp11) * (1 << PASS1_BITS);
  } else {
    v[0] = DESCALE(tmp10 + tmp11, PASS1_BITS);
    v[4 * step] = DESCALE(tmp10 - tmp11, PASS1_BITS);
  }
  int32_t z1 = (tmp12 + tmp13) * 4433;             /* FIX_0_541196100 */
  v[2 * step] = DESCALE(z1 + tmp13 * 6270, shift);  /* FIX_0_765366865 */
  v[6 * step] = DESCALE(z1 - tmp12 * 15137, shift); /* FIX_1_847759065 */

  z1 = tmp4 + tmp7;
  int32_t z2 = tmp5 + tmp6, z3 = tmp4 + tmp6, z4 = tmp5 + tmp7;
  int32_t z5 = (z3 + z4) * 9633; /* FIX_1_175875602 */
  tmp4 *= 2446;                  /* FIX_0_298631336 */
  tmp5 *= 16819;                 /* FIX_2_053119869 */
  tmp6 *= 25172;                 /* FIX_3_072711026 */
  tmp7 *= 12299;                 /* FIX_1_501321110 */
  z1 *= -7373;                   /* FIX_0_899976223 */
  z2 *= -20995;                  /* FIX_2_562915447 */
  z3 = z3 * -16069 + z5;         /* FIX_1_961570560 */
  z4 = z4 * -3196 + z5;          /* FIX_0_390180644 */
  v[7 * step] = DESCALE(tmp4 + z1 + z3, shift);
  v[5 * step] = DESCALE(tmp5 + z2 + z4, shift);
  v[3 * step] = DESCALE(tmp6 + z2 + z3, shift);
  v[step] = DESCALE(tmp7 + z1 + z4, shift);
}

/* The 2-D forward DCT of a block: rows, then columns. */
static void fdct(int32_t *block, int is_accurate) {
  for (int i = 0; i < 64; i += 8) {
    if (is_accurate) {
      islow_pass(block + i, 1, 1);
    } else {
      ifast_pass(block + i, 1);
    }
  }
  for (int i = 0; i < 8; i += 1) {
    if (is_accurate) {
      islow_pass(block + i, 8, 0);
    } else {
      ifast_pass(block + i, 8);
    }
  }
}

/* jcdctmgr.c's quantize (8 bits, no SIMD): |x| + correction times the reciprocal, shifted. */
static int32_t quantize(int32_t value, const quant_t *quant, int i) {
  uint32_t magnitude = (uint32_t)(value < 0 ? -value : value);
  uint64_t product = (uint64_t)(uint32_t)(magnitude + quant->correction[i]) * quant->reciprocal[i];
  int32_t quotient = (int32_t)(uint32_t)(product >> quant->shift[i]);
  return value < 0 ? -quotient : quotient;
}

/* jchuff.c's encode_one_block: the DC difference, then runs of zeros and values (F.1.2). */
static void put_block(const int32_t *block, int32_t *last_dc, const codes_t *dc,
                      const codes_t *ac) {
  int32_t difference = block[0] - *last_dc;
  *last_dc = block[0];
  uint32_t magnitude = (uint32_t)(difference < 0 ? -difference : difference);
  int size = magnitude == 0 ? 0 : 32 - __builtin_clz(magnitude);
  put_bits(dc->code[size], dc->size[size]);
  put_bits((uint32_t)(difference < 0 ? difference - 1 : difference), size);

  int run = 0;
  for (int k = 1; k < 64; k += 1) {
    int32_t value = block[ZIGZAG[k]];
    if (value == 0) {
      run += 1;
      continue;
    }
    for (; run > 15; run -= 16) {
      put_bits(ac->code[0xf0], ac->size[0xf0]); /* ZRL */
    }
    magnitude = (uint32_t)(value < 0 ? -value : value);
    size = 32 - __builtin_clz(magnitude);
    int symbol = run << 4 | size;
    put_bits(ac->code[symbol], ac->size[symbol]);
    put_bits((uint32_t)(value < 0 ? value - 1 : value), size);
    run = 0;
  }
  if (run > 0) {
    put_bits(ac->code[0], ac->size[0]); /* EOB */
  }
}

/*
 * The most a block's entropy-coded data takes: a DC code and value (at most 11 + 11 bits), 63 AC
 * codes and values (16 + 10), 3 ZRLs and EOB (at most 16 each), every byte stuffed.
 */
#define MAX_BLOCK_BYTES (2 * ((22 + 63 * 26 + 4 * 16 + 7) / 8))

/* ------------------------------------------------------------------ the call */

static uint8_t *input;

/* Gives back everything taken and returns room for `length` bytes of RGB, for JS to fill. */
EXPORT(je_input)
uint8_t *je_input(uint32_t length) {
  heap_reset();
  input = (uint8_t *)heap_take((uint64_t)length + 16);
  return input;
}

/* Where the stream of the last je_encode starts. */
EXPORT(je_output)
uint8_t *je_output(void) { return out.bytes; }

/*
 * Encodes the `width` x `height` RGB that je_input's room holds (1 to 65535 each; quality 1 to
 * 100, which the caller checks) and returns the stream's length, or 0 when memory cannot grow.
 */
EXPORT(je_encode)
uint32_t je_encode(uint32_t width, uint32_t height, int quality) {
  static quant_t quant[2];
  static codes_t dc[2], ac[2];
  /* turbojpeg.c's setCompDefaults: the accurate DCT from quality 96, the fast one below. */
  int is_accurate = quality >= 96;
  int scale = quality_scale(quality);
  scale_quant(LUMA_QUANT, scale, is_accurate, &quant[0]);
  scale_quant(CHROMA_QUANT, scale, is_accurate, &quant[1]);
  derive_codes(LUMA_DC, &dc[0]);
  derive_codes(LUMA_AC, &ac[0]);
  derive_codes(CHROMA_DC, &dc[1]);
  derive_codes(CHROMA_AC, &ac[1]);

  /* A first guess of a byte a pixel (most tiles take less); reserve grows it. */
  uint64_t guess = (((uint64_t)width * height + 4096) + 15) & ~(uint64_t)15;
  out.capacity = guess > 0x10000000u ? 0x10000000u : (uint32_t)guess;
  out.bytes = (uint8_t *)heap_take(out.capacity);
  out.length = 0;
  out.bits = 0;
  out.count = 0;
  if (out.bytes == 0 || !reserve(1024)) {
    return 0;
  }
  put_headers(width, height, &quant[0], &quant[1]);

  int32_t last_dc[3] = {0, 0, 0};
  int32_t blocks[3][64];
  for (uint32_t y0 = 0; y0 < height; y0 += 8) {
    for (uint32_t x0 = 0; x0 < width; x0 += 8) {
      if (!reserve(3 * MAX_BLOCK_BYTES)) {
        return 0;
      }
      convert_block(input, width, height, x0, y0, blocks);
      for (int c = 0; c < 3; c += 1) {
        int32_t *block = blocks[c];
        fdct(block, is_accurate);
        const quant_t *q = &quant[c == 0 ? 0 : 1];
        for (int i = 0; i < 64; i += 1) {
          block[i] = quantize(block[i], q, i);
        }
        put_block(block, &last_dc[c], &dc[c == 0 ? 0 : 1], &ac[c == 0 ? 0 : 1]);
      }
    }
  }
  if (!reserve(16)) {
    return 0;
  }
  put_bits(0x7f, 7); /* jchuff.c's flush_bits: the last byte padded with 1 bits */
  put_word(0xffd9);
  return out.length;
}
