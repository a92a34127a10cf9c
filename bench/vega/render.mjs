// render.mjs: renders Vega-Lite specs with vega-embed in Debian's headless Chromium
// (playwright-core, executablePath only: no browser download) and times each render.
//
// vega, vega-lite and vega-embed are the minified UMD builds of the npm packages
// installed here (package-lock.json), served with the page by a loopback HTTP server
// that serves nothing else. Each spec is rendered --n times per renderer after --warmup
// untimed renders, the renderers interleaved (svg, canvas, svg, ...) so that a noisy
// machine slows both alike. One render: a fresh <div>, JSON.parse of the spec text
// (untimed), then t0 = performance.now(); await vegaEmbed(div, spec, {renderer});
// await view.runAsync() -> embed_ms (compile Vega-Lite to Vega, parse, dataflow,
// scenegraph, render); then the next animation frame -> paint_ms (the browser's style,
// layout and paint of what was drawn). The view is finalized and the div removed.
// CPU (Linux /proc): the renderer's main thread during the embed call -> cpu_main_ms,
// and all its threads from the embed through paint and teardown -> cpu_all_threads_ms.
//
// The first render of each spec and renderer is checked: no error or Vega warning,
// the scenegraph holds line marks with items, the SVG has <path> elements in
// .mark-line groups / the canvas has painted pixels, and the chart is at least 50x50 px.
// Failing that check is exit status 1 (the test relies on it).
//
// Usage:
//   node render.mjs [--n 20] [--warmup 3] [--renderers svg,canvas] [--chromium PATH]
//        [--json OUT.json] [--screenshot-dir DIR] [--png] SPEC.vl.json...
// --png also times view.toImageURL('png') after each render (not part of embed_ms).
// Prints a table per spec and renderer (median, p90, min, max of embed_ms; median, p90
// of paint_ms and cpu_main_ms; spec bytes, chart size, marks) and the bundle sizes
// (bytes, gzip -6 bytes); --json writes every figure and sample.
// Exit status: 0 all rendered, 1 a render failed its check, 2 usage or launch error.

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BUNDLES = {
  'vega.min.js': 'node_modules/vega/build/vega.min.js',
  'vega-lite.min.js': 'node_modules/vega-lite/build/vega-lite.min.js',
  'vega-embed.min.js': 'node_modules/vega-embed/build/vega-embed.min.js',
};
const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>vegalite-render</title>
<style>body{margin:8px;font-family:sans-serif;background:#fff}</style>
<link rel="icon" href="data:,"><script src="vega.min.js"></script><script src="vega-lite.min.js"></script>
<script src="vega-embed.min.js"></script></head><body><div id="host"></div></body></html>`;

function usage(msg) {
  process.stderr.write(`render.mjs: ${msg}\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const o = { n: 20, warmup: 3, renderers: ['svg', 'canvas'], chromium: '/usr/bin/chromium',
    json: null, 'screenshot-dir': null, png: false, specs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) { o.specs.push(a); continue; }
    const k = a.slice(2);
    if (k === 'png') { o.png = true; continue; }
    if (!(k in o) || k === 'specs' || i + 1 >= argv.length) usage(`bad argument '${a}'`);
    const v = argv[++i];
    if (k === 'n' || k === 'warmup') {
      o[k] = Number(v);
      if (!Number.isInteger(o[k]) || o[k] < (k === 'n' ? 1 : 0)) usage(`bad --${k} '${v}'`);
    } else if (k === 'renderers') {
      o.renderers = v.split(',');
      if (o.renderers.some((r) => r !== 'svg' && r !== 'canvas')) usage(`bad --renderers '${v}'`);
    } else {
      o[k] = v;
    }
  }
  if (!o.specs.length) usage('no spec file given');
  return o;
}

function quantile(sorted, q) {
  // nearest-rank: the smallest value with at least q of the samples at or below it
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const r = (v) => Math.round(v * 10) / 10;
  return { median: r(quantile(s, 0.5)), p90: r(quantile(s, 0.9)), min: r(s[0]), max: r(s[s.length - 1]) };
}

// CPU time of this browser's renderer processes (all their threads), from /proc: the
// descendants of this node process whose command line has --type=renderer. On a shared
// machine this moves far less than wall time. null where /proc is not Linux's.
function rendererPids() {
  try {
    const parent = new Map();
    for (const d of fs.readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        parent.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      } catch { /* exited */ }
    }
    const mine = (pid) => { for (let p = pid, i = 0; p > 1 && i < 64; p = parent.get(p), i++) if (p === process.pid) return true; return false; };
    return [...parent.keys()].filter((pid) => pid !== process.pid && mine(pid)).filter((pid) => {
      try { return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('--type=renderer'); } catch { return false; }
    });
  } catch {
    return null;
  }
}

// [main threads, all threads] CPU ns of the renderers (a renderer's main thread, where
// Vega runs, is the thread whose id is the process id).
function cpuNs(pids) {
  if (!pids || !pids.length) return null;
  let main = 0;
  let all = 0;
  for (const pid of pids) {
    let tids;
    try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch { continue; }
    for (const t of tids) {
      try {
        const ns = Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
        all += ns;
        if (Number(t) === pid) main += ns;
      } catch { /* thread exited */ }
    }
  }
  return [main, all];
}

function bundleSizes() {
  const out = {};
  for (const [name, rel] of Object.entries(BUNDLES)) {
    const data = fs.readFileSync(path.join(HERE, rel));
    const pkg = JSON.parse(fs.readFileSync(path.join(HERE, rel.split('/build/')[0], 'package.json')));
    out[name] = { version: pkg.version, bytes: data.length, gzip_bytes: zlib.gzipSync(data, { level: 6 }).length };
  }
  return out;
}

function serve() {
  const files = { '/': Buffer.from(PAGE) };
  for (const [name, rel] of Object.entries(BUNDLES)) files['/' + name] = fs.readFileSync(path.join(HERE, rel));
  const server = http.createServer((req, res) => {
    const body = files[req.url.split('?')[0]];
    if (!body) { res.writeHead(404); res.end(); return; }
    res.writeHead(200, { 'content-type': req.url === '/' ? 'text/html; charset=utf-8' : 'text/javascript',
      'content-length': body.length });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// One render runs as three calls into the page, so that the CPU time read between them
// (cpuNs) covers the embed alone: pagePrepare (a fresh div, JSON.parse of the spec),
// pageEmbed (timed: vegaEmbed + view.runAsync), pageFinish (the next animation frame,
// the checks, teardown).
function pagePrepare({ text, renderer }) {
  const host = document.getElementById('host');
  host.replaceChildren();
  const el = document.createElement('div');
  host.appendChild(el);
  window.__r = { el, renderer, spec: JSON.parse(text) };
}

async function pageEmbed() {
  const { el, renderer, spec } = window.__r;
  const warnings = [];
  const logger = {
    _level: 0,
    level(l) { if (l === undefined) return this._level; this._level = l; return this; },
    error(...a) { warnings.push('error: ' + a.map(String).join(' ')); return this; },
    warn(...a) { warnings.push('warn: ' + a.map(String).join(' ')); return this; },
    info() { return this; },
    debug() { return this; },
  };
  const t0 = performance.now();
  let result;
  try {
    result = await vegaEmbed(el, spec, { renderer, actions: false, logger, logLevel: vega.Warn });
    await result.view.runAsync();
  } catch (e) {
    return { error: String(e && e.message || e) };
  }
  const t1 = performance.now();
  // the next frame is awaited from here, not after the round trip to pageFinish
  const painted = new Promise((r) => requestAnimationFrame(() => setTimeout(() => r(performance.now()), 0)));
  Object.assign(window.__r, { result, t0, warnings, painted });
  return { embed_ms: t1 - t0 };
}

async function pageFinish({ check, keep, png }) {
  const { el, renderer, result, t0, warnings, painted } = window.__r;
  const t2 = await painted;
  const out = { paint_ms: t2 - t0, warnings };
  if (png) {
    // what JupyterLab's Vega renderer adds to a frame without image/png of its own
    const t3 = performance.now();
    const url = await result.view.toImageURL('png');
    out.png_ms = performance.now() - t3;
    out.png_bytes = Math.floor((url.length - url.indexOf(',') - 1) * 3 / 4);
  }
  if (check) {
    const marks = {}; // marktype -> number of marks (a line mark is one drawn line)
    const items = {}; // marktype -> number of scenegraph items (a line's points)
    const walk = (node) => {
      if (!node) return;
      if (node.marktype) {
        marks[node.marktype] = (marks[node.marktype] || 0) + 1;
        items[node.marktype] = (items[node.marktype] || 0) + (node.items || []).length;
        for (const it of node.items || []) if (it.items) it.items.forEach(walk);
      } else if (node.items) {
        node.items.forEach(walk);
      }
    };
    walk(result.view.scenegraph().root);
    out.marks = marks;
    out.items = items;
    const r = el.getBoundingClientRect();
    out.width = Math.round(r.width);
    out.height = Math.round(r.height);
    if (renderer === 'svg') {
      const svg = el.querySelector('svg');
      out.svg_line_paths = svg ? svg.querySelectorAll('.mark-line path').length : 0;
      out.svg_paths = svg ? svg.querySelectorAll('path').length : 0;
    } else {
      const c = el.querySelector('canvas');
      let painted = 0;
      if (c && c.width && c.height) {
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        for (let i = 3; i < d.length; i += 4) if (d[i] !== 0 && (d[i - 1] < 200 || d[i - 2] < 200 || d[i - 3] < 200)) painted++;
      }
      out.canvas_painted_px = painted;
    }
  }
  if (!keep) {
    result.finalize();
    document.getElementById('host').replaceChildren();
  }
  window.__r = null;
  return out;
}

async function renderOnce(page, pids, text, renderer, check, keep, png) {
  await page.evaluate(pagePrepare, { text, renderer });
  const c0 = cpuNs(pids);
  const e = await page.evaluate(pageEmbed);
  const c1 = cpuNs(pids);
  if (e.error) return e;
  const f = await page.evaluate(pageFinish, { check, keep, png });
  const c2 = cpuNs(pids);
  const cpu = c0 && c1 && c2 ? { cpu_main_ms: (c1[0] - c0[0]) / 1e6, cpu_all_ms: (c2[1] - c0[1]) / 1e6 } : {};
  return { ...e, ...f, ...cpu };
}

function checkDrawn(c, renderer) {
  if (c.error) return `vegaEmbed failed: ${c.error}`;
  if (c.warnings.length) return `Vega logged: ${c.warnings.slice(0, 3).join(' | ')}`;
  if (!(c.marks.line > 0 && c.items.line > 0)) {
    return `no line mark with items in the scenegraph (marks: ${JSON.stringify(c.marks)}, items: ${JSON.stringify(c.items)})`;
  }
  if (c.width < 50 || c.height < 50) return `chart is ${c.width}x${c.height} px`;
  if (renderer === 'svg' && !(c.svg_line_paths > 0)) return 'the SVG has no <path> in a .mark-line group';
  if (renderer === 'canvas' && !(c.canvas_painted_px > 1000)) return `the canvas has ${c.canvas_painted_px} painted px`;
  return null;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  for (const rel of Object.values(BUNDLES)) {
    if (!fs.existsSync(path.join(HERE, rel))) usage(`${rel} missing: run npm ci in ${HERE}`);
  }
  if (!fs.existsSync(o.chromium)) usage(`Chromium not found at ${o.chromium} (apt-get install chromium)`);
  const specs = o.specs.map((f) => {
    const text = fs.readFileSync(f, 'utf8');
    JSON.parse(text); // a file that is not JSON is a usage error
    return { file: f, name: path.basename(f).replace(/\.(vl\.)?json$/, ''), text, bytes: Buffer.byteLength(text) };
  });
  const bundles = bundleSizes();
  const server = await serve();
  const url = `http://127.0.0.1:${server.address().port}/`;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rlhf-vega-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: o.chromium, headless: true, args: CHROMIUM_FLAGS,
      viewport: { width: 1600, height: 1000 }, timeout: 20000,
    });
  } catch (e) {
    server.close();
    fs.rmSync(profile, { recursive: true, force: true });
    usage(`cannot launch ${o.chromium}: ${e.message.split('\n')[0]}`);
  }
  const pageErrors = [];
  const result = { ok: true, chromium: null, n: o.n, warmup: o.warmup, bundles, specs: [] };
  let status = 0;
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on('pageerror', (e) => pageErrors.push(e.message.slice(0, 300)));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(m.text().slice(0, 300)); });
    await page.goto(url, { waitUntil: 'load', timeout: 20000 });
    result.chromium = context.browser() ? context.browser().version() : await page.evaluate(() => navigator.userAgent);
    const loaded = await page.evaluate(() => ({ vega: typeof vega !== 'undefined' && vega.version,
      vegaLite: typeof vegaLite !== 'undefined' && vegaLite.version,
      vegaEmbed: typeof vegaEmbed !== 'undefined' && vegaEmbed.version }));
    if (!loaded.vega || !loaded.vegaLite || !loaded.vegaEmbed) {
      throw new Error(`the page did not load the bundles: ${JSON.stringify(loaded)} ${pageErrors.join(' | ')}`);
    }
    result.loaded = loaded;
    const pids = rendererPids();
    result.renderer_pids = pids;
    for (const s of specs) {
      const entry = { file: s.file, name: s.name, bytes: s.bytes,
        gzip_bytes: zlib.gzipSync(Buffer.from(s.text), { level: 6 }).length, renderers: {} };
      result.specs.push(entry);
      const times = Object.fromEntries(o.renderers.map((r) => [r, { embed: [], paint: [], cpu: [], cpuAll: [], png: [] }]));
      for (const r of o.renderers) {
        const c = await renderOnce(page, pids, s.text, r, true, !!o['screenshot-dir'], o.png);
        const problem = checkDrawn(c, r);
        entry.renderers[r] = { check: c, problem };
        if (o['screenshot-dir'] && !c.error) {
          fs.mkdirSync(o['screenshot-dir'], { recursive: true });
          const shot = path.join(o['screenshot-dir'], `vegalite-${s.name}-${r}.png`);
          await page.locator('#host').screenshot({ path: shot });
          entry.renderers[r].screenshot = shot;
          await page.evaluate(() => document.getElementById('host').replaceChildren());
        }
        if (problem) { status = 1; result.ok = false; }
      }
      if (o.renderers.some((r) => entry.renderers[r].problem)) continue;
      for (let i = 0; i < o.warmup + o.n; i++) {
        for (const r of o.renderers) {
          const t = await renderOnce(page, pids, s.text, r, false, false, o.png);
          if (t.error) throw new Error(`${s.name} (${r}) failed on render ${i + 1}: ${t.error}`);
          if (t.warnings.length) throw new Error(`${s.name} (${r}) render ${i + 1}: Vega logged ${t.warnings[0]}`);
          if (i >= o.warmup) {
            times[r].embed.push(t.embed_ms);
            times[r].paint.push(t.paint_ms);
            if (t.png_ms !== undefined) times[r].png.push(t.png_ms);
            if (t.cpu_main_ms !== undefined) {
              times[r].cpu.push(t.cpu_main_ms);
              times[r].cpuAll.push(t.cpu_all_ms);
            }
          }
        }
      }
      for (const r of o.renderers) {
        Object.assign(entry.renderers[r], { embed_ms: stats(times[r].embed), paint_ms: stats(times[r].paint),
          png_ms: times[r].png.length ? stats(times[r].png) : undefined,
          cpu_main_ms: times[r].cpu.length === times[r].embed.length ? stats(times[r].cpu) : null,
          cpu_all_threads_ms: times[r].cpu.length === times[r].embed.length ? stats(times[r].cpuAll) : null,
          samples_embed_ms: times[r].embed.map((v) => Math.round(v * 10) / 10) });
      }
    }
  } catch (e) {
    status = 1;
    result.ok = false;
    result.error = e.message.split('\n')[0];
  } finally {
    result.page_errors = pageErrors.slice(0, 10);
    if (pageErrors.length) { status = 1; result.ok = false; }
    await context.close().catch(() => {});
    server.close();
    try { fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }); } catch { /* kept */ }
  }
  report(result, o);
  if (o.json) fs.writeFileSync(o.json, JSON.stringify(result, null, 1) + '\n');
  process.exitCode = status;
}

function report(result, o) {
  const w = (s, n) => String(s).padStart(n);
  const lines = [];
  lines.push(`vega ${result.loaded ? result.loaded.vega : '?'}, vega-lite ${result.loaded ? result.loaded.vegaLite : '?'}, ` +
    `vega-embed ${result.loaded ? result.loaded.vegaEmbed : '?'} in Chromium ${result.chromium || '?'}; ` +
    `${o.n} timed renders per spec and renderer after ${o.warmup} warm-up`);
  lines.push('');
  lines.push(`${'spec'.padEnd(24)} ${'bytes'.padStart(7)} ${'gzip'.padStart(6)} renderer ` +
    `${'embed+render ms: median'.padStart(23)} ${'p90'.padStart(6)} ${'min'.padStart(6)} ${'max'.padStart(6)}  ` +
    `${'to paint: median'.padStart(16)} ${'p90'.padStart(6)}  ${'main-thread cpu: median'.padStart(23)} ${'p90'.padStart(6)}  size      marks`);
  for (const s of result.specs) {
    for (const [r, e] of Object.entries(s.renderers)) {
      const c = e.check || {};
      const size = c.width ? `${c.width}x${c.height}` : '-';
      const marks = c.marks ? `${c.marks.line || 0} line marks (${c.items.line || 0} points), ` +
        `${Object.values(c.items).reduce((a, b) => a + b, 0)} items` : '';
      if (e.problem) {
        lines.push(`${s.name.padEnd(24)} ${w(s.bytes, 7)} ${w(s.gzip_bytes, 6)} ${r.padEnd(8)} FAILED: ${e.problem}`);
        continue;
      }
      lines.push(`${s.name.padEnd(24)} ${w(s.bytes, 7)} ${w(s.gzip_bytes, 6)} ${r.padEnd(8)} ` +
        `${w(e.embed_ms.median, 23)} ${w(e.embed_ms.p90, 6)} ${w(e.embed_ms.min, 6)} ${w(e.embed_ms.max, 6)}  ` +
        `${w(e.paint_ms.median, 16)} ${w(e.paint_ms.p90, 6)}  ` +
        `${w(e.cpu_main_ms ? e.cpu_main_ms.median : '-', 23)} ${w(e.cpu_main_ms ? e.cpu_main_ms.p90 : '-', 6)}  ${size.padEnd(9)} ${marks}`);
    }
  }
  if (o.png) {
    lines.push('');
    lines.push('view.toImageURL("png") after the render (JupyterLab does this for a frame without image/png):');
    for (const s of result.specs) {
      for (const [r, e] of Object.entries(s.renderers)) {
        if (e.png_ms) lines.push(`  ${s.name.padEnd(22)} ${r.padEnd(8)} median ${e.png_ms.median} ms, p90 ${e.png_ms.p90} ms, ${e.check.png_bytes} bytes`);
      }
    }
  }
  lines.push('');
  lines.push('bundles as loaded (minified UMD builds):      bytes   gzip -6');
  let tb = 0; let tg = 0;
  for (const [name, b] of Object.entries(result.bundles)) {
    lines.push(`  ${(name + ' ' + b.version).padEnd(40)} ${w(b.bytes, 9)} ${w(b.gzip_bytes, 9)}`);
    tb += b.bytes; tg += b.gzip_bytes;
  }
  lines.push(`  ${'total'.padEnd(40)} ${w(tb, 9)} ${w(tg, 9)}`);
  if (result.error) lines.push(`error: ${result.error}`);
  if (result.page_errors.length) lines.push(`page errors: ${result.page_errors.join(' | ')}`);
  process.stdout.write(lines.join('\n') + '\n');
}

main();
