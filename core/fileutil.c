/* fileutil.c: reading JSON documents with positioned errors, the one
 * output-file writer (soap_outfile: a temporary file and rename for regular
 * files, so nothing half-written is ever left at the target path; direct
 * writes for character devices and FIFOs; symlinks followed to their
 * target), and FNV-1a hashing for fingerprints. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "soap_core.h"

/* Symlinks followed before giving up (the kernel's own limit is 40). */
#define MAX_LINK_HOPS 40

struct soap_outfile {
    FILE *f;
    char *path;   /* as the caller gave it (for messages) */
    char *target; /* the file written: path with symlinks followed */
    char *tmp;    /* temporary file beside target; NULL when written directly */
};

/* What a file type is called in messages. */
static const char *type_name(mode_t m)
{
    if (S_ISDIR(m))
        return "a directory";
    if (S_ISBLK(m))
        return "a block device";
    if (S_ISSOCK(m))
        return "a socket";
    return "not a regular file";
}

/* Follows `path` through symlinks to the file that is to be written (which
 * may not exist yet: a dangling link names the file to create). Returns a
 * malloc'd path; *sb filled and *exists = 1 if it exists. NULL with *err
 * on a loop or an unreadable link. */
static char *resolve_target(const char *path, struct stat *sb, int *exists, soap_error *err)
{
    char *cur = soap_xstrdup(path);
    for (int hop = 0;; hop++) {
        if (lstat(cur, sb) != 0) {
            *exists = 0;
            return cur;
        }
        if (!S_ISLNK(sb->st_mode)) {
            *exists = 1;
            return cur;
        }
        if (hop == MAX_LINK_HOPS) {
            soap_error_set(err, SOAP_ERR_IO, "%s: cannot write: too many levels of symbolic "
                           "links", path);
            free(cur);
            return NULL;
        }
        size_t cap = sb->st_size > 0 ? (size_t)sb->st_size + 1 : PATH_MAX;
        char *link = soap_xmalloc(cap);
        ssize_t n = readlink(cur, link, cap);
        if (n < 0 || (size_t)n >= cap) {
            soap_error_set(err, SOAP_ERR_IO, "%s: cannot read the symbolic link: %s", path,
                           n < 0 ? strerror(errno) : "it changed while being read");
            free(link);
            free(cur);
            return NULL;
        }
        link[n] = '\0';
        char *next;
        const char *slash = strrchr(cur, '/');
        if (link[0] == '/' || !slash) {
            next = link;
        } else {
            /* A relative target is relative to the link's folder. */
            size_t dir = (size_t)(slash - cur) + 1;
            next = soap_xmalloc(dir + (size_t)n + 1);
            memcpy(next, cur, dir);
            memcpy(next + dir, link, (size_t)n + 1);
            free(link);
        }
        free(cur);
        cur = next;
    }
}

static void outfile_free(soap_outfile *o)
{
    free(o->path);
    free(o->target);
    free(o->tmp);
    free(o);
}

/* The descriptor a path names by itself: /dev/stdout (1), /dev/stderr (2),
 * /dev/fd/N and /proc/self/fd/N (N); -1 for any other path. Such a path is
 * written through a copy of the descriptor, so that `--out /dev/stdout`
 * goes wherever stdout goes (a terminal, a pipe, a file opened for
 * appending) and nothing is truncated or renamed. */
static int fd_alias(const char *path)
{
    if (strcmp(path, "/dev/stdout") == 0)
        return 1;
    if (strcmp(path, "/dev/stderr") == 0)
        return 2;
    const char *num = NULL;
    if (strncmp(path, "/dev/fd/", 8) == 0)
        num = path + 8;
    else if (strncmp(path, "/proc/self/fd/", 14) == 0)
        num = path + 14;
    if (!num || *num < '0' || *num > '9')
        return -1;
    char *end;
    long n = strtol(num, &end, 10);
    return (*end == '\0' && n >= 0 && n < INT_MAX) ? (int)n : -1;
}

/* o->f on an open descriptor (taken over), or an error naming the path. */
static int adopt_fd(soap_outfile *o, int fd, const char *what, soap_error *err)
{
    if (fd >= 0 && (o->f = fdopen(fd, "w")) != NULL)
        return 1;
    soap_error_set(err, SOAP_ERR_IO, "%s: cannot %s: %s", o->path, what, strerror(errno));
    if (fd >= 0)
        close(fd);
    return 0;
}

soap_outfile *soap_outfile_open(const char *path, soap_error *err)
{
    if (!path || !path[0]) {
        soap_error_set(err, SOAP_ERR_INVALID, "output file: expected a path, got none");
        return NULL;
    }
    soap_outfile *o = soap_xcalloc(1, sizeof *o);
    o->path = soap_xstrdup(path);

    int alias = fd_alias(path);
    if (alias >= 0) {
        fflush(alias == 1 ? stdout : NULL); /* what was printed comes first */
        if (adopt_fd(o, fcntl(alias, F_DUPFD_CLOEXEC, 3), "write", err))
            return o;
        outfile_free(o);
        return NULL;
    }

    /* What the path is, symlinks followed by the kernel. */
    struct stat sb;
    int exists = stat(path, &sb) == 0;
    if (!exists && errno != ENOENT) {
        soap_error_set(err, SOAP_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
        outfile_free(o);
        return NULL;
    }
    if (exists && (S_ISCHR(sb.st_mode) || S_ISFIFO(sb.st_mode))) {
        /* /dev/null, a terminal, a pipe: there is nothing to rename over
         * (replacing a device node with a text file would break it). */
        int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        struct stat now;
        if (fd >= 0 && (fstat(fd, &now) != 0 || !(S_ISCHR(now.st_mode) ||
                                                  S_ISFIFO(now.st_mode)))) {
            close(fd);
            fd = -1;
            errno = EINVAL; /* it changed under us */
        }
        if (adopt_fd(o, fd, "open for writing", err))
            return o;
        outfile_free(o);
        return NULL;
    }
    if (exists && !S_ISREG(sb.st_mode)) {
        soap_error_set(err, SOAP_ERR_IO,
                       "%s: is %s, expected a regular file, a character device or a FIFO "
                       "to write to", path, type_name(sb.st_mode));
        outfile_free(o);
        return NULL;
    }

    /* A regular file (or none yet): a temporary beside the file that the
     * symlinks lead to, renamed over it at commit. */
    struct stat lsb;
    int lexists = 0;
    o->target = resolve_target(path, &lsb, &lexists, err);
    if (!o->target) {
        outfile_free(o);
        return NULL;
    }
    if (exists && (!lexists || lsb.st_dev != sb.st_dev || lsb.st_ino != sb.st_ino)) {
        /* The links lead somewhere a name cannot (a /proc magic link):
         * write the file in place. */
        if (adopt_fd(o, open(path, O_WRONLY | O_TRUNC | O_NOCTTY | O_CLOEXEC),
                     "open for writing", err))
            return o;
        outfile_free(o);
        return NULL;
    }
    size_t n = strlen(o->target);
    o->tmp = soap_xmalloc(n + 16);
    snprintf(o->tmp, n + 16, "%s.tmpXXXXXX", o->target);
    int fd = mkstemp(o->tmp);
    if (fd < 0) {
        soap_error_set(err, SOAP_ERR_IO, "%s: cannot create a temporary file beside it: %s",
                       path, strerror(errno));
        free(o->tmp);
        o->tmp = NULL;
        outfile_free(o);
        return NULL;
    }
    /* mkstemp makes the file private; a replaced file keeps its mode, a new
     * one gets what open(2) would give it (0666 less the umask). */
    mode_t mode;
    if (exists) {
        mode = sb.st_mode & 07777;
    } else {
        mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
    }
    (void)fchmod(fd, mode);
    if (!adopt_fd(o, fd, "write", err)) {
        unlink(o->tmp);
        outfile_free(o);
        return NULL;
    }
    return o;
}

FILE *soap_outfile_stream(soap_outfile *o)
{
    SOAP_ASSERT(o && o->f);
    return o->f;
}

soap_status soap_outfile_commit(soap_outfile *o, soap_error *err)
{
    SOAP_ASSERT(o && o->f);
    /* An earlier buffered write may have failed already (ferror); the flush
     * repeats it and gives its errno (ENOSPC on /dev/full). */
    int bad = ferror(o->f);
    errno = 0;
    int e = 0;
    if (fflush(o->f) != 0) {
        bad = 1;
        e = errno;
    }
    errno = 0;
    if (fclose(o->f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    o->f = NULL;
    soap_status st = SOAP_OK;
    if (bad) {
        st = soap_error_set(err, SOAP_ERR_IO, "%s: cannot write: %s", o->path,
                            e ? strerror(e) : "write error");
    } else if (o->tmp && rename(o->tmp, o->target) != 0) {
        st = soap_error_set(err, SOAP_ERR_IO, "%s: cannot rename the temporary file into "
                            "place: %s", o->path, strerror(errno));
    } else if (o->tmp) {
        free(o->tmp);
        o->tmp = NULL;
    }
    if (o->tmp)
        unlink(o->tmp);
    outfile_free(o);
    return st;
}

void soap_outfile_abort(soap_outfile *o)
{
    if (!o)
        return;
    if (o->f)
        fclose(o->f);
    if (o->tmp)
        unlink(o->tmp);
    outfile_free(o);
}

soap_status soap_write_file_atomic(const char *path, const char *text, soap_error *err)
{
    soap_outfile *o = soap_outfile_open(path, err);
    if (!o)
        return err ? err->code : SOAP_ERR_IO;
    fputs(text, soap_outfile_stream(o));
    return soap_outfile_commit(o, err);
}

uint64_t soap_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

struct json_t *soap_json_load_file(const char *path, const char *what, soap_error *err)
{
    if (!path) {
        soap_error_set(err, SOAP_ERR_INVALID, "%s file: no path given", what);
        return NULL;
    }
    /* jansson opens a directory and then reports an empty document. */
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        soap_error_set(err, SOAP_ERR_IO, "%s: is a directory, expected a %s file", path, what);
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        if (json_error_code(&jerr) == json_error_cannot_open_file)
            soap_error_set(err, SOAP_ERR_IO, "%s: cannot open: %s", path, jerr.text);
        else
            soap_error_set(err, SOAP_ERR_PARSE, "%s:%d:%d: %s", path, jerr.line, jerr.column,
                           jerr.text);
    }
    return root;
}
