// Open recordings kept between replay requests (replay_cache.h). One mutex guards the table; SQLite work
// (open, close) happens outside it.
#include "replay_cache.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

typedef struct entry
{
    char path[PATH_MAX];
    sh_replay_file id;
    sh_rec_reader* r; // NULL: a free slot
    uint64_t used;    // the tick of its last give
} entry;

struct sh_replay_cache
{
    pthread_mutex_t lock;
    entry slots[SH_REPLAY_CACHE_MAX];
    uint64_t tick;
};

sh_replay_cache* sh_replay_cache_create(void)
{
    sh_replay_cache* c = sh_alloc_zeroed(sizeof *c);
    if (c != NULL && pthread_mutex_init(&c->lock, NULL) != 0)
    {
        sh_free(c, sizeof *c);
        c = NULL;
    }
    return c;
}

void sh_replay_cache_destroy(sh_replay_cache* c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < SH_REPLAY_CACHE_MAX; i++)
        sh_rec_close(c->slots[i].r);
    pthread_mutex_destroy(&c->lock);
    sh_free(c, sizeof *c);
}

static bool file_of(const char* path, sh_replay_file* out)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return false;
    *out = (sh_replay_file){
        .dev = sb.st_dev, .ino = sb.st_ino, .size = sb.st_size, .mtime = sb.st_mtim, .known = true};
    return true;
}

static bool same_file(const sh_replay_file* a, const sh_replay_file* b)
{
    return a->known && b->known && a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

// A -wal beside the file means a writer may still be adding to it (or a killed one left frames there).
static bool has_wal(const char* path)
{
    char wal[PATH_MAX + 8];
    struct stat sb;
    snprintf(wal, sizeof wal, "%s-wal", path);
    return stat(wal, &sb) == 0 && sb.st_size > 0;
}

bool sh_replay_cache_take(sh_replay_cache* c, const char* path, sh_replay_lease* out, sh_error* err)
{
    *out = (sh_replay_lease){0};
    if (!file_of(path, &out->file))
        out->file.known = false;
    sh_rec_reader* stale[SH_REPLAY_CACHE_MAX];
    int n_stale = 0;
    if (c != NULL && out->file.known)
    {
        pthread_mutex_lock(&c->lock);
        for (int i = 0; i < SH_REPLAY_CACHE_MAX; i++)
        {
            entry* e = &c->slots[i];
            if (e->r == NULL || strcmp(e->path, path) != 0)
                continue;
            bool same = same_file(&e->id, &out->file);
            if (same && out->r != NULL)
                continue; // another kept reader of the same file: it stays
            if (same)
                out->r = e->r;
            else
                stale[n_stale++] = e->r;
            e->r = NULL;
        }
        pthread_mutex_unlock(&c->lock);
    }
    for (int i = 0; i < n_stale; i++)
        sh_rec_close(stale[i]);
    return out->r != NULL || sh_rec_open(path, &out->r, err);
}

void sh_replay_cache_give(sh_replay_cache* c, const char* path, sh_replay_lease* lease)
{
    sh_rec_reader* r = lease->r;
    sh_replay_file now;
    lease->r = NULL;
    if (c == NULL || r == NULL || !sh_rec_run_info(r)->finished || strlen(path) >= PATH_MAX ||
        has_wal(path) || !file_of(path, &now) || !same_file(&now, &lease->file))
    {
        sh_rec_close(r);
        return;
    }
    pthread_mutex_lock(&c->lock);
    entry* slot = &c->slots[0];
    for (int i = 0; i < SH_REPLAY_CACHE_MAX; i++)
    {
        entry* e = &c->slots[i];
        if (e->r == NULL)
        {
            slot = e;
            break;
        }
        if (e->used < slot->used)
            slot = e;
    }
    sh_rec_reader* evicted = slot->r;
    snprintf(slot->path, sizeof slot->path, "%s", path);
    slot->id = now;
    slot->r = r;
    slot->used = ++c->tick;
    pthread_mutex_unlock(&c->lock);
    sh_rec_close(evicted);
}

void sh_replay_cache_forget(sh_replay_cache* c, const char* path)
{
    if (c == NULL)
        return;
    sh_rec_reader* gone[SH_REPLAY_CACHE_MAX];
    int n = 0;
    pthread_mutex_lock(&c->lock);
    for (int i = 0; i < SH_REPLAY_CACHE_MAX; i++)
    {
        entry* e = &c->slots[i];
        if (e->r != NULL && strcmp(e->path, path) == 0)
        {
            gone[n++] = e->r;
            e->r = NULL;
        }
    }
    pthread_mutex_unlock(&c->lock);
    for (int i = 0; i < n; i++)
        sh_rec_close(gone[i]);
}
