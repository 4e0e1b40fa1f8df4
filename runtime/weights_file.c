/* weights_file.c: see weights_file.h. */
#include "weights_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int df_weights_open(const char *path, const struct df_manifest *m, struct df_weights *w, char *err, size_t errlen)
{
    struct stat sb;
    char why[400];
    memset(w, 0, sizeof *w);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return DF_IO;
    }
    if (fstat(fd, &sb) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        close(fd);
        return DF_IO;
    }
    if (!S_ISREG(sb.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return DF_IO;
    }
    /* A file too short for a header is never mapped (mmap of 0 bytes fails),
     * but still gets df_header_check's message. */
    if ((uint64_t)sb.st_size < DF_HEADER_BYTES) {
        df_header_check(NULL, (uint64_t)sb.st_size, m, &w->header, why, sizeof why);
        snprintf(err, errlen, "%s: %s", path, why);
        close(fd);
        return DF_BAD;
    }
    void *map = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int map_errno = errno;
    close(fd);
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: mmap: %s", path, strerror(map_errno));
        return DF_IO;
    }
    if (df_header_check(map, (uint64_t)sb.st_size, m, &w->header, why, sizeof why) != DF_OK ||
        df_integrity_parse((const unsigned char *)map + w->header.integrity_offset, w->header.integrity_bytes,
                           &w->header, &w->integrity, why, sizeof why) != DF_OK) {
        snprintf(err, errlen, "%s: %s", path, why);
        munmap(map, (size_t)sb.st_size);
        return DF_BAD;
    }
    w->map = map;
    w->map_bytes = (size_t)sb.st_size;
    w->data = (const unsigned char *)map + w->header.data_offset;
    w->data_bytes = w->header.data_bytes;
    return DF_OK;
}

void df_weights_close(struct df_weights *w)
{
    if (w->map)
        munmap(w->map, w->map_bytes);
    memset(w, 0, sizeof *w);
}
