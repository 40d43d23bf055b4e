// The recordings directory: ids, the listing (unreadable files included, with why), and retention.
// An id is only ever looked up among the listed files, never joined into a path as given.
#include "rec_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

bool sh_rec_id_valid(const char* id)
{
    size_t n = strlen(id);
    if (n == 0 || n > SH_REC_ID_MAX || id[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
    {
        char c = id[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-' || c == '.';
        if (!ok)
            return false;
    }
    return true;
}

void sh_rec_make_id(char* out, size_t size, const char* what, unsigned tag)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    char name[40];
    size_t k = 0;
    for (const char* p = what ? what : "live"; *p && k + 1 < sizeof name; p++)
    {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-';
        name[k++] = ok ? c : '_';
    }
    name[k] = '\0';
    // Milliseconds and the tag (session id or pid) keep two recordings of one second apart.
    snprintf(out, size, "%04d%02d%02d-%02d%02d%02d.%03ld-%s-%u", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, name, tag);
}

static bool id_of(const char* name, char* id, size_t size)
{
    size_t n = strlen(name), s = strlen(SH_REC_SUFFIX);
    if (n <= s || strcmp(name + n - s, SH_REC_SUFFIX) != 0 || n - s >= size)
        return false;
    memcpy(id, name, n - s);
    id[n - s] = '\0';
    return sh_rec_id_valid(id);
}

static int newest_first(const void* a, const void* b)
{
    const sh_rec_entry *x = a, *y = b;
    const char* cx = x->readable ? x->run.created : "";
    const char* cy = y->readable ? y->run.created : "";
    int c = strcmp(cy, cx);
    if (c != 0 && cx[0] && cy[0])
        return c;
    if (x->mtime != y->mtime)
        return x->mtime < y->mtime ? 1 : -1;
    return strcmp(y->id, x->id);
}

bool sh_rec_list(const char* dir, sh_rec_entry** out, int* count, sh_error* err)
{
    *out = NULL;
    *count = 0;
    DIR* d = opendir(dir);
    if (d == NULL)
    {
        if (errno == ENOENT)
            return true;
        return sh_error_set(err, "cannot read %s: %s", dir, strerror(errno));
    }
    int cap = 0, n = 0;
    sh_rec_entry* list = NULL;
    bool ok = true;
    struct dirent* e;
    while (ok && (e = readdir(d)) != NULL)
    {
        char id[SH_REC_ID_MAX + 1], path[4096];
        if (!id_of(e->d_name, id, sizeof id))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (n == cap)
        {
            int ncap = cap ? 2 * cap : 16;
            sh_rec_entry* grown = sh_realloc(list, (size_t)cap * sizeof *list, (size_t)ncap * sizeof *list);
            if (grown == NULL)
            {
                ok = sh_error_set(err, "out of memory");
                break;
            }
            list = grown;
            cap = ncap;
        }
        sh_rec_entry* x = &list[n++];
        memset(x, 0, sizeof *x);
        snprintf(x->id, sizeof x->id, "%s", id);
        x->mtime = (int64_t)sb.st_mtime;
        x->bytes = (int64_t)sb.st_size;
        sh_rec_reader* r = NULL;
        sh_error why = {{0}};
        x->readable = sh_rec_open(path, &r, &why);
        if (x->readable)
        {
            x->run = *sh_rec_run_info(r);
            sh_rec_close(r);
        }
        else
            snprintf(x->error, sizeof x->error, "%s", why.message);
    }
    closedir(d);
    if (!ok)
    {
        sh_free(list, (size_t)cap * sizeof *list);
        return false;
    }
    if (n > 1)
        qsort(list, (size_t)n, sizeof *list, newest_first);
    // Hand back exactly n entries so the caller frees what it was given.
    if (n < cap)
    {
        sh_rec_entry* exact =
            n ? sh_realloc(list, (size_t)cap * sizeof *list, (size_t)n * sizeof *list) : NULL;
        if (n && exact == NULL)
        {
            sh_free(list, (size_t)cap * sizeof *list);
            return sh_error_set(err, "out of memory");
        }
        if (!n)
            sh_free(list, (size_t)cap * sizeof *list);
        list = exact;
    }
    *out = list;
    *count = n;
    return true;
}

void sh_rec_list_free(sh_rec_entry* entries, int count)
{
    if (entries != NULL)
        sh_free(entries, (size_t)count * sizeof *entries);
}

bool sh_rec_path(const char* dir, const char* id, char* path, size_t size)
{
    if (!sh_rec_id_valid(id))
        return false;
    DIR* d = opendir(dir);
    if (d == NULL)
        return false;
    bool found = false;
    struct dirent* e;
    char want[SH_REC_ID_MAX + 8];
    snprintf(want, sizeof want, "%s%s", id, SH_REC_SUFFIX);
    while (!found && (e = readdir(d)) != NULL)
        found = strcmp(e->d_name, want) == 0;
    closedir(d);
    if (!found)
        return false;
    int n = snprintf(path, size, "%s/%s", dir, want);
    struct stat sb;
    return n > 0 && (size_t)n < size && stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int oldest_first(const void* a, const void* b)
{
    return -newest_first(a, b);
}

void sh_rec_unlink_with_sidecars(const char* path)
{
    static const char* const tails[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++)
    {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", path, tails[i]);
        unlink(p);
    }
}

static void remove_files(const char* dir, const char* id)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s", dir, id, SH_REC_SUFFIX);
    sh_rec_unlink_with_sidecars(path);
}

int sh_rec_retain(const char* dir, size_t max_bytes, const char* keep_id)
{
    sh_rec_entry* list = NULL;
    int n = 0, removed = 0;
    sh_error err;
    if (!sh_rec_list(dir, &list, &n, &err))
        return 0;
    int64_t total = 0;
    for (int i = 0; i < n; i++)
        total += list[i].bytes;
    if (n > 1)
        qsort(list, (size_t)n, sizeof *list, oldest_first);
    // Finished recordings only (the writer closed them): one being written, or cut by a killed host, stays.
    for (int i = 0; i < n && total > (int64_t)max_bytes; i++)
    {
        if (!list[i].readable || !list[i].run.finished ||
            (keep_id != NULL && strcmp(list[i].id, keep_id) == 0))
            continue;
        remove_files(dir, list[i].id);
        total -= list[i].bytes;
        removed++;
    }
    sh_rec_list_free(list, n);
    return removed;
}

// A .part lives for the milliseconds between a recording's creation and its first commit
// (recorder.c), so one left for min_age_s (the host passes 60 s, so a neighbour host sharing the
// directory keeps the file it is creating) was left by a killed host and holds nothing to replay.
int sh_rec_sweep_parts(const char* dir, double min_age_s)
{
    static const char part_suffix[] = SH_REC_SUFFIX ".part";
    DIR* d = opendir(dir);
    if (d == NULL)
        return 0;
    int removed = 0;
    time_t now = time(NULL);
    struct dirent* e;
    while ((e = readdir(d)) != NULL)
    {
        size_t n = strlen(e->d_name), s = sizeof part_suffix - 1;
        if (n <= s || strcmp(e->d_name + n - s, part_suffix) != 0)
            continue;
        char path[4096];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || difftime(now, sb.st_mtime) < min_age_s)
            continue;
        sh_rec_unlink_with_sidecars(path);
        removed++;
    }
    closedir(d);
    return removed;
}
