/* rt_pref_loss.c: the Bradley–Terry and DPO-family losses of rt_pref_loss.h, their table
 * of `loss` names, and stable sigma / softplus.  The table is written once, as
 * LOSSES(ROW), for both the rows and the NULL-terminated name list (as rt_rl_recipe.c).
 * Leaves out: everything about models and batches (the trainers). */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "rt_math.h"
#include "rt_pref_loss.h"

/* A new loss type is a new ROW here, a case in term() and its test. */
#define LOSSES(ROW)                                                                                \
    ROW("dpo", .kind = RT_PREF_DPO, .trl = "sigmoid", .eps_max = 0.5, .eps_open = 0,               \
        .per_token = 0, .help = "DPO: -log sigmoid(beta z); label_smoothing eps gives cDPO")       \
    ROW("ipo", .kind = RT_PREF_IPO, .trl = "ipo", .eps_max = 0, .eps_open = 0, .per_token = 1,     \
        .help = "IPO: (z - 1/(2 beta))^2 on per-token mean log-probs, a bounded target")           \
    ROW("hinge", .kind = RT_PREF_HINGE, .trl = "hinge", .eps_max = 0, .eps_open = 0,               \
        .per_token = 0, .help = "SLiC hinge: max(0, 1 - beta z)")                                  \
    ROW("robust", .kind = RT_PREF_ROBUST, .trl = "robust", .eps_max = 0.5, .eps_open = 1,          \
        .per_token = 0,                                                                            \
        .help = "robust DPO: unbiased under labels flipped at rate label_smoothing")

#define AS_ROW(nm, ...) {.name = nm, __VA_ARGS__},
#define AS_NAME(nm, ...) nm,
static const rt_pref_loss_type types[] = {LOSSES(AS_ROW)};
const char *const rt_pref_loss_names[] = {LOSSES(AS_NAME) NULL};
enum { N_TYPES = sizeof types / sizeof types[0] };

int rt_pref_loss_count(void)
{
    return N_TYPES;
}

const rt_pref_loss_type *rt_pref_loss_at(int i)
{
    return i >= 0 && i < N_TYPES ? &types[i] : NULL;
}

const rt_pref_loss_type *rt_pref_loss_find(const char *name)
{
    for (int i = 0; name && i < N_TYPES; i++)
        if (!strcmp(name, types[i].name)) return &types[i];
    return NULL;
}

double rt_pref_sigmoid(double x)
{
    if (x >= 0) return 1 / (1 + rt_exp(-x));
    double e = rt_exp(x); /* x < 0: no overflow, e in [0, 1) */
    return e / (1 + e);
}

double rt_pref_softplus(double x)
{
    double a = fabs(x); /* log(1 + e^x) = max(x, 0) + log(1 + e^-|x|) */
    return (x > 0 ? x : 0) + rt_log1p(rt_exp(-a));
}

static const rt_pref_loss_type *type_of(const rt_pref_dpo_config *c)
{
    return c->type ? c->type : &types[0];
}

int rt_pref_dpo_check(const rt_pref_dpo_config *c, rt_diag *d)
{
    if (!c) return rt_diag_set(d, RT_EINVAL, "no DPO configuration");
    const rt_pref_loss_type *t = type_of(c);
    int known = 0;
    for (int i = 0; i < N_TYPES; i++)
        known |= t == &types[i];
    if (!known) return rt_diag_key(d, RT_EINVAL, "loss", "not a row of the loss table");
    if (!(c->beta > 0) || !isfinite(c->beta))
        return rt_diag_key(d, RT_EINVAL, "beta", "beta = %g must be a finite number > 0", c->beta);
    double e = c->label_smoothing;
    if (t->eps_max == 0 && e != 0)
        return rt_diag_key(d, RT_EINVAL, "label_smoothing",
                           "label_smoothing = %g needs loss = dpo or robust (loss = %s has none)",
                           e, t->name);
    if (!(e >= 0) || (t->eps_open ? !(e < t->eps_max) : !(e <= t->eps_max)))
        return rt_diag_key(d, RT_EINVAL, "label_smoothing",
                           "label_smoothing = %g must be in [0, %g%s for loss = %s", e, t->eps_max,
                           t->eps_open ? ")" : "]", t->name);
    return 0;
}

/* The loss of one pair as a function of z, and dl/dz in *dl (see the header). */
static double term(const rt_pref_loss_type *t, double beta, double eps, double z, double *dl)
{
    double h = beta * z, l, g;
    switch (t->kind) {
    case RT_PREF_DPO: /* -(1 - eps) log s(h) - eps log s(-h) = (1 - eps) sp(-h) + eps sp(h) */
        l = (1 - eps) * rt_pref_softplus(-h);
        if (eps != 0) l += eps * rt_pref_softplus(h);
        g = beta * (rt_pref_sigmoid(h) - (1 - eps));
        break;
    case RT_PREF_ROBUST: /* ((1 - eps) sp(-h) - eps sp(h)) / (1 - 2 eps) */
        l = (1 - eps) * rt_pref_softplus(-h);
        if (eps != 0) l -= eps * rt_pref_softplus(h);
        l /= 1 - 2 * eps;
        g = beta * (rt_pref_sigmoid(h) - (1 - eps) / (1 - 2 * eps));
        break;
    case RT_PREF_IPO: {
        double u = z - 1 / (2 * beta);
        l = u * u;
        g = 2 * u;
        break;
    }
    case RT_PREF_HINGE:
    default:
        l = h < 1 ? 1 - h : 0;
        g = h < 1 ? -beta : 0;
        break;
    }
    if (dl) *dl = g;
    return l;
}

double rt_pref_dpo_term(const rt_pref_dpo_config *c, double z, double *dl)
{
    return term(type_of(c), c->beta, c->label_smoothing, z, dl);
}

/* Checks the arrays shared by both losses; *W = the total weight. */
static int check_pairs(long n, const double *const *in, const char *const *what, int nin,
                       const double *w, double *W, rt_diag *d)
{
    if (n < 1) return rt_diag_set(d, RT_EINVAL, "no pairs (n = %ld)", n);
    for (int k = 0; k < nin; k++)
        if (!in[k]) return rt_diag_set(d, RT_EINVAL, "no %s", what[k]);
    double s = 0;
    for (long i = 0; i < n; i++) {
        for (int k = 0; k < nin; k++)
            if (!isfinite(in[k][i]))
                return rt_diag_set(d, RT_EINVAL, "pair %ld: %s = %g is not finite", i, what[k],
                                   in[k][i]);
        if (w && !(w[i] >= 0 && isfinite(w[i])))
            return rt_diag_set(d, RT_EINVAL, "pair %ld: weight = %g must be finite and >= 0", i,
                               w[i]);
        s += w ? w[i] : 1;
    }
    if (!(s > 0) || !isfinite(s))
        return rt_diag_set(d, RT_EINVAL, "the pairs' weights sum to %g (need a finite sum > 0)", s);
    *W = s;
    return 0;
}

/* accuracy of x > 0 with a tie counting 1/2 */
static double correct(double x)
{
    return x > 0 ? 1 : x == 0 ? 0.5 : 0;
}

/* The weighted sums behind rt_pref_loss_stats, in pair order. */
typedef struct sums {
    double loss, acc, mar, ch, rej;
    long ties;
} sums;

static void add(sums *s, double wi, double l, double margin, double chosen, double rejected)
{
    s->loss += wi * l;
    s->acc += wi * correct(margin);
    s->mar += wi * margin;
    s->ch += wi * chosen;
    s->rej += wi * rejected;
    s->ties += margin == 0;
}

static void finish(const sums *s, double W, rt_pref_loss_stats *st)
{
    *st = (rt_pref_loss_stats){.loss = s->loss / W,
                               .accuracy = s->acc / W,
                               .margin = s->mar / W,
                               .chosen = s->ch / W,
                               .rejected = s->rej / W,
                               .ties = s->ties,
                               .weight = W};
}

int rt_pref_dpo_loss(const rt_pref_dpo_config *c, long n, const double *lp_c, const double *lp_r,
                     const double *lr_c, const double *lr_r, const double *w, double *dlp_c,
                     double *dlp_r, rt_pref_loss_stats *st, rt_diag *d)
{
    int rc = rt_pref_dpo_check(c, d);
    if (rc) return rc;
    const double *in[4] = {lp_c, lp_r, lr_c, lr_r};
    static const char *const what[4] = {"policy chosen log-prob", "policy rejected log-prob",
                                        "reference chosen log-prob", "reference rejected log-prob"};
    double W = 0;
    if ((rc = check_pairs(n, in, what, 4, w, &W, d))) return rc;
    const rt_pref_loss_type *t = type_of(c);
    double beta = c->beta, eps = c->label_smoothing;
    sums tot = {0};
    for (long i = 0; i < n; i++) {
        double wi = w ? w[i] : 1, a = lp_c[i] - lr_c[i], b = lp_r[i] - lr_r[i], z = a - b;
        double h = beta * z, g, l = term(t, beta, eps, z, &g);
        if (dlp_c) dlp_c[i] = wi / W * g;
        if (dlp_r) dlp_r[i] = -(wi / W * g);
        if (wi == 0) continue; /* a masked pair adds nothing, not even a tie */
        add(&tot, wi, l, h, beta * a, beta * b);
    }
    if (st) finish(&tot, W, st);
    return 0;
}

int rt_pref_bt_loss(long n, const double *s_c, const double *s_r, const double *margin,
                    const double *w, double center, double *ds_c, double *ds_r,
                    rt_pref_loss_stats *st, rt_diag *d)
{
    if (!(center >= 0) || !isfinite(center))
        return rt_diag_key(d, RT_EINVAL, "center", "center = %g must be a finite number >= 0",
                           center);
    const double *in[3] = {s_c, s_r, margin};
    static const char *const what[3] = {"chosen score", "rejected score", "margin"};
    double W = 0;
    int rc = check_pairs(n, in, what, margin ? 3 : 2, w, &W, d);
    if (rc) return rc;
    sums tot = {0};
    for (long i = 0; i < n; i++) {
        double wi = w ? w[i] : 1, diff = s_c[i] - s_r[i], x = diff - (margin ? margin[i] : 0);
        double sum = s_c[i] + s_r[i], q = rt_pref_sigmoid(-x); /* -d/dx softplus(-x) */
        double l = rt_pref_softplus(-x);
        if (center != 0) l += center * (sum * sum);
        double gc = center != 0 ? 2 * center * sum : 0;
        if (ds_c) ds_c[i] = wi / W * (gc - q);
        if (ds_r) ds_r[i] = wi / W * (gc + q);
        if (wi == 0) continue;
        add(&tot, wi, l, diff, s_c[i], s_r[i]);
    }
    if (st) finish(&tot, W, st);
    return 0;
}
