// Browser checks in headless Chromium (scripts/browser.sh):
// 1. Swagger UI loads under its Content-Security-Policy without console errors, "Authorize" takes
//    an API key, and "Try it out" → "Execute" gets 200 with it.
// 2. CORS: a page on an allowed origin (another port) calls the API with a key and reads the
//    exposed headers; a page on another origin is blocked by the browser.
// Usage: node access.mjs API_BASE API_KEY ALLOWED_PORT OTHER_PORT
import { check, finish, launch, servePage, shots } from './common.mjs';

const [api, key, allowedPort, otherPort] = process.argv.slice(2);

const browser = await launch();
try {
  // 1. Swagger UI
  const page = await browser.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(`${api}/swagger-ui/`);
  await page.waitForSelector('.swagger-ui .info .title', { timeout: 20000 });
  check('Swagger UI renders the spec', (await page.textContent('.swagger-ui .info .title')).includes('Hybrid CRM API'));
  await page.click('button.authorize');
  await page.fill('.modal-ux input[type=text], .modal-ux input[type=password]', key);
  await page.click('.modal-ux .auth-btn-wrapper button.authorize');
  await page.click('.modal-ux .auth-btn-wrapper button.btn-done');
  check('Authorize takes the key', await page.isVisible('button.authorize.locked'));
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
  check('Swagger UI keeps no key in localStorage', !stored.includes(key), stored.slice(0, 200));
  const operation = '#operations-clients-list_clients';
  await page.click(`${operation} .opblock-summary`);
  await page.click(`${operation} .try-out__btn`);
  await page.click(`${operation} .execute`);
  const status = await page.waitForSelector(`${operation} .live-responses-table tbody .response-col_status`, { timeout: 15000 });
  const code = (await status.textContent()).trim();
  check('Try it out with the key answers 200', code === '200', `got ${code}`);
  await status.scrollIntoViewIfNeeded();
  await page.screenshot({ path: new URL('swagger-ui.png', shots).pathname, fullPage: false });
  check('no console errors (the CSP lets the page work)', errors.length === 0, errors.join(' | '));

  // 2. CORS from pages on two other origins
  const pages = await Promise.all([servePage(allowedPort), servePage(otherPort)]);
  const call = async (port) => {
    const spa = await browser.newPage();
    await spa.goto(`http://127.0.0.1:${port}/`);
    const result = await spa.evaluate(async ({ api, key }) => {
      try {
        const listed = await fetch(`${api}/api/v1/clients?limit=1`, { headers: { Authorization: `Bearer ${key}` } });
        const created = await fetch(`${api}/api/v1/interests`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json', 'Idempotency-Key': crypto.randomUUID() },
          body: JSON.stringify({ name: `From the browser ${Date.now()}` }),
        });
        return {
          status: listed.status,
          etag: listed.headers.get('ETag'),
          remaining: listed.headers.get('RateLimit-Remaining'),
          created: created.status,
          location: created.headers.get('Location'),
        };
      } catch (error) {
        return { error: String(error) };
      }
    }, { api, key });
    await spa.close();
    return result;
  };
  const allowed = await call(allowedPort);
  check('an allowed origin calls the API with a key', allowed.status === 200, JSON.stringify(allowed));
  check('it reads the exposed ETag and rate-limit headers', Boolean(allowed.etag) && allowed.remaining !== null, JSON.stringify(allowed));
  check('its POST (preflighted) creates and exposes Location', allowed.created === 201 && /^\/api\/v1\/interests\//.test(allowed.location || ''), JSON.stringify(allowed));
  const other = await call(otherPort);
  check('another origin is blocked by the browser', Boolean(other.error) && other.status === undefined, JSON.stringify(other));
  pages.forEach((server) => server.close());
} finally {
  await browser.close();
}
finish('browser', 'browser checks passed; screenshot in target/browser/swagger-ui.png');
