#pragma once
// Private to core/rec: the frame codecs of the frames table (docs/recordings.md).

#include "simhost/recording.h"

#include <sqlite3.h>

enum
{
    SH_REC_CODEC_RAW = 0,      // data is the SHF1 frame
    SH_REC_CODEC_ZLIB = 1,     // zlib of the SHF1 frame (a key frame)
    SH_REC_CODEC_ZLIB_XOR = 2, // zlib of the frame XOR its key frame `base` over their common length
};
