// simhost assets — placeholder until its issue lands.
#include "cli.h"

#include <stdio.h>

int sh_cmd_assets(int argc, char** argv)
{
    (void)argc;
    (void)argv;
    fputs("simhost assets: not built yet\n", stderr);
    return SH_EXIT_FAIL;
}
