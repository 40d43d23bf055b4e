// The soak's recordings check: after the last host has exited, every file of the directory is opened and
// read to its last committed frame, and compared with what the `complete` messages claimed.
#include "soak_recordings.h"

#include "simhost/recording.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void soak_claims_init(soak_claims* c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
}

void soak_claims_free(soak_claims* c)
{
    free(c->list);
    pthread_mutex_destroy(&c->lock);
}

// The value after `"key":` inside [p, end), or NULL.
static const char* field(const char* p, const char* end, const char* key)
{
    char want[32];
    int n = snprintf(want, sizeof want, "\"%s\":", key);
    for (; p + n <= end; p++)
        if (memcmp(p, want, (size_t)n) == 0)
            return p + n;
    return NULL;
}

void soak_claims_note(soak_claims* c, const char* m, size_t len)
{
    const char* end = m + len;
    const char* obj = field(m, end, "recording");
    if (obj == NULL || *obj != '{')
        return;
    // The object holds no nested braces and its id no '}' (ids are [A-Za-z0-9_.-]).
    const char* close = memchr(obj, '}', (size_t)(end - obj));
    const char* id = close ? field(obj, close, "id") : NULL;
    const char* frames = close ? field(obj, close, "frames") : NULL;
    const char* complete = close ? field(obj, close, "complete") : NULL;
    if (id == NULL || *id != '"' || frames == NULL || complete == NULL || strncmp(complete, "true", 4) != 0)
        return;
    struct soak_claim one = {.frames = strtol(frames, NULL, 10)};
    size_t k = 0;
    for (id++; id < close && *id != '"' && k + 1 < sizeof one.id; id++)
        one.id[k++] = *id;
    pthread_mutex_lock(&c->lock);
    if (c->count == c->cap)
    {
        size_t cap = c->cap ? 2 * c->cap : 256;
        struct soak_claim* grown = realloc(c->list, cap * sizeof *grown);
        if (grown != NULL)
            c->list = grown, c->cap = cap;
    }
    if (c->count < c->cap)
        c->list[c->count++] = one;
    pthread_mutex_unlock(&c->lock);
}

static void problem(soak_rec_check* c, const char* id, const char* what)
{
    if (c->first_problem[0] == '\0')
        snprintf(c->first_problem, sizeof c->first_problem, "%s: %s", id, what);
}

static void count_reason(soak_rec_check* c, const char* reason)
{
    int i = 0;
    while (i < c->reason_kinds && strcmp(c->reasons[i].text, reason) != 0)
        i++;
    if (i == c->reason_kinds && i < SOAK_REASON_KINDS)
    {
        // "the disk fell behind: 256 frames (N bytes) ..." differs by its numbers: one kind per text
        // up to the first ':' keeps the table short.
        snprintf(c->reasons[i].text, sizeof c->reasons[i].text, "%.*s", (int)strcspn(reason, ":"), reason);
        c->reason_kinds++;
    }
    if (i < SOAK_REASON_KINDS)
        c->reasons[i].count++;
}

typedef struct walk
{
    int64_t next; // the frame id expected next
    long ok;      // frames read in order and decoded
    char error[160];
} walk;

static bool each_frame(void* ud, const sh_rec_frame_row* row, const uint8_t* bytes, size_t len)
{
    walk* w = ud;
    sh_frame_view v;
    sh_error err = {{0}};
    if (row->frame_id != w->next)
    {
        snprintf(w->error, sizeof w->error, "frame %lld follows frame %lld", (long long)row->frame_id,
                 (long long)w->next - 1);
        return false;
    }
    if (!sh_frame_decode(bytes, len, &v, &err) || v.frame_id != (uint32_t)row->frame_id)
    {
        snprintf(w->error, sizeof w->error, "frame %lld does not decode: %s", (long long)row->frame_id,
                 err.message[0] ? err.message : "another frame id");
        return false;
    }
    w->next++;
    w->ok++;
    return true;
}

// One readable recording: every frame 0 … last reads, in order; the frames a claim counted are there.
static void check_one(soak_rec_check* c, const char* path, const sh_rec_entry* e, const soak_claims* claims)
{
    sh_rec_reader* r = NULL;
    sh_error err = {{0}};
    if (!sh_rec_open(path, &r, &err))
    {
        c->unreadable++;
        problem(c, e->id, err.message);
        return;
    }
    const sh_rec_run* run = sh_rec_run_info(r);
    int64_t expected = run->frame_count > 0 ? run->last_frame + 1 : 0;
    walk w = {0};
    if (!sh_rec_frames(r, 0, INT64_MAX, each_frame, &w, &err) && w.error[0] == '\0')
        snprintf(w.error, sizeof w.error, "%s", err.message);
    c->frames_read += w.ok;
    c->frames_lost += (long)(expected - w.ok);
    if (w.ok < expected)
        problem(c, e->id, w.error[0] ? w.error : "frames missing before the last one");
    if (run->complete)
        c->complete++;
    else
    {
        c->incomplete++;
        count_reason(c, run->reason[0] ? run->reason : "(no reason)");
    }
    for (size_t i = 0; i < claims->count; i++)
        if (strcmp(claims->list[i].id, e->id) == 0)
        {
            if (!run->complete)
                problem(c, e->id, "the host called it complete; the file says incomplete");
            if (claims->list[i].frames > w.ok)
            {
                c->frames_lost += claims->list[i].frames - w.ok;
                problem(c, e->id, "fewer frames than its complete message counted");
            }
        }
    sh_rec_close(r);
}

bool soak_recording_cuttable(const char* path)
{
    sh_rec_reader* r = NULL;
    sh_error err = {{0}};
    if (!sh_rec_open(path, &r, &err))
        return false;
    const sh_rec_run* run = sh_rec_run_info(r);
    bool young = !run->finished && run->frame_count >= 40 && run->frame_count <= 100;
    sh_rec_close(r);
    return young;
}

bool soak_recordings_check(const char* dir, soak_claims* claims, soak_rec_check* out)
{
    memset(out, 0, sizeof *out);
    sh_rec_entry* list = NULL;
    int n = 0;
    sh_error err = {{0}};
    if (!sh_rec_list(dir, &list, &n, &err))
    {
        snprintf(out->first_problem, sizeof out->first_problem, "%s", err.message);
        return false;
    }
    for (int i = 0; i < n; i++)
    {
        out->checked++;
        if (!list[i].readable)
        {
            out->unreadable++;
            problem(out, list[i].id, list[i].error);
            continue;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%s%s", dir, list[i].id, SH_REC_SUFFIX);
        check_one(out, path, &list[i], claims);
    }
    for (size_t k = 0; k < claims->count; k++)
    {
        bool found = false;
        for (int i = 0; i < n && !found; i++)
            found = strcmp(list[i].id, claims->list[k].id) == 0;
        if (!found)
        {
            out->claims_missing++;
            out->frames_lost += claims->list[k].frames;
            problem(out, claims->list[k].id, "called complete by the host, missing from the directory");
        }
    }
    sh_rec_list_free(list, n);
    return true;
}

void soak_recordings_report(const soak_rec_check* c)
{
    printf("recordings checked: %d (complete %d, incomplete %d, unreadable %d), frames read %ld, "
           "committed frames lost %ld\n",
           c->checked, c->complete, c->incomplete, c->unreadable, c->frames_read, c->frames_lost);
    for (int i = 0; i < c->reason_kinds; i++)
        printf("  incomplete %6d  %s\n", c->reasons[i].count, c->reasons[i].text);
    if (c->first_problem[0])
        printf("first recording problem: %s\n", c->first_problem);
}

void soak_recordings_remove(const char* dir)
{
    DIR* d = opendir(dir);
    if (d == NULL)
        return;
    char path[4096];
    for (struct dirent* e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
        {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(dir);
}
