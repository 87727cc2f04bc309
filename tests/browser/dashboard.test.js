// The dashboard in headless Chromium (Debian's package) against a running
// `dmarcwatch serve` with the demo month and hostile inputs (run.sh sets it
// up). Each check prints one line; the last line counts them. Exit status 1
// when any check fails.
'use strict';

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');

const BASE = process.env.DW_URL;
const OUT = process.env.DW_OUT;
const USER = process.env.DW_USER;
const PASSWORD = process.env.DW_PASSWORD;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
if (!BASE || !OUT || !USER || !PASSWORD) {
  console.error('set DW_URL, DW_OUT, DW_USER and DW_PASSWORD (tests/browser/run.sh does)');
  process.exit(2);
}
// Only the server under test: loopback.
assert.match(BASE, /^http:\/\/127\.0\.0\.1:\d+$/);

const SCRIPT_TEXT = '<script>alert(1)</script>';
const IMG_TEXT = '<img src=x onerror=alert(2)>';
const SELECTOR_TEXT = '<img src=x onerror=window.__xss=3>';
const REJECTED_NAME = '<img src=x onerror=alert(3)>.xml';
const SENDGRID = `${BASE}/#/path?domain=example.com&key=path%3ASendGrid&from=2026-10-01&to=2026-10-31`;

// ---- a tiny runner ------------------------------------------------------------

const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push(true);
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push(false);
    console.log(`FAIL ${name} (${Date.now() - t0} ms)\n     ${String(e && e.stack ? e.stack : e).split('\n').slice(0, 6).join('\n     ')}`);
  }
}

// ---- what the browser reports -------------------------------------------------

const problems = { console: [], pageErrors: [], csp: [], dialogs: [], requests: [] };

// Answers the API gives by design and that Chromium logs as "Failed to load
// resource": the session probe before logging in, and the wrong password.
function expectedFailure(msg) {
  const url = (msg.location() && msg.location().url) || '';
  return /Failed to load resource: the server responded with a status of 401/.test(msg.text()) &&
    (url === `${BASE}/api/v1/session` || url === `${BASE}/api/v1/login`);
}

async function watch(context) {
  // Violations are reported to the test from inside every document.
  await context.exposeBinding('__dwReportViolation', (_source, v) => problems.csp.push(v));
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__dwReportViolation(`${e.violatedDirective} blocked ${e.blockedURI} at ${e.sourceFile}:${e.lineNumber}`);
    });
  });
  context.on('page', (page) => observe(page));
  for (const page of context.pages()) observe(page);
}

function observe(page) {
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !expectedFailure(msg)) problems.console.push(`${msg.text()} (${(msg.location() || {}).url || ''})`);
  });
  page.on('pageerror', (err) => problems.pageErrors.push(String(err)));
  page.on('dialog', async (dialog) => {
    problems.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss();
  });
  page.on('request', (req) => {
    if (req.method() !== 'GET') problems.requests.push({ method: req.method(), url: req.url(), headers: req.headers() });
  });
}

// ---- helpers ----------------------------------------------------------------------

// The view is drawn for the URL the page has now: a link click changes the
// hash before the app hears of it, so the old view's marks alone would pass.
async function ready(page, view) {
  await page.waitForFunction((v) => {
    const root = document.documentElement.dataset;
    return root.ready === v && root.rendered === location.hash && !document.getElementById('app').hasAttribute('aria-busy');
  }, view, { timeout: 15000 });
}

async function open(page, hash, view) {
  await page.goto(`${BASE}/${hash}`);
  await ready(page, view);
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(OUT, `${name}.png`), fullPage: true, scale: 'css' });
}

const kpiValue = (page, label) => page.locator('.kpi', { has: page.locator('.kpi-label', { hasText: new RegExp(`^${label}$`, 'i') }) }).locator('.kpi-value').innerText();

async function download(page, trigger) {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 10000 }), trigger()]);
  const file = await dl.path();
  return { name: dl.suggestedFilename(), text: fs.readFileSync(file, 'utf8') };
}

async function noHorizontalOverflow(page) {
  const m = await page.evaluate(() => ({
    doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, view: window.innerWidth,
  }));
  assert.ok(m.doc <= m.view && m.body <= m.view, `the page is wider than the screen: ${JSON.stringify(m)}`);
}

// The injected values never became elements or ran.
async function nothingRan(page) {
  const r = await page.evaluate(() => ({
    xss: window.__xss,
    imgs: document.querySelectorAll('img, svg').length,
    scripts: [...document.scripts].map((s) => s.getAttribute('src') || `inline:${s.textContent.slice(0, 40)}`),
  }));
  assert.equal(r.xss, undefined, 'window.__xss was set: injected markup ran');
  assert.equal(r.imgs, 0, 'an <img> or <svg> element was created from report data');
  assert.deepEqual(r.scripts, ['/assets/chart.min.js', '/assets/app.js']);
  assert.deepEqual(problems.dialogs, [], 'a dialog opened');
}

// ---- the checks ---------------------------------------------------------------------

async function main() {
  const t0 = Date.now();
  fs.mkdirSync(OUT, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true, timezoneId: 'America/Los_Angeles' });
  await watch(context);
  const page = await context.newPage();
  page.setDefaultTimeout(15000);

  await check('login: a wrong password shows the API\'s error', async () => {
    await open(page, '', 'login');
    await shot(page, 'login');
    await page.fill('#login-name', USER);
    await page.fill('#login-password', 'not-the-password');
    await page.click('#login-submit');
    await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
    assert.match(await page.textContent('#login-error'), /wrong name or password/);
    assert.equal(await page.locator('#login-name').count(), 1, 'still on the login page');
  });

  await check('login: the right password opens the overview', async () => {
    await page.fill('#login-password', PASSWORD);
    await page.click('#login-submit');
    await ready(page, 'overview');
    assert.match(await page.innerText('h1'), /example\.com/);
  });

  await check('overview: the chart draws, SendGrid fails first, "What to fix" names _domainkey', async () => {
    await open(page, '#/overview?domain=example.com&from=2026-10-01&to=2026-10-31', 'overview');
    const canvas = page.locator('canvas#daily-chart');
    const box = await canvas.boundingBox();
    assert.ok(box && box.width > 100 && box.height > 100, `canvas box ${JSON.stringify(box)}`);
    const drawn = await canvas.evaluate((c) => {
      const chart = window.Chart.getChart(c);
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < d.length; i += 4) if (d[i] > 0) painted += 1;
      return { chart: !!chart, days: chart ? chart.data.labels.length : 0, painted };
    });
    assert.ok(drawn.chart, 'no Chart on the canvas');
    assert.equal(drawn.days, 31);
    assert.ok(drawn.painted > 1000, `the canvas is nearly empty (${drawn.painted} pixels)`);

    const first = page.locator('#paths tbody tr').first();
    assert.equal((await first.locator('td').nth(1).innerText()).trim(), 'SendGrid');
    assert.equal((await first.locator('.badge.sev-critical').innerText()).trim().toLowerCase(), 'critical');
    assert.match(await first.innerText(), /0%/);

    const fix = page.locator('#what-to-fix .fix').first();
    assert.equal(await fix.getAttribute('data-path'), 'path:SendGrid');
    assert.match(await fix.innerText(), /_domainkey/);
    assert.match(await page.locator('#what-to-fix').innerText(), /ip4:192\.0\.2\.7/);
    assert.match(await page.locator('#what-to-fix').innerText(), /\[\[paths\]\]\n\s+name = "Mailgun/, 'the TOML snippet keeps its line breaks');
    const unknown = page.locator('#paths tbody tr', { has: page.locator('.kind-unknown') });
    assert.equal(await unknown.count(), 1, 'unknown senders have their badge');
    assert.ok((await page.locator('#domain-findings .finding').count()) >= 1, 'domain findings listed');
    await shot(page, 'overview');
  });

  await check('overview: CSV export downloads the paths with a header row', async () => {
    const csv = await download(page, () => page.locator('#paths a', { hasText: 'Download CSV' }).click());
    assert.match(csv.text, /^kind,name,provider,messages,dmarc_pass,spf_aligned,dkim_aligned,sources,top_finding\r\n/);
    assert.match(csv.text, /\r\nsmarthost,SendGrid,sendgrid,/);
  });

  await check('filters: the period and the domain change the URL and the numbers; a reload shows the same', async () => {
    const month = await kpiValue(page, 'Messages');
    await page.fill('#f-from', '2026-10-20');
    await page.fill('#f-to', '2026-10-20');
    await page.click('#f-apply');
    await page.waitForFunction(() => location.hash.includes('from=2026-10-20') && location.hash.includes('to=2026-10-20'));
    await ready(page, 'overview');
    const day = await kpiValue(page, 'Messages');
    assert.notEqual(day, month, 'the message count did not change');
    assert.match(await page.innerText('.page-head'), /2026-10-20 to 2026-10-20/);
    const chartDays = await page.locator('canvas#daily-chart').evaluate((c) => window.Chart.getChart(c).data.labels.length);
    assert.equal(chartDays, 1);

    await page.reload();
    await ready(page, 'overview');
    assert.equal(await kpiValue(page, 'Messages'), day, 'the reloaded URL shows another number');
    assert.equal(await page.inputValue('#f-from'), '2026-10-20');

    await page.selectOption('#f-domain', 'example.net');
    await page.waitForFunction(() => location.hash.includes('domain=example.net'));
    await ready(page, 'overview');
    assert.match(await page.innerText('h1'), /example\.net/);
    assert.notEqual(await kpiValue(page, 'Messages'), day, 'the domain changed but the numbers did not');
    assert.ok(page.url().includes('from=2026-10-20'), 'the period was kept');
  });

  await check('path: SendGrid (the alert e-mail link) shows findings, advice, sources, identifiers, reporters', async () => {
    await page.goto(SENDGRID);
    await ready(page, 'path');
    assert.equal((await page.innerText('h1')).trim(), 'SendGrid');
    const findings = page.locator('#findings');
    assert.match(await findings.innerText(), /sendgrid\.info/);
    assert.match(await findings.locator('pre.advice').first().innerText(), /_domainkey/);
    assert.equal(await findings.locator('.finding .badge.sev-critical').first().innerText().then((s) => s.toLowerCase()), 'critical');
    const sources = page.locator('#sources tbody tr');
    assert.ok((await sources.count()) >= 5, 'sources listed');
    assert.match(await sources.first().innerText(), /^(167\.89|149\.72)\./);
    assert.match(await page.locator('#identifiers').innerText(), /d=sendgrid\.info s=smtpapi pass/);
    assert.match(await page.locator('#reporters').innerText(), /google\.com/);
    const box = await page.locator('canvas#daily-chart').boundingBox();
    assert.ok(box && box.width > 100 && box.height > 100);
    await shot(page, 'path');
  });

  await check('path: client-side CSV of the identifiers downloads with a header row', async () => {
    const csv = await download(page, () => page.locator('#identifiers button', { hasText: 'Download CSV' }).click());
    assert.match(csv.text, /^IP,Header From,Envelope From,DKIM signatures,SPF results,Reasons,Disposition,Messages,DMARC pass,Failing\r\n(167\.89|149\.72)\./);
  });

  await check('overview: a path link leads to the path page', async () => {
    await open(page, '#/overview?domain=example.com', 'overview');
    await page.locator('#paths tbody tr').first().locator('a').first().click();
    await ready(page, 'path');
    assert.ok(page.url().includes('key=path%3ASendGrid'), page.url());
  });

  await check('senders: kind and result filters live in the URL', async () => {
    await open(page, '#/senders?domain=example.com&kind=unknown&result=fail', 'senders');
    const kinds = await page.locator('#senders tbody tr .badge').allInnerTexts();
    assert.ok(kinds.length > 10, 'unknown failing senders listed');
    assert.ok(kinds.every((k) => k.trim() === 'unknown'), `kinds: ${[...new Set(kinds)]}`);
    await page.selectOption('#f-kind', 'smarthost');
    await page.waitForFunction(() => location.hash.includes('kind=smarthost') && location.hash.includes('result=fail'));
    await ready(page, 'senders');
    const rows = await page.locator('#senders tbody tr').allInnerTexts();
    assert.ok(rows.length >= 1 && rows.every((r) => /SendGrid/.test(r)), 'only SendGrid fails among smarthosts');
    await page.selectOption('#f-result', '');
    await page.waitForFunction(() => !location.hash.includes('result='));
    await ready(page, 'senders');
    await shot(page, 'senders');
    const csv = await download(page, () => page.locator('#senders a', { hasText: 'Download CSV' }).click());
    assert.match(csv.text, /^ip,ptr,path,kind,name,provider,messages,dmarc_pass,spf_aligned,dkim_aligned\r\n/);
  });

  await check('reports: the hostile org_name shows as text and nothing runs', async () => {
    await open(page, '#/reports', 'reports');
    const cell = page.getByText(SCRIPT_TEXT, { exact: true });
    assert.equal(await cell.count(), 1, 'the org name is not on the page as text');
    assert.ok(await cell.isVisible());
    await nothingRan(page);
    await shot(page, 'reports');
    const csv = await download(page, () => page.locator('#reports a', { hasText: 'Download CSV' }).click());
    assert.match(csv.text, /^id,org,report_id,domain,begin,end,records,messages,duplicate_of\r\n/);
  });

  await check('report detail: values and the XML are text, the XML downloads', async () => {
    await page.getByText(SCRIPT_TEXT, { exact: true }).click();
    await ready(page, 'reports');
    assert.match(page.url(), /#\/reports\/\d+$/);
    assert.equal((await page.innerText('h1')).trim(), SCRIPT_TEXT);
    assert.equal(await page.getByText(`hostile-${IMG_TEXT}`, { exact: true }).count(), 1);
    assert.match(await page.locator('#rows').innerText(), /s=<img src=x onerror=window\.__xss=3> fail/);
    await page.waitForFunction(() => document.getElementById('report-xml').textContent.includes('<feedback>'));
    const xml = await page.locator('#report-xml').textContent();
    assert.ok(xml.includes('&lt;script&gt;alert(1)&lt;/script&gt;'), 'the XML is shown as it arrived');
    await nothingRan(page);
    await shot(page, 'report-detail');
    const file = await download(page, () => page.locator('#xml a', { hasText: 'Download XML' }).click());
    assert.match(file.text, /^<\?xml/);
    const rows = await download(page, () => page.locator('#rows button', { hasText: 'Download CSV' }).click());
    assert.match(rows.text, /^#,Source IP,Count,Path,/);
  });

  await check('path: hostile identifiers of unknown senders render as text', async () => {
    await open(page, '#/path?domain=example.com&key=unknown&from=2026-10-31&to=2026-10-31', 'path');
    assert.ok(await page.getByText(SELECTOR_TEXT, { exact: false }).count() >= 1, 'the selector is not shown');
    assert.ok(await page.getByText('<svg onload=window.__xss=2>.example', { exact: true }).count() >= 1, 'the envelope is not shown');
    await nothingRan(page);
  });

  await check('rejected: the reason and the name show as text; the original downloads', async () => {
    await open(page, '#/rejected', 'rejected');
    const row = page.locator('#rejected tbody tr', { hasText: 'xml_malformed' });
    assert.equal(await row.count(), 1);
    assert.equal(await row.getByText(REJECTED_NAME, { exact: true }).count(), 1);
    await nothingRan(page);
    await shot(page, 'rejected');
    const original = await download(page, () => row.locator('a', { hasText: 'Download' }).click());
    assert.match(original.text, /^<feedback><report_metadata>/);
    const csv = await download(page, () => page.locator('#rejected a', { hasText: 'Download CSV' }).click());
    assert.match(csv.text, /^id,input_id,source,payload,name,code,reason,message,first_seen,seen\r\n/);
  });

  await check('configuration: domains, declared paths and the catalog', async () => {
    await open(page, '#/config', 'config');
    assert.match(await page.locator('#config-domains').innerText(), /example\.net/);
    assert.match(await page.locator('#config-paths').innerText(), /em1234\.example\.com/);
    assert.match(await page.locator('#config-catalog').innerText(), /SendGrid \(Twilio\)/);
    await shot(page, 'configuration');
  });

  await check('overview: the open alerts of the domain, acknowledged with a click', async () => {
    await open(page, '#/overview?domain=example.com', 'overview');
    const items = page.locator('#incidents li.incident');
    assert.ok(await items.count() >= 3, `open incidents: ${await items.count()}`);
    assert.match(await page.locator('#incidents').innerText(), /SendGrid/);
    const first = items.first();
    const id = await first.getAttribute('id');
    await first.locator('button', { hasText: 'Acknowledge' }).click();
    await page.waitForFunction((i) => {
      const li = document.getElementById(i);
      return li && /acknowledged/.test(li.textContent) && !li.querySelector('button');
    }, id, { timeout: 15000 });
    await ready(page, 'overview');
    await shot(page, 'overview-incidents');
  });

  await check('intake: the watched folder serve scanned, the store, the alert outbox', async () => {
    await open(page, '#/intake', 'intake');
    const watched = await page.locator('#intake-watch').innerText();
    assert.match(watched, /browser-watch/);
    const row = page.locator('#intake-watch tbody tr').first();
    const cells = await row.locator('td').allInnerTexts();
    // Folder, Last scan, Result, Seen, Imported, Invalid, Scans, ...
    assert.strictEqual(cells[2].trim(), 'ok', cells.join(' | '));
    assert.strictEqual(cells[4].trim(), '1', cells.join(' | '));
    assert.match(await page.locator('#intake-mailboxes').innerText(), /No mailbox is configured/);
    assert.match(await page.locator('#intake-alerts').innerText(), /Open incidents\s+\d+ \(\d+ not acknowledged\)/);
    assert.match(await page.locator('#intake-alerts').innerText(), /Last delivery error/);
    assert.match(await page.locator('#intake-store').innerText(), /Reports\s+\d/);
    await shot(page, 'intake');
  });

  await check('phone (390×844): no horizontal overflow; tables scroll inside their box', async () => {
    const phone = await browser.newContext({
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
      storageState: await context.storageState(),
    });
    await watch(phone);
    const p = await phone.newPage();
    for (const [hash, view] of [
      ['#/overview?domain=example.com', 'overview'],
      ['#/path?domain=example.com&key=path%3ASendGrid', 'path'],
      ['#/senders?domain=example.com', 'senders'],
      ['#/reports', 'reports'],
      ['#/config', 'config'],
      ['#/intake', 'intake'],
    ]) {
      await open(p, hash, view);
      await noHorizontalOverflow(p);
      if (view === 'overview') {
        const wrap = await p.locator('#paths .table-wrap').evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
        assert.ok(wrap.scroll > wrap.client, 'the paths table should scroll inside its box at phone width');
        const box = await p.locator('canvas#daily-chart').boundingBox();
        assert.ok(box && box.width > 200 && box.width <= 390, `chart box ${JSON.stringify(box)}`);
        await shot(p, 'phone-overview');
      }
    }
    await phone.close();
  });

  await check('logout sends the CSRF token and returns to the login page', async () => {
    await open(page, '#/overview', 'overview');
    const response = page.waitForResponse((r) => r.url() === `${BASE}/api/v1/logout`);
    await page.click('#logout');
    assert.equal((await response).status(), 204);
    await ready(page, 'login');
    const sent = problems.requests.filter((r) => r.url === `${BASE}/api/v1/logout`);
    assert.equal(sent.length, 1);
    assert.match(sent[0].headers['x-csrf-token'] || '', /^[0-9a-f]{16,}$/);
  });

  await check('no console errors, page errors, CSP violations or dialogs', async () => {
    assert.deepEqual(problems.pageErrors, [], 'page errors');
    assert.deepEqual(problems.csp, [], 'CSP violations');
    assert.deepEqual(problems.console, [], 'console errors');
    assert.deepEqual(problems.dialogs, [], 'dialogs');
  });

  await browser.close();
  const passed = results.filter(Boolean).length;
  const failed = results.length - passed;
  console.log(`browser test: ${((Date.now() - t0) / 1000).toFixed(1)} s, screenshots in ${OUT}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exitCode = failed ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  console.log(`${results.filter(Boolean).length} passed, ${results.filter((r) => !r).length + 1} failed`);
  process.exit(1);
});
