// simhost repl [SCRIPT] — a Lua 5.4 prompt with the simhost module and the default asset DB loaded.
// At a terminal: GNU readline (history, Tab completion, Ctrl-C interrupts). Piped: no prompt, no
// readline; each chunk's output goes to stdout, errors to stderr, and the exit status is 1 if any chunk
// failed (so a piped script can be checked), 0 otherwise.
// `simhost repl --listen PATH` serves the socket REPL with plain states until SIGTERM/SIGINT: a debugging
// aid for `simhost attach` without a running server.
#include "cli.h"
#include "repl.h"
#include "repl_server.h"

#include <lauxlib.h>
#include <lua.h>
#include <pthread.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HISTORY_LINES 1000

static const char usage[] = "usage: simhost repl [SCRIPT]\n"
                            "       simhost repl --listen PATH   (debugging aid: serve the socket REPL)\n";

// readline's callbacks take no user pointer, so the interactive loop's state lives here: one REPL per
// process, touched only by the main thread (and the SIGINT handler, which reads g_running, sets g_sigint).
static lua_State* g_state;
static sh_repl* g_repl;
static lua_State* volatile g_running; // set while a chunk runs: SIGINT then interrupts it
static volatile sig_atomic_t g_sigint;

static void write_stdio(void* user, sh_repl_stream stream, const char* data, size_t len)
{
    (void)user;
    if (stream == SH_REPL_ERR)
    {
        fflush(stdout); // keep the order the user saw when both go to one terminal
        fwrite(data, 1, len, stderr);
        fflush(stderr);
    }
    else
    {
        fwrite(data, 1, len, stdout);
    }
}

// The global `assets`: the default asset DB, when the module can open it. Not fatal: a REPL without the
// DB is still useful (worlds without assets, plain Lua), so one warning line says what is missing.
static void open_default_assets(lua_State* L)
{
    const char* path = sh_default_assets_db();
    int top = lua_gettop(L);
    lua_getglobal(L, "simhost");
    if (lua_type(L, -1) != LUA_TTABLE || lua_getfield(L, -1, "assets") != LUA_TTABLE ||
        lua_getfield(L, -1, "open") != LUA_TFUNCTION)
    {
        fputs("simhost repl: warning: simhost.assets.open is not available; no global 'assets'\n", stderr);
        lua_settop(L, top);
        return;
    }
    lua_pushstring(L, path);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK)
        fprintf(stderr, "simhost repl: warning: no global 'assets': %s\n", lua_tostring(L, -1));
    else
        lua_setglobal(L, "assets");
    lua_settop(L, top);
}

// --- interactive: readline ----------------------------------------------------------------------

static void stop_hook(lua_State* L, lua_Debug* ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
}

// As lua.c's `laction`: setting a hook is the one thing a signal handler may do to a running state.
static void on_sigint(int sig)
{
    (void)sig;
    lua_State* L = g_running;
    if (L != NULL)
        lua_sethook(L, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
    else
        g_sigint = 1;
}

// Ctrl-C at the prompt: readline's read() returns EINTR and it calls this hook, outside the signal
// handler, where touching readline is safe. The typed line and any pending chunk are dropped.
static int on_signal_event(void)
{
    if (!g_sigint)
        return 0;
    g_sigint = 0;
    sh_repl_discard(g_repl);
    rl_replace_line("", 0);
    rl_set_prompt(sh_repl_prompt(g_repl));
    fputs("^C\n", rl_outstream);
    rl_on_new_line();
    rl_redisplay();
    return 0;
}

typedef struct candidates
{
    char** items;
    size_t count;
    size_t cap;
    size_t next;
} candidates;

static candidates g_candidates;

static void add_candidate(void* user, const char* s, size_t len)
{
    candidates* c = user;
    if (c->count == c->cap)
    {
        size_t cap = c->cap ? c->cap * 2 : 32;
        char** items = realloc(c->items, cap * sizeof *items);
        if (items == NULL)
            return;
        c->items = items;
        c->cap = cap;
    }
    char* copy = malloc(len + 1);
    if (copy == NULL)
        return;
    memcpy(copy, s, len + 1);
    c->items[c->count++] = copy;
}

static void clear_candidates(candidates* c)
{
    for (size_t i = c->next; i < c->count; i++) // those before `next` now belong to readline
        free(c->items[i]);
    free(c->items);
    *c = (candidates){0};
}

static char* next_candidate(const char* text, int state)
{
    if (state == 0)
    {
        clear_candidates(&g_candidates);
        sh_repl_complete(g_state, text, add_candidate, &g_candidates);
    }
    if (g_candidates.next < g_candidates.count)
        return g_candidates.items[g_candidates.next++]; // readline frees it
    clear_candidates(&g_candidates);
    return NULL;
}

static char** attempt_completion(const char* text, int start, int end)
{
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1;   // never fall back to file names
    rl_completion_append_character = 0; // `simhost.assets` then `.` or `:` is what comes next, not a space
    return rl_completion_matches(text, next_candidate);
}

const char* sh_repl_history_load(char* buf, size_t size)
{
    const char* path = sh_repl_history_path(buf, size);
    using_history();
    if (path != NULL)
        read_history(path); // a missing file is a first run, not an error
    return path;
}

void sh_repl_history_save(const char* path, int added)
{
    if (path != NULL && added > 0)
    {
        struct stat st;
        // Append, so two REPLs closing one after the other both keep their lines.
        int rc = stat(path, &st) == 0 ? append_history(added, path) : write_history(path);
        if (rc != 0)
            fprintf(stderr, "simhost: cannot save the REPL history to %s: %s\n", path, strerror(rc));
        history_truncate_file(path, HISTORY_LINES);
    }
    rl_clear_history();
}

static int run_interactive(lua_State* L, sh_repl* repl)
{
    // Word breaks without '.' and ':' so `simhost.as` is one word to complete.
    static char word_breaks[] = " \t\n\"\\'`@$><=;|&{(+-*/%^~#,[]";
    g_state = L;
    g_repl = repl;
    rl_readline_name = "simhost";
    rl_attempted_completion_function = attempt_completion;
    rl_completer_word_break_characters = word_breaks;
    rl_catch_signals = 0; // our SIGINT handler, so Ctrl-C can interrupt a running chunk (see on_sigint)
    rl_signal_event_hook = on_signal_event;
    struct sigaction sa = {0};
    struct sigaction previous;
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &previous); // no SA_RESTART: readline must see EINTR

    char buf[4096];
    const char* hist = sh_repl_history_load(buf, sizeof buf);
    int added = 0;

    printf("simhost %s, %s — Tab completes, Ctrl-C interrupts, Ctrl-D exits\n", SH_VERSION, LUA_RELEASE);
    for (;;)
    {
        char* line = readline(sh_repl_prompt(repl));
        if (line == NULL)
        {
            putchar('\n');
            break;
        }
        if (line[0] != '\0')
        {
            add_history(line);
            added++;
        }
        g_running = L;
        sh_repl_feed(repl, line, strlen(line));
        g_running = NULL;
        lua_sethook(L, NULL, 0, 0); // a Ctrl-C that came as the chunk ended must not hit the next one
        free(line);
        fflush(stdout);
    }

    sh_repl_history_save(hist, added);
    clear_candidates(&g_candidates);
    sigaction(SIGINT, &previous, NULL); // `serve --repl` has its own use for Ctrl-C afterwards
    g_state = NULL;
    g_repl = NULL;
    return SH_EXIT_OK;
}

// --- piped: plain lines --------------------------------------------------------------------------

static int run_piped(sh_repl* repl)
{
    char* line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, stdin)) >= 0)
        sh_repl_feed(repl, line, (size_t)len);
    free(line);
    sh_repl_finish(repl);
    fflush(stdout);
    return sh_repl_failures(repl) > 0 ? SH_EXIT_FAIL : SH_EXIT_OK;
}

int sh_repl_run_stdio(lua_State* L, const char* script)
{
    sh_repl* repl = sh_repl_new(L, write_stdio, NULL);
    if (repl == NULL)
    {
        fputs("simhost: out of memory\n", stderr);
        return SH_EXIT_FAIL;
    }
    if (script != NULL)
    {
        // `arg` as lua.c sets it for a script; the prompt then opens on the script's globals, even after
        // an error (what ran before it is often exactly what one wants to inspect).
        lua_createtable(L, 0, 1);
        lua_pushstring(L, script);
        lua_rawseti(L, -2, 0);
        lua_setglobal(L, "arg");
        sh_repl_run_file(repl, script);
    }
    int status = isatty(STDIN_FILENO) ? run_interactive(L, repl) : run_piped(repl);
    sh_repl_free(repl);
    return status;
}

// --- the --listen debugging aid --------------------------------------------------------------------

static bool plain_setup(lua_State* L, void* user, sh_error* err)
{
    (void)user;
    return sh_repl_open_libs(L, err);
}

static int listen_until_signal(const char* path)
{
    // Block the stop signals before any thread starts (threads inherit the mask), then wait for one here.
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    sh_error err = {{0}};
    sh_repl_server* server = sh_repl_server_start(path, plain_setup, NULL, &err);
    if (server == NULL)
    {
        fprintf(stderr, "simhost repl: %s\n", err.message);
        return SH_EXIT_FAIL;
    }
    printf("listening on %s\n", path);
    fflush(stdout);
    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    sh_repl_server_stop(server);
    return SH_EXIT_OK;
}

int sh_cmd_repl(int argc, char** argv)
{
    const char* script = NULL;
    for (int i = 0; i < argc; i++)
    {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
        {
            fputs(usage, stdout);
            return SH_EXIT_OK;
        }
        if (strcmp(argv[i], "--listen") == 0)
        {
            if (i + 1 >= argc || argc != 2)
            {
                fputs(usage, stderr);
                return SH_EXIT_USAGE;
            }
            return listen_until_signal(argv[i + 1]);
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0')
        {
            fprintf(stderr, "simhost repl: unknown option '%s'\n%s", argv[i], usage);
            return SH_EXIT_USAGE;
        }
        if (script != NULL)
        {
            fprintf(stderr, "simhost repl: only one SCRIPT\n%s", usage);
            return SH_EXIT_USAGE;
        }
        script = argv[i];
    }

    lua_State* L = luaL_newstate();
    if (L == NULL)
    {
        fputs("simhost repl: out of memory\n", stderr);
        return SH_EXIT_FAIL;
    }
    sh_error err = {{0}};
    int status = SH_EXIT_FAIL;
    if (!sh_repl_open_libs(L, &err))
    {
        fprintf(stderr, "simhost repl: %s\n", err.message);
        goto done;
    }
    open_default_assets(L);
    status = sh_repl_run_stdio(L, script);
done:
    lua_close(L);
    fflush(stdout);
    return status;
}
