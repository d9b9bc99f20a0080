/**
 * The `--report FILE.html` output of `tps load|spike|stress`: one self-contained page (no script, no
 * external resource) with the verdict, the summary and three inline SVG charts drawn here.
 */
import { escapeHtml } from '../src/http/html.ts';
import type { Level, RunResult, Tick } from './result.ts';

const WHOLE = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ONE_DECIMAL = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const TWO_DECIMALS = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const SHORT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

const count = (n: number): string => WHOLE.format(n);
const pct = (n: number): string => `${TWO_DECIMALS.format(n)} %`;
/** Milliseconds: two decimals below 100 ms, one above. */
const rssMb = (v: number | null): string => (v === null ? 'unknown' : `${ONE_DECIMAL.format(v)} MB`);
const ms = (n: number): string => `${(Math.abs(n) < 100 ? TWO_DECIMALS : ONE_DECIMAL).format(n)} ms`;

const LEVELS: readonly Level[] = ['GREEN', 'YELLOW', 'RED'];
/** A level as a class name; anything unexpected (a hand-edited JSON) shows as unknown. */
const levelClass = (level: string): string =>
  LEVELS.includes(level as Level) ? `level-${level.toLowerCase()}` : 'level-unknown';

// ---- Charts -------------------------------------------------------------------------------------

const WIDTH = 720;
const HEIGHT = 250;
const PLOT = { left: 64, right: WIDTH - 16, top: 34, bottom: HEIGHT - 40 };

interface Series {
  readonly label: string;
  readonly colour: string;
  /** One value per tick; null leaves a gap. */
  readonly values: readonly (number | null)[];
  /** Dashed, so a line drawn under it stays visible where the two meet. */
  readonly dashed?: boolean;
}

interface Axis {
  readonly ticks: readonly number[];
  /** 0 at the bottom of the plot, 1 at the top. */
  readonly fraction: (value: number) => number;
  readonly label: (value: number) => string;
}

interface Chart {
  readonly kind: 'latency' | 'throughput' | 'queue';
  readonly title: string;
  readonly unit: string;
  readonly times: readonly number[];
  readonly series: readonly Series[];
  /** Plots positive values on a log axis when they span a wide range. */
  readonly logWhenWide?: boolean;
  /** Seconds shaded in the background, with their legend label. */
  readonly shaded?: { readonly label: string; readonly times: readonly number[] };
}

/** 1, 2, 2.5 or 5 times a power of ten, at least `rough`. */
function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const fraction = rough / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

function linearAxis(max: number, whole: boolean): Axis {
  const top = max > 0 ? max : 1;
  const step = whole ? Math.max(1, niceStep(top / 4)) : niceStep(top / 4);
  const end = Math.ceil(top / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; i * step <= end + 1e-9; i++) ticks.push(Math.round(i * step * 1e6) / 1e6);
  return { ticks, fraction: (v) => v / end, label: (v) => SHORT.format(v) };
}

function logAxis(min: number, max: number): Axis {
  const low = Math.floor(Math.log10(min));
  const high = Math.max(Math.ceil(Math.log10(max)), low + 1);
  const ticks: number[] = [];
  for (let p = low; p <= high; p++) ticks.push(10 ** p);
  return {
    ticks,
    fraction: (v) => (Math.log10(Math.max(v, 10 ** low)) - low) / (high - low),
    label: (v) => SHORT.format(v),
  };
}

const px = (n: number): string => n.toFixed(1);

/** One series as path segments between gaps; a lone point becomes a dot. */
function seriesMarks(
  series: Series,
  times: readonly number[],
  x: (t: number) => number,
  y: (v: number) => number,
): string {
  const runs: (readonly [number, number])[][] = [];
  let run: (readonly [number, number])[] = [];
  series.values.forEach((value, i) => {
    const t = times[i];
    if (value === null || t === undefined) {
      if (run.length > 0) runs.push(run);
      run = [];
    } else run.push([x(t), y(value)]);
  });
  if (run.length > 0) runs.push(run);
  return runs
    .map((points) => {
      const [first] = points;
      if (points.length === 1 && first !== undefined) {
        return `<circle cx="${px(first[0])}" cy="${px(first[1])}" r="3" fill="${series.colour}"/>`;
      }
      const d = points
        .map(([pointX, pointY], i) => `${i === 0 ? 'M' : 'L'}${px(pointX)} ${px(pointY)}`)
        .join(' ');
      return `<path d="${d}" fill="none" stroke="${series.colour}" stroke-width="2" stroke-linejoin="round"${series.dashed ? ' stroke-dasharray="6 4"' : ''}/>`;
    })
    .join('');
}

function legend(chart: Chart): string {
  const items: { label: string; swatch: string }[] = chart.series.map((s) => ({
    label: s.label,
    swatch: `<line x2="16" y1="-3" y2="-3" stroke="${s.colour}" stroke-width="3"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`,
  }));
  if (chart.shaded && chart.shaded.times.length > 0) {
    items.push({ label: chart.shaded.label, swatch: '<rect width="14" height="10" y="-8" class="shade"/>' });
  }
  let offset = PLOT.left;
  return items
    .map((item) => {
      const mark = `<g transform="translate(${offset} 16)">${item.swatch}<text x="21" y="0">${escapeHtml(item.label)}</text></g>`;
      offset += 30 + item.label.length * 7;
      return mark;
    })
    .join('');
}

/** An inline SVG line chart; it needs no script to be seen. */
function renderChart(chart: Chart): string {
  const values = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const positive = values.filter((v) => v > 0);
  // Reduced, not spread: a long run has more values than a call takes arguments.
  const maxValue = values.reduce((a, b) => Math.max(a, b), 0);
  const minPositive = positive.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
  const useLog = chart.logWhenWide === true && positive.length > 0 && maxValue / minPositive >= 50;
  const yAxis = useLog ? logAxis(minPositive, maxValue) : linearAxis(maxValue, chart.kind !== 'latency');
  const lastTime = chart.times.reduce((a, b) => Math.max(a, b), 1);
  const xAxis = linearAxis(lastTime, true);
  const xEnd = xAxis.ticks[xAxis.ticks.length - 1] ?? lastTime;
  const x = (t: number) => PLOT.left + (t / xEnd) * (PLOT.right - PLOT.left);
  const y = (v: number) => PLOT.bottom - yAxis.fraction(v) * (PLOT.bottom - PLOT.top);
  const secondWidth = (PLOT.right - PLOT.left) / xEnd;

  const shading = (chart.shaded?.times ?? [])
    .map(
      (t) =>
        `<rect class="shade" x="${px(x(t) - secondWidth)}" y="${PLOT.top}" width="${px(secondWidth)}" height="${PLOT.bottom - PLOT.top}"/>`,
    )
    .join('');
  const yTicks = yAxis.ticks
    .map(
      (v) =>
        `<line class="grid" x1="${PLOT.left}" x2="${PLOT.right}" y1="${px(y(v))}" y2="${px(y(v))}"/>` +
        `<text class="tick" x="${PLOT.left - 6}" y="${px(y(v) + 4)}" text-anchor="end">${escapeHtml(yAxis.label(v))}</text>`,
    )
    .join('');
  const xTicks = xAxis.ticks
    .map(
      (t) =>
        `<line class="axis" x1="${px(x(t))}" x2="${px(x(t))}" y1="${PLOT.bottom}" y2="${PLOT.bottom + 4}"/>` +
        `<text class="tick" x="${px(x(t))}" y="${PLOT.bottom + 17}" text-anchor="middle">${escapeHtml(xAxis.label(t))}</text>`,
    )
    .join('');
  const marks = values.length > 0 ? chart.series.map((s) => seriesMarks(s, chart.times, x, y)).join('') : '';
  const empty =
    values.length === 0
      ? `<text class="no-data" x="${(PLOT.left + PLOT.right) / 2}" y="${(PLOT.top + PLOT.bottom) / 2}" text-anchor="middle">no data</text>`
      : '';
  const unit = `${chart.unit}${useLog ? ', log scale' : ''}`;
  const label = `${chart.title} per second, ${unit}: ${chart.series.map((s) => s.label).join(', ')}${values.length === 0 ? ' (no data)' : ''}`;
  return `<svg class="chart" data-chart="${chart.kind}" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${WIDTH} ${HEIGHT}" preserveAspectRatio="xMidYMid meet">
<title>${escapeHtml(label)}</title>
${legend(chart)}${shading}${yTicks}${xTicks}
<line class="axis" x1="${PLOT.left}" x2="${PLOT.right}" y1="${PLOT.bottom}" y2="${PLOT.bottom}"/>
<line class="axis" x1="${PLOT.left}" x2="${PLOT.left}" y1="${PLOT.top}" y2="${PLOT.bottom}"/>
<text class="axis-label" x="${(PLOT.left + PLOT.right) / 2}" y="${HEIGHT - 6}" text-anchor="middle">seconds since start</text>
<text class="axis-label" transform="translate(14 ${(PLOT.top + PLOT.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeHtml(unit)}</text>
${marks}${empty}
</svg>`;
}

function charts(timeline: readonly Tick[]): string {
  const times = timeline.map((tick) => tick.t);
  // A second without answers has no latency: a gap, not a 0 ms.
  const latency = (pick: (tick: Tick) => number) =>
    timeline.map((tick) => (tick.answered > 0 ? pick(tick) : null));
  const list: Chart[] = [
    {
      kind: 'latency',
      title: 'Latency',
      unit: 'ms',
      times,
      logWhenWide: true,
      series: [
        { label: 'p50', colour: '#2563eb', values: latency((tick) => tick.p50) },
        { label: 'p99', colour: '#ea580c', values: latency((tick) => tick.p99) },
      ],
    },
    {
      kind: 'throughput',
      title: 'Throughput',
      unit: 'requests/s',
      times,
      series: [
        { label: 'answered', colour: '#16a34a', values: timeline.map((tick) => tick.answered) },
        { label: 'sent', colour: '#475569', values: timeline.map((tick) => tick.sent), dashed: true },
        { label: 'errors', colour: '#dc2626', values: timeline.map((tick) => tick.errors) },
      ],
    },
    {
      kind: 'queue',
      title: 'Queue depth',
      unit: 'signals',
      times,
      series: [{ label: 'queue depth', colour: '#7c3aed', values: timeline.map((tick) => tick.queueDepth) }],
      shaded: {
        label: 'circuit open',
        times: timeline.filter((tick) => tick.circuit?.toLowerCase() === 'open').map((tick) => tick.t),
      },
    },
  ];
  return list
    .map(
      (chart) => `<figure><figcaption>${escapeHtml(chart.title)}</figcaption>${renderChart(chart)}</figure>`,
    )
    .join('\n');
}

// ---- Page ---------------------------------------------------------------------------------------

function row(name: string, value: string, cls = ''): string {
  return `<tr><th scope="row">${escapeHtml(name)}</th><td${cls ? ` class="${cls}"` : ''}>${escapeHtml(value)}</td></tr>`;
}

/** Status codes in order, numbers first, then `error`. */
function statusCodes(codes: Readonly<Record<string, number>>): string {
  const entries = Object.entries(codes).sort(([a], [b]) => {
    const [na, nb] = [Number(a), Number(b)];
    if (Number.isNaN(na) || Number.isNaN(nb)) return Number.isNaN(na) ? 1 : -1;
    return na - nb;
  });
  if (entries.length === 0) return '<td>none</td>';
  const items = entries.map(([code, n]) => {
    const ok = /^2\d\d$/.test(code);
    return `<span class="code ${ok ? 'code-ok' : 'code-bad'}">${escapeHtml(code)}: ${escapeHtml(count(n))}</span>`;
  });
  return `<td>${items.join(' ')}</td>`;
}

function summary(r: RunResult): string {
  const l = r.latencyMs;
  const latencies: [string, number][] = [
    ['p50', l.p50],
    ['p95', l.p95],
    ['p99', l.p99],
    ['p99.9', l.p999],
    ['max', l.max],
    ['mean', l.mean],
  ];
  return `<table class="summary"><tbody>
${row('Sent', count(r.sent))}
${row('Answered', count(r.answered))}
${row('Achieved rate', `${ONE_DECIMAL.format(r.achievedRate)} req/s (asked ${SHORT.format(r.rate)})`)}
${row('Errors', `${count(r.errors)} (${pct(r.errorRatePct)})`, r.errors > 0 ? 'bad' : '')}
<tr><th scope="row">Status codes</th>${statusCodes(r.statusCodes)}</tr>
${latencies.map(([name, v]) => row(`Latency ${name}`, ms(v))).join('\n')}
${row('Drain time', r.drainMs === null ? 'never drained' : ms(r.drainMs), r.drainMs === null ? 'bad' : '')}
${row('Circuit openings', `${count(r.circuitOpenings)} (open ${pct(r.circuitOpenSharePct)} of the run)`)}
${row('Service RSS, queue drained', rssMb(r.serviceRssMb))}
${row('Service RSS, once idle', rssMb(r.serviceIdleRssMb))}
${row('Service RSS, peak', rssMb(r.servicePeakRssMb))}
</tbody></table>`;
}

function verdict(r: RunResult): string {
  const criteria = r.verdict.criteria
    .map(
      (c) =>
        `<tr class="${levelClass(c.level)}"><td>${escapeHtml(c.name)}</td><td>${escapeHtml(c.value)}</td>` +
        `<td><span class="badge">${escapeHtml(c.level)}</span></td><td>${escapeHtml(c.reason)}</td></tr>`,
    )
    .join('\n');
  return `<section class="verdict ${levelClass(r.verdict.level)}" aria-label="Verdict">
<p class="verdict-level" data-verdict="${escapeHtml(r.verdict.level)}"><span class="verdict-caption">Verdict</span> ${escapeHtml(r.verdict.level)}</p>
<table class="criteria"><thead><tr><th>Criterion</th><th>Measured</th><th>Level</th><th>Reason</th></tr></thead>
<tbody>${criteria || '<tr><td colspan="4">no criteria</td></tr>'}</tbody></table>
</section>`;
}

const STYLE = `
  :root { color-scheme: light; --ink: #1f2430; --muted: #5b6472; --line: #d9dee6; --page: #fff;
    --green: #15803d; --green-bg: #dcfce7; --yellow: #a16207; --yellow-bg: #fef3c7; --red: #b91c1c; --red-bg: #fee2e2;
    font: 15px/1.45 system-ui, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Liberation Sans', sans-serif; }
  * { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  body { margin: 0 auto; padding: 1.5rem; max-width: 62rem; background: var(--page); color: var(--ink); }
  h1 { margin: 0 0 .3rem; font-size: 1.5rem; } h2 { font-size: 1.15rem; margin: 1.6rem 0 .6rem; }
  .meta { display: flex; flex-wrap: wrap; gap: .2rem 1.4rem; margin: 0; color: var(--muted); }
  .meta b { color: var(--ink); font-weight: 600; overflow-wrap: anywhere; }
  table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
  th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
  .summary th { width: 12rem; font-weight: 600; color: var(--muted); }
  .verdict { margin-top: 1.2rem; border: 2px solid var(--c); border-radius: .5rem; overflow: hidden; }
  .verdict-level { margin: 0; padding: .6rem 1rem; background: var(--c); color: #fff; font-size: 2rem;
    font-weight: 800; letter-spacing: .06em; }
  .verdict-caption { font-size: .9rem; font-weight: 600; letter-spacing: .1em; text-transform: uppercase; opacity: .85; }
  .level-green { --c: var(--green); --bg: var(--green-bg); } .level-yellow { --c: var(--yellow); --bg: var(--yellow-bg); }
  .level-red { --c: var(--red); --bg: var(--red-bg); } .level-unknown { --c: var(--muted); --bg: #f1f3f6; }
  .criteria tr[class] { background: var(--bg); } .criteria tr[class] td:first-child { border-left: 4px solid var(--c); }
  .badge { font-weight: 700; color: var(--c); }
  .code { display: inline-block; margin: 0 .6rem .1rem 0; } .code-bad, .bad { color: var(--red); }
  figure { margin: 0 0 1rem; break-inside: avoid; } figcaption { font-weight: 600; margin-bottom: .2rem; }
  svg.chart { display: block; width: 100%; height: auto; border: 1px solid var(--line); border-radius: .4rem;
    font: 12px system-ui, 'Segoe UI', Roboto, Arial, sans-serif; fill: var(--ink); }
  svg .grid { stroke: #eef1f5; } svg .axis { stroke: #8a93a3; } svg .tick { fill: var(--muted); }
  svg .axis-label { fill: var(--muted); } svg .shade { fill: #fecaca; opacity: .6; }
  svg .no-data { font-size: 16px; fill: var(--muted); }
  @media print { body { padding: 0; max-width: none; } h2 { break-after: avoid; } .verdict, table { break-inside: avoid; } }
`;

/** The whole report as one HTML document; every value from the run is escaped. */
export function renderHtmlReport(result: RunResult): string {
  const r = result;
  const meta: [string, string][] = [
    ['Scenario', r.scenario],
    ['URL', r.url],
    ['Signal type', r.signalType],
    ['Mode', r.mode],
    ['Asked', `${SHORT.format(r.rate)} req/s for ${count(r.durationSecs)} s`],
    ['Started', r.startedAt],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>${escapeHtml(`Load report: ${r.scenario} — ${r.verdict.level}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>Load report: ${escapeHtml(r.scenario)}</h1>
<p class="meta">${meta.map(([k, v]) => `<span>${escapeHtml(k)} <b>${escapeHtml(v)}</b></span>`).join(' ')}</p>
</header>
<main>
${verdict(r)}
<h2>Summary</h2>
${summary(r)}
<h2>Over time</h2>
${charts(r.timeline)}
</main>
</body>
</html>
`;
}
