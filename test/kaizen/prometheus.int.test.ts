import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, type TestContext, test } from 'node:test';
import type { SignalHandler } from '../../src/handlers/registry.ts';
import { startApp } from '../helpers.ts';
import { eventually, freePorts, postSignal, startService } from '../process.ts';

interface Family {
  help: string;
  type: string;
  samples: { name: string; labels: Record<string, string>; value: number }[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** A strict reader of the Prometheus text format: every line must be a comment or a sample. */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const familyOf = (sample: string) => {
    for (const suffix of ['_bucket', '_sum', '_count', '']) {
      const base = suffix && sample.endsWith(suffix) ? sample.slice(0, -suffix.length) : sample;
      if (families.get(base)?.type === 'histogram' || suffix === '') return families.get(base);
    }
    return undefined;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const help = /^# HELP (\S+) (.*)$/.exec(line);
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (help) {
      families.set(help[1] as string, { help: help[2] as string, type: '', samples: [] });
      continue;
    }
    if (type) {
      const f = families.get(type[1] as string);
      assert.ok(f, `TYPE before HELP for ${type[1]}`);
      f.type = type[2] as string;
      continue;
    }
    const m = SAMPLE.exec(line);
    assert.ok(m, `not a valid sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(LABEL)) labels[l[1] as string] = l[2] as string;
    const family = familyOf(m[1] as string);
    assert.ok(family, `sample ${m[1]} has no family`);
    family.samples.push({ name: m[1] as string, labels, value: Number(m[4]) });
  }
  return families;
}

const run = (cmd: string, args: string[], input: string) =>
  new Promise<{ code: number; output: string }>((resolve) => {
    const child = execFile(cmd, args, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    );
    child.stdin?.end(input);
  });

const ok: SignalHandler = () => 'ok';

describe('Prometheus exposition', () => {
  test('has the tps_* families, well-formed, with exact counts and cumulative buckets', async (t) => {
    const { app, system } = await startApp(t, {}, { handlers: { ok } });
    for (let i = 0; i < 7; i++) {
      await app.inject({
        method: 'POST',
        url: '/signal',
        headers: { 'content-type': 'application/json', prefer: 'wait=5' },
        payload: JSON.stringify({ signal_type: 'ok' }),
      });
    }
    await app.inject({
      method: 'POST',
      url: '/signal',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ signal_type: 'attacker-made-type' }),
    });
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { accept: 'text/plain' } });
    assert.match(String(res.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    const families = parseExposition(res.body);
    for (const name of [
      'tps_jidoka_circuit_state',
      'tps_jidoka_failures_total',
      'tps_jidoka_requests_rejected_total',
      'tps_kanban_queue_depth',
      'tps_kanban_dlq_depth',
      'tps_kanban_workers_available',
      'tps_andon_errors_total',
      'tps_andon_alerts_total',
      'tps_kaizen_slo_attainment',
      'tps_heijunka_pool_utilization',
      'tps_heijunka_balance_coefficient',
      'tps_signals_processed',
      'tps_error_rate',
      'tps_kaizen_latency_seconds',
      'process_cpu_user_seconds_total',
    ]) {
      assert.ok(families.has(name), `family ${name}`);
    }
    assert.equal(families.get('tps_signals_processed')?.samples[0]?.value, 7);
    // The pool's bounds beside its size, so an alert can tell "at its ceiling" from "scaling".
    const gauge = (name: string) => families.get(name)?.samples[0]?.value;
    assert.equal(gauge('tps_heijunka_pool_min'), system.heijunka().pool_min);
    assert.equal(gauge('tps_kaizen_slo_objective'), system.config.sloObjectivePct / 100);
    assert.equal(gauge('tps_heijunka_pool_max'), system.heijunka().pool_max);
    assert.ok((gauge('tps_heijunka_pool_size') ?? 0) >= (gauge('tps_heijunka_pool_min') ?? 1));
    const processed = families.get('tps_signals_processed_total')?.samples ?? [];
    assert.equal(processed.find((s) => s.labels.outcome === 'completed')?.value, 7);
    const latency = families.get('tps_kaizen_latency_seconds');
    assert.equal(latency?.type, 'histogram');
    const buckets = latency?.samples.filter((s) => s.name.endsWith('_bucket')) ?? [];
    for (let i = 1; i < buckets.length; i++) {
      assert.ok((buckets[i]?.value ?? 0) >= (buckets[i - 1]?.value ?? 0), 'buckets are cumulative');
    }
    assert.equal(buckets.at(-1)?.labels.le, '+Inf');
    assert.equal(buckets.at(-1)?.value, 7);
    assert.equal(latency?.samples.find((s) => s.name.endsWith('_count'))?.value, 7);
    const typesSeen = new Set(
      [...families.values()].flatMap((f) => f.samples.map((s) => s.labels.signal_type)).filter(Boolean),
    );
    assert.deepEqual([...typesSeen], ['ok'], 'only registered types make series');
  });

  test('passes promtool check metrics', async (t) => {
    const { app } = await startApp(t, {}, { handlers: { ok } });
    const res = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { accept: 'application/openmetrics-text' },
    });
    const { code, output } = await run('promtool', ['check', 'metrics'], res.body);
    assert.equal(code, 0, `promtool (Debian package prometheus) says:\n${output}`);
  });

  test('JSON stays the default', async (t) => {
    const { app } = await startApp(t, {}, { handlers: { ok } });
    const res = await app.inject({ method: 'GET', url: '/metrics', headers: { accept: '*/*' } });
    assert.equal(res.json().total_processed, 0);
  });
});

async function prometheus(t: TestContext, target: string): Promise<string> {
  const [port] = (await freePorts(1)) as [number];
  const dir = mkdtempSync(join(tmpdir(), 'tps-prometheus-'));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: tps\n    static_configs:\n      - targets: ['${target}']\n`,
  );
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: 'ignore' },
  );
  t.after(() => {
    child.kill('SIGTERM');
  });
  const base = `http://127.0.0.1:${port}`;
  await eventually(
    async () => (await fetch(`${base}/-/ready`).catch(() => undefined))?.status === 200,
    () => 'Prometheus (Debian package prometheus) to be ready',
    30_000,
    200,
  );
  return base;
}

test('a real Prometheus scrapes the service and counts every signal', async (t) => {
  const service = await startService(t, { env: { LOG_LEVEL: 'warn' } });
  const sent = 25;
  for (let i = 0; i < sent; i++) {
    const answer = await postSignal(service, 'report', {}, { prefer: 'wait=5' });
    assert.equal(answer.status, 200);
  }
  const base = await prometheus(t, `127.0.0.1:${service.metricsPort}`);
  let seen: unknown;
  await eventually(
    async () => {
      const res = await fetch(`${base}/api/v1/query?query=tps_signals_processed`);
      const body = (await res.json()) as { data?: { result?: { value: [number, string] }[] } };
      seen = body.data?.result?.[0]?.value[1];
      return seen === String(sent);
    },
    () => `Prometheus to report tps_signals_processed = ${sent}; it reports ${String(seen)}`,
    30_000,
    500,
  );
});
