#pragma once
// Open recordings kept between replay requests (docs/recordings.md, "Measured"): opening a 1000-body
// recording reads its run row, 1000 body rows and counts its frames, which cost more than reading one frame.
// Workers take a reader for one request and give it back; a reader is only ever used by one request at a
// time. Only finished recordings are kept (their file no longer changes); a kept reader is reused only
// while its file is the same one (device, inode, size, modification time), so a deleted, replaced or
// trimmed recording is opened afresh.

#include "simhost/recording.h"

#include <sys/types.h>
#include <time.h>

#define SH_REPLAY_CACHE_MAX 8 // open recordings kept: 8 files, 8 descriptors (plus their -shm maps)

typedef struct sh_replay_cache sh_replay_cache;

// The file a reader was opened on, as stat saw it just before the open.
typedef struct sh_replay_file
{
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    bool known;
} sh_replay_file;

// A reader lent to one request.
typedef struct sh_replay_lease
{
    sh_rec_reader* r;
    sh_replay_file file;
} sh_replay_lease;

sh_replay_cache* sh_replay_cache_create(void);
void sh_replay_cache_destroy(sh_replay_cache* c); // NULL is fine
// A reader of path for this request alone (out->r): a kept one when its file did not change, else a fresh
// open (err as sh_rec_open's). With c NULL: a fresh open.
bool sh_replay_cache_take(sh_replay_cache* c, const char* path, sh_replay_lease* out, sh_error* err);
// Gives the lease (from take with the same path) back: kept when its recording is finished and its file is
// still the one it was opened on, else closed; the least recently used kept reader is closed when there
// are SH_REPLAY_CACHE_MAX already.
void sh_replay_cache_give(sh_replay_cache* c, const char* path, sh_replay_lease* lease);
// Closes every kept reader of path (before it is deleted).
void sh_replay_cache_forget(sh_replay_cache* c, const char* path);
