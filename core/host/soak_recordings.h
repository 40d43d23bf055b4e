#pragma once
// What `simhost soak` checks of the recordings its hosts wrote (soak_recordings.c): every file of the
// directory opens (a run cut by SIGKILL lists as incomplete, never unreadable), every frame up to its
// last committed one reads and decodes in order from frame 0, and every recording the host called
// complete in its `complete` message holds the frames that message counted.
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

// The `complete` messages' "recording" objects with "complete": true, gathered by the client threads.
typedef struct soak_claims
{
    pthread_mutex_t lock;
    struct soak_claim
    {
        char id[129];
        long frames;
    } * list;
    size_t count, cap;
} soak_claims;

void soak_claims_init(soak_claims* c);
void soak_claims_free(soak_claims* c);
// Records a `complete` message's recording object (no-op when it has none or it is not complete).
void soak_claims_note(soak_claims* c, const char* message, size_t len);

enum
{
    SOAK_REASON_KINDS = 12
};

typedef struct soak_rec_check
{
    int checked, complete, incomplete, unreadable;
    long frames_read;
    // Frames missing or unreadable at or before a recording's last committed frame, plus frames a
    // `complete` message counted that the file does not hold.
    long frames_lost;
    int claims_missing; // recordings the host called complete that are not in the directory
    char first_problem[400];
    struct
    {
        char text[96];
        int count;
    } reasons[SOAK_REASON_KINDS]; // why the incomplete ones are
    int reason_kinds;
} soak_rec_check;

// A recording being written with 40 … 100 frames committed: only a 3 s recorded run (187 frames) is
// there — a 0.5 s complete run ends at 32, a vanishing client's after about 5 — and a kill now cuts it
// with at least 1.4 s still to go.
bool soak_recording_cuttable(const char* path);
// Checks every recording of dir against the claims; false when the directory cannot be listed.
bool soak_recordings_check(const char* dir, soak_claims* claims, soak_rec_check* out);
void soak_recordings_report(const soak_rec_check* c);
// Removes dir's files and dir itself (the soak's own scratch directory).
void soak_recordings_remove(const char* dir);
