// The dashboard's browser test (make dashboard-test): playwright-core drives Debian's
// chromium against a wp-dind container the Go test (images/dashboard_test.go) started with
// two instances. It checks what issue 15's first "Done when" asks, keeps screenshots in
// ARTIFACTS, and prints one "ok:" line per check; any failure exits 1.
//
// Env: DASHBOARD_URL (http://127.0.0.1:PORT/), CONTAINER (the wp-dind container's ID),
// SITES (JSON: [{"name":..,"title":..}]), ARTIFACTS (a folder), CHROMIUM (/usr/bin/chromium),
// PLAYWRIGHT_DIR (where make browser-deps installed package.json's playwright-core).
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const { chromium } = createRequire(join(process.env.PLAYWRIGHT_DIR, "package.json"))("playwright-core");
const url = process.env.DASHBOARD_URL;
const container = process.env.CONTAINER;
const sites = JSON.parse(process.env.SITES);
const artifacts = process.env.ARTIFACTS;
mkdirSync(artifacts, { recursive: true });

function docker(...args) {
  return execFileSync("docker", args, { encoding: "utf8", timeout: 120_000 }).trim();
}
function ctlJSON(...args) {
  return JSON.parse(docker("exec", container, "ctl", ...args, "--json"));
}
function ok(msg) { console.log("ok: " + msg); }
function fail(msg) { throw new Error(msg); }

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"], // playwright gives it a fresh profile of its own
});
// The links by name are HTTPS signed by the wp-dind's local CA, which this fresh profile does
// not trust: images/router_test.go checks that trust; here only where the links lead counts.
const context = await browser.newContext({ viewport: { width: 1440, height: 1000 }, ignoreHTTPSErrors: true });
const page = await context.newPage();
const shot = async (name) => {
  await page.screenshot({ path: join(artifacts, `dashboard-${name}.png`), fullPage: true });
  ok(`screenshot ${name}`);
};
const row = (name) => page.locator(`tr[data-instance="${name}"]`);

try {
  await page.goto(url);
  await page.locator("#live.on").waitFor({ timeout: 15_000 });
  ok("the page is live (SSE connected)");

  // 1. Both instances healthy, with working links.
  for (const s of sites) {
    await row(s.name).locator('[data-field="health"]', { hasText: "healthy" }).waitFor({ timeout: 60_000 });
    const state = await row(s.name).locator('[data-field="state"]').textContent();
    if (state !== "running") fail(`${s.name} is ${state}`);
  }
  ok("both instances running and healthy");
  await shot("overview");
  for (const s of sites) {
    const site = await row(s.name).locator('a[data-link="site"]').getAttribute("href");
    const sp = await context.newPage();
    const resp = await sp.goto(site);
    if (resp.status() !== 200 || !(await sp.content()).includes(s.title)) fail(`${s.name}: ${site} answered ${resp.status()}`);
    ok(`${s.name}: the site link ${site} answers with its WordPress`);
    const pma = await row(s.name).locator('a[data-link="phpmyadmin"]').getAttribute("href");
    const pr = await sp.goto(pma);
    const chosen = await sp.locator("select[name=server] option[selected]").first().textContent().catch(() => "");
    if (pr.status() !== 200 || chosen.trim() !== s.name) fail(`${s.name}: ${pma} answered ${pr.status()}, server chosen ${JSON.stringify(chosen)}`);
    ok(`${s.name}: the phpMyAdmin link ${pma} answers with server ${chosen.trim()} chosen`);
    if (s === sites[0]) await sp.screenshot({ path: join(artifacts, "dashboard-phpmyadmin.png") });
    await sp.close();
  }

  // Secrets are not in the page until "show".
  const secrets = ctlJSON("status", sites[0].name, "--show-secrets").secrets;
  if ((await page.content()).includes(secrets.admin_password)) fail("the admin password is in the page before show");
  await row(sites[0].name).locator('[data-action="secrets"]').click();
  await page.locator("#panel dl.secrets dd", { hasText: secrets.admin_password }).waitFor({ timeout: 10_000 });
  ok("secrets absent from the page until the show click, then shown");
  await shot("secrets");
  await page.locator("#panel [data-close]").click();

  // 2. A click on Xdebug changes the mode, seen in ctl status NAME.
  const x = sites[0].name;
  const before = ctlJSON("status", x).xdebug_mode;
  await row(x).locator('[data-action="xdebug"]').click();
  const want = before === "debug" ? "off" : "debug";
  await row(x).locator('[data-field="xdebug"]', { hasText: want }).waitFor({ timeout: 90_000 });
  const after = ctlJSON("status", x).xdebug_mode;
  if (after !== want) fail(`ctl status ${x}: xdebug_mode ${after} after the click, want ${want}`);
  ok(`xdebug click: ${before} -> ${after} in ctl status ${x}`);

  // 3. A click on backup produces an archive that appears on the page.
  const archives = () => ctlJSON("backups", x).archives || [];
  const n = archives().length;
  await row(x).locator('[data-action="backup"]').click();
  await page.waitForFunction(([name, n]) =>
    document.querySelectorAll(`tr[data-instance="${name}"] .backup`).length > n, [x, n], { timeout: 180_000 });
  const list = archives();
  const newest = list[list.length - 1].path.split("/").pop();
  if (list.length !== n + 1) fail(`ctl backups ${x}: ${list.length} archives, want ${n + 1}`);
  await row(x).locator(`.backup[data-file="${newest}"]`).waitFor({ timeout: 5_000 });
  ok(`backup click: ${newest} written and shown`);
  await shot("after-actions");

  // 4. kill -9 of nginx shows as a restart within 3 s, without a reload.
  await page.evaluate(() => { window.__noReload = true; });
  const cell = page.locator('tr[data-service="nginx"] .restarts');
  const restarts = Number(await cell.textContent());
  const nginx = ctlJSON("status").services.find((s) => s.name === "nginx");
  docker("exec", container, "kill", "-9", String(nginx.pid));
  const t0 = Date.now();
  await page.waitForFunction((want) =>
    document.querySelector('tr[data-service="nginx"] .restarts').textContent.trim() === String(want), restarts + 1, { timeout: 3_000 });
  const took = Date.now() - t0;
  if (!(await page.evaluate(() => window.__noReload === true))) fail("the page was reloaded");
  ok(`kill -9 nginx: restarts ${restarts} -> ${restarts + 1} on the page in ${took} ms, no reload`);
  console.log(`timing: kill_to_page_ms=${took}`);
  await shot("after-kill");

  // Logs of a service and of an instance's container follow.
  await page.locator('tr[data-service="dockerd"] [data-logs="service"]').click();
  await page.locator("#panel pre.logs span").first().waitFor({ timeout: 10_000 });
  ok("dockerd's logs follow in the panel");
  await page.locator(`tr[data-instance="${x}"] [data-logs="container"][data-role="php"]`).click();
  await page.locator("#panel pre.logs span").first().waitFor({ timeout: 10_000 });
  ok(`${x}'s php container logs follow in the panel`);
  await shot("logs");
  await page.locator("#panel [data-close]").click();

  // Restart of an instance's containers: confirmed, the same containers, healthy again.
  const r = sites[1].name;
  const ids = ctlJSON("status", r).containers.map((c) => c.id).sort().join(",");
  page.once("dialog", (d) => d.accept());
  await row(r).locator('[data-action="restart"]').click();
  await page.locator("#toast", { hasText: `${r}: restarted` }).waitFor({ timeout: 240_000 });
  await row(r).locator('[data-field="health"]', { hasText: "healthy" }).waitFor({ timeout: 60_000 });
  const again = ctlJSON("status", r);
  if (again.containers.map((c) => c.id).sort().join(",") !== ids || again.state !== "running") {
    fail(`${r} after restart: ${again.state}, containers ${JSON.stringify(again.containers)}`);
  }
  ok(`restart click: ${r}'s containers restarted, not recreated, and healthy again`);
} catch (e) {
  await page.screenshot({ path: join(artifacts, "dashboard-failure.png"), fullPage: true }).catch(() => {});
  console.error("FAIL: " + e.message);
  process.exitCode = 1;
} finally {
  await browser.close();
}
