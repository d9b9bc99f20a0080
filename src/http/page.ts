const ESCAPES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

export interface PageInfo {
  readonly name: string;
  readonly version: string;
  readonly signalTypes: readonly string[];
}

/** The service's home page: what it is and how to call it. Static, no external assets. */
export function homePage(info: PageInfo): string {
  const types = info.signalTypes.map((t) => `<code>${escapeHtml(t)}</code>`).join(', ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(info.name)}</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #1d2330; }
  h1 { margin-bottom: 0; } .sub { color: #5b6475; margin-top: .25rem; }
  table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
  th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #dde1e8; vertical-align: top; }
  code, pre { font-family: ui-monospace, monospace; font-size: .9em; }
  pre { background: #f3f5f8; padding: .8rem; overflow-x: auto; border-radius: 4px; }
</style>
</head>
<body>
<h1>${escapeHtml(info.name)}</h1>
<p class="sub">version ${escapeHtml(info.version)} · signal types: ${types}</p>
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
<tr><td><code>GET /openapi.json</code></td><td>OpenAPI document of this API.</td></tr>
</table>
<h2>Try it</h2>
<pre>curl -s -X POST localhost:8080/signal -H 'content-type: application/json' \\
  -d '{"signal_type":"validate","priority":2,"payload":{"data":[1,2,3]}}'

curl -s -X POST localhost:8080/signal -H 'content-type: application/json' -H 'Prefer: wait=5' \\
  -d '{"signal_type":"execute","payload":{"task":"test"}}'

curl -s localhost:8080/signal/&lt;signal_id&gt;/status</pre>
</body>
</html>
`;
}
