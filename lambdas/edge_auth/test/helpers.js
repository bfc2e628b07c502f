'use strict';
/**
 * Test kit: a key pair and JWKS made here, tokens signed here, CloudFront viewer-request
 * events, an in-process stand-in for Cognito's token/revoke endpoints, and a guard that
 * fails any attempt to open a network connection.
 */

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const tls = require('node:tls');
const http = require('node:http');
const https = require('node:https');
const axios = require('axios'); // the same instance cognito-at-edge and gate.js use
const { createHandler, parseConfig } = require('..');

// --- no network -------------------------------------------------------------------------
const blocked = [];
function refuse(what) {
  return function refused(...args) {
    const target = typeof args[0] === 'string' ? args[0] : args[0]?.href ?? args[0]?.host ?? '';
    blocked.push(`${what} ${target}`);
    throw new Error(`network access in a test: ${what} ${target}`);
  };
}
net.Socket.prototype.connect = refuse('net.Socket.connect');
net.connect = net.createConnection = refuse('net.connect');
tls.connect = refuse('tls.connect');
http.request = http.get = refuse('http.request');
https.request = https.get = refuse('https.request');
globalThis.fetch = refuse('fetch');

// The gate logs one JSON line per denial; EDGE_AUTH_TEST_LOGS=1 shows them.
if (!process.env.EDGE_AUTH_TEST_LOGS) {
  for (const level of ['log', 'info', 'warn', 'error', 'debug']) console[level] = () => {};
}

// --- the pool ---------------------------------------------------------------------------
const CONFIG = Object.freeze({
  region: 'eu-west-1',
  userPoolId: 'eu-west-1_TestPool1',
  userPoolAppId: 'testclient0123456789abcdef',
  userPoolAppSecret: 'test-client-secret-value',
  userPoolDomain: 'fleetboard-test.auth.eu-west-1.amazoncognito.com',
  requiredGroup: 'fleetboard-viewers',
  cookieExpirationDays: 0.5,
  parseAuthPath: '/oauth2/callback',
  logoutPath: '/signout',
  nonceSigningSecret: 'n'.repeat(20) + 'once-signing-key',
});
const HOST = 'board.example.com';
const ISSUER = `https://cognito-idp.${CONFIG.region}.amazonaws.com/${CONFIG.userPoolId}`;
const COOKIE_BASE = `CognitoIdentityServiceProvider.${CONFIG.userPoolAppId}`;

function makeKey(kid) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' } };
}
const KEY = makeKey('test-key-1');
const OTHER_KEY = makeKey('test-key-1'); // same kid, different key: a forged signature
const JWKS = { keys: [KEY.jwk] };

const b64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value))
  .toString('base64url');

/** Sign header.payload with RS256 (or leave the signature empty for alg "none"). */
function sign(payload, { key = KEY, header = {} } = {}) {
  const head = { alg: 'RS256', kid: key.kid, typ: 'JWT', ...header };
  const input = `${b64url(head)}.${b64url(payload)}`;
  if (head.alg === 'none') return `${input}.`;
  return `${input}.${crypto.sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

const now = () => Math.floor(Date.now() / 1000);

function idClaims(overrides = {}) {
  return {
    sub: '5f0c1f36-0000-4000-8000-000000000001',
    'cognito:groups': [CONFIG.requiredGroup],
    iss: ISSUER,
    'cognito:username': 'alice',
    aud: CONFIG.userPoolAppId,
    token_use: 'id',
    auth_time: now() - 60,
    iat: now() - 60,
    exp: now() + 3600,
    ...overrides,
  };
}

function accessClaims(overrides = {}) {
  return {
    sub: '5f0c1f36-0000-4000-8000-000000000001',
    'cognito:groups': [CONFIG.requiredGroup],
    iss: ISSUER,
    client_id: CONFIG.userPoolAppId,
    token_use: 'access',
    scope: 'openid',
    username: 'alice',
    auth_time: now() - 60,
    iat: now() - 60,
    exp: now() + 3600,
    ...overrides,
  };
}

const idToken = (overrides, opts) => sign(idClaims(overrides), opts);
const accessToken = (overrides, opts) => sign(accessClaims(overrides), opts);
const REFRESH_TOKEN = 'eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.refresh-opaque';

/** The cookie string cognito-at-edge sets for a signed-in user. */
function sessionCookie({ id, access, refresh, user = 'alice' } = {}) {
  const parts = [];
  if (access) parts.push(`${COOKIE_BASE}.${user}.accessToken=${access}`);
  if (id) parts.push(`${COOKIE_BASE}.${user}.idToken=${id}`);
  if (refresh) parts.push(`${COOKIE_BASE}.${user}.refreshToken=${refresh}`);
  return parts.join('; ');
}

/** A CloudFront viewer-request event, in the shape Lambda@Edge passes it. */
function viewerRequest(uri = '/', { querystring = '', cookies = [], host = HOST, method = 'GET' } = {}) {
  const headers = {
    host: [{ key: 'Host', value: host }],
    'user-agent': [{ key: 'User-Agent', value: 'test-agent/1.0' }],
    accept: [{ key: 'Accept', value: 'text/html' }],
  };
  if (cookies.length) headers.cookie = cookies.map((value) => ({ key: 'Cookie', value }));
  return {
    Records: [{
      cf: {
        config: {
          distributionDomainName: 'd111111abcdef8.cloudfront.net',
          distributionId: 'EDFDVBD6EXAMPLE',
          eventType: 'viewer-request',
          requestId: '4TyzHTaYWb1GX1qTfsHhEqV6HUDd_BzoBZnwfnvQc_1oF26ClkoUSEQ==',
        },
        request: { clientIp: '203.0.113.178', headers, method, querystring, uri },
      },
    }],
  };
}

// --- Cognito's token and revoke endpoints, in process -----------------------------------
const calls = [];
let answer = () => { throw new Error('no token endpoint answer set for this test'); };
axios.defaults.adapter = async (config) => {
  const call = {
    url: config.url,
    method: String(config.method).toUpperCase(),
    headers: { ...config.headers },
    body: Object.fromEntries(new URLSearchParams(String(config.data ?? ''))),
  };
  calls.push(call);
  const { status = 200, data = {} } = (await answer(call)) ?? {};
  const response = { data, status, statusText: String(status), headers: {}, config, request: {} };
  if (status >= 400) {
    throw new axios.AxiosError(`Request failed with status code ${status}`, 'ERR_BAD_REQUEST',
      config, {}, response);
  }
  return response;
};
/** Set how the fake endpoints answer: fn(call) -> {status, data}. Clears recorded calls. */
function cognitoAnswers(fn) {
  calls.length = 0;
  answer = fn;
}

/** A fresh handler for CONFIG with the test JWKS already in its verifier's cache. */
function newHandler(overrides = {}) {
  const handler = createHandler(parseConfig({ ...CONFIG, ...overrides }));
  handler.authenticator._jwtVerifier.cacheJwks(JWKS);
  return handler;
}

// --- reading responses -------------------------------------------------------------------
const headerValues = (response, name) => (response.headers?.[name] ?? []).map((h) => h.value);
const location = (response) => headerValues(response, 'location')[0];

/** {name: {value, attrs: {lowercased attr: value|true}}} of the Set-Cookie headers. */
function setCookies(response) {
  const out = {};
  for (const line of headerValues(response, 'set-cookie')) {
    const [pair, ...attrs] = line.split('; ');
    const i = pair.indexOf('=');
    const parsed = {};
    for (const a of attrs) {
      const j = a.indexOf('=');
      parsed[(j < 0 ? a : a.slice(0, j)).toLowerCase()] = j < 0 ? true : a.slice(j + 1);
    }
    out[decodeURIComponent(pair.slice(0, i))] = { value: decodeURIComponent(pair.slice(i + 1)), attrs: parsed };
  }
  return out;
}

function assertNoStore(response) {
  const cc = headerValues(response, 'cache-control').join(', ');
  assert.match(cc, /no-store/, 'generated responses must not be stored');
  assert.match(cc, /no-cache/);
}

/** The hosted UI /authorize redirect, with PKCE and a state carrying a signed nonce. */
function assertSignInRedirect(response, { returnTo = '/' } = {}) {
  assert.ok(response && !('uri' in response), 'the request must not go through');
  assert.equal(response.status, '302');
  assertNoStore(response);
  assert.equal(response.body, undefined);
  const url = new URL(location(response));
  assert.equal(url.origin, `https://${CONFIG.userPoolDomain}`);
  assert.equal(url.pathname, '/authorize');
  const q = url.searchParams;
  assert.equal(q.get('response_type'), 'code');
  assert.equal(q.get('client_id'), CONFIG.userPoolAppId);
  assert.equal(q.get('redirect_uri'), `https://${HOST}${CONFIG.parseAuthPath}`);
  assert.equal(q.get('code_challenge_method'), 'S256');
  const cookies = setCookies(response);
  const pkce = cookies[`${COOKIE_BASE}.pkce`];
  const nonce = cookies[`${COOKIE_BASE}.nonce`];
  assert.ok(pkce && nonce && cookies[`${COOKIE_BASE}.nonceHmac`], 'sign-in cookies set');
  assert.equal(q.get('code_challenge'),
    crypto.createHash('sha256').update(pkce.value).digest('base64url'));
  const state = JSON.parse(Buffer.from(q.get('state'), 'base64url').toString());
  assert.equal(state.nonce, nonce.value);
  assert.equal(state.redirect_uri, returnTo);
  for (const { attrs } of Object.values(cookies)) {
    assert.equal(attrs.path, '/');
    assert.equal(attrs.secure, true);
    assert.equal(attrs.httponly, true);
    assert.equal(attrs.samesite, 'Lax');
    assert.equal(attrs.domain, undefined);
    const ttl = Date.parse(attrs.expires) - Date.now();
    assert.ok(ttl > 0 && ttl <= 10 * 60 * 1000, `sign-in cookies live 10 minutes at most (${ttl} ms)`);
  }
  return { url, state, cookies };
}

/** A fixed page (403, 400, 5xx): no request, no caching, nothing from the board. */
function assertPage(response, status) {
  assert.ok(response && !('uri' in response), 'the request must not go through');
  assert.equal(response.status, String(status));
  assertNoStore(response);
  assert.match(headerValues(response, 'content-type')[0], /^text\/html/);
}

module.exports = {
  CONFIG, HOST, ISSUER, COOKIE_BASE, KEY, OTHER_KEY, JWKS, REFRESH_TOKEN,
  makeKey, sign, b64url, now, idClaims, accessClaims, idToken, accessToken, sessionCookie,
  viewerRequest, calls, cognitoAnswers, newHandler, blocked,
  headerValues, location, setCookies, assertNoStore, assertSignInRedirect, assertPage,
};
