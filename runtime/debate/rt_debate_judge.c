/* rt_debate_judge: the debate judge J(evidence, action) (rt_debate.h): creation,
 * Bradley–Terry training on "demonstrator's action > a random other action" with L
 * random revealed features, scoring and held-out top-1 accuracy.  Leaves out: training
 * on noisy demonstrations, judges with memory of the debate's order. */
#include <math.h>
#include <string.h>

#include "rt_alloc.h"
#include "rt_debate_int.h"
#include "rt_math.h"

static const char *const judge_cols[] = {"step", "loss", "accuracy"};

const char *const *rt_debate_judge_columns(int *n)
{
    if (n) *n = 3;
    return judge_cols;
}

void rt_debate_judge_train_init(rt_debate_train_config *cfg)
{
    cfg->steps = 1500;
    cfg->batch = 64;
    cfg->lr = 3e-3f;
    cfg->log_every = 50;
}

int rt_debate_judge_create(const rt_task *task, int hidden, const rt_rng *rng,
                           rt_debate_judge **out, rt_debate_error *err)
{
    *out = NULL;
    if (!task || rt_task_kind_of(task) != &rt_task_kind_triage) {
        rt_debate_set_err(err, RT_DEBATE_EINVAL, 0, "a judge needs a triage task (got %s)",
                          task ? rt_task_kind_name(rt_task_kind_of(task)) : "none");
        return RT_DEBATE_EINVAL;
    }
    if (hidden < 1 || hidden > 4096) {
        rt_debate_set_err(err, RT_DEBATE_EINVAL, 0, "judge hidden must be between 1 and 4096");
        return RT_DEBATE_EINVAL;
    }
    rt_debate_judge *j = rt_calloc(1, sizeof *j);
    if (!j) {
        rt_debate_set_err(err, RT_DEBATE_ENOMEM, 0, "out of memory");
        return RT_DEBATE_ENOMEM;
    }
    j->task = task;
    j->K = (int)rt_task_value(task, "features"), j->M = (int)rt_task_value(task, "values"),
    j->A = (int)rt_task_value(task, "actions");
    if (rt_dmlp_init(&j->net, j->K, j->M + 1, hidden, j->A, rng) != 0) {
        rt_free(j);
        rt_debate_set_err(err, RT_DEBATE_ENOMEM, 0, "out of memory");
        return RT_DEBATE_ENOMEM;
    }
    *out = j;
    return 0;
}

void rt_debate_judge_free(rt_debate_judge *j)
{
    if (!j) return;
    rt_dmlp_release(&j->net);
    rt_free(j);
}

void rt_debate_judge_tokens(const rt_debate_judge *j, const int *values, unsigned revealed,
                            int *tok)
{
    for (int k = 0; k < j->K; k++)
        tok[k] = (revealed >> k & 1u) ? values[k] : j->M;
}

void rt_debate_judge_scores(const rt_debate_judge *j, const int *values, unsigned revealed,
                            float *scores)
{
    int tok[RT_DEBATE_MAX_K];
    float h[4096];
    rt_debate_judge_tokens(j, values, revealed, tok);
    rt_dmlp_forward1(&j->net, tok, h, scores);
}

static double softplus(double x)
{
    return x > 0 ? x + rt_log1p(rt_exp(-x)) : rt_log1p(rt_exp(x));
}

static void put_row(rt_run *run, double *row, const int *map, const double *vals, int n)
{
    for (int c = 0; c < n; c++)
        if (map[c] >= 0) row[map[c]] = vals[c];
    rt_run_append(run, row);
}

int rt_debate_judge_train(rt_debate_judge *j, int evidence, const rt_debate_train_config *cfg,
                          const rt_rng *rng, rt_run *run, rt_debate_error *err)
{
    if (!j || !cfg || !rng || evidence < 1 || evidence > j->K || cfg->steps < 0 || cfg->batch < 1 ||
        !(cfg->lr > 0) || cfg->log_every < 1) {
        rt_debate_set_err(err, RT_DEBATE_EINVAL, 0,
                          "judge training: evidence must be 1..K, steps >= 0, batch >= 1, "
                          "lr > 0, log_every >= 1");
        if (run) rt_run_finish(run, RT_RUN_FAILED, 0, "judge: bad configuration");
        return RT_DEBATE_EINVAL;
    }
    int B = cfg->batch, K = j->K, A = j->A, H = j->net.H;
    rt_adam_config adam = rt_dmlp_adam_config(cfg->lr);
    int map[3];
    double *row = NULL;
    rt_task_sample *smp = rt_malloc(sizeof *smp * (size_t)B);
    int *tok = rt_malloc(sizeof(int) * (size_t)B * K);
    int *dem = rt_malloc(sizeof(int) * (size_t)B * 2);
    float *buf = rt_malloc(sizeof(float) * (size_t)B * (2 * H + 2 * A));
    long rows = cfg->steps / cfg->log_every + 2;
    if (!smp || !tok || !dem || !buf || rt_debate_run_begin(run, judge_cols, 3, rows, map, &row)) {
        rt_free(smp), rt_free(tok), rt_free(dem), rt_free(buf), rt_free(row);
        rt_debate_set_err(err, RT_DEBATE_ENOMEM, 0, "judge: out of memory");
        if (run) rt_run_finish(run, RT_RUN_FAILED, 0, "judge: out of memory");
        return RT_DEBATE_ENOMEM;
    }
    float *h = buf, *dh = h + (size_t)B * H, *out = dh + (size_t)B * H, *dout = out + (size_t)B * A;
    rt_rng s_states = rt_rng_split(rng, 1), s_pairs = rt_rng_split(rng, 2);
    if (run) rt_run_start(run);
    double loss_acc = 0;
    long loss_n = 0;
    int rc = 0;
    long s;
    for (s = 1; s <= cfg->steps; s++) {
        if (run && rt_run_should_stop(run)) {
            rc = RT_DEBATE_EINTR;
            break;
        }
        rt_rng st = rt_rng_split(&s_states, (uint64_t)s), sp = rt_rng_split(&s_pairs, (uint64_t)s);
        rt_task_sample_batch(j->task, &st, 0, RT_TASK_TRAIN, B, smp, NULL);
        for (int i = 0; i < B; i++) {
            rt_rng r = rt_rng_split(&sp, (uint64_t)i);
            int v[RT_DEBATE_MAX_K];
            rt_task_triage_state(j->task, &smp[i], v);
            unsigned sub = rt_debate_random_subset(&r, K, evidence);
            int d = rt_task_triage_demo_action(j->task, &smp[i]);
            int o = (d + 1 + (int)rt_rng_below(&r, (uint32_t)(A - 1))) % A;
            rt_debate_judge_tokens(j, v, sub, tok + (size_t)i * K);
            dem[2 * i] = d, dem[2 * i + 1] = o;
        }
        rt_dmlp_forward(&j->net, tok, B, h, out);
        double loss = 0;
        int right = 0;
        memset(dout, 0, sizeof(float) * (size_t)B * A);
        for (int i = 0; i < B; i++) {
            int d = dem[2 * i], o = dem[2 * i + 1];
            double x = (double)out[(size_t)i * A + o] - out[(size_t)i * A + d];
            loss += softplus(x);
            right += x < 0;
            float g = (float)(1.0 / (1.0 + rt_exp(-x)) / B); /* d loss / d x */
            dout[(size_t)i * A + o] += g;
            dout[(size_t)i * A + d] -= g;
        }
        loss /= B;
        if (!isfinite(loss)) {
            rc = RT_DEBATE_EFAILED;
            break;
        }
        rt_params_zero_grad(&j->net.params);
        rt_dmlp_backward(&j->net, tok, B, h, dout, dh);
        rt_adam(&j->net.params, &adam, NULL);
        loss_acc += loss, loss_n++;
        if (run && (s % cfg->log_every == 0 || s == cfg->steps)) {
            double vals[3] = {(double)s, loss_acc / loss_n, (double)right / B};
            put_row(run, row, map, vals, 3);
            loss_acc = 0, loss_n = 0;
        }
    }
    long done = s - 1;
    if (rc == RT_DEBATE_EINTR) {
        rt_debate_set_err(err, rc, done, "judge: interrupted at step %ld", done);
        if (run) rt_run_finish(run, RT_RUN_INTERRUPTED, done, "");
    } else if (rc == RT_DEBATE_EFAILED) {
        rt_debate_set_err(err, rc, s, "judge: loss is not finite at step %ld", s);
        if (run) rt_run_finish(run, RT_RUN_FAILED, s, err ? err->msg : "judge: loss not finite");
    } else if (run) {
        rt_run_finish(run, RT_RUN_FINISHED, cfg->steps, "");
    }
    rt_free(smp), rt_free(tok), rt_free(dem), rt_free(buf), rt_free(row);
    return rc;
}

int rt_debate_judge_accuracy(const rt_debate_judge *j, int evidence, int n, const rt_rng *rng,
                             double *acc)
{
    if (!j || !rng || !acc || evidence < 1 || evidence > j->K || n < 1) return RT_DEBATE_EINVAL;
    rt_rng st = rt_rng_split(rng, 0);
    long right = 0;
    for (int i = 0; i < n; i++) {
        rt_task_sample smp;
        rt_task_sample_batch(j->task, &st, (uint64_t)i, RT_TASK_HELDOUT, 1, &smp, NULL);
        rt_rng r = rt_rng_split(rng, 1 + (uint64_t)i);
        int v[RT_DEBATE_MAX_K];
        rt_task_triage_state(j->task, &smp, v);
        unsigned sub = rt_debate_random_subset(&r, j->K, evidence);
        float sc[RT_DEBATE_MAX_A];
        rt_debate_judge_scores(j, v, sub, sc);
        int d = rt_task_triage_demo_action(j->task, &smp), top = 1;
        for (int a = 0; a < j->A; a++)
            if (a != d && !(sc[d] > sc[a])) top = 0;
        right += top;
    }
    *acc = (double)right / n;
    return 0;
}
