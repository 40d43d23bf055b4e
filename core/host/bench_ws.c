// bench-live's WebSocket client (bench_ws.h): RFC 6455 as far as a client that only counts the host's
// messages needs it. Bytes are received into a stack buffer and parsed where they lie: a frame's payload
// past the first BENCH_WS_HEAD bytes of its message is skipped, never copied.
#include "bench_ws.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static void fail(bench_ws* c, const char* what)
{
    if (c->state != BENCH_WS_CLOSED && c->error[0] == '\0')
        snprintf(c->error, sizeof c->error, "%s", what);
    c->state = BENCH_WS_CLOSED;
}

static bool queue(bench_ws* c, const void* p, size_t n)
{
    if (c->out_sent == c->out_len)
        c->out_sent = c->out_len = 0;
    if (c->out_len + n > c->out_cap)
    {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap < c->out_len + n)
            cap *= 2;
        char* b = realloc(c->out, cap);
        if (b == NULL)
        {
            fail(c, "out of memory");
            return false;
        }
        c->out = b;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
    return true;
}

// Queues one frame with FIN set; the mask key is fixed (it only has to exist: the host unmasks).
static bool queue_frame(bench_ws* c, uint8_t opcode, const void* payload, size_t len)
{
    static const uint8_t key[4] = {0x5a, 0x3c, 0x96, 0x0f};
    uint8_t h[14];
    size_t n = 2;
    h[0] = (uint8_t)(0x80 | opcode);
    if (len < 126)
        h[1] = (uint8_t)(0x80 | len);
    else if (len < 65536)
    {
        h[1] = 0x80 | 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        n = 4;
    }
    else
    {
        h[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        n = 10;
    }
    memcpy(h + n, key, 4);
    if (!queue(c, h, n + 4))
        return false;
    size_t at = c->out_len;
    if (!queue(c, payload, len))
        return false;
    for (size_t i = 0; i < len; i++)
        c->out[at + i] ^= (char)key[i & 3];
    return true;
}

bool bench_ws_connect(bench_ws* c, const char* host, int port, const char* path)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", port);
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;
    if (getaddrinfo(host, port_s, &hints, &ai) != 0 || ai == NULL)
    {
        fail(c, "cannot resolve the host");
        return false;
    }
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || (connect(c->fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS))
    {
        freeaddrinfo(ai);
        fail(c, "connect: refused");
        return false;
    }
    freeaddrinfo(ai);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nOrigin: http://%s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: c2ltaG9zdC1iZW5jaC1rZXk=\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     path[0] ? path : "/", host, port, host);
    c->state = BENCH_WS_CONNECTING;
    return n > 0 && (size_t)n < sizeof req && queue(c, req, (size_t)n);
}

bool bench_ws_send_text(bench_ws* c, const char* text, size_t len)
{
    return c->state == BENCH_WS_OPEN && queue_frame(c, 0x1, text, len);
}

short bench_ws_events(const bench_ws* c)
{
    if (c->state == BENCH_WS_CLOSED)
        return 0;
    return (short)((c->state == BENCH_WS_CONNECTING ? 0 : POLLIN) | (c->out_sent < c->out_len ? POLLOUT : 0));
}

void bench_ws_close(bench_ws* c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->out);
    c->fd = -1;
    c->out = NULL;
    c->out_cap = c->out_len = c->out_sent = 0;
    if (c->state != BENCH_WS_CLOSED)
        c->state = BENCH_WS_CLOSED;
}

static void flush(bench_ws* c)
{
    while (c->out_sent < c->out_len)
    {
        ssize_t w = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN)
            return;
        if (w <= 0)
        {
            fail(c, "send failed");
            return;
        }
        c->out_sent += (size_t)w;
    }
}

// The 101 response, up to its blank line; returns how many of the n bytes at p it used, -1 on failure.
static long read_handshake(bench_ws* c, const char* p, size_t n, bool* established)
{
    size_t take = n < sizeof c->http - 1 - c->http_len ? n : sizeof c->http - 1 - c->http_len;
    memcpy(c->http + c->http_len, p, take);
    size_t before = c->http_len;
    c->http_len += take;
    c->http[c->http_len] = '\0';
    char* end = strstr(c->http, "\r\n\r\n");
    if (end == NULL)
    {
        if (c->http_len == sizeof c->http - 1)
            fail(c, "handshake: response head too long");
        return c->http_len == sizeof c->http - 1 ? -1 : (long)take;
    }
    if (strncmp(c->http, "HTTP/1.1 101", 12) != 0)
    {
        char* eol = strchr(c->http, '\r');
        snprintf(c->error, sizeof c->error, "handshake: %.*s", (int)(eol - c->http), c->http);
        fail(c, "handshake refused");
        return -1;
    }
    for (char* line = strstr(c->http, "\r\n"); line != NULL && line < end; line = strstr(line + 2, "\r\n"))
        if (strncasecmp(line + 2, "x-simhost-server:", 17) == 0)
        {
            const char* v = line + 19;
            while (*v == ' ')
                v++;
            size_t len = strcspn(v, "\r");
            if (len < sizeof c->server)
                snprintf(c->server, sizeof c->server, "%.*s", (int)len, v);
        }
    c->state = BENCH_WS_OPEN;
    *established = true;
    return (long)((size_t)(end + 4 - c->http) - before);
}

// A complete frame header in c->hdr? Sets the frame's fields from it.
static bool header_done(bench_ws* c)
{
    if (c->hdr_len < 2)
        return false;
    size_t need = 2 + (c->hdr[1] & 0x80 ? 4 : 0);
    uint8_t len7 = c->hdr[1] & 0x7f;
    need += len7 == 126 ? 2 : len7 == 127 ? 8 : 0;
    if (c->hdr_len < need)
        return false;
    uint64_t len = len7;
    if (len7 == 126)
        len = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
    else if (len7 == 127)
    {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | c->hdr[2 + i];
    }
    c->fin = (c->hdr[0] & 0x80) != 0;
    c->opcode = c->hdr[0] & 0x0f;
    c->control = (c->opcode & 0x8) != 0;
    c->payload_left = len;
    c->ctrl_len = 0;
    c->hdr_len = 0;
    return true;
}

// The end of a frame: a data message's last frame reports the message; a close ends the connection; a
// ping is answered.
static void frame_done(bench_ws* c, void (*on_message)(void*, const char*, size_t), void* user)
{
    if (!c->control)
    {
        if (c->fin)
        {
            on_message(user, c->head, c->head_len);
            c->head_len = 0;
            c->head[0] = '\0';
        }
    }
    else if (c->opcode == 0x8)
    {
        queue_frame(c, 0x8, c->ctrl, c->ctrl_len < 2 ? c->ctrl_len : 2);
        flush(c);
        fail(c, "closed by the host");
    }
    else if (c->opcode == 0x9)
        queue_frame(c, 0xA, c->ctrl, c->ctrl_len);
}

// Parses n received bytes: headers, then payloads kept (the head, a control payload) or skipped.
static void parse(bench_ws* c, const uint8_t* p, size_t n, void (*on_message)(void*, const char*, size_t),
                  void* user)
{
    while (n > 0 && c->state == BENCH_WS_OPEN)
    {
        if (c->payload_left == 0 && c->hdr_len < sizeof c->hdr)
        {
            c->hdr[c->hdr_len++] = *p++;
            n--;
            if (header_done(c) && c->payload_left == 0)
                frame_done(c, on_message, user);
            continue;
        }
        size_t k = c->payload_left < n ? (size_t)c->payload_left : n;
        if (c->control)
        {
            size_t room = sizeof c->ctrl - c->ctrl_len, m = k < room ? k : room;
            memcpy(c->ctrl + c->ctrl_len, p, m);
            c->ctrl_len += m;
        }
        else if (c->head_len < BENCH_WS_HEAD - 1)
        {
            size_t room = BENCH_WS_HEAD - 1 - c->head_len, m = k < room ? k : room;
            memcpy(c->head + c->head_len, p, m);
            c->head_len += m;
            c->head[c->head_len] = '\0';
        }
        p += k;
        n -= k;
        c->payload_left -= k;
        if (c->payload_left == 0)
            frame_done(c, on_message, user);
    }
}

void bench_ws_service(bench_ws* c, short revents, bool* established,
                      void (*on_message)(void* user, const char* head, size_t head_len), void* user)
{
    *established = false;
    if (c->state == BENCH_WS_CLOSED)
        return;
    if (c->state == BENCH_WS_CONNECTING && (revents & (POLLOUT | POLLERR | POLLHUP)))
    {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
        {
            fail(c, "connect: refused");
            return;
        }
        c->state = BENCH_WS_HANDSHAKE;
    }
    if (revents & POLLOUT)
        flush(c);
    if (!(revents & (POLLIN | POLLHUP | POLLERR)) || c->state == BENCH_WS_CONNECTING)
        return;
    uint8_t buf[1 << 16];
    for (;;)
    {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && errno == EAGAIN)
            return;
        if (r <= 0)
        {
            fail(c, "connection closed");
            return;
        }
        size_t at = 0;
        if (c->state == BENCH_WS_HANDSHAKE)
        {
            long used = read_handshake(c, (const char*)buf, (size_t)r, established);
            if (used < 0)
                return;
            at = (size_t)used;
        }
        parse(c, buf + at, (size_t)r - at, on_message, user);
        if (c->state == BENCH_WS_CLOSED || (size_t)r < sizeof buf)
            return; // a short read: the socket is drained for now, poll again
    }
}
