// The dashboard in headless Chromium (scripts/browser.sh), on a server seeded with 18 months of
// history: it asks for a key, renders every chart with data, fills the tiles and the debtors,
// follows the date range picker, asks again when a key is refused, and logs no console error
// (a CSP violation would be one). Screenshot: target/browser/dashboard.png.
// Usage: node dashboard.mjs API_BASE API_KEY
import { check, finish, launch, shots } from './common.mjs';

const [api, key] = process.argv.slice(2);
const CHARTS = ['revenue', 'categories', 'stock', 'occupancy', 'workshop-income'];

// Every chart drawn since load number `after`, each canvas with painted pixels.
async function chartsDrawn(page, after) {
  await page.waitForFunction(
    ({ names, after }) => window.hcrmDashboard && window.hcrmDashboard.loads > after
      && names.every((n) => window.hcrmDashboard.rendered.has(n))
      && !document.getElementById('status').textContent.startsWith('Loading'),
    { names: CHARTS, after }, { timeout: 20000 });
  return page.evaluate((names) => names.map((name) => {
    const canvas = document.querySelector(`canvas[data-chart="${name}"]`);
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let painted = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) painted += 1;
    const chart = window.Chart.getChart(canvas);
    const points = chart.data.datasets.reduce((n, d) => n + d.data.filter((v) => v !== null && v !== 0).length, 0);
    return { name, painted, points, labels: chart.data.labels.length };
  }), CHARTS);
}

const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  // The refused key's report requests: the page shows the first refusal while the others are
  // still answering, and the browser logs each 401 as it arrives.
  let refused = 0;
  page.on('response', (r) => { if (r.status() === 401 && r.url().includes('/api/v1/reports/')) refused += 1; });

  const response = await page.goto(`${api}/dashboard`);
  const csp = response.headers()['content-security-policy'] || '';
  check('the page is served with a strict CSP', /script-src 'self'/.test(csp) && /style-src 'self'(;|$)/.test(csp), csp);
  await page.waitForSelector('#key-dialog[open]', { timeout: 10000 });
  check('it asks for an API key first', true);

  await page.fill('#key', 'hcrm_not-a-real-key');
  await page.click('#key-form button[type=submit]');
  await page.waitForSelector('#key-error:not([hidden])', { timeout: 10000 });
  check('a refused key brings the prompt back with the reason', await page.isVisible('#key-dialog[open]'),
    await page.textContent('#key-error'));
  // The browser logs the 401s itself; the page handled them. Every request of the refused
  // attempt (five reports) has answered before the log is cleared.
  for (let waited = 0; refused < 5 && waited < 100; waited += 1) await page.waitForTimeout(50);
  await page.waitForTimeout(250);
  errors.length = 0;

  await page.fill('#key', key);
  await page.click('#key-form button[type=submit]');
  let drawn = await chartsDrawn(page, 0);
  for (const chart of drawn) {
    check(`chart "${chart.name}" is drawn with data`, chart.painted > 500 && chart.points > 0, JSON.stringify(chart));
  }
  const tiles = await page.$$eval('.tile', (all) => all.map((t) => ({
    id: t.id, value: t.querySelector('.value').textContent, delta: t.querySelector('.delta').textContent })));
  check('every tile has a value', tiles.every((t) => t.value !== '—' && t.value.trim() !== ''), JSON.stringify(tiles));
  const revenue = tiles.find((t) => t.id === 'tile-revenue');
  check('revenue shows its growth with an arrow', /[▲▼–]/.test(revenue.delta), revenue.delta);
  const debtors = await page.$$eval('#debtors tr', (rows) => rows.map((r) => r.textContent));
  check('the debtors list has rows', debtors.length > 0 && !debtors[0].includes('—'), debtors.slice(0, 3).join(' | '));

  const before = await page.evaluate(() => window.hcrmDashboard.loads);
  await page.click('.presets button[data-days="548"]');
  drawn = await chartsDrawn(page, before);
  const cut = await page.textContent('#revenue-cut');
  const revenueChart = drawn.find((c) => c.name === 'revenue');
  check('18 months: the revenue line goes by month', cut === 'by month' && revenueChart.labels >= 18, `${cut}, ${revenueChart.labels} points`);
  const from = await page.inputValue('#from');
  const to = await page.inputValue('#to');
  check('the picker shows the range', Math.round((Date.parse(to) - Date.parse(from)) / 86400000) + 1 === 548, `${from} … ${to}`);

  await page.screenshot({ path: new URL('dashboard.png', shots).pathname, fullPage: true });
  check('no console errors', errors.length === 0, errors.join(' | '));
  check('no failed loads', (await page.evaluate(() => window.hcrmDashboard.errors.length)) === 0);
} finally {
  await browser.close();
}
finish('dashboard', 'dashboard checks passed; screenshot in target/browser/dashboard.png');
