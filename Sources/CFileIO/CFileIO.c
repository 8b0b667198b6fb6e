#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include "CFileIO.h"

int cloudspool_sync_file_range(int fd, int64_t offset, int64_t count, unsigned int flags) {
#if defined(__linux__)
    return sync_file_range(fd, (off64_t)offset, (off64_t)count, flags);
#else
    (void)fd; (void)offset; (void)count; (void)flags;
    errno = ENOSYS;
    return -1;
#endif
}
