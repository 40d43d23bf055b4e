#pragma once
// The Unix-socket REPL: `simhost serve --repl-socket PATH` (and the `simhost repl --listen PATH` debugging
// aid) serve it, `simhost attach PATH` is its client. Each connected client gets its own thread and its
// own fresh Lua state, so clients never see each other's globals and need no locks.
//
// Wire protocol (documented for users in docs/repl.md), version 1:
//   client -> server: lines of input, each ended by '\n'. A line starting with byte 0x01 is a request,
//                     not input: "\x01complete TEXT" asks for completions of TEXT (answer: m),
//                     "\x01discard" drops an incomplete chunk (answer: p). A lone byte 0x03 sent
//                     while a chunk runs interrupts it. Closing the write side (EOF) ends the session.
//   server -> client: frames "T LEN\n" followed by LEN bytes of payload, T one of
//                     i  greeting (shown only to a person at a terminal)
//                     o  output for stdout (print, io.write, values of expressions)
//                     e  error text for stderr (with traceback)
//                     p  ready for a new chunk; payload is the prompt "> "
//                     c  the chunk is incomplete, send its next line; payload is the prompt ">> "
//                     m  completion candidates, one per line (answer to \x01complete)
//                     x  session over; payload is the exit status ("0", or "1" if any chunk failed);
//                        the server closes the connection after it
// The client sends a line only after a p or c frame (lockstep), so neither side can fill the other's
// socket buffer while not reading; p/c also tell a piped client that a chunk has finished.

#include "simhost/base.h"

#include <lua.h>
#include <stdbool.h>

typedef struct sh_repl_server sh_repl_server;

// Prepares a fresh Lua state for one client (standard libraries, the simhost module, and for the live
// server a `host` table). Runs on the client's thread. Returns false with err set to refuse the client.
typedef bool (*sh_repl_setup_fn)(lua_State* L, void* user, sh_error* err);

// Creates the socket at path (mode 0600; a stale socket there is replaced, anything else there is refused,
// and so is a socket another server still listens on) and starts accepting clients on a thread.
// Returns NULL with err set on failure.
sh_repl_server* sh_repl_server_start(const char* path, sh_repl_setup_fn setup, void* user, sh_error* err);

// Stops accepting, interrupts running chunks, disconnects every client, waits for their threads and removes
// the socket file. NULL is fine.
void sh_repl_server_stop(sh_repl_server* server);
