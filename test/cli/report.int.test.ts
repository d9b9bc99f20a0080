/**
 * The `--report FILE.html` page: rendered from a sample run, then opened offline in Debian's Chromium
 * (playwright-core) with every non-file request blocked. The charts must be drawn and the verdict seen.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { renderHtmlReport } from '../../cli/report-html.ts';
import type { RunResult, Tick } from '../../cli/result.ts';

const CHROMIUM = process.env.TPS_TEST_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');
const HOSTILE = '<script>alert(1)</script>';
const CHARTS = ['latency', 'throughput', 'queue'];

/** Thirty seconds of a run that overloads the service: 429s, a circuit opening, one failed poll. */
function sampleTimeline(): Tick[] {
  return Array.from({ length: 30 }, (_, i) => {
    const t = i + 1;
    const overloaded = t >= 12 && t <= 18;
    const pollFailed = t === 15;
    return {
      t,
      sent: 500,
      answered: overloaded ? 470 : 500,
      errors: overloaded ? 40 + t : 0,
      p50: overloaded ? 120 + t * 3 : 4.2 + (t % 5) * 0.3,
      p99: overloaded ? 1_800 + t * 20 : 18 + (t % 7) * 2,
      max: overloaded ? 2_400 : 40,
      queueDepth: pollFailed ? null : overloaded ? 800 + t * 10 : (t % 4) * 3,
      circuit: pollFailed ? null : t >= 14 && t <= 17 ? 'Open' : 'Closed',
    };
  });
}

function sampleResult(overrides: Partial<RunResult> = {}): RunResult {
  return {
    scenario: 'stress',
    url: 'http://127.0.0.1:3000',
    signalType: 'echo',
    mode: 'complete',
    rate: 500,
    durationSecs: 30,
    startedAt: '2025-03-14T09:26:53.589Z',
    sent: 15_000,
    answered: 14_790,
    achievedRate: 493.04,
    latencyMs: { p50: 5.1, p95: 210.4, p99: 1_912.7, p999: 2_350.2, max: 2_401.9, mean: 61.37 },
    statusCodes: { error: 12, '429': 413, '202': 14_377 },
    errors: 425,
    errorRatePct: 2.83,
    drainMs: 1_240,
    circuitOpenings: 1,
    circuitOpenSharePct: 13.33,
    serviceRssMb: 142.6,
    servicePeakRssMb: 171.3,
    serviceIdleRssMb: 113.0,
    timeline: sampleTimeline(),
    verdict: {
      level: 'RED',
      criteria: [
        { name: 'errors', value: '2.83 %', level: 'RED', reason: 'above 1 %' },
        { name: 'p99', value: '1912.7 ms', level: 'YELLOW', reason: 'above 500 ms' },
        { name: 'circuit', value: 'opened 1 time', level: 'RED', reason: 'a circuit opened' },
        { name: 'drain', value: 'drained in 1.2 s', level: 'GREEN', reason: 'within 5 s' },
      ],
    },
    ...overrides,
  };
}

test('the report shows the verdict, the three charts, and escapes every value', () => {
  const html = renderHtmlReport(sampleResult({ url: `http://example.test/${HOSTILE}` }));
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /data-verdict="RED"/);
  assert.match(html, /class="verdict level-red"/);
  for (const chart of CHARTS) {
    assert.match(html, new RegExp(`<svg[^>]*data-chart="${chart}"[^>]*role="img"[^>]*aria-label="[^"]+"`));
  }
  assert.ok(!html.includes(HOSTILE), 'the hostile URL is inserted raw');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the hostile URL is not shown escaped');
  assert.ok(
    !/<script|<link|src=|https?:\/\/(?!127\.0\.0\.1|example\.test)/.test(html),
    'refers to a resource',
  );
  assert.ok(html.includes('15,000'), 'counts have thousands separators');
  assert.ok(html.includes('1,912.70 ms') || html.includes('1,912.7 ms'), 'p99 in ms');
  assert.ok(html.includes('429: 413') && html.includes('error: 12'), 'status codes listed');
  assert.ok(!html.includes('no data'), 'a chart with data says no data');
});

test('null drain and RSS read as words', () => {
  const html = renderHtmlReport(sampleResult({ drainMs: null, serviceRssMb: null }));
  assert.ok(html.includes('never drained'));
  assert.ok(html.includes('unknown'));
});

test('an empty timeline and a single-point timeline render without throwing', () => {
  const empty = renderHtmlReport(sampleResult({ timeline: [] }));
  for (const chart of CHARTS) assert.ok(empty.includes(`data-chart="${chart}"`), chart);
  assert.equal(empty.match(/>no data</g)?.length, 3);
  assert.ok(!empty.includes('NaN') && !empty.includes('Infinity'), 'a coordinate is not a number');

  const [first] = sampleTimeline();
  assert.ok(first);
  const single = renderHtmlReport(sampleResult({ timeline: [first] }));
  for (const chart of CHARTS) assert.ok(single.includes(`data-chart="${chart}"`), chart);
  assert.ok(!single.includes('NaN') && !single.includes('Infinity'), 'a coordinate is not a number');
  assert.ok(single.includes('<circle'), 'a lone point is drawn as a dot');
});

test('the report opens offline in Chromium with its charts drawn', { timeout: 60_000 }, async (t) => {
  // A missing browser fails the suite, saying what to do; it is never a silent skip.
  assert.ok(
    existsSync(CHROMIUM),
    `no Chromium at ${CHROMIUM}: apt-get install chromium (or set TPS_TEST_CHROMIUM); .ci/run installs it`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'tps-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'load-report.html');
  writeFileSync(file, renderHtmlReport(sampleResult({ url: `http://127.0.0.1:3000/${HOSTILE}` })));

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu'],
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const blocked: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    blocked.push(url);
    return route.abort();
  });
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));

  await page.goto(pathToFileURL(file).href);

  const verdict = page.locator('[data-verdict]');
  assert.ok(await verdict.isVisible(), 'the verdict is not visible');
  assert.match((await verdict.textContent()) ?? '', /RED/);
  for (const chart of CHARTS) {
    const svg = page.locator(`svg[data-chart="${chart}"]`);
    assert.equal(await svg.count(), 1, `${chart}: one chart`);
    assert.ok(await svg.isVisible(), `${chart}: not visible`);
    const box = await svg.boundingBox();
    assert.ok(box && box.width > 100 && box.height > 50, `${chart}: bounding box ${JSON.stringify(box)}`);
    assert.equal(await svg.getAttribute('role'), 'img');
    assert.ok(await svg.getAttribute('aria-label'), `${chart}: no aria-label`);
    const lines = await svg.locator('path, polyline').count();
    assert.ok(lines > 0, `${chart}: no data line drawn`);
  }
  assert.equal(await page.locator('script').count(), 0, 'the hostile URL became a script element');

  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'load-report.png'), fullPage: true });

  assert.deepEqual(blocked, [], 'the report asked for something other than a file');
  assert.deepEqual(errors, [], 'console errors or page errors');
});
