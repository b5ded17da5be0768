// End-to-end run of the dashboard in Debian's chromium against a running `oakestra root`:
//   node e2e/run.mjs --url http://127.0.0.1:PORT [--image REF] [--screenshots DIR]
// With --image (a container image the root's workers can pull) it also deploys a service, waits
// for RUNNING and reads a line the container printed. Exits 0 when every step passed.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const args = Object.fromEntries(
  process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []),
);
const base = args.url;
if (!base) {
  console.error('usage: run.mjs --url http://HOST:PORT [--image REF] [--screenshots DIR]');
  process.exit(2);
}
const shots = args.screenshots;
if (shots) mkdirSync(shots, { recursive: true });
const browserPath = process.env.OAK_CHROMIUM ?? '/usr/bin/chromium';

const browser = await chromium.launch({
  executablePath: browserPath,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
  ],
});
const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
const page = await context.newPage();
const consoleErrors = [];
page.on('pageerror', (e) => consoleErrors.push(String(e)));
// Generous: CI machines are shared with builds and other tests.
page.setDefaultTimeout(30000);

let step = '';
async function check(name, fn) {
  step = name;
  const t0 = Date.now();
  await fn();
  console.log(`ok   ${name} (${Date.now() - t0} ms)`);
}
async function shot(name) {
  if (shots) await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}
function fail(message) {
  throw new Error(message);
}

const badName = 'bad name!';
const sla = (appName, image) => ({
  sla_version: 'v2.0',
  customerID: 'Admin',
  applications: [
    {
      application_name: appName,
      application_namespace: 'e2e',
      application_desc: 'made by the end-to-end test',
      microservices: [
        {
          microservice_name: 'talker',
          microservice_namespace: 'e2e',
          virtualization: 'container',
          code: image ?? 'docker.io/library/busybox:latest',
          memory: 64,
          vcpus: 1,
          cmd: ['sh', '-c', 'echo hello-from-e2e; echo warn-from-e2e >&2; i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done'],
        },
      ],
    },
  ],
});

try {
  await check('the first load is interactive quickly and asks to log in', async () => {
    const t0 = Date.now();
    await page.goto(base + '/');
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
    const ms = Date.now() - t0;
    if (!page.url().endsWith('/login')) fail(`expected /login, got ${page.url()}`);
    console.log(`     interactive after ${ms} ms`);
    await shot('login');
  });

  await check('a wrong password is refused with a message', async () => {
    await page.getByLabel('Username').fill('Admin');
    await page.getByLabel('Password', { exact: true }).fill('wrong');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByText('Wrong username or password').waitFor();
  });

  await check('log in as Admin', async () => {
    await page.getByLabel('Password', { exact: true }).fill('Admin');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Applications', exact: true }).waitFor();
    await page.getByText('No applications yet').waitFor();
    await shot('applications-empty');
  });

  await check('a bad application name in the JSON editor shows the server message', async () => {
    await page.getByRole('button', { name: 'New application', exact: true }).click();
    await page.getByRole('tab', { name: 'JSON (full SLA)', exact: true }).click();
    await page.getByLabel('SLA').fill(JSON.stringify(sla(badName, args.image), null, 2));
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const msg = page.locator('.json-editor .field-error', { hasText: 'applications[0].application_name' });
    await msg.waitFor();
    const text = await msg.textContent();
    if (!text.includes('does not match')) fail(`unexpected message: ${text}`);
    await shot('application-json-validation');
  });

  await check('create the application from the JSON editor', async () => {
    await page.getByLabel('SLA').fill(JSON.stringify(sla('webapp', args.image), null, 2));
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.locator('tr[data-app="webapp"]').waitFor();
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await shot('applications');
  });

  await check('the application lists its service and addresses', async () => {
    await page.locator('tr[data-app="webapp"] a', { hasText: 'webapp' }).click();
    const card = page.locator('section[data-service="talker"]');
    await card.waitFor();
    await card.getByText('Round robin').waitFor();
    await card.getByText('No instances').waitFor();
  });

  await check('the service editor shows a field error next to the field', async () => {
    await page.getByRole('button', { name: 'Add service', exact: true }).click();
    await page.getByRole('heading', { name: 'New service', exact: true }).waitFor();
    await page.locator('input[name="microservice_name"]').fill('second');
    await page.locator('input[name="code"]').fill(args.image ?? 'docker.io/library/busybox:latest');
    await page.locator('input[name="memory"]').fill('1.5');
    await page.getByRole('button', { name: 'Create service', exact: true }).click();
    const err = page.locator('label.field.invalid', { has: page.locator('input[name="memory"]') }).locator('.field-error');
    await err.waitFor();
    const text = await err.textContent();
    if (!text.includes('integer')) fail(`unexpected message next to memory: ${text}`);
    await shot('service-editor-validation');
    await page.getByRole('button', { name: 'Cancel', exact: true }).click();
    await page.locator('section[data-service="talker"]').waitFor();
  });

  if (args.image) {
    await check('deploy an instance and watch it become RUNNING', async () => {
      const card = page.locator('section[data-service="talker"]');
      await card.getByRole('button', { name: 'Deploy one more', exact: true }).click();
      await card.locator('tr[data-instance="0"] [data-status="RUNNING"]').waitFor({ timeout: 120000 });
      await card.locator('tr[data-instance="0"] td', { hasText: /^w[12]$/ }).waitFor();
      await shot('services');
    });

    await check('the instance page follows its logs, per stream, with search', async () => {
      const card = page.locator('section[data-service="talker"]');
      await card.locator('tr[data-instance="0"]').getByRole('button', { name: 'Details & logs', exact: true }).click();
      const lines = page.getByTestId('log-lines');
      await lines.getByText('hello-from-e2e').waitFor({ timeout: 30000 });
      await lines.getByText(/tick [0-9]+/).first().waitFor();
      await page.getByRole('tab', { name: 'stderr', exact: true }).click();
      // The tab shows stderr alone: stdout's lines go, the stderr line stays.
      await lines.getByText('hello-from-e2e').waitFor({ state: 'detached' });
      await lines.getByText('warn-from-e2e').waitFor({ timeout: 30000 });
      if ((await lines.getByText(/hello-from-e2e|tick [0-9]+/).count()) !== 0) fail('stdout lines in the stderr tab');
      await page.getByRole('tab', { name: 'All', exact: true }).click();
      await lines.getByText('hello-from-e2e').waitFor({ timeout: 30000 });
      await page.getByLabel('Search the log').fill('hello');
      await page.getByText(/1 of [0-9]+ lines match/).waitFor();
      await page.getByLabel('Search the log').fill('');
      await shot('instance');
    });

    await check('remove all instances', async () => {
      await page.goBack();
      const card = page.locator('section[data-service="talker"]');
      await card.getByRole('button', { name: 'Remove all instances', exact: true }).click();
      await card.getByRole('button', { name: 'Yes', exact: true }).click();
      await card.getByText('No instances').waitFor({ timeout: 30000 });
    });
  }

  await check('infrastructure page', async () => {
    await page.getByRole('link', { name: 'Infrastructure', exact: true }).click();
    await page.getByRole('heading', { name: 'Infrastructure', exact: true }).waitFor();
    await page.locator('section.health').getByText('healthy', { exact: true }).waitFor();
    if (args.image) await page.locator('section[data-cluster] .badge', { hasText: 'active' }).first().waitFor();
    else await page.getByText(/No clusters yet|clusters active/).first().waitFor();
    const alerts = page.getByRole('region', { name: 'Alerts', exact: true });
    await alerts.getByText(/No active alerts|firing|pending/).first().waitFor();
    if (args.image) {
      // Each worker by name, as its cluster reported it.
      for (const w of ['w1', 'w2']) {
        await page.locator(`section[data-cluster] li[data-worker="${w}"]`, { hasText: 'active' }).waitFor();
      }
    }
  });

  await check('an Admin reads the control-plane logs, filtered by component', async () => {
    const lines = page.getByTestId('control-log-lines');
    await lines.locator('.log-line', { hasText: ' root' }).first().waitFor();
    if (args.image) {
      await page.getByLabel('Component', { exact: true }).selectOption('worker');
      // The root's records go, the workers' stay.
      await lines.locator('.log-line', { hasText: /(debug|info|warn|error) +root/ }).first().waitFor({ state: 'detached' });
      await lines.locator('.log-line', { hasText: /worker w[12]@/ }).first().waitFor();
      await page.getByLabel('Component', { exact: true }).selectOption('');
      await lines.locator('.log-line', { hasText: ' root' }).first().waitFor();
    }
    // The screenshot without the earlier actions' toasts over the filters.
    await page.locator('.toast').first().waitFor({ state: 'detached', timeout: 15000 });
    await shot('infrastructure');
  });

  await check('users and organizations for admins', async () => {
    await page.getByRole('link', { name: 'Users', exact: true }).click();
    await page.getByRole('cell', { name: 'Admin', exact: true }).waitFor();
    await shot('users');
    await page.getByRole('link', { name: 'Organizations', exact: true }).click();
    await page.getByRole('heading', { name: 'Organizations', exact: true }).waitFor();
    await page.locator('section[data-org]').first().waitFor();
    await shot('organizations');
  });

  await check('a wrong current password is reported next to the field', async () => {
    await page.getByRole('link', { name: 'Admin', exact: true }).click();
    await page.getByRole('heading', { name: 'Change password', exact: true }).waitFor();
    await page.getByLabel('Current password').fill('not-the-password');
    await page.getByLabel('New password', { exact: true }).fill('whatever1');
    await page.getByLabel('New password again').fill('whatever1');
    await page.getByRole('button', { name: 'Change password', exact: true }).click();
    await page.locator('.field.invalid .field-error', { hasText: 'not correct' }).waitFor();
    await shot('account');
  });

  await check('an unreachable API is announced, and the page recovers', async () => {
    await page.getByRole('link', { name: 'Applications', exact: true }).click();
    await page.locator('tr[data-app="webapp"]').waitFor();
    await page.route('**/api/**', (route) => route.abort());
    await page.getByText('does not answer').waitFor({ timeout: 20000 });
    await page.locator('tr[data-app="webapp"]').waitFor();
    await shot('api-down');
    await page.unroute('**/api/**');
    await page.getByText('does not answer').waitFor({ state: 'detached', timeout: 20000 });
  });

  await check('a session that cannot be renewed sends back to login with a message', async () => {
    await page.evaluate(() => {
      localStorage.setItem('api_token', localStorage.getItem('api_token').replace(/.$/, 'x'));
      localStorage.setItem('api_refresh_token', 'broken');
    });
    await page.reload();
    await page.getByText('Your session has expired').waitFor();
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  });

  await check('log in again, then log out', async () => {
    await page.getByLabel('Username').fill('Admin');
    await page.getByLabel('Password', { exact: true }).fill('Admin');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await page.getByRole('heading', { name: 'Applications', exact: true }).waitFor();
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    await page.getByRole('button', { name: 'Sign in', exact: true }).waitFor();
  });

  if (consoleErrors.length) fail(`uncaught errors in the page: ${consoleErrors.join('; ')}`);
  console.log('e2e: all steps passed');
  await browser.close();
} catch (e) {
  console.error(`FAIL ${step}: ${e instanceof Error ? e.message : e}`);
  if (shots) await page.screenshot({ path: join(shots, 'failure.png'), fullPage: true }).catch(() => {});
  console.error(`page at failure: ${page.url()}`);
  console.error((await page.locator('body').innerText().catch(() => '')).slice(0, 3000));
  await browser.close();
  process.exit(1);
}
