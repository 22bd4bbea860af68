/*
 * What decode.c and encode.c, linked into one WebAssembly module, share: the export attribute,
 * the zig-zag order and the bump heap (decode.c keeps it). One call runs at a time, and each
 * starts by giving the whole heap back, so the two never hold memory at once.
 */
#ifndef LANTERN_JPEG_H
#define LANTERN_JPEG_H

#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(#name)))

/* T.81 Figure A.6: zig-zag position k is natural position ZIGZAG[k]. */
extern const uint8_t ZIGZAG[64];

/*
 * `bytes` of memory aligned to 16, growing the instance's memory when needed; null when it cannot
 * grow (the caller's sizes bound what is asked). Two calls in a row give adjacent memory when the
 * first asked for a multiple of 16 bytes.
 */
void *heap_take(uint64_t bytes);

/* Gives back everything taken. */
void heap_reset(void);

#endif
