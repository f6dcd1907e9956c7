// The console's charts (served as /console/charts.js, after console.js and uPlot): per instance
// (ops/s, memory against maxmemory, clients), per cluster (ops/s, memory and clients summed over
// its instances, replica offset lag per group) and per host (CPU, memory). Each view is one or two
// /api/v1/query calls with a `step` picked from the time range, so a 24 h chart is one request of
// a few hundred buckets whichever store answers. uPlot (https://github.com/leeoniya/uPlot, MIT)
// draws them; it is served by the collector from node_modules, never from a CDN.
// Kept free of backticks and "${" so it can live in this template string verbatim.
export const CHARTS_JS = String.raw`(function () {
  'use strict';
  var rf = window.redisFleet;
  if (!rf || !window.uPlot) return;
  var el = rf.el;
  // [range, step]: about 290-720 buckets per series, fine for a phone and a wide screen alike. Steps of
  // whole 5 minutes (24h, 7d) are answered from the embedded store's 5-minute rollups (docs/benchmarks.md).
  var RANGES = { '1h': [3600000, 10000], '6h': [21600000, 60000], '24h': [86400000, 300000], '7d': [604800000, 900000] };
  var STATE_KEY = 'redis-fleet.chart';
  var REFRESH_MS = 30000;
  var HEIGHT = 170;
  var COLORS = ['#1f6fd1', '#d1481f', '#2a9d4b', '#8e44ad', '#c28f00', '#16a0a0', '#6b6b6b', '#e0529c'];
  var state = load();
  var targets = { instance: [], cluster: [], host: [] };
  var plots = [];
  var generation = 0;
  var timer = null;
  var started = false;
  rf.charts = plots;

  function $(id) { return document.getElementById(id); }
  function load() {
    try { var s = JSON.parse(sessionStorage.getItem(STATE_KEY) || 'null'); if (s && RANGES[s.range]) return s; } catch (e) { /* none */ }
    return { kind: 'instance', key: '', range: '1h' };
  }
  function save() { try { sessionStorage.setItem(STATE_KEY, JSON.stringify(state)); } catch (e) { /* storage off */ } }

  function compact(v) {
    if (v === null || v === undefined || !isFinite(v)) return '—';
    var a = Math.abs(v);
    if (a >= 1e9) return (v / 1e9).toFixed(a >= 1e10 ? 0 : 1) + 'G';
    if (a >= 1e6) return (v / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
    if (a >= 1e3) return (v / 1e3).toFixed(a >= 1e4 ? 0 : 1) + 'k';
    return String(Math.round(v * 10) / 10);
  }
  var UNITS = {
    count: compact,
    bytes: function (v) { return v === null || v === undefined ? '—' : rf.bytes(v); },
    pct: function (v) { return v === null || v === undefined || !isFinite(v) ? '—' : v.toFixed(0) + '%'; },
  };

  // ---------- views: which queries, which charts ----------
  function num(f) { return function (p) { var v = p.fields[f]; return typeof v === 'number' ? v : null; }; }
  function views(kind, key) {
    if (kind === 'instance') {
      var sp = key.indexOf(' ');
      return [{
        query: { measurement: 'redis', host: key.slice(0, sp), instance: key.slice(sp + 1), fields: 'ops_per_sec,used_memory,maxmemory,connected_clients' },
        charts: [
          { id: 'ops', title: 'ops/s', unit: 'count', lines: [{ label: 'ops/s', value: num('ops_per_sec') }] },
          { id: 'memory', title: 'memory used / maxmemory', unit: 'bytes', lines: [
            { label: 'used', value: num('used_memory') },
            { label: 'maxmemory', value: function (p) { var v = p.fields.maxmemory; return typeof v === 'number' && v > 0 ? v : null; } }] },
          { id: 'clients', title: 'connected clients', unit: 'count', lines: [{ label: 'clients', value: num('connected_clients') }] },
        ],
      }];
    }
    if (kind === 'cluster') {
      return [{
        query: { measurement: 'redis', cluster: key, fields: 'ops_per_sec,used_memory,connected_clients', sum: 'cluster' },
        charts: [
          { id: 'ops', title: 'ops/s (sum of its instances)', unit: 'count', lines: [{ label: 'ops/s', value: num('ops_per_sec') }] },
          { id: 'memory', title: 'memory used (sum)', unit: 'bytes', lines: [{ label: 'used', value: num('used_memory') }] },
          { id: 'clients', title: 'connected clients (sum)', unit: 'count', lines: [{ label: 'clients', value: num('connected_clients') }] },
        ],
      }, {
        query: { measurement: 'redis_repl_offset', cluster: key, fields: 'diff_bytes', agg: 'max' },
        charts: [{ id: 'repl', title: 'replica offset lag per group (master − replica, worst replica)', unit: 'bytes', splitBy: 'group', combine: 'max',
          lines: [{ label: 'group', value: num('diff_bytes') }] }],
      }];
    }
    return [{
      query: { measurement: 'host', host: key, fields: 'cpu_percent,load1,mem_total_bytes,mem_available_bytes' },
      charts: [
        { id: 'cpu', title: 'CPU busy', unit: 'pct', lines: [{ label: 'CPU %', value: num('cpu_percent') }] },
        { id: 'memory', title: 'memory used / total', unit: 'bytes', lines: [
          { label: 'used', value: function (p) { var t = p.fields.mem_total_bytes, a = p.fields.mem_available_bytes; return typeof t === 'number' && typeof a === 'number' ? t - a : null; } },
          { label: 'total', value: num('mem_total_bytes') }] },
        { id: 'load', title: 'load average (1 min)', unit: 'count', lines: [{ label: 'load1', value: num('load1') }] },
      ],
    }];
  }

  // Points (one or more series, bucket times) → uPlot's columns: x in seconds, one array per line.
  // Several series at one time (an instance whose role changed, the replicas of a group) combine
  // by mean, or by max for a lag.
  function columns(chart, points) {
    var lines = [];
    var byKey = {};
    var times = {};
    points.forEach(function (p) {
      chart.lines.forEach(function (line, n) {
        var v = line.value(p);
        if (v === null) return;
        var label = chart.splitBy ? line.label + ' ' + (p.tags[chart.splitBy] || '?') : line.label;
        var key = n + '\u0000' + label;
        var l = byKey[key];
        if (!l) { l = byKey[key] = { label: label, at: {} }; lines.push(l); }
        var cur = l.at[p.time];
        if (!cur) l.at[p.time] = [v, 1];
        else if (chart.combine === 'max') cur[0] = Math.max(cur[0], v);
        else { cur[0] += v; cur[1]++; }
        times[p.time] = true;
      });
    });
    if (chart.splitBy) lines.sort(function (a, b) { return a.label.localeCompare(b.label, undefined, { numeric: true }); });
    var xs = Object.keys(times).map(Number).sort(function (a, b) { return a - b; });
    var data = [xs.map(function (t) { return t / 1000; })];
    lines.forEach(function (l) {
      data.push(xs.map(function (t) { var c = l.at[t]; return c ? c[0] / (chart.combine === 'max' ? 1 : c[1]) : null; }));
    });
    return { labels: lines.map(function (l) { return l.label; }), data: data };
  }

  // ---------- drawing ----------
  function width(box) { return Math.max(200, Math.floor(box.clientWidth)); }
  function draw(chart, cols) {
    var box = $('chart-' + chart.id);
    var fmt = UNITS[chart.unit];
    var old = plots.filter(function (p) { return p.id === chart.id; })[0];
    var points = 0;
    cols.data.slice(1).forEach(function (ys) { ys.forEach(function (v) { if (v !== null) points++; }); });
    box.setAttribute('data-points', String(points));
    box.setAttribute('data-series', String(cols.labels.length));
    var sameShape = old && old.labels.join('\u0000') === cols.labels.join('\u0000');
    if (sameShape && points) { old.plot.setData(cols.data); return; }
    if (old) { old.plot.destroy(); plots.splice(plots.indexOf(old), 1); }
    var area = box.querySelector('.plot');
    area.replaceChildren();
    if (!points) { area.appendChild(el('p', { class: 'muted empty', text: 'No data in this range.' })); return; }
    var opts = {
      width: width(area), height: HEIGHT,
      scales: { x: { time: true } },
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      series: [{}].concat(cols.labels.map(function (label, i) {
        return { label: label, stroke: COLORS[i % COLORS.length], width: 1.5, value: function (u, v) { return fmt(v); } };
      })),
      axes: [{ stroke: '#66707c', grid: { stroke: '#eceef1' } }, { stroke: '#66707c', grid: { stroke: '#eceef1' }, size: 76, values: function (u, vals) { return vals.map(fmt); } }],
    };
    plots.push({ id: chart.id, labels: cols.labels, plot: new window.uPlot(opts, cols.data, area) });
  }

  function layout(list) {
    plots.splice(0).forEach(function (p) { p.plot.destroy(); });
    rf.replace('charts', list.map(function (c) {
      return el('figure', { class: 'chart', id: 'chart-' + c.id, 'data-chart': c.id, 'data-points': '0' },
        el('figcaption', { text: c.title }), el('div', { class: 'plot' }, el('p', { class: 'muted empty', text: 'loading…' })));
    }));
  }

  // ---------- loading ----------
  function refresh(relayout) {
    clearTimeout(timer);
    var mine = ++generation;
    if (!state.key) { layout([]); note('Pick an instance, a cluster or a host (or click one in the tables below).'); return; }
    var range = RANGES[state.range];
    var to = Date.now();
    var vs = views(state.kind, state.key);
    if (relayout) layout(vs.reduce(function (all, v) { return all.concat(v.charts); }, []));
    var notes = [];
    Promise.all(vs.map(function (v) {
      var q = new URLSearchParams(v.query);
      q.set('from', String(to - range[0]));
      q.set('to', String(to));
      q.set('step', String(range[1]));
      return rf.request('api/v1/query?' + q.toString()).then(function (r) {
        if (mine !== generation) return;
        if (!r.ok) { notes.push(v.query.measurement + ': ' + rf.apiError(r)); v.charts.forEach(function (c) { draw(c, { labels: [], data: [[]] }); }); return; }
        if (r.body.truncated) notes.push(v.query.measurement + ': only the first ' + r.body.points.length + ' buckets are shown; pick a shorter range');
        v.charts.forEach(function (c) { draw(c, columns(c, r.body.points)); });
      }, function (err) { if (mine === generation) notes.push('collector unreachable: ' + err.message); });
    })).then(function () {
      if (mine !== generation) return;
      note(notes.join(' · ') || 'step ' + Math.round(range[1] / 1000) + 's · ' + new Date(to).toLocaleTimeString());
      if (!document.hidden) timer = setTimeout(function () { refresh(false); }, REFRESH_MS);
    });
  }
  function note(t) { $('chart-note').textContent = t; }

  // ---------- controls ----------
  function fillTargets() {
    var sel = $('chart-target');
    var list = targets[state.kind];
    var want = list.map(function (t) { return t.key; }).join('\n');
    if (sel.getAttribute('data-list') !== want) {
      sel.setAttribute('data-list', want);
      sel.replaceChildren.apply(sel, list.map(function (t) { return el('option', { value: t.key, text: t.label }); }));
    }
    if (state.key && list.every(function (t) { return t.key !== state.key; })) sel.appendChild(el('option', { value: state.key, text: state.key }));
    sel.value = state.key;
  }
  function show(kind, key) {
    state.kind = kind;
    state.key = key;
    save();
    $('chart-kind').value = kind;
    fillTargets();
    refresh(true);
  }
  rf.showChart = function (kind, key) { show(kind, key); $('charts-section').scrollIntoView({ block: 'start' }); };

  rf.rendered.push(function (d) {
    var insts = (d.instances.ok && d.instances.body.instances) || [];
    var hosts = (d.hosts.ok && d.hosts.body.hosts) || [];
    targets.instance = insts.map(function (i) { return { key: i.host + ' ' + i.address, label: i.address + ' (' + i.host + (i.role ? ', ' + i.role : '') + ')' }; });
    var clusters = {};
    insts.forEach(function (i) { if (i.cluster) clusters[i.cluster] = true; });
    targets.cluster = Object.keys(clusters).sort().map(function (c) { return { key: c, label: c }; });
    targets.host = hosts.map(function (x) { return { key: x.id, label: x.id }; });
    fillTargets();
    // The first poll that got through (so signed in) starts the charts.
    if (started) return;
    started = true;
    if (state.key) show(state.kind, state.key);
    else if (targets[state.kind].length) show(state.kind, targets[state.kind][0].key);
    else refresh(true);
  });

  function wire() {
    $('chart-kind').value = state.kind;
    $('chart-kind').addEventListener('change', function (ev) {
      state.kind = ev.target.value;
      state.key = targets[state.kind].length ? targets[state.kind][0].key : '';
      show(state.kind, state.key);
    });
    $('chart-target').addEventListener('change', function (ev) { show(state.kind, ev.target.value); });
    Array.prototype.forEach.call(document.querySelectorAll('#chart-ranges button'), function (b) {
      b.setAttribute('aria-pressed', String(b.value === state.range));
      b.addEventListener('click', function () {
        state.range = b.value;
        save();
        Array.prototype.forEach.call(document.querySelectorAll('#chart-ranges button'), function (x) { x.setAttribute('aria-pressed', String(x === b)); });
        refresh(false);
      });
    });
    var resizing = null;
    window.addEventListener('resize', function () {
      clearTimeout(resizing);
      resizing = setTimeout(function () {
        plots.forEach(function (p) { var area = $('chart-' + p.id).querySelector('.plot'); p.plot.setSize({ width: width(area), height: HEIGHT }); });
      }, 100);
    });
    document.addEventListener('visibilitychange', function () { if (!document.hidden && state.key) refresh(false); });
  }

  wire();
})();
`;
