#!/usr/bin/env node
// Browser end-to-end test of the dashboard against a real `gpufleetd demo` (controller, simulated
// cluster, agents over HTTP) with Debian's chromium driven by playwright-core.
//
//   node web/e2e/dashboard.e2e.mjs --gpufleetd PATH --web-dir DIR --artifacts DIR
//   node web/e2e/dashboard.e2e.mjs --url http://127.0.0.1:PORT --token gft_... --artifacts DIR
//
// The first form starts `gpufleetd demo --web-dir DIR` with the scenario in fixtures/ (leases of
// 50 minutes, so a lease is "expiring") and stops it at the end, also on failure. The second runs
// against a server already running (the lease check then needs such a scenario too). The
// controller must serve the build itself (GET / with the dashboard's Content-Security-Policy).
// Checks: sign in; three hosts and three P40s; a VM created in the browser fills a slot; an
// evacuation dry run and its execution watched to the end; an expiring lease; a viewer token sees
// no action button; the fleet page at phone width has no horizontal scroll; no CSP violation or
// script error on any page; a revoked session returns to the login page. A PNG of every page goes
// to the artifacts directory. Exit 0 when every check passed, 1 otherwise (the message says which),
// 2 on bad usage, 77 (skipped) when there is no chromium.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
  "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

function parseArgs(argv) {
  const args = {
    chromium: '/usr/bin/chromium',
    scenario: path.join(HERE, 'fixtures', 'short-leases.yaml'),
    artifacts: path.join(tmpdir(), 'gpufleet-dashboard-e2e'),
    budget: 90,
  };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    const value = argv[i + 1];
    const take = (name) => {
      if (value === undefined) usage(`${key} needs a value`);
      args[name] = value;
      i++;
    };
    if (key === '--gpufleetd') take('gpufleetd');
    else if (key === '--web-dir') take('webDir');
    else if (key === '--artifacts') take('artifacts');
    else if (key === '--url') take('url');
    else if (key === '--token') take('token');
    else if (key === '--scenario') take('scenario');
    else if (key === '--chromium') take('chromium');
    else if (key === '-h' || key === '--help') usage();
    else usage(`unknown argument ${key}`);
  }
  if (!args.url && !(args.gpufleetd && args.webDir)) usage('give --gpufleetd and --web-dir, or --url and --token');
  if (args.url && !args.token) usage('--url needs --token');
  if (args.webDir && !existsSync(path.join(args.webDir, 'index.html'))) {
    usage(`${args.webDir} has no index.html: build the dashboard first (cd web && npm ci && npm run build)`);
  }
  if (!existsSync(args.chromium)) {
    console.error(`dashboard e2e: skipped: no browser at ${args.chromium} (Debian: apt-get install chromium)`);
    process.exit(77); // the conventional "skipped" status (CTest SKIP_RETURN_CODE 77)
  }
  return args;
}

function usage(error) {
  const text =
    'usage: dashboard.e2e.mjs --gpufleetd PATH --web-dir DIR [--artifacts DIR] [--scenario FILE]\n' +
    '       dashboard.e2e.mjs --url URL --token TOKEN [--artifacts DIR]\n' +
    '       [--chromium PATH (default /usr/bin/chromium)]';
  if (error) {
    console.error(`dashboard e2e: ${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

const args = parseArgs(process.argv.slice(2));
const started = Date.now();
const cleanups = [];
let step = 'setup';

function log(message) {
  console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${message}`);
}

class CheckFailed extends Error {}

function check(condition, message) {
  if (!condition) throw new CheckFailed(message);
}

// Polls fn (sync or async) every 200 ms until it returns a truthy value; fails after timeoutMs.
async function waitFor(what, fn, timeoutMs = 15000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new CheckFailed(`timed out after ${timeoutMs / 1000}s waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function apiCall(server, token, method, route, body) {
  const response = await fetch(`${server}/api/v1${route}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

// ---- the server under test ----

async function startDemo() {
  const dir = mkdtempSync(path.join(tmpdir(), 'gpufleet-web-e2e-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const demoArgs = ['demo', '--listen', '127.0.0.1:0', '--heartbeat-interval', '1s', '--data-dir', path.join(dir, 'data'),
    '--web-dir', path.resolve(args.webDir)];
  if (args.scenario) demoArgs.push('--scenario', args.scenario);
  const child = spawn(args.gpufleetd, demoArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let exited = null;
  child.on('exit', (code, signal) => (exited = { code, signal }));
  cleanups.push(async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const gone = await Promise.race([
      new Promise((r) => child.once('exit', () => r(true))),
      new Promise((r) => setTimeout(() => r(false), 5000)),
    ]);
    if (!gone) child.kill('SIGKILL');
  });
  process.on('exit', () => {
    if (!exited) child.kill('SIGKILL');
  });
  await waitFor('the demo to print "Ctrl-C stops"', () => {
    if (exited) throw new CheckFailed(`gpufleetd demo exited (${JSON.stringify(exited)}): ${stderr.slice(-2000)}`);
    return stdout.includes('Ctrl-C stops');
  }, 30000).catch((e) => {
    throw new CheckFailed(`${e.message}\n--- demo stderr:\n${stderr.slice(-2000)}`);
  });
  const url = /^\s*URL:\s*(\S+)/m.exec(stdout)?.[1];
  const token = /^\s*token:\s*(\S+)/m.exec(stdout)?.[1];
  check(url && token, `the demo printed no URL or token:\n${stdout}`);
  const stderrTail = () => stderr.slice(-3000);
  demoStderr = stderrTail;
  // The controller itself serves the build, with its Content-Security-Policy.
  const index = await fetch(`${url}/`);
  check(index.ok, `GET / answered ${index.status}`);
  check(index.headers.get('content-security-policy') === CSP,
    `GET / has Content-Security-Policy ${JSON.stringify(index.headers.get('content-security-policy'))}, expected ${JSON.stringify(CSP)}`);
  check((await index.text()).includes('/assets/'), 'GET / is not the dashboard build (is it the "not built" page?)');
  return { url, api: url, token, stderrTail };
}

// ---- the browser ----

async function startBrowser() {
  const profile = mkdtempSync(path.join(tmpdir(), 'gpufleet-web-e2e-chromium-'));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: args.chromium,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 800 },
  });
  cleanups.push(() => context.close().catch(() => {}));
  context.setDefaultTimeout(10000);
  return context;
}

const problems = [];
const failedRequests = []; // context for a failure; 4xx answers can be expected (a probe, a race)
let demoStderr;

function watch(page, label) {
  page.on('console', (msg) => {
    const text = msg.text();
    if (/Content[- ]Security[- ]Policy|Refused to/i.test(text)) problems.push(`${label}: CSP violation: ${text}`);
    else if (msg.type() === 'error' && !/status of (401|403|404|409)/.test(text)) problems.push(`${label}: console error: ${text}`);
  });
  page.on('pageerror', (e) => problems.push(`${label}: script error: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400 && r.status() !== 401) failedRequests.push(`${label}: ${r.status()} ${r.request().method()} ${r.url()}`);
  });
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(args.artifacts, `${name}.png`), fullPage: true });
}

async function go(page, base, route) {
  await page.goto(`${base}/#${route}`);
  await page.locator('main h1').first().waitFor({ timeout: 10000 });
}

async function login(page, base, token) {
  await page.goto(`${base}/`);
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.topbar').waitFor({ timeout: 10000 });
  check(!page.url().includes(token), 'the token appears in the URL');
  const stored = await page.evaluate(() => sessionStorage.getItem('gpufleet.token'));
  check(stored === token, 'the token is not kept in sessionStorage');
}

async function noHorizontalScroll(page, what) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  check(scroll <= client, `${what}: horizontal scroll (document ${scroll} px wide in a ${client} px viewport)`);
}

// ---- the checks ----

async function main() {
  mkdirSync(args.artifacts, { recursive: true });
  const server = args.url ? { url: args.url, api: args.url, token: args.token, stderrTail: () => '' } : await startDemo();
  log(`server ${server.url} (API ${server.api})`);
  const call = (method, route, body) => apiCall(server.api, server.token, method, route, body);
  step = 'three hosts ready';
  await waitFor('three ready hosts', async () => (await call('GET', '/hosts')).items.filter((h) => h.state === 'ready').length >= 3, 20000);

  const context = await startBrowser();
  const page = await context.newPage();
  watch(page, 'admin');

  step = 'sign in';
  await login(page, server.url, server.token);
  check(await page.locator('[data-role="admin"]').isVisible(), 'the admin token is not shown as admin');
  log('signed in as admin');

  step = 'fleet: three hosts, three P40s';
  await go(page, server.url, '/fleet');
  await waitFor('three hosts on the fleet page', async () => (await page.locator('article.host').count()) === 3);
  await waitFor('three P40 GPUs drawn', async () =>
    (await page.locator('[data-testid="gpu"] .gpu-board').allTextContents()).filter((t) => t === 'P40').length === 3);
  await waitFor('a temperature reading on a GPU', async () => (await page.locator('.temp:not(.temp-none)').count()) > 0, 15000);
  await shot(page, 'fleet');
  log('fleet: 3 hosts, 3 P40s');

  step = 'create a VM';
  await go(page, server.url, '/vms');
  await page.getByRole('button', { name: 'Create VM' }).click();
  await page.getByLabel('VM name').fill('e2e-1');
  const typeField = page.locator('#vm-type');
  await typeField.waitFor();
  if ((await typeField.evaluate((el) => el.tagName)) === 'SELECT') {
    await waitFor('P40-8Q offered', async () => (await typeField.locator('option[value="P40-8Q"]').count()) > 0);
    await typeField.selectOption('P40-8Q');
  } else {
    await typeField.fill('P40-8Q');
  }
  await page.locator('#create-vm').getByRole('button', { name: 'Create', exact: true }).click();
  await page.getByText(/Created e2e-1/).waitFor({ timeout: 10000 });
  await shot(page, 'vms');
  await go(page, server.url, '/fleet');
  await page.locator('.slot-used[data-vm="e2e-1"]').waitFor({ timeout: 20000 });
  const vm = await call('GET', '/vms/e2e-1');
  const from = vm.vgpus[0].host;
  log(`e2e-1 fills a slot on ${from}`);

  step = 'evacuation dry run';
  await go(page, server.url, '/maintenance');
  await page.getByRole('button', { name: `Preview evacuation of ${from}` }).click();
  const preview = page.locator('[data-testid="evacuation-preview"]');
  await preview.waitFor({ timeout: 10000 });
  const moves = preview.getByRole('table', { name: 'Planned moves' });
  await moves.getByRole('rowheader', { name: 'e2e-1' }).waitFor({ timeout: 5000 });
  const stun = await moves.locator('tbody tr td.num').first().textContent();
  check(/\d+(\.\d+)?\s*s/.test(stun ?? ''), `the dry run shows no predicted stun time (got "${stun}")`);
  check((await call('GET', `/hosts/${from}`)).state === 'ready', 'the dry run changed the host');
  await page.locator('#ha').getByText(/N\+1|Not N\+1/).first().waitFor({ timeout: 10000 });
  await shot(page, 'maintenance-dry-run');
  log(`dry run: e2e-1 moves off ${from}, predicted stun ${stun}`);

  step = 'evacuation';
  await preview.getByRole('button', { name: `Evacuate ${from}` }).click();
  await preview.getByRole('button', { name: /^Start:/ }).click();
  await page.locator('#evacuation .op').waitFor({ timeout: 10000 });
  await page.locator('#evacuation .op[data-op-state="succeeded"]').waitFor({ timeout: 40000 }).catch(async (e) => {
    const state = await page.locator('#evacuation .op').getAttribute('data-op-state');
    throw new CheckFailed(`the evacuation did not succeed (state ${state}): ${e.message}`);
  });
  await shot(page, 'maintenance-evacuated');
  check((await call('GET', `/hosts/${from}`)).state === 'maintenance', `${from} is not in maintenance after the evacuation`);
  log(`${from} evacuated and in maintenance`);

  step = 'licenses: an expiring lease';
  await go(page, server.url, '/licenses');
  await page.locator('tr[data-lease="expiring"]').first().waitFor({ timeout: 20000 });
  await page.locator('[data-testid="expiring"]').waitFor({ timeout: 5000 });
  await shot(page, 'licenses');
  log('licenses: expiring lease shown');

  step = 'planner';
  await go(page, server.url, '/planner');
  await page.getByRole('button', { name: 'Plan' }).click();
  await page.locator('#plan-carving, #demand [role="alert"]').first().waitFor({ timeout: 10000 });
  const refusal = page.locator('#demand [role="alert"]');
  if (await refusal.count()) {
    const text = await refusal.textContent();
    check(/no route/i.test(text ?? ''), `the planner refused the sample demand: ${text}`);
    log('planner: this controller has no POST /api/v1/plans/demand yet');
  } else {
    await page.locator('#plan-carving .slot-new').first().waitFor({ timeout: 5000 });
  }
  await shot(page, 'planner');

  step = 'telemetry and events';
  await go(page, server.url, '/telemetry');
  await page.locator('.chart svg').first().waitFor({ timeout: 10000 });
  await page.locator('#fan-charts .chart svg').first().waitFor({ timeout: 10000 });
  await shot(page, 'telemetry');
  await go(page, server.url, '/events');
  await page.locator('.event').first().waitFor({ timeout: 10000 });
  await waitFor('the event stream live', async () => (await page.locator('.stream-live').count()) > 0, 10000);
  await shot(page, 'events');
  log('planner, telemetry (GPU and fan charts), events pages render');

  step = 'viewer sees no action buttons';
  const viewer = await call('POST', '/tokens', { name: `e2e-viewer-${Date.now()}`, role: 'viewer' });
  check(viewer?.token, 'POST /api/v1/tokens returned no token');
  const vpage = await context.newPage();
  watch(vpage, 'viewer');
  await login(vpage, server.url, viewer.token);
  check(await vpage.locator('[data-role="viewer"]').isVisible(), 'the viewer token is not shown as viewer');
  const actionNames = /^(Create VM|Create|Migrate|Delete|Evacuate|Exit maintenance|Cancel operation|Start:)/;
  for (const route of ['/fleet', '/vms', '/maintenance', '/licenses', '/planner', '/telemetry', '/events']) {
    await go(vpage, server.url, route);
    await waitFor(`${route} loaded`, async () => (await vpage.locator('.loading').count()) === 0, 10000);
    if (route === '/vms') await vpage.locator('table, .empty').first().waitFor({ timeout: 10000 });
    if (route === '/maintenance') {
      const previewButton = vpage.getByRole('button', { name: /^Preview evacuation of/ }).first();
      await previewButton.waitFor({ timeout: 10000 });
      await previewButton.click();
      await vpage.locator('[data-testid="evacuation-preview"]').waitFor({ timeout: 10000 });
    }
    const marked = await vpage.locator('[data-action]').count();
    const named = (await vpage.getByRole('button').allTextContents()).filter((t) => actionNames.test(t.trim()));
    check(marked === 0 && named.length === 0, `viewer sees action buttons on ${route}: ${named.join(', ') || `${marked} marked`}`);
  }
  await go(vpage, server.url, '/vms');
  await shot(vpage, 'viewer-vms');
  log('viewer: no action buttons on any page');

  step = 'phone width';
  const phone = await context.newPage();
  watch(phone, 'phone');
  await phone.setViewportSize({ width: 390, height: 844 });
  await login(phone, server.url, server.token);
  await go(phone, server.url, '/fleet');
  await waitFor('three hosts at phone width', async () => (await phone.locator('article.host').count()) === 3);
  await phone.locator('.gpubar').first().waitFor();
  await noHorizontalScroll(phone, 'fleet page at 390x844');
  await shot(phone, 'fleet-phone');
  for (const route of ['/vms', '/maintenance', '/planner', '/licenses', '/telemetry', '/events']) {
    await go(phone, server.url, route);
    await waitFor(`${route} loaded at phone width`, async () => (await phone.locator('.loading').count()) === 0, 10000);
    await noHorizontalScroll(phone, `${route} at 390x844`);
  }
  await noHorizontalScroll(page, 'events page at 1280x800');
  log('phone width: no horizontal scroll on any page');

  step = 'a rejected token returns to the login page';
  await call('DELETE', `/tokens/${encodeURIComponent(viewer.name)}`);
  await go(vpage, server.url, '/fleet').catch(() => {});
  await vpage.getByLabel('API token').waitFor({ timeout: 10000 });
  check((await vpage.evaluate(() => sessionStorage.getItem('gpufleet.token'))) === null, 'the rejected token stays in sessionStorage');
  log('a revoked token returns to login');

  step = 'no CSP violation or script error';
  check(problems.length === 0, problems.join('\n'));
  return server;
}

let server;
let failed = false;
try {
  server = await main();
  log('PASS: every dashboard check passed');
} catch (e) {
  failed = true;
  const detail = e instanceof CheckFailed ? e.message : e?.stack ?? String(e);
  console.error(`FAIL (${step}): ${detail}`);
  if (problems.length) console.error(`also seen in the browser:\n${problems.join('\n')}`);
  if (failedRequests.length) console.error(`requests that failed:\n${failedRequests.join('\n')}`);
  if (demoStderr) console.error(`--- demo stderr (tail):\n${demoStderr()}`);
  console.error(`screenshots so far: ${args.artifacts}`);
} finally {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch {
      // best effort
    }
  }
}
process.exit(failed ? 1 : 0);
