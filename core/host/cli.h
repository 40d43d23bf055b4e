#pragma once
// Subcommands of the `simhost` program. Each takes argv after its own name and returns the exit status:
// 0 success, 1 failure, 2 bad usage (README.md "Command line").

#include "simhost/base.h"

enum
{
    SH_EXIT_OK = 0,
    SH_EXIT_FAIL = 1,
    SH_EXIT_USAGE = 2
};

int sh_cmd_serve(int argc, char** argv);
int sh_cmd_run(int argc, char** argv);
int sh_cmd_repl(int argc, char** argv);
int sh_cmd_attach(int argc, char** argv);
int sh_cmd_assets(int argc, char** argv);
int sh_cmd_bench(int argc, char** argv);
int sh_cmd_bench_live(int argc, char** argv);
int sh_cmd_cluster(int argc, char** argv);
int sh_cmd_bench_frames(int argc, char** argv);
int sh_cmd_recordings(int argc, char** argv);
int sh_cmd_soak(int argc, char** argv);

// Default locations: next to the build tree, else the install prefix (README.md "Command line").
const char* sh_default_assets_db(void);
const char* sh_default_scripts_dir(void);
const char* sh_default_web_dir(void);

// cli_args.c — the one parser of numbers given on the command line, and the one way its refusals read:
// "OPTION must be an integer in LO … HI, got 'TEXT'" (both ends included; the notation of
// docs/protocol.md). Whole strings only: empty text, trailing characters, overflow, NaN and infinities
// are refused. err gets the line; the caller adds its command's prefix.
bool sh_cli_int(const char* option, const char* text, int lo, int hi, int* out, sh_error* err);
// A finite number in lo … hi; above_lo refuses lo itself (a duration or a rate that must not be 0),
// and the line says so: "OPTION must be a number in 0 … 1000, above 0, got 'TEXT'".
bool sh_cli_number(const char* option, const char* text, double lo, double hi, bool above_lo, double* out,
                   sh_error* err);

// free_port.c — a TCP port on 127.0.0.1 nobody listens on right now (bind to port 0, read what the kernel
// picked, release it), for the hosts bench-live, cluster and soak start; -1 when none can be had.
int sh_free_port(void);
