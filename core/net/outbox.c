// The bounded outbox between a session's worker and the service thread. A client that reads slower
// than frames are made must not grow the host's memory (protocol.md "Pacing"): past `frame_cap`
// queued frames (or `byte_cap` bytes of them) the oldest undelivered frame is dropped and counted. Control
// messages (metadata, error, complete, replies) are never dropped; they are few per session, so they cannot
// grow it.
#include "net_internal.h"

#include <string.h>

sh_msg* sh_msg_new(size_t len)
{
    sh_msg* m = sh_alloc(sizeof *m + LWS_PRE + len + 1);
    if (m == NULL)
        return NULL;
    m->next = NULL;
    m->droppable = false;
    m->binary = false;
    m->len = len;
    m->data[LWS_PRE + len] = 0; // handy for code that reads the payload as a C string
    return m;
}

sh_msg* sh_msg_from(const char* s, size_t len)
{
    sh_msg* m = sh_msg_new(len);
    if (m != NULL)
        memcpy(sh_msg_payload(m), s, len);
    return m;
}

void sh_msg_free(sh_msg* m)
{
    if (m != NULL)
        sh_free(m, sizeof *m + LWS_PRE + m->len + 1);
}

// Drops the oldest queued droppable message; false when there is none.
static bool drop_oldest_frame(sh_outbox* o)
{
    sh_msg* prev = NULL;
    for (sh_msg* it = o->head; it != NULL; prev = it, it = it->next)
    {
        if (!it->droppable)
            continue;
        if (prev == NULL)
            o->head = it->next;
        else
            prev->next = it->next;
        if (o->tail == it)
            o->tail = prev;
        o->frames--;
        o->bytes -= it->len;
        o->frame_bytes -= it->len;
        o->dropped++;
        sh_msg_free(it);
        return true;
    }
    return false;
}

void sh_outbox_push(sh_outbox* o, sh_msg* m)
{
    m->next = NULL;
    // The queue holds at most frame_cap frames plus a handful of control messages, so the walks in
    // drop_oldest_frame are short. The newest frame always goes in, even past byte_cap on its own.
    if (m->droppable)
        while ((o->frames >= o->frame_cap || (o->frames > 0 && o->frame_bytes + m->len > o->byte_cap)) &&
               drop_oldest_frame(o))
        {
        }
    if (o->tail == NULL)
        o->head = m;
    else
        o->tail->next = m;
    o->tail = m;
    if (m->droppable)
    {
        o->frames++;
        o->frame_bytes += m->len;
    }
    o->bytes += m->len;
}

sh_msg* sh_outbox_pop(sh_outbox* o)
{
    sh_msg* m = o->head;
    if (m == NULL)
        return NULL;
    o->head = m->next;
    if (o->head == NULL)
        o->tail = NULL;
    if (m->droppable)
    {
        o->frames--;
        o->frame_bytes -= m->len;
    }
    o->bytes -= m->len;
    m->next = NULL;
    return m;
}

void sh_outbox_clear(sh_outbox* o)
{
    sh_msg* m;
    while ((m = sh_outbox_pop(o)) != NULL)
        sh_msg_free(m);
}
