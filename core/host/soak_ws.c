// A small blocking WebSocket client for `simhost soak` (cmd_soak.c): it must misbehave on purpose —
// stop reading, cut a frame in half, send bytes that are not WebSocket at all — which a full client
// library would not let it do. Loopback only; every wait is bounded by a deadline.
#include "soak_ws.h"

#include "simhost/base.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum
{
    MAX_MESSAGE = 64 << 20, // a frame JSON of 100 000 bodies is ~10 MB; anything past this is a fault
};

// Waits until fd is readable (or writable) or the deadline passes.
static bool wait_fd(int fd, short events, double deadline)
{
    for (;;)
    {
        double left = deadline - sh_now();
        if (left <= 0)
            return false;
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, (int)(left * 1000) + 1);
        if (rc > 0)
            return true;
        if (rc < 0 && errno != EINTR)
            return false;
    }
}

bool soak_ws_tcp(soak_ws* c, int port)
{
    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return false;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr*)&a, sizeof a) != 0)
    {
        close(c->fd);
        c->fd = -1;
        return false;
    }
    return true;
}

bool soak_ws_send_raw(soak_ws* c, const void* p, size_t n, double timeout_s)
{
    double deadline = sh_now() + timeout_s;
    const char* b = p;
    while (n > 0)
    {
        if (!wait_fd(c->fd, POLLOUT, deadline))
            return false;
        ssize_t w = send(c->fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (w <= 0)
            return false;
        b += w;
        n -= (size_t)w;
    }
    return true;
}

// Reads exactly n bytes into c->buf at offset `at`.
static bool read_exact(soak_ws* c, size_t at, size_t n, double deadline)
{
    if (at + n > c->cap)
    {
        size_t cap = c->cap ? c->cap : 4096;
        while (cap < at + n)
            cap *= 2;
        char* b = realloc(c->buf, cap);
        if (b == NULL)
            return false;
        c->buf = b;
        c->cap = cap;
    }
    size_t got = 0;
    while (got < n)
    {
        if (!wait_fd(c->fd, POLLIN, deadline))
            return false;
        ssize_t r = recv(c->fd, c->buf + at + got, n - got, MSG_DONTWAIT);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r <= 0)
            return false;
        got += (size_t)r;
    }
    return true;
}

int soak_ws_upgrade(soak_ws* c, const char* path, double timeout_s)
{
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: c2ltaG9zdC1zb2FrLWtleQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     path);
    double deadline = sh_now() + timeout_s;
    if (!soak_ws_send_raw(c, req, (size_t)n, timeout_s))
        return sh_now() >= deadline ? -1 : -2;
    size_t len = 0;
    // The response head, byte by byte up to the blank line (it is short; frames may follow it).
    while (len < 4 || memcmp(c->buf + len - 4, "\r\n\r\n", 4) != 0)
    {
        if (len >= 8192)
            return 0;
        if (!read_exact(c, len, 1, deadline))
            return sh_now() >= deadline ? -1 : -2; // a killed host resets the connection: not a timeout
        len++;
    }
    return strncmp(c->buf, "HTTP/1.1 101", 12) == 0 ? 1 : 0;
}

bool soak_ws_send_text(soak_ws* c, const char* s, size_t n, double timeout_s)
{
    unsigned char head[14];
    size_t h = 0;
    head[h++] = 0x81;
    if (n < 126)
        head[h++] = (unsigned char)(0x80 | n);
    else if (n < 65536)
    {
        head[h++] = 0x80 | 126;
        head[h++] = (unsigned char)(n >> 8);
        head[h++] = (unsigned char)n;
    }
    else
    {
        head[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            head[h++] = (unsigned char)((uint64_t)n >> (8 * i));
    }
    static const unsigned char mask[4] = {0x5a, 0x17, 0xc3, 0x2e};
    memcpy(head + h, mask, 4);
    h += 4;
    char* body = malloc(n ? n : 1);
    if (body == NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        body[i] = (char)(s[i] ^ mask[i & 3]);
    bool ok = soak_ws_send_raw(c, head, h, timeout_s) && soak_ws_send_raw(c, body, n, timeout_s);
    free(body);
    return ok;
}

int soak_ws_receive(soak_ws* c, double timeout_s, const char** out, size_t* out_len)
{
    double deadline = sh_now() + timeout_s;
    size_t len = 0;
    for (;;)
    {
        if (!read_exact(c, len, 2, deadline))
            return sh_now() >= deadline ? -1 : 0;
        unsigned char b0 = (unsigned char)c->buf[len], b1 = (unsigned char)c->buf[len + 1];
        uint64_t n = b1 & 0x7f;
        size_t ext = n == 126 ? 2 : n == 127 ? 8 : 0;
        if (ext > 0)
        {
            if (!read_exact(c, len, ext, deadline))
                return -1;
            n = 0;
            for (size_t i = 0; i < ext; i++)
                n = n << 8 | (unsigned char)c->buf[len + i];
        }
        if ((b1 & 0x80) != 0 || n > MAX_MESSAGE || len + n > MAX_MESSAGE)
            return -2; // the server never masks and never sends this much: a protocol fault
        if (!read_exact(c, len, (size_t)n, deadline))
            return sh_now() >= deadline ? -1 : 0;
        int op = b0 & 0x0f;
        if (op == 8)
            return 0;
        if (op == 9 || op == 10)
            continue; // ping/pong: nothing to answer in a soak
        len += (size_t)n;
        if (b0 & 0x80)
        {
            *out = c->buf;
            *out_len = len;
            return 1;
        }
    }
}

void soak_ws_abort(soak_ws* c)
{
    if (c->fd >= 0)
    {
        // SO_LINGER 0: the close sends a RST, as a client whose process died or whose network went.
        struct linger l = {.l_onoff = 1, .l_linger = 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
        close(c->fd);
    }
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->cap = 0;
}

void soak_ws_close(soak_ws* c)
{
    if (c->fd >= 0)
    {
        static const unsigned char close_frame[] = {0x88, 0x82, 1, 2, 3, 4, 0x03 ^ 1, 0xe8 ^ 2};
        soak_ws_send_raw(c, close_frame, sizeof close_frame, 0.5);
        close(c->fd);
    }
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->cap = 0;
}
