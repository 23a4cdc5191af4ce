// Drives the web console in Debian's headless Chromium, as a person would: loads it against a
// running `reviewlake serve --enable-sql`, checks what it shows against the lake's own figures,
// submits a prediction, runs SQL (and a refused write), and saves screenshots on a desktop and a
// phone-sized screen. Run by tests/console.rs:
//
//   node tests/console/console.mjs BASE_URL OUT_DIR EXPECTED_ROWS EXPECTED_REJECTED [lag]
//
// With `lag`, the server reads a caught-up ingest's status: the console must show its lag as 0.
//
// Exits non-zero with the reason on the first failed check.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [base, outDir, expectedRows, expectedRejected, lag] = process.argv.slice(2);
if (!base || !outDir || !expectedRows || !expectedRejected) {
  console.error('usage: console.mjs BASE_URL OUT_DIR EXPECTED_ROWS EXPECTED_REJECTED');
  process.exit(2);
}
mkdirSync(outDir, { recursive: true });

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok: ${what}`);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const problems = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const origin = new URL(base).origin;
  // Failed loads are checked by status below (Chromium also logs each as a console error).
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(`console error: ${m.text()}`);
  });
  page.on('response', (r) => {
    const refusedWrite = r.url().endsWith('/sql') && r.status() === 403;
    if (r.status() >= 400 && !refusedWrite) problems.push(`${r.status()} for ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !r.url().startsWith('data:')) problems.push(`request outside the server: ${r.url()}`);
  });

  await page.goto(`${base}/`);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  await page.waitForSelector('#partitions tbody tr', { timeout: 30000 });

  // The lake, as the lake's own figures say.
  const totals = await page.$$eval('#lake-totals .figure', (boxes) => Object.fromEntries(
    boxes.map((b) => [b.querySelector('span').textContent, b.querySelector('b').textContent.replace(/,/g, '')])));
  check(totals.reviews === expectedRows, `the lake shows ${expectedRows} reviews (shows ${totals.reviews})`);
  check(totals.rejected === expectedRejected, `the lake shows ${expectedRejected} rejected (shows ${totals.rejected})`);
  if (lag === 'lag') {
    const ingest = await page.textContent('#ingest');
    check(/total lag 0$/.test(ingest), `ingest's lag is shown (${ingest})`);
    const lags = await page.$$eval('#partitions tbody tr td:last-child', (cells) => cells.map((c) => c.textContent));
    check(lags.length > 0 && lags.every((l) => l === '0'), `each partition's lag is 0 (${lags.join(', ')})`);
  }
  const commits = await page.$$eval('#commits tbody tr', (rows) => rows.length);
  check(commits > 0, `the latest commits are listed (${commits})`);
  const rejectFields = await page.$$eval('#rejects tbody tr td:first-child', (cells) => cells.map((c) => c.textContent));
  if (expectedRejected !== '0') {
    check(rejectFields.length > 0 && !rejectFields.includes('(none)'), `rejects are grouped by field (${rejectFields.join(', ')})`);
  }

  // The three models, each with its plot drawn.
  const cards = await page.$$('#model-list .card');
  check(cards.length === 3, `three model cards (${cards.length})`);
  await page.waitForFunction(() => [...document.querySelectorAll('.card .plot')]
    .every((img) => img.complete && img.naturalWidth > 0), null, { timeout: 15000 });
  check(true, 'every cluster plot loaded');

  // Lineage, versions and the report open from the card.
  const first = page.locator('#model-list .card').first();
  await first.locator('details.lineage summary').click();
  await first.locator('details.lineage dd').first().waitFor();
  check((await first.locator('details.lineage .cohort-sql').textContent()).includes('SELECT'), 'lineage shows the cohort SQL');
  await first.locator('details.versions summary').click();
  await first.locator('details.versions tbody tr').first().waitFor();
  check((await first.locator('details.versions tbody tr').first().textContent()).includes('yes'), 'the serving version is marked');
  await first.locator('details.report summary').click();
  await page.waitForFunction(() => document.querySelector('.card details.report pre').textContent.length > 0);
  check(true, 'the training report is shown');

  // A prediction through the real API.
  await first.locator('input[name="rating"]').fill('2');
  await first.locator('input[name="likes"]').fill('40');
  await first.locator('input[name="length"]').fill('120');
  await first.locator('form.predict button').click();
  await first.locator('.answer', { hasText: 'HTTP' }).waitFor();
  const answer = await first.locator('.answer').textContent();
  check(answer.startsWith('HTTP 200') && /"prediction": \d+/.test(answer), `the form predicts (${answer.replace(/\s+/g, ' ')})`);

  // SQL: a count that must match, then a write that must be refused.
  await page.fill('#sql-text', 'SELECT count(*) AS n FROM reviews');
  await page.click('#sql-run');
  await page.waitForSelector('#sql-result tbody tr');
  const n = await page.textContent('#sql-result tbody td');
  check(n === expectedRows, `SQL counts ${expectedRows} reviews (got ${n})`);
  await page.screenshot({ path: join(outDir, 'console-desktop.png'), fullPage: true });
  await page.fill('#sql-text', 'DROP TABLE reviews');
  await page.click('#sql-run');
  await page.waitForSelector('#sql-status.error');
  const refusal = await page.textContent('#sql-status');
  check(/read|refus|only/i.test(refusal), `a write is refused (${refusal})`);

  // A phone-sized screen: everything fits the width (tables scroll inside their boxes).
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const small = await phone.newPage();
  await small.goto(`${base}/`);
  await small.waitForSelector('body[data-ready="1"]', { timeout: 30000 });
  await small.waitForSelector('#partitions tbody tr', { timeout: 30000 });
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `nothing is wider than a phone's screen (overflow ${overflow}px)`);
  await small.screenshot({ path: join(outDir, 'console-phone.png'), fullPage: true });

  check(problems.length === 0, `no page errors or outside requests${problems.length ? `: ${problems.join('; ')}` : ''}`);
} finally {
  await browser.close();
}
