// The dmarcwatch dashboard: hash-routed pages over the JSON API (docs/api.md).
//
// Every string from the API may come from an attacker (anyone can mail a
// report to a rua address), so the DOM is built only with h() below, which
// puts data into text nodes and a few checked attributes. Nothing here uses
// innerHTML, outerHTML, insertAdjacentHTML, eval or new Function, and the
// Content-Security-Policy of the server would refuse inline code anyway.
'use strict';

(() => {
  // ---- DOM ------------------------------------------------------------------

  // Link targets we create: in-page routes, our own API, and https pages of
  // the provider catalog. Anything else (javascript:, data:, //host) is dropped.
  const SAFE_URL = /^(#|\/(?!\/)|https:\/\/)/i;

  // h('a', {href: '#/x', class: 'c', onclick: fn}, 'text', child, [more])
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key.startsWith('on')) {
        // Only functions become listeners; a string here is never code.
        if (typeof value === 'function') el.addEventListener(key.slice(2), value);
        continue;
      }
      if (key === 'class') el.className = value;
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'value') el.value = value;
      else if (key === 'href' || key === 'src' || key === 'action') {
        if (SAFE_URL.test(String(value))) el.setAttribute(key, String(value));
      } else if (key === 'style') {
        continue; // the CSP forbids style attributes: use classes
      } else el.setAttribute(key, value === true ? '' : String(value));
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      if (Array.isArray(child)) append(el, child);
      else if (child instanceof Node) el.appendChild(child);
      else el.appendChild(document.createTextNode(String(child)));
    }
    return el;
  }

  // ---- formatting -----------------------------------------------------------

  const intFormat = new Intl.NumberFormat('en-US');
  const fmt = (n) => (typeof n === 'number' ? intFormat.format(n) : '—');

  // A share as text. 100% and 0% only when exact, so a path with one failing
  // message in ten thousand never reads as "100.0%".
  function pct(part, whole) {
    if (!whole) return '—';
    if (part === whole) return '100%';
    if (part === 0) return '0%';
    const v = (100 * part) / whole;
    return `${Math.min(99.9, Math.max(0.1, v)).toFixed(1)}%`;
  }

  function rateClass(part, whole) {
    if (!whole) return 'muted';
    const v = part / whole;
    if (v >= 0.98) return 'rate-good';
    if (v >= 0.9) return 'rate-warn';
    return 'rate-bad';
  }

  function rateCell(part, whole) {
    return h('span', { class: rateClass(part, whole), title: `${fmt(part)} of ${fmt(whole)}` }, pct(part, whole));
  }

  const fails = (c) => (c ? c.messages - c.dmarc_pass : 0);

  // "2026-10-31T07:04:36Z" -> "2026-10-31 07:04 UTC". All times are UTC.
  function utc(iso) {
    if (!iso) return '—';
    const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(iso);
    return m ? `${m[1]} ${m[2]} UTC` : String(iso);
  }

  // A report's range: one day, or begin and end in full.
  function range(begin, end) {
    const b = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(begin || '');
    const e = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})/.exec(end || '');
    if (!b || !e) return `${begin || '?'} – ${end || '?'}`;
    if (b[1] === e[1]) return `${b[1]} ${b[2]}–${e[2]} UTC`;
    return `${b[1]} ${b[2]} – ${e[1]} ${e[2]} UTC`;
  }

  function addDays(day, n) {
    const t = Date.parse(`${day}T00:00:00Z`) + n * 86400000;
    return new Date(t).toISOString().slice(0, 10);
  }

  const isDay = (s) => typeof s === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(s) && !Number.isNaN(Date.parse(`${s}T00:00:00Z`));

  const KIND_LABEL = {
    direct: 'direct', smarthost: 'smarthost', undeclared: 'undeclared', forwarder: 'forwarder', unknown: 'unknown',
  };

  function kindBadge(kind) {
    const k = KIND_LABEL[kind] ? kind : 'unknown';
    return h('span', { class: `badge kind-${k}` }, KIND_LABEL[kind] || String(kind || '?'));
  }

  const SEVERITIES = ['critical', 'warning', 'info'];
  const sevRank = (s) => { const i = SEVERITIES.indexOf(s); return i < 0 ? 3 : i; };

  function sevBadge(severity) {
    const s = SEVERITIES.includes(severity) ? severity : 'info';
    return h('span', { class: `badge sev-${s}` }, s);
  }

  function policyBadge(p) {
    return p ? h('span', { class: 'badge policy', title: 'the published DMARC policy' }, `p=${p}`) : null;
  }

  // ---- state and API --------------------------------------------------------

  const state = {
    session: null,     // GET /api/v1/session
    domains: null,     // GET /api/v1/domains, cached for the session
    providers: null,   // id -> catalog name, cached
    charts: [],        // Chart instances of the current page
    seq: 0,            // the newest navigation; older ones drop their result
    lastPage: null,
  };

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== null && v !== undefined && v !== '') q.set(k, v);
    }
    const s = q.toString();
    return s ? `?${s}` : '';
  }

  async function request(method, path, { params, body, text } = {}) {
    const headers = { Accept: text ? 'text/plain, text/xml' : 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    // State-changing requests prove they come from this page (docs/api.md, CSRF).
    if (method !== 'GET' && state.session && state.session.csrf_token) {
      headers['X-CSRF-Token'] = state.session.csrf_token;
    }
    let res;
    try {
      res = await fetch(path + query(params), {
        method, headers, credentials: 'same-origin', cache: 'no-store',
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, 'network', 'The server did not answer. Is dmarcwatch still running?');
    }
    if (res.status === 204) return null;
    if (!res.ok) {
      let code = 'http_error';
      let message = `The server answered ${res.status}.`;
      try {
        const err = (await res.json()).error;
        if (err && typeof err.message === 'string') message = err.message;
        if (err && typeof err.code === 'string') code = err.code;
      } catch (e) { /* not JSON: keep the status line */ }
      throw new ApiError(res.status, code, message);
    }
    return text ? res.text() : res.json();
  }

  const api = (path, params) => request('GET', path, { params });

  // Read on every page: a new report can move a domain's last day.
  async function loadDomains() {
    state.domains = (await api('/api/v1/domains')).domains || [];
    return state.domains;
  }

  // Catalog names ("SendGrid (Twilio)") for provider ids; the page still
  // works with bare ids if the catalog cannot be read.
  async function loadProviders() {
    if (state.providers) return state.providers;
    const names = new Map();
    try {
      for (const p of (await api('/api/v1/providers')).providers || []) names.set(p.id, p.name);
    } catch (e) {
      if (e.status === 401) throw e;
    }
    state.providers = names;
    return names;
  }

  const providerName = (id) => (id ? (state.providers && state.providers.get(id)) || id : null);

  // The name a person knows a path by.
  function pathLabel(p) {
    if (p.name) return p.name;
    if (p.kind === 'undeclared') return providerName(p.provider) || p.key;
    if (p.kind === 'unknown') return 'Unknown sources';
    if (p.kind === 'forwarder') return 'Forwarders and lists';
    return p.key || '?';
  }

  function labelForKey(key, paths) {
    const p = (paths || []).find((x) => x.key === key);
    if (p) return pathLabel(p);
    if (key === 'unknown') return 'Unknown sources';
    if (key === 'forwarder') return 'Forwarders and lists';
    const m = /^(?:path|undeclared):(.*)$/.exec(key || '');
    return m ? (key.startsWith('undeclared:') ? providerName(m[1]) : m[1]) : String(key || '?');
  }

  // ---- routing --------------------------------------------------------------

  // "#/path?domain=example.com&key=path%3ASendGrid" -> {page, id, params}
  function parseHash() {
    const raw = location.hash.replace(/^#\/?/, '');
    const at = raw.indexOf('?');
    const path = at < 0 ? raw : raw.slice(0, at);
    const params = new URLSearchParams(at < 0 ? '' : raw.slice(at + 1));
    const parts = path.split('/').filter(Boolean).map((s) => { try { return decodeURIComponent(s); } catch (e) { return s; } });
    return { page: parts[0] || 'overview', id: parts[1] || null, params };
  }

  function href(page, params) {
    return `#/${page}${query(params)}`;
  }

  function go(page, params) {
    const next = href(page, params);
    // Until hashchange fires, the new hash is not the rendered one (finish).
    if (location.hash === next) route();
    else location.hash = next;
  }

  // The domain and period of the current URL, carried from page to page.
  function scopeOf(params) {
    return { domain: params.get('domain') || '', from: params.get('from') || '', to: params.get('to') || '' };
  }

  const PAGES = [
    ['overview', 'Overview'],
    ['senders', 'Senders'],
    ['reports', 'Reports'],
    ['rejected', 'Rejected'],
    ['intake', 'Intake'],
    ['config', 'Configuration'],
  ];

  function shell(active, content) {
    const scope = scopeOf(parseHash().params);
    const navParams = { domain: scope.domain, from: scope.from, to: scope.to };
    const nav = h('nav', { class: 'nav', 'aria-label': 'Pages' },
      PAGES.map(([page, label]) => h('a', {
        href: href(page, ['rejected', 'intake', 'config'].includes(page) ? {} : navParams),
        'aria-current': page === active ? 'page' : null,
      }, label)));
    const s = state.session || {};
    const user = h('div', { class: 'user' },
      s.auth_required ? [
        h('span', { title: 'signed in as' }, s.user || ''),
        h('button', { type: 'button', class: 'btn btn-small', id: 'logout', onclick: logout }, 'Log out'),
      ] : h('span', { title: 'no [[users]] configured: loopback only' }, 'local'));
    // A hash link would be taken for a route: the skip control is a button.
    const skip = h('button', {
      type: 'button', class: 'skip',
      onclick: () => { const t = document.getElementById('page-title'); if (t) t.focus(); },
    }, 'Skip to content');
    const header = h('header', { class: 'topbar' }, skip,
      h('div', { class: 'topbar-inner' },
        h('a', { class: 'brand', href: href('overview', navParams) }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'dmarcwatch'),
        nav, user));
    return [header, h('main', { class: 'main', id: 'main' }, content)];
  }

  function mount(nodes) {
    const app = document.getElementById('app');
    app.replaceChildren(...[].concat(nodes));
  }

  function destroyCharts() {
    for (const c of state.charts) c.destroy();
    state.charts = [];
  }

  async function route() {
    const seq = ++state.seq;
    const hash = location.hash;
    const r = parseHash();
    const app = document.getElementById('app');
    app.setAttribute('aria-busy', 'true');
    document.documentElement.dataset.ready = '';
    const focusedId = document.activeElement && document.activeElement.id;
    const samePage = state.lastPage === r.page;
    try {
      if (!state.session) state.session = await api('/api/v1/session');
      const view = Object.hasOwn(VIEWS, r.page) ? VIEWS[r.page] : notFoundView;
      const ctx = { ...r, after: [] };
      const out = await view(ctx);
      if (seq !== state.seq) return;
      destroyCharts();
      document.title = out.title ? `${out.title} — dmarcwatch` : 'dmarcwatch';
      mount(shell(out.nav || r.page, out.node));
      for (const fn of ctx.after) fn();
      finish(r.page, hash, samePage, focusedId);
    } catch (e) {
      if (seq !== state.seq) return;
      destroyCharts();
      if (e.status === 401) {
        state.session = null;
        state.domains = null;
        document.title = 'Log in — dmarcwatch';
        mount(loginView());
        finish('login', hash, false, null);
        const name = document.getElementById('login-name');
        if (name) name.focus();
        return;
      }
      document.title = 'Error — dmarcwatch';
      mount(shell(r.page, [h('div', { class: 'page-head' }, h('h1', {}, 'Something went wrong')), errorBox(e)]));
      finish(r.page, hash, samePage, focusedId);
    } finally {
      if (seq === state.seq) app.removeAttribute('aria-busy');
    }
  }

  // Keeps the keyboard where it was when only the filters changed, and
  // starts a new page at the top. The hash it marks as rendered lets a
  // reader tell the new view from the old one after a plain link click,
  // which changes the hash before hashchange fires.
  function finish(page, hash, samePage, focusedId) {
    state.lastPage = page;
    if (samePage && focusedId) {
      const el = document.getElementById(focusedId);
      if (el) el.focus({ preventScroll: true });
    } else {
      window.scrollTo(0, 0);
    }
    document.documentElement.dataset.rendered = hash;
    document.documentElement.dataset.ready = page;
  }

  function errorBox(e) {
    return h('div', { class: 'alert', role: 'alert' }, e && e.message ? e.message : String(e));
  }

  async function logout() {
    try {
      await request('POST', '/api/v1/logout');
    } catch (e) {
      if (e.status !== 401) {
        window.scrollTo(0, 0);
        document.getElementById('main').prepend(errorBox(e));
        return;
      }
    }
    state.session = null;
    state.domains = null;
    route();
  }

  // ---- shared building blocks ------------------------------------------------

  function pageHead(title, ...rest) {
    return h('div', { class: 'page-head' }, h('h1', { id: 'page-title', tabindex: '-1' }, title), rest);
  }

  function section(title, hint, ...children) {
    return h('section', { class: 'section' },
      h('div', { class: 'section-head' }, h('h2', {}, title), hint ? h('span', { class: 'hint' }, hint) : null),
      children);
  }

  function kpi(label, value, note, tone) {
    return h('div', { class: `kpi${tone ? ` is-${tone}` : ''}` },
      h('div', { class: 'kpi-label' }, label),
      h('div', { class: 'kpi-value' }, value),
      note ? h('div', { class: 'kpi-note' }, note) : null);
  }

  function facts(pairs) {
    return h('dl', { class: 'facts' }, pairs.filter((p) => p).map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null || v === undefined || v === '' ? '—' : v)]));
  }

  function chips(values, empty) {
    if (!values || !values.length) return h('span', { class: 'muted' }, empty || '—');
    return h('ul', { class: 'chips' }, values.map((v) => h('li', {}, v)));
  }

  // A spreadsheet would run a cell that starts with = + - @ as a formula:
  // the same guard the server's CSV has.
  function csvCell(v) {
    let s = v === null || v === undefined ? '' : String(v);
    if (/^[=+\-@]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  }

  // A CSV made in the browser, for tables whose endpoint has no format=csv.
  function clientCsvButton(filename, columns, rows) {
    return h('button', {
      type: 'button',
      class: 'btn btn-small',
      onclick: () => {
        const lines = [columns.map((c) => csvCell(c.label)).join(',')];
        for (const r of rows) lines.push(columns.map((c) => csvCell(c.csv ? c.csv(r) : '')).join(','));
        const blob = new Blob([`${lines.join('\r\n')}\r\n`], { type: 'text/csv;charset=utf-8' });
        const url = URL.createObjectURL(blob);
        const a = document.createElement('a');
        a.href = url; // a blob: URL we just made, not data
        a.download = filename;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 10000);
      },
    }, 'Download CSV');
  }

  function serverCsvLink(path, params) {
    return h('a', { class: 'btn btn-small', href: path + query({ ...params, format: 'csv' }), download: '' }, 'Download CSV');
  }

  // columns: [{label, num, cell(row) -> node|text, csv(row) -> text, wrap, nowrap}]
  // csv: {href} for the endpoint's own CSV, or {filename} to build it here.
  function dataTable({ columns, rows, csv, empty, rowClass, note, label }) {
    let csvControl = null;
    if (csv && csv.endpoint) csvControl = serverCsvLink(csv.endpoint, csv.params);
    else if (csv && csv.filename) csvControl = clientCsvButton(csv.filename, columns.filter((c) => c.csv), rows);
    const tools = h('div', { class: 'table-tools' },
      h('span', {}, note !== undefined ? note : `${fmt(rows.length)} ${rows.length === 1 ? 'row' : 'rows'}`),
      csvControl);
    if (!rows.length) {
      return h('div', {}, tools, h('div', { class: 'table-wrap' }, h('p', { class: 'empty' }, empty || 'Nothing in this period.')));
    }
    const thead = h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label))));
    const tbody = h('tbody', {}, rows.map((r) => h('tr', { class: rowClass ? rowClass(r) : null },
      columns.map((c) => h('td', { class: c.num ? 'num' : c.wrap ? 'wrap' : c.nowrap ? 'nowrap' : null }, c.cell(r))))));
    return h('div', {}, tools,
      h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': label || 'table' }, h('table', {}, thead, tbody)));
  }

  // Columns that every count table shares.
  const countColumns = (get) => [
    { label: 'Messages', num: true, cell: (r) => fmt(get(r).messages), csv: (r) => get(r).messages },
    { label: 'DMARC pass', num: true, cell: (r) => rateCell(get(r).dmarc_pass, get(r).messages), csv: (r) => get(r).dmarc_pass },
    { label: 'Failing', num: true, cell: (r) => (fails(get(r)) ? h('span', { class: 'rate-bad' }, fmt(fails(get(r)))) : '0'), csv: (r) => fails(get(r)) },
  ];

  // ---- filters ---------------------------------------------------------------

  // The domain picker and the period; every change lands in the URL, so the
  // view can be bookmarked and mailed. `period` is what the API answered
  // (the default period when the URL has none).
  function filterBar({ page, params, domains, period, keep, allDomains, periodOptional, extra }) {
    const scope = scopeOf(params);
    const base = () => ({ ...keep });
    const withScope = (over) => ({ domain: scope.domain, from: scope.from, to: scope.to, ...base(), ...over });

    const domainSelect = h('select', {
      id: 'f-domain',
      onchange: (ev) => go(page, withScope({ domain: ev.target.value })),
    },
    allDomains ? h('option', { value: '' }, 'All domains') : null,
    domains.map((d) => h('option', { value: d.domain }, d.domain)));
    domainSelect.value = allDomains ? scope.domain : (scope.domain || (period && period.domain) || (domains[0] && domains[0].domain) || '');

    const from = h('input', { type: 'date', id: 'f-from', value: scope.from || (periodOptional ? '' : period && period.from) || '' });
    const to = h('input', { type: 'date', id: 'f-to', value: scope.to || (periodOptional ? '' : period && period.to) || '' });
    const problem = h('div', { class: 'hint', role: 'status', id: 'f-problem' });

    const apply = (ev) => {
      ev.preventDefault();
      const f = from.value;
      const t = to.value;
      if ((f && !isDay(f)) || (t && !isDay(t))) { problem.textContent = 'Dates are YYYY-MM-DD.'; return; }
      if (f && t && f > t) { problem.textContent = 'The start is after the end.'; return; }
      go(page, withScope({ from: f, to: t }));
    };

    // Quick periods end on the newest day with data for the domain.
    const current = domains.find((d) => d.domain === domainSelect.value);
    const quick = [];
    if (current && current.last_day) {
      const last = current.last_day;
      const choices = [['7 days', addDays(last, -6)], ['30 days', addDays(last, -29)], ['90 days', addDays(last, -89)]];
      if (current.first_day) choices.push(['All', current.first_day]);
      for (const [label, start] of choices) {
        const pressed = scope.from === start && scope.to === last;
        quick.push(h('button', {
          type: 'button', class: 'btn btn-small', 'aria-pressed': pressed ? 'true' : 'false',
          id: `f-period-${label.split(' ')[0].toLowerCase()}`,
          title: `${start} to ${last}`,
          onclick: () => go(page, withScope({ from: start, to: last })),
        }, label));
      }
    }
    if (scope.from || scope.to) {
      quick.push(h('button', {
        type: 'button', class: 'btn btn-small btn-link', id: 'f-period-latest',
        onclick: () => go(page, withScope({ from: '', to: '' })),
      }, periodOptional ? 'Any date' : 'Latest 30 days'));
    }

    return h('form', { class: 'filters', onsubmit: apply, 'aria-label': 'Filters' },
      domains.length ? h('div', { class: 'field' }, h('label', { for: 'f-domain' }, 'Domain'), domainSelect) : null,
      h('div', { class: 'field' }, h('label', { for: 'f-from' }, 'From (UTC)'), from),
      h('div', { class: 'field' }, h('label', { for: 'f-to' }, 'To (UTC)'), to),
      h('div', { class: 'field' }, h('span', { class: 'label', 'aria-hidden': 'true' }, '\u00a0'),
        h('button', { type: 'submit', class: 'btn btn-primary', id: 'f-apply' }, 'Apply')),
      quick.length ? h('div', { class: 'field' }, h('span', { class: 'label' }, 'Period'), h('div', { class: 'quick' }, quick)) : null,
      extra || null,
      problem);
  }

  // ---- charts ------------------------------------------------------------------

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // A stacked daily bar chart of passing and failing messages. The canvas is
  // made now and drawn once it is in the page (Chart.js measures its box).
  function dailyChart(ctx, daily, labels) {
    const total = daily.reduce((n, d) => n + d.counts.messages, 0);
    const failing = daily.reduce((n, d) => n + fails(d.counts), 0);
    const canvas = h('canvas', {
      id: 'daily-chart',
      role: 'img',
      'aria-label': `Messages per day from ${daily.length ? daily[0].day : '?'} to ${daily.length ? daily[daily.length - 1].day : '?'}: ${fmt(total)} messages, ${fmt(failing)} failing DMARC.`,
    });
    const box = h('div', { class: 'chart-box' }, canvas);
    ctx.after.push(() => {
      if (typeof window.Chart !== 'function') {
        box.replaceChildren(h('p', { class: 'muted' }, 'The chart library did not load.'));
        return;
      }
      const fg = cssVar('--muted');
      const grid = cssVar('--chart-grid');
      const chart = new window.Chart(canvas, {
        type: 'bar',
        data: {
          labels: daily.map((d) => d.day),
          datasets: [
            { label: labels[0], data: daily.map((d) => d.counts.dmarc_pass), backgroundColor: cssVar('--chart-pass'), stack: 'm' },
            { label: labels[1], data: daily.map((d) => fails(d.counts)), backgroundColor: cssVar('--chart-fail'), stack: 'm' },
          ],
        },
        options: {
          animation: false,
          maintainAspectRatio: false,
          responsive: true,
          interaction: { mode: 'index', intersect: false },
          plugins: {
            legend: { position: 'bottom', labels: { color: fg, boxWidth: 12 } },
            tooltip: { callbacks: { title: (items) => `${items[0].label} (UTC)`, footer: (items) => `Messages: ${fmt(items.reduce((n, i) => n + i.parsed.y, 0))}` } },
          },
          scales: {
            x: {
              stacked: true,
              grid: { display: false },
              ticks: { color: fg, maxRotation: 0, autoSkipPadding: 12, callback(value) { return this.getLabelForValue(value).slice(5); } },
            },
            y: { stacked: true, beginAtZero: true, grid: { color: grid }, ticks: { color: fg, precision: 0 } },
          },
        },
      });
      state.charts.push(chart);
    });
    return box;
  }

  // ---- findings --------------------------------------------------------------

  function evidence(ev) {
    if (!ev) return null;
    const rows = [
      ['Source IPs', ev.ips], ['Header From', ev.header_from], ['Envelope', ev.envelope_domains],
      ['DKIM', ev.dkim], ['SPF', ev.spf], ['Notes', ev.notes],
    ].filter(([, v]) => v && v.length);
    if (!rows.length) return null;
    return h('details', { class: 'evidence' }, h('summary', {}, 'Evidence'),
      facts(rows.map(([k, v]) => [k, chips(v.length > 12 ? v.slice(0, 12).concat(`… ${v.length - 12} more`) : v)])));
  }

  // One finding: severity, title, the advice as written (line breaks and
  // TOML snippets kept by white-space: pre-wrap), and the evidence.
  function findingBlock(f) {
    return h('div', { class: 'finding', dataset: { code: f.code || '' } },
      h('div', { class: 'finding-title' }, sevBadge(f.severity), h('span', {}, f.title)),
      h('div', { class: 'finding-meta' }, `${fmt(f.messages)} messages${f.sources ? ` from ${fmt(f.sources)} ${f.sources === 1 ? 'source' : 'sources'}` : ''} · ${f.code}`),
      f.advice ? h('pre', { class: 'advice' }, f.advice) : null,
      evidence(f.evidence));
  }

  function worst(findings) {
    return findings.reduce((w, f) => Math.min(w, sevRank(f.severity)), 3);
  }

  // "What to fix": critical and warning findings grouped by path, worst and
  // largest first, with a link to each path's page.
  function whatToFix(overview, pathsDoc, scope) {
    const groups = [];
    const domainFindings = (pathsDoc.findings || overview.findings || []).filter((f) => sevRank(f.severity) <= 1);
    for (const p of pathsDoc.paths || []) {
      // A path's own policy_readiness repeats its card's "N of M fail" line
      // and the domain's policy_readiness: it stays on the path's page.
      const list = (p.findings || []).filter((f) => sevRank(f.severity) <= 1 && !(f.code === 'policy_readiness' && domainFindings.some((x) => x.code === 'policy_readiness')));
      if (list.length) groups.push({ key: p.key, label: labelForKey(p.key, overview.paths), kind: p.kind, messages: p.messages, failing: p.messages - p.dmarc_pass, findings: list });
    }
    if (domainFindings.length) groups.push({ key: null, label: `${overview.domain} (the whole domain)`, kind: null, messages: overview.totals.messages, failing: fails(overview.totals), findings: domainFindings });
    for (const g of groups) g.findings.sort((a, b) => sevRank(a.severity) - sevRank(b.severity) || b.messages - a.messages);
    groups.sort((a, b) => worst(a.findings) - worst(b.findings) || b.failing - a.failing || b.messages - a.messages);

    const critical = groups.reduce((n, g) => n + g.findings.filter((f) => f.severity === 'critical').length, 0);
    const warnings = groups.reduce((n, g) => n + g.findings.length, 0) - critical;
    const hint = groups.length ? `${critical} critical, ${warnings} ${warnings === 1 ? 'warning' : 'warnings'}` : null;
    const body = groups.length
      ? h('div', { class: 'fix-list' }, groups.map((g) => {
        const sev = SEVERITIES[worst(g.findings)] || 'info';
        return h('article', { class: `fix sev-border-${sev}`, dataset: { path: g.key || '' } },
          h('div', { class: 'fix-head' },
            g.kind ? kindBadge(g.kind) : null,
            h('h3', {}, g.key ? h('a', { href: href('path', { domain: overview.domain, key: g.key, from: scope.from, to: scope.to }) }, g.label) : g.label),
            g.key ? h('span', { class: 'hint' }, g.failing
              ? `${fmt(g.failing)} of ${fmt(g.messages)} messages fail DMARC`
              : `all ${fmt(g.messages)} messages pass DMARC`) : null),
          g.findings.map(findingBlock));
      }))
      : overview.totals.messages === 0
        ? h('p', { class: 'muted' }, 'No reports for this domain in this period: nothing to judge yet.')
        : h('p', { class: 'all-good' }, h('span', { class: 'badge sev-ok' }, 'ok'), 'Nothing to fix in this period: every declared path is aligned and nothing unexplained sends as this domain.');
    return h('section', { class: 'section', id: 'what-to-fix', 'aria-labelledby': 'what-to-fix-title' },
      h('div', { class: 'section-head' }, h('h2', { id: 'what-to-fix-title' }, 'What to fix'), hint ? h('span', { class: 'hint' }, hint) : null),
      body);
  }

  // ---- pages -----------------------------------------------------------------

  // The open alert incidents of a domain (docs/alerts.md), each with a
  // button that acknowledges it: it stays open and is still resolved by
  // the rules, but is marked as seen.
  function incidentList(incidents) {
    const rows = incidents.map((i) => {
      const ack = i.acknowledged
        ? h('span', { class: 'muted' }, `acknowledged ${utc(i.acknowledged_at)}`)
        : h('button', {
          type: 'button', class: 'btn btn-small', 'data-incident': String(i.id),
          onclick: async (ev) => {
            const button = ev.currentTarget;
            button.disabled = true;
            try {
              await request('POST', `/api/v1/incidents/${encodeURIComponent(i.id)}/ack`);
              route();
            } catch (e) {
              button.disabled = false;
              button.after(errorBox(e));
            }
          },
        }, 'Acknowledge');
      return h('li', { class: 'incident', id: `incident-${i.id}` },
        sevBadge(i.severity), ' ', h('span', { class: 'incident-title' }, i.title),
        h('span', { class: 'sub muted' }, ` open since ${utc(i.opened_at)} · ${fmt(i.notifications)} ${i.notifications === 1 ? 'email' : 'emails'} · `),
        ack);
    });
    return h('section', { class: 'section', id: 'incidents' },
      h('div', { class: 'section-head' }, h('h2', {}, 'Open alerts'), h('span', { class: 'hint' }, 'incidents the alert rules opened; each resolves by itself once clear')),
      h('ul', { class: 'incident-list' }, rows));
  }

  async function overviewView(ctx) {
    const scope = scopeOf(ctx.params);
    const params = { domain: scope.domain, from: scope.from, to: scope.to };
    const [ov, pathsDoc, domains, incidentsDoc] = await Promise.all([
      api('/api/v1/overview', params), api('/api/v1/paths', params), loadDomains(),
      api('/api/v1/incidents'), loadProviders(),
    ]);
    const incidents = (incidentsDoc.incidents || []).filter((i) => i.domain === ov.domain);
    const t = ov.totals;
    const declared = ov.paths.filter((p) => p.declared);
    const declaredFailing = declared.filter((p) => fails(p.counts) > 0);
    const declaredFailMsgs = declaredFailing.reduce((n, p) => n + fails(p.counts), 0);
    const unknown = ov.paths.filter((p) => p.kind === 'unknown').reduce((n, p) => n + fails(p.counts), 0);
    const undeclared = ov.paths.filter((p) => p.kind === 'undeclared');
    const apiScope = { domain: ov.domain, from: scope.from, to: scope.to };

    const kpis = h('div', { class: 'kpis' },
      kpi('Messages', fmt(t.messages), `${fmt(t.rows)} report rows`),
      kpi('DMARC pass', pct(t.dmarc_pass, t.messages), `${fmt(t.dmarc_pass)} messages`,
        t.messages ? (t.dmarc_pass / t.messages >= 0.98 ? 'good' : t.dmarc_pass / t.messages >= 0.9 ? 'warn' : 'bad') : null),
      kpi('Your paths failing', fmt(declaredFailMsgs),
        declared.length ? `${declaredFailing.length} of ${declared.length} declared paths${declaredFailing.length ? `: ${declaredFailing.map(pathLabel).join(', ')}` : ''}` : 'no declared paths',
        declaredFailMsgs ? 'bad' : 'good'),
      kpi('Unknown, failing', fmt(unknown), 'spoofing candidates', unknown ? 'warn' : null),
      kpi('Undeclared senders', fmt(undeclared.length), undeclared.length ? undeclared.map(pathLabel).join(', ') : 'none', undeclared.length ? 'warn' : null));

    const pathRows = ov.paths;
    const table = dataTable({
      label: 'Sending paths',
      rows: pathRows,
      csv: { endpoint: '/api/v1/overview', params: apiScope },
      empty: 'No reports for this domain in this period.',
      rowClass: (p) => (p.top_finding && ['critical', 'warning'].includes(p.top_finding.severity) ? `row-${p.top_finding.severity}` : null),
      columns: [
        { label: 'Kind', cell: (p) => kindBadge(p.kind) },
        { label: 'Path', cell: (p) => h('a', { class: 'path-name', href: href('path', { domain: ov.domain, key: p.key, from: scope.from, to: scope.to }) }, pathLabel(p)) },
        { label: 'Provider', cell: (p) => providerName(p.provider) || h('span', { class: 'muted' }, '—') },
        { label: 'Messages', num: true, cell: (p) => fmt(p.counts.messages) },
        { label: 'DMARC pass', num: true, cell: (p) => rateCell(p.counts.dmarc_pass, p.counts.messages) },
        { label: 'SPF aligned', num: true, cell: (p) => h('span', { title: `${fmt(p.counts.spf_aligned)} messages` }, pct(p.counts.spf_aligned, p.counts.messages)) },
        { label: 'DKIM aligned', num: true, cell: (p) => h('span', { title: `${fmt(p.counts.dkim_aligned)} messages` }, pct(p.counts.dkim_aligned, p.counts.messages)) },
        { label: 'Sources', num: true, cell: (p) => fmt(p.sources) },
        { label: 'Top finding', cell: (p) => (p.top_finding
          ? h('span', { class: 'finding-cell' }, sevBadge(p.top_finding.severity), h('span', {}, p.top_finding.title))
          : h('span', { class: 'badge sev-ok' }, 'aligned')) },
      ],
    });

    const domainFindings = ov.findings || [];
    const node = [
      pageHead(ov.domain, policyBadge(ov.policy), h('span', { class: 'sub' }, `${ov.from} to ${ov.to} (UTC)`)),
      filterBar({ page: 'overview', params: ctx.params, domains, period: ov }),
      kpis,
      incidents.length ? incidentList(incidents) : null,
      whatToFix(ov, pathsDoc, scope),
      h('section', { class: 'section', id: 'paths' },
        h('div', { class: 'section-head' }, h('h2', {}, 'Sending paths'), h('span', { class: 'hint' }, 'Failing paths first. Select a path for its sources, identifiers and advice.')),
        table),
      section('Messages per day', 'DMARC pass and fail, as recomputed from the reports', dailyChart(ctx, ov.daily, ['DMARC pass', 'DMARC fail'])),
      section('About the domain', null, domainFindings.length
        ? h('div', { id: 'domain-findings' }, domainFindings.map(findingBlock))
        : h('p', { class: 'muted' }, 'No findings about the domain as a whole.')),
    ];
    return { title: `Overview · ${ov.domain}`, node };
  }

  async function pathView(ctx) {
    const scope = scopeOf(ctx.params);
    const key = ctx.params.get('key') || '';
    const domains = await loadDomains();
    await loadProviders();
    if (!key) throw new ApiError(400, 'bad_parameter', 'No path given: open a path from the overview.');
    let d;
    try {
      d = await api('/api/v1/path', { domain: scope.domain, key, from: scope.from, to: scope.to });
    } catch (e) {
      if (e.status !== 404) throw e;
      return pathMissing(ctx, scope, key, domains, e);
    }
    const p = d.path;
    const c = p.counts;
    const label = pathLabel(p);
    const apiScope = { domain: d.domain, key, from: scope.from, to: scope.to };

    const head = [
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
        h('a', { href: href('overview', { domain: d.domain, from: scope.from, to: scope.to }) }, d.domain),
        h('span', {}, 'Sending paths'), h('span', {}, label)),
      pageHead(label, kindBadge(p.kind), p.provider ? h('span', { class: 'sub' }, `via ${providerName(p.provider)}`) : null,
        p.declared ? null : h('span', { class: 'badge kind-undeclared' }, 'not declared'),
        h('span', { class: 'sub' }, `${d.from} to ${d.to} (UTC)`)),
    ];

    const kpis = h('div', { class: 'kpis' },
      kpi('Messages', fmt(c.messages), `${fmt(p.sources)} sources, ${fmt(p.reporters)} reporters`),
      kpi('DMARC pass', pct(c.dmarc_pass, c.messages), `${fmt(c.dmarc_pass)} messages`, c.messages ? (c.dmarc_pass === c.messages ? 'good' : c.dmarc_pass / c.messages >= 0.9 ? 'warn' : 'bad') : null),
      kpi('SPF aligned', pct(c.spf_aligned, c.messages), `${fmt(c.spf_aligned)} messages`),
      kpi('DKIM aligned', pct(c.dkim_aligned, c.messages), `${fmt(c.dkim_aligned)} messages`),
      kpi('Failing', fmt(fails(c)), c.disagreements ? `${fmt(c.disagreements)} where the reporter disagrees` : 'DMARC fail', fails(c) ? 'bad' : null));

    const findings = (d.findings || []).slice().sort((a, b) => sevRank(a.severity) - sevRank(b.severity));
    const findingsSection = h('section', { class: 'section', id: 'findings' },
      h('div', { class: 'section-head' }, h('h2', {}, 'Findings and advice')),
      findings.length ? findings.map(findingBlock)
        : c.messages ? h('p', { class: 'all-good' }, h('span', { class: 'badge sev-ok' }, 'ok'), 'Nothing to change on this path.')
          : h('p', { class: 'muted' }, 'No report mentions this path in this period: nothing to judge.'));

    const sources = dataTable({
      label: 'Sources',
      rows: d.sources,
      csv: { endpoint: '/api/v1/path', params: apiScope },
      columns: [
        { label: 'IP', cell: (s) => h('span', { class: 'mono' }, s.ip), csv: (s) => s.ip },
        { label: 'PTR', cell: (s) => s.ptr || h('span', { class: 'muted' }, '—'), csv: (s) => s.ptr || '' },
        ...countColumns((s) => s.counts),
        { label: 'First day', nowrap: true, cell: (s) => s.first_day },
        { label: 'Last day', nowrap: true, cell: (s) => s.last_day },
      ],
    });

    const dkimText = (x) => `d=${x.domain}${x.selector ? ` s=${x.selector}` : ''} ${x.result}`;
    const spfText = (x) => `${x.domain || '(empty)'}${x.scope ? ` (${x.scope})` : ''} ${x.result}`;
    const list = (items, text) => (items && items.length
      ? h('ul', { class: 'cell-list' }, items.map((x) => h('li', {}, text(x))))
      : h('span', { class: 'muted' }, 'none'));
    const identifiers = dataTable({
      label: 'Identifiers',
      rows: d.identifiers,
      csv: { filename: `identifiers-${d.domain}.csv` },
      note: `${fmt(d.identifiers.length)} groups, those behind failures first`,
      rowClass: (r) => (fails(r.counts) ? 'row-critical' : null),
      columns: [
        { label: 'IP', cell: (r) => h('span', { class: 'mono' }, r.ip), csv: (r) => r.ip },
        { label: 'Header From', cell: (r) => r.header_from, csv: (r) => r.header_from },
        { label: 'Envelope From', cell: (r) => r.envelope_from || h('span', { class: 'muted' }, '—'), csv: (r) => r.envelope_from || '' },
        { label: 'DKIM signatures', cell: (r) => list(r.dkim, dkimText), csv: (r) => (r.dkim || []).map(dkimText).join('; ') },
        { label: 'SPF results', cell: (r) => list(r.spf, spfText), csv: (r) => (r.spf || []).map(spfText).join('; ') },
        { label: 'Reasons', cell: (r) => (r.reasons && r.reasons.length ? r.reasons.join(', ') : h('span', { class: 'muted' }, '—')), csv: (r) => (r.reasons || []).join('; ') },
        { label: 'Disposition', cell: (r) => r.disposition, csv: (r) => r.disposition },
        ...countColumns((r) => r.counts),
      ],
    });

    const reporters = dataTable({
      label: 'Reporters',
      rows: d.reporters,
      csv: { filename: `reporters-${d.domain}.csv` },
      columns: [
        { label: 'Reporter', cell: (r) => r.reporter, csv: (r) => r.reporter },
        ...countColumns((r) => r.counts),
      ],
    });

    const node = [
      ...head,
      filterBar({ page: 'path', params: ctx.params, domains, period: d, keep: { key } }),
      kpis,
      findingsSection,
      section('Aligned and failing per day', 'messages of this path passing DMARC (aligned) and failing', dailyChart(ctx, d.daily, ['Aligned (DMARC pass)', 'Failing'])),
      h('section', { class: 'section', id: 'sources' }, h('div', { class: 'section-head' }, h('h2', {}, 'Sources'), h('span', { class: 'hint' }, 'per IP, most messages first')), sources),
      h('section', { class: 'section', id: 'identifiers' }, h('div', { class: 'section-head' }, h('h2', {}, 'Identifiers'), h('span', { class: 'hint' }, 'what the reports saw: who signed, which envelope, what passed')), identifiers),
      h('section', { class: 'section', id: 'reporters' }, h('div', { class: 'section-head' }, h('h2', {}, 'Reporters'), h('span', { class: 'hint' }, 'the receivers that saw this path')), reporters),
    ];
    return { title: `${label} · ${d.domain}`, node, nav: 'overview' };
  }

  // A link from an alert e-mail may name a period in which the path sent
  // nothing: keep the filters so the period can be changed from here.
  function pathMissing(ctx, scope, key, domains, e) {
    const label = labelForKey(key);
    return {
      title: label,
      nav: 'overview',
      node: [
        h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
          h('a', { href: href('overview', { domain: scope.domain, from: scope.from, to: scope.to }) }, scope.domain || 'Overview'),
          h('span', {}, 'Sending paths'), h('span', {}, label)),
        pageHead(label),
        filterBar({ page: 'path', params: ctx.params, domains, period: null, keep: { key } }),
        h('p', { class: 'notice', role: 'status' }, 'No data for this path in this period (', e.message, '). Choose another period, or ',
          h('a', { href: href('overview', { domain: scope.domain, from: scope.from, to: scope.to }) }, 'go back to the overview'), '.'),
      ],
    };
  }

  const KINDS = ['direct', 'smarthost', 'undeclared', 'forwarder', 'unknown'];

  async function sendersView(ctx) {
    const scope = scopeOf(ctx.params);
    const kind = KINDS.includes(ctx.params.get('kind')) ? ctx.params.get('kind') : '';
    const result = ['pass', 'fail'].includes(ctx.params.get('result')) ? ctx.params.get('result') : '';
    const params = { domain: scope.domain, from: scope.from, to: scope.to, kind, result };
    const [d, domains] = await Promise.all([api('/api/v1/senders', params), loadDomains(), loadProviders()]);
    const keep = { kind, result };
    const go2 = (over) => go('senders', { ...scope, ...keep, ...over });

    const kindSelect = h('select', { id: 'f-kind', onchange: (ev) => go2({ kind: ev.target.value }) },
      h('option', { value: '' }, 'All kinds'), KINDS.map((k) => h('option', { value: k }, k)));
    kindSelect.value = kind;
    const resultSelect = h('select', { id: 'f-result', onchange: (ev) => go2({ result: ev.target.value }) },
      h('option', { value: '' }, 'Pass and fail'), h('option', { value: 'pass' }, 'Passing DMARC'), h('option', { value: 'fail' }, 'Failing DMARC'));
    resultSelect.value = result;
    const extra = [
      h('div', { class: 'field' }, h('label', { for: 'f-kind' }, 'Kind'), kindSelect),
      h('div', { class: 'field' }, h('label', { for: 'f-result' }, 'Result'), resultSelect),
    ];

    const pathLink = (s) => h('a', { href: href('path', { domain: d.domain, key: s.path, from: scope.from, to: scope.to }) },
      s.name || (s.kind === 'undeclared' ? providerName(s.provider) : labelForKey(s.path)));
    const table = dataTable({
      label: 'Senders',
      rows: d.senders,
      csv: { endpoint: '/api/v1/senders', params: { ...params, domain: d.domain } },
      note: d.senders.length >= 2000 ? 'the 2,000 with the most messages (the CSV has all)' : undefined,
      rowClass: (s) => (s.kind === 'unknown' && fails(s.counts) ? 'row-critical' : s.kind === 'undeclared' ? 'row-warning' : null),
      columns: [
        { label: 'IP', cell: (s) => h('span', { class: 'mono' }, s.ip) },
        { label: 'PTR', cell: (s) => s.ptr || h('span', { class: 'muted' }, '—') },
        { label: 'Kind', cell: (s) => kindBadge(s.kind) },
        { label: 'Path', nowrap: true, cell: pathLink },
        { label: 'Provider', nowrap: true, cell: (s) => providerName(s.provider) || h('span', { class: 'muted' }, '—') },
        ...countColumns((s) => s.counts),
        { label: 'SPF aligned', num: true, cell: (s) => pct(s.counts.spf_aligned, s.counts.messages) },
        { label: 'DKIM aligned', num: true, cell: (s) => pct(s.counts.dkim_aligned, s.counts.messages) },
      ],
    });
    const node = [
      pageHead('Senders', h('span', { class: 'sub' }, `${d.domain} · ${d.from} to ${d.to} (UTC)`)),
      filterBar({ page: 'senders', params: ctx.params, domains, period: d, keep, extra }),
      h('section', { class: 'section', id: 'senders' },
        h('div', { class: 'section-head' }, h('h2', {}, 'Source IPs'), h('span', { class: 'hint' }, 'every IP that sent as the domain, most messages first')),
        table),
    ];
    return { title: `Senders · ${d.domain}`, node };
  }

  const PAGE_SIZE = 100;

  async function reportsView(ctx) {
    if (ctx.id) return reportView(ctx);
    const scope = scopeOf(ctx.params);
    const offset = Math.max(0, parseInt(ctx.params.get('offset') || '0', 10) || 0);
    const params = { domain: scope.domain, from: scope.from, to: scope.to };
    const [d, domains] = await Promise.all([api('/api/v1/reports', { ...params, limit: PAGE_SIZE, offset }), loadDomains()]);
    const reports = d.reports || [];
    const table = dataTable({
      label: 'Reports',
      rows: reports,
      csv: { endpoint: '/api/v1/reports', params: { ...params, limit: 5000 } },
      note: reports.length ? `${fmt(offset + 1)}–${fmt(offset + reports.length)}, newest first` : '',
      empty: 'No reports match.',
      rowClass: (r) => (r.duplicate_of ? 'row-warning' : null),
      columns: [
        { label: 'Reporter', cell: (r) => h('a', { href: `#/reports/${encodeURIComponent(r.id)}` }, r.org || '(no name)') },
        { label: 'Domain', cell: (r) => r.domain },
        { label: 'Range (UTC)', nowrap: true, cell: (r) => range(r.begin, r.end) },
        { label: 'Rows', num: true, cell: (r) => fmt(r.records) },
        { label: 'Messages', num: true, cell: (r) => fmt(r.messages) },
        { label: 'Duplicate', cell: (r) => (r.duplicate_of ? h('a', { class: 'badge sev-warning', href: `#/reports/${encodeURIComponent(r.duplicate_of)}` }, `copy of #${r.duplicate_of}`) : h('span', { class: 'muted' }, '—')) },
        { label: 'Warnings', num: true, cell: (r) => (r.warnings ? h('span', { class: 'rate-warn' }, fmt(r.warnings)) : '0') },
        { label: 'Imported', nowrap: true, cell: (r) => utc(r.imported_at) },
      ],
    });
    const pageParams = (o) => ({ ...params, offset: o || '' });
    const pager = h('div', { class: 'pager' },
      h('a', { class: 'btn btn-small', href: offset > 0 ? href('reports', pageParams(Math.max(0, offset - PAGE_SIZE))) : null, 'aria-disabled': offset > 0 ? null : 'true' }, '← Newer'),
      h('a', { class: 'btn btn-small', href: reports.length === PAGE_SIZE ? href('reports', pageParams(offset + PAGE_SIZE)) : null, 'aria-disabled': reports.length === PAGE_SIZE ? null : 'true' }, 'Older →'));
    const node = [
      pageHead('Reports', h('span', { class: 'sub' }, scope.domain || 'all domains')),
      filterBar({ page: 'reports', params: ctx.params, domains, period: null, allDomains: true, periodOptional: true }),
      h('section', { class: 'section', id: 'reports' },
        h('div', { class: 'section-head' }, h('h2', {}, 'Aggregate reports'), h('span', { class: 'hint' }, 'as the reporters sent them')),
        table, pager),
    ];
    return { title: 'Reports', node };
  }

  async function reportView(ctx) {
    const id = ctx.id;
    if (!/^\d+$/.test(id)) throw new ApiError(404, 'not_found', 'No such report.');
    const d = await api(`/api/v1/reports/${id}`);
    const r = d.report;
    const pol = r.policy || {};
    const xmlUrl = `/api/v1/reports/${id}/xml`;

    const summary = facts([
      ['Reporter', r.org], ['Reporter email', r.email], ['Report ID', h('span', { class: 'mono' }, r.report_id)],
      ['Domain', r.domain], ['Range', range(r.begin, r.end)],
      ['Rows', fmt(r.records)], ['Messages', fmt(r.messages)],
      ['Format version', r.version], ['Generator', r.generator],
      ['Source', r.source], ['Payload', r.payload], ['Imported', utc(r.imported_at)],
      r.duplicate_of ? ['Duplicate of', h('a', { href: `#/reports/${encodeURIComponent(r.duplicate_of)}` }, `report #${r.duplicate_of}`)] : null,
    ]);
    const policy = facts([
      ['Domain', pol.domain], ['p', pol.p], ['sp', pol.sp], ['np', pol.np], ['adkim', pol.adkim], ['aspf', pol.aspf],
      ['pct', pol.pct], ['fo', pol.fo], ['testing', pol.testing], ['discovery', pol.discovery_method],
    ]);
    const problems = [
      ...(r.errors || []).map((e) => ['error', e]),
      ...(r.warnings || []).map((w) => ['warning', `${w.code}: ${w.detail}`]),
    ];

    const authList = (items, text) => (items && items.length
      ? h('ul', { class: 'cell-list' }, items.map((x) => h('li', {}, text(x))))
      : h('span', { class: 'muted' }, 'none'));
    const dkimText = (x) => `d=${x.domain}${x.selector ? ` s=${x.selector}` : ''} ${x.result}${x.human_result ? ` (${x.human_result})` : ''}`;
    const spfText = (x) => `${x.domain || '(empty)'}${x.scope ? ` (${x.scope})` : ''} ${x.result}${x.human_result ? ` (${x.human_result})` : ''}`;
    const reasonText = (x) => `${x.type}${x.comment ? `: ${x.comment}` : ''}`;
    const yes = (b) => (b ? 'yes' : 'no');
    const rows = dataTable({
      label: 'Rows',
      rows: d.records || [],
      csv: { filename: `report-${id}-rows.csv` },
      rowClass: (x) => (x.analysis && !x.analysis.dmarc_pass ? 'row-critical' : null),
      columns: [
        { label: '#', num: true, cell: (x) => String(x.row + 1), csv: (x) => x.row + 1 },
        { label: 'Source IP', cell: (x) => h('span', { class: 'mono' }, x.source_ip), csv: (x) => x.source_ip },
        { label: 'Count', num: true, cell: (x) => fmt(x.count), csv: (x) => x.count },
        { label: 'Path', nowrap: true, cell: (x) => (x.analysis ? h('span', {}, kindBadge(x.analysis.kind), ' ', h('a', { href: href('path', { domain: r.domain, key: x.analysis.path }) }, labelForKey(x.analysis.path))) : h('span', { class: 'muted' }, 'not analysed')), csv: (x) => (x.analysis ? x.analysis.path : '') },
        { label: 'DMARC (recomputed)', cell: (x) => (x.analysis ? h('span', { class: x.analysis.dmarc_pass ? 'rate-good' : 'rate-bad' }, x.analysis.dmarc_pass ? 'pass' : 'fail') : '—'), csv: (x) => (x.analysis ? (x.analysis.dmarc_pass ? 'pass' : 'fail') : '') },
        { label: 'SPF / DKIM aligned', cell: (x) => (x.analysis ? `${yes(x.analysis.spf_aligned)} / ${yes(x.analysis.dkim_aligned)}` : '—'), csv: (x) => (x.analysis ? `${yes(x.analysis.spf_aligned)}/${yes(x.analysis.dkim_aligned)}` : '') },
        { label: 'Rule', num: true, cell: (x) => (x.analysis ? String(x.analysis.rule) : '—'), csv: (x) => (x.analysis ? x.analysis.rule : '') },
        { label: 'Evidence', wrap: true, cell: (x) => (x.analysis && x.analysis.evidence ? x.analysis.evidence : '—'), csv: (x) => (x.analysis ? x.analysis.evidence : '') },
        { label: 'Reporter said', cell: (x) => h('span', {}, `dkim ${x.policy_evaluated.dkim}, spf ${x.policy_evaluated.spf}`, x.analysis && x.analysis.disagrees ? [' ', h('span', { class: 'badge sev-info', title: 'the reporter\u2019s verdict differs from the recomputation' }, 'disagrees')] : null), csv: (x) => `dkim ${x.policy_evaluated.dkim}, spf ${x.policy_evaluated.spf}` },
        { label: 'Disposition', cell: (x) => x.disposition, csv: (x) => x.disposition },
        { label: 'Reasons', cell: (x) => authList(x.policy_evaluated.reasons, reasonText), csv: (x) => (x.policy_evaluated.reasons || []).map(reasonText).join('; ') },
        { label: 'Header From', cell: (x) => x.header_from, csv: (x) => x.header_from },
        { label: 'Envelope From', cell: (x) => x.envelope_from || h('span', { class: 'muted' }, '—'), csv: (x) => x.envelope_from || '' },
        { label: 'Envelope To', cell: (x) => x.envelope_to || h('span', { class: 'muted' }, '—'), csv: (x) => x.envelope_to || '' },
        { label: 'DKIM', cell: (x) => authList(x.dkim, dkimText), csv: (x) => (x.dkim || []).map(dkimText).join('; ') },
        { label: 'SPF', cell: (x) => authList(x.spf, spfText), csv: (x) => (x.spf || []).map(spfText).join('; ') },
      ],
    });

    // The XML as text: textContent shows markup as characters, never as markup.
    const xml = h('pre', { class: 'xml', id: 'report-xml', tabindex: '0', 'aria-label': 'Report XML' }, 'Loading the XML…');
    ctx.after.push(async () => {
      const MAX = 400000;
      try {
        const text = await request('GET', xmlUrl, { text: true });
        xml.textContent = text.length > MAX ? `${text.slice(0, MAX)}\n… (${fmt(text.length - MAX)} more characters: download the file)` : text;
      } catch (e) {
        xml.textContent = `The XML could not be read: ${e.message}`;
      }
    });

    const node = [
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: href('reports', {}) }, 'Reports'), h('span', {}, `#${id}`)),
      pageHead(r.org || '(no name)', h('span', { class: 'sub' }, `${r.domain} · ${range(r.begin, r.end)}`),
        r.duplicate_of ? h('span', { class: 'badge sev-warning' }, 'duplicate') : null),
      h('div', { class: 'grid-2' },
        section('Report', null, summary),
        section('Policy published', null, policy)),
      problems.length ? section('Errors and warnings', null, h('ul', {}, problems.map(([k, t]) => h('li', {}, sevBadge(k === 'error' ? 'critical' : 'warning'), ' ', t)))) : null,
      h('section', { class: 'section', id: 'rows' },
        h('div', { class: 'section-head' }, h('h2', {}, 'Rows'), h('span', { class: 'hint' }, 'each with its path, the attribution rule that decided, and what matched')),
        rows),
      h('section', { class: 'section', id: 'xml' },
        h('div', { class: 'section-head' }, h('h2', {}, 'Original XML'),
          h('a', { class: 'btn btn-small', href: xmlUrl, download: `report-${id}.xml` }, 'Download XML')),
        xml),
    ];
    return { title: `Report #${id}`, node, nav: 'reports' };
  }

  async function rejectedView() {
    const d = await api('/api/v1/rejected', { limit: 500 });
    const list = d.rejected || [];
    const table = dataTable({
      label: 'Rejected inputs',
      rows: list,
      csv: { endpoint: '/api/v1/rejected', params: { limit: 5000 } },
      empty: 'Nothing was rejected.',
      rowClass: (r) => (r.code === 'skipped' ? null : 'row-warning'),
      columns: [
        { label: 'First seen', nowrap: true, cell: (r) => utc(r.first_seen) },
        { label: 'Seen', num: true, cell: (r) => fmt(r.seen) },
        { label: 'Reason', cell: (r) => h('span', {}, h('span', { class: `badge ${r.code === 'skipped' ? 'sev-info' : 'sev-warning'}` }, r.code), ' ', h('span', { class: 'mono' }, r.reason)) },
        { label: 'Message', wrap: true, cell: (r) => r.message },
        { label: 'Name', wrap: true, cell: (r) => r.name || h('span', { class: 'muted' }, '—') },
        { label: 'Payload', cell: (r) => h('span', { class: 'mono' }, r.payload) },
        { label: 'Source', wrap: true, cell: (r) => r.source },
        { label: 'Original', cell: (r) => (r.input_id !== null && r.input_id !== undefined
          ? h('a', { href: `/api/v1/rejected/${encodeURIComponent(r.id)}/original`, download: `input-${r.input_id}.bin` }, 'Download')
          : h('span', { class: 'muted' }, 'not kept')) },
      ],
    });
    const node = [
      pageHead('Rejected inputs', h('span', { class: 'sub' }, 'what was not imported, and why')),
      h('section', { class: 'section', id: 'rejected' },
        h('div', { class: 'section-head' }, h('h2', {}, 'Inputs'), h('span', { class: 'hint' }, 'each is kept as it arrived: download it to look inside')),
        table),
    ];
    return { title: 'Rejected inputs', node };
  }

  // Where reports come from (mailboxes, watched folders) and where alerts go:
  // GET /api/v1/status, as `dmarcwatch status` shows it.
  async function intakeView() {
    const d = await api('/api/v1/status');
    const result = (run) => {
      if (!run) return h('span', { class: 'muted' }, 'never');
      if (run.result === 'ok') return h('span', { class: 'badge sev-ok' }, 'ok');
      if (run.result === 'failed') return h('span', {}, h('span', { class: 'badge sev-critical' }, 'failed'), ' ', h('span', { class: 'mono' }, run.error ? run.error.reason : ''));
      return h('span', { class: 'badge sev-info' }, run.result);
    };
    const lastError = (x) => (x.last_error
      ? h('span', {}, utc(x.last_error.at), ' ', h('span', { class: 'mono' }, x.last_error.reason), ': ', x.last_error.message)
      : h('span', { class: 'muted' }, '—'));
    const runColumns = (lastKey, runsLabel) => [
      { label: lastKey === 'last_poll' ? 'Last poll' : 'Last scan', nowrap: true, cell: (x) => (x[lastKey] ? utc(x[lastKey].started) : '—'), csv: (x) => (x[lastKey] ? x[lastKey].started : '') },
      { label: 'Result', cell: (x) => result(x[lastKey]), csv: (x) => (x[lastKey] ? x[lastKey].result : 'never') },
      { label: 'Seen', num: true, cell: (x) => fmt(x.total.seen), csv: (x) => x.total.seen },
      { label: 'Imported', num: true, cell: (x) => fmt(x.total.imported), csv: (x) => x.total.imported },
      { label: 'Invalid', num: true, cell: (x) => h('span', { class: x.total.invalid ? 'rate-bad' : null }, fmt(x.total.invalid)), csv: (x) => x.total.invalid },
      { label: runsLabel, num: true, cell: (x) => fmt(x.total.runs), csv: (x) => x.total.runs },
      { label: 'Failed in a row', num: true, cell: (x) => h('span', { class: x.failure_streak ? 'rate-bad' : null }, fmt(x.failure_streak)), csv: (x) => x.failure_streak },
      { label: 'Last error', wrap: true, cell: lastError, csv: (x) => (x.last_error ? `${x.last_error.reason}: ${x.last_error.message}` : '') },
    ];
    const mailboxes = dataTable({
      label: 'Mailboxes',
      rows: d.mailboxes || [],
      csv: { filename: 'mailboxes.csv' },
      empty: 'No mailbox is configured ([[mailboxes]], docs/imap.md).',
      columns: [
        { label: 'Name', cell: (x) => h('span', { class: 'path-name' }, x.name), csv: (x) => x.name },
        { label: 'Server', cell: (x) => h('span', { class: 'mono' }, `${x.host} ${x.folder}`), csv: (x) => `${x.host} ${x.folder}` },
        ...runColumns('last_poll', 'Polls'),
      ],
    });
    const watched = dataTable({
      label: 'Watched folders',
      rows: d.watch || [],
      csv: { filename: 'watched-folders.csv' },
      empty: 'No folder is watched ([[watch]]).',
      columns: [
        { label: 'Folder', wrap: true, cell: (x) => h('span', { class: 'mono' }, x.path), csv: (x) => x.path },
        ...runColumns('last_scan', 'Scans'),
      ],
    });
    const st = d.store || {};
    const al = d.alerts || {};
    const node = [
      pageHead('Intake', h('span', { class: 'sub' }, 'where reports come from, and where alerts go')),
      h('section', { class: 'section', id: 'intake-mailboxes' },
        h('div', { class: 'section-head' }, h('h2', {}, 'Mailboxes'), h('span', { class: 'hint' }, 'polled by dmarcwatch serve; totals over every poll')),
        mailboxes),
      h('section', { class: 'section', id: 'intake-watch' },
        h('div', { class: 'section-head' }, h('h2', {}, 'Watched folders'), h('span', { class: 'hint' }, 'files are moved to done/ or rejected/ once read')),
        watched),
      h('section', { class: 'section', id: 'intake-store' },
        h('div', { class: 'section-head' }, h('h2', {}, 'Store')),
        facts([
          ['Reports', fmt(st.reports)],
          ['Records', fmt(st.records)],
          ['Messages', fmt(st.messages)],
          ['Rejected payloads', h('a', { href: href('rejected', {}) }, fmt(st.rejects))],
          ['Inputs kept', fmt(st.inputs)],
        ])),
      h('section', { class: 'section', id: 'intake-alerts' },
        h('div', { class: 'section-head' }, h('h2', {}, 'Alerts'), h('span', { class: 'hint' }, al.enabled ? 'emails on misaligned senders (docs/alerts.md)' : 'off: set alerts.recipients and alerts.smtp.host')),
        facts([
          ['Open incidents', `${fmt(al.open_incidents)} (${fmt(al.unacknowledged)} not acknowledged)`],
          ['Outbox', `${fmt(al.queued)} queued, ${fmt(al.failed)} failed, ${fmt(al.sent)} sent`],
          al.next_attempt ? ['Next attempt', utc(al.next_attempt)] : null,
          al.last_sent ? ['Last sent', utc(al.last_sent)] : null,
          al.last_error ? ['Last delivery error', h('span', {}, utc(al.last_error.at), ' ', al.last_error.message)] : null,
        ])),
    ];
    return { title: 'Intake', node };
  }

  async function configView() {
    const d = await api('/api/v1/config');
    const dnsOn = d.dns && d.dns.enabled;
    const domains = dataTable({
      label: 'Domains',
      rows: d.domains || [],
      csv: { filename: 'domains.csv' },
      columns: [
        { label: 'Domain', cell: (x) => h('a', { href: href('overview', { domain: x.domain }) }, x.domain), csv: (x) => x.domain },
        { label: 'Policy', cell: (x) => policyBadge(x.policy) || h('span', { class: 'muted' }, 'unknown'), csv: (x) => x.policy || '' },
        { label: 'SPF record', wrap: true, cell: (x) => (x.spf ? h('span', { class: 'mono' }, x.spf.record || '(none)') : h('span', { class: 'muted' }, dnsOn ? 'not checked' : 'DNS is off')), csv: (x) => (x.spf ? x.spf.record : '') },
        { label: 'Lookups', num: true, cell: (x) => (x.spf ? h('span', { class: x.spf.over_limit ? 'rate-bad' : null }, `${x.spf.lookups} / 10`) : '—'), csv: (x) => (x.spf ? x.spf.lookups : '') },
        { label: 'Includes', cell: (x) => (x.spf ? chips(x.spf.includes, 'none') : '—'), csv: (x) => (x.spf ? (x.spf.includes || []).join(' ') : '') },
        { label: 'Problems', wrap: true, cell: (x) => (x.spf ? (x.spf.problems && x.spf.problems.length ? h('ul', { class: 'cell-list' }, x.spf.problems.map((p) => h('li', {}, sevBadge('warning'), ' ', p))) : h('span', { class: 'badge sev-ok' }, 'none')) : '—'), csv: (x) => (x.spf ? (x.spf.problems || []).join('; ') : '') },
      ],
    });
    const paths = d.paths || [];
    const pathsTable = dataTable({
      label: 'Declared paths',
      rows: paths,
      csv: { filename: 'paths.csv' },
      columns: [
        { label: 'Name', cell: (p) => h('span', { class: 'path-name' }, p.name), csv: (p) => p.name },
        { label: 'Kind', cell: (p) => kindBadge(p.kind), csv: (p) => p.kind },
        { label: 'Provider', cell: (p) => (p.catalog ? p.catalog.name : p.provider || h('span', { class: 'muted' }, '—')), csv: (p) => p.provider || '' },
        { label: 'IPs', cell: (p) => chips(p.ips), csv: (p) => (p.ips || []).join(' ') },
        { label: 'DKIM domains', cell: (p) => chips(p.dkim_domains), csv: (p) => (p.dkim_domains || []).join(' ') },
        { label: 'DKIM selectors', cell: (p) => chips(p.dkim_selectors), csv: (p) => (p.dkim_selectors || []).join(' ') },
        { label: 'Return-path domains', cell: (p) => chips(p.return_path_domains), csv: (p) => (p.return_path_domains || []).join(' ') },
      ],
    });
    const sourceLink = (s) => (/^https:\/\//i.test(s) ? h('a', { href: s, rel: 'noopener noreferrer', target: '_blank' }, s) : s);
    const catalogCards = paths.filter((p) => p.catalog).map((p) => {
      const c = p.catalog;
      return h('article', { class: 'fix' },
        h('div', { class: 'fix-head' }, h('h3', {}, `${p.name}`), h('span', { class: 'sub muted' }, `${c.name} · ${c.type}`)),
        facts([
          ['SPF include', chips(c.spf_includes, 'none')],
          ['Its DKIM domains', chips(c.dkim_domains, 'none')],
          ['DKIM for your domain', c.dkim_setup ? h('pre', { class: 'advice' }, c.dkim_setup) : null],
          ['Its return-path domains', chips(c.return_path_domains, 'none')],
          ['Custom return-path', c.custom_return_path],
          ['Return-path setup', c.return_path_setup ? h('pre', { class: 'advice' }, c.return_path_setup) : null],
          ['PTR domains', chips(c.ptr_domains, 'none')],
          c.via && c.via.length ? ['Sends through', chips(c.via)] : null,
          c.notes ? ['Notes', h('pre', { class: 'advice' }, c.notes)] : null,
          ['Checked', c.checked],
          c.sources && c.sources.length ? ['Sources', h('details', {}, h('summary', {}, `${c.sources.length} references`), h('ul', {}, c.sources.map((s) => h('li', {}, sourceLink(s)))))] : null,
        ]));
    });
    const node = [
      pageHead('Configuration', h('span', { class: 'sub' }, 'read-only: change the configuration file, then run dmarcwatch reanalyze')),
      h('section', { class: 'section', id: 'config-domains' },
        h('div', { class: 'section-head' }, h('h2', {}, 'Domains'), h('span', { class: 'hint' }, dnsOn ? 'with the SPF check of each domain' : 'DNS is off (--offline or dns.enabled = false): no SPF check')),
        domains),
      h('section', { class: 'section', id: 'config-paths' },
        h('div', { class: 'section-head' }, h('h2', {}, 'Declared sending paths'), h('span', { class: 'hint' }, '[[paths]] of the configuration')),
        pathsTable),
      catalogCards.length ? h('section', { class: 'section', id: 'config-catalog' },
        h('div', { class: 'section-head' }, h('h2', {}, 'What the provider catalog knows'), h('span', { class: 'hint' }, 'for each declared provider')),
        h('div', { class: 'fix-list' }, catalogCards)) : null,
    ];
    return { title: 'Configuration', node, nav: 'config' };
  }

  async function notFoundView() {
    return {
      title: 'Not found',
      node: [pageHead('No such page'), h('p', {}, 'This address is not a page of the dashboard. ', h('a', { href: '#/overview' }, 'Go to the overview.'))],
    };
  }

  function loginView() {
    const name = h('input', { type: 'text', id: 'login-name', name: 'name', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
    const password = h('input', { type: 'password', id: 'login-password', name: 'password', autocomplete: 'current-password', required: true });
    const error = h('div', { class: 'alert', role: 'alert', id: 'login-error', 'aria-live': 'assertive' });
    const submit = h('button', { type: 'submit', class: 'btn btn-primary', id: 'login-submit' }, 'Log in');
    const onsubmit = async (ev) => {
      ev.preventDefault();
      error.textContent = '';
      submit.disabled = true;
      try {
        state.session = await request('POST', '/api/v1/login', { body: { name: name.value, password: password.value } });
        state.domains = null;
        route();
      } catch (e) {
        error.textContent = e.message;
        password.select();
      } finally {
        submit.disabled = false;
      }
    };
    return h('main', { class: 'main', id: 'main' },
      h('form', { class: 'login', onsubmit, 'aria-labelledby': 'login-title' },
        h('div', { class: 'brand' }, h('span', { class: 'brand-mark', 'aria-hidden': 'true' }), 'dmarcwatch'),
        h('h1', { id: 'login-title' }, 'Log in'),
        h('div', { class: 'field' }, h('label', { for: 'login-name' }, 'Name'), name),
        h('div', { class: 'field' }, h('label', { for: 'login-password' }, 'Password'), password),
        error,
        submit));
  }

  const VIEWS = {
    overview: overviewView,
    path: pathView,
    senders: sendersView,
    reports: reportsView,
    rejected: rejectedView,
    intake: intakeView,
    config: configView,
    // A bookmarked login page after logging in: show the overview.
    login: async (ctx) => ({ ...(await overviewView(ctx)), nav: 'overview' }),
  };

  window.addEventListener('hashchange', route);
  route();
})();
