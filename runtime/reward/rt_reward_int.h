/* rt_reward_int.h: internals shared by the reward compiler (rt_reward_lex.c: tokens,
 * rt_reward_parse.c: grammar and names), the program builder (rt_reward_program.c),
 * the warnings (rt_reward_warn.c) and the evaluator (rt_reward_eval.c): the tokens, the
 * expression tree, the program layout, the compiler state and the value semantics
 * used both by constant folding and by the bytecode interpreter (so a folded
 * program gives exactly the value the unfolded one computes).  Not a public header. */
#ifndef RT_REWARD_INT_H
#define RT_REWARD_INT_H

#include "rt_diag.h"
#include "rt_reward.h"
#include "rt_math.h"
#include "rt_text.h"

#include <math.h>
#include <stdint.h>

/* Operations.  Tree nodes use OP_CONST..OP_IF; the bytecode additionally uses the
 * jumps.  Bytecode words: op in the low 8 bits, operand in the upper 24. */
enum {
    OP_CONST, /* v (tree) / consts[arg] (code) */
    OP_FEAT,  /* feature ref a / feats[arg] */
    OP_PARAM, /* parameter a / params[arg] */
    OP_NEG,
    OP_NOT,
    OP_TRUTH,
    OP_ABS,
    OP_LOG,
    OP_EXP,
    OP_SQRT, /* unary: a */
    OP_ADD,
    OP_SUB,
    OP_MUL,
    OP_DIV,
    OP_POW,
    OP_LT,
    OP_LE,
    OP_GT, /* binary: a, b */
    OP_GE,
    OP_EQ,
    OP_NE,
    OP_MIN,
    OP_MAX,
    OP_AND,
    OP_OR,
    OP_CLIP, /* a, b (lo), c (hi) */
    OP_IF,   /* a ? b : c */
    OP_JZ,   /* code only: pop; jump to arg if the popped value is 0 */
    OP_JMP,  /* code only: jump to arg */
    OP_ANDJ, /* code only: top == 0 ? (top = 0, jump) : pop */
    OP_ORJ,  /* code only: top != 0 ? (top = 1, jump) : pop */
    /* texts: OP_TEXT / OP_STR are leaves (a = text ref / literal index; in code the
     * operand is the text slot / literal index) that push onto the text stack (at most
     * 2 deep: text leaves are only ever the direct arguments of the text ops below),
     * the text ops pop their texts and push one number. */
    OP_TEXT,
    OP_STR,
    OP_EQUALS, /* a, b (text leaves) */
    OP_CONTAINS,
    OP_PREFIX,
    OP_EDIT,
    OP_NUMBER, /* a (text leaf) */
    OP_CLOSE,  /* numeric: a, b, c (tol) */
    OP_COUNT
};

typedef struct rw_node {
    uint8_t op;
    uint8_t folded; /* fold visited (the tree is a DAG after inlining) */
    int a, b, c;    /* children / ref indices, -1 if unused */
    double v;       /* OP_CONST value */
    int height;     /* 1 + max child height */
    int line, col;  /* cell position of the token that made the node */
} rw_node;

typedef struct rw_feat {
    char *name; /* "correct", or "debate(d1)" for a feature-function read */
    char *fn;   /* NULL, or "debate" */
    char *arg;  /* NULL, or "d1" */
    int slot;   /* index in the feature vector */
    int line, col;
} rw_feat;

typedef struct rw_text {
    char *name;
    int slot;                /* index in the texts array */
    int line, col;           /* first read */
    int bare_line, bare_col; /* first bare (numeric) read, 0 if none */
} rw_text;

typedef struct rw_lit {
    char *s; /* owned, NUL-terminated (may contain NULs: use n) */
    size_t n;
} rw_lit;

typedef struct rw_param {
    char *name;
    char hint[RT_REWARD_MAX_NAME + 1]; /* closest feature name ("did you mean"), or "" */
    int has_def;
    double def;
    int line, col;
} rw_param;

struct rt_reward_program {
    char *name;   /* "" if unnamed */
    char *source; /* compiled text (NUL-terminated copy) */
    rw_node *nodes;
    int n_nodes, root;
    rw_feat *feats; /* features read, first appearance order */
    int n_feats;
    rw_param *params; /* parameters, first appearance order */
    int n_params;
    char **env_feats; /* feature names of the compile env (named-argument namespace) */
    int n_env_feats;
    uint32_t *code;
    int n_code;
    double *consts;
    int n_consts;
    int max_stack;
    int min_slots;
    rw_text *texts; /* texts read, first appearance order */
    int n_texts;
    rw_lit *lits; /* string literals (OP_STR operands) */
    int n_lits;
    int min_texts;
};

/* Compiler state: the tree and tables under construction become the program's. */
typedef struct rw_compiler {
    const rt_reward_env *env;
    rt_diag *diag;
    int failed; /* 0, or the first error's code (negative) */
    rw_node *nodes;
    int n_nodes, cap_nodes;
    rw_feat *feats;
    int n_feats, cap_feats;
    rw_param *params;
    int n_params, cap_params;
    rw_text *texts;
    int n_texts, cap_texts;
    rw_lit *lits;
    int n_lits, cap_lits;
} rw_compiler;

/* ---- tokens (rt_reward_lex.c) ---- */

enum {
    RW_T_EOF,
    RW_T_NUM,
    RW_T_NAME,
    RW_T_LP,
    RW_T_RP,
    RW_T_COMMA,
    RW_T_ASSIGN,
    RW_T_PLUS,
    RW_T_MINUS,
    RW_T_STAR,
    RW_T_SLASH,
    RW_T_CARET,
    RW_T_LT,
    RW_T_LE,
    RW_T_GT,
    RW_T_GE,
    RW_T_EQ,
    RW_T_NE,
    RW_T_AND,
    RW_T_OR,
    RW_T_NOT,
    RW_T_STR /* "..." (num = decoded length; rw_str_decode gives the bytes) */
};

typedef struct rw_tok {
    int type;
    size_t pos, len; /* byte span in src */
    int line, col;
    double num;
} rw_tok;

typedef struct rw_lexer {
    rw_compiler *c; /* where errors go */
    const char *src;
    size_t len, pos;
    int line, col;
} rw_lexer;

/* Read the next token into *t; 0, or -1 on a lexical error (diagnostic set in lx->c). */
int rw_lex(rw_lexer *lx, rw_tok *t);
/* Error at token t: rw_error at its position with its text as "near".  fmt may contain
 * one %s: a (if given) or else the token text.  Returns -1. */
int rw_tok_error(const rw_lexer *lx, int code, const rw_tok *t, const char *fmt, const char *a);

/* Decode the string token t (validated by rw_lex) into out[0..RT_REWARD_MAX_STRING];
 * returns the decoded length. */
size_t rw_str_decode(const char *src, const rw_tok *t, char *out);

/* rt_reward_parse.c: parse src into c->nodes; returns the root index or -1. */
int rw_parse(rw_compiler *c, const char *src, size_t len, int line, int col);

/* rt_reward_program.c */
int rw_error(rw_compiler *c, int code, int line, int col, const char *near, size_t near_len,
             const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;
int rw_new_node(rw_compiler *c, int op, int a, int b, int cc, double v, int line, int col);
void rw_compiler_free(rw_compiler *c);
void rw_free_texts(rw_text *t, int n);
void rw_free_lits(rw_lit *l, int n);

/* rt_reward_eval.c: the text operations (also used by tests through evaluation). */
double rw_text_op(int op, rt_strview a, rt_strview b);
double rw_number(rt_strview a);

/* ---- value semantics (design.md "defined values"; see rt_reward.h) ---- */
#define RW_LOG_FLOOR 1e-30
#define RW_EXP_CEIL 709.0

static inline double rw_div(double a, double b)
{
    return b == 0 ? 0.0 : a / b;
}

static inline double rw_pow(double a, double b)
{
    if (a == 0 && b < 0) return 0.0;
    if (a < 0 && b != floor(b)) return 0.0;
    return rt_pow(a, b);
}

static inline double rw_log(double x)
{
    return x > RW_LOG_FLOOR ? rt_log(x) : rt_log(RW_LOG_FLOOR);
}

static inline double rw_exp(double x)
{
    return rt_exp(x > RW_EXP_CEIL ? RW_EXP_CEIL : x);
}

static inline double rw_sqrt(double x)
{
    return x > 0 ? sqrt(x) : 0.0;
}

static inline double rw_clip(double x, double lo, double hi)
{
    double v = x < lo ? lo : x;
    return v > hi ? hi : v;
}

static inline double rw_close(double x, double y, double tol)
{
    if (isnan(x) || isnan(y)) return 0.0;
    double t = tol > 0 ? tol : 0.0;
    return fabs(x - y) <= t ? 1.0 : 0.0;
}

/* Unary and binary operations (not the jumps, not IF/AND/OR/CLIP). */
static inline double rw_apply1(int op, double x)
{
    switch (op) {
    case OP_NEG:
        return -x;
    case OP_NOT:
        return x == 0 ? 1.0 : 0.0;
    case OP_TRUTH:
        return x != 0 ? 1.0 : 0.0;
    case OP_ABS:
        return fabs(x);
    case OP_LOG:
        return rw_log(x);
    case OP_EXP:
        return rw_exp(x);
    case OP_SQRT:
        return rw_sqrt(x);
    default:
        return 0.0;
    }
}

static inline double rw_apply2(int op, double a, double b)
{
    switch (op) {
    case OP_ADD:
        return a + b;
    case OP_SUB:
        return a - b;
    case OP_MUL:
        return a * b;
    case OP_DIV:
        return rw_div(a, b);
    case OP_POW:
        return rw_pow(a, b);
    case OP_LT:
        return a < b ? 1.0 : 0.0;
    case OP_LE:
        return a <= b ? 1.0 : 0.0;
    case OP_GT:
        return a > b ? 1.0 : 0.0;
    case OP_GE:
        return a >= b ? 1.0 : 0.0;
    case OP_EQ:
        return a == b ? 1.0 : 0.0;
    case OP_NE:
        return a != b ? 1.0 : 0.0;
    case OP_MIN:
        return b < a ? b : a;
    case OP_MAX:
        return b > a ? b : a;
    case OP_AND:
        return (a != 0 && b != 0) ? 1.0 : 0.0;
    case OP_OR:
        return (a != 0 || b != 0) ? 1.0 : 0.0;
    default:
        return 0.0;
    }
}

static inline int rw_is_unary(int op)
{
    return op >= OP_NEG && op <= OP_SQRT;
}

static inline int rw_is_binary(int op)
{
    return op >= OP_ADD && op <= OP_OR;
}

#endif
