/* replay.c: main() of the replay executables (fuzz_replay_<target>): runs
 * a fuzz target's LLVMFuzzerTestOneInput on files, without libFuzzer, so
 * that an ordinary build (gcc, `make test`, and the sanitizer build) checks
 * the regression inputs and the seeds.
 *
 * Usage: fuzz_replay_<target> FILE|DIR...   (a folder: its plain files, in
 * name order, not recursive, dot files skipped: a ".gitkeep" keeps an
 * empty regression folder in git). A crash is the failure: the target
 * aborts (or a sanitizer stops it), and the input it was given is printed
 * before each run. Exit status 0 after all inputs ran; 2 if a path cannot
 * be read or no input at all was found (a mistyped folder must not pass).
 */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#include "fuzz_util.h"

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: cannot open: %s\n", path, strerror(errno));
        return -1;
    }
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            cap *= 2;
            uint8_t *grown = realloc(buf, cap);
            if (!grown)
                free(buf);
            buf = grown;
        }
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        fprintf(stderr, "replay: %s: cannot read\n", path);
        free(buf);
        return -1;
    }
    printf("replay: %s (%zu bytes)\n", path, len);
    fflush(stdout);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replays the plain files of dir in name order; returns how many, -1 on a
 * read error. */
static int replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: cannot open: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    int count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (count == cap) {
            cap = cap ? 2 * cap : 16;
            names = realloc(names, (size_t)cap * sizeof *names);
            if (!names)
                abort();
        }
        size_t n = strlen(dir) + strlen(e->d_name) + 2;
        names[count] = malloc(n);
        if (!names[count])
            abort();
        snprintf(names[count++], n, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (count > 1)
        qsort(names, (size_t)count, sizeof *names, by_name);
    int done = 0;
    for (int k = 0; k < count; k++) {
        struct stat sb;
        if (stat(names[k], &sb) == 0 && S_ISREG(sb.st_mode)) {
            if (replay_file(names[k]) < 0)
                done = -1;
            else if (done >= 0)
                done++;
        }
        free(names[k]);
    }
    free(names);
    return done;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    int total = 0, status = 0;
    for (int k = 1; k < argc; k++) {
        struct stat sb;
        int n = stat(argv[k], &sb) == 0 && S_ISREG(sb.st_mode)
                    ? (replay_file(argv[k]) < 0 ? -1 : 1)
                    : replay_dir(argv[k]);
        if (n < 0)
            status = 2;
        else
            total += n;
    }
    if (total == 0) {
        fprintf(stderr, "replay: no input found\n");
        return 2;
    }
    printf("replay: %d inputs, no crash\n", total);
    return status;
}
