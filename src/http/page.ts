import { createHash } from 'node:crypto';
import { escapeHtml } from './html.ts';

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

const STYLE = `
  :root {
    color-scheme: dark;
    --page: #0d1117; --ink: #e6e9ef; --muted: #9aa4b2; --line: #262d38; --card: #151a22;
    --green: #17753a; --yellow: #f2c21b; --red: #c4201b; --grey: #3a4150;
    font: 16px/1.45 system-ui, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, 'Liberation Sans', sans-serif;
  }
  * { box-sizing: border-box; }
  body { margin: 0; background: var(--page); color: var(--ink); }
  .top { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: .5rem 2rem;
    padding: .9rem clamp(1rem, 2vw, 2rem); border-bottom: 1px solid var(--line); }
  .top h1 { margin: 0; font-size: clamp(1.25rem, 1.6vw, 1.75rem); letter-spacing: .01em; }
  .sub { margin: .1rem 0 0; color: var(--muted); font-size: .95rem; }
  .sub code { color: var(--ink); }
  .status { display: flex; align-items: center; gap: 1.5rem; color: var(--muted); font-size: 1.05rem;
    font-variant-numeric: tabular-nums; }
  .live { display: inline-flex; align-items: center; gap: .5rem; padding: .3rem .8rem; border-radius: 999px;
    border: 1px solid var(--line); color: var(--ink); font-weight: 600; }
  .live .dot { width: .75rem; height: .75rem; border-radius: 50%; background: var(--muted); }
  .live[data-state='live'] .dot { background: #3ddc73; animation: beat 2s ease-in-out infinite; }
  .live[data-state='reconnecting'] { border-color: var(--yellow); color: var(--yellow); }
  .live[data-state='reconnecting'] .dot { background: var(--yellow); animation: blink 1s steps(2) infinite; }
  main { padding: clamp(1rem, 2vw, 2rem); display: grid; gap: clamp(1rem, 1.5vw, 1.5rem); }
  .board { display: grid; gap: clamp(1rem, 1.5vw, 1.5rem); }
  @media (min-width: 1400px) {
    .board { grid-template-columns: minmax(0, 1fr) minmax(20rem, 27rem); }
    .banner { grid-column: 1 / -1; }
    /* Beside the tiles the history takes their height and never sets it: older rows are cut. */
    .history-panel { height: 0; min-height: 100%; overflow: hidden;
      mask-image: linear-gradient(to bottom, #000 calc(100% - 3rem), transparent); }
  }
  /* A wall screen: the board fills the first screen; the documentation is below it. */
  @media (min-width: 1400px) and (min-height: 800px) {
    .board { min-height: calc(100vh - 8rem); grid-template-rows: auto 1fr; }
    .tiles { grid-auto-rows: 1fr; }
  }

  [data-level] { --bg: var(--grey); --fg: #e6e9ef; --panel: rgba(0, 0, 0, .22); --track: rgba(255, 255, 255, .22); }
  [data-level='GREEN'] { --bg: var(--green); --fg: #fff; }
  [data-level='YELLOW'] { --bg: var(--yellow); --fg: #14171c; --panel: rgba(0, 0, 0, .1); --track: rgba(0, 0, 0, .2); }
  [data-level='RED'] { --bg: var(--red); --fg: #fff; }
  .mark { display: inline-block; flex: none; width: .8em; height: .8em; background: currentColor; border-radius: 50%; }
  [data-level='UNKNOWN'] > .level .mark, .banner[data-level='UNKNOWN'] .mark { background: none;
    border: .12em dashed currentColor; }
  [data-level='YELLOW'] > .level .mark, .banner[data-level='YELLOW'] .mark, .chip[data-level='YELLOW'] .mark {
    border-radius: 0; clip-path: polygon(50% 4%, 100% 96%, 0 96%); }
  [data-level='RED'] > .level .mark, .banner[data-level='RED'] .mark, .chip[data-level='RED'] .mark {
    border-radius: 0; clip-path: polygon(30% 0, 70% 0, 100% 30%, 100% 70%, 70% 100%, 30% 100%, 0 70%, 0 30%); }

  .banner { display: flex; align-items: center; gap: clamp(1rem, 2vw, 2rem); flex-wrap: wrap;
    padding: clamp(.9rem, 1.4vw, 1.4rem) clamp(1.2rem, 2vw, 2rem); border-radius: 12px;
    background: var(--bg); color: var(--fg); transition: background-color .3s; }
  .banner .mark { width: clamp(2rem, 3vw, 3.25rem); height: clamp(2rem, 3vw, 3.25rem); }
  .banner-level { font-size: clamp(2.4rem, 4.2vw, 4.5rem); font-weight: 800; letter-spacing: .04em; line-height: 1; }
  .banner-text { flex: 1 1 20rem; margin: 0; font-size: clamp(1.2rem, 1.7vw, 1.9rem); font-weight: 600; }
  .banner[data-level='RED'] { animation: alarm 2s ease-in-out infinite; }
  .stale-note { display: none; flex-basis: 100%; margin: 0; font-size: 1.15rem; font-weight: 700; }
  .board[data-stale='true'] .stale-note { display: block; }
  /* Stale: the last known levels stay readable up close, but from afar the banner reads "unknown". */
  .board[data-stale='true'] .banner { --bg: var(--grey); --fg: #fff; animation: none;
    outline: .3rem dashed var(--yellow); outline-offset: -.3rem; }
  .board[data-stale='true'] .tile, .board[data-stale='true'] .history { opacity: .55; filter: grayscale(.7); }

  .tiles { display: grid; gap: clamp(.8rem, 1.2vw, 1.25rem); grid-template-columns: repeat(3, minmax(0, 1fr)); }
  @media (max-width: 1000px) { .tiles { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
  @media (max-width: 640px) { .tiles { grid-template-columns: minmax(0, 1fr); } }
  .tile { display: flex; flex-direction: column; gap: .35rem; min-height: 17rem; padding: 1rem 1.1rem 1.1rem;
    border-radius: 12px; background: var(--bg); color: var(--fg); transition: background-color .3s; }
  .tile-head { display: flex; align-items: baseline; justify-content: space-between; gap: .75rem; flex-wrap: wrap; }
  .tile h2 { margin: 0; font-size: clamp(1.2rem, 1.5vw, 1.6rem); letter-spacing: .06em; text-transform: uppercase; }
  .role { font-size: .9rem; opacity: .85; }
  .level { display: flex; align-items: center; gap: .6rem; margin: .1rem 0 0;
    font-size: clamp(2rem, min(2.9vw, 5vh), 3.5rem); font-weight: 800; letter-spacing: .04em; line-height: 1.05; }
  .reason { margin: 0; font-size: clamp(1rem, min(1.25vw, 2.2vh), 1.45rem); font-weight: 600; overflow-wrap: anywhere; }
  .figures { margin-top: auto; padding: .7rem .8rem; border-radius: 8px; background: var(--panel);
    font-variant-numeric: tabular-nums; display: grid; gap: .5rem; }
  .figures:empty { display: none; }
  .stats { display: flex; flex-wrap: wrap; gap: .35rem 1.25rem; }
  .stat { display: flex; flex: 1 1 auto; flex-direction: column; min-width: 0; }
  .stat-value { font-size: clamp(1.25rem, min(1.75vw, 3.2vh), 2.1rem); font-weight: 700; line-height: 1.15;
    white-space: nowrap; }
  .stat-value small { font-size: .6em; font-weight: 600; margin-left: .15em; }
  .stat-label { font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; opacity: .85; }
  .meta { font-size: .92rem; overflow-wrap: anywhere; }
  .meta b { font-weight: 700; }
  .bar { position: relative; height: .8rem; border-radius: 999px; background: var(--track); overflow: hidden; }
  .bar > span { position: absolute; inset: 0 auto 0 0; border-radius: inherit; background: currentColor;
    transition: width .4s; }
  .circuits { list-style: none; margin: 0; padding: 0; display: grid; gap: .25rem .9rem;
    grid-template-columns: repeat(auto-fill, minmax(9.5rem, 1fr)); }
  .circuit { display: flex; align-items: center; justify-content: space-between; gap: .5rem; min-width: 0; }
  .circuit .name { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; font-family: ui-monospace,
    'DejaVu Sans Mono', monospace; font-size: .95rem; }
  .circuit .state { flex: none; font-size: .78rem; font-weight: 800; letter-spacing: .05em; padding: .05rem .45rem;
    border-radius: 4px; border: 1px solid currentColor; }
  .circuit[data-state='Open'] .state { background: #fff; color: #a3140f; border-color: #fff; }
  .circuit[data-state='HalfOpen'] .state { background: #14171c; color: var(--yellow); border-color: #14171c; }
  .workers { display: grid; gap: .3rem; }
  .workers[data-many='true'] { gap: .12rem; }
  .workers[data-many='true'] .worker { font-size: .8rem; }
  .workers[data-many='true'] .bar { height: .55rem; }
  .worker { display: grid; grid-template-columns: minmax(3.5rem, auto) 1fr 4.6rem; align-items: center; gap: .6rem;
    font-size: .9rem; }
  .worker .name { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; overflow: hidden; text-overflow: ellipsis;
    white-space: nowrap; }
  .worker .count { text-align: right; }
  .worker[data-running='false'] .count { font-weight: 800; font-size: .75rem; letter-spacing: .04em; }
  .worker[data-running='false'] .name { text-decoration: line-through; }

  .history-panel { background: var(--card); border: 1px solid var(--line); border-radius: 12px;
    padding: 1rem 1.1rem; min-width: 0; }
  .history-panel h2 { margin: 0 0 .6rem; font-size: 1.15rem; letter-spacing: .06em; text-transform: uppercase;
    color: var(--muted); }
  .history { list-style: none; margin: 0; padding: 0; }
  .history li { display: grid; grid-template-columns: auto auto 1fr; gap: .15rem .7rem; align-items: center;
    padding: .45rem 0; border-top: 1px solid var(--line); }
  .history li:first-child { border-top: 0; }
  .history time { color: var(--muted); font-variant-numeric: tabular-nums; font-size: .95rem; }
  .history .who { font-weight: 700; text-transform: capitalize; }
  .history .what { grid-column: 1 / -1; overflow-wrap: anywhere; color: #c9d1dc; }
  .history .kind { color: var(--muted); font-size: .8rem; text-transform: uppercase; letter-spacing: .06em; }
  .history .fresh { background: linear-gradient(90deg, rgba(140, 180, 255, .2), transparent); }
  .chip { justify-self: end; display: inline-flex; align-items: center; gap: .35rem; padding: .08rem .5rem;
    border-radius: 4px; background: var(--bg); color: var(--fg); font-size: .8rem; font-weight: 800;
    letter-spacing: .05em; }
  .chip .mark { width: .7em; height: .7em; }
  .empty { color: var(--muted); margin: 0; }

  .docs { max-width: 64rem; color: var(--ink); }
  .docs h2 { font-size: 1.3rem; margin: 1.5rem 0 .5rem; }
  .docs p { color: #c9d1dc; }
  .docs a { color: #8cb4ff; }
  table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
  th, td { text-align: left; padding: .45rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
  th { color: var(--muted); font-weight: 600; }
  td:first-child { white-space: nowrap; }
  code, pre { font-family: ui-monospace, 'DejaVu Sans Mono', monospace; font-size: .9em; }
  pre { background: var(--card); border: 1px solid var(--line); padding: .8rem; overflow-x: auto; border-radius: 6px; }
  .no-js .live-only { display: none; }
  .nojs { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .8rem 1rem; }

  @keyframes beat { 50% { opacity: .35; } }
  @keyframes blink { 50% { opacity: 0; } }
  @keyframes alarm { 50% { box-shadow: 0 0 0 .35rem rgba(255, 90, 80, .55); } }
  @media (prefers-reduced-motion: reduce) {
    *, *::before, *::after { animation: none !important; transition: none !important; }
  }
`;

/**
 * The live client: renders each `snapshot` of GET /andon/stream, applies each `change` at once,
 * and reconnects by itself. Data only ever reaches the page through textContent and attributes.
 * Plain ES2020 in a string (no build step): no backticks, no template placeholders in here.
 */
const SCRIPT = `
(function () {
  'use strict';
  var LEVELS = { GREEN: 0, YELLOW: 1, RED: 2 };
  var NAMES = { jidoka: 'Jidoka', kanban: 'Kanban', andon: 'Andon', kaizen: 'Kaizen', heijunka: 'Heijunka',
    tracing: 'Tracing', overall: 'Overall' };
  var PRINCIPLES = ['jidoka', 'kanban', 'andon', 'kaizen', 'heijunka', 'tracing'];
  var CIRCUIT_WORDS = { Closed: 'closed', HalfOpen: 'HALF-OPEN', Open: 'OPEN' };
  var ICON = { GREEN: '#17753a', YELLOW: '#f2c21b', RED: '#c4201b', UNKNOWN: '#3a4150' };
  var HISTORY_ROWS = 15;
  var STALE_AFTER_MS = 3500;
  var WATCHDOG_MS = 5000;

  var boardEl = document.getElementById('board');
  var banner = document.getElementById('banner');
  var bannerLevel = document.getElementById('banner-level');
  var bannerText = document.getElementById('banner-text');
  var staleNote = document.getElementById('stale-note');
  var live = document.getElementById('live');
  var liveText = document.getElementById('live-text');
  var updated = document.getElementById('updated');
  var historyList = document.getElementById('history');
  var historyEmpty = document.getElementById('history-empty');
  var icon = document.getElementById('icon');
  var tiles = {};
  PRINCIPLES.forEach(function (p) { tiles[p] = document.querySelector('.tile[data-principle="' + p + '"]'); });

  var state = { overall: 'UNKNOWN', principles: {}, figures: null };
  var history = [];
  /** When each history row was first shown: rows newer than FRESH_MS stand out. */
  var firstSeen = null;
  var FRESH_MS = 6000;
  var lastData = 0;
  var lastAt = '';

  function level(x) { return Object.prototype.hasOwnProperty.call(LEVELS, x) ? x : 'UNKNOWN'; }
  function obj(x) { return x !== null && typeof x === 'object' && !Array.isArray(x) ? x : {}; }
  function str(x) { return x === undefined || x === null ? '' : String(x); }
  function num(x) { return typeof x === 'number' && isFinite(x) ? x : null; }
  function fixed(x, digits) { var n = num(x); return n === null ? '—' : n.toFixed(digits); }
  /** Three significant figures or so: 0.42, 9.9, 312, 1235. */
  function short(x) {
    var n = num(x);
    if (n === null) return '—';
    var a = Math.abs(n);
    return n.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : a === 0 ? 0 : 2);
  }
  function int(x) { var n = num(x); return n === null ? '—' : String(Math.round(n)); }
  function pad(n) { return n < 10 ? '0' + n : String(n); }
  function clock(iso) {
    var d = new Date(str(iso));
    if (isNaN(d.getTime())) return '—';
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function stat(value, unit, label) {
    var s = el('div', 'stat');
    var v = el('span', 'stat-value', value);
    if (unit) v.appendChild(el('small', '', unit));
    s.appendChild(v);
    s.appendChild(el('span', 'stat-label', label));
    return s;
  }
  function stats(items) {
    var row = el('div', 'stats');
    items.forEach(function (i) { row.appendChild(i); });
    return row;
  }
  function bar(value, max, label) {
    var b = el('div', 'bar');
    var v = num(value) || 0;
    var m = num(max) || 0;
    var pct = m > 0 ? Math.max(0, Math.min(100, (v * 100) / m)) : 0;
    b.setAttribute('role', 'meter');
    b.setAttribute('aria-label', label);
    b.setAttribute('aria-valuemin', '0');
    b.setAttribute('aria-valuemax', String(m));
    b.setAttribute('aria-valuenow', String(v));
    var fill = el('span');
    fill.style.width = (v > 0 ? Math.max(pct, 1.5) : 0) + '%';
    b.appendChild(fill);
    return b;
  }
  function meta(parts) {
    var p = el('div', 'meta');
    parts.forEach(function (part, i) {
      if (i > 0) p.appendChild(document.createTextNode(' · '));
      p.appendChild(document.createTextNode(part[0] + ' '));
      p.appendChild(el('b', '', part[1]));
    });
    return p;
  }

  var FIGURES = {
    jidoka: function (f) {
      var circuits = obj(f.circuits);
      var names = Object.keys(circuits).sort();
      var list = el('ul', 'circuits');
      names.forEach(function (name) {
        var s = str(circuits[name]);
        var li = el('li', 'circuit');
        li.setAttribute('data-state', Object.prototype.hasOwnProperty.call(CIRCUIT_WORDS, s) ? s : 'other');
        li.appendChild(el('span', 'name', name)).title = name;
        li.appendChild(el('span', 'state', CIRCUIT_WORDS[s] || s));
        list.appendChild(li);
      });
      if (names.length === 0) return [el('div', 'meta', 'no signal types registered')];
      return [list];
    },
    kanban: function (f) {
      var path = str(f.active_path);
      var backend = str(f.backend);
      return [
        stats([stat(int(f.depth), '/ ' + int(f.capacity), 'queued / capacity')]),
        bar(f.depth, f.capacity, 'queue depth'),
        meta([['DLQ', int(f.dlq)], ['in flight', int(f.in_flight)],
          ['backend', path && path !== backend ? backend + ' → ' + path : backend || '—']]),
      ];
    },
    andon: function (f) {
      return [stats([stat(fixed(f.error_rate_1m, 2), '%', 'errors, last minute')])];
    },
    kaizen: function (f) {
      var slo = num(f.slo_attainment_1m);
      return [
        stats([
          stat(short(f.throughput_1m), '/s', 'throughput'),
          stat(short(f.p99_1m_ms), 'ms', 'p99 latency'),
          stat(slo === null ? '—' : (slo * 100).toFixed(1), slo === null ? '' : '%', 'within SLO'),
        ]),
        meta([['over the last minute · processed since start', int(f.processed)]]),
      ];
    },
    heijunka: function (f) {
      var workers = Array.isArray(f.workers) ? f.workers : [];
      var list = el('div', 'workers');
      var shown = workers.slice(0, 6);
      list.setAttribute('data-many', String(workers.length > 5));
      shown.forEach(function (w) {
        w = obj(w);
        var row = el('div', 'worker');
        var s = str(w.state);
        var running = s === '' || s === 'running';
        row.setAttribute('data-running', String(running));
        var name = el('span', 'name', str(w.id));
        name.title = str(w.id) + (s === '' ? '' : ' (' + s + ')');
        row.appendChild(name);
        row.appendChild(bar(w.in_use, w.cards, 'cards in use, ' + str(w.id)));
        row.appendChild(el('span', 'count', running ? int(w.in_use) + '/' + int(w.cards) : s.toUpperCase()));
        list.appendChild(row);
      });
      var out = [list];
      if (workers.length > shown.length) out.push(el('div', 'meta', '+ ' + (workers.length - shown.length) + ' more'));
      var util = num(f.pool_utilization);
      out.push(meta([['balance', fixed(f.balance_coefficient, 2)],
        ['cards in use', util === null ? '—' : (util * 100).toFixed(0) + ' %']]));
      return out;
    },
    tracing: function (f, light) {
      var out = [stats([stat(f.exporting === true ? 'exporting' : 'ids only', '', 'spans')])];
      // The detail is the tile's reason when all is well; shown again only when it says more.
      if (str(f.detail) !== '' && str(f.detail) !== str(light.reason)) out.push(el('div', 'meta', str(f.detail)));
      return out;
    },
  };

  function setLevel(node, lv) {
    if (node.getAttribute('data-level') !== lv) node.setAttribute('data-level', lv);
  }

  function renderLevels() {
    var attention = [];
    PRINCIPLES.forEach(function (p) {
      var light = obj(state.principles[p]);
      var lv = level(light.level);
      var tile = tiles[p];
      if (!tile) return;
      setLevel(tile, lv);
      tile.querySelector('.level-word').textContent = lv === 'UNKNOWN' ? '—' : lv;
      tile.querySelector('.reason').textContent = str(light.reason) || '—';
      if (lv === 'YELLOW' || lv === 'RED') attention.push([LEVELS[lv], NAMES[p], str(light.reason)]);
    });
    var overall = level(state.overall);
    setLevel(banner, overall);
    bannerLevel.textContent = overall === 'UNKNOWN' ? '—' : overall;
    attention.sort(function (a, b) { return b[0] - a[0]; });
    var text;
    if (overall === 'UNKNOWN') text = 'Waiting for the board…';
    else if (attention.length === 0) text = 'All six principles green: the line is running.';
    else {
      // One or two: what is wrong. More: which tiles to look at, worst first.
      text = (overall === 'RED' ? 'Action needed — ' : 'Attention — ') + attention.map(function (a) {
        return attention.length <= 2 ? a[1] + ': ' + a[2] : a[1];
      }).join(attention.length <= 2 ? ' · ' : ', ');
    }
    bannerText.textContent = text;
    icon.setAttribute('href', 'data:image/svg+xml,' + encodeURIComponent(
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="' +
      ICON[overall] + '"/></svg>'));
    document.title = (overall === 'UNKNOWN' ? '' : overall + ' · ') + document.body.getAttribute('data-name');
  }

  function renderFigures() {
    var figures = obj(state.figures);
    PRINCIPLES.forEach(function (p) {
      var tile = tiles[p];
      if (!tile) return;
      var nodes;
      try { nodes = FIGURES[p](obj(figures[p]), obj(state.principles[p])); } catch (e) { nodes = []; }
      tile.querySelector('.figures').replaceChildren.apply(tile.querySelector('.figures'), nodes);
    });
  }

  function key(c) { return [c.at, c.kind, c.principle, c.level, c.previous, c.reason].join('|'); }

  function renderHistory() {
    var rows = history.slice(-HISTORY_ROWS).reverse();
    var now = Date.now();
    var next = new Map();
    var items = rows.map(function (c) {
      var k = key(c);
      var lv = level(c.level);
      var li = el('li');
      li.setAttribute('data-principle', str(c.principle));
      li.setAttribute('data-level', lv);
      li.setAttribute('data-kind', str(c.kind));
      // Rows already there when the page opened are not news.
      var since = firstSeen === null ? 0 : firstSeen.has(k) ? firstSeen.get(k) : now;
      next.set(k, since);
      if (now - since < FRESH_MS) li.className = 'fresh';
      var t = el('time', '', clock(c.at));
      t.setAttribute('datetime', str(c.at));
      li.appendChild(t);
      var who = el('span', 'who', NAMES[c.principle] || str(c.principle));
      if (c.kind === 'alert') who.appendChild(el('span', 'kind', ' alert'));
      li.appendChild(who);
      var chip = el('span', 'chip');
      chip.setAttribute('data-level', lv);
      chip.appendChild(el('span', 'mark'));
      chip.appendChild(document.createTextNode(lv === 'UNKNOWN' ? str(c.level) : lv));
      li.appendChild(chip);
      var from = level(c.previous);
      li.appendChild(el('span', 'what', (c.kind === 'level' && from !== 'UNKNOWN' ? 'was ' + from + ' · ' : '') +
        str(c.reason)));
      return li;
    });
    firstSeen = next;
    historyList.replaceChildren.apply(historyList, items);
    historyEmpty.hidden = items.length > 0;
  }

  function onSnapshot(data) {
    var b = obj(data);
    lastAt = str(b.at);
    state.overall = b.overall;
    state.principles = obj(b.principles);
    state.figures = b.figures;
    history = Array.isArray(b.history) ? b.history.map(obj) : [];
    updated.textContent = clock(b.at);
    updated.setAttribute('datetime', str(b.at));
    renderLevels();
    renderFigures();
    renderHistory();
  }

  // A level change comes before the figures that explain it: fetch them at once rather than wait
  // for the next snapshot, so a RED tile never shows a closed circuit for a second.
  var refreshTimer = 0;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      fetch('/andon', { cache: 'no-store', headers: { accept: 'application/json' } })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (board) {
          if (board !== null && str(obj(board).at) >= lastAt) onSnapshot(board);
        })
        .catch(function () { /* the stream's next snapshot will do */ });
    }, 50);
  }

  function onChange(data) {
    var c = obj(data);
    if (str(c.at) > lastAt) lastAt = str(c.at);
    history.push(c);
    if (history.length > 200) history = history.slice(-200);
    if (c.kind === 'level') {
      if (c.principle === 'overall') state.overall = c.level;
      else if (PRINCIPLES.indexOf(c.principle) >= 0) {
        state.principles = Object.assign({}, state.principles);
        state.principles[c.principle] = { level: c.level, reason: c.reason };
      }
      renderLevels();
      refreshSoon();
    }
    renderHistory();
  }

  function setLive(s) {
    if (live.getAttribute('data-state') === s) return;
    live.setAttribute('data-state', s);
    liveText.textContent = s === 'live' ? 'live' : s === 'reconnecting' ? 'reconnecting…' : 'connecting…';
  }

  var source = null;
  var retryMs = 1000;
  var retryTimer = 0;

  function received(handler) {
    return function (event) {
      lastData = Date.now();
      retryMs = 1000;
      setLive('live');
      var data;
      try { data = JSON.parse(event.data); } catch (e) { return; }
      handler(data);
      checkStale();
    };
  }

  function connect() {
    clearTimeout(retryTimer);
    if (source !== null) source.close();
    source = new EventSource('/andon/stream');
    source.addEventListener('snapshot', received(onSnapshot));
    source.addEventListener('change', received(onChange));
    source.addEventListener('error', function () {
      setLive('reconnecting');
      // The browser retries by itself after a dropped stream; after a refused one (an HTTP error
      // status) it gives up, so the page tries again, backing off to 10 s.
      if (source !== null && source.readyState === EventSource.CLOSED) {
        clearTimeout(retryTimer);
        retryTimer = setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 10000);
      }
    });
  }

  function checkStale() {
    var stale = lastData > 0 && Date.now() - lastData > STALE_AFTER_MS;
    if (stale) {
      staleNote.textContent = 'No live data since ' + clock(new Date(lastData).toISOString()) +
        ' — showing the last known board; reconnecting…';
    }
    boardEl.setAttribute('data-stale', String(stale));
  }

  setInterval(function () {
    // Snapshots come every second: a silent stream that still looks open is dead; start again.
    if (source !== null && source.readyState === EventSource.OPEN && lastData > 0 &&
        Date.now() - lastData > WATCHDOG_MS) {
      setLive('reconnecting');
      connect();
    }
    if (lastData > 0 && Date.now() - lastData > STALE_AFTER_MS) setLive('reconnecting');
    checkStale();
  }, 1000);

  setLive('connecting');
  connect();
})();
`;

/**
 * The service's home page: a live Andon board for a wall screen (GET /andon/stream), then what the
 * service is and how to call it. One self-contained document: inline CSS and JS, no external
 * assets. Without JavaScript only the documentation shows.
 */
const MARK_JS = "document.documentElement.className = 'js';";

const sha256 = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/**
 * The page's Content-Security-Policy: its own two inline scripts and its stylesheet by hash,
 * nothing else loaded, the live board's stream from this origin only, no framing.
 */
export const PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(MARK_JS)} ${sha256(SCRIPT)}`,
  `style-src ${sha256(STYLE)}`,
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
<script>${MARK_JS}</script>
<style>${STYLE}</style>
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
<script>${SCRIPT}</script>
</body>
</html>
`;
}
