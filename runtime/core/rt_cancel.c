/* rt_cancel: see rt_cancel.h. */
#include "rt_cancel.h"

#include <stddef.h>

static _Thread_local rt_cancel_point *current;

rt_cancel_point *rt_cancel_install(rt_cancel_point *p)
{
    rt_cancel_point *old = current;
    current = p;
    return old;
}

rt_cancel_point *rt_cancel_current(void)
{
    return current;
}

int rt_cancel_poll(void)
{
    rt_cancel_point *p = current;
    if (!p || !p->flag || !atomic_load_explicit(p->flag, memory_order_relaxed)) return 0;
    atomic_store(&p->cut, 1);
    return 1;
}

int rt_cancel_was_cut(void)
{
    return current && atomic_load(&current->cut);
}

void rt_cancel_note_update(void)
{
    if (current) atomic_fetch_add(&current->updates, 1);
}
