// Takes docs/demo.png: the demo page signed in, after a few actions.
// Usage: node tests/browser/screenshot.mjs [out.png]
// Needs what run.sh builds (the SDK bundle, target/debug/tessera-demo).
// docs/demo.png is this output through `pngquant --quality 70-90`.
import { join } from "node:path";
import { checkPrerequisites, launchBrowser, root, startDemo } from "./lib.mjs";

const out = process.argv[2] || join(root, "docs", "demo.png");
checkPrerequisites();
const demo = await startDemo(["--anti-csrf", "via-token"], { accessTokenValidity: 3 });
const browser = await launchBrowser();
try {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on("console", (m) => console.log("[page]", m.text()));
  await page.goto(demo.base + "/?mode=cookie");
  await page.evaluate(() => window.demo.ready);
  await page.fill("#user-id", "alice");
  await page.click("#login");
  await page.waitForSelector("#signed-in:not(.hidden)");
  await page.waitForFunction(() => document.querySelector("#data-edit").value !== "");
  await page.fill("#payload-edit", JSON.stringify({ role: "editor", plan: "pro" }, null, 2));
  await page.click("#save-payload");
  await page.waitForFunction(() => !document.querySelector("#save-payload").disabled);
  await page.fill("#data-edit", JSON.stringify({ visits: 3, notes: "hello from the session data", cart: [1, 2] }, null, 2));
  await page.click("#save-data");
  await page.waitForFunction(() => !document.querySelector("#save-data").disabled);
  // Let the access token expire, then call the API: the SDK refreshes.
  await page.waitForTimeout(3600);
  await page.click("#call");
  await page.waitForFunction(() => !document.querySelector("#call").disabled);
  await page.waitForTimeout(300);
  await page.screenshot({ path: out, fullPage: true });
  console.log("wrote " + out);
} finally {
  await browser.close();
  await demo.stop();
}
