// End-to-end: the studio workflow, the agent panel and the portal, in Debian's Chromium.
// Starts `target/debug/omnikb serve --demo` itself and reads the demo passwords it prints.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import http from 'node:http';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const artifacts = join(here, 'artifacts');
mkdirSync(artifacts, { recursive: true });

const SLUG = 'router-red-light-e2e';
const TITLE = '路由器红灯一直闪烁怎么办';
const NOTE = '内部备注：旧款光猫请直接转二线处理代码RX7731';
const INTERNAL_BLOCK = '内部：先查询工单系统里的区域故障单QZ5520';

let server, browser, base, passwords = {}, dataDir, articleUrl;
// A local webhook receiver: records what omnikb posts to it.
let receiver, receiverUrl, received = [], hookPage;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

async function startServer() {
  const port = await freePort();
  dataDir = mkdtempSync(join(tmpdir(), 'omnikb-e2e-'));
  base = `http://127.0.0.1:${port}`;
  server = spawn(join(root, 'target', 'debug', 'omnikb'),
    ['serve', '--demo', '--data', dataDir, '--addr', `127.0.0.1:${port}`],
    { cwd: root, env: { ...process.env, RUST_LOG: 'warn', OMNIKB_BASE_URL: base } });
  // run.sh kills this pid on its way out, should node die before `after` runs.
  if (process.env.OMNIKB_E2E_PIDFILE) writeFileSync(process.env.OMNIKB_E2E_PIDFILE, String(server.pid));
  let out = '';
  server.stderr.on('data', (d) => process.stderr.write(d));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('server did not start within 120 s:\n' + out)), 120000);
    server.stdout.on('data', (d) => {
      out += d.toString();
      if (out.includes('omnikb listening')) { clearTimeout(timer); resolve(); }
    });
    server.on('exit', (c) => { clearTimeout(timer); reject(new Error(`server exited ${c}:\n${out}`)); });
  });
  for (const m of out.matchAll(/^\s+(author|reviewer|publisher|agent|admin)\s+(\S+)\s*$/gm)) passwords[m[1]] = m[2];
  assert.ok(passwords.author && passwords.agent, 'demo passwords printed:\n' + out);
}

/// SIGTERM (graceful shutdown), then SIGKILL if it has not exited within 10 s.
async function stopServer() {
  if (!server || server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}
// Last resort when node exits without running `after` (an uncaught error): no stray server.
process.on('exit', () => { if (server && server.exitCode === null) server.kill('SIGKILL'); });

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];

before(async () => {
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => { received.push({ headers: req.headers, body }); res.writeHead(200); res.end('ok'); });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
  await startServer();
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: ARGS });
});

after(async () => {
  try {
    if (browser) await browser.close();
  } finally {
    await stopServer();
    if (receiver) await new Promise((resolve) => receiver.close(resolve));
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
});

async function session(name, opts = {}) {
  const ctx = await browser.newContext({ locale: 'zh-CN', viewport: { width: 1280, height: 900 }, ...opts });
  // Generous but bounded: a debug build on a busy 2-core machine is slow.
  ctx.setDefaultTimeout(30000);
  ctx.setDefaultNavigationTimeout(60000);
  const page = await ctx.newPage();
  if (name) await login(page, name);
  return { ctx, page };
}

async function login(page, name, password = passwords[name]) {
  await page.goto(`${base}/studio/login`);
  await page.fill('#name', name);
  await page.fill('#password', password);
  // The form posts and the answer is a new document (the studio, or the login page with its
  // error): wait for that document's load event, not the current one's.
  await Promise.all([page.waitForEvent('load'), page.click('form button[type=submit]')]);
}

const shot = (page, name) => page.screenshot({ path: join(artifacts, `${name}.png`), fullPage: true });

async function act(page, action, comment) {
  if (comment !== undefined) await page.fill('#comment', comment);
  // The URL may already carry `done=` from the previous action, so wait for the new document.
  await Promise.all([page.waitForEvent('load'), page.click(`button[name=action][value=${action}]`)]);
}

test('a login failure shows a clear message', async () => {
  const { ctx, page } = await session(null);
  await login(page, 'author', 'wrong-password');
  const msg = await page.textContent('#login-error');
  assert.match(msg, /用户名或密码错误/);
  await shot(page, '01-login-failed');
  await ctx.close();
});

test('admin: an API key shown once, a webhook, field errors', async () => {
  const admin = await session('admin');
  const { page } = admin;
  // Non-admins never see the admin pages.
  const author = await session('author');
  const refused = await author.page.goto(`${base}/studio/admin/keys`);
  assert.equal(refused.status(), 403);
  await author.ctx.close();

  await page.goto(`${base}/studio/admin/keys`);
  // A validation error next to its field: editor keys need a user.
  await page.fill('#nk-name', 'ci-editor');
  await page.selectOption('#nk-scope', 'editor');
  await Promise.all([page.waitForEvent('load'), page.click('#new-key button[type=submit]')]);
  assert.match(await page.textContent('#err-user'), /用户/);
  await shot(page, '11-admin-key-field-error');
  // A bot key: the secret is shown once.
  await page.fill('#nk-name', 'e2e-chatbot');
  await page.selectOption('#nk-scope', 'bot');
  await Promise.all([page.waitForEvent('load'), page.click('#new-key button[type=submit]')]);
  const secret = (await page.textContent('#secret-value')).trim();
  assert.match(secret, /^okb_/);
  await shot(page, '12-admin-key-created');
  const check = await page.request.get(`${base}/api/v1/articles/broadband-no-internet?locale=zh-CN`, { headers: { Authorization: `Bearer ${secret}` } });
  assert.equal(check.status(), 200, 'the new key works');
  await page.goto(`${base}/studio/admin/keys`);
  assert.ok(!(await page.content()).includes(secret), 'the secret is not shown again');
  assert.ok((await page.textContent('#key-list')).includes('e2e-chatbot'));

  // A webhook to the local receiver (every event); its secret is shown once too.
  await page.goto(`${base}/studio/admin/webhooks`);
  await page.fill('#wh-url', 'not a url');
  await Promise.all([page.waitForEvent('load'), page.click('#new-webhook button[type=submit]')]);
  assert.ok(await page.isVisible('#err-url'), 'URL error next to the field');
  await page.fill('#wh-url', receiverUrl);
  await Promise.all([page.waitForEvent('load'), page.click('#new-webhook button[type=submit]')]);
  assert.ok((await page.textContent('#secret-value')).trim().length >= 16);
  await page.click('#new-secret a');
  await page.waitForSelector('#delivery-log');
  hookPage = page.url().split('?')[0];
  await shot(page, '13-admin-webhook');
  await admin.ctx.close();
});

test('studio → review → publish → agent → portal', async () => {
  // Author: a validation error is shown next to its field.
  const author = await session('author');
  await author.page.goto(`${base}/studio/new?type=troubleshooting`);
  await shot(author.page, '02-new-form');
  await author.page.fill('#in-title', TITLE);
  await author.page.fill('#in-slug', SLUG);
  await author.page.fill('#in-f\\.issue', 'x');
  await author.page.fill('#in-body', '1. 重启路由器');
  await Promise.all([author.page.waitForEvent('load'), author.page.click('.article-form button[type=submit]')]);
  const err = await author.page.textContent('.field[data-field="f.issue"] .field-error');
  assert.ok(err && err.trim().length > 0, 'error next to the issue field');
  await shot(author.page, '03-field-error');

  // Now a correct article in Chinese.
  await author.page.fill('#in-f\\.issue', '路由器红灯一直闪，家里上不了网，手机也连不上WiFi。');
  await author.page.fill('#in-f\\.summary', '多数情况下重启光猫和路由器即可恢复上网。');
  await author.page.fill('#in-f\\.internal_notes', NOTE);
  await author.page.fill('#in-category', '宽带/故障');
  await author.page.fill('#in-tags', '宽带, 路由器');
  await author.page.fill('#in-body', `1. 拔掉路由器和光猫的电源，等待30秒。\n2. 先插光猫电源，再插路由器电源。\n3. 等待3分钟后重新连接WiFi。\n\n::: internal\n${INTERNAL_BLOCK}\n:::\n`);
  await Promise.all([author.page.waitForURL(/\/studio\/a\/.+done=created/), author.page.click('.article-form button[type=submit]')]);
  articleUrl = author.page.url().split('?')[0];
  for (const ch of ['web', 'ivr', 'agent', 'bot', 'sms']) {
    assert.ok(await author.page.isVisible(`.preview-${ch}`), `preview for ${ch}`);
  }
  assert.ok(await author.page.isVisible('.preview-ivr button.listen'));
  const webFrame = await author.page.getAttribute('.preview-web iframe', 'srcdoc');
  assert.ok(webFrame.includes('重启') && !webFrame.includes('RX7731') && !webFrame.includes('QZ5520'));
  await shot(author.page, '04-article-previews');
  await act(author.page, 'submit');
  assert.equal((await author.page.textContent('#rev-state')).trim(), 'in_review');

  // Reviewer rejects with a comment (review queue shows it first).
  const reviewer = await session('reviewer');
  await reviewer.page.goto(`${base}/studio/review`);
  assert.ok((await reviewer.page.content()).includes(TITLE));
  await shot(reviewer.page, '05-review-queue');
  await reviewer.page.goto(articleUrl);
  await act(reviewer.page, 'reject', '请补充故障原因');
  assert.ok((await reviewer.page.textContent('#transitions')).includes('请补充故障原因'));

  // Author fixes and resubmits; a second tab saving from the same base gets a conflict.
  const tab2 = await author.ctx.newPage();
  await tab2.goto(`${articleUrl}/edit`);
  await author.page.goto(`${articleUrl}/edit`);
  await author.page.fill('#in-f\\.cause', '光猫或路由器长时间运行后死机。');
  await Promise.all([author.page.waitForURL(/done=saved/), author.page.click('.article-form button[type=submit]')]);
  await tab2.fill('#in-f\\.cause', '另一个标签页的修改');
  await Promise.all([tab2.waitForEvent('load'), tab2.click('.article-form button[type=submit]')]);
  assert.match(await tab2.textContent('#form-banner'), /冲突/);
  await shot(tab2, '14-edit-conflict');
  await tab2.close();
  await act(author.page, 'submit');
  assert.equal((await author.page.textContent('#rev-state')).trim(), 'in_review');

  // Reviewer approves, publisher publishes.
  await reviewer.page.goto(articleUrl);
  await act(reviewer.page, 'approve', '可以发布');
  const publisher = await session('publisher');
  await publisher.page.goto(articleUrl);
  await act(publisher.page, 'publish');
  assert.equal((await publisher.page.textContent('#rev-state')).trim(), 'published');
  await shot(publisher.page, '06-published');

  // Agent finds it with a colloquial query, copies the script, flags it.
  const origin = new URL(base).origin;
  const agent = await session(null, { permissions: ['clipboard-read', 'clipboard-write'] });
  await agent.ctx.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  await login(agent.page, 'agent');
  await agent.page.goto(`${base}/agent`);
  await agent.page.keyboard.press('/');
  await agent.page.keyboard.type('路由器红灯闪 上不了网');
  await agent.page.waitForSelector(`#agent-results li:has-text("${TITLE}")`);
  // Facets from the search response: narrowing to the troubleshooting type keeps the article.
  await agent.page.waitForSelector('#agent-facets button.facet[data-facet=type]');
  await agent.page.click('#agent-facets button.facet[data-facet=type][data-value=troubleshooting]');
  await agent.page.waitForSelector('#agent-facets button.facet[data-value=troubleshooting][aria-pressed=true]');
  await agent.page.waitForSelector(`#agent-results li:has-text("${TITLE}")`);
  const first = await agent.page.textContent('#agent-results li[aria-selected=true]');
  if (!first.includes(TITLE)) {
    const items = await agent.page.$$eval('#agent-results li', (l) => l.map((x) => x.textContent));
    const idx = items.findIndex((t) => t.includes(TITLE));
    for (let i = 0; i < idx; i++) await agent.page.keyboard.press('ArrowDown');
  }
  await agent.page.keyboard.press('Enter');
  await agent.page.waitForSelector('#agent-view:not([hidden])');
  assert.ok((await agent.page.textContent('#agent-html')).includes(TITLE));
  assert.ok(await agent.page.isVisible('#agent-html .internal-notes, #agent-html section.internal'), 'internal notes are shown, set apart');
  await agent.page.click('#copy-script');
  await agent.page.waitForSelector('#copy-status:not(:empty)');
  const clip = await agent.page.evaluate(() => navigator.clipboard.readText());
  assert.ok(clip.includes(TITLE) && clip.includes('重启'), 'script has the title and steps: ' + clip);
  assert.ok(!clip.includes('RX7731') && !clip.includes('QZ5520') && !clip.includes('内部'), 'no internal note in the script');
  await agent.page.fill('#fb-comment', '步骤3的等待时间可能已变化');
  await agent.page.click('#flag-outdated');
  await agent.page.waitForSelector('#fb-status:not(:empty)');
  assert.match(await agent.page.textContent('#fb-status'), /感谢/);
  await shot(agent.page, '07-agent-panel');

  // Portal: the article is there, without any internal content.
  const anon = await session(null);
  await anon.page.goto(`${base}/`);
  assert.ok((await anon.page.content()).includes(TITLE));
  await shot(anon.page, '08-portal-home');
  await anon.page.goto(`${base}/kb/zh-CN/${SLUG}`);
  const html = await anon.page.content();
  assert.ok(html.includes(TITLE));
  await shot(anon.page, '09-portal-article');
  await anon.page.goto(`${base}/search?q=${encodeURIComponent('路由器')}`);
  await shot(anon.page, '10-portal-search');
  // Every portal page reachable from the home page: no internal note anywhere.
  await anon.page.goto(`${base}/`);
  const links = await anon.page.$$eval('a[href^="/kb/"]', (l) => l.map((a) => a.getAttribute('href')));
  const pages = ['/', `/search?q=${encodeURIComponent('路由器')}`, ...new Set(links)];
  for (const p of pages) {
    const res = await anon.page.request.get(base + p);
    const body = await res.text();
    for (const secret of [NOTE.slice(0, 10), NOTE.slice(-10), INTERNAL_BLOCK.slice(-10), 'RX7731', 'QZ5520']) {
      assert.ok(!body.includes(secret), `internal text '${secret}' on ${p}`);
    }
  }
  // A phone: the portal article fits the screen (no sideways scrolling).
  const phone = await session(null, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await phone.page.goto(`${base}/kb/zh-CN/${SLUG}`);
  const overflow = await phone.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `no horizontal overflow on a phone (${overflow}px)`);
  await shot(phone.page, '15-portal-mobile');
  for (const s of [author, reviewer, publisher, agent, anon, phone]) await s.ctx.close();
});

test('search analytics: settled agent searches, portal searches and their clicks', async () => {
  const agent = await session('agent');
  await agent.page.goto(`${base}/agent`);
  await agent.page.click('#agent-q');
  // Typed one character at a time, each starting a search-as-you-type request: only the
  // settled query may reach the analytics, not its prefixes.
  await agent.page.keyboard.type('宽带无法上网', { delay: 60 });
  await agent.page.waitForSelector('#agent-results li[aria-selected=true]');
  const opened = agent.page.waitForResponse((r) => r.url().endsWith('/api/v1/search/clicks'));
  await agent.page.keyboard.press('Enter');
  assert.equal((await opened).status(), 204);
  await agent.page.waitForSelector('#agent-view:not([hidden])');

  const anon = await session(null);
  await anon.page.goto(`${base}/search?q=${encodeURIComponent('宽带 光猫')}`);
  const link = anon.page.locator('ol.hits[data-search-id] a[data-article-id]').first();
  // The page navigates away at once, so its report of the click (a keepalive request) may
  // be answered after the page is gone: wait for the request; the analytics show its effect.
  const clicked = anon.page.waitForRequest((r) => r.url().endsWith('/api/v1/search/clicks'));
  await Promise.all([anon.page.waitForEvent('load'), link.click()]);
  const sent = (await clicked).postDataJSON();
  assert.equal(typeof sent.search_id, 'number');
  assert.match(sent.article_id, /^KB-\d+$/);

  const admin = await session('admin');
  let top = {}, a;
  // The portal's click may still be on its way: ask again for up to 10 s.
  for (let i = 0; i < 50 && top['宽带 光猫']?.clicks !== 1; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, 200));
    const res = await admin.page.request.get(`${base}/api/v1/analytics/searches?limit=200`);
    assert.equal(res.status(), 200);
    a = await res.json();
    top = Object.fromEntries(a.top_queries.map((t) => [t.q, t]));
  }
  assert.ok(top['宽带无法上网'], 'the agent query is recorded: ' + JSON.stringify(a.top_queries));
  assert.equal(top['宽带无法上网'].searches, 1, 'recorded once');
  assert.equal(top['宽带无法上网'].clicks, 1, 'the opened hit counts as a click');
  for (const prefix of ['宽', '宽带', '宽带无', '宽带无法']) assert.ok(!top[prefix], `prefix ${prefix} is not recorded`);
  assert.equal(top['宽带 光猫']?.clicks, 1, 'the portal click is recorded');
  for (const s of [agent, anon, admin]) await s.ctx.close();
});

test('admin: the webhook delivery log shows the workflow events', async () => {
  assert.ok(hookPage, 'the webhook was created');
  const admin = await session('admin');
  // The publisher's work reached the receiver, signed.
  const deadline = Date.now() + 30000;
  while (!received.some((r) => r.body.includes('article.published')) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
  }
  assert.ok(received.some((r) => r.body.includes('article.published')), 'article.published delivered');
  await admin.page.goto(hookPage);
  const log = await admin.page.textContent('#delivery-log');
  assert.match(log, /delivered/);
  // Redeliver the newest delivery: it goes back in the queue and arrives again.
  const before = received.length;
  await Promise.all([admin.page.waitForEvent('load'), admin.page.click('#delivery-log button[type=submit]')]);
  assert.ok(await admin.page.isVisible('#done'));
  const until = Date.now() + 30000;
  while (received.length === before && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
  assert.ok(received.length > before, 'redelivered');
  await shot(admin.page, '16-admin-delivery-log');
  await admin.ctx.close();
});
