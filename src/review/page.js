(function () {
  'use strict';
  var started = performance.now();
  var D = JSON.parse(document.getElementById('mh-data').textContent);
  var PAGE = 50;
  var MEMBERS_SHOWN = 120;
  var state = { tab: 'queue', page: { queue: 0, alerts: 0, errors: 0 }, focus: 0, filter: '' };
  var revealed = {};
  var expanded = {};
  var storeKey = 'mh-review-marks:' + D.reportId;
  var marks = {};
  try { marks = JSON.parse(window.localStorage.getItem(storeKey) || '{}') || {}; } catch (e) { marks = {}; }
  function saveMarks() {
    try { window.localStorage.setItem(storeKey, JSON.stringify(marks)); } catch (e) { /* private mode */ }
    document.getElementById('marked').textContent = String(Object.keys(marks).length);
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function hasPv(i) {
    if (!state.filter) return true;
    var pv = D.items[i].pv || [];
    if (state.filter === '(none)') return pv.length === 0;
    for (var k = 0; k < pv.length; k++) if (pv[k].k === state.filter) return true;
    return false;
  }
  var cache = {};
  function list(tab) {
    var key = tab + '\u0000' + state.filter;
    if (cache[key]) return cache[key];
    var out = [];
    if (tab === 'queue') {
      D.queue.forEach(function (u) { if (u.m.some(hasPv)) out.push({ u: u, i: u.m[0] }); });
    } else if (tab === 'alerts') {
      D.groups.forEach(function (g) { g.i.forEach(function (i) { if (hasPv(i)) out.push({ g: g, i: i }); }); });
    } else {
      D.errors.forEach(function (i) { out.push({ i: i }); });
    }
    cache[key] = out;
    return out;
  }
  function thumb(i) {
    var it = D.items[i];
    var box = el('div', 'thumb');
    if (it.t) {
      var img = el('img');
      img.alt = '';
      img.decoding = 'async';
      img.src = it.t;
      box.appendChild(img);
      if (revealed[i]) box.classList.add('revealed');
      box.title = 'click or r: reveal / hide';
      box.addEventListener('click', function () { setReveal(i, !revealed[i]); });
    } else {
      box.classList.add('ph');
      box.textContent = it.tr || 'no thumbnail';
    }
    box.setAttribute('data-item', String(i));
    return box;
  }
  function setReveal(i, on) {
    if (on) revealed[i] = true; else delete revealed[i];
    var boxes = document.querySelectorAll('.thumb[data-item="' + i + '"]');
    for (var k = 0; k < boxes.length; k++) boxes[k].classList.toggle('revealed', !!on);
  }
  function row(table, label, value, mono) {
    if (value === undefined || value === null || value === '') return;
    var tr = el('tr');
    tr.appendChild(el('td', '', label));
    tr.appendChild(el('td', mono ? 'mono' : '', value));
    table.appendChild(tr);
  }
  function details(i) {
    var it = D.items[i];
    var d = el('details');
    d.appendChild(el('summary', '', 'details'));
    var t = el('table');
    row(t, 'path', it.p, true);
    row(t, 'path bytes (hex)', it.x, true);
    row(t, 'report line', it.o + 2);
    row(t, 'picture', it.f ? it.f + (it.w ? ' ' + it.w + '\u00d7' + it.h : '') : '');
    row(t, 'MD5', it.md5, true);
    row(t, 'SHA-1', it.sha1, true);
    row(t, 'SHA-256', it.sha256, true);
    row(t, 'PDQ', it.pdq ? it.pdq + ' (quality ' + it.q + ')' : '', true);
    (it.m || []).forEach(function (m) { row(t, 'matched', m); });
    row(t, 'reason', it.e);
    row(t, 'location', it.loc, true);
    (it.pv || []).forEach(function (p) { row(t, 'provenance', p.k + (p.v ? ': ' + p.v : '')); });
    d.appendChild(t);
    return d;
  }
  function markClass(i) { return marks[D.items[i].o] ? 'mark-' + marks[D.items[i].o].mark : ''; }
  function card(entry, n) {
    var i = entry.i, it = D.items[i];
    var c = el('div', 'card');
    c.setAttribute('data-n', String(n));
    var mc = markClass(i);
    if (mc) c.classList.add(mc);
    c.appendChild(thumb(i));
    var meta = el('div', 'meta');
    var line = el('div');
    if (entry.u) {
      var u = entry.u;
      if (u.nm) {
        line.appendChild(el('span', 'badge near', 'near miss: PDQ distance ' + u.nm[0] + ' (match radius ' + D.radius + ') to ' + u.nm[2] + (u.m.length > 1 ? ' (member ' + D.items[u.nm[1]].p + ')' : '')));
      }
      line.appendChild(el('span', 'badge', u.c ? 'cluster ' + u.c + ' \u00b7 ' + u.m.length + ' pictures' : 'single picture'));
    } else if (entry.g) {
      line.appendChild(el('span', 'badge alert', (it.m && it.m[0]) || 'alert'));
    }
    (it.pv || []).forEach(function (p) { line.appendChild(el('span', 'badge', p.k)); });
    if (marks[it.o]) line.appendChild(el('span', 'badge', 'marked ' + marks[it.o].mark));
    meta.appendChild(line);
    meta.appendChild(el('div', 'name', it.p));
    meta.appendChild(details(i));
    var buttons = el('div');
    function button(label, fn) { var b = el('button', '', label); b.addEventListener('click', fn); buttons.appendChild(b); }
    button('reveal (r)', function () { focusCard(n); setReveal(i, !revealed[i]); });
    button('reviewed (m)', function () { focusCard(n); mark('reviewed'); });
    button('alert (a)', function () { focusCard(n); mark('alert'); });
    button('ignore (i)', function () { focusCard(n); mark('ignore'); });
    if (entry.u && entry.u.m.length > 1) {
      button((expanded[i] ? 'hide' : 'show all ') + entry.u.m.length + ' (e)', function () { focusCard(n); expand(); });
    }
    meta.appendChild(buttons);
    if (entry.u && expanded[i]) {
      var members = el('div', 'members');
      entry.u.m.slice(0, MEMBERS_SHOWN).forEach(function (m) {
        var t = thumb(m);
        t.title = D.items[m].p;
        members.appendChild(t);
      });
      if (entry.u.m.length > MEMBERS_SHOWN) {
        members.appendChild(el('div', '', '\u2026 and ' + (entry.u.m.length - MEMBERS_SHOWN) + ' more (details in the report, cluster ' + entry.u.c + ')'));
      }
      meta.appendChild(members);
    }
    c.appendChild(meta);
    return c;
  }
  function errorTable(entries) {
    var t = el('table', 'errors');
    entries.forEach(function (entry, k) {
      var it = D.items[entry.i];
      var tr = el('tr');
      tr.setAttribute('data-n', String(k));
      tr.appendChild(el('td', 'mono', it.p));
      tr.appendChild(el('td', 'mono', it.rc || ''));
      tr.appendChild(el('td', '', it.e || ''));
      t.appendChild(tr);
    });
    return t;
  }
  function pages(tab) { return Math.max(1, Math.ceil(list(tab).length / PAGE)); }
  function pager() {
    var p = el('div', 'pager');
    var b1 = el('button', '', '\u2190 previous page (p)');
    b1.addEventListener('click', function () { turn(-1); });
    var b2 = el('button', '', 'next page (n) \u2192');
    b2.addEventListener('click', function () { turn(1); });
    p.appendChild(b1);
    p.appendChild(el('span', '', 'page ' + (state.page[state.tab] + 1) + ' of ' + pages(state.tab) + ' \u00b7 ' + list(state.tab).length + ' entries'));
    p.appendChild(b2);
    return p;
  }
  function render() {
    var root = document.getElementById('list');
    root.textContent = '';
    var tabs = document.querySelectorAll('nav button[data-tab]');
    for (var k = 0; k < tabs.length; k++) tabs[k].setAttribute('aria-selected', String(tabs[k].getAttribute('data-tab') === state.tab));
    var all = list(state.tab);
    var start = state.page[state.tab] * PAGE;
    var shown = all.slice(start, start + PAGE);
    root.appendChild(pager());
    if (state.tab === 'errors') {
      root.appendChild(errorTable(shown));
    } else {
      var grid = el('div', 'grid');
      var lastGroup = null;
      shown.forEach(function (entry, k) {
        if (entry.g && entry.g !== lastGroup) {
          lastGroup = entry.g;
          grid.appendChild(el('div', 'group', 'Set ' + entry.g.s + (entry.g.c ? ', category ' + entry.g.c : '') + ' \u2014 ' + entry.g.i.length + ' alerts'));
        }
        grid.appendChild(card(entry, k));
      });
      root.appendChild(grid);
    }
    if (shown.length > 0) root.appendChild(pager());
    focusCard(Math.min(state.focus, Math.max(0, shown.length - 1)), true);
  }
  function focusCard(n, quiet) {
    state.focus = n;
    var old = document.querySelectorAll('#list .focus');
    for (var k = 0; k < old.length; k++) old[k].classList.remove('focus');
    var c = document.querySelector('#list [data-n="' + n + '"]');
    if (c) {
      c.classList.add('focus');
      if (!quiet) c.scrollIntoView({ block: 'nearest' });
    }
  }
  function current() {
    var all = list(state.tab);
    return all[state.page[state.tab] * PAGE + state.focus];
  }
  function move(delta) {
    var all = list(state.tab);
    var at = state.page[state.tab] * PAGE + state.focus + delta;
    if (at < 0 || at >= all.length) return;
    var page = Math.floor(at / PAGE);
    state.focus = at - page * PAGE;
    if (page !== state.page[state.tab]) { state.page[state.tab] = page; render(); }
    focusCard(state.focus);
  }
  function turn(delta) {
    var p = state.page[state.tab] + delta;
    if (p < 0 || p >= pages(state.tab)) return;
    state.page[state.tab] = p;
    state.focus = 0;
    render();
    window.scrollTo(0, 0);
  }
  function mark(kind) {
    var e = current();
    if (!e) return;
    var members = e.u ? e.u.m : [e.i];
    var now = new Date().toISOString();
    members.forEach(function (i) {
      var it = D.items[i];
      if (kind === null || (marks[it.o] && marks[it.o].mark === kind)) delete marks[it.o];
      else marks[it.o] = { mark: kind, at: now };
    });
    saveMarks();
    var n = state.focus;
    render();
    focusCard(n);
  }
  function expand() {
    var e = current();
    if (!e || !e.u || e.u.m.length < 2) return;
    if (expanded[e.i]) delete expanded[e.i]; else expanded[e.i] = true;
    var n = state.focus;
    render();
    focusCard(n);
  }
  function setTab(tab) { state.tab = tab; state.focus = 0; render(); }
  function exportMarks() {
    var out = { tool: 'mediahash review marks', report: D.reportId, exported: new Date().toISOString(), marks: [] };
    D.items.forEach(function (it) {
      if (marks[it.o]) out.marks.push({ report_entry: it.o, path: it.p, path_bytes_hex: it.x || undefined, sha256: it.sha256 || undefined, mark: marks[it.o].mark, at: marks[it.o].at });
    });
    var blob = new Blob([JSON.stringify(out, null, 1)], { type: 'application/json' });
    var a = el('a');
    a.href = URL.createObjectURL(blob);
    a.download = 'review-marks.json';
    document.body.appendChild(a);
    a.click();
    a.remove();
  }
  function setUnblurred(on) {
    document.body.classList.toggle('unblurred', on);
    document.getElementById('unblur').checked = on;
  }
  document.addEventListener('keydown', function (ev) {
    var t = ev.target && ev.target.tagName;
    if (t === 'INPUT' || t === 'SELECT' || t === 'TEXTAREA' || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    var e = current();
    switch (ev.key) {
      case 'j': case 'ArrowDown': case 'ArrowRight': move(1); break;
      case 'k': case 'ArrowUp': case 'ArrowLeft': move(-1); break;
      case 'n': turn(1); break;
      case 'p': turn(-1); break;
      case 'r': case ' ': if (e && D.items[e.i].t) setReveal(e.i, !revealed[e.i]); break;
      case 'b': setUnblurred(!document.body.classList.contains('unblurred')); break;
      case 'm': mark('reviewed'); break;
      case 'a': mark('alert'); break;
      case 'i': mark('ignore'); break;
      case 'u': mark(null); break;
      case 'e': expand(); break;
      case 'x': exportMarks(); break;
      case '1': setTab('queue'); break;
      case '2': setTab('alerts'); break;
      case '3': setTab('errors'); break;
      default: return;
    }
    ev.preventDefault();
  });
  var nav = document.querySelector('nav');
  var tabsWanted = [['queue', 'Look here first (' + D.queue.length + ')'], ['alerts', 'Alerts (' + D.alertCount + ')'], ['errors', 'Errors (' + D.errors.length + ')']];
  tabsWanted.forEach(function (t, k) {
    var b = el('button', '', (k + 1) + ' ' + t[1]);
    b.setAttribute('data-tab', t[0]);
    b.addEventListener('click', function () { setTab(t[0]); });
    nav.appendChild(b);
  });
  var label = el('label');
  var box = el('input');
  box.type = 'checkbox';
  box.id = 'unblur';
  box.addEventListener('change', function () { setUnblurred(box.checked); });
  label.appendChild(box);
  label.appendChild(document.createTextNode(' show all pictures unblurred (b)'));
  nav.appendChild(label);
  var select = el('select');
  select.id = 'pv-filter';
  var kinds = {};
  D.items.forEach(function (it) { (it.pv || []).forEach(function (p) { kinds[p.k] = true; }); });
  [['', 'provenance: any'], ['(none)', 'provenance: no indicator']].concat(Object.keys(kinds).sort().map(function (k) { return [k, 'provenance: ' + k]; })).forEach(function (o) {
    var opt = el('option', '', o[1]);
    opt.value = o[0];
    select.appendChild(opt);
  });
  select.addEventListener('change', function () { state.filter = select.value; state.page = { queue: 0, alerts: 0, errors: 0 }; state.focus = 0; render(); });
  nav.appendChild(select);
  var exp = el('button', '', 'export marks (x)');
  exp.addEventListener('click', exportMarks);
  nav.appendChild(exp);
  var markedLabel = el('span', 'keys');
  markedLabel.appendChild(document.createTextNode('marked: '));
  markedLabel.appendChild(el('span', '', '0')).id = 'marked';
  nav.appendChild(markedLabel);
  nav.appendChild(el('span', 'keys', 'keys: j/k next/previous \u00b7 r reveal \u00b7 m reviewed \u00b7 a alert \u00b7 i ignore \u00b7 u unmark \u00b7 e expand \u00b7 n/p page \u00b7 b unblur all \u00b7 x export'));
  saveMarks();
  render();

  if (window.location.hash === '#selftest') {
    var r = {};
    var img = document.querySelector('#list .thumb img');
    r.thumbs = document.querySelectorAll('#list .thumb img').length;
    r.placeholders = document.querySelectorAll('#list .thumb.ph').length;
    r.filter_before = img ? getComputedStyle(img).filter : null;
    r.img_loaded = img ? img.complete : null;
    document.dispatchEvent(new KeyboardEvent('keydown', { key: 'r', bubbles: true }));
    r.filter_after = img ? getComputedStyle(img).filter : null;
    var other = document.querySelectorAll('#list .thumb img')[1];
    r.filter_other = other ? getComputedStyle(other).filter : null;
    r.shown_counts = {};
    var cells = document.querySelectorAll('[data-count]');
    for (var k = 0; k < cells.length; k++) r.shown_counts[cells[k].getAttribute('data-count')] = Number(cells[k].textContent);
    r.alert_cards = list('alerts').length;
    r.error_rows = list('errors').length;
    r.unknown_pictures = D.queue.reduce(function (s, u) { return s + u.m.length; }, 0);
    r.queue_units = D.queue.length;
    r.cards_on_page = document.querySelectorAll('#list .card').length;
    r.render_ms = performance.now() - started;
    r.since_navigation_ms = performance.now();
    document.getElementById('selftest').textContent = JSON.stringify(r);
  }
})();
