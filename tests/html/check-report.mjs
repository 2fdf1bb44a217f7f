// Opens a cloudscan HTML report in Debian's headless Chromium and prints what it shows as JSON.
//
//   node check-report.mjs REPORT.html SCREENSHOT.png [--filter-severity=critical] [--search=TEXT]
//                         [--expand-first] [--viewport-only]
//
// Fails the page (in the printed result, for the caller to assert) on console errors, page
// errors, dialogs, and any request that is not file: or data: (the report must not touch the
// network). Exits 0 whenever it could produce a result, 2 when it could not.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--'));
const option = (name) => {
  const hit = args.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (hit === undefined) return undefined;
  const eq = hit.indexOf('=');
  return eq < 0 ? true : hit.slice(eq + 1);
};
if (positional.length !== 2) {
  console.error('usage: node check-report.mjs REPORT.html SCREENSHOT.png [--filter-severity=SEV] [--search=TEXT] [--expand-first] [--viewport-only]');
  process.exit(2);
}
const [reportPath, screenshotPath] = positional.map((p) => resolve(p));
const READY_TIMEOUT_MS = 120_000;

const result = {
  url: pathToFileURL(reportPath).href,
  consoleErrors: [],
  pageErrors: [],
  dialogs: [],
  networkRequests: [],
  requests: 0,
};

const profile = mkdtempSync(join(tmpdir(), 'cloudscan-chromium-'));
let context;
try {
  // A fresh profile directory per run (removed at the end): nothing cached, nothing synced.
  context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    timeout: 60_000,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('console', (msg) => {
    if (msg.type() === 'error') result.consoleErrors.push(msg.text());
  });
  page.on('pageerror', (err) => result.pageErrors.push(String(err && err.stack ? err.stack : err)));
  page.on('dialog', async (dialog) => {
    result.dialogs.push(`${dialog.type()}: ${dialog.message()}`);
    await dialog.dismiss().catch(() => {});
  });
  // Every request the page makes, from any frame or worker of this context.
  context.on('request', (req) => {
    result.requests += 1;
    const url = req.url();
    if (!url.startsWith('file:') && !url.startsWith('data:')) result.networkRequests.push(`${req.method()} ${url}`);
  });

  const t0 = Date.now();
  await page.goto(result.url, { waitUntil: 'load', timeout: READY_TIMEOUT_MS });
  await page.waitForSelector('body[data-ready="1"]', { timeout: READY_TIMEOUT_MS, state: 'attached' });
  result.loadToReadyMs = Date.now() - t0;

  const read = () => page.evaluate(() => {
    const text = (id) => {
      const node = document.querySelector(`[data-testid="${id}"]`);
      return node ? node.textContent.trim() : null;
    };
    const num = (id) => {
      const t = text(id);
      return t === null ? null : Number(t.replace(/[^0-9-]/g, ''));
    };
    const counts = {};
    for (const k of ['critical', 'high', 'medium', 'low', 'info', 'waived', 'new', 'fixed']) counts[k] = num(`count-${k}`);
    return {
      counts,
      findingsTotal: num('findings-total'),
      findingsAll: num('findings-all'),
      rowsShown: document.querySelectorAll('[data-testid="finding-row"]').length,
      firstRowResource: document.querySelector('[data-testid="finding-row"] td.mono')?.textContent ?? null,
      firstRowResourceTitle: document.querySelector('[data-testid="finding-row"] td.mono')?.getAttribute('title') ?? null,
      status: text('scan-status'),
      complete: document.querySelector('[data-testid="scan-status"]')?.dataset.complete === '1',
      incompleteCount: num('incomplete-count'),
      trendPoints: Number(document.getElementById('trend-chart')?.dataset.points ?? -1),
      trendSvg: document.querySelector('[data-testid="trend-svg"]') !== null,
      frameworks: document.querySelectorAll('[data-testid="framework"]').length,
      coverageIncompleteRows: document.querySelectorAll('[data-testid="coverage-incomplete"]').length,
      clusterBars: document.querySelectorAll('[data-testid="cluster-bar"]').length,
      scopeBars: document.querySelectorAll('[data-testid="scope-bar"]').length,
      images: document.images.length,
      pageError: document.body.dataset.error || null,
      inPageReadyMs: Number(document.body.dataset.readyMs),
    };
  });
  Object.assign(result, await read());

  const search = option('search');
  if (typeof search === 'string') {
    await page.fill('[data-testid="filter-search"]', search);
    await page.waitForTimeout(400);
    result.afterSearch = { findingsTotal: (await read()).findingsTotal };
  }
  if (option('expand-first')) {
    const row = page.locator('[data-testid="finding-row"]').first();
    if ((await row.count()) > 0) {
      await row.click();
      const detail = page.locator('[data-testid="finding-detail"]').first();
      await detail.waitFor({ timeout: 10_000 });
      result.firstDetailText = await detail.textContent();
      result.imagesAfterExpand = await page.evaluate(() => document.images.length);
    }
  }
  const sev = option('filter-severity');
  if (typeof sev === 'string') {
    if (typeof search === 'string') await page.fill('[data-testid="filter-search"]', '');
    const t1 = Date.now();
    await page.selectOption('[data-testid="filter-severity"]', sev);
    await page.waitForFunction(
      (s) => document.querySelectorAll('[data-testid="finding-row"]').length === 0 ||
        Array.from(document.querySelectorAll('[data-testid="finding-row"] .sev')).every((n) => n.textContent === s),
      sev, { timeout: 30_000 });
    result.filterMs = Date.now() - t1;
    const after = await read();
    result.afterFilter = { severity: sev, findingsTotal: after.findingsTotal, rowsShown: after.rowsShown };
    // Put the filters back as they were for the screenshot (an expanded row stays expanded).
    await page.selectOption('[data-testid="filter-severity"]', '');
  }
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: screenshotPath, fullPage: !option('viewport-only') });
  result.screenshot = screenshotPath;
} catch (err) {
  result.fatal = String(err && err.stack ? err.stack : err);
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result) + '\n');
process.exit(result.fatal ? 2 : 0);
