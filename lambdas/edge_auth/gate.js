'use strict';
/**
 * The viewer-request gate: a request goes on to the origin only with a verified Cognito id
 * token of a member of the required group; everything else gets a redirect or a fixed page.
 *
 * Built on AWS Labs' cognito-at-edge: its Authenticator verifies the id token (aws-jwt-verify:
 * signature against the pool's JWKS, issuer, expiry, token_use "id", audience = app client),
 * reads and writes its token cookies, calls the token and revoke endpoints, and checks the
 * sign-in nonce (CSRF). Routing is ours, because cognito-at-edge 1.5.5 `handle()`:
 *   - does not check groups;
 *   - sends no PKCE code_challenge / code_verifier (its "pkce" cookie is never used);
 *   - exchanges a `?code=` on any path without the CSRF check, and matches the logout path
 *     by prefix;
 *   - logs tokens and the client secret at debug/error levels (its logger stays silent here).
 *
 * Usage:
 *   const handler = createHandler(parseConfig(json)); // handler(event) never throws
 */

const axios = require('axios');
const { Authenticator } = require('cognito-at-edge');
const { serializeCookie, parseCookies } = require('cognito-at-edge/dist/util/cookie');
const csrf = require('cognito-at-edge/dist/util/csrf');
const { JwtExpiredError } = require('aws-jwt-verify/error');
const { redirect, page, withNoStore } = require('./responses');

/** How long a sign-in may take, from the redirect to Cognito to the callback. */
const SIGN_IN_WINDOW_S = 10 * 60;
/** Outbound calls (token, revoke) must end well inside Lambda@Edge's 5 s viewer limit. */
const HTTP_TIMEOUT_MS = 3000;
/** A returned-to path longer than this is dropped (the board's paths are short). */
const MAX_RETURN_PATH = 2048;
/** Sign-out clears at most this many of our cookies (bounds the response size). */
const MAX_CLEARED_COOKIES = 20;
const HOST = /^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$/;

class NotInGroupError extends Error {
  constructor(user) {
    super('signed in, but not in the required group');
    this.name = 'NotInGroupError';
    this.user = user;
  }
}

/** One line of JSON to the function's log: never tokens, cookies, codes or secrets. */
function log(level, msg, fields = {}) {
  const line = JSON.stringify({ level, msg, ...fields });
  if (level === 'error') console.error(line);
  else console.log(line);
}

function errorName(err) {
  return err?.constructor?.name || typeof err;
}

/**
 * Build the viewer-request handler for one validated config.
 * @param {Readonly<Record<string, any>>} config from parseConfig
 * @returns {((event: any) => Promise<any>) & {authenticator: Authenticator}}
 */
function createHandler(config) {
  const auth = new Authenticator({
    region: config.region,
    userPoolId: config.userPoolId,
    userPoolAppId: config.userPoolAppId,
    userPoolAppSecret: config.userPoolAppSecret,
    userPoolDomain: config.userPoolDomain,
    cookieExpirationDays: config.cookieExpirationDays,
    disableCookieDomain: true, // host-only cookies: not sent to other subdomains
    httpOnly: true,
    sameSite: 'Lax', // the callback is a cross-site top-level GET from the hosted UI
    cookiePath: '/',
    parseAuthPath: config.parseAuthPath,
    csrfProtection: { nonceSigningSecret: config.nonceSigningSecret },
    logLevel: 'silent', // it logs tokens and the Authorization header otherwise
  });
  // The library sets no timeout on its token/revoke calls; it uses axios' default instance.
  axios.defaults.timeout = HTTP_TIMEOUT_MS;

  const cookieBase = auth._cookieBase; // CognitoIdentityServiceProvider.<clientId>
  const cookieAttributes = { path: '/', secure: true, httpOnly: true, sameSite: 'Lax' };

  const callbackUrl = (host) => `https://${host}${config.parseAuthPath}`;

  /**
   * The request with its Cookie headers cut down to our cookies that decode: the library's
   * parser throws on any malformed %-escape, so one foreign cookie would lock a member out.
   */
  function withOwnCookies(request) {
    const pairs = [];
    const headers = request.headers.cookie;
    for (const h of Array.isArray(headers) ? headers : []) {
      if (typeof h?.value !== 'string') continue;
      for (const part of h.value.split(';')) {
        const pair = part.trim();
        if (!pair.startsWith(`${cookieBase}.`)) continue;
        try {
          parseCookies(pair);
          pairs.push(pair);
        } catch {
          // an escape that does not decode: not a cookie we set
        }
      }
    }
    const cookie = pairs.length ? [{ key: 'Cookie', value: pairs.join('; ') }] : undefined;
    return { ...request, headers: { ...request.headers, cookie } };
  }

  /** The verified id token's claims, or a throw; group membership checked last. */
  async function verifySession(idToken) {
    const claims = await auth._jwtVerifier.verify(idToken);
    if (typeof claims.exp !== 'number') throw new Error('id token without exp');
    const groups = claims['cognito:groups'];
    if (!Array.isArray(groups) || !groups.includes(config.requiredGroup)) {
      throw new NotInGroupError(String(claims['cognito:username'] ?? claims.sub ?? ''));
    }
    return claims;
  }

  function forbidden(err) {
    log('info', 'signed in, but not in the required group', { user: err.user });
    return page(403);
  }

  /** Where to send the viewer after sign-in: a path on this host, never elsewhere. */
  function returnPath(value) {
    if (typeof value !== 'string' || value.length > MAX_RETURN_PATH ||
        !value.startsWith('/') || value.startsWith('//') || /[\\\s\x00-\x1f\x7f]/.test(value)) {
      return '/';
    }
    const path = value.split('?')[0];
    if (path === config.parseAuthPath || path === config.logoutPath) return '/';
    return value;
  }

  /** 302 to the hosted UI's /authorize with PKCE (S256) and a signed nonce in state. */
  function signIn(request, host) {
    const original = request.uri + (request.querystring ? `?${request.querystring}` : '');
    const nonce = csrf.generateNonce();
    const { pkce, pkceHash } = csrf.generatePkceVerifier();
    // Same state format cognito-at-edge reads back (_validateCSRFCookies, _getRedirectUriFromState).
    const state = csrf.urlSafe.stringify(
      Buffer.from(JSON.stringify({ nonce, redirect_uri: returnPath(original) })).toString('base64'));
    const params = new URLSearchParams({
      redirect_uri: callbackUrl(host),
      response_type: 'code',
      client_id: config.userPoolAppId,
      state,
      code_challenge: pkceHash,
      code_challenge_method: 'S256',
    });
    const attrs = { ...cookieAttributes, expires: new Date(Date.now() + SIGN_IN_WINDOW_S * 1000) };
    return redirect(`https://${config.userPoolDomain}/authorize?${params}`, [
      serializeCookie(`${cookieBase}.${csrf.PKCE_COOKIE_NAME_SUFFIX}`, pkce, attrs),
      serializeCookie(`${cookieBase}.${csrf.NONCE_COOKIE_NAME_SUFFIX}`, nonce, attrs),
      serializeCookie(`${cookieBase}.${csrf.NONCE_HMAC_COOKIE_NAME_SUFFIX}`,
        csrf.signNonce(nonce, config.nonceSigningSecret), attrs),
    ]);
  }

  /** Every path but the callback and sign-out: let a member's request through, unchanged. */
  async function gate(request, host) {
    let tokens;
    try {
      tokens = auth._getTokensFromCookie(withOwnCookies(request).headers.cookie);
    } catch {
      return signIn(request, host); // no token cookies
    }
    if (tokens.idToken) {
      try {
        await verifySession(tokens.idToken);
        return request;
      } catch (err) {
        if (err instanceof NotInGroupError) return forbidden(err);
        // Refresh only a genuine token that expired (its signature was checked first).
        if (!(err instanceof JwtExpiredError) || !tokens.refreshToken) return signIn(request, host);
      }
    }
    try {
      const fresh = await auth._fetchTokensFromRefreshToken(callbackUrl(host), tokens.refreshToken);
      await verifySession(fresh.idToken);
      const back = returnPath(request.uri + (request.querystring ? `?${request.querystring}` : ''));
      return withNoStore(await auth._getRedirectResponse(fresh, host, back));
    } catch (err) {
      if (err instanceof NotInGroupError) return forbidden(err);
      return signIn(request, host);
    }
  }

  /** The sign-in callback: check state and nonce, exchange the code with PKCE, set cookies. */
  async function callback(request, host) {
    const query = new URLSearchParams(request.querystring || '');
    const code = query.get('code');
    const state = query.get('state');
    let verifier;
    let back;
    try {
      if (!code || !state || query.getAll('code').length > 1 || query.getAll('state').length > 1) {
        throw new Error('callback without one code and one state');
      }
      const own = withOwnCookies(request);
      auth._validateCSRFCookies(own); // state nonce = nonce cookie, HMAC cookie, pkce cookie
      const stored = auth._getCSRFTokensFromCookie(own.headers.cookie);
      const issued = Number(String(stored.nonce).split('T')[0]);
      const age = Date.now() / 1000 - issued;
      if (!Number.isFinite(issued) || age < -60 || age > SIGN_IN_WINDOW_S) {
        throw new Error('sign-in nonce too old');
      }
      verifier = stored.pkce;
      back = returnPath(auth._getRedirectUriFromState(state));
    } catch (err) {
      log('warn', 'sign-in callback rejected', { reason: errorName(err) });
      return page(400);
    }

    let tokens;
    try {
      tokens = await exchangeCode(code, verifier, callbackUrl(host));
    } catch (err) {
      log('error', 'token exchange failed', { reason: errorName(err), status: err?.response?.status });
      return page(502);
    }
    try {
      await verifySession(tokens.idToken);
    } catch (err) {
      if (err instanceof NotInGroupError) return forbidden(err); // and no session cookies
      log('error', 'token from the token endpoint failed verification', { reason: errorName(err) });
      return page(502);
    }
    return withNoStore(await auth._getRedirectResponse(tokens, host, back));
  }

  /** cognito-at-edge's _fetchTokensFromCode, plus the PKCE code_verifier and a timeout. */
  async function exchangeCode(code, codeVerifier, redirectUri) {
    const authorization = auth._getAuthorization();
    const response = await axios.request({
      url: `https://${config.userPoolDomain}/oauth2/token`,
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded',
        ...(authorization ? { Authorization: `Basic ${authorization}` } : {}),
      },
      data: new URLSearchParams({
        grant_type: 'authorization_code',
        client_id: config.userPoolAppId,
        code,
        redirect_uri: redirectUri,
        code_verifier: codeVerifier,
      }).toString(),
      timeout: HTTP_TIMEOUT_MS,
    });
    const data = response?.data ?? {};
    if (typeof data.id_token !== 'string' || typeof data.access_token !== 'string') {
      throw new Error('token endpoint answered without tokens');
    }
    return {
      idToken: data.id_token,
      accessToken: data.access_token,
      refreshToken: typeof data.refresh_token === 'string' ? data.refresh_token : undefined,
    };
  }

  /** Sign-out: revoke the refresh token (best effort), clear our cookies, Cognito's logout. */
  async function signOut(request, host) {
    const own = withOwnCookies(request).headers.cookie;
    let tokens = {};
    try {
      tokens = auth._getTokensFromCookie(own);
    } catch {
      // not signed in: still clear what there is and end the hosted UI session
    }
    if (tokens.refreshToken) {
      try {
        await auth._revokeTokens(tokens);
      } catch (err) {
        log('warn', 'refresh token revocation failed', { reason: errorName(err) });
      }
    }
    const names = new Set();
    for (const { name } of own ? parseCookies(own[0].value) : []) {
      if (name.length <= 512) names.add(name);
    }
    const expired = { ...cookieAttributes, expires: new Date(0) };
    const cleared = [...names].slice(0, MAX_CLEARED_COOKIES)
      .map((name) => serializeCookie(name, '', expired));
    const params = new URLSearchParams({
      client_id: config.userPoolAppId,
      logout_uri: `https://${host}/`,
    });
    return redirect(`https://${config.userPoolDomain}/logout?${params}`, cleared);
  }

  async function handler(event) {
    try {
      const request = event?.Records?.[0]?.cf?.request;
      const host = request?.headers?.host?.[0]?.value;
      if (typeof request?.uri !== 'string' || typeof host !== 'string' || !HOST.test(host)) {
        return page(400);
      }
      if (request.uri === config.logoutPath) return await signOut(request, host);
      if (request.uri === config.parseAuthPath) return await callback(request, host);
      return await gate(request, host);
    } catch (err) {
      log('error', 'unexpected error; no access given', { reason: errorName(err) });
      return page(500);
    }
  }
  handler.authenticator = auth;
  return handler;
}

module.exports = { createHandler, NotInGroupError, SIGN_IN_WINDOW_S };
