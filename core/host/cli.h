#pragma once
// Subcommands of the `simhost` program. Each takes argv after its own name and returns the exit status:
// 0 success, 1 failure, 2 bad usage (architecture.md).

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
int sh_cmd_soak(int argc, char** argv);

// Default locations: next to the build tree, else the install prefix (architecture.md "Defaults").
const char* sh_default_assets_db(void);
const char* sh_default_scripts_dir(void);
const char* sh_default_web_dir(void);
