#pragma once
// A minimal blocking WebSocket client over loopback TCP for `simhost soak` (soak_ws.c). Every call takes
// a timeout; nothing waits for ever.
#include <stdbool.h>
#include <stddef.h>

typedef struct soak_ws
{
    int fd;
    char* buf; // the message being received
    size_t cap;
} soak_ws;

// A TCP connection to 127.0.0.1:port (no HTTP yet). False when refused.
bool soak_ws_tcp(soak_ws* c, int port);
// The HTTP upgrade to `path`: 1 switched, 0 refused with another status, -1 no answer in time, -2 the
// connection closed or reset before the answer.
int soak_ws_upgrade(soak_ws* c, const char* path, double timeout_s);
bool soak_ws_send_raw(soak_ws* c, const void* p, size_t n, double timeout_s);
bool soak_ws_send_text(soak_ws* c, const char* s, size_t n, double timeout_s);
// The next text message (valid until the next call): 1; the peer closed: 0; timed out: -1; a frame no
// server sends (masked, or over 64 MiB): -2.
int soak_ws_receive(soak_ws* c, double timeout_s, const char** out, size_t* out_len);
// Gone without a goodbye (RST), or with a close frame. Both free the buffer.
void soak_ws_abort(soak_ws* c);
void soak_ws_close(soak_ws* c);
