// simhost.ws — a blocking WebSocket client on libwebsockets' client side, for specs, bench-live and
// the REPL. Each connection owns its own lws context, serviced only on the calling thread while a
// call waits, so it needs no threads and no locks.
//
//   local c = simhost.ws.connect("ws://127.0.0.1:8080/api/v1/live", 10)  -- or nil, message
//   c:send('{"type":"configure",...}')     --> true | nil, "closed"
//   c:receive(5)                           --> text | nil, "timeout" | "closed"
//   c:close()
#include "l_simhost.h"

#include <libwebsockets.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WS_META "simhost.ws.connection"

typedef struct ws_msg
{
    struct ws_msg* next;
    size_t len;
    unsigned char data[]; // LWS_PRE headroom (outgoing only), then the payload
} ws_msg;

typedef enum ws_state
{
    WS_CONNECTING,
    WS_OPEN,
    WS_CLOSED,
} ws_state;

// Heap-allocated (lws keeps a pointer to it as the context user); the userdata holds the pointer.
typedef struct ws_conn
{
    struct lws_context* ctx;
    struct lws* wsi;
    ws_state state;
    char error[320];
    ws_msg *in_head, *in_tail;   // whole messages received
    ws_msg *out_head, *out_tail; // messages to write
    unsigned char* rx;           // fragments of the message being received
    size_t rx_len, rx_cap;
    bool closing; // close() asked: write a close frame next
    bool woke;    // the wake-up timer fired
    lws_sorted_usec_list_t sul;
} ws_conn;

typedef struct l_ws
{
    ws_conn* conn;
} l_ws;

static void free_list(ws_msg* m)
{
    while (m != NULL)
    {
        ws_msg* next = m->next;
        free(m);
        m = next;
    }
}

static void push(ws_msg** head, ws_msg** tail, ws_msg* m)
{
    m->next = NULL;
    if (*tail == NULL)
        *head = m;
    else
        (*tail)->next = m;
    *tail = m;
}

static ws_msg* pop(ws_msg** head, ws_msg** tail)
{
    ws_msg* m = *head;
    if (m != NULL)
    {
        *head = m->next;
        if (*head == NULL)
            *tail = NULL;
    }
    return m;
}

static int callback(struct lws* wsi, enum lws_callback_reasons reason, void* user, void* in, size_t len)
{
    (void)user;
    ws_conn* c = lws_context_user(lws_get_context(wsi));
    if (c == NULL)
        return 0;
    switch (reason)
    {
        case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
            snprintf(c->error, sizeof c->error, "%s", in != NULL ? (const char*)in : "connection failed");
            c->state = WS_CLOSED;
            c->wsi = NULL;
            return 0;
        case LWS_CALLBACK_CLIENT_ESTABLISHED:
            c->state = WS_OPEN;
            if (c->out_head != NULL)
                lws_callback_on_writable(wsi);
            return 0;
        case LWS_CALLBACK_CLIENT_RECEIVE: {
            if (c->rx_len + len > c->rx_cap)
            {
                size_t cap = c->rx_cap ? c->rx_cap : 4096;
                while (cap < c->rx_len + len)
                    cap *= 2;
                unsigned char* p = realloc(c->rx, cap);
                if (p == NULL)
                    return -1;
                c->rx = p;
                c->rx_cap = cap;
            }
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
            if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi) != 0)
                return 0;
            ws_msg* m = malloc(sizeof *m + c->rx_len + 1);
            if (m == NULL)
                return -1;
            m->len = c->rx_len;
            memcpy(m->data, c->rx, c->rx_len);
            m->data[c->rx_len] = 0;
            c->rx_len = 0;
            push(&c->in_head, &c->in_tail, m);
            return 0;
        }
        case LWS_CALLBACK_CLIENT_WRITEABLE: {
            if (c->closing)
            {
                lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
                return -1;
            }
            ws_msg* m = pop(&c->out_head, &c->out_tail);
            if (m == NULL)
                return 0;
            int n = lws_write(wsi, m->data + LWS_PRE, m->len, LWS_WRITE_TEXT);
            bool ok = n >= 0 && (size_t)n == m->len;
            free(m);
            if (!ok)
                return -1;
            if (c->out_head != NULL || c->closing)
                lws_callback_on_writable(wsi);
            return 0;
        }
        case LWS_CALLBACK_CLIENT_CLOSED:
        case LWS_CALLBACK_WSI_DESTROY:
            if (c->wsi == wsi || reason == LWS_CALLBACK_CLIENT_CLOSED)
            {
                c->state = WS_CLOSED;
                c->wsi = NULL;
            }
            return 0;
        default:
            return 0;
    }
}

static const struct lws_protocols protocols[] = {
    {.name = "simhost-client", .callback = callback, .rx_buffer_size = 65536},
    {NULL, NULL, 0, 0, 0, NULL, 0},
};

static void on_wake(lws_sorted_usec_list_t* sul)
{
    ws_conn* c = lws_container_of(sul, ws_conn, sul);
    c->woke = true;
}

// Services the context until done(c) or `timeout` seconds pass. lws 4.1 ignores lws_service's own
// timeout, so a sul timer bounds each wait.
static bool service_until(ws_conn* c, bool (*done)(ws_conn*), double timeout)
{
    double deadline = sh_now() + timeout;
    while (!done(c))
    {
        double left = deadline - sh_now();
        if (left <= 0)
            return false;
        c->woke = false;
        lws_sul_schedule(c->ctx, 0, &c->sul, on_wake, (lws_usec_t)(left * 1e6) + 1);
        if (lws_service(c->ctx, 0) < 0)
            break;
    }
    lws_sul_cancel(&c->sul);
    return done(c);
}

static bool not_connecting(ws_conn* c)
{
    return c->state != WS_CONNECTING;
}

static bool has_message_or_closed(ws_conn* c)
{
    return c->in_head != NULL || c->state == WS_CLOSED;
}

static bool sent_or_closed(ws_conn* c)
{
    return c->out_head == NULL || c->state == WS_CLOSED;
}

static bool closed(ws_conn* c)
{
    return c->state == WS_CLOSED;
}

static void conn_destroy(ws_conn* c)
{
    if (c == NULL)
        return;
    if (c->ctx != NULL)
    {
        lws_sul_cancel(&c->sul);
        lws_context_destroy(c->ctx);
    }
    free_list(c->in_head);
    free_list(c->out_head);
    free(c->rx);
    free(c);
}

static l_ws* check_ws(lua_State* L)
{
    return luaL_checkudata(L, 1, WS_META);
}

static double opt_timeout(lua_State* L, int arg, double fallback)
{
    lua_Number t = luaL_optnumber(L, arg, fallback);
    luaL_argcheck(L, isfinite(t) && t >= 0, arg, "timeout must be a finite number of seconds >= 0");
    return t;
}

static int ws_connect(lua_State* L)
{
    const char* url = luaL_checkstring(L, 1);
    double timeout = opt_timeout(L, 2, 10);
    char host[256], path[1024] = "/";
    int port = 80, n = 0;
    if (sscanf(url, "ws://%255[^:/]:%d%n", host, &port, &n) < 2)
    {
        n = 0;
        if (sscanf(url, "ws://%255[^:/]%n", host, &n) < 1)
            return luaL_argerror(L, 1, "expected a ws://host[:port]/path URL");
    }
    if (url[n] == '/')
        snprintf(path, sizeof path, "%s", url + n);
    else if (url[n] != '\0')
        return luaL_argerror(L, 1, "expected a ws://host[:port]/path URL");
    luaL_argcheck(L, port > 0 && port < 65536, 1, "port out of range");

    l_ws* lw = lua_newuserdatauv(L, sizeof *lw, 0);
    lw->conn = NULL;
    luaL_setmetatable(L, WS_META);
    ws_conn* c = calloc(1, sizeof *c);
    if (c == NULL)
        return luaL_error(L, "out of memory");
    lw->conn = c; // owned by the userdata from here: __gc frees it whatever happens

    lws_set_log_level(LLL_ERR, NULL);
    struct lws_context_creation_info info;
    memset(&info, 0, sizeof info);
    info.port = CONTEXT_PORT_NO_LISTEN;
    info.protocols = protocols;
    info.user = c;
    info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
    c->ctx = lws_create_context(&info);
    if (c->ctx == NULL)
        return luaL_error(L, "cannot create a WebSocket client context");

    struct lws_client_connect_info ci;
    memset(&ci, 0, sizeof ci);
    ci.context = c->ctx;
    ci.address = host;
    ci.port = port;
    ci.path = path;
    ci.host = host;
    ci.origin = host;
    ci.protocol = NULL;
    ci.pwsi = &c->wsi;
    if (lws_client_connect_via_info(&ci) == NULL && c->state != WS_CLOSED)
        snprintf(c->error, sizeof c->error, "cannot connect to %s:%d", host, port), c->state = WS_CLOSED;
    if (!service_until(c, not_connecting, timeout) || c->state != WS_OPEN)
    {
        luaL_pushfail(L);
        lua_pushstring(L, c->state == WS_CONNECTING ? "timeout"
                          : c->error[0]             ? c->error
                                                    : "connection failed");
        return 2;
    }
    return 1;
}

static int ws_send(lua_State* L)
{
    l_ws* lw = check_ws(L);
    size_t n;
    const char* s = luaL_checklstring(L, 2, &n);
    double timeout = opt_timeout(L, 3, 10);
    ws_conn* c = lw->conn;
    if (c == NULL || c->state != WS_OPEN || c->closing)
    {
        luaL_pushfail(L);
        lua_pushliteral(L, "closed");
        return 2;
    }
    ws_msg* m = malloc(sizeof *m + LWS_PRE + n);
    if (m == NULL)
        return luaL_error(L, "out of memory");
    m->len = n;
    memcpy(m->data + LWS_PRE, s, n);
    push(&c->out_head, &c->out_tail, m);
    lws_callback_on_writable(c->wsi);
    if (!service_until(c, sent_or_closed, timeout))
    {
        luaL_pushfail(L);
        lua_pushliteral(L, "timeout");
        return 2;
    }
    if (c->state == WS_CLOSED)
    {
        luaL_pushfail(L);
        lua_pushliteral(L, "closed");
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int ws_receive(lua_State* L)
{
    l_ws* lw = check_ws(L);
    double timeout = opt_timeout(L, 2, 10);
    ws_conn* c = lw->conn;
    if (c == NULL)
    {
        luaL_pushfail(L);
        lua_pushliteral(L, "closed");
        return 2;
    }
    if (c->in_head == NULL && c->state != WS_CLOSED)
        service_until(c, has_message_or_closed, timeout);
    ws_msg* m = c->in_head;
    if (m == NULL)
    {
        luaL_pushfail(L);
        if (c->state == WS_CLOSED)
            lua_pushliteral(L, "closed");
        else
            lua_pushliteral(L, "timeout");
        return 2;
    }
    // Copy into Lua first: lua_pushlstring may raise, and the message must stay owned by the queue.
    lua_pushlstring(L, (const char*)m->data, m->len);
    free(pop(&c->in_head, &c->in_tail));
    return 1;
}

static int ws_close(lua_State* L)
{
    l_ws* lw = check_ws(L);
    ws_conn* c = lw->conn;
    if (c == NULL)
        return 0;
    if (c->state == WS_OPEN && c->wsi != NULL)
    {
        c->closing = true;
        lws_callback_on_writable(c->wsi);
        service_until(c, closed, 2);
    }
    lw->conn = NULL;
    conn_destroy(c);
    return 0;
}

static int ws_tostring(lua_State* L)
{
    l_ws* lw = check_ws(L);
    lua_pushfstring(L, "simhost.ws connection (%s)",
                    lw->conn == NULL             ? "closed"
                    : lw->conn->state == WS_OPEN ? "open"
                                                 : "closed");
    return 1;
}

static const luaL_Reg ws_methods[] = {
    {"send", ws_send}, {"receive", ws_receive}, {"close", ws_close}, {NULL, NULL}};
static const luaL_Reg ws_meta[] = {
    {"__gc", ws_close}, {"__close", ws_close}, {"__tostring", ws_tostring}, {NULL, NULL}};

void sh_l_ws_register(lua_State* L)
{
    luaL_newmetatable(L, WS_META);
    luaL_setfuncs(L, ws_meta, 0);
    luaL_newlib(L, ws_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, ws_connect);
    lua_setfield(L, -2, "connect");
    lua_setfield(L, -2, "ws");
}
