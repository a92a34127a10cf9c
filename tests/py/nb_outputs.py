"""What an executed notebook printed, normalized and hashed (tools/notebook-hash and the
notebook tests use it).

The numerics contract makes every output of a notebook the same bits on any machine, so
a hash of its outputs is a regression guard: a change that alters a number, a table, a
chart or a message of any teaching notebook changes the hash.  Normalization removes what
legitimately varies between runs, and nothing else:
  - execution counts and cell metadata (not outputs);
  - in text, the seconds a run took: numbers followed by " s" or "s" inside the phrases
    "in N s" / "wall N" / "N s elapsed" are replaced by "<s>" (see TIMING below), and a
    Vega-Lite spec's "wall" fields are dropped;
  - display ids (random per run);
  - how a cell's printed text was cut into stream messages: the kernel flushes stdout on
    a timer, so a cell that prints slowly (one line per evaluation) sends it in pieces
    that vary between runs; consecutive stream outputs of the same name are joined into
    one before hashing, as front ends show them;
  - image/png (charts' final frames): librsvg/cairo/freetype versions and fontconfig's
    hinting settings may change its bytes from machine to machine; the chart it is
    rasterized from is hashed through the same output's Vega-Lite spec and text/plain, and
    every live frame's SVG (tests/py/test_nbconvert_png.py checks the PNG is there).
An output is hashed as its type plus each MIME bundle entry in sorted MIME order; the
notebook's digest is the SHA-256 of one line per output "<cell>:<n> <mime> <sha256>"."""
import hashlib
import json
import re

# wall-clock figures a cell may print (the runs' summaries, %time-like lines)
TIMING = [
    (re.compile(r"\b(in|took|after) \d+(\.\d+)? ?(s|ms|seconds)\b"), r"\1 <s>"),
    (re.compile(r"\bwall[ =:]+\d+(\.\d+)?( ?s)?\b"), "wall <s>"),
    (re.compile(r"\b\d+(\.\d+)? ?s elapsed\b"), "<s> elapsed"),
]


def _norm_text(s):
    for rx, rep in TIMING:
        s = rx.sub(rep, s)
    return s


def _drop_wall(x):
    if isinstance(x, dict):
        return {k: _drop_wall(v) for k, v in x.items() if k != "wall"}
    if isinstance(x, list):
        return [_drop_wall(v) for v in x]
    return x


def _norm_value(mime, v):
    if isinstance(v, list):
        v = "".join(v)
    if isinstance(v, (dict, list)):  # JSON bundles (Vega-Lite)
        return json.dumps(_drop_wall(v), sort_keys=True, separators=(",", ":"))
    return _norm_text(v)


def output_lines(nb):
    """[(label, mime, normalized text)] for every output of every code cell."""
    out = []
    code_index = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outs = []  # consecutive stream outputs of one name joined (the top comment)
        for o in cell.get("outputs", []):
            if o["output_type"] == "stream":
                text = "".join(o["text"]) if isinstance(o["text"], list) else o["text"]
                prev = outs[-1] if outs else None
                if prev and prev["output_type"] == "stream" and prev.get("name") == o.get("name"):
                    prev["text"] += text
                    continue
                o = {"output_type": "stream", "name": o.get("name", ""), "text": text}
            outs.append(o)
        for k, o in enumerate(outs):
            label = f"{code_index}:{k}"
            t = o["output_type"]
            if t == "stream":
                out.append((label, "stream/" + o.get("name", ""), _norm_text(o["text"])))
            elif t == "error":
                out.append((label, "error", o.get("ename", "") + ": " + _norm_text(o.get("evalue", ""))))
            else:
                for mime in sorted(o.get("data", {})):
                    if mime == "image/png":  # not the same bytes on every machine (above)
                        continue
                    out.append((label, mime, _norm_value(mime, o["data"][mime])))
        code_index += 1
    return out


def digest_lines(nb):
    return [f"{label} {mime} {hashlib.sha256(text.encode()).hexdigest()}"
            for label, mime, text in output_lines(nb)]


def digest(nb):
    return hashlib.sha256("".join(line + "\n" for line in digest_lines(nb)).encode()).hexdigest()
