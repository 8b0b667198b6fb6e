#ifndef CLOUDSPOOL_CFILEIO_H
#define CLOUDSPOOL_CFILEIO_H

#include <stdint.h>

/// Flags of cloudspool_sync_file_range (the values of Linux's SYNC_FILE_RANGE_*).
#define CLOUDSPOOL_SYNC_WAIT_BEFORE 1u
#define CLOUDSPOOL_SYNC_WRITE 2u
#define CLOUDSPOOL_SYNC_WAIT_AFTER 4u

/// Linux's sync_file_range(2), which glibc declares only under _GNU_SOURCE
/// (not visible to Swift's Glibc module). Returns 0, or -1 with errno set;
/// where the call does not exist (not Linux), -1 with errno ENOSYS.
int cloudspool_sync_file_range(int fd, int64_t offset, int64_t count, unsigned int flags);

#endif
