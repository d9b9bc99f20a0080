import { escapeHtml } from './html.ts';
import { readInlineAsset } from './page/inline-asset.ts';

export interface PageInfo {
  readonly name: string;
  readonly version: string;
  readonly signalTypes: readonly string[];
}

/** The six tiles, in board order: the principle, its title and what it watches. */
const TILES: readonly (readonly [string, string, string])[] = [
  ['jidoka', 'Jidoka', 'Stop the line · circuit breakers'],
  ['kanban', 'Kanban', 'Pull · bounded queue'],
  ['andon', 'Andon', 'Signal problems · errors'],
  ['kaizen', 'Kaizen', 'Measure · throughput and latency'],
  ['heijunka', 'Heijunka', 'Level the load · workers'],
  ['tracing', 'Tracing', 'Follow every signal · trace context'],
];

function tile([principle, title, role]: readonly [string, string, string]): string {
  return `<article class="tile" data-principle="${principle}" data-level="UNKNOWN" aria-labelledby="t-${principle}">
  <div class="tile-head"><h2 id="t-${principle}">${title}</h2><span class="role">${role}</span></div>
  <p class="level"><span class="mark" aria-hidden="true"></span><span class="level-word">—</span></p>
  <p class="reason">waiting for data…</p>
  <div class="figures"></div>
</article>`;
}

// Read and hashed once, as this module loads: a missing or unsafe asset stops the start, not a
// request, and every answer carries the very text its CSP hash was made from. The files sit beside
// this module in src/ and, copied by the build, in dist/.
const asset = (name: string) => new URL(`./page/${name}`, import.meta.url);
const MARK_JS = readInlineAsset(asset('has-js.js'), 'script');
const SCRIPT = readInlineAsset(asset('board.js'), 'script');
const STYLE = readInlineAsset(asset('board.css'), 'style');

/**
 * The page's Content-Security-Policy: its own two inline scripts and its stylesheet by hash,
 * nothing else loaded, the live board's stream from this origin only, no framing.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${MARK_JS.source} ${SCRIPT.source}`,
  `style-src ${STYLE.source}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * Headers that act on a document a browser renders, so only the page carries them (every answer
 * carries the API's own, see `src/app.ts`): no referrer sent from it, no window shared with other
 * origins, not embedded by other origins.
 */
export const DOCUMENT_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': PAGE_CSP,
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

/**
 * The service's home page: a live Andon board for a wall screen (GET /andon/stream), then what the
 * service is and how to call it. One self-contained document: inline CSS and JS, no external
 * assets. Without JavaScript only the documentation shows.
 */
export function homePage(info: PageInfo): string {
  const name = escapeHtml(info.name);
  const types = info.signalTypes.map((t) => `<code>${escapeHtml(t)}</code>`).join(', ');
  return `<!doctype html>
<html lang="en" class="no-js">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="dark">
<title>${name}</title>
<link id="icon" rel="icon" href="data:,">
<script>${MARK_JS.text}</script>
<style>${STYLE.text}</style>
</head>
<body data-name="${name}">
<header class="top">
  <div>
    <h1>${name}</h1>
    <p class="sub">version ${escapeHtml(info.version)} · signal types: ${types}</p>
  </div>
  <div class="status live-only">
    <span id="live" class="live" data-state="connecting" role="status"><span class="dot" aria-hidden="true"></span><span id="live-text">connecting…</span></span>
    <span>updated <time id="updated">—</time></span>
  </div>
</header>
<main>
<section id="board" class="board live-only" data-stale="false" aria-label="Andon board">
  <div id="banner" class="banner" data-level="UNKNOWN" role="status" aria-live="polite">
    <span class="mark" aria-hidden="true"></span>
    <span id="banner-level" class="banner-level">—</span>
    <p id="banner-text" class="banner-text">Waiting for the board…</p>
    <p id="stale-note" class="stale-note"></p>
  </div>
  <div class="tiles">
${TILES.map(tile).join('\n')}
  </div>
  <section class="history-panel" aria-labelledby="history-title">
    <h2 id="history-title">Recent changes</h2>
    <ol id="history" class="history"></ol>
    <p id="history-empty" class="empty">No changes since the service started.</p>
  </section>
</section>
<noscript><p class="nojs">The live Andon board needs JavaScript. <code>GET /andon</code> returns the same board as JSON.</p></noscript>
<section class="docs" aria-labelledby="about">
<h2 id="about">About</h2>
<p>Work signals pass through the six principles of the Toyota Production System: Jidoka stops a
failing line (circuit breaker per signal type), Kanban bounds the work waiting and lets workers pull
only what their cards allow, Andon shows GREEN / YELLOW / RED, Kaizen measures, Heijunka levels the
load across workers, and every signal carries a W3C trace id.</p>
<h2>API</h2>
<table>
<tr><th>Endpoint</th><th>Purpose</th></tr>
<tr><td><code>POST /signal</code></td><td>Submit a signal: <code>202</code> once queued, <code>400</code> invalid, <code>429</code> queue full, <code>503</code> circuit open. <code>Prefer: wait=N</code> waits up to N s for the result (<code>200</code>). <code>Idempotency-Key</code> makes resubmission safe.</td></tr>
<tr><td><code>GET /signal/:id/status</code></td><td>The signal's lifecycle: queued → processing → completed | failed → dead_lettered.</td></tr>
<tr><td><code>POST /signal/:id/retry</code></td><td>Enqueue a failed or dead-lettered signal again.</td></tr>
<tr><td><code>GET /health</code></td><td>200 when healthy, 503 when not.</td></tr>
<tr><td><code>GET /metrics</code></td><td>Kaizen metrics: counts, error rate, p50 / p95 / p99 / p999.</td></tr>
<tr><td><code>GET /info</code></td><td>Name, version, uptime, effective configuration.</td></tr>
<tr><td><code>GET /status</code></td><td>Health, metrics, Andon board and worker load together.</td></tr>
<tr><td><code>GET /andon</code></td><td>The Andon board: a level per principle and its recent changes.</td></tr>
<tr><td><code>GET /andon/stream</code></td><td>The Andon board, live (Server-Sent Events): a <code>snapshot</code> at once and every second, a <code>change</code> as it happens. This page uses it.</td></tr>
<tr><td><code>GET /openapi.json</code></td><td>OpenAPI document of this API.</td></tr>
</table>
<h2>Try it</h2>
<pre>curl -s -X POST localhost:8080/signal -H 'content-type: application/json' \\
  -d '{"signal_type":"validate","priority":2,"payload":{"data":[1,2,3]}}'

curl -s -X POST localhost:8080/signal -H 'content-type: application/json' -H 'Prefer: wait=5' \\
  -d '{"signal_type":"execute","payload":{"task":"test"}}'

curl -s localhost:8080/signal/&lt;signal_id&gt;/status</pre>
</section>
</main>
<script>${SCRIPT.text}</script>
</body>
</html>
`;
}
