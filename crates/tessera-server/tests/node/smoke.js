// supertokens-node 24.0.3 against `tessera serve`: every session call the SDK
// makes to its core, without a web framework. run.sh sets TESSERA_URL and KEY.
const supertokens = require("supertokens-node");
const Session = require("supertokens-node/recipe/session");
const assert = require("assert");
supertokens.init({
  framework: "express",
  supertokens: { connectionURI: process.env.TESSERA_URL, apiKey: process.env.KEY },
  appInfo: { appName: "t", apiDomain: "http://localhost:3001", websiteDomain: "http://localhost:3000" },
  recipeList: [Session.init()],
});
(async () => {
  const { RecipeUserId } = supertokens;
  const s = await Session.createNewSessionWithoutRequestResponse("public", new RecipeUserId("node-user"), { role: "x" }, { d: 1 });
  const tokens = s.getAllSessionTokensDangerously();
  const v = await Session.getSessionWithoutRequestResponse(tokens.accessToken);
  assert.strictEqual(v.getUserId(), "node-user");
  assert.strictEqual((await v.getSessionDataFromDatabase()).d, 1);
  await v.mergeIntoAccessTokenPayload({ plan: "gold" });
  assert.strictEqual(v.getAccessTokenPayload().plan, "gold");
  const r = await Session.refreshSessionWithoutRequestResponse(tokens.refreshToken);
  const t2 = r.getAllSessionTokensDangerously();
  assert.notStrictEqual(t2.refreshToken, tokens.refreshToken);
  const v2 = await Session.getSessionWithoutRequestResponse(t2.accessToken, undefined, { checkDatabase: true });
  assert.strictEqual(v2.getAccessTokenPayload().plan, "gold");
  const handles = await Session.getAllSessionHandlesForUser("node-user");
  assert.deepStrictEqual(handles, [s.getHandle()]);
  const info = await Session.getSessionInformation(s.getHandle());
  assert.strictEqual(info.tenantId, "public");
  assert.deepStrictEqual(await Session.revokeAllSessionsForUser("node-user"), [s.getHandle()]);
  try { await Session.getSessionWithoutRequestResponse(t2.accessToken, undefined, { checkDatabase: true }); assert.fail("should fail"); }
  catch (e) { assert.strictEqual(e.type, "UNAUTHORISED"); }
  console.log("node smoke OK");
})().catch((e) => { console.error(e); process.exit(1); });
