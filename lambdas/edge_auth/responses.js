'use strict';
/**
 * The CloudFront responses the gate generates: redirects and small fixed pages, never cached.
 *
 * Usage:
 *   return redirect('https://auth.example.com/authorize?...', [setCookieValue]);
 *   return page(403);
 */

const NO_STORE = 'no-cache, no-store, max-age=0, must-revalidate';

const PAGES = {
  400: {
    description: 'Bad Request',
    title: 'Sign-in did not complete',
    text: 'The sign-in could not be checked: it may have expired or been started in another tab.',
    link: ['/', 'Start again'],
  },
  403: {
    description: 'Forbidden',
    title: 'Not allowed',
    text: 'You are signed in, but your account is not in the group that may see this board. ' +
      'Ask an infra owner to add you.',
    link: ['/signout', 'Sign out'],
  },
  500: {
    description: 'Internal Server Error',
    title: 'Sign-in is unavailable',
    text: "The board's sign-in is not working. Infra owners: see the edge function's logs.",
    link: null,
  },
  502: {
    description: 'Bad Gateway',
    title: 'Sign-in failed',
    text: 'The sign-in service did not answer as expected. Try again in a minute.',
    link: ['/', 'Try again'],
  },
};

function one(key, value) {
  return [{ key, value }];
}

/** Add the headers every generated response carries: no caching, no referrer. */
function withNoStore(response) {
  return {
    ...response,
    headers: {
      ...response.headers,
      'cache-control': one('Cache-Control', NO_STORE),
      pragma: one('Pragma', 'no-cache'),
      'referrer-policy': one('Referrer-Policy', 'no-referrer'),
    },
  };
}

/** A 302 to `location`, setting `cookies` (Set-Cookie values). */
function redirect(location, cookies = []) {
  const headers = { location: one('Location', location) };
  if (cookies.length) {
    headers['set-cookie'] = cookies.map((value) => ({ key: 'Set-Cookie', value }));
  }
  return withNoStore({ status: '302', statusDescription: 'Found', headers });
}

/** One of the fixed pages above (the text is ours: nothing from the request is echoed). */
function page(status) {
  const p = PAGES[status] ?? PAGES[500];
  const link = p.link ? `<p><a href="${p.link[0]}">${p.link[1]}</a></p>` : '';
  const body = '<!doctype html><html lang="en"><meta charset="utf-8">' +
    `<title>${p.title} · fleetboard</title><h1>${p.title}</h1><p>${p.text}</p>${link}</html>`;
  return withNoStore({
    status: String(status in PAGES ? status : 500),
    statusDescription: p.description,
    headers: {
      'content-type': one('Content-Type', 'text/html; charset=utf-8'),
      'content-security-policy': one('Content-Security-Policy',
        "default-src 'none'; frame-ancestors 'none'"),
      'x-content-type-options': one('X-Content-Type-Options', 'nosniff'),
    },
    body,
  });
}

module.exports = { NO_STORE, redirect, page, withNoStore };
