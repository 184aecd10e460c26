// The storefront in headless Chromium (scripts/browser.sh): an admin makes a publishable key for
// one origin; a page there reads the public catalog with it (a preflighted custom header) and
// reads a store sign-in's problem; a page on another origin is blocked by the browser, though
// the same key is sent. Neither origin is in CORS_ALLOWED_ORIGINS: the key's list decides.
// Usage: node storefront.mjs API_BASE ADMIN_KEY SHOP_PORT OTHER_PORT
import { check, finish, launch, servePage } from './common.mjs';

const [api, adminKey, shopPort, otherPort] = process.argv.slice(2);
const shop = `http://127.0.0.1:${shopPort}`;

const made = await fetch(`${api}/api/v1/api-keys`, {
  method: 'POST',
  headers: { Authorization: `Bearer ${adminKey}`, 'Content-Type': 'application/json', 'Idempotency-Key': crypto.randomUUID() },
  body: JSON.stringify({ name: 'Browser storefront', kind: 'publishable', allowed_origins: [shop] }),
});
const publishable = (await made.json()).key;
check('an admin makes a publishable key for the shop origin', made.status === 201 && /^hcrm_pk_/.test(publishable || ''), String(made.status));

const browser = await launch();
const pages = await Promise.all([servePage(shopPort), servePage(otherPort)]);
try {
  const browse = async (port) => {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${port}/`);
    const result = await page.evaluate(async ({ api, publishable }) => {
      try {
        const products = await fetch(`${api}/api/v1/store/products?limit=5`, { headers: { 'X-Publishable-Key': publishable } });
        const body = await products.json();
        const signIn = await fetch(`${api}/api/v1/store/auth/sign-in`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ email: 'nobody@example.com', password: 'not the password at all' }),
        });
        return {
          status: products.status,
          items: body.items.length,
          stockShown: body.items.some((item) => 'stock' in item),
          inStockShown: body.items.every((item) => typeof item.in_stock === 'boolean'),
          etag: products.headers.get('ETag'),
          signIn: signIn.status,
          signInCode: (await signIn.json()).code,
        };
      } catch (error) {
        return { error: String(error) };
      }
    }, { api, publishable });
    await page.close();
    return result;
  };
  const fromShop = await browse(shopPort);
  check('the shop page reads the catalog with its publishable key', fromShop.status === 200 && fromShop.items > 0, JSON.stringify(fromShop));
  check('it sees whether in stock, never the stock', fromShop.inStockShown && !fromShop.stockShown, JSON.stringify(fromShop));
  check('it reads the exposed ETag', Boolean(fromShop.etag), JSON.stringify(fromShop));
  check('a store sign-in from the shop page reads its problem', fromShop.signIn === 401 && fromShop.signInCode === 'invalid_credentials', JSON.stringify(fromShop));
  const fromOther = await browse(otherPort);
  check('another origin is blocked with the same key', Boolean(fromOther.error) && fromOther.status === undefined, JSON.stringify(fromOther));
} finally {
  pages.forEach((server) => server.close());
  await browser.close();
}
finish('storefront', 'storefront browser checks passed');
