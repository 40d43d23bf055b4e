#pragma once
// The REPL engine: turns lines of text into evaluated Lua chunks, over any byte stream. The terminal REPL
// (cmd_repl.c), the server's own terminal (`serve --repl`) and the Unix-socket REPL (repl_server.c) all
// drive one of these; only where the lines come from and where the output goes differ.
//
// One engine belongs to one lua_State and is used by one thread at a time (the state's thread).

#include "simhost/base.h"

#include <lua.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct sh_repl sh_repl;

// Where output goes: results and print() on SH_REPL_OUT, error messages with tracebacks on SH_REPL_ERR.
typedef enum sh_repl_stream
{
    SH_REPL_OUT = 0,
    SH_REPL_ERR = 1
} sh_repl_stream;

// Receives every byte the engine writes. Called on the state's thread, during sh_repl_feed/finish/run_file.
typedef void (*sh_repl_write_fn)(void* user, sh_repl_stream stream, const char* data, size_t len);

// What the engine wants after a line: a new chunk (prompt "> ") or the rest of an incomplete one (">> ").
typedef enum sh_repl_state
{
    SH_REPL_READY = 0,
    SH_REPL_MORE = 1
} sh_repl_state;

// Creates an engine over L (not owned: the caller closes L after sh_repl_free). NULL when out of memory.
sh_repl* sh_repl_new(lua_State* L, sh_repl_write_fn write, void* user);
void sh_repl_free(sh_repl* r);

// Replaces the state's print and io.write so they go through the write callback rather than the process's
// stdout — needed whenever the engine's output is not this process's stdout (a socket client).
void sh_repl_redirect_print(sh_repl* r);

// Feeds one line (no trailing newline needed; one is stripped). Evaluates the chunk once it is complete:
// an expression prints its values (`return` is tried first, like lua.c), a statement runs, an error is
// written with a traceback and counted. An incomplete chunk (syntax error at <eof>) waits for more lines.
sh_repl_state sh_repl_feed(sh_repl* r, const char* line, size_t len);

// End of input: an incomplete pending chunk is reported as the syntax error it is (and counted).
void sh_repl_finish(sh_repl* r);

// Drops a pending incomplete chunk (Ctrl-C at a `>>` prompt).
void sh_repl_discard(sh_repl* r);

// Loads and runs a Lua file with a traceback handler; an error is written and counted. Returns success.
bool sh_repl_run_file(sh_repl* r, const char* path);

// The prompt for the current state: "> " or ">> ".
const char* sh_repl_prompt(const sh_repl* r);

// How many chunks failed so far (syntax or runtime errors).
int sh_repl_failures(const sh_repl* r);

// Completion candidates for `text`, the word under the cursor (identifiers joined by '.' or ':'):
// globals and Lua keywords for a bare name, table fields after '.', methods (via the metatable's __index)
// after ':'. Each candidate is the whole word (`simhost.as` -> `simhost.assets`), passed to add in sorted
// order; returns how many. Runs protected: metamethods that raise just end the list.
typedef void (*sh_repl_candidate_fn)(void* user, const char* candidate, size_t len);
size_t sh_repl_complete(lua_State* L, const char* text, sh_repl_candidate_fn add, void* user);

// Renders the value at idx the way the REPL prints it: strings quoted, tables nested up to a bounded depth
// with sorted keys and cycles marked `<cycle: table: 0x...>`, __tostring/__name respected. Pushes the
// string. May raise (a __tostring that errors); call it protected.
void sh_repl_pretty(lua_State* L, int idx);

// Lua's reserved words (NULL-terminated) and whether s is a name (an identifier that is not one of them):
// such a table key prints as `key = ` and completes after '.'.
extern const char* const sh_repl_keywords[];
bool sh_repl_is_name(const char* s, size_t len);

// The readline history file of `simhost repl` and `simhost attach`: $SIMHOST_HISTORY if set, else
// ~/.simhost_history; NULL without either. May format into buf.
const char* sh_repl_history_path(char* buf, size_t size);

// The terminal front end (cmd_repl.c) over stdin/stdout: runs SCRIPT first if non-NULL, then reads chunks
// until EOF — with readline, history and Tab completion when stdin is a terminal; plainly, with no prompt,
// when it is piped. Returns the exit status: 1 if piped and any chunk failed, else 0. Used by
// `simhost repl` and meant for `simhost serve --repl` (call it on the thread that owns L; it installs its
// own SIGINT handler while it runs and restores the previous one).
int sh_repl_run_stdio(lua_State* L, const char* script);

// readline history for the terminal front ends (defined in cmd_repl.c, used by cmd_attach.c too):
// load returns the path it read (or NULL); save appends the `added` new lines, trims the file to 1000
// lines and frees the in-memory history.
const char* sh_repl_history_load(char* buf, size_t size);
void sh_repl_history_save(const char* path, int added);

// The standard libraries plus the `simhost` module, preloaded in package.loaded.simhost and as the global
// `simhost` — what every REPL state starts from. Returns false with err set if the module failed to open.
bool sh_repl_open_libs(lua_State* L, sh_error* err);
