// simhost run — placeholder until its issue lands.
#include "cli.h"

#include <stdio.h>

int sh_cmd_run(int argc, char** argv)
{
    (void)argc;
    (void)argv;
    fputs("simhost run: not built yet\n", stderr);
    return SH_EXIT_FAIL;
}
