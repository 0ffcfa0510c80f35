/* fuzz_util.h: what the fuzz targets share. The loaders take paths, so each
 * input is written to one temporary file per process (made once, rewritten
 * in place for every input: no file churn per execution), and a broken
 * property (a round trip that changes the document) aborts with a message,
 * which libFuzzer and the replay driver both report as a crash.
 *
 * Every target defines the two libFuzzer entry points:
 *   int LLVMFuzzerInitialize(int *argc, char ***argv);   (once per process)
 *   int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
 * built with -fsanitize=fuzzer they are libFuzzer's; built with replay.c
 * (an ordinary executable, any compiler) they replay files, so that
 * `make test` runs the regression inputs without clang.
 */
#ifndef SOAP_FUZZ_UTIL_H
#define SOAP_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fuzz_file {
    char path[64];
    int fd; /* -1 until made */
} fuzz_file;

static inline void fuzz_file_remove(fuzz_file *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        unlink(f->path);
        f->fd = -1;
    }
}

/* Makes f (once) as "<dir>/soap-fuzz-XXXXXX<suffix>"; aborts if it cannot,
 * since then no input could be tested. */
static inline void fuzz_file_make(fuzz_file *f, const char *suffix)
{
    if (f->fd >= 0)
        return;
    const char *dir = getenv("TMPDIR");
    snprintf(f->path, sizeof f->path, "%s/soap-fuzz-XXXXXX%s", dir && *dir ? dir : "/tmp",
             suffix);
    f->fd = mkstemps(f->path, (int)strlen(suffix));
    if (f->fd < 0) {
        perror("fuzz: mkstemps");
        abort();
    }
}

/* Replaces f's contents by data[0..size). Written first, then cut to size:
 * truncating to 0 first frees the file's blocks every time, which on a disk
 * mounted with "discard" made each execution wait for the device (run.sh
 * puts the files on tmpfs anyway). */
static inline const char *fuzz_file_set(fuzz_file *f, const uint8_t *data, size_t size)
{
    if ((size > 0 && pwrite(f->fd, data, size, 0) != (ssize_t)size) ||
        ftruncate(f->fd, (off_t)size) != 0) {
        perror("fuzz: writing the input file");
        abort();
    }
    return f->path;
}

/* A property of the loaders does not hold for this input. */
#define FUZZ_CHECK(cond, ...)                                                    \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "fuzz: %s:%d: property failed: %s: ", __FILE__,      \
                    __LINE__, #cond);                                            \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
            abort();                                                             \
        }                                                                        \
    } while (0)

#endif
