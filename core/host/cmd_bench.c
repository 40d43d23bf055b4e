// simhost bench — placeholder until its issue lands.
#include "cli.h"

#include <stdio.h>

int sh_cmd_bench(int argc, char** argv)
{
    (void)argc;
    (void)argv;
    fputs("simhost bench: not built yet\n", stderr);
    return SH_EXIT_FAIL;
}
