#pragma once
// The WebSocket client side of `simhost bench-live` (bench_ws.c): non-blocking connections driven by one
// poll() loop, which keep only the first bytes of each message the host sends (enough to tell a frame
// from `metadata`, `complete` or `error`) and skip the rest where it lies in the receive buffer. The
// bench measures the host, so its client must cost little next to it: with libwebsockets as the client
// it used 13–15 % of a core for 30 sessions of 100 bodies (issue 18).
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_WS_HEAD 160 // bytes kept of each message

enum bench_ws_state
{
    BENCH_WS_CONNECTING, // TCP connect under way, the upgrade request queued
    BENCH_WS_HANDSHAKE,  // request sent, waiting for the 101
    BENCH_WS_OPEN,
    BENCH_WS_CLOSED, // by either side, or failed; error says why when it failed
};

typedef struct bench_ws
{
    int fd;
    enum bench_ws_state state;
    char* out; // bytes queued to send (the request, then masked frames)
    size_t out_len, out_sent, out_cap;
    char http[1024]; // the handshake response while it arrives
    size_t http_len;
    uint8_t hdr[14]; // a frame header split across reads
    size_t hdr_len;
    uint64_t payload_left; // of the frame being read
    bool fin, control;     // the frame ends its message; it is a control frame (close, ping, pong)
    uint8_t opcode;
    char head[BENCH_WS_HEAD]; // the first bytes of the message being read, NUL-terminated
    size_t head_len;
    uint8_t ctrl[128]; // a control frame's payload (at most 125 bytes)
    size_t ctrl_len;
    char server[32]; // the handshake's X-Simhost-Server value (HAProxy names the host), else ""
    char error[120];
} bench_ws;

// Starts a non-blocking connect to host:port and queues the upgrade request for path. False (with
// c->error set and c->state CLOSED) when it fails at once.
bool bench_ws_connect(bench_ws* c, const char* host, int port, const char* path);
// Queues one text message (masked, as a client must).
bool bench_ws_send_text(bench_ws* c, const char* text, size_t len);
// What to poll for.
short bench_ws_events(const bench_ws* c);
// Does the I/O that revents allows. Each whole message the host sent calls on_message with its first
// bytes; *established is set when the handshake completes during this call.
void bench_ws_service(bench_ws* c, short revents, bool* established,
                      void (*on_message)(void* user, const char* head, size_t head_len), void* user);
void bench_ws_close(bench_ws* c);
