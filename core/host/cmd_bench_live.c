// simhost bench-live — placeholder until its issue lands.
#include "cli.h"

#include <stdio.h>

int sh_cmd_bench_live(int argc, char** argv)
{
    (void)argc;
    (void)argv;
    fputs("simhost bench-live: not built yet\n", stderr);
    return SH_EXIT_FAIL;
}
