/* Tests of the output-file writer (suite "outfile"): regular files (new ones
 * follow the umask, replaced ones keep their mode), symlinks (the target is
 * written, the link stays), character devices and FIFOs written directly and
 * left what they are, directories refused, write errors (/dev/full, a file
 * size limit) reported with the path and leaving the old contents, and
 * soap_write_file_atomic on top of it. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "soap_core.h"
#include "test_util.h"

/* A fresh temporary folder. */
static void make_dir(char *dir, size_t len)
{
    snprintf(dir, len, "/tmp/soap-outfile-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

/* Removes the folder and what it holds (no sub-folders but `keep`). */
static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char p[512];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) != 0)
            rmdir(p);
    }
    closedir(d);
    rmdir(dir);
}

/* Number of entries in a folder (to see that no temporary file is left). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    static char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static soap_status write_text(const char *path, const char *text, soap_error *err)
{
    soap_error_clear(err);
    soap_outfile *o = soap_outfile_open(path, err);
    if (!o)
        return err->code;
    fputs(text, soap_outfile_stream(o));
    return soap_outfile_commit(o, err);
}

START_TEST(test_regular_new_and_replaced)
{
    char dir[64], path[128];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/out.json", dir);
    soap_error err;
    mode_t old = umask(022);
    ck_assert_int_eq(write_text(path, "one\n", &err), SOAP_OK);
    ck_assert_str_eq(slurp(path), "one\n");
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert(S_ISREG(sb.st_mode));
    ck_assert_int_eq(sb.st_mode & 0777, 0644);
    /* Replaced: the new contents, the old mode, no temporary left. */
    ck_assert_int_eq(chmod(path, 0600), 0);
    ck_assert_int_eq(write_text(path, "two\n", &err), SOAP_OK);
    ck_assert_str_eq(slurp(path), "two\n");
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0600);
    ck_assert_int_eq(count_entries(dir), 1);
    umask(old);
    remove_dir(dir);
}
END_TEST

/* New files follow the umask (trace and DOT files used to be 0600). */
static const mode_t umask_table[] = {022, 027, 077, 002};

START_TEST(test_umask)
{
    char dir[64], path[128];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/new.txt", dir);
    soap_error err;
    mode_t old = umask(umask_table[_i]);
    ck_assert_int_eq(write_text(path, "x\n", &err), SOAP_OK);
    umask(old);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0666 & ~umask_table[_i]);
    remove_dir(dir);
}
END_TEST

START_TEST(test_symlink)
{
    char dir[64], target[128], link[128], dangling[128], made[128];
    make_dir(dir, sizeof dir);
    snprintf(target, sizeof target, "%s/target.txt", dir);
    snprintf(link, sizeof link, "%s/link.txt", dir);
    soap_test_write(target, "old\n");
    ck_assert_int_eq(symlink("target.txt", link), 0); /* relative to the link's folder */
    soap_error err;
    ck_assert_int_eq(write_text(link, "new\n", &err), SOAP_OK);
    struct stat sb;
    ck_assert_int_eq(lstat(link, &sb), 0);
    ck_assert_msg(S_ISLNK(sb.st_mode), "the link was replaced by a file");
    ck_assert_str_eq(slurp(target), "new\n");
    /* A dangling link names the file to create. */
    snprintf(dangling, sizeof dangling, "%s/dangling", dir);
    snprintf(made, sizeof made, "%s/made.txt", dir);
    ck_assert_int_eq(symlink(made, dangling), 0);
    ck_assert_int_eq(write_text(dangling, "made\n", &err), SOAP_OK);
    ck_assert_int_eq(lstat(dangling, &sb), 0);
    ck_assert(S_ISLNK(sb.st_mode));
    ck_assert_str_eq(slurp(made), "made\n");
    ck_assert_int_eq(count_entries(dir), 4);
    remove_dir(dir);
}
END_TEST

START_TEST(test_symlink_loop)
{
    char dir[64], a[128], b[128];
    make_dir(dir, sizeof dir);
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    ck_assert_int_eq(symlink("b", a), 0);
    ck_assert_int_eq(symlink("a", b), 0);
    soap_error err;
    ck_assert_int_eq(write_text(a, "x\n", &err), SOAP_ERR_IO);
    ck_assert_msg(strstr(err.msg, a) && strstr(err.msg, "symbolic links"), "%s", err.msg);
    remove_dir(dir);
}
END_TEST

/* A character device stays one: written directly, never renamed over. As
 * root a null device node is made in a temporary folder (a writer that
 * renamed over its target could then not replace the machine's /dev/null);
 * otherwise /dev/null itself is written. */
START_TEST(test_char_device)
{
    char dir[64], node[128];
    make_dir(dir, sizeof dir);
    snprintf(node, sizeof node, "%s/null", dir);
    const char *path = node;
    if (mknod(node, S_IFCHR | 0666, makedev(1, 3)) != 0)
        path = "/dev/null";
    soap_error err;
    ck_assert_int_eq(write_text(path, "to the device\n", &err), SOAP_OK);
    struct stat sb;
    ck_assert_int_eq(lstat(path, &sb), 0);
    ck_assert_msg(S_ISCHR(sb.st_mode), "%s is no longer a character device", path);
    ck_assert_int_eq(count_entries(dir), path == node ? 1 : 0);
    /* Through a symlink too. */
    char link[128];
    snprintf(link, sizeof link, "%s/to-null", dir);
    ck_assert_int_eq(symlink(path, link), 0);
    ck_assert_int_eq(write_text(link, "x\n", &err), SOAP_OK);
    ck_assert_int_eq(lstat(link, &sb), 0);
    ck_assert(S_ISLNK(sb.st_mode));
    ck_assert_int_eq(lstat(path, &sb), 0);
    ck_assert(S_ISCHR(sb.st_mode));
    remove_dir(dir);
}
END_TEST

START_TEST(test_fifo)
{
    char dir[64], fifo[128];
    make_dir(dir, sizeof dir);
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    /* Our own reader end, so that opening for writing does not block; the
     * text fits in the pipe's buffer. */
    int rd = open(fifo, O_RDONLY | O_NONBLOCK);
    ck_assert_int_ge(rd, 0);
    soap_error err;
    ck_assert_int_eq(write_text(fifo, "through the pipe\n", &err), SOAP_OK);
    char buf[64] = "";
    ssize_t n = read(rd, buf, sizeof buf - 1);
    ck_assert_int_eq(n, 17);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "through the pipe\n");
    close(rd);
    struct stat sb;
    ck_assert_int_eq(lstat(fifo, &sb), 0);
    ck_assert(S_ISFIFO(sb.st_mode));
    ck_assert_int_eq(count_entries(dir), 1);
    remove_dir(dir);
}
END_TEST

/* /dev/fd/N, /proc/self/fd/N and /dev/stdout write through the descriptor:
 * into a pipe (whose /proc link names no file), and into a file opened for
 * appending (kept, not truncated nor replaced). */
START_TEST(test_fd_aliases)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    char path[64];
    snprintf(path, sizeof path, "/dev/fd/%d", p[1]);
    soap_error err;
    ck_assert_msg(write_text(path, "via fd\n", &err) == SOAP_OK, "%s", err.msg);
    snprintf(path, sizeof path, "/proc/self/fd/%d", p[1]);
    ck_assert_msg(write_text(path, "via proc\n", &err) == SOAP_OK, "%s", err.msg);
    close(p[1]);
    char buf[64] = "";
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    ck_assert_int_gt(n, 0);
    buf[n] = '\0';
    ck_assert_str_eq(buf, "via fd\nvia proc\n");
    close(p[0]);

    char dir[64], file[128];
    make_dir(dir, sizeof dir);
    snprintf(file, sizeof file, "%s/log.txt", dir);
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "first\n", 6), 6);
    struct stat before, after;
    ck_assert_int_eq(fstat(fd, &before), 0);
    fflush(stdout);
    int saved = dup(1);
    dup2(fd, 1);
    soap_status st = write_text("/dev/stdout", "second\n", &err);
    dup2(saved, 1);
    close(saved);
    close(fd);
    ck_assert_msg(st == SOAP_OK, "%s", err.msg);
    ck_assert_str_eq(slurp(file), "first\nsecond\n");
    ck_assert_int_eq(stat(file, &after), 0);
    ck_assert(after.st_ino == before.st_ino);
    ck_assert_int_eq(count_entries(dir), 1);
    remove_dir(dir);
    /* A descriptor that is not open. */
    ck_assert_int_eq(write_text("/dev/fd/987", "x", &err), SOAP_ERR_IO);
    ck_assert_msg(strstr(err.msg, "/dev/fd/987"), "%s", err.msg);
}
END_TEST

START_TEST(test_directory_refused)
{
    char dir[64];
    make_dir(dir, sizeof dir);
    soap_error err;
    ck_assert_int_eq(write_text(dir, "x\n", &err), SOAP_ERR_IO);
    ck_assert_msg(strstr(err.msg, dir) && strstr(err.msg, "is a directory"), "%s", err.msg);
    struct stat sb;
    ck_assert_int_eq(stat(dir, &sb), 0);
    ck_assert(S_ISDIR(sb.st_mode));
    ck_assert_int_eq(count_entries(dir), 0);
    /* The writer on top says the same. */
    ck_assert_int_eq(soap_write_file_atomic(dir, "x\n", &err), SOAP_ERR_IO);
    ck_assert_msg(strstr(err.msg, "is a directory"), "%s", err.msg);
    remove_dir(dir);
}
END_TEST

/* A full device (ENOSPC on every write). As root a full node (1, 7) is made
 * in a temporary folder, so that a writer that renamed over its target could
 * not replace the machine's /dev/full; otherwise /dev/full itself. */
START_TEST(test_dev_full)
{
    char dir[64], node[128];
    make_dir(dir, sizeof dir);
    snprintf(node, sizeof node, "%s/full", dir);
    const char *path = node;
    struct stat sb;
    if (mknod(node, S_IFCHR | 0666, makedev(1, 7)) != 0)
        path = "/dev/full";
    if (stat(path, &sb) != 0 || !S_ISCHR(sb.st_mode)) {
        remove_dir(dir);
        return; /* no full device here (/dev/full is on every Linux) */
    }
    soap_error err;
    ck_assert_int_eq(write_text(path, "no room\n", &err), SOAP_ERR_IO);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, strerror(ENOSPC)), "%s", err.msg);
    ck_assert_int_eq(soap_write_file_atomic(path, "no room\n", &err), SOAP_ERR_IO);
    ck_assert_msg(strstr(err.msg, path), "%s", err.msg);
    ck_assert_int_eq(lstat(path, &sb), 0);
    ck_assert(S_ISCHR(sb.st_mode));
    remove_dir(dir);
}
END_TEST

/* A write that fails half-way (a file size limit: EFBIG) is an error with
 * the path, and the old file is untouched; so is an aborted one. */
START_TEST(test_failed_write_keeps_old)
{
    char dir[64], path[128];
    make_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/keep.csv", dir);
    soap_test_write(path, "old contents\n");
    soap_error err;
    soap_error_clear(&err);

    soap_outfile *o = soap_outfile_open(path, &err);
    ck_assert_ptr_nonnull(o);
    fputs("half-written\n", soap_outfile_stream(o));
    soap_outfile_abort(o);
    ck_assert_str_eq(slurp(path), "old contents\n");
    ck_assert_int_eq(count_entries(dir), 1);

    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, lim;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 4096;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
    o = soap_outfile_open(path, &err);
    ck_assert_ptr_nonnull(o);
    for (int i = 0; i < 2000; i++)
        fputs("0123456789\n", soap_outfile_stream(o));
    soap_status st = soap_outfile_commit(o, &err);
    setrlimit(RLIMIT_FSIZE, &old);
    ck_assert_int_eq(st, SOAP_ERR_IO);
    ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, "cannot write"), "%s", err.msg);
    ck_assert_str_eq(slurp(path), "old contents\n");
    ck_assert_int_eq(count_entries(dir), 1);
    remove_dir(dir);
}
END_TEST

START_TEST(test_missing_folder)
{
    soap_error err;
    ck_assert_int_eq(write_text("/nonexistent-soap-dir/x.json", "x", &err), SOAP_ERR_IO);
    ck_assert_msg(strstr(err.msg, "/nonexistent-soap-dir/x.json"), "%s", err.msg);
    ck_assert_int_eq(write_text("", "x", &err), SOAP_ERR_INVALID);
}
END_TEST

Suite *soap_suite_outfile(void)
{
    Suite *s = suite_create("outfile");
    TCase *tc = tcase_create("targets");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_regular_new_and_replaced);
    tcase_add_loop_test(tc, test_umask, 0, (int)(sizeof umask_table / sizeof umask_table[0]));
    tcase_add_test(tc, test_symlink);
    tcase_add_test(tc, test_symlink_loop);
    tcase_add_test(tc, test_char_device);
    tcase_add_test(tc, test_fifo);
    tcase_add_test(tc, test_directory_refused);
    tcase_add_test(tc, test_fd_aliases);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_dev_full);
    tcase_add_test(tc, test_failed_write_keeps_old);
    tcase_add_test(tc, test_missing_folder);
    suite_add_tcase(s, tc);
    return s;
}
