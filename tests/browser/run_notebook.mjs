// run_notebook.mjs: opens one notebook of a running classic Jupyter Notebook server
// (notebook 6.x) in Debian's headless Chromium via playwright-core, runs all cells,
// waits until every non-empty code cell has an execution count and the kernel is idle,
// then asserts that the output area holds a rendered element matching --selector
// (default: an inline SVG, which is how notebook 6 renders image/svg+xml) that draws
// something (at least 50x50 px with a path/polyline/line/polygon) and no error output,
// takes a full-page screenshot and prints one line of JSON.
// With --run none the notebook is only opened, as saved (no kernel wait, no cell run):
// how a shared, executed notebook looks; the result then reports whether the page
// trusts it (notebook 6 renders only text, PNG, JPEG, GIF and LaTeX outputs of an
// untrusted notebook). --expect-count N also requires exactly N drawn matches.
// Exit status: 0 pass, 1 assertion/timeout failure, 2 usage or launch error.
// Leaves out: starting the server (the pytest does that) and downloading any browser
// (playwright-core is used with executablePath only).
//
// Usage:
//   node run_notebook.mjs --url http://127.0.0.1:PORT --token TOKEN --notebook PATH.ipynb \
//        --screenshot OUT.png [--selector CSS] [--timeout MS] [--chromium /usr/bin/chromium]
//        [--save-notebook EXECUTED.ipynb]   (the notebook as the page holds it after the run)
//        [--run all|none] [--expect-count N]

import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// Flags this machine needs (closed network: no background or component traffic).
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const DEFAULT_SELECTOR = '.output_area .output_svg svg';

function parseArgs(argv) {
  const opts = {
    selector: DEFAULT_SELECTOR,
    timeout: 40000,
    chromium: '/usr/bin/chromium',
    run: 'all',
  };
  const known = new Set(['url', 'token', 'notebook', 'screenshot', 'selector', 'timeout', 'chromium',
    'save-notebook', 'run', 'expect-count']);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--') || !known.has(a.slice(2)) || i + 1 >= argv.length) {
      throw new Error(`bad argument '${a}'`);
    }
    opts[a.slice(2)] = argv[++i];
  }
  for (const k of ['url', 'token', 'notebook', 'screenshot']) {
    if (!opts[k]) throw new Error(`missing --${k}`);
  }
  opts.timeout = Number(opts.timeout);
  if (!Number.isFinite(opts.timeout) || opts.timeout <= 0) throw new Error('bad --timeout');
  if (opts.run !== 'all' && opts.run !== 'none') throw new Error('bad --run (all or none)');
  if (opts['expect-count'] !== undefined) {
    opts['expect-count'] = Number(opts['expect-count']);
    if (!Number.isInteger(opts['expect-count']) || opts['expect-count'] < 0) throw new Error('bad --expect-count');
  }
  return opts;
}

// Chromium may still be writing its profile when it is killed: retry, never throw.
function removeProfile(dir) {
  try {
    fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  } catch (e) {
    process.stderr.write(`warning: could not remove ${dir}: ${e.message}\n`);
  }
}

function emit(result) {
  process.stdout.write(JSON.stringify(result) + '\n');
}

const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

// Runs in the page: summary of every code cell (index, prompt, output types, errors).
function cellSummary() {
  const nb = window.Jupyter.notebook;
  return nb.get_cells()
    .map((c, i) => ({ c, i }))
    .filter(({ c }) => c.cell_type === 'code')
    .map(({ c, i }) => ({
      index: i,
      empty: c.get_text().trim().length === 0,
      execution_count: c.input_prompt_number === undefined ? null : c.input_prompt_number,
      running: c.element.hasClass('running'),
      outputs: c.output_area.outputs.map((o) => {
        if (o.output_type === 'stream') return { type: 'stream', name: o.name, text: String(o.text).slice(0, 300) };
        if (o.output_type === 'error') {
          return { type: 'error', ename: o.ename, evalue: o.evalue, traceback: (o.traceback || []).join('\n').slice(0, 1000) };
        }
        return { type: o.output_type, mimes: Object.keys(o.data || {}) };
      }),
    }));
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    emit({ ok: false, stage: 'usage', message: e.message });
    process.exit(2);
  }
  const t0 = Date.now();
  const result = { ok: false, notebook: opts.notebook, selector: opts.selector, screenshot: opts.screenshot };
  const fail = (stage, message) => {
    Object.assign(result, { ok: false, stage, message });
    return 1;
  };

  if (!fs.existsSync(opts.chromium)) {
    emit({ ok: false, stage: 'launch', message: `Chromium not found at ${opts.chromium} (apt-get install chromium)` });
    process.exit(2);
  }

  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rlhf-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: opts.chromium,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1280, height: 900 },
      timeout: 20000,
    });
  } catch (e) {
    removeProfile(profile);
    emit({ ok: false, stage: 'launch', message: `cannot launch ${opts.chromium}: ${e.message.split('\n')[0]}` });
    process.exit(2);
  }

  const consoleErrors = [];
  let status = 1;
  let snapped = false;
  let snap = async () => {};
  try {
    const page = context.pages()[0] || (await context.newPage());
    // Full-page screenshot: notebook 6 scrolls inside #site, so let it grow first.
    snap = async () => {
      if (snapped) return;
      snapped = true;
      await page.addStyleTag({
        content: 'body,#site{height:auto !important;overflow:visible !important}',
      });
      await page.screenshot({ path: opts.screenshot, fullPage: true });
    };
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text().slice(0, 300)); });
    page.on('pageerror', (e) => consoleErrors.push(('pageerror: ' + e.message).slice(0, 300)));

    const nbPath = opts.notebook.split('/').map(encodeURIComponent).join('/');
    const url = `${opts.url.replace(/\/$/, '')}/notebooks/${nbPath}?token=${encodeURIComponent(opts.token)}`;
    const resp = await page.goto(url, { waitUntil: 'domcontentloaded', timeout: 15000 });
    if (!resp || !resp.ok()) {
      status = fail('open', `GET /notebooks/${opts.notebook} answered ${resp ? resp.status() : 'nothing'}`);
      return;
    }

    let cells = [];
    if (opts.run === 'none') {
      // Opened as saved: wait until the notebook is loaded and its images have decoded.
      try {
        await page.waitForFunction(() => {
          const J = window.Jupyter;
          if (!J || !J.notebook || !J.notebook._fully_loaded) return false;
          return [...document.querySelectorAll('.output_area img')].every((i) => i.complete);
        }, null, { timeout: 20000, polling: 100 });
      } catch (e) {
        status = fail('open', 'the notebook did not load (or its images did not decode) within 20 s');
        return;
      }
      await page.waitForTimeout(300);
      result.trusted = await page.evaluate(() => window.Jupyter.notebook.trusted);
      result.trust_indicator = await page.evaluate(() => {
        const el = document.querySelector('#notification_trusted');
        return el ? el.innerText.trim() : null;
      });
    } else {
      // Kernel ready: the notebook got a kernel_info_reply (info_reply filled in).
      // Kernel lifecycle events are recorded so that a kernel which dies or is restarted
      // by the server (it exited at start) is reported at once instead of waited for.
      const kernelState = () => page.evaluate(() => {
        const J = window.Jupyter;
        const k = J && J.notebook ? J.notebook.kernel : null;
        const icon = document.querySelector('#kernel_indicator_icon');
        return {
          name: k ? k.name : null,
          implementation: k && k.info_reply ? k.info_reply.implementation || null : null,
          language: k && k.info_reply && k.info_reply.language_info ? k.info_reply.language_info.name : null,
          protocol_version: k && k.info_reply ? k.info_reply.protocol_version || null : null,
          indicator: icon ? icon.className : null,
          events: window.__rlhfEvents || [],
        };
      });
      const BAD_EVENT = /dead|killed|failed|restarting/;
      try {
        await page.waitForFunction((bad) => {
          const J = window.Jupyter;
          if (!J || !J.notebook || !J.notebook.events) return false;
          if (!window.__rlhfEvents) {
            window.__rlhfEvents = [];
            J.notebook.events.on(
              'kernel_dead.Kernel kernel_dead.Session kernel_killed.Kernel kernel_killed.Session ' +
              'kernel_connection_failed.Kernel kernel_connection_dead.Kernel kernel_failed_restart.Kernel ' +
              'kernel_restarting.Kernel kernel_autorestarting.Kernel kernel_ready.Kernel',
              (ev) => window.__rlhfEvents.push(ev.type + '.' + ev.namespace));
          }
          if (window.__rlhfEvents.some((e) => new RegExp(bad).test(e))) return true;
          const k = J.notebook.kernel;
          return !!(k && k.info_reply && k.info_reply.protocol_version !== undefined);
        }, BAD_EVENT.source, { timeout: 20000, polling: 100 });
      } catch (e) {
        result.kernel = await kernelState();
        const modal = await page.evaluate(() => {
          const m = document.querySelector('.modal-dialog');
          return m ? m.innerText.replace(/\s+/g, ' ').slice(0, 400) : '';
        });
        status = fail('kernel', 'kernel not ready within 20 s: no kernel_info_reply reached the page' +
          ` (kernel ${result.kernel.name}, indicator '${result.kernel.indicator}')` + (modal ? `; dialog: ${modal}` : ''));
        return;
      }
      result.kernel = await kernelState();
      if (result.kernel.events.some((e) => BAD_EVENT.test(e))) {
        status = fail('kernel', `kernel did not start: ${result.kernel.events.join(', ')} ` +
          '(the server restarts a kernel whose process exits; see the server log)');
        return;
      }
      result.kernel_ready_ms = Date.now() - t0;

      // Cell > Run All.
      await page.evaluate(() => window.Jupyter.notebook.execute_all_cells());
      const t1 = Date.now();

      // Done when no cell is running and the kernel is idle, stable for 500 ms.
      let stableSince = 0;
      for (;;) {
        const state = await page.evaluate(() => ({
          busy: window.Jupyter.notebook.kernel_busy,
          running: document.querySelectorAll('.cell.running').length,
          events: window.__rlhfEvents,
        }));
        if (state.events.some((e) => BAD_EVENT.test(e))) {
          result.cells = await page.evaluate(cellSummary);
          status = fail('run', `kernel died while running cells: ${state.events.join(', ')}`);
          return;
        }
        if (!state.busy && state.running === 0) {
          if (!stableSince) stableSince = Date.now();
          if (Date.now() - stableSince >= 500) break;
        } else {
          stableSince = 0;
        }
        if (Date.now() - t1 > opts.timeout) {
          result.cells = await page.evaluate(cellSummary);
          const pending = result.cells.filter((c) => c.running).map((c) => c.index);
          status = fail('run', `cells still running after ${opts.timeout} ms (busy=${state.busy}, running cells: ${pending.join(',') || 'none'})`);
          return;
        }
        await page.waitForTimeout(100);
      }
      result.run_ms = Date.now() - t1;
    }
    cells = await page.evaluate(cellSummary);
    result.cells = cells;

    await snap();
    if (opts['save-notebook']) {
      const nbJson = await page.evaluate(() => window.Jupyter.notebook.toJSON());
      fs.writeFileSync(opts['save-notebook'], JSON.stringify(nbJson, null, 1) + '\n');
    }

    const errors = cells.flatMap((c) => c.outputs.filter((o) => o.type === 'error')
      .map((o) => `cell ${c.index}: ${o.ename}: ${o.evalue}`.replace(ANSI, '')));
    const domErrors = await page.locator('.output_area .output_error').count();
    const unexecuted = cells.filter((c) => !c.empty && typeof c.execution_count !== 'number');
    const matched = await page.locator(opts.selector).count();
    const visible = matched > 0 ? await page.locator(opts.selector).first().isVisible() : false;
    // What each match drew: rendered size and how many line-like shapes it holds.
    result.rendered = await page.evaluate((sel) => [...document.querySelectorAll(sel)].slice(0, 200)
      .map((el) => {
        const r = el.getBoundingClientRect();
        return { width: Math.round(r.width), height: Math.round(r.height),
          shapes: el.querySelectorAll('path, polyline, line, polygon').length,
          // an <img> (a PNG output) counts as drawn once it has decoded to a bitmap
          img: el.tagName === 'IMG' && el.complete && el.naturalWidth > 0 };
      }), opts.selector);
    const drawn = result.rendered.filter((r) => r.width >= 50 && r.height >= 50 &&
      (r.shapes > 0 || r.img));
    result.selector_count = matched;
    result.drawn_count = drawn.length;
    result.error_outputs = domErrors;

    if (errors.length || domErrors) {
      status = fail('assert', `error output in the notebook: ${errors.join(' | ') || domErrors + ' .output_error element(s)'}`);
    } else if (unexecuted.length) {
      status = fail('assert', `code cell(s) without an execution count: ${unexecuted.map((c) => `${c.index} (${JSON.stringify(c.execution_count)})`).join(', ')}`);
    } else if (!matched) {
      const mimes = [...new Set(cells.flatMap((c) => c.outputs.flatMap((o) => o.mimes || [o.type])))];
      status = fail('assert', `no element matches '${opts.selector}' in the output area (output types seen: ${mimes.join(', ') || 'none'})`);
    } else if (!visible) {
      status = fail('assert', `'${opts.selector}' matched ${matched} element(s) but the first is not visible`);
    } else if (opts['expect-count'] !== undefined && drawn.length !== opts['expect-count']) {
      status = fail('assert', `'${opts.selector}': ${drawn.length} drawn element(s), expected ` +
        `${opts['expect-count']}: ${JSON.stringify(result.rendered)}`);
    } else if (!drawn.length) {
      status = fail('assert', `'${opts.selector}' matched ${matched} element(s) but none is at least ` +
        `50x50 px with a path/polyline/line/polygon or a decoded image: ${JSON.stringify(result.rendered)}`);
    } else {
      result.ok = true;
      status = 0;
    }
  } catch (e) {
    status = fail('error', e.message.split('\n')[0]);
  } finally {
    if (!snapped) await snap().catch(() => {}); // failure paths keep a screenshot too
    result.screenshot_taken = snapped && fs.existsSync(opts.screenshot);
    result.console_errors = consoleErrors.slice(0, 10);
    result.elapsed_ms = Date.now() - t0;
    await context.close().catch(() => {});
    removeProfile(profile);
    emit(result);
    process.exitCode = status;
  }
}

main();
