#ifndef CLOUDSPOOL_CZLIB_SHIM_H
#define CLOUDSPOOL_CZLIB_SHIM_H

#include <zlib.h>

/* inflateInit2 and deflateInit2 are macros; these wrappers make them
   callable from Swift. */

static inline int cloudspool_inflateInit2(z_streamp stream, int windowBits) {
    return inflateInit2(stream, windowBits);
}

static inline int cloudspool_deflateInit2(z_streamp stream, int level, int windowBits) {
    return deflateInit2(stream, level, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY);
}

#endif
