// simhost: dispatch to subcommands; exit codes 0 ok, 1 failure, 2 bad usage.
#include "cli.h"

#include "simhost/base.h"

#include <stdio.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static const char usage[] =
    "simhost " SH_VERSION " — a Lua-scriptable rigid-body simulation host\n"
    "\n"
    "usage:\n"
    "  simhost serve [--host 127.0.0.1] [--port 8080] [--assets FILE] [--scripts DIR] [--web DIR]\n"
    "                [--repl] [--repl-socket PATH] [--max-sessions N] [--workers N]\n"
    "                [--agent-port P] [--exit-when-drained]\n"
    "  simhost run SCENARIO [--param k=v ...] [--duration S] [--timestep-ms T] [--out FILE]\n"
    "                       [--record [FILE.db]] [--scripts DIR] [--assets FILE]\n"
    "  simhost recordings list | show ID | export ID --jsonl|--csv | rm ID | verify ID [--dir DIR]\n"
    "  simhost repl [SCRIPT]\n"
    "  simhost attach PATH\n"
    "  simhost assets list | show NAME | import FILE --name NAME [--category C] | build [--out FILE]\n"
    "                (each takes --db FILE; default: the default asset DB)\n"
    "  simhost bench [SCENE ...] [--steps N] [--base N]\n"
    "  simhost bench-live [--sessions K] [--bodies M] [--seconds S] [--find-max [--p99-ms B]] [--aligned]\n"
    "                     [--encoding json|binary]\n"
    "  simhost bench-frames [--bodies N[,N...]]\n"
    "  simhost cluster [--hosts N] [--port P] [--max-sessions M] [-- SERVE OPTIONS...]\n"
    "  simhost soak [--seconds S | --minutes M] [--clients N]\n"
    "  simhost --version | --help\n"
    "\n"
    "Run `simhost COMMAND --help` for the options of one command.\n";

typedef struct command
{
    const char* name;
    int (*run)(int argc, char** argv);
} command;

static const command commands[] = {
    {"serve", sh_cmd_serve},
    {"run", sh_cmd_run},
    {"repl", sh_cmd_repl},
    {"attach", sh_cmd_attach},
    {"assets", sh_cmd_assets},
    {"bench", sh_cmd_bench},
    {"bench-live", sh_cmd_bench_live},
    {"bench-frames", sh_cmd_bench_frames},
    {"cluster", sh_cmd_cluster},
    {"recordings", sh_cmd_recordings},
    {"soak", sh_cmd_soak},
};

// A frame is a fresh Lua string every tick (a 1000-body JSON frame is 520 KB). glibc serves blocks that
// size with mmap, or trims them off the heap top when freed, so every frame faulted its pages in anew:
// half of bench-frames' 1000-body JSON encode (1.67 → 0.90 ms with these two settings). Blocks up to
// 8 MiB come from the heap and up to 32 MiB of free heap stays mapped.
static void keep_frame_memory_mapped(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 8 << 20);
    mallopt(M_TRIM_THRESHOLD, 32 << 20);
#endif
}

int main(int argc, char** argv)
{
    keep_frame_memory_mapped();
    if (argc < 2)
    {
        fputs(usage, stderr);
        return SH_EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
    {
        fputs(usage, stdout);
        return SH_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
    {
        puts("simhost " SH_VERSION);
        return SH_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 2, argv + 2);
    fprintf(stderr, "simhost: unknown command '%s' (see simhost --help)\n", argv[1]);
    return SH_EXIT_USAGE;
}
