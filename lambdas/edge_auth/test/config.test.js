'use strict';
// config.json: every problem reported at once, with the message that names the fix; a bad
// or missing file answers every request with a 500 page instead of throwing.

const { test, describe, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('./helpers');
const { parseConfig, handlerFromFile } = require('..');
const { ConfigError } = require('../config');

function problems(raw) {
  try {
    parseConfig(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  return assert.fail('expected a ConfigError');
}

describe('parseConfig', () => {
  test('a valid config comes back frozen, with only the known keys', () => {
    const config = parseConfig({ ...h.CONFIG });
    assert.deepEqual(config, h.CONFIG);
    assert.ok(Object.isFrozen(config));
  });

  test('userPoolAppSecret is optional', () => {
    const { userPoolAppSecret, ...rest } = h.CONFIG;
    assert.equal(parseConfig(rest).userPoolAppSecret, undefined);
    assert.ok(userPoolAppSecret);
  });

  test('every problem at once, each naming the key and the fix', () => {
    assert.deepEqual(problems({
      region: 'Europe',
      userPoolId: 'eu-west-1 pool',
      userPoolAppId: 'client/1',
      userPoolAppSecret: '',
      userPoolDomain: 'https://auth.example.com/',
      requiredGroup: '',
      cookieExpirationDays: 30,
      parseAuthPath: 'callback',
      logoutPath: '/sign out',
      nonceSigningSecret: 'short-secret',
      cookieDomain: '.example.com',
    }), [
      'cookieDomain: unknown key; the keys are region, userPoolId, userPoolAppId, userPoolDomain, ' +
        'requiredGroup, cookieExpirationDays, parseAuthPath, logoutPath, nonceSigningSecret, userPoolAppSecret',
      'region: "Europe" is not an AWS region such as "eu-west-1"',
      'userPoolId: "eu-west-1 pool" is not a user pool id such as "eu-west-1_AbCdEf123"',
      'userPoolAppId: "client/1" is not an app client id (letters and digits)',
      'userPoolAppSecret: (hidden) must be a non-empty string, or leave the key out for a client without a secret',
      'userPoolDomain: "https://auth.example.com/" must be the hosted UI host name only, e.g. ' +
        '"fleetboard.auth.eu-west-1.amazoncognito.com"',
      'requiredGroup: "" must be the name of the Cognito group whose members see the board',
      'cookieExpirationDays: 30 must be a number of days > 0 and <= 1 (a short session, e.g. 0.5)',
      'parseAuthPath: "callback" must be a path such as "/oauth2/callback"',
      'logoutPath: "/sign out" must be a path such as "/signout"',
      'nonceSigningSecret: (hidden) must be a random string of at least 32 characters',
    ]);
  });

  test('missing keys are each named', () => {
    assert.deepEqual(problems({}), [
      'region: missing', 'userPoolId: missing', 'userPoolAppId: missing', 'userPoolDomain: missing',
      'requiredGroup: missing', 'cookieExpirationDays: missing', 'parseAuthPath: missing',
      'logoutPath: missing', 'nonceSigningSecret: missing',
    ]);
  });

  test('the pool must be in the configured region', () => {
    assert.deepEqual(problems({ ...h.CONFIG, userPoolId: 'us-east-1_Abc123' }),
      ['userPoolId: "us-east-1_Abc123" is not in region "eu-west-1"']);
  });

  test('callback and sign-out paths differ', () => {
    assert.deepEqual(problems({ ...h.CONFIG, logoutPath: h.CONFIG.parseAuthPath }),
      ['parseAuthPath and logoutPath must differ']);
  });

  test('a cookie lifetime of zero or not a number is refused', () => {
    for (const days of [0, -1, '0.5', Number.NaN, null]) {
      assert.equal(problems({ ...h.CONFIG, cookieExpirationDays: days }).length, 1, String(days));
    }
  });

  test('not an object', () => {
    for (const raw of [null, [], 'x', 1]) {
      assert.deepEqual(problems(raw), ['config.json must hold a JSON object']);
    }
  });
});

describe('handlerFromFile', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edge-auth-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true })); // nothing outlives the run

  async function answerWith(fileText, t) {
    const file = path.join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    if (fileText !== null) fs.writeFileSync(file, fileText);
    const lines = [];
    t.mock.method(console, 'error', (line) => lines.push(String(line)));
    const result = await handlerFromFile(file)(h.viewerRequest('/'));
    return { result, lines };
  }

  test('a valid file: the gate works', async (t) => {
    const { result } = await answerWith(JSON.stringify(h.CONFIG), t);
    h.assertSignInRedirect(result);
  });

  test('no file: a 500 page and a log line naming it', async (t) => {
    const { result, lines } = await answerWith(null, t);
    h.assertPage(result, 500);
    assert.match(lines.join('\n'), /config-\w+\.json cannot be read \(ENOENT\)/);
  });

  test('not JSON: a 500 page, and the log does not quote the file', async (t) => {
    const text = `{"nonceSigningSecret": "${h.CONFIG.nonceSigningSecret}", oops}`;
    const { result, lines } = await answerWith(text, t);
    h.assertPage(result, 500);
    assert.match(lines.join('\n'), /is not valid JSON/);
    assert.doesNotMatch(lines.join('\n'), /once-signing-key/);
  });

  test('a bad config: a 500 page; problems logged, secrets not', async (t) => {
    const { result, lines } = await answerWith(JSON.stringify({ ...h.CONFIG, nonceSigningSecret: 'tiny-secret' }), t);
    h.assertPage(result, 500);
    assert.match(lines.join('\n'), /nonceSigningSecret: \(hidden\)/);
    assert.doesNotMatch(lines.join('\n'), /tiny-secret/);
  });
});
