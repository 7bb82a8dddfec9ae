// Apps of `tessera serve` through supertokens-node 24.0.3. run.sh sets
// TESSERA_URL and KEY (the public app's API key).
//
// Apps are created over HTTP as supertokens-node's own test harness does
// (`PUT /recipe/multitenancy/app/v2` with a `coreConfig`); the SDK is then
// pointed at `<tessera>/appid-<id>`. The SDK keeps one configuration per
// process, so each step runs in a child process of this script
// (`node apps.js <step> <connectionURI> <apiKey> [arg]`).
const assert = require("assert");
const { execFileSync } = require("child_process");
const { randomUUID } = require("crypto");

const [, , step, uri, apiKey, arg] = process.argv;

function init(connectionURI, key) {
  const supertokens = require("supertokens-node");
  const Session = require("supertokens-node/recipe/session");
  const JWT = require("supertokens-node/recipe/jwt");
  supertokens.init({
    framework: "express",
    supertokens: { connectionURI, apiKey: key || undefined },
    appInfo: { appName: "t", apiDomain: "http://api.test", websiteDomain: "http://web.test" },
    recipeList: [Session.init(), JWT.init()],
  });
  return { supertokens, Session, JWT };
}

function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
}

function headerOf(token) {
  return JSON.parse(Buffer.from(token.split(".")[0], "base64url").toString());
}

// One step, in a child process; prints one JSON line.
const steps = {
  async create() {
    const { supertokens, Session } = init(uri, apiKey);
    const s = await Session.createNewSessionWithoutRequestResponse(
      "public", new supertokens.RecipeUserId("node-apps-user"), {}, {});
    return { accessToken: s.getAllSessionTokensDangerously().accessToken };
  },
  async createRefused() {
    const { supertokens, Session } = init(uri, apiKey);
    try {
      await Session.createNewSessionWithoutRequestResponse(
        "public", new supertokens.RecipeUserId("u"), {}, {});
    } catch (e) {
      return { refused: String(e.message) };
    }
    return { refused: null };
  },
  async verify() {
    const { Session } = init(uri, apiKey);
    try {
      const s = await Session.getSessionWithoutRequestResponse(arg, undefined, { checkDatabase: true });
      return { userId: s.getUserId() };
    } catch (e) {
      return { error: e.type || String(e.message) };
    }
  },
  async jwt() {
    const { JWT } = init(uri, apiKey);
    const r = await JWT.createJWT({ sub: "service-a" }, 120, arg === "static");
    assert.strictEqual(r.status, "OK");
    return { jwt: r.jwt };
  },
};

function run(name, connectionURI, key, extra) {
  const out = execFileSync(process.execPath, [__filename, name, connectionURI, key || "", extra || ""], {
    env: process.env,
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").pop());
}

async function createApp(coreConfig) {
  const appId = `node-${randomUUID()}`;
  const r = await fetch(`${process.env.TESSERA_URL}/recipe/multitenancy/app/v2`, {
    method: "PUT",
    headers: { "content-type": "application/json", "api-key": process.env.KEY },
    body: JSON.stringify({ appId, coreConfig }),
  });
  const text = await r.text();
  assert.strictEqual(r.status, 200, text);
  assert.deepStrictEqual(JSON.parse(text), { status: "OK", createdNew: true });
  return `${process.env.TESSERA_URL}/appid-${appId}`;
}

async function main() {
  const key = process.env.KEY;

  // An app's access_token_validity reaches its tokens.
  const short = await createApp({ access_token_validity: 2 });
  const { accessToken } = run("create", short, key);
  const c = claimsOf(accessToken);
  assert(c.exp - c.iat >= 1 && c.exp - c.iat <= 2, JSON.stringify(c));

  // A token of one app is refused by another.
  assert.strictEqual(run("verify", short, key, accessToken).userId, "node-apps-user");
  const other = await createApp({});
  assert.notStrictEqual(run("verify", other, key, accessToken).userId, "node-apps-user");

  // An app's own API keys; the public app's key does not open it.
  const appKey = "node-apps-key-abcdefghij0123456789";
  const keyed = await createApp({ api_keys: appKey });
  assert.match(run("createRefused", keyed, key).refused || "", /Invalid API key/);
  assert(run("create", keyed, appKey).accessToken);

  // createJWT: verifiable with the app's JWKS, not with another app's.
  const { createRemoteJWKSet, jwtVerify } = require("jose");
  for (const kind of ["static", "dynamic"]) {
    const { jwt } = run("jwt", short, key, kind);
    assert(headerOf(jwt).kid.startsWith(kind === "static" ? "s-" : "d-"));
    const { payload } = await jwtVerify(jwt, createRemoteJWKSet(new URL(`${short}/.well-known/jwks.json`)));
    assert.strictEqual(payload.sub, "service-a");
    assert.strictEqual(payload.iss, "http://api.test");
    assert.strictEqual(payload.exp - payload.iat, 120);
    await assert.rejects(jwtVerify(jwt, createRemoteJWKSet(new URL(`${other}/.well-known/jwks.json`))));
  }
  console.log("node apps OK");
}

if (step) {
  steps[step]()
    .then((r) => console.log(JSON.stringify(r)))
    .catch((e) => { console.error(e); process.exit(1); });
} else {
  main().catch((e) => { console.error(e); process.exit(1); });
}
