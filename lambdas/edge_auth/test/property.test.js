'use strict';
// Property: whatever Cookie headers arrive (random bytes, oversized, hundreds of cookies,
// JWT-like junk, genuine tokens with tampered parts), no request without a valid member
// session is let through, and the handler never throws.
//
// A seeded generator (no dependency): EDGE_AUTH_SEED and EDGE_AUTH_RUNS change the run;
// a failure prints the seed and case number to replay it.

const { test } = require('node:test');
const assert = require('node:assert/strict');
const h = require('./helpers');

const { CONFIG, COOKIE_BASE } = h;
const SEED = Number(process.env.EDGE_AUTH_SEED ?? 20240611);
const RUNS = Number(process.env.EDGE_AUTH_RUNS ?? 1500);

/** mulberry32: a small, seedable PRNG. */
function prng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo, hi) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = (xs) => xs[int(0, xs.length - 1)];
  const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(0, 255)));
  return { next, int, pick, bytes };
}

// Genuine tokens to tamper with: a member's (must never pass once altered) and others.
const MEMBER_ID = h.idToken();
const MEMBER_ACCESS = h.accessToken();
const OUTSIDER_ID = h.idToken({ 'cognito:groups': ['others'] });
const EXPIRED_ID = h.idToken({ exp: h.now() - 30 });

function generators(r) {
  const ALPHABET = 'abcXYZ019-_.~=;,% "\\\t\r\n\x00\x7f/+é✓😀';
  const randomText = (n) => Array.from({ length: n }, () => r.pick([...ALPHABET])).join('');
  const b64 = (n) => r.bytes(n).toString('base64url');
  const ourName = (suffix) => `${COOKIE_BASE}.${r.pick(['alice', 'bob', '', 'a.b', '%41', randomText(4)])}.${suffix}`;
  const anyName = () => r.pick([ourName('idToken'), ourName('refreshToken'), ourName('accessToken'),
    `${COOKIE_BASE}.LastAuthUser`, `${COOKIE_BASE}.pkce`, 'session', randomText(r.int(0, 12))]);

  /** A genuine token with one part changed so that its decoded bytes differ. */
  function tamper(token) {
    const parts = token.split('.');
    const which = r.int(0, 2);
    const raw = Buffer.from(parts[which], 'base64url');
    let changed;
    switch (r.int(0, 4)) {
      case 0: { // flip one byte
        changed = Buffer.from(raw);
        const i = r.int(0, changed.length - 1);
        changed[i] ^= r.int(1, 255);
        break;
      }
      case 1: // truncate
        changed = raw.subarray(0, r.int(0, Math.max(0, raw.length - 1)));
        break;
      case 2: // append
        changed = Buffer.concat([raw, r.bytes(r.int(1, 16))]);
        break;
      case 3: { // rewrite a claim of a JSON part, keep the signature
        if (which === 2) {
          changed = Buffer.concat([r.bytes(1), raw.subarray(1)]);
          if (changed[0] === raw[0]) changed[0] ^= 1;
          break;
        }
        const json = JSON.parse(raw.toString());
        const claim = r.pick(which === 0 ? ['alg', 'kid', 'typ'] : ['exp', 'iss', 'aud', 'token_use', 'cognito:groups', 'sub']);
        const value = r.pick(['none', 'HS256', 'RS512', 0, -1, 9e15, null, [], [CONFIG.requiredGroup], 'x', CONFIG.userPoolAppId]);
        if (JSON.stringify(json[claim]) === JSON.stringify(value)) json[claim] = `${json[claim]}-changed`;
        else json[claim] = value;
        changed = Buffer.from(JSON.stringify(json));
        break;
      }
      default: // swap in a part from another genuine token
        changed = Buffer.from(r.pick([OUTSIDER_ID, EXPIRED_ID, MEMBER_ACCESS]).split('.')[which] ?? '', 'base64url');
        if (changed.equals(raw)) changed = Buffer.concat([changed, Buffer.from('x')]);
    }
    assert.ok(!changed.equals(raw), 'tamper changed the bytes');
    parts[which] = changed.toString('base64url');
    return parts.join('.');
  }

  const jwtLike = () => {
    const parts = Array.from({ length: r.int(1, 5) }, () => r.pick([
      b64(r.int(0, 64)),
      h.b64url({ alg: r.pick(['RS256', 'none', 'HS256', '']), kid: r.pick([h.KEY.kid, 'x', 1, null]) }),
      h.b64url(h.idClaims({ exp: r.pick([h.now() + 600, 'soon', null]) })),
      '', '=', '..', randomText(r.int(0, 8)),
    ]));
    return parts.join('.');
  };

  const value = () => r.pick([
    () => tamper(MEMBER_ID),
    () => tamper(r.pick([MEMBER_ID, MEMBER_ACCESS, OUTSIDER_ID])),
    jwtLike,
    () => b64(r.int(0, 400)),
    () => randomText(r.int(0, 40)),
    () => r.bytes(r.int(0, 200)).toString('latin1'),
    () => '%' + r.pick(['FF', 'E0%A4', 'zz', '', '%%', 'C3%28']),
    () => MEMBER_ACCESS, // an access token is not an id token
    () => OUTSIDER_ID,
    () => EXPIRED_ID,
  ])();

  /** One Cookie header value, of one of several shapes. */
  const header = () => r.pick([
    () => r.bytes(r.int(0, 300)).toString('latin1'),
    () => randomText(r.int(0, 200)),
    () => `${ourName('idToken')}=${value()}`,
    () => Array.from({ length: r.int(1, 8) }, () => `${anyName()}=${value()}`).join(r.pick(['; ', ';', ' ; ', ','])),
    () => Array.from({ length: r.int(100, 600) }, (_, i) => `c${i}=${b64(r.int(0, 12))}`).join('; ') +
      `; ${ourName('idToken')}=${value()}`,
    () => `${ourName('idToken')}=${tamper(MEMBER_ID)}${'A'.repeat(r.int(8 * 1024, 40 * 1024))}`,
    () => `big=${b64(r.int(6 * 1024, 30 * 1024))}; ${ourName(r.pick(['idToken', 'refreshToken']))}=${value()}`,
    () => `${ourName('idToken')}=${EXPIRED_ID}; ${ourName('refreshToken')}=${value()}`,
    () => `${ourName('refreshToken')}=${value()}`,
    () => `${ourName('idToken')}=${tamper(MEMBER_ID)}; ${ourName('idToken')}=${value()}`,
    () => `=${value()}; ;;; =; ${anyName()}`,
  ])();

  const uri = () => r.pick(['/', '/', '/', '/latest.json', '/history/2024/05.json', '/index.html',
    CONFIG.parseAuthPath, CONFIG.logoutPath, `/${randomText(r.int(0, 20))}`]);
  const querystring = () => r.pick(['', '', 'v=1',
    `code=${b64(r.int(1, 40))}&state=${b64(r.int(0, 80))}`,
    `code=${b64(8)}&state=${h.b64url({ nonce: `${h.now()}T${b64(12)}`, redirect_uri: r.pick(['/', '//evil.example', 'https://evil.example']) })}`,
    randomText(r.int(0, 30))]);

  return { header, uri, querystring };
}

test(`random and malformed Cookie headers never get a request through (seed ${SEED}, ${RUNS} runs)`, async () => {
  const handler = h.newHandler();
  // The token/revoke endpoints refuse or answer junk; never a valid member token.
  const r = prng(SEED);
  h.cognitoAnswers(() => r.pick([
    { status: 400, data: { error: 'invalid_grant' } },
    { status: 200, data: {} },
    { status: 200, data: { id_token: tampered(r), access_token: 'x' } },
    { status: 200, data: { id_token: OUTSIDER_ID, access_token: 'x' } },
    { status: 500, data: 'oops' },
  ]));
  const gen = generators(r);
  const statuses = {};
  for (let i = 0; i < RUNS; i++) {
    const cookies = Array.from({ length: r.int(0, 3) }, gen.header);
    const event = h.viewerRequest(gen.uri(), { querystring: gen.querystring(), cookies });
    const request = event.Records[0].cf.request;
    let result;
    try {
      result = await handler(event);
    } catch (err) {
      assert.fail(`case ${i} (seed ${SEED}) threw ${err?.constructor?.name}: ${err?.message}`);
    }
    const where = `case ${i} (seed ${SEED}): ${request.uri}?${request.querystring.slice(0, 60)} ` +
      `cookies ${JSON.stringify(cookies.map((c) => c.slice(0, 120)))}`;
    assert.notEqual(result, request, `let through: ${where}`);
    assert.ok(result && typeof result === 'object' && !('uri' in result), `not a response: ${where}`);
    assert.match(String(result.status), /^[345]\d\d$/, where);
    h.assertNoStore(result);
    if (result.status === '302') {
      const to = new URL(h.location(result));
      assert.ok([`https://${CONFIG.userPoolDomain}`, `https://${h.HOST}`].includes(to.origin), `redirect to ${to}: ${where}`);
    }
    statuses[result.status] = (statuses[result.status] ?? 0) + 1;
  }
  // the generator reaches the interesting branches
  assert.ok(statuses['302'] > RUNS / 4, JSON.stringify(statuses));
  assert.ok(statuses['403'] > 0, JSON.stringify(statuses));
  assert.ok(statuses['400'] > 0, JSON.stringify(statuses));
});

function tampered(r) {
  const [a, b, c] = MEMBER_ID.split('.');
  const sig = Buffer.from(c, 'base64url');
  sig[r.int(0, sig.length - 1)] ^= 0x5a;
  return `${a}.${b}.${sig.toString('base64url')}`;
}

test('a member token sent alongside junk still passes (the generator is not blind)', async () => {
  const handler = h.newHandler();
  const r = prng(SEED);
  const gen = generators(r);
  for (let i = 0; i < 50; i++) {
    const event = h.viewerRequest('/latest.json', {
      cookies: [gen.header(), `${r.pick(['x=%FF', 'y=%E0%A4%A', 'z=ok'])}; ${h.sessionCookie({ id: MEMBER_ID })}`],
    });
    assert.equal(await handler(event), event.Records[0].cf.request, `case ${i}`);
  }
});
