/* mag_attn: %sample POLICY attention=true — the attention view of a gpt policy on one
 * prompt (issue 17 item 4).  The prompt is prompt="..." or the first one %sample would
 * draw; the completion is the greedy one, or with temperature= given the first sample at
 * that temperature (the first row of the same %sample without attention=true).  The
 * sequence shown is what the model reads to produce that completion: PAD as BOS, the
 * prompt (its left PADs as ⟨pad⟩), the completion's tokens but the last (which only the
 * last row predicts); row i of each heat map is the query at input i (the text twin
 * names the token it predicts), column j the key at input j.  The probabilities are
 * rt_gpt_attention's (the forward pass's own), drawn by rt_chart_heat (rows = layers,
 * columns = heads) as one display_data {image/png, text/plain}: the SVG rasterized by
 * mag_bridge_final as a chart's final frame (the SVG stays instead with
 * RLHF_CHART_PNG=off or when rasterizing fails).
 * Leaves out: several prompts, attention of best-of-K selections, values / gradients. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "krn_display.h"
#include "mag_bridge.h"
#include "mag_eval.h"
#include "rt_alloc.h"
#include "rt_chart_heat.h"
#include "rt_model_gpt.h"

#define BOS_LABEL                                                                                  \
    "\xe2\x9f\xa8"                                                                                 \
    "bos\xe2\x9f\xa9" /* ⟨bos⟩ */
#define PAD_LABEL                                                                                  \
    "\xe2\x9f\xa8"                                                                                 \
    "pad\xe2\x9f\xa9" /* ⟨pad⟩ */

static const char *tok_label(const rt_task *task, int t)
{
    if (t == RT_TOK_PAD) return PAD_LABEL;
    const char *s = rt_task_token(task, t);
    return s ? s : "?";
}

/* The bundle of the heat map {image/svg+xml, text/plain}, made a final figure by
 * mag_bridge_final (the SVG rasterized to the image/png that replaces it, as charts'
 * final frames: what exported and untrusted notebooks show); NULL when out of memory;
 * *meta the PNG's size or NULL. */
static cJSON *bundle_of(const rt_chart_heat *h, cJSON **meta)
{
    char *svg = NULL, *text = NULL;
    cJSON *b = NULL;
    *meta = NULL;
    if (rt_chart_heat_svg(h, &svg, NULL) || rt_chart_heat_text(h, &text, NULL)) goto done;
    if (!(b = cJSON_CreateObject()) || !cJSON_AddStringToObject(b, "image/svg+xml", svg) ||
        !cJSON_AddStringToObject(b, "text/plain", text) || mag_bridge_final(b, meta, NULL)) {
        cJSON_Delete(b);
        b = NULL;
    }
done:
    rt_free(svg);
    rt_free(text);
    return b;
}

int mag_sample_attention(mag_ctx *ctx, const mag_line *line, const char *pname,
                         const rt_policy *pol, const rt_task *task, const rt_task_sample *s,
                         const rt_rng *draws, float temp, int sampled, mag_diag *d)
{
    const rt_model *m = &pol->model;
    int P = rt_task_prompt_len(task), T = rt_task_answer_max(task);
    int cfg[RT_MODEL_MAX_KEYS];
    rt_model_config(m, cfg);
    int NL = cfg[RT_GPT_LAYERS], NH = cfg[RT_GPT_HEADS];
    int *tok = rt_calloc((size_t)T, sizeof *tok), *seq = rt_calloc((size_t)(P + T), sizeof *seq);
    const char **labels = rt_calloc((size_t)(P + T) * 2, sizeof *labels);
    float *att = NULL;
    rt_model_ws *ws = NULL;
    int rc = 0;
    if (!tok || !seq || !labels || rt_model_ws_create(&ws, m, 1, NULL)) goto oom;
    rc = rt_model_generate(m, ws, s->prompt, 1, P, T, sampled ? temp : 0.0f, draws, 0, tok, NULL);
    if (rc) goto fail;
    int na = 0;
    while (na < T && tok[na] != RT_TOK_EOS)
        na++;
    if (na < T) na++;
    /* the inputs that produced the completion: prompt ++ tok[0 .. na - 1) after BOS */
    int n = P + na - 1, L = n + 1;
    memcpy(seq, s->prompt, sizeof *seq * (size_t)P);
    memcpy(seq + P, tok, sizeof *seq * (size_t)(na - 1));
    att = rt_calloc((size_t)NL * NH * L * L, sizeof *att);
    if (!att) goto oom;
    rt_diag rd = {0};
    rc = rt_gpt_attention(m, seq, n, att, &rd);
    if (rc == RT_ENOMEM) goto oom;
    if (rc) goto fail;
    const char **next = labels + L;
    labels[0] = BOS_LABEL;
    for (int i = 0; i < n; i++)
        labels[i + 1] = next[i] = tok_label(task, seq[i]);
    next[n] = tok_label(task, tok[na - 1]);
    char pr[160], ans[160], title[400], sub[400];
    rt_task_render_with(task, s->prompt, P, pr, sizeof pr);
    rt_task_render_with(task, tok, na, ans, sizeof ans);
    int correct = rt_task_verify(task, s, tok, T);
    snprintf(title, sizeof title, "%%sample %s attention=true: %s%s", pname, pr, ans);
    if (sampled)
        snprintf(sub, sizeof sub,
                 "the first sample at temperature %g (%s) \xc2\xb7 gpt layers=%d heads=%d "
                 "\xc2\xb7 rows: query, columns: key",
                 (double)temp, correct ? "correct" : "wrong", NL, NH);
    else
        snprintf(sub, sizeof sub,
                 "greedy completion (%s) \xc2\xb7 gpt layers=%d heads=%d \xc2\xb7 rows: query, "
                 "columns: key",
                 correct ? "correct" : "wrong", NL, NH);
    rt_chart_heat h = {.title = title,
                       .subtitle = sub,
                       .layers = NL,
                       .heads = NH,
                       .L = L,
                       .values = att,
                       .labels = labels,
                       .next = next};
    cJSON *meta = NULL, *b = bundle_of(&h, &meta);
    if (!b) goto oom;
    krn_out_display(ctx->out, b, meta, NULL);
    goto done;
fail:
    rc = mag_diag_set(d, ctx->src, ctx->len, MAG_ERUNTIME, line->name_pos.line, line->name_pos.col,
                      NULL, "%%sample %s attention=true: the forward pass failed (%d)", pname, rc);
    goto done;
oom:
    rc = mag_err_nomem(d);
done:
    rt_model_ws_free(ws);
    rt_free(att);
    rt_free(labels);
    rt_free(seq);
    rt_free(tok);
    return rc;
}
