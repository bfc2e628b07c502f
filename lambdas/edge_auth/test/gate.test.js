'use strict';
// The viewer-request gate, case by case: a member passes unchanged; everything else is sent to
// sign-in or gets a fixed page; the callback and sign-out paths do their one job.

const { test, describe, beforeEach } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('./helpers');

const { CONFIG, HOST, COOKIE_BASE } = h;
let handler;
beforeEach(() => {
  handler = h.newHandler();
  h.cognitoAnswers(() => ({ status: 500, data: { error: 'unexpected call' } }));
});

describe('a member with a valid session', () => {
  test('valid id token cookie: the request passes through unchanged', async () => {
    const event = h.viewerRequest('/history/2024-05-01.json', {
      querystring: 'v=3',
      cookies: [h.sessionCookie({ id: h.idToken(), access: h.accessToken(), refresh: h.REFRESH_TOKEN })],
    });
    const before = structuredClone(event);
    const result = await handler(event);
    assert.equal(result, event.Records[0].cf.request);
    assert.deepEqual(result, before.Records[0].cf.request);
    assert.deepEqual(event, before, 'the event is not modified');
    assert.equal(h.calls.length, 0, 'no call to Cognito');
  });

  test('the session cookie among others, over several Cookie headers, still passes', async () => {
    const event = h.viewerRequest('/latest.json', {
      cookies: ['_ga=GA1.2.3; theme=dark', h.sessionCookie({ id: h.idToken() }), 'x=%E2%9C%93'],
    });
    const before = structuredClone(event.Records[0].cf.request);
    assert.deepEqual(await handler(event), before);
  });

  test('a foreign cookie that does not decode does not lock a member out', async () => {
    for (const junk of ['junk=%FF', '%FF=1', 'a=%E0%A4%A', 'b=%C3%28; c']) {
      const event = h.viewerRequest('/', { cookies: [junk, `x=%ZZ; ${h.sessionCookie({ id: h.idToken() })}; y=%C3`] });
      assert.equal(await handler(event), event.Records[0].cf.request, junk);
    }
  });

  test('a member of several groups passes', async () => {
    const id = h.idToken({ 'cognito:groups': ['admins', CONFIG.requiredGroup] });
    const event = h.viewerRequest('/', { cookies: [h.sessionCookie({ id })] });
    assert.equal(await handler(event), event.Records[0].cf.request);
  });
});

describe('no valid session: redirect to the hosted sign-in, never the content', () => {
  const other = h.makeKey('other-pool-key');
  const cases = {
    'no cookie at all': () => [],
    'cookies, but none of ours': () => ['session=abc; theme=dark'],
    'an empty id token cookie': () => [`${COOKIE_BASE}.alice.idToken=`],
    'expired id token': () => [h.sessionCookie({ id: h.idToken({ exp: h.now() - 5, iat: h.now() - 3605 }) })],
    'wrong issuer (another pool, same key)': () => [h.sessionCookie({
      id: h.idToken({ iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OtherPool' }),
    })],
    'wrong issuer (another pool and its own key)': () => [h.sessionCookie({
      id: h.idToken({ iss: 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OtherPool' }, { key: other }),
    })],
    'wrong audience (another app client)': () => [h.sessionCookie({ id: h.idToken({ aud: 'otherclient999' }) })],
    'wrong token_use: an access token in the id token cookie': () => [
      `${COOKIE_BASE}.alice.idToken=${h.accessToken()}`,
    ],
    'wrong token_use: an id token that says "access"': () => [h.sessionCookie({
      id: h.idToken({ token_use: 'access' }),
    })],
    'wrong token_use: only an access token cookie': () => [h.sessionCookie({ access: h.accessToken() })],
    'bad signature (another key, same kid)': () => [h.sessionCookie({ id: h.idToken({}, { key: h.OTHER_KEY }) })],
    'tampered payload (group added to a non-member token)': () => {
      const [head, , sig] = h.idToken({ 'cognito:groups': ['others'] }).split('.');
      return [h.sessionCookie({ id: `${head}.${h.b64url(h.idClaims())}.${sig}` })];
    },
    'alg none': () => [h.sessionCookie({ id: h.sign(h.idClaims(), { header: { alg: 'none' } }) })],
    'alg HS256 with the public key as the secret': () => {
      const head = h.b64url({ alg: 'HS256', kid: h.KEY.kid, typ: 'JWT' });
      const body = h.b64url(h.idClaims());
      const pem = crypto.createPublicKey({ key: h.KEY.jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      const sig = crypto.createHmac('sha256', pem).update(`${head}.${body}`).digest('base64url');
      return [h.sessionCookie({ id: `${head}.${body}.${sig}` })];
    },
    'unknown kid (the JWKS cannot be fetched in a test)': () => [h.sessionCookie({
      id: h.idToken({}, { key: other }),
    })],
    'not yet valid (nbf in the future)': () => [h.sessionCookie({ id: h.idToken({ nbf: h.now() + 600 }) })],
    'no exp claim': () => {
      const claims = h.idClaims();
      delete claims.exp;
      return [h.sessionCookie({ id: h.sign(claims) })];
    },
    'not a JWT': () => [`${COOKIE_BASE}.alice.idToken=hello.world`],
    'percent-encoding that does not decode': () => [`${COOKIE_BASE}.alice.idToken=%E0%A4%A`, '%FF=%FE'],
  };
  for (const [name, cookies] of Object.entries(cases)) {
    test(name, async () => {
      const event = h.viewerRequest('/history/2024.json', { querystring: 'a=1&b=two', cookies: cookies() });
      const result = await handler(event);
      h.assertSignInRedirect(result, { returnTo: '/history/2024.json?a=1&b=two' });
    });
  }

  test('an unknown kid makes the verifier try to fetch the JWKS: refused here, sign-in there', async () => {
    h.blocked.length = 0;
    const result = await handler(h.viewerRequest('/', { cookies: [h.sessionCookie({ id: h.idToken({}, { key: other }) })] }));
    h.assertSignInRedirect(result);
    assert.ok(h.blocked.some((b) => b.includes('/.well-known/jwks.json')), h.blocked.join('\n'));
  });

  test('an invalid (not expired) id token is not "refreshed" with the refresh token', async () => {
    const id = h.idToken({}, { key: h.OTHER_KEY });
    const result = await handler(h.viewerRequest('/', { cookies: [h.sessionCookie({ id, refresh: h.REFRESH_TOKEN })] }));
    h.assertSignInRedirect(result);
    assert.equal(h.calls.length, 0);
  });

  test('the redirect is not cacheable and carries no body', async () => {
    const result = await handler(h.viewerRequest('/'));
    assert.equal(result.status, '302');
    assert.deepEqual(h.headerValues(result, 'cache-control'), ['no-cache, no-store, max-age=0, must-revalidate']);
    assert.deepEqual(h.headerValues(result, 'pragma'), ['no-cache']);
    assert.equal(result.body, undefined);
  });

  test('each redirect has a fresh nonce and PKCE verifier', async () => {
    const a = h.assertSignInRedirect(await handler(h.viewerRequest('/')));
    const b = h.assertSignInRedirect(await handler(h.viewerRequest('/')));
    assert.notEqual(a.state.nonce, b.state.nonce);
    assert.notEqual(a.cookies[`${COOKIE_BASE}.pkce`].value, b.cookies[`${COOKIE_BASE}.pkce`].value);
  });
});

describe('signed in, but not in the required group: a 403 page, never the content', () => {
  const cases = {
    'no cognito:groups claim': () => {
      const claims = h.idClaims();
      delete claims['cognito:groups'];
      return h.sign(claims);
    },
    'other groups only': () => h.idToken({ 'cognito:groups': ['fleetboard-viewers-old', 'admins'] }),
    'the group as a string, not a list': () => h.idToken({ 'cognito:groups': CONFIG.requiredGroup }),
    'an empty list': () => h.idToken({ 'cognito:groups': [] }),
  };
  for (const [name, id] of Object.entries(cases)) {
    test(name, async () => {
      const result = await handler(h.viewerRequest('/latest.json', { cookies: [h.sessionCookie({ id: id() })] }));
      h.assertPage(result, 403);
      assert.match(result.body, /href="\/signout"/);
      assert.equal(h.headerValues(result, 'set-cookie').length, 0);
    });
  }
});

describe('refresh', () => {
  test('an expired id token with a refresh token: new cookies, back to the same page', async () => {
    const expired = h.idToken({ exp: h.now() - 5 });
    const fresh = h.idToken();
    h.cognitoAnswers((call) => {
      assert.equal(call.url, `https://${CONFIG.userPoolDomain}/oauth2/token`);
      assert.equal(call.body.grant_type, 'refresh_token');
      assert.equal(call.body.refresh_token, h.REFRESH_TOKEN);
      return { data: { id_token: fresh, access_token: h.accessToken(), token_type: 'Bearer', expires_in: 3600 } };
    });
    const result = await handler(h.viewerRequest('/history/x.json', {
      querystring: 'n=1', cookies: [h.sessionCookie({ id: expired, refresh: h.REFRESH_TOKEN })],
    }));
    assert.equal(result.status, '302');
    h.assertNoStore(result);
    assert.equal(h.location(result), `https://${HOST}/history/x.json?n=1`);
    assert.equal(h.setCookies(result)[`${COOKIE_BASE}.alice.idToken`].value, fresh);
    assert.equal(h.calls.length, 1);
  });

  test('refresh refused by Cognito: sign in again', async () => {
    h.cognitoAnswers(() => ({ status: 400, data: { error: 'invalid_grant' } }));
    const expired = h.idToken({ exp: h.now() - 5 });
    h.assertSignInRedirect(await handler(h.viewerRequest('/', {
      cookies: [h.sessionCookie({ id: expired, refresh: h.REFRESH_TOKEN })],
    })));
  });

  test('refresh gives a token of a user no longer in the group: 403, no new cookies', async () => {
    h.cognitoAnswers(() => ({ data: { id_token: h.idToken({ 'cognito:groups': [] }), access_token: h.accessToken() } }));
    const result = await handler(h.viewerRequest('/', {
      cookies: [h.sessionCookie({ id: h.idToken({ exp: h.now() - 5 }), refresh: h.REFRESH_TOKEN })],
    }));
    h.assertPage(result, 403);
    assert.equal(h.headerValues(result, 'set-cookie').length, 0);
  });
});

/** Start a sign-in at `uri`, then build the callback request Cognito would send back. */
async function signInThenCallback(uri, { querystring = '', code = 'the-code' } = {}) {
  const start = h.assertSignInRedirect(await handler(h.viewerRequest(uri, { querystring })),
    { returnTo: uri + (querystring ? `?${querystring}` : '') });
  const cookie = Object.entries(start.cookies).map(([k, v]) => `${k}=${v.value}`).join('; ');
  const qs = new URLSearchParams({ code, state: start.url.searchParams.get('state') }).toString();
  return { start, cookie, event: h.viewerRequest(CONFIG.parseAuthPath, { querystring: qs, cookies: [cookie] }) };
}

describe('the callback path', () => {
  test('exchanges the code with the PKCE verifier, sets the cookies, returns to the page', async () => {
    const id = h.idToken();
    const access = h.accessToken();
    h.cognitoAnswers(() => ({
      data: { id_token: id, access_token: access, refresh_token: h.REFRESH_TOKEN, token_type: 'Bearer', expires_in: 3600 },
    }));
    const { start, event } = await signInThenCallback('/history/2024-05-01.json', { querystring: 'tz=UTC' });
    const result = await handler(event);

    assert.equal(h.calls.length, 1);
    const [call] = h.calls;
    assert.equal(call.method, 'POST');
    assert.equal(call.url, `https://${CONFIG.userPoolDomain}/oauth2/token`);
    assert.equal(call.headers['Content-Type'], 'application/x-www-form-urlencoded');
    assert.equal(call.headers.Authorization,
      `Basic ${Buffer.from(`${CONFIG.userPoolAppId}:${CONFIG.userPoolAppSecret}`).toString('base64')}`);
    assert.deepEqual(call.body, {
      grant_type: 'authorization_code',
      client_id: CONFIG.userPoolAppId,
      code: 'the-code',
      redirect_uri: `https://${HOST}${CONFIG.parseAuthPath}`,
      code_verifier: start.cookies[`${COOKIE_BASE}.pkce`].value,
    });
    assert.equal(crypto.createHash('sha256').update(call.body.code_verifier).digest('base64url'),
      start.url.searchParams.get('code_challenge'));

    assert.equal(result.status, '302');
    h.assertNoStore(result);
    assert.equal(h.location(result), `https://${HOST}/history/2024-05-01.json?tz=UTC`);
    const cookies = h.setCookies(result);
    assert.equal(cookies[`${COOKIE_BASE}.alice.idToken`].value, id);
    assert.equal(cookies[`${COOKIE_BASE}.alice.accessToken`].value, access);
    assert.equal(cookies[`${COOKIE_BASE}.alice.refreshToken`].value, h.REFRESH_TOKEN);
    for (const [name, { attrs }] of Object.entries(cookies)) {
      assert.equal(attrs.path, '/', name);
      assert.equal(attrs.secure, true, name);
      assert.equal(attrs.httponly, true, name);
      assert.equal(attrs.samesite, 'Lax', name);
      assert.equal(attrs.domain, undefined, `${name}: host-only`);
      const ttl = Date.parse(attrs.expires) - Date.now();
      assert.ok(ttl <= CONFIG.cookieExpirationDays * 864e5, `${name}: short lifetime`);
    }
    for (const s of ['pkce', 'nonce', 'nonceHmac']) {
      assert.ok(Date.parse(cookies[`${COOKIE_BASE}.${s}`].attrs.expires) <= Date.now(), `${s} cleared`);
    }

    // and the cookies it set open the board
    const session = Object.entries(cookies).filter(([, v]) => v.value)
      .map(([k, v]) => `${k}=${v.value}`).join('; ');
    const next = h.viewerRequest('/history/2024-05-01.json', { querystring: 'tz=UTC', cookies: [session] });
    assert.equal(await handler(next), next.Records[0].cf.request);
  });

  test('a client without a secret sends no Authorization header (public client)', async () => {
    const { createHandler, parseConfig } = require('..');
    const { userPoolAppSecret, ...config } = CONFIG;
    handler = createHandler(parseConfig(config));
    handler.authenticator._jwtVerifier.cacheJwks(h.JWKS);
    h.cognitoAnswers(() => ({ data: { id_token: h.idToken(), access_token: h.accessToken() } }));
    const { event } = await signInThenCallback('/');
    const result = await handler(event);
    assert.equal(result.status, '302');
    assert.equal(h.calls[0].headers.Authorization, undefined);
    assert.ok(userPoolAppSecret);
  });

  test('a non-member finishing sign-in gets the 403 page and no session cookies', async () => {
    h.cognitoAnswers(() => ({ data: { id_token: h.idToken({ 'cognito:groups': ['others'] }), access_token: h.accessToken() } }));
    const { event } = await signInThenCallback('/');
    const result = await handler(event);
    h.assertPage(result, 403);
    assert.equal(h.headerValues(result, 'set-cookie').length, 0);
  });

  test('the return path never leaves the host', async () => {
    h.cognitoAnswers(() => ({ data: { id_token: h.idToken(), access_token: h.accessToken() } }));
    for (const target of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)',
      CONFIG.parseAuthPath, `${CONFIG.logoutPath}?x=1`, 42, null]) {
      const { cookie } = await signInThenCallback('/');
      const nonce = /\.nonce=([^;]+)/.exec(cookie)[1];
      const state = Buffer.from(JSON.stringify({ nonce, redirect_uri: target })).toString('base64url');
      const event = h.viewerRequest(CONFIG.parseAuthPath, {
        querystring: `code=c&state=${state}`, cookies: [cookie],
      });
      const result = await handler(event);
      assert.equal(h.location(result), `https://${HOST}/`, String(target));
    }
  });

  const rejected = {
    'no code': ({ event }) => {
      const q = new URLSearchParams(event.Records[0].cf.request.querystring);
      q.delete('code');
      event.Records[0].cf.request.querystring = q.toString();
    },
    'no state': ({ event }) => {
      event.Records[0].cf.request.querystring = 'code=the-code';
    },
    'an error from the hosted UI': ({ event }) => {
      event.Records[0].cf.request.querystring = 'error=access_denied&error_description=cancelled';
    },
    'two codes': ({ event }) => {
      event.Records[0].cf.request.querystring += '&code=other';
    },
    'no sign-in cookies (another browser: login CSRF)': ({ event }) => {
      delete event.Records[0].cf.request.headers.cookie;
    },
    'nonce cookie of another sign-in': ({ event, cookie }) => {
      event.Records[0].cf.request.headers.cookie = [{ key: 'Cookie', value: cookie.replace(/\.nonce=[^;]+/, '.nonce=1700000000T0123456789abcdef') }];
    },
    'forged nonce HMAC': ({ event, cookie }) => {
      event.Records[0].cf.request.headers.cookie = [{ key: 'Cookie', value: cookie.replace(/\.nonceHmac=[^;]+/, '.nonceHmac=AAAAAAAAAAAAAAAA') }];
    },
    'no PKCE verifier cookie': ({ event, cookie }) => {
      event.Records[0].cf.request.headers.cookie = [{ key: 'Cookie', value: cookie.replace(/[^;]*\.pkce=[^;]+;? ?/, '') }];
    },
    'state that is not ours': ({ event }) => {
      const q = new URLSearchParams(event.Records[0].cf.request.querystring);
      q.set('state', '/history/');
      event.Records[0].cf.request.querystring = q.toString();
    },
  };
  for (const [name, spoil] of Object.entries(rejected)) {
    test(`rejected without calling Cognito: ${name}`, async () => {
      h.cognitoAnswers(() => ({ data: { id_token: h.idToken(), access_token: h.accessToken() } }));
      const flow = await signInThenCallback('/');
      spoil(flow);
      const result = await handler(flow.event);
      h.assertPage(result, 400);
      assert.equal(h.calls.length, 0, 'the token endpoint is not called');
      assert.equal(h.headerValues(result, 'set-cookie').length, 0);
    });
  }

  test('an old sign-in (nonce past the 10 minute window) is rejected', async (t) => {
    h.cognitoAnswers(() => ({ data: { id_token: h.idToken(), access_token: h.accessToken() } }));
    const flow = await signInThenCallback('/');
    const realNow = Date.now;
    t.mock.method(Date, 'now', () => realNow() + 11 * 60 * 1000);
    h.assertPage(await handler(flow.event), 400);
    assert.equal(h.calls.length, 0);
  });

  test('the token endpoint refusing the code: a 502 page without details', async () => {
    h.cognitoAnswers(() => ({ status: 400, data: { error: 'invalid_grant', error_description: 'secret detail' } }));
    const { event } = await signInThenCallback('/');
    const result = await handler(event);
    h.assertPage(result, 502);
    assert.doesNotMatch(result.body, /invalid_grant|secret detail|Error|at /);
    assert.equal(h.headerValues(result, 'set-cookie').length, 0);
  });

  test('the token endpoint unreachable: a 502 page', async () => {
    h.cognitoAnswers(() => { throw axiosTimeout(); });
    const { event } = await signInThenCallback('/');
    h.assertPage(await handler(event), 502);
  });

  test('the token endpoint answering a forged id token: a 502 page, no cookies', async () => {
    h.cognitoAnswers(() => ({ data: { id_token: h.idToken({}, { key: h.OTHER_KEY }), access_token: 'x' } }));
    const { event } = await signInThenCallback('/');
    const result = await handler(event);
    h.assertPage(result, 502);
    assert.equal(h.headerValues(result, 'set-cookie').length, 0);
  });
});

function axiosTimeout() {
  return Object.assign(new Error('timeout of 3000ms exceeded'), { code: 'ECONNABORTED' });
}

describe('the sign-out path', () => {
  test('revokes the refresh token, clears every cookie of ours, goes to Cognito logout', async () => {
    h.cognitoAnswers(() => ({ data: {} }));
    const session = h.sessionCookie({ id: h.idToken(), access: h.accessToken(), refresh: h.REFRESH_TOKEN });
    const event = h.viewerRequest(CONFIG.logoutPath, {
      cookies: [`${session}; ${COOKIE_BASE}.LastAuthUser=alice; theme=dark`],
    });
    const result = await handler(event);

    assert.equal(result.status, '302');
    h.assertNoStore(result);
    const url = new URL(h.location(result));
    assert.equal(`${url.origin}${url.pathname}`, `https://${CONFIG.userPoolDomain}/logout`);
    assert.equal(url.searchParams.get('client_id'), CONFIG.userPoolAppId);
    assert.equal(url.searchParams.get('logout_uri'), `https://${HOST}/`);

    const cookies = h.setCookies(result);
    assert.deepEqual(Object.keys(cookies).sort(), [
      `${COOKIE_BASE}.LastAuthUser`,
      `${COOKIE_BASE}.alice.accessToken`,
      `${COOKIE_BASE}.alice.idToken`,
      `${COOKIE_BASE}.alice.refreshToken`,
    ]);
    for (const { value, attrs } of Object.values(cookies)) {
      assert.equal(value, '');
      assert.equal(attrs.path, '/');
      assert.equal(Date.parse(attrs.expires), 0);
    }
    assert.equal(h.calls.length, 1);
    assert.equal(h.calls[0].url, `https://${CONFIG.userPoolDomain}/oauth2/revoke`);
    assert.equal(h.calls[0].body.token, h.REFRESH_TOKEN);
  });

  test('without a session: no revoke call, still Cognito logout', async () => {
    const result = await handler(h.viewerRequest(CONFIG.logoutPath));
    assert.equal(result.status, '302');
    assert.match(h.location(result), new RegExp(`^https://${CONFIG.userPoolDomain}/logout\\?`));
    assert.equal(h.calls.length, 0);
  });

  test('revocation failing does not stop the sign-out', async () => {
    h.cognitoAnswers(() => ({ status: 503, data: {} }));
    const event = h.viewerRequest(CONFIG.logoutPath, {
      cookies: [h.sessionCookie({ id: h.idToken(), refresh: h.REFRESH_TOKEN })],
    });
    const result = await handler(event);
    assert.equal(result.status, '302');
    assert.equal(Object.keys(h.setCookies(result)).length, 2);
  });

  test('only the exact path signs out', async () => {
    const event = h.viewerRequest(`${CONFIG.logoutPath}-not`, { cookies: [h.sessionCookie({ id: h.idToken() })] });
    assert.equal(await handler(event), event.Records[0].cf.request);
  });
});

describe('never throws, never leaks', () => {
  const odd = {
    'no event': undefined,
    'an empty event': {},
    'no Records': { Records: [] },
    'no request': { Records: [{ cf: {} }] },
    'no host header': (() => { const e = h.viewerRequest('/'); delete e.Records[0].cf.request.headers.host; return e; })(),
    'a host that is not a host name': h.viewerRequest('/', { host: 'evil.example/\r\nx' }),
    'a cookie header without a value': (() => {
      const e = h.viewerRequest('/');
      e.Records[0].cf.request.headers.cookie = [{ key: 'Cookie' }];
      return e;
    })(),
    'a cookie value that is not a string': (() => {
      const e = h.viewerRequest('/');
      e.Records[0].cf.request.headers.cookie = [{ key: 'Cookie', value: { toString: null } }];
      return e;
    })(),
    'cookie headers that are not a list': (() => {
      const e = h.viewerRequest(CONFIG.logoutPath);
      e.Records[0].cf.request.headers.cookie = 'a=b';
      return e;
    })(),
  };
  for (const [name, event] of Object.entries(odd)) {
    test(name, async () => {
      const result = await handler(event);
      assert.ok(result && typeof result.status === 'string', 'a response');
      assert.match(result.status, /^[345]\d\d$/);
      h.assertNoStore(result);
      assert.doesNotMatch(result.body ?? '', /Error|at \w+ \(/);
    });
  }

  test('logs carry no token, cookie, code, secret or nonce', async (t) => {
    const lines = [];
    for (const level of ['log', 'info', 'warn', 'error', 'debug']) {
      t.mock.method(console, level, (...args) => lines.push(args.join(' ')));
    }
    const secrets = [CONFIG.userPoolAppSecret, CONFIG.nonceSigningSecret, h.REFRESH_TOKEN, 'the-code'];
    const member = h.idToken();
    const outsider = h.idToken({ 'cognito:groups': [] });
    secrets.push(member, outsider);
    await handler(h.viewerRequest('/', { cookies: [h.sessionCookie({ id: member, refresh: h.REFRESH_TOKEN })] }));
    await handler(h.viewerRequest('/', { cookies: [h.sessionCookie({ id: outsider })] }));
    await handler(h.viewerRequest('/', { cookies: [h.sessionCookie({ id: h.idToken({ exp: h.now() - 1 }), refresh: h.REFRESH_TOKEN })] }));
    h.cognitoAnswers(() => ({ status: 400, data: { error: 'invalid_grant' } }));
    const flow = await signInThenCallback('/');
    secrets.push(...flow.cookie.split('; ').map((c) => c.split('=')[1]));
    await handler(flow.event);
    await handler(h.viewerRequest(CONFIG.parseAuthPath, { querystring: 'code=the-code&state=x', cookies: [flow.cookie] }));
    await handler(h.viewerRequest(CONFIG.logoutPath, { cookies: [h.sessionCookie({ id: member, refresh: h.REFRESH_TOKEN })] }));
    assert.ok(lines.length > 0, 'something was logged');
    for (const line of lines) {
      for (const s of secrets) assert.ok(!line.includes(s), `log line leaks a secret: ${line.slice(0, 80)}`);
    }
  });
});
