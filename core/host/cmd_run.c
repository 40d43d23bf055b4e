// simhost run SCENARIO — a scenario headless, as fast as the machine allows.
// C owns what must be exact or safe: the command line, the wall clock, SIGINT, the progress bar and the
// --out file. Lua (scripts/lib/run.lua, read from --scripts at start) builds the scenario's world with
// the same parameter checks as a live session and steps it; frames are encoded in C by w:frame_json.
// Each frame is written as one whole line and Ctrl-C is only looked at between frames, so an
// interrupted run still leaves a file whose every line is a complete protocol frame.
#include "cli.h"

#include "simhost/lua.h"

#include <errno.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

// 128 + SIGINT, what a shell reports for a command Ctrl-C ended: the run stopped early, by request.
#define EXIT_INTERRUPTED 130
#define MAX_PARAMS       64

static const char usage[] =
    "usage: simhost run SCENARIO [--param k=v ...] [--duration S] [--timestep-ms T] [--out FILE]\n"
    "                            [--record [FILE.db]] [--snapshot-every K] [--recordings DIR]\n"
    "                            [--scripts DIR] [--assets FILE]\n"
    "\n"
    "Runs scripts/scenarios/SCENARIO.lua headless, as fast as possible, and prints a summary.\n"
    "  --param k=v       set a scenario parameter (repeatable; checked against its type and range)\n"
    "  --duration S      simulated seconds (default: the scenario's `duration`, else 10)\n"
    "  --timestep-ms T   step length, integer 1 … 1000 (default 16)\n"
    "  --out FILE        write every frame as JSON Lines: {\"type\":\"frame\",\"data\":...}\n"
    "  --record [FILE]   record the run (docs/recordings.md) into FILE (must end in .db), or into the\n"
    "                    recordings directory under a fresh id\n"
    "  --snapshot-every K  with --record: store the whole world state every K frames, so a resume or\n"
    "                    verify starts from the nearest one instead of frame 0 (default: none)\n"
    "  --recordings DIR  the recordings directory (default: recordings/ beside the asset DB)\n"
    "  --scripts DIR     scripts directory (default: the installed or source tree's scripts/)\n"
    "  --assets FILE     asset DB (default: the default asset DB)\n"
    "A progress bar goes to stderr when it is a terminal. Ctrl-C stops the run: the partial summary is\n"
    "printed, the --out file holds whole frames, and the exit status is 130.\n"
    "Exit status: 0 done, 1 failure, 2 bad usage (unknown scenario, bad parameter, bad number).\n";

static volatile sig_atomic_t g_interrupted;
static lua_State* volatile g_running; // set while Lua runs scenario code that may loop (setup)

static void stop_hook(lua_State* L, lua_Debug* ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted");
}

static void on_sigint(int sig)
{
    (void)sig;
    g_interrupted = 1;
    // As lua.c's `laction`: a hook is the one thing a handler may set on a running state. The loop
    // itself polls g_interrupted between frames, so only a long setup needs the hook.
    lua_State* L = g_running;
    if (L != NULL)
        lua_sethook(L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    signal(SIGINT, SIG_DFL); // a second Ctrl-C ends the process the ordinary way
}

static int bad_usage(const char* fmt, const char* arg)
{
    fputs("simhost run: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see simhost run --help)\n", stderr);
    return SH_EXIT_USAGE;
}

// Lua's error value as one line: the run's own {kind, message} tables, else the first line of the
// message without its "file.lua:NN: " prefix.
static void error_line(lua_State* L, int idx, char* out, size_t n, bool* usage_error)
{
    *usage_error = false;
    const char* msg = NULL;
    if (lua_type(L, idx) == LUA_TTABLE)
    {
        lua_getfield(L, idx, "kind");
        *usage_error = lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "usage") == 0;
        lua_pop(L, 1);
        lua_getfield(L, idx, "message");
        msg = lua_tostring(L, -1);
        lua_pop(L, 1); // the table still holds the string
    }
    else
        msg = lua_tostring(L, idx);
    if (msg == NULL)
        msg = "script error";
    const char* p = strstr(msg, ".lua:");
    if (p != NULL)
    {
        const char* q = p + 5;
        while (*q >= '0' && *q <= '9')
            q++;
        if (q > p + 5 && q[0] == ':' && q[1] == ' ')
            msg = q + 2;
    }
    size_t len = strcspn(msg, "\n");
    if (len >= n)
        len = n - 1;
    memcpy(out, msg, len);
    out[len] = '\0';
}

// Calls the function below nargs arguments under pcall; on error prints one line and returns false.
static bool call(lua_State* L, int nargs, int nres, int* status)
{
    // No traceback: the user gets one line, and a scenario's error already names its file and line.
    int rc = lua_pcall(L, nargs, nres, 0);
    if (rc == LUA_OK)
        return true;
    char line[512];
    bool usage_error;
    error_line(L, -1, line, sizeof line, &usage_error);
    fprintf(stderr, "simhost run: %s\n", rc == LUA_ERRMEM ? "out of memory" : line);
    lua_pop(L, 1);
    *status = usage_error ? SH_EXIT_USAGE : SH_EXIT_FAIL;
    return false;
}

// "[#########...........]  45%  0.90 / 2.00 s" on one line, redrawn in place.
static void draw_progress(int frame, int total, double timestep)
{
    enum
    {
        WIDTH = 30
    };
    double f = total > 1 ? (double)frame / (total - 1) : 1.0;
    int filled = (int)(f * WIDTH);
    char bar[WIDTH + 1];
    for (int i = 0; i < WIDTH; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    fprintf(stderr, "\r[%s] %3d%%  %.2f / %.2f s", bar, (int)(f * 100), frame * timestep,
            (total - 1) * timestep);
    fflush(stderr);
}

typedef struct run_args
{
    const char* scenario;
    const char* params[MAX_PARAMS];
    int param_count;
    double duration; // < 0: the scenario's
    int timestep_ms;
    const char* out;
    bool record;
    const char* record_file; // NULL: a fresh id in the recordings directory
    int snapshot_every;      // 0: no snapshots
    const char* recordings;
    const char* scripts;
    const char* assets;
} run_args;

static int parse_args(int argc, char** argv, run_args* a)
{
    a->duration = -1;
    a->timestep_ms = 16;
    a->scripts = sh_default_scripts_dir();
    a->assets = sh_default_assets_db();
    for (int i = 0; i < argc; i++)
    {
        const char* arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
        {
            fputs(usage, stdout);
            return -1;
        }
        if (arg[0] != '-' || arg[1] == '\0')
        {
            if (a->scenario != NULL)
                return bad_usage("unexpected argument '%s'", arg);
            a->scenario = arg;
            continue;
        }
        if (strcmp(arg, "--record") == 0)
        {
            // The file is optional: the next argument is it only when it names a .db file.
            a->record = true;
            size_t n = i + 1 < argc ? strlen(argv[i + 1]) : 0;
            if (n > 3 && argv[i + 1][0] != '-' && strcmp(argv[i + 1] + n - 3, ".db") == 0)
                a->record_file = argv[++i];
            continue;
        }
        if (i + 1 >= argc)
            return bad_usage("'%s' needs a value", arg);
        const char* v = argv[++i];
        sh_error bad;
        if (strcmp(arg, "--param") == 0)
        {
            const char* eq = strchr(v, '=');
            if (eq == NULL || eq == v)
                return bad_usage("--param wants k=v, got '%s'", v);
            if (a->param_count == MAX_PARAMS)
                return bad_usage("too many --param (at most 64), at '%s'", v);
            a->params[a->param_count++] = v;
        }
        else if (strcmp(arg, "--duration") == 0)
        {
            if (!sh_cli_number(arg, v, 0, 86400, false, &a->duration, &bad))
                return bad_usage("%s", bad.message);
        }
        else if (strcmp(arg, "--timestep-ms") == 0)
        {
            if (!sh_cli_int(arg, v, 1, 1000, &a->timestep_ms, &bad))
                return bad_usage("%s", bad.message);
        }
        else if (strcmp(arg, "--out") == 0)
            a->out = v;
        else if (strcmp(arg, "--snapshot-every") == 0)
        {
            if (!sh_cli_int(arg, v, 1, 1 << 30, &a->snapshot_every, &bad))
                return bad_usage("%s", bad.message);
        }
        else if (strcmp(arg, "--scripts") == 0)
            a->scripts = v;
        else if (strcmp(arg, "--recordings") == 0)
            a->recordings = v;
        else if (strcmp(arg, "--assets") == 0)
            a->assets = v;
        else
            return bad_usage("unknown option '%s'", arg);
    }
    if (a->scenario == NULL)
        return bad_usage("%s", "which scenario? usage: simhost run SCENARIO [options]");
    return 0;
}

// A state like a live session's: standard libraries, `simhost` preloaded, package.path on the scripts
// dir plus the system's Lua dirs (lua-cjson), never the working directory.
static lua_State* new_state(const char* scripts)
{
    lua_State* L = luaL_newstate();
    if (L == NULL)
        return NULL;
    luaL_openlibs(L);
    luaL_requiref(L, "simhost", luaopen_simhost, 0);
    lua_pop(L, 1);
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;/usr/share/lua/5.4/?.lua;/usr/share/lua/5.4/?/init.lua",
                    scripts, scripts);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    return L;
}

// job.total, as an int (the loop bound).
static int job_int(lua_State* L, int job, const char* field)
{
    lua_getfield(L, job, field);
    int v = (int)lua_tointeger(L, -1);
    lua_pop(L, 1);
    return v;
}

int sh_cmd_run(int argc, char** argv)
{
    run_args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? SH_EXIT_OK : rc;

    // A wrong --scripts would otherwise surface as Lua's long "module 'lib.run' not found" list.
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/lib/run.lua", a.scripts);
    if (access(probe, R_OK) != 0)
        return bad_usage("no scripts directory at '%s' (it has no lib/run.lua)", a.scripts);

    int status = SH_EXIT_OK;
    FILE* out = NULL;
    lua_State* L = new_state(a.scripts);
    if (L == NULL)
    {
        fputs("simhost run: out of memory\n", stderr);
        return SH_EXIT_FAIL;
    }
    g_interrupted = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);

    // run = require "lib.run"; job = run.prepare{...}
    lua_getglobal(L, "require");
    lua_pushliteral(L, "lib.run");
    if (!call(L, 1, 1, &status))
        goto done;
    int run = lua_gettop(L);
    lua_getfield(L, run, "prepare");
    lua_createtable(L, 0, 6);
    lua_pushstring(L, a.scripts);
    lua_setfield(L, -2, "scripts_dir");
    lua_pushstring(L, a.scenario);
    lua_setfield(L, -2, "name");
    lua_pushstring(L, a.assets);
    lua_setfield(L, -2, "assets_path");
    lua_pushinteger(L, a.timestep_ms);
    lua_setfield(L, -2, "timestep_ms");
    if (a.duration >= 0)
    {
        lua_pushnumber(L, a.duration);
        lua_setfield(L, -2, "duration");
    }
    lua_createtable(L, 0, a.param_count);
    for (int i = 0; i < a.param_count; i++)
    {
        const char* eq = strchr(a.params[i], '=');
        lua_pushlstring(L, a.params[i], (size_t)(eq - a.params[i]));
        lua_pushstring(L, eq + 1);
        lua_settable(L, -3); // a repeated key: the last one wins, as with most CLIs
    }
    lua_setfield(L, -2, "params");
    if (a.record)
    {
        lua_createtable(L, 0, 2);
        if (a.record_file != NULL)
        {
            lua_pushstring(L, a.record_file);
            lua_setfield(L, -2, "file");
        }
        if (a.recordings != NULL)
        {
            lua_pushstring(L, a.recordings);
            lua_setfield(L, -2, "dir");
        }
        lua_pushinteger(L, (lua_Integer)getpid());
        lua_setfield(L, -2, "tag");
        lua_pushinteger(L, a.snapshot_every);
        lua_setfield(L, -2, "snapshots");
        lua_setfield(L, -2, "record");
    }
    g_running = L;
    bool prepared = call(L, 1, 1, &status);
    g_running = NULL;
    lua_sethook(L, NULL, 0, 0); // a Ctrl-C that came as setup returned must not fire in the loop
    if (!prepared)
    {
        if (g_interrupted)
            status = EXIT_INTERRUPTED;
        goto done;
    }
    int job = lua_gettop(L);
    int total = job_int(L, job, "total");
    double timestep = a.timestep_ms / 1000.0;

    if (a.out != NULL)
    {
        out = fopen(a.out, "wb");
        if (out == NULL)
        {
            fprintf(stderr, "simhost run: cannot write %s: %s\n", a.out, strerror(errno));
            status = SH_EXIT_FAIL;
            goto done;
        }
    }
    bool tty = isatty(STDERR_FILENO);
    double t0 = sh_now(), last_draw = 0;
    lua_getfield(L, run, "frame");
    int frame_fn = lua_gettop(L);
    for (int n = 0; n < total && !g_interrupted; n++)
    {
        lua_pushvalue(L, frame_fn);
        lua_pushvalue(L, job);
        lua_pushboolean(L, out != NULL);
        if (!call(L, 2, 1, &status))
            break;
        if (out != NULL)
        {
            size_t len;
            const char* data = lua_tolstring(L, -1, &len);
            // One line per frame. stdio buffers and may cut a line between two write(2)s, so the file is
            // whole only once closed: Ctrl-C is seen between frames and always reaches fclose below.
            if (data == NULL || fputs("{\"type\":\"frame\",\"data\":", out) < 0 ||
                fwrite(data, 1, len, out) != len || fputs("}\n", out) < 0)
            {
                fprintf(stderr, "simhost run: cannot write %s: %s\n", a.out, strerror(errno));
                status = SH_EXIT_FAIL;
                lua_pop(L, 1);
                break;
            }
        }
        lua_pop(L, 1);
        double t = sh_now();
        if (tty && (t - last_draw > 0.1 || n == total - 1))
        {
            draw_progress(n, total, timestep);
            last_draw = t;
        }
    }
    double wall = sh_now() - t0;
    if (tty)
        fputs("\r\033[K", stderr); // clear the bar: the summary follows on stdout
    if (g_interrupted && status == SH_EXIT_OK)
        status = EXIT_INTERRUPTED;

    // The summary, also after Ctrl-C or a failed step (then it says how far the run got).
    lua_getfield(L, run, "summary");
    lua_pushvalue(L, job);
    lua_pushnumber(L, wall);
    lua_pushboolean(L, g_interrupted);
    int summary_status = SH_EXIT_OK;
    if (call(L, 3, 1, &summary_status))
        fputs(lua_tostring(L, -1) ? lua_tostring(L, -1) : "", stdout);
    else if (status == SH_EXIT_OK)
        status = summary_status;
    fflush(stdout);

done:
    if (out != NULL && fclose(out) != 0 && status == SH_EXIT_OK)
    {
        fprintf(stderr, "simhost run: cannot write %s: %s\n", a.out, strerror(errno));
        status = SH_EXIT_FAIL;
    }
    lua_close(L);
    signal(SIGINT, SIG_DFL);
    return status;
}
