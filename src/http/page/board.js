/// <reference lib="dom" />
/**
 * The live board's client: renders each `snapshot` of GET /andon/stream, applies each `change` at
 * once, and reconnects by itself. Data only ever reaches the page through textContent and
 * attributes.
 *
 * The page carries this file inline, byte for byte, as a classic script that the CSP allows by its
 * hash: hence the function around it and its own 'use strict'. Checked JavaScript rather than
 * TypeScript, so that what the typecheck and the lint see is exactly what the browser runs.
 */

/** @typedef {'GREEN' | 'YELLOW' | 'RED'} Light */
/** @typedef {Light | 'UNKNOWN'} Level */
/** @typedef {Record<string, unknown>} Fields */
/** @typedef {(f: Fields, light: Fields) => HTMLElement[]} Figures */

(() => {
  // biome-ignore lint/suspicious/noRedundantUseStrict: a classic script, not a module, so not strict by itself.
  'use strict';
  /** @type {Readonly<Record<Light, number>>} */
  var LEVELS = { GREEN: 0, YELLOW: 1, RED: 2 };
  /** @type {Readonly<Record<string, string>>} */
  var NAMES = {
    jidoka: 'Jidoka',
    kanban: 'Kanban',
    andon: 'Andon',
    kaizen: 'Kaizen',
    heijunka: 'Heijunka',
    tracing: 'Tracing',
    overall: 'Overall',
  };
  var PRINCIPLES = ['jidoka', 'kanban', 'andon', 'kaizen', 'heijunka', 'tracing'];
  /** @type {Readonly<Record<string, string>>} */
  var CIRCUIT_WORDS = { Closed: 'closed', HalfOpen: 'HALF-OPEN', Open: 'OPEN' };
  /** @type {Readonly<Record<Level, string>>} */
  var ICON = { GREEN: '#17753a', YELLOW: '#f2c21b', RED: '#c4201b', UNKNOWN: '#3a4150' };
  var HISTORY_ROWS = 15;
  var STALE_AFTER_MS = 3500;
  var WATCHDOG_MS = 5000;

  /** @param {object} o @param {string} k */
  function has(o, k) {
    // biome-ignore lint/suspicious/noPrototypeBuiltins: Object.hasOwn is ES2022; the board asks for no more than ES2020.
    return Object.prototype.hasOwnProperty.call(o, k);
  }
  /** @param {string} id */
  function byId(id) {
    var e = document.getElementById(id);
    if (e === null) throw new Error(`the page has no #${id}`);
    return e;
  }
  /** @param {ParentNode} root @param {string} selector */
  function find(root, selector) {
    var e = root.querySelector(selector);
    if (e === null) throw new Error(`no ${selector} on the page`);
    return e;
  }

  var boardEl = byId('board');
  var banner = byId('banner');
  var bannerLevel = byId('banner-level');
  var bannerText = byId('banner-text');
  var staleNote = byId('stale-note');
  var live = byId('live');
  var liveText = byId('live-text');
  var updated = byId('updated');
  var historyList = byId('history');
  var historyEmpty = byId('history-empty');
  var icon = byId('icon');
  /** @type {Record<string, Element | null>} */
  var tiles = {};
  PRINCIPLES.forEach((p) => {
    tiles[p] = document.querySelector(`.tile[data-principle="${p}"]`);
  });

  /** @type {{ overall: unknown, principles: Fields, figures: unknown }} */
  var state = { overall: 'UNKNOWN', principles: {}, figures: null };
  /** @type {Fields[]} */
  var history = [];
  /**
   * When each history row was first shown: rows newer than FRESH_MS stand out.
   * @type {Map<string, number> | null}
   */
  var firstSeen = null;
  var FRESH_MS = 6000;
  var lastData = 0;
  var lastAt = '';

  /** @param {unknown} x @returns {Level} */
  function level(x) {
    return typeof x === 'string' && has(LEVELS, x) ? /** @type {Light} */ (x) : 'UNKNOWN';
  }
  /** @param {unknown} x @returns {Fields} */
  function obj(x) {
    return x !== null && typeof x === 'object' && !Array.isArray(x) ? /** @type {Fields} */ (x) : {};
  }
  /** @param {unknown} x */
  function str(x) {
    return x === undefined || x === null ? '' : String(x);
  }
  /** @param {unknown} x */
  function num(x) {
    return typeof x === 'number' && Number.isFinite(x) ? x : null;
  }
  /** @param {unknown} x @param {number} digits */
  function fixed(x, digits) {
    var n = num(x);
    return n === null ? '—' : n.toFixed(digits);
  }
  /**
   * Three significant figures or so: 0.42, 9.9, 312, 1235.
   * @param {unknown} x
   */
  function short(x) {
    var n = num(x);
    if (n === null) return '—';
    var a = Math.abs(n);
    return n.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : a === 0 ? 0 : 2);
  }
  /** @param {unknown} x */
  function int(x) {
    var n = num(x);
    return n === null ? '—' : String(Math.round(n));
  }
  /** @param {number} n */
  function pad(n) {
    return n < 10 ? `0${n}` : String(n);
  }
  /** @param {unknown} iso */
  function clock(iso) {
    var d = new Date(str(iso));
    if (Number.isNaN(d.getTime())) return '—';
    return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  }
  /** @param {string} tag @param {string} [cls] @param {string} [text] */
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  /** @param {string} value @param {string} unit @param {string} label */
  function stat(value, unit, label) {
    var s = el('div', 'stat');
    var v = el('span', 'stat-value', value);
    if (unit) v.appendChild(el('small', '', unit));
    s.appendChild(v);
    s.appendChild(el('span', 'stat-label', label));
    return s;
  }
  /** @param {HTMLElement[]} items */
  function stats(items) {
    var row = el('div', 'stats');
    items.forEach((i) => {
      row.appendChild(i);
    });
    return row;
  }
  /** @param {unknown} value @param {unknown} max @param {string} label */
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
    fill.style.width = `${v > 0 ? Math.max(pct, 1.5) : 0}%`;
    b.appendChild(fill);
    return b;
  }
  /** @param {[string, string][]} parts */
  function meta(parts) {
    var p = el('div', 'meta');
    parts.forEach((part, i) => {
      if (i > 0) p.appendChild(document.createTextNode(' · '));
      p.appendChild(document.createTextNode(`${part[0]} `));
      p.appendChild(el('b', '', part[1]));
    });
    return p;
  }

  /** @type {Record<string, Figures>} */
  var FIGURES = {
    jidoka: (f) => {
      var circuits = obj(f.circuits);
      var names = Object.keys(circuits).sort();
      var list = el('ul', 'circuits');
      names.forEach((name) => {
        var s = str(circuits[name]);
        var li = el('li', 'circuit');
        li.setAttribute('data-state', has(CIRCUIT_WORDS, s) ? s : 'other');
        li.appendChild(el('span', 'name', name)).title = name;
        li.appendChild(el('span', 'state', CIRCUIT_WORDS[s] || s));
        list.appendChild(li);
      });
      if (names.length === 0) return [el('div', 'meta', 'no signal types registered')];
      return [list];
    },
    kanban: (f) => {
      var path = str(f.active_path);
      var backend = str(f.backend);
      return [
        stats([stat(int(f.depth), `/ ${int(f.capacity)}`, 'queued / capacity')]),
        bar(f.depth, f.capacity, 'queue depth'),
        meta([
          ['DLQ', int(f.dlq)],
          ['in flight', int(f.in_flight)],
          ['backend', path && path !== backend ? `${backend} → ${path}` : backend || '—'],
        ]),
      ];
    },
    andon: (f) => [stats([stat(fixed(f.error_rate_1m, 2), '%', 'errors, last minute')])],
    kaizen: (f) => {
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
    heijunka: (f) => {
      /** @type {unknown[]} */
      var workers = Array.isArray(f.workers) ? f.workers : [];
      var list = el('div', 'workers');
      var shown = workers.slice(0, 6);
      list.setAttribute('data-many', String(workers.length > 5));
      shown.forEach((item) => {
        var w = obj(item);
        var row = el('div', 'worker');
        var s = str(w.state);
        var running = s === '' || s === 'running';
        row.setAttribute('data-running', String(running));
        var name = el('span', 'name', str(w.id));
        name.title = str(w.id) + (s === '' ? '' : ` (${s})`);
        row.appendChild(name);
        row.appendChild(bar(w.in_use, w.cards, `cards in use, ${str(w.id)}`));
        row.appendChild(el('span', 'count', running ? `${int(w.in_use)}/${int(w.cards)}` : s.toUpperCase()));
        list.appendChild(row);
      });
      var out = [list];
      if (workers.length > shown.length)
        out.push(el('div', 'meta', `+ ${workers.length - shown.length} more`));
      var util = num(f.pool_utilization);
      out.push(
        meta([
          ['balance', fixed(f.balance_coefficient, 2)],
          ['cards in use', util === null ? '—' : `${(util * 100).toFixed(0)} %`],
        ]),
      );
      return out;
    },
    tracing: (f, light) => {
      var out = [stats([stat(f.exporting === true ? 'exporting' : 'ids only', '', 'spans')])];
      // The detail is the tile's reason when all is well; shown again only when it says more.
      if (str(f.detail) !== '' && str(f.detail) !== str(light.reason))
        out.push(el('div', 'meta', str(f.detail)));
      return out;
    },
  };

  /** @param {Element} node @param {Level} lv */
  function setLevel(node, lv) {
    if (node.getAttribute('data-level') !== lv) node.setAttribute('data-level', lv);
  }

  function renderLevels() {
    /** @type {[number, string | undefined, string][]} */
    var attention = [];
    PRINCIPLES.forEach((p) => {
      var light = obj(state.principles[p]);
      var lv = level(light.level);
      var tile = tiles[p];
      if (!tile) return;
      setLevel(tile, lv);
      find(tile, '.level-word').textContent = lv === 'UNKNOWN' ? '—' : lv;
      find(tile, '.reason').textContent = str(light.reason) || '—';
      if (lv === 'YELLOW' || lv === 'RED') attention.push([LEVELS[lv], NAMES[p], str(light.reason)]);
    });
    var overall = level(state.overall);
    setLevel(banner, overall);
    bannerLevel.textContent = overall === 'UNKNOWN' ? '—' : overall;
    attention.sort((a, b) => b[0] - a[0]);
    var text;
    if (overall === 'UNKNOWN') text = 'Waiting for the board…';
    else if (attention.length === 0) text = 'All six principles green: the line is running.';
    else {
      // One or two: what is wrong. More: which tiles to look at, worst first.
      text =
        (overall === 'RED' ? 'Action needed — ' : 'Attention — ') +
        attention
          .map((a) => (attention.length <= 2 ? `${a[1]}: ${a[2]}` : a[1]))
          .join(attention.length <= 2 ? ' · ' : ', ');
    }
    bannerText.textContent = text;
    icon.setAttribute(
      'href',
      `data:image/svg+xml,${encodeURIComponent(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="' +
          ICON[overall] +
          '"/></svg>',
      )}`,
    );
    document.title = (overall === 'UNKNOWN' ? '' : `${overall} · `) + document.body.getAttribute('data-name');
  }

  function renderFigures() {
    var figures = obj(state.figures);
    PRINCIPLES.forEach((p) => {
      var tile = tiles[p];
      if (!tile) return;
      var box = find(tile, '.figures');
      /** @type {HTMLElement[]} */
      var nodes;
      try {
        nodes = /** @type {Figures} */ (FIGURES[p])(obj(figures[p]), obj(state.principles[p]));
      } catch {
        nodes = [];
      }
      box.replaceChildren.apply(box, nodes);
    });
  }

  /** @param {Fields} c */
  function key(c) {
    return [c.at, c.kind, c.principle, c.level, c.previous, c.reason].join('|');
  }

  function renderHistory() {
    var rows = history.slice(-HISTORY_ROWS).reverse();
    var now = Date.now();
    /** @type {Map<string, number>} */
    var next = new Map();
    var items = rows.map((c) => {
      var k = key(c);
      var lv = level(c.level);
      var li = el('li');
      li.setAttribute('data-principle', str(c.principle));
      li.setAttribute('data-level', lv);
      li.setAttribute('data-kind', str(c.kind));
      // Rows already there when the page opened are not news.
      var since = firstSeen === null ? 0 : (firstSeen.get(k) ?? now);
      next.set(k, since);
      if (now - since < FRESH_MS) li.className = 'fresh';
      var t = el('time', '', clock(c.at));
      t.setAttribute('datetime', str(c.at));
      li.appendChild(t);
      var who = el('span', 'who', NAMES[str(c.principle)] || str(c.principle));
      if (c.kind === 'alert') who.appendChild(el('span', 'kind', ' alert'));
      li.appendChild(who);
      var chip = el('span', 'chip');
      chip.setAttribute('data-level', lv);
      chip.appendChild(el('span', 'mark'));
      chip.appendChild(document.createTextNode(lv === 'UNKNOWN' ? str(c.level) : lv));
      li.appendChild(chip);
      var from = level(c.previous);
      li.appendChild(
        el(
          'span',
          'what',
          (c.kind === 'level' && from !== 'UNKNOWN' ? `was ${from} · ` : '') + str(c.reason),
        ),
      );
      return li;
    });
    firstSeen = next;
    historyList.replaceChildren.apply(historyList, items);
    historyEmpty.hidden = items.length > 0;
  }

  /** @param {unknown} data */
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
    window.clearTimeout(refreshTimer);
    refreshTimer = window.setTimeout(() => {
      fetch('/andon', { cache: 'no-store', headers: { accept: 'application/json' } })
        .then((res) => (res.ok ? res.json() : null))
        .then((board) => {
          if (board !== null && str(obj(board).at) >= lastAt) onSnapshot(board);
        })
        .catch(() => {
          /* the stream's next snapshot will do */
        });
    }, 50);
  }

  /** @param {unknown} data */
  function onChange(data) {
    var c = obj(data);
    if (str(c.at) > lastAt) lastAt = str(c.at);
    history.push(c);
    if (history.length > 200) history = history.slice(-200);
    if (c.kind === 'level') {
      if (c.principle === 'overall') state.overall = c.level;
      else if (typeof c.principle === 'string' && PRINCIPLES.indexOf(c.principle) >= 0) {
        state.principles = Object.assign({}, state.principles);
        state.principles[c.principle] = { level: c.level, reason: c.reason };
      }
      renderLevels();
      refreshSoon();
    }
    renderHistory();
  }

  /** @param {string} s */
  function setLive(s) {
    if (live.getAttribute('data-state') === s) return;
    live.setAttribute('data-state', s);
    liveText.textContent = s === 'live' ? 'live' : s === 'reconnecting' ? 'reconnecting…' : 'connecting…';
  }

  /** @type {EventSource | null} */
  var source = null;
  var retryMs = 1000;
  var retryTimer = 0;

  /** @param {(data: unknown) => void} handler */
  function received(handler) {
    return (/** @type {MessageEvent} */ event) => {
      lastData = Date.now();
      retryMs = 1000;
      setLive('live');
      var data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      handler(data);
      checkStale();
    };
  }

  function connect() {
    window.clearTimeout(retryTimer);
    if (source !== null) source.close();
    source = new EventSource('/andon/stream');
    source.addEventListener('snapshot', received(onSnapshot));
    source.addEventListener('change', received(onChange));
    source.addEventListener('error', () => {
      setLive('reconnecting');
      // The browser retries by itself after a dropped stream; after a refused one (an HTTP error
      // status) it gives up, so the page tries again, backing off to 10 s.
      if (source !== null && source.readyState === EventSource.CLOSED) {
        window.clearTimeout(retryTimer);
        retryTimer = window.setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 10000);
      }
    });
  }

  function checkStale() {
    var stale = lastData > 0 && Date.now() - lastData > STALE_AFTER_MS;
    if (stale) {
      staleNote.textContent =
        'No live data since ' +
        clock(new Date(lastData).toISOString()) +
        ' — showing the last known board; reconnecting…';
    }
    boardEl.setAttribute('data-stale', String(stale));
  }

  window.setInterval(() => {
    // Snapshots come every second: a silent stream that still looks open is dead; start again.
    if (
      source !== null &&
      source.readyState === EventSource.OPEN &&
      lastData > 0 &&
      Date.now() - lastData > WATCHDOG_MS
    ) {
      setLive('reconnecting');
      connect();
    }
    if (lastData > 0 && Date.now() - lastData > STALE_AFTER_MS) setLive('reconnecting');
    checkStale();
  }, 1000);

  setLive('connecting');
  connect();
})();
