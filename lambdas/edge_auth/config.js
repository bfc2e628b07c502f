'use strict';
/**
 * config.json -> the gate's settings: every problem reported at once, secrets never echoed.
 *
 * Lambda@Edge has no environment variables, so the CDK app writes config.json beside the
 * handler at synth. The format (every key required unless marked optional):
 *
 *   {
 *     "region": "eu-west-1",                      user pool's region
 *     "userPoolId": "eu-west-1_AbCdEf123",        the pool (its region must be `region`)
 *     "userPoolAppId": "1h2j3k4l5m6n7o8p9q0r1s2t3u", app client id
 *     "userPoolAppSecret": "...",                 optional: the app client's secret
 *     "userPoolDomain": "auth.example.com",       hosted UI domain, no scheme, no path
 *     "requiredGroup": "fleetboard-viewers",      cognito:groups must contain it
 *     "cookieExpirationDays": 0.5,                session cookies' lifetime, > 0 and <= 1
 *     "parseAuthPath": "/oauth2/callback",        the callback (redirect URI) path
 *     "logoutPath": "/signout",                   sign-out path
 *     "nonceSigningSecret": "..."                 >= 32 chars: HMAC key of the sign-in nonce
 *   }
 *
 * Usage:
 *   const config = parseConfig(JSON.parse(text)); // throws ConfigError listing every problem
 */

const MAX_COOKIE_DAYS = 1;
const MIN_SECRET_LENGTH = 32;

const REQUIRED = [
  'region',
  'userPoolId',
  'userPoolAppId',
  'userPoolDomain',
  'requiredGroup',
  'cookieExpirationDays',
  'parseAuthPath',
  'logoutPath',
  'nonceSigningSecret',
];
const OPTIONAL = ['userPoolAppSecret'];
const SECRET = new Set(['userPoolAppSecret', 'nonceSigningSecret']);

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
// aws-jwt-verify's own user pool id pattern, plus the region prefix check below.
const USER_POOL_ID = /^((\w+-)?\w+-\w+-\d)+_\w+$/;
const CLIENT_ID = /^[A-Za-z0-9]{1,128}$/;
const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
const PATH = /^(\/[A-Za-z0-9._~-]+)+$/;

class ConfigError extends Error {
  /** @param {string[]} problems one line each, naming the key and the fix */
  constructor(problems) {
    super(`config.json has ${problems.length} problem(s):\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

function shown(key, value) {
  return SECRET.has(key) ? '(hidden)' : JSON.stringify(value);
}

/**
 * Check a parsed config.json and return a frozen copy, or throw ConfigError.
 * @param {unknown} raw
 */
function parseConfig(raw) {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(['config.json must hold a JSON object']);
  }
  const problems = [];
  const known = new Set([...REQUIRED, ...OPTIONAL]);
  for (const key of Object.keys(raw)) {
    if (!known.has(key)) {
      problems.push(`${key}: unknown key; the keys are ${[...known].join(', ')}`);
    }
  }
  for (const key of REQUIRED) {
    if (!(key in raw)) problems.push(`${key}: missing`);
  }
  const check = (key, ok, fix) => {
    if (key in raw && !ok(raw[key])) problems.push(`${key}: ${shown(key, raw[key])} ${fix}`);
  };
  const str = (re) => (v) => typeof v === 'string' && re.test(v);

  check('region', str(REGION), 'is not an AWS region such as "eu-west-1"');
  check('userPoolId', str(USER_POOL_ID), 'is not a user pool id such as "eu-west-1_AbCdEf123"');
  if (typeof raw.userPoolId === 'string' && typeof raw.region === 'string' &&
      USER_POOL_ID.test(raw.userPoolId) && !raw.userPoolId.startsWith(`${raw.region}_`)) {
    problems.push(`userPoolId: ${JSON.stringify(raw.userPoolId)} is not in region ${JSON.stringify(raw.region)}`);
  }
  check('userPoolAppId', str(CLIENT_ID), 'is not an app client id (letters and digits)');
  check('userPoolAppSecret', (v) => typeof v === 'string' && v.length > 0,
    'must be a non-empty string, or leave the key out for a client without a secret');
  check('userPoolDomain', str(HOSTNAME),
    'must be the hosted UI host name only, e.g. "fleetboard.auth.eu-west-1.amazoncognito.com"');
  check('requiredGroup', (v) => typeof v === 'string' && v.length > 0 && v.length <= 128,
    'must be the name of the Cognito group whose members see the board');
  check('cookieExpirationDays',
    (v) => typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= MAX_COOKIE_DAYS,
    `must be a number of days > 0 and <= ${MAX_COOKIE_DAYS} (a short session, e.g. 0.5)`);
  check('parseAuthPath', str(PATH), 'must be a path such as "/oauth2/callback"');
  check('logoutPath', str(PATH), 'must be a path such as "/signout"');
  if (typeof raw.parseAuthPath === 'string' && raw.parseAuthPath === raw.logoutPath) {
    problems.push('parseAuthPath and logoutPath must differ');
  }
  check('nonceSigningSecret', (v) => typeof v === 'string' && v.length >= MIN_SECRET_LENGTH,
    `must be a random string of at least ${MIN_SECRET_LENGTH} characters`);

  if (problems.length) throw new ConfigError(problems);
  const config = {};
  for (const key of [...REQUIRED, ...OPTIONAL]) {
    if (key in raw) config[key] = raw[key];
  }
  return Object.freeze(config);
}

module.exports = { parseConfig, ConfigError, MAX_COOKIE_DAYS };
