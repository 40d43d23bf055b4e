#pragma once
// Private to core/rec: the frame codecs of the frames table (docs/recordings.md), and file removal.

#include "simhost/recording.h"

#include <sqlite3.h>

enum
{
    SH_REC_CODEC_RAW = 0,      // data is the SHF1 frame
    SH_REC_CODEC_ZLIB = 1,     // zlib of the SHF1 frame (a key frame)
    SH_REC_CODEC_ZLIB_XOR = 2, // zlib of the frame XOR its key frame `base` over their common length
};

// Unlinks a SQLite file and the files SQLite keeps beside it (-wal, -shm, -journal); missing ones are
// no error (recording_dir.c).
void sh_rec_unlink_with_sidecars(const char* path);
