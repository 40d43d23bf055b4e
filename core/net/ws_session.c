// The WebSocket side of a session, on the lws service thread: accept (or refuse when busy), gather
// message fragments (capped), hand whole text messages to the session actor, write its outbox one
// message per SERVER_WRITEABLE, close when the actor asks. Never runs Lua, never steps physics.
#include "net_internal.h"

#include <string.h>

static const char live_path[] = "/api/v1/live";

// Queues a control error and a close from the service thread itself (oversized, binary, busy).
static void refuse(sh_conn* c, const char* message)
{
    char json[160];
    snprintf(json, sizeof json, "{\"type\":\"error\",\"message\":\"%s\"}", message);
    sh_session_send(c->session, json, strlen(json), SH_SEND_CONTROL);
    sh_session_request_close(c->session);
    c->closing = true;
    lws_callback_on_writable(c->wsi);
}

static void link_conn(sh_server* server, sh_conn* c)
{
    c->prev = NULL;
    c->next = server->conns;
    if (server->conns != NULL)
        server->conns->prev = c;
    server->conns = c;
}

static void unlink_conn(sh_server* server, sh_conn* c)
{
    if (c->prev != NULL)
        c->prev->next = c->next;
    else if (server->conns == c)
        server->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->next = c->prev = NULL;
}

static void free_rx(sh_conn* c)
{
    if (c->rx != NULL)
        sh_free(c->rx, c->rx_cap);
    c->rx = NULL;
    c->rx_len = c->rx_cap = 0;
}

static int on_established(struct lws* wsi, sh_conn* c, sh_server* server)
{
    c->wsi = wsi;
    c->is_ws = true;
    c->session = sh_session_new(server, atomic_fetch_add(&server->next_id, 1));
    if (c->session == NULL)
        return -1;
    link_conn(server, c);
    if (server->session_count >= server->cfg.max_sessions)
    {
        sh_log("session %u refused: server busy (%d sessions)", c->session->id, server->session_count);
        server->refused_busy++;
        refuse(c, "server busy");
        return 0;
    }
    c->accepted = true;
    sh_session_set_peer(c->session, wsi); // for host.sessions() in the REPL
    server->session_count++;
    server->sessions_total++;
    sh_log("session %u opened (%d sessions)", c->session->id, server->session_count);
    sh_workers_register(server->workers, &c->session->actor);
    sh_workers_wake(server->workers, &c->session->actor); // loads the script now, not at the first message
    return 0;
}

static void on_receive(sh_conn* c, sh_server* server, const void* in, size_t len)
{
    if (c->closing)
        return;
    bool first = c->rx_len == 0 && !c->rx_too_big && !c->rx_binary && lws_is_first_fragment(c->wsi);
    if (first && lws_frame_is_binary(c->wsi))
        c->rx_binary = true;
    if (!c->rx_binary && !c->rx_too_big)
    {
        if (c->rx_len + len > server->cfg.max_message_bytes)
        {
            c->rx_too_big = true;
            free_rx(c);
        }
        else
        {
            if (c->rx_len + len > c->rx_cap)
            {
                size_t cap = c->rx_cap ? c->rx_cap : 4096;
                while (cap < c->rx_len + len)
                    cap *= 2;
                if (cap > server->cfg.max_message_bytes)
                    cap = server->cfg.max_message_bytes;
                char* p = sh_realloc(c->rx, c->rx_cap, cap);
                if (p == NULL)
                {
                    refuse(c, "out of memory");
                    return;
                }
                c->rx = p;
                c->rx_cap = cap;
            }
            memcpy(c->rx + c->rx_len, in, len);
            c->rx_len += len;
        }
    }
    if (!lws_is_final_fragment(c->wsi) || lws_remaining_packet_payload(c->wsi) != 0)
        return;
    // A whole message.
    if (c->rx_binary)
    {
        sh_log("session %u: binary message refused", c->session->id);
        refuse(c, "binary messages are not supported");
        return;
    }
    if (c->rx_too_big)
    {
        sh_log("session %u: message over %zu bytes refused", c->session->id, server->cfg.max_message_bytes);
        refuse(c, "message too large");
        return;
    }
    sh_msg* m = sh_msg_from(c->rx ? c->rx : "", c->rx_len);
    c->rx_len = 0;
    if (m == NULL)
    {
        refuse(c, "out of memory");
        return;
    }
    if (!sh_session_deliver(c->session, m))
        refuse(c, "too many messages");
}

static int on_writeable(struct lws* wsi, sh_conn* c)
{
    sh_session* s = c->session;
    pthread_mutex_lock(&s->lock);
    sh_msg* m = sh_outbox_pop(&s->out);
    bool more = s->out.head != NULL;
    bool close = s->close_requested;
    pthread_mutex_unlock(&s->lock);
    if (m != NULL)
    {
        int n = lws_write(wsi, sh_msg_payload(m), m->len, m->binary ? LWS_WRITE_BINARY : LWS_WRITE_TEXT);
        bool ok = n >= 0 && (size_t)n == m->len;
        sh_msg_free(m);
        if (!ok)
            return -1; // a short write: the connection is broken
        if (more || close)
            lws_callback_on_writable(wsi);
        return 0;
    }
    if (close)
    {
        lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL, NULL, 0);
        return -1;
    }
    return 0;
}

static void on_closed(sh_conn* c, sh_server* server)
{
    free_rx(c);
    if (c->session == NULL)
        return;
    unlink_conn(server, c);
    if (c->accepted)
    {
        server->session_count--;
        sh_log("session %u closed (%d sessions)", c->session->id, server->session_count);
    }
    sh_session_client_gone(c->session);
    sh_session_unref(c->session);
    c->session = NULL;
}

int sh_ws_callback(struct lws* wsi, enum lws_callback_reasons reason, sh_conn* c, void* in, size_t len)
{
    sh_server* server = lws_context_user(lws_get_context(wsi));
    switch (reason)
    {
        case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
            // Only /api/v1/live upgrades to a WebSocket.
            char uri[64];
            int n = lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
            if (n != (int)strlen(live_path) || strcmp(uri, live_path) != 0)
                return 1;
            return sh_ws_refuse_upgrade(wsi, server);
        }
        case LWS_CALLBACK_ESTABLISHED:
            return on_established(wsi, c, server);
        case LWS_CALLBACK_RECEIVE:
            if (c->session != NULL)
                on_receive(c, server, in, len);
            return 0;
        case LWS_CALLBACK_SERVER_WRITEABLE:
            return c->session != NULL ? on_writeable(wsi, c) : 0;
        case LWS_CALLBACK_CLOSED:
            on_closed(c, server);
            return 0;
        default:
            return 0;
    }
}

void sh_ws_poke_all(sh_server* server)
{
    for (sh_conn* c = server->conns; c != NULL; c = c->next)
    {
        sh_session* s = c->session;
        pthread_mutex_lock(&s->lock);
        bool want = s->out.head != NULL || s->close_requested;
        pthread_mutex_unlock(&s->lock);
        if (want)
            lws_callback_on_writable(c->wsi);
    }
}
