// Drives Debian's headless Chromium with playwright-core for the Python tests (simulation/services/browser.py).
// Protocol: one JSON command per line on stdin {id, op, ...args}; one JSON reply per line on stdout
// {id, ok, result} or {id, ok: false, error}. Page console output and errors go to stderr (the test's log).
// playwright-core never downloads a browser: the executable is given by the harness (/usr/bin/chromium).
import { chromium } from 'playwright-core';
import readline from 'node:readline';

const executablePath = process.env.ETAPISTE_CHROMIUM || '/usr/bin/chromium';
const args = JSON.parse(process.env.ETAPISTE_CHROMIUM_ARGS || '[]');
const browser = await chromium.launch({ executablePath, args, headless: true });
const pages = new Map();

function page(name) {
  const p = pages.get(name);
  if (!p) throw new Error(`no page named ${name}`);
  return p;
}

const ops = {
  // permissions: e.g. ['notifications'] for a page that shows browser notifications (the host view).
  async open({ name, viewport, permissions }) {
    const context = await browser.newContext({ viewport: viewport || { width: 1280, height: 800 }, permissions: permissions || [] });
    const p = await context.newPage();
    p.on('console', (m) => process.stderr.write(`[${name} console.${m.type()}] ${m.text()}\n`));
    p.on('pageerror', (e) => process.stderr.write(`[${name} pageerror] ${e.stack || e}\n`));
    pages.set(name, p);
    return true;
  },
  async close({ name }) { await page(name).context().close(); pages.delete(name); return true; },
  async goto({ name, url }) { const r = await page(name).goto(url); return r ? r.status() : null; },
  async click({ name, selector, timeout }) { await page(name).click(selector, { timeout: timeout ?? 10000 }); return true; },
  async fill({ name, selector, value }) { await page(name).fill(selector, value); return true; },
  async type({ name, selector, text, delay }) {
    await page(name).locator(selector).pressSequentially(text, { delay: delay ?? 20 });
    return true;
  },
  async press({ name, selector, key }) { await page(name).press(selector, key); return true; },
  async text({ name, selector }) { return await page(name).locator(selector).innerText(); },
  async visible({ name, selector }) { return await page(name).locator(selector).isVisible(); },
  async waitFor({ name, selector, state, timeout }) {
    await page(name).locator(selector).first().waitFor({ state: state || 'visible', timeout: timeout ?? 15000 });
    return true;
  },
  // Polls page.evaluate (CDP evaluation, which the desk's Content-Security-Policy does not block, unlike
  // playwright's own waitForFunction that compiles the predicate with eval in the page).
  async waitForFunction({ name, expression, timeout }) {
    const deadline = Date.now() + (timeout ?? 15000);
    let last;
    for (;;) {
      try { last = await page(name).evaluate(expression); } catch (e) { last = `error: ${e.message}`; }
      if (last && !(typeof last === 'string' && last.startsWith('error: '))) return last;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression} (last value: ${JSON.stringify(last)})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  },
  async evaluate({ name, expression }) { return await page(name).evaluate(expression); },
  async setInputFiles({ name, selector, files }) { await page(name).setInputFiles(selector, files); return true; },
  async screenshot({ name, path }) { await page(name).screenshot({ path, fullPage: true }); return path; },
  async quit() { await browser.close(); return true; },
};

const rl = readline.createInterface({ input: process.stdin });
const reply = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
reply({ id: 0, ok: true, result: { version: browser.version() } });
for await (const line of rl) {
  let cmd;
  try { cmd = JSON.parse(line); } catch (e) { reply({ id: null, ok: false, error: `bad command: ${e}` }); continue; }
  const fn = ops[cmd.op];
  if (!fn) { reply({ id: cmd.id, ok: false, error: `unknown op ${cmd.op}` }); continue; }
  try {
    reply({ id: cmd.id, ok: true, result: (await fn(cmd)) ?? null });
  } catch (e) {
    reply({ id: cmd.id, ok: false, error: String(e && e.message || e) });
  }
  if (cmd.op === 'quit') break;
}
process.exit(0);
