'use strict';
// The deployable bundle (build.js): under Lambda@Edge's 1 MB zipped limit, and it works on its
// own, reading config.json from its folder.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const h = require('./helpers');
const { build, MAX_ZIPPED_BYTES } = require('../build');

let esbuildMissing = null;
try {
  require.resolve('esbuild');
} catch {
  esbuildMissing = 'esbuild (a devDependency) is not installed: npm ci --prefix lambdas/edge_auth';
}
// In CI the bundle test must run; elsewhere a missing dev tool is a skip with the reason.
const skip = esbuildMissing && process.env.CI !== 'true' ? esbuildMissing : false;

test('the bundle is one file well under 1 MB zipped, and it gates requests', { skip }, async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-auth-bundle-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true })); // nothing outlives the run
  const file = build(dir);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(h.CONFIG));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['config.json', 'index.js']);

  const zipped = fs.readdirSync(dir)
    .reduce((n, f) => n + zlib.deflateRawSync(fs.readFileSync(path.join(dir, f)), { level: 9 }).length + 100, 0);
  assert.ok(zipped < MAX_ZIPPED_BYTES / 4, `bundle is ${zipped} bytes zipped`);

  const bundle = require(file);
  h.assertSignInRedirect(await bundle.handler(h.viewerRequest('/')));

  const gate = bundle.createHandler(bundle.parseConfig(h.CONFIG));
  gate.authenticator._jwtVerifier.cacheJwks(h.JWKS);
  const member = h.viewerRequest('/latest.json', { cookies: [h.sessionCookie({ id: h.idToken() })] });
  assert.equal(await gate(member), member.Records[0].cf.request);
  const outsider = h.viewerRequest('/', { cookies: [h.sessionCookie({ id: h.idToken({ 'cognito:groups': [] }) })] });
  h.assertPage(await gate(outsider), 403);
});
