/* rt_reward_warn.c: warnings about a compiled reward that is valid but probably not
 * what was meant (issue 12 B7): a parameter named like a feature (a typo turns a
 * feature into a constant) and a reward that reads no feature (the same value for every
 * sample).  The did-you-mean rule is rt_text.h's, applied when the parameter was made
 * (rw_param.hint, rt_reward_parse.c).  Leaves out showing them (the caller: %%reward
 * prints them on stderr) and errors (a warning never stops a compile). */
#include "rt_reward_int.h"

#include <stdio.h>
#include <string.h>

/* The first token of the expression: the smallest position of a node. */
static void first_pos(const rt_reward_program *p, int *line, int *col)
{
    *line = 0, *col = 0;
    for (int i = 0; i < p->n_nodes; i++) {
        const rw_node *n = &p->nodes[i];
        if (n->line <= 0) continue;
        if (*line == 0 || n->line < *line || (n->line == *line && n->col < *col))
            *line = n->line, *col = n->col;
    }
}

int rt_reward_warning(const rt_reward_program *p, int i, rt_diag *w)
{
    if (w) memset(w, 0, sizeof *w);
    if (!p) return 0;
    int n = 0;
    for (int k = 0; k < p->n_params; k++) {
        const rw_param *q = &p->params[k];
        if (!q->hint[0]) continue;
        if (n++ != i || !w) continue;
        w->line = q->line;
        w->col = q->col;
        snprintf(w->near, sizeof w->near, "%s", q->name);
        snprintf(w->msg, sizeof w->msg, "'%s' is a parameter (did you mean the feature '%s'?)",
                 q->name, q->hint);
    }
    if (p->n_env_feats > 0 && p->n_feats == 0 && p->n_texts == 0) {
        if (n++ == i && w) {
            first_pos(p, &w->line, &w->col);
            if (p->name[0])
                snprintf(w->msg, sizeof w->msg,
                         "reward '%s' reads no feature: every sample gets the same reward",
                         p->name);
            else
                snprintf(w->msg, sizeof w->msg,
                         "the reward reads no feature: every sample gets the same reward");
        }
    }
    return n;
}
