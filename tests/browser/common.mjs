// What both browser checks share: a headless Chromium (Debian's), the check log, the screenshot
// folder (target/browser/) and the exit status.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import http from 'node:http';

export const shots = new URL('../../target/browser/', import.meta.url);
fs.mkdirSync(shots, { recursive: true });

let failed = 0;
export function check(what, ok, detail = '') {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}${detail ? ` — ${detail}` : ''}`);
  if (!ok) failed += 1;
}

export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
}

// Exits 1 when a check failed, else prints `passed`.
export function finish(name, passed) {
  if (failed) {
    console.error(`${failed} ${name} check(s) failed`);
    process.exit(1);
  }
  console.log(passed);
}

// A plain page on another origin (127.0.0.1:port): the checks run fetch() from it.
export function servePage(port) {
  const server = http.createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end('<!doctype html><title>SPA</title><h1>Another origin</h1>');
  });
  return new Promise((resolve) => server.listen(Number(port), '127.0.0.1', () => resolve(server)));
}
