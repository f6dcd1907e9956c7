// The console's script (served as /console/console.js): polls the collector's JSON API and
// renders it. Every API value becomes a text node or an attribute value set through the DOM,
// never HTML. API paths are relative to the page, so the console also works behind a reverse
// proxy that mounts the collector under a path prefix (and forwards its auth cookies/headers).
// The API token is asked for once and kept in sessionStorage (this tab, until it is closed);
// a link ending in #token=<token> signs in and the token is removed from the address bar.
// Kept free of backticks and "${" so it can live in this template string verbatim.
export const CONSOLE_JS = String.raw`(function () {
  'use strict';
  var base = new URL('../', document.currentScript.src);
  var query = new URLSearchParams(location.search);
  var refreshMs = Math.max(1000, Number(query.get('refresh')) || 5000);
  var OPERATOR_KEY = 'redis-fleet.operator';
  var TOKEN_KEY = 'redis-fleet.token';
  var signingIn = false;
  var last = { ok: 0, data: null, error: null, failingSince: 0 };
  var timer = null;
  var generation = 0;
  var REQUEST_TIMEOUT_MS = 10000;

  // ---------- helpers ----------
  function $(id) { return document.getElementById(id); }
  function el(tag, attrs) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = String(v);
      else if (k === 'class') e.className = String(v);
      else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (var i = 2; i < arguments.length; i++) append(e, arguments[i]);
    return e;
  }
  function append(e, c) {
    if (c === undefined || c === null || c === false) return;
    if (Array.isArray(c)) { c.forEach(function (x) { append(e, x); }); return; }
    e.appendChild(typeof c === 'object' ? c : document.createTextNode(String(c)));
  }
  function replace(id) { var box = $(id); box.replaceChildren(); for (var i = 1; i < arguments.length; i++) append(box, arguments[i]); }
  function badge(v, cls) { return el('span', { class: 'badge ' + String(cls || v || '').replace(/[^a-z_-]/gi, ''), text: v || '—' }); }
  function bytes(n) {
    if (n === null || n === undefined || !isFinite(n)) return '—';
    var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'], i = 0, x = Math.abs(n);
    while (x >= 1024 && i < u.length - 1) { x /= 1024; i++; }
    return (n < 0 ? '-' : '') + (i === 0 ? String(x) : x.toFixed(x < 10 ? 2 : 1)) + ' ' + u[i];
  }
  function pct(r) { return r === null || r === undefined || !isFinite(r) ? '—' : (r * 100).toFixed(r < 0.1 ? 2 : 1) + '%'; }
  function fmt(n, d) { return n === null || n === undefined || !isFinite(n) ? '—' : Number(n).toFixed(d || 0); }
  function ago(iso) {
    if (!iso) return '—';
    var s = Math.round((Date.now() - Date.parse(iso)) / 1000);
    if (!isFinite(s)) return '—';
    if (s < 0) s = 0;
    if (s < 120) return s + 's ago';
    if (s < 7200) return Math.round(s / 60) + 'm ago';
    if (s < 172800) return Math.round(s / 3600) + 'h ago';
    return Math.round(s / 86400) + 'd ago';
  }
  function time(iso) { return iso ? el('time', { datetime: iso, title: iso, text: ago(iso) }) : '—'; }
  function labels(obj, keys) {
    var out = [];
    Object.keys(obj || {}).sort().forEach(function (k) { if (!keys || keys.indexOf(k) >= 0) out.push(k + '=' + obj[k]); });
    return out.join(' ');
  }
  function table(head, rows, empty) {
    if (!rows.length) return el('p', { class: 'muted', text: empty });
    return el('table', null,
      el('thead', null, el('tr', null, head.map(function (h) { return el('th', { class: /^#/.test(h) ? 'num' : null, text: h.replace(/^#/, '') }); }))),
      el('tbody', null, rows));
  }
  function td(v, cls) { return el('td', { class: cls }, v === '' || v === undefined || v === null ? '—' : v); }
  function num(v) { return td(v, 'num'); }

  // ---------- API token ----------
  function token() { try { return sessionStorage.getItem(TOKEN_KEY) || ''; } catch (e) { return ''; } }
  function setToken(t) { try { if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* storage off */ } }
  // #token=<t>: sign in with it, then drop it from the address bar (and so from the history).
  function tokenFromLink() {
    var m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (!m) return false;
    setToken(decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
    return true;
  }
  function signIn(why) {
    clearTimeout(timer);
    generation++;
    signingIn = true;
    $('who').textContent = 'not signed in';
    formError('token-error', why);
    var d = $('token-dialog');
    if (!d.open) d.showModal();
    $('token-form').elements.token.focus();
  }
  function whoami() {
    return request('api/v1/whoami').then(function (r) {
      if (r.ok && r.body) $('who').textContent = 'signed in as ' + r.body.name + ' (' + r.body.role + ')';
    }, function () { /* the poll reports it */ });
  }
  function signedIn() {
    signingIn = false;
    if ($('token-dialog').open) $('token-dialog').close();
    whoami();
    poll();
  }

  // ---------- API ----------
  function request(path, init) {
    init = init || {};
    var headers = { accept: 'application/json' };
    if (token()) headers.authorization = 'Bearer ' + token();
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    return fetch(new URL(path, base), { method: init.method || 'GET', headers: headers, body: init.body === undefined ? undefined : JSON.stringify(init.body), credentials: 'same-origin', cache: 'no-store', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
      .then(function (res) {
        return res.text().then(function (t) {
          var body = null;
          try { body = t ? JSON.parse(t) : null; } catch (e) { body = null; }
          return { status: res.status, ok: res.ok, body: body };
        });
      });
  }
  function apiError(r) {
    var why = (r.body && (r.body.message || r.body.error)) || ('HTTP ' + r.status);
    if (r.status === 403) return why + ' (sign in with a stronger token to do this)';
    return why;
  }

  var SOURCES = {
    health: 'healthz', hosts: 'api/v1/hosts', instances: 'api/v1/instances', alerts: 'api/v1/alerts',
    silences: 'api/v1/silences', guard: 'api/v1/guard', persistence: 'api/v1/persistence', capacity: 'api/v1/capacity',
  };

  // One poll loop: an immediate poll (after an action) supersedes the one in flight, whose
  // answer is then dropped so an older answer never overwrites a newer one.
  function poll() {
    clearTimeout(timer);
    var mine = ++generation;
    var names = Object.keys(SOURCES);
    return Promise.all(names.map(function (n) {
      return request(SOURCES[n]).then(function (r) { return r; }, function (err) { return { network: true, error: err }; });
    })).then(function (results) {
      if (mine !== generation) return;
      var denied = results.filter(function (r) { return r.status === 401; })[0];
      if (denied) { signIn(token() ? 'Token refused: ' + apiError(denied) : 'This collector needs an API token.'); return; }
      var data = {};
      var unreachable = null;
      names.forEach(function (n, i) {
        var r = results[i];
        if (r.network) unreachable = unreachable || String(r.error && r.error.message || r.error);
        else if (n === 'health' && !r.ok) unreachable = unreachable || ('healthz answered ' + apiError(r));
        data[n] = r;
      });
      if (unreachable) {
        if (!last.failingSince) last.failingSince = Date.now();
        last.error = unreachable;
      } else {
        last.ok = Date.now();
        last.error = null;
        last.failingSince = 0;
        last.data = data;
        render(data);
      }
      showStatus();
    }).catch(function (err) {
      if (mine !== generation) return;
      last.error = 'console error: ' + (err && err.message || err);
      if (!last.failingSince) last.failingSince = Date.now();
      showStatus();
    }).then(function () { if (mine === generation && !signingIn) timer = setTimeout(poll, refreshMs); });
  }

  function showStatus() {
    var b = $('banner');
    if (last.error) {
      b.hidden = false;
      b.replaceChildren(
        'Collector unreachable (' + last.error + ') since ' + new Date(last.failingSince).toLocaleTimeString() + '. ',
        last.ok ? 'Showing data from ' + Math.round((Date.now() - last.ok) / 1000) + 's ago; ' : 'No data yet; ',
        'retrying every ' + Math.round(refreshMs / 1000) + 's.');
      document.body.classList.add('stale');
    } else {
      b.hidden = true;
      b.replaceChildren();
      document.body.classList.remove('stale');
    }
    $('updated').textContent = last.ok ? 'updated ' + Math.max(0, Math.round((Date.now() - last.ok) / 1000)) + 's ago' : 'not updated yet';
  }

  // ---------- rendering ----------
  function section(r, id, what, fn) {
    if (r.status === 404) { replace(id, el('p', { class: 'muted', text: what + ' is not enabled on this collector.' })); return; }
    if (!r.ok) { replace(id, el('p', { class: 'form-error', text: what + ': ' + apiError(r) })); return; }
    try { fn(r.body); } catch (e) { replace(id, el('p', { class: 'form-error', text: what + ': cannot show (' + e.message + ')' })); }
  }

  function render(d) {
    var h = d.health.body || {};
    $('sink').textContent = 'store: ' + (h.sink === 'influx' ? 'InfluxDB' : h.sink === 'embedded' ? 'embedded' : String(h.sink || '?'));
    var hosts = (d.hosts.ok && d.hosts.body.hosts) || [];
    var insts = (d.instances.ok && d.instances.body.instances) || [];
    var alerts = (d.alerts.ok && d.alerts.body.alerts) || [];
    var fenced = d.guard.ok ? d.guard.body.fencedInstances : null;
    replace('summary',
      el('span', { text: 'hosts ' + hosts.filter(function (x) { return x.status === 'up'; }).length + '/' + hosts.length + ' up' }),
      el('span', { text: 'instances ' + insts.filter(function (x) { return x.status === 'up'; }).length + '/' + insts.length + ' up' }),
      el('span', { text: 'alerts firing ' + alerts.filter(function (a) { return a.state === 'firing'; }).length }),
      el('span', { text: 'fenced ' + (fenced === null ? '—' : fenced) }));
    section(d.alerts, 'alerts', 'Alerting', renderAlerts);
    section(d.hosts, 'hosts', 'Hosts', renderHosts);
    section(d.instances, 'instances', 'Instances', renderInstances);
    section(d.guard, 'guard', 'Guard', renderGuard);
    section(d.persistence, 'persistence', 'Persistence', renderPersistence);
    section(d.capacity, 'capacity', 'Capacity', renderCapacity);
    section(d.silences, 'silences', 'Silences', renderSilences);
    shared.rendered.forEach(function (fn) { fn(d); });
  }

  // A name that opens its charts (console/charts.js) when clicked.
  function chartLink(kind, key, label) {
    return el('button', { type: 'button', class: 'link', title: 'show charts', onclick: function () { if (shared.showChart) shared.showChart(kind, key); }, text: label });
  }

  function renderHosts(body) {
    replace('hosts', table(['host', 'status', 'roles', 'labels', 'last report', 'link', '#CPU', '#mem available', '#instances', 'agent'],
      body.hosts.map(function (x) {
        var hm = x.host || {};
        return el('tr', { 'data-host': x.id },
          td(chartLink('host', x.id, x.id)), td(badge(x.status)), td((x.roles || []).join(', ')), td(labels(x.labels), 'wrap'), td(time(x.lastReportAt)),
          td(x.connected ? 'connected' : 'disconnected'),
          num(hm.cpuCores ? fmt(hm.cpuPercent, 0) + '% of ' + hm.cpuCores : '—'),
          num(hm.memTotalBytes ? bytes(hm.memAvailableBytes) + ' / ' + bytes(hm.memTotalBytes) : '—'),
          num(x.instances), td(x.agentVersion ? 'v' + x.agentVersion : ''));
      }), 'No host has reported yet.'));
  }

  function replicationText(i) {
    var r = i.replication;
    if (!r) return '';
    if (i.role === 'slave') return 'master ' + (r.masterHost || '?') + ':' + (r.masterPort || '?') + ' link ' + (r.masterLinkStatus || '?');
    var n = (r.replicas || []).length;
    return n ? n + ' replica' + (n > 1 ? 's' : '') + ' (' + r.replicas.map(function (x) { return x.address + ' ' + x.state; }).join(', ') + ')' : 'no replica';
  }

  function renderInstances(body) {
    replace('instances', table(['host', 'address', 'role', 'status', 'cluster / group', '#used', '#limit', 'headroom', '#ops/s', '#clients', 'replication', 'error'],
      body.instances.map(function (i) {
        var hr = i.headroom;
        var head = hr ? [el('meter', { min: 0, max: 1, low: 0.75, high: 0.9, optimum: 0, value: hr.usedRatio, title: pct(hr.usedRatio) + ' used' }),
          ' ', bytes(Math.max(0, hr.limitBytes - hr.usedBytes)) + ' free (' + pct(hr.usedRatio) + ' used)'] : '';
        return el('tr', { 'data-instance': i.address, 'data-host': i.host },
          td(i.host), td(chartLink('instance', i.host + ' ' + i.address, i.address)), td(i.role ? badge(i.role) : ''), td(badge(i.status)),
          td(i.cluster ? [chartLink('cluster', i.cluster, i.cluster), i.group ? ' / ' + i.group : ''] : i.group),
          num(bytes(hr ? hr.usedBytes : i.usedMemory)),
          num(hr ? bytes(hr.limitBytes) + (hr.limitSource === 'host_memory' ? ' (host)' : ' (maxmemory)') : '—'),
          el('td', { class: 'headroom' }, head),
          num(fmt(i.opsPerSec, 0)), num(i.clients === null ? '—' : i.clients + (i.maxclients ? ' / ' + i.maxclients : '')),
          td(replicationText(i), 'wrap'), td(i.error, 'wrap'));
      }), 'No instance reported yet.'));
  }

  function renderAlerts(body) {
    var active = body.alerts.filter(function (a) { return a.state !== 'resolved'; });
    replace('alerts', table(['state', 'alert', 'severity', 'target', 'summary', 'since', '#value', 'status', 'ack', ''],
      active.map(function (a) {
        var l = a.labels || {};
        var st = a.status || {};
        var muted = st.state === 'suppressed'
          ? badge('suppressed' + ((st.silencedBy || []).length ? ' (silenced)' : '') + ((st.inhibitedBy || []).length ? ' (inhibited)' : ''), 'suppressed')
          : badge('active', 'active-ok');
        var ack = a.ack ? el('span', { title: a.ack.comment || '' , text: 'by ' + a.ack.by + ' ' + ago(a.ack.at) }) : '';
        return el('tr', { 'data-fingerprint': a.fingerprint, 'data-alertname': a.name },
          td(badge(a.state)), td(a.name), td(l.severity ? badge(l.severity) : ''),
          td([l.instance, l.host].filter(Boolean).join(' on ') || labels(l), 'wrap'),
          td((a.annotations && a.annotations.summary) || '', 'wrap'), td(time(a.startsAt || a.activeAt)),
          num(typeof a.value === 'number' ? fmt(a.value, a.value % 1 ? 2 : 0) : a.value), td(muted), td(ack),
          el('td', null,
            a.state === 'firing' && !a.acknowledged ? el('button', { type: 'button', class: 'ack', 'data-testid': 'ack', onclick: function () { openAck(a); }, text: 'Ack' }) : null,
            ' ', el('button', { type: 'button', class: 'silence', 'data-testid': 'silence', onclick: function () { openSilence(a); }, text: 'Silence' })));
      }), 'No active alert.'));
  }

  function renderSilences(list) {
    var shown = list.filter(function (s) { return s.status && s.status.state !== 'expired'; });
    replace('silences', table(['state', 'matchers', 'created by', 'comment', 'starts', 'ends', ''],
      shown.map(function (s) {
        return el('tr', { 'data-silence': s.id },
          td(badge(s.status.state, s.status.state === 'active' ? 'active-ok' : 'pending')),
          td((s.matchers || []).map(function (m) { return m.name + (m.isEqual === false ? '!' : '') + (m.isRegex ? '=~' : '=') + JSON.stringify(m.value); }).join(', '), 'wrap'),
          td(s.createdBy), td(s.comment, 'wrap'), td(s.startsAt), td(s.endsAt),
          el('td', null, el('button', { type: 'button', class: 'expire', onclick: function () { expireSilence(s); }, text: 'Expire' })));
      }), 'No active or pending silence.'));
  }

  function renderGuard(body) {
    var rows = [];
    var hostsLine = [];
    body.hosts.forEach(function (g) {
      hostsLine.push(g.host + ': ZooKeeper ' + (g.zookeeper && g.zookeeper.state || '?') + ', Sentinels ' + fmt(g.sentinels && g.sentinels.answeredLastRound) + '/' + fmt(g.sentinels && g.sentinels.total));
      g.instances.filter(function (i) { return i.fenced; }).forEach(function (i) {
        rows.push(el('tr', { 'data-instance': i.address, 'data-host': g.host },
          td(g.host), td(i.address), td(badge(i.phase, 'fenced')), td(time(i.fence && i.fence.since)), td(i.fence && i.fence.reason, 'wrap'),
          td(i.fence && i.fence.mode), td(i.waitingFor, 'wrap')));
      });
    });
    replace('guard',
      el('p', { class: 'muted', text: body.hosts.length ? hostsLine.join(' · ') : 'No host runs sentinel-guard.' }),
      body.hosts.length ? table(['host', 'instance', 'phase', 'fenced since', 'reason', 'mode', 'waiting for'], rows, 'No instance is fenced.') : null);
  }

  function renderPersistence(body) {
    replace('persistence', table(['host', 'status', 'fork token', 'queue', '#forks running', '#MemAvailable', 'managed', 'admission blocked', 'reported'],
      body.hosts.map(function (p) {
        var managed = p.instances.filter(function (i) { return i.management === 'managed'; }).length;
        var blocked = p.instances.filter(function (i) { return i.admissionBlocked; }).map(function (i) { return i.address; });
        return el('tr', { 'data-host': p.host },
          td(p.host), td(badge(p.status)),
          td(p.token ? p.token.instance + ' (' + (p.token.kind || '?') + (p.token.pending ? ', pending' : '') + ')' : 'free'),
          td(p.queue.length ? p.queue.map(function (q, n) { return (n + 1) + '. ' + q.kind + ' ' + q.instance; }).join('  ') : 'empty', 'wrap'),
          num(p.forksRunning), num(bytes(p.memAvailableBytes)), td(managed + ' / ' + p.instances.length),
          td(blocked.join(', ') || 'none', 'wrap'), td(time(p.reportedAt)));
      }), 'No host runs the persistence scheduler.'));
  }

  function capRow(name, c, cls) {
    return el('tr', { class: cls, 'data-host': cls ? null : name },
      td(name), td(c.roles ? c.roles.join(', ') : ''), td(c.labels ? labels(c.labels, ['idc', 'city', 'env', 'module', 'storage']) : '', 'wrap'),
      td(c.fresh === undefined ? c.freshHosts + '/' + c.hosts + ' fresh' : c.fresh ? 'fresh' : 'stale'),
      num(c.cpu ? fmt(c.cpu.cores) + ' (' + fmt(c.cpu.usagePercent) + '%)' : fmt(c.cpuCores)),
      num(bytes(c.memory ? c.memory.totalBytes : c.memTotalBytes)), num(bytes(c.memory ? c.memory.availableBytes : c.memAvailableBytes)),
      num(bytes(c.memory ? c.memory.maxmemoryReservedBytes : c.maxmemoryReservedBytes)), num(bytes(c.memory ? c.memory.heldBytes : c.heldMemoryBytes)),
      num(c.disk ? bytes(c.disk.freeBytes) + ' / ' + bytes(c.disk.totalBytes) : bytes(c.diskFreeBytes) + ' / ' + bytes(c.diskTotalBytes)),
      num(c.instances ? c.instances.running + ' / ' + c.instances.slots : c.runningInstances + ' / ' + c.instanceSlots),
      num(c.instances ? c.instances.idle : c.idleInstances), num(c.instances ? c.instances.freeSlots : c.freeSlots));
  }

  function renderCapacity(body) {
    var rows = body.hosts.map(function (c) { return capRow(c.id, c); });
    if (body.hosts.length) {
      Object.keys(body.totals.idc || {}).forEach(function (k) { rows.push(capRow('idc ' + k, body.totals.idc[k], 'total')); });
      rows.push(capRow('all', body.totals.all, 'total'));
    }
    replace('capacity', table(['host', 'roles', 'labels', 'fresh', '#CPU', '#memory', '#available', '#reserved (maxmemory)', '#held', '#disk free', '#instances / slots', '#idle', '#free slots'],
      rows, 'No host in the capacity table yet.'));
  }

  // ---------- actions ----------
  function operator() { try { return localStorage.getItem(OPERATOR_KEY) || ''; } catch (e) { return ''; } }
  function remember(name) { try { localStorage.setItem(OPERATOR_KEY, name); } catch (e) { /* private mode */ } }
  function formError(id, msg) { var p = $(id); p.hidden = !msg; p.textContent = msg || ''; }

  var ackFor = null;
  function openAck(a) {
    ackFor = a;
    var f = $('ack-form');
    $('ack-name').textContent = a.name;
    $('ack-target').textContent = labels(a.labels);
    f.elements.by.value = operator();
    f.elements.comment.value = '';
    formError('ack-error', '');
    $('ack-dialog').showModal();
    (f.elements.by.value ? f.elements.comment : f.elements.by).focus();
  }

  var silenceFor = null;
  function openSilence(a) {
    silenceFor = a;
    var f = $('silence-form');
    var l = a.labels || {};
    var pick = ['alertname', 'instance', 'host'].filter(function (k) { return l[k] !== undefined; });
    replace('silence-matchers', Object.keys(l).sort().map(function (k) {
      return el('label', { class: 'matcher' }, el('input', { type: 'checkbox', name: 'matcher', value: k, checked: pick.indexOf(k) >= 0 }), k + '=' + JSON.stringify(l[k]));
    }));
    f.elements.createdBy.value = operator();
    f.elements.comment.value = '';
    formError('silence-error', '');
    $('silence-dialog').showModal();
    (f.elements.createdBy.value ? f.elements.comment : f.elements.createdBy).focus();
  }

  function expireSilence(s) {
    if (!window.confirm('Expire the silence by ' + s.createdBy + ' (' + s.comment + ')?')) return;
    request('api/v1/silences/' + encodeURIComponent(s.id), { method: 'DELETE' }).then(function (r) {
      if (!r.ok) window.alert('Expire failed: ' + apiError(r));
      poll();
    }, function (err) { window.alert('Expire failed: ' + err.message); });
  }

  function submitting(form, busy) { Array.prototype.forEach.call(form.querySelectorAll('button'), function (b) { b.disabled = busy; }); }

  function wire() {
    Array.prototype.forEach.call(document.querySelectorAll('dialog .cancel'), function (b) {
      b.addEventListener('click', function () { b.closest('dialog').close(); });
    });
    $('ack-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var f = ev.target, a = ackFor;
      var by = f.elements.by.value.trim();
      if (!by) { formError('ack-error', 'Your name is required.'); return; }
      remember(by);
      submitting(f, true);
      request('api/v1/alerts/' + encodeURIComponent(a.id) + '/ack', { method: 'POST', body: { by: by, comment: f.elements.comment.value } }).then(function (r) {
        if (r.status === 401) { $('ack-dialog').close(); signIn('Token refused: ' + apiError(r)); return; }
        if (!r.ok) { formError('ack-error', 'Not acknowledged: ' + apiError(r)); return; }
        $('ack-dialog').close();
        poll();
      }, function (err) { formError('ack-error', 'Collector unreachable: ' + err.message); }).then(function () { submitting(f, false); });
    });
    $('silence-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var f = ev.target, l = (silenceFor && silenceFor.labels) || {};
      var names = Array.prototype.filter.call(f.querySelectorAll('input[name=matcher]'), function (c) { return c.checked; }).map(function (c) { return c.value; });
      var by = f.elements.createdBy.value.trim();
      var comment = f.elements.comment.value.trim();
      if (!names.length) { formError('silence-error', 'Pick at least one label to match.'); return; }
      if (!by || !comment) { formError('silence-error', 'Your name and a comment are required.'); return; }
      remember(by);
      var now = Date.now();
      var body = {
        matchers: names.map(function (n) { return { name: n, value: String(l[n]), isRegex: false, isEqual: true }; }),
        startsAt: new Date(now).toISOString(), endsAt: new Date(now + Number(f.elements.duration.value)).toISOString(), createdBy: by, comment: comment,
      };
      submitting(f, true);
      request('api/v1/silences', { method: 'POST', body: body }).then(function (r) {
        if (r.status === 401) { $('silence-dialog').close(); signIn('Token refused: ' + apiError(r)); return; }
        if (!r.ok) { formError('silence-error', 'Not created: ' + apiError(r)); return; }
        $('silence-dialog').close();
        poll();
      }, function (err) { formError('silence-error', 'Collector unreachable: ' + err.message); }).then(function () { submitting(f, false); });
    });
    $('token-form').addEventListener('submit', function (ev) {
      ev.preventDefault();
      var t = ev.target.elements.token.value.trim();
      if (!t) { formError('token-error', 'Paste an API token (redis-fleet token create NAME ROLE makes one).'); return; }
      setToken(t);
      ev.target.elements.token.value = '';
      signedIn();
    });
    // The sign-in dialog cannot be dismissed: there is nothing to show without a token.
    $('token-dialog').addEventListener('cancel', function (ev) { ev.preventDefault(); });
    $('signout').addEventListener('click', function () { setToken(''); signIn('Signed out.'); });
    window.addEventListener('hashchange', function () { if (tokenFromLink()) signedIn(); });
    document.addEventListener('visibilitychange', function () { if (!document.hidden && !signingIn) poll(); });
    setInterval(showStatus, 1000);
  }

  // What console/charts.js uses: the same authenticated request, DOM helpers, and each poll's data.
  var shared = window.redisFleet = { request: request, apiError: apiError, el: el, replace: replace, bytes: bytes, rendered: [], showChart: null };

  wire();
  tokenFromLink();
  if (token()) signedIn(); else signIn('This collector needs an API token.');
})();
`;
