#!/usr/bin/env node
// A real-player check for an HLS stream: does a browser actually play it?
//
//   node deploy/player/play.mjs <master-playlist-URL> [--seconds 2] [--timeout 60]
//
// ffprobe on every segment proves that the files decode; it does not prove that a browser player accepts the
// playlists, the CORS headers, the byte ranges and the codecs together. This script serves a tiny page of its own on
// 127.0.0.1 (a free port, so its origin differs from the stream's, as a real site's would), which loads hls.js from
// node_modules, attaches the URL to a muted <video> and calls play(), in Debian's headless Chromium driven by
// playwright-core (no browser download: executablePath /usr/bin/chromium, or $PLAYER_CHROMIUM).
//
// It passes when video.currentTime reaches --seconds while hls.js reported no fatal error and the video element no
// error: it prints one JSON line {"ok":true,"currentTime":..,"level":{"width":..,"height":..,"bitrate":..},
// "errors":[],...} and exits 0. Otherwise (fatal hls.js error, video.error, a script error in the page, or the
// timeout, which counts from the browser's start, or a stream that ends first) it prints the same line with "ok":false, a "reason", the errors
// and the browser's console errors (where Chromium names a CORS refusal), a one-line summary on stderr, and exits 1.
// Wrong arguments exit 2. Non-fatal hls.js errors (a stall it recovered from) are listed under "warnings".
//
// No --disable-web-security: the stream server must send Access-Control-Allow-Origin itself, and a server that does
// not fails here as it would in a viewer's browser.

import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const USAGE = 'usage: node play.mjs <master-playlist-URL> [--seconds 2] [--timeout 60]';

// The machine's flags for Debian's Chromium: without the background-networking ones it keeps trying hosts that the
// closed network refuses. Playwright adds --headless and a new empty --user-data-dir of its own (removed on close).
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

// The test page. It keeps everything the check reads in window.playerState; Node polls it.
const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>player check</title></head>
<body>
<video id="video" muted playsinline></video>
<script src="/hls.min.js"></script>
<script>
window.playerState = { errors: [], warnings: [], fatal: false };
window.startPlayer = (src) => {
  const state = window.playerState;
  const video = document.getElementById('video');
  video.addEventListener('error', () => {
    const e = video.error;
    state.errors.push({ source: 'video', code: e && e.code, message: (e && e.message) || 'media element error' });
    state.fatal = true;
  });
  if (!Hls.isSupported()) {
    state.errors.push({ source: 'hls.js', message: 'hls.js is not supported here (no MediaSource)' });
    state.fatal = true;
    return;
  }
  const hls = new Hls();
  window.hls = hls;
  hls.on(Hls.Events.ERROR, (_event, data) => {
    const entry = {
      source: 'hls.js',
      type: data.type,
      details: data.details,
      fatal: data.fatal,
      url: data.url || (data.frag && data.frag.url) || (data.context && data.context.url) || undefined,
      status: data.response ? data.response.code : undefined,
      message: data.error ? String(data.error.message || data.error) : data.reason,
    };
    (data.fatal ? state.errors : state.warnings).push(entry);
    if (data.fatal) state.fatal = true;
  });
  hls.loadSource(src);
  hls.attachMedia(video);
  video.play().catch((e) => {
    // play() also rejects when loading is aborted after a fatal error; that error is recorded above.
    if (!state.fatal) {
      state.errors.push({ source: 'video.play()', message: String(e) });
      state.fatal = true;
    }
  });
};
window.playerReport = () => {
  const video = document.getElementById('video');
  const hls = window.hls;
  const level = hls && hls.levels[hls.currentLevel];
  return {
    currentTime: video.currentTime,
    level: level ? { width: level.width, height: level.height, bitrate: level.bitrate } : null,
    levels: hls ? hls.levels.length : 0,
    errors: window.playerState.errors,
    warnings: window.playerState.warnings,
  };
};
</script>
</body></html>
`;

function usage(message) {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

function parseCommandLine() {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { seconds: { type: 'string', default: '2' }, timeout: { type: 'string', default: '60' } },
    });
  } catch (e) {
    usage(e.message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) usage('expected exactly one playlist URL');
  const url = positionals[0];
  if (!/^https?:\/\//.test(url)) usage(`not an http(s) URL: ${url}`);
  const seconds = Number(values.seconds);
  const timeout = Number(values.timeout);
  if (!(seconds > 0)) usage(`--seconds must be a positive number, got ${values.seconds}`);
  if (!(timeout > 0)) usage(`--timeout must be a positive number, got ${values.timeout}`);
  return { url, seconds, timeoutMs: timeout * 1000 };
}

// Serves the page and hls.js on 127.0.0.1 at a port the system picks; resolves to the server and its origin.
async function startPageServer() {
  const require = createRequire(import.meta.url);
  let hlsSource;
  try {
    hlsSource = await readFile(require.resolve('hls.js/dist/hls.min.js'));
  } catch (e) {
    throw new Error(`hls.js is not installed (run 'npm ci' in deploy/player): ${e.message}`);
  }
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://localhost').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(PAGE);
    } else if (path === '/hls.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(hlsSource);
    } else {
      // favicon.ico and the like: an empty answer, so that no 404 lands among the console errors.
      res.writeHead(204);
      res.end();
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

// One line for the first fatal error: what failed, with the HTTP status or, for status 0 (no answer the page may
// read), the likely causes; Chromium's own words for a CORS refusal are among the console errors.
function describe(error) {
  if (error.source !== 'hls.js') return `${error.source} error: ${error.message}`;
  let what = `hls.js ${error.type}/${error.details}`;
  if (error.status) what += ` (HTTP ${error.status})`;
  else if (error.type === 'networkError') what += ' (no readable answer: refused, or blocked by CORS)';
  return error.url ? `${what} for ${error.url}` : `${what}: ${error.message}`;
}

async function play({ url, seconds, timeoutMs }) {
  const deadline = Date.now() + timeoutMs;
  const remaining = () => Math.max(1, deadline - Date.now());
  const consoleErrors = [];
  const { server, origin } = await startPageServer();
  let browser;
  try {
    const { chromium } = await import('playwright-core');
    browser = await chromium.launch({
      executablePath: process.env.PLAYER_CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: remaining(),
    });
    const page = await browser.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
    await page.goto(`${origin}/`, { timeout: remaining() });
    await page.evaluate((src) => window.startPlayer(src), url);

    let reason = null;
    try {
      await page.waitForFunction(
        (target) => {
          const video = document.getElementById('video');
          return window.playerState.fatal || video.ended || video.currentTime >= target;
        },
        seconds,
        { timeout: remaining(), polling: 100 },
      );
    } catch (e) {
      if (e.name !== 'TimeoutError') throw e;
      reason = `timeout: currentTime did not reach ${seconds}s within ${timeoutMs / 1000}s`;
    }
    const report = await page.evaluate(() => window.playerReport());
    if (!reason && report.errors.length > 0) reason = describe(report.errors[0]);
    if (!reason && report.currentTime < seconds) {
      reason = `the stream ended at ${report.currentTime}s, before ${seconds}s`;
    }
    // A page script error (hls.js failing to start, say) is a failure even when the clock moved.
    if (!reason && consoleErrors.some((m) => m.startsWith('page error:'))) reason = 'script error in the page';
    return { ok: reason === null, ...(reason ? { reason } : {}), ...report, console: consoleErrors };
  } finally {
    if (browser) await browser.close().catch(() => {});
    server.close();
  }
}

const options = parseCommandLine();
let result;
try {
  result = await play(options);
} catch (e) {
  result = { ok: false, reason: `player check could not run: ${e.message.split('\n')[0]}`, errors: [] };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
if (!result.ok) {
  const cors = (result.console || []).find((m) => m.includes('CORS'));
  process.stderr.write(`player check failed: ${result.reason}${cors ? `; ${cors}` : ''}\n`);
}
process.exit(result.ok ? 0 : 1);
