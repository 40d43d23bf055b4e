// Bytes -> a file -> the recording reader (core/rec/recording_read.c), as the replay routes and the CLI use
// it: open, the run and the bodies, the frame list, frames one by one and as a range (each decoded and
// turned into the old service's FrameData JSON), the inputs, the body energies. Oracle: an open either
// succeeds or says why in one line; the bodies it lists are found by id; every failure has a message; a
// frame it hands out decodes within its own length or is refused with a message.
#include "simhost/recording.h"
#include "simhost/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// Past these a recording is still read, just not all of it: one input stays well under a millisecond.
#define MAX_ROWS   64
#define MAX_FRAMES 8

static char dir[64], path[96];

static void require(int ok, const char* what)
{
    if (!ok)
    {
        fprintf(stderr, "fuzz_recording: %s\n", what);
        abort();
    }
}

static void remove_files(void)
{
    static const char* const tails[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof tails / sizeof tails[0]; i++)
    {
        char p[128];
        snprintf(p, sizeof p, "%s%s", path, tails[i]);
        unlink(p);
    }
}

static void cleanup(void)
{
    remove_files();
    rmdir(dir);
}

int LLVMFuzzerInitialize(int* argc, char*** argv)
{
    (void)argc;
    (void)argv;
    snprintf(dir, sizeof dir, "/tmp/fuzz_recording.XXXXXX");
    require(mkdtemp(dir) != NULL, "cannot make a temporary directory");
    snprintf(path, sizeof path, "%s/r.db", dir);
    atexit(cleanup);
    return 0;
}

typedef struct rows
{
    int64_t ids[MAX_ROWS];
    int n;
} rows;

static bool on_row(void* ud, const sh_rec_frame_row* row)
{
    rows* r = ud;
    r->ids[r->n++] = row->frame_id;
    return r->n < MAX_ROWS;
}

typedef struct frames
{
    sh_rec_reader* r;
    int n;
    sh_buf json;
} frames;

// A frame's bytes: decoded, every body's energies, and FrameData JSON.
static void use_frame(sh_rec_reader* r, const uint8_t* bytes, size_t len, sh_buf* json)
{
    sh_frame_view v;
    sh_error err = {{0}};
    if (!sh_frame_decode(bytes, len, &v, &err))
    {
        require(err.message[0] != '\0', "a frame rejected without a message");
        return;
    }
    require(v.total_bytes <= len, "a frame longer than its bytes");
    const sh_rec_run* u = sh_rec_run_info(r);
    for (uint32_t i = 0; i < v.body_count && i < 64; i++)
    {
        sh_frame_body s;
        sh_frame_body_at(&v, i, &s);
        const sh_rec_body* b = sh_rec_body_find(r, s.id);
        if (b != NULL)
        {
            double lin, rot, pe;
            sh_rec_body_energy(b, &s, u->gravity[2], &lin, &rot, &pe);
        }
    }
    json->len = 0;
    require(sh_replay_frame_json(json, bytes, len, NULL, NULL, &err), "a decoded frame the JSON refused");
}

static bool on_frame(void* ud, const sh_rec_frame_row* row, const uint8_t* bytes, size_t len)
{
    (void)row;
    frames* f = ud;
    use_frame(f->r, bytes, len, &f->json);
    return ++f->n < MAX_FRAMES;
}

static bool on_input(void* ud, int64_t after_frame, const char* json)
{
    (void)after_frame;
    int* n = ud;
    require(json != NULL, "an input without text");
    return ++*n < MAX_ROWS;
}

static void read_all(sh_rec_reader* r)
{
    const sh_rec_run* u = sh_rec_run_info(r);
    require(memchr(u->id, '\0', sizeof u->id) && memchr(u->reason, '\0', sizeof u->reason),
            "unterminated run text");
    require(u->body_count == sh_rec_body_count(r) && u->body_count >= 0, "body counts disagree");
    for (int i = 0; i < sh_rec_body_count(r); i++)
    {
        const sh_rec_body* b = sh_rec_body_at(r, i);
        require(b != NULL, "a listed body missing");
        const sh_rec_body* found = sh_rec_body_find(r, b->body_id);
        require(found != NULL && found->body_id == b->body_id, "a listed body not found by id");
    }
    require(sh_rec_body_at(r, -1) == NULL && sh_rec_body_at(r, sh_rec_body_count(r)) == NULL,
            "a body past the list");
    static const char* const texts[] = {"metadata", "assets", "params", "configure", "scenario", "other"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        require(sh_rec_text(r, texts[i]) != NULL, "a NULL text");
    rows list = {{0}};
    sh_error err = {{0}};
    bool ok = sh_rec_rows(r, on_row, &list, &err);
    require(ok || err.message[0], "a failed frame list without a message");
    frames f = {.r = r};
    sh_frame_buf frame = {0};
    for (int i = 0; i < list.n && i < MAX_FRAMES; i++)
    {
        // A listed frame may still be missing: in a damaged file the row index and the table can disagree
        // (the first crash this target found was such a file, not a reader bug).
        bool found = false;
        if (sh_rec_frame(r, list.ids[i], &frame, &found, &err))
        {
            if (found)
                use_frame(r, frame.data, frame.len, &f.json);
        }
        else
            require(err.message[0], "a failed frame without a message");
    }
    sh_frame_buf_free(&frame);
    err.message[0] = '\0';
    if (!sh_rec_frames(r, u->first_frame, MAX_FRAMES, on_frame, &f, &err))
        require(err.message[0], "a failed range without a message");
    f.n = 0;
    sh_rec_frames(r, u->last_frame > 4 ? u->last_frame - 4 : 0, 100, on_frame, &f, &err);
    int inputs = 0;
    sh_rec_inputs(r, on_input, &inputs, &err);
    sh_buf_free(&f.json);
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    remove_files();
    FILE* out = fopen(path, "wb");
    require(out != NULL, "cannot write the temporary file");
    require(fwrite(data, 1, size, out) == size || size == 0, "cannot write the temporary file");
    fclose(out);
    sh_rec_reader* r = NULL;
    sh_error err = {{0}};
    if (sh_rec_open(path, &r, &err))
    {
        require(r != NULL, "an open without a reader");
        read_all(r);
        sh_rec_close(r);
    }
    else
        require(r == NULL && err.message[0] != '\0' && strchr(err.message, '\n') == NULL,
                "a refused file without one line saying why");
    return 0;
}
