/**
 * `make health|metrics|info|status`: GET one endpoint of a running service and print its JSON,
 * indented. Exit 0 on a 2xx, 1 on any other answer (the body is still printed: an unhealthy
 * /health says why), 3 when nothing answers.
 *
 *   node scripts/get.ts /health [--url http://127.0.0.1:8080] [--token T]
 */
import { parseArgs } from 'node:util';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { url: { type: 'string' }, token: { type: 'string' } },
});
const path = positionals[0] ?? '/health';
const base = (args.url ?? process.env.TPS_URL ?? 'http://127.0.0.1:8080').replace(/\/+$/, '');
const token = args.token ?? process.env.TPS_TOKEN;

let res: Response;
try {
  res = await fetch(`${base}${path}`, {
    headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    signal: AbortSignal.timeout(10_000),
  });
} catch (error) {
  process.stderr.write(
    `no answer from ${base}${path} (${(error as Error).cause ?? (error as Error).message}): is the service running? Start it with \`make run\`.\n`,
  );
  process.exit(3);
}
const text = await res.text();
try {
  process.stdout.write(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
} catch {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}
if (!res.ok) process.stderr.write(`${path}: HTTP ${res.status}\n`);
process.exit(res.ok ? 0 : 1);
