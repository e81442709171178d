// The router's browser test (make router-test): playwright-core drives Debian's chromium,
// twice, against a site's https://NAME.localhost:PORT/ that the Go test (images/router_test.go)
// serves. Once with HOME_TRUST as HOME, whose NSS database ($HOME/.pki/nssdb, where Chromium
// on Linux reads its trusted CAs) holds wp-dind's CA: the page loads with no certificate
// error. Once with HOME_EMPTY, a fresh NSS database: the navigation fails with a
// certificate error. Screenshots of both go to ARTIFACTS; one "ok:" line per check; any
// failure exits 1.
//
// Env: URL, TITLE (in the page), HOME_TRUST, HOME_EMPTY, ARTIFACTS, CHROMIUM, PLAYWRIGHT_DIR.
import { createRequire } from "node:module";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const { chromium } = createRequire(join(process.env.PLAYWRIGHT_DIR, "package.json"))("playwright-core");
const url = process.env.URL;
const artifacts = process.env.ARTIFACTS;
mkdirSync(artifacts, { recursive: true });
const ok = (msg) => console.log("ok: " + msg);

async function browse(home) {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    env: { ...process.env, HOME: home },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"], // playwright gives it a fresh profile of its own
  });
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  return { browser, page };
}

// With the CA trusted: 200, the site's page, a certificate of wp-dind's CA.
{
  const { browser, page } = await browse(process.env.HOME_TRUST);
  try {
    const resp = await page.goto(url, { waitUntil: "load" });
    const title = await page.title();
    const sec = await resp.securityDetails();
    await page.screenshot({ path: join(artifacts, "router-ca-trusted.png"), fullPage: true });
    if (resp.status() !== 200) throw new Error(`${url} answered ${resp.status()}`);
    if (!(await page.content()).includes(process.env.TITLE)) throw new Error(`${url}: no "${process.env.TITLE}" in the page (title "${title}")`);
    if (!sec || !String(sec.issuer).includes("wp-dind")) throw new Error(`${url}: certificate issuer ${sec && sec.issuer}`);
    ok(`with the CA: ${url} loads, ${resp.status()}, "${title}", certificate by ${sec.issuer} (${sec.protocol})`);
  } finally {
    await browser.close();
  }
}

// Without it: a certificate error, shown as Chromium's interstitial.
{
  const { browser, page } = await browse(process.env.HOME_EMPTY);
  try {
    let err = null;
    try {
      await page.goto(url, { waitUntil: "load" });
    } catch (e) {
      err = e;
    }
    // The interstitial Chromium shows for the failed navigation, before its screenshot.
    await page.getByText(/not private|NET::ERR_CERT_AUTHORITY_INVALID/).first().waitFor({ timeout: 10_000 }).catch(() => {});
    await page.screenshot({ path: join(artifacts, "router-ca-untrusted.png"), fullPage: true });
    if (!err || !/ERR_CERT_AUTHORITY_INVALID/.test(err.message)) throw new Error(`without the CA: ${err ? err.message : "the page loaded"}`);
    ok(`without the CA: ${url} fails with net::ERR_CERT_AUTHORITY_INVALID`);
  } finally {
    await browser.close();
  }
}
