// The local OpenID Connect provider of the sign-in tests: the npm package oidc-provider (9.x, a certified
// implementation) on plain http://127.0.0.1:<free port>, as an institute's or an enterprise's own provider.
//
//   node tests/sso/oidc_idp.mjs --accounts <people.json>
//
// Prints `READY <issuer>` once it listens; SIGTERM stops it. tests/sso/oidc.py starts it once per test session.
// * Clients register themselves (dynamic client registration, POST /reg): each test registers the client it
//   needs, with the portal's callback URL of that test (the test client's or the live server's).
// * People are read from the accounts file at every sign-in, so a test can add or change one while the
//   provider runs: {"<login>": {"password": "...", "claims": {"sub": ..., "email": ..., "email_verified": ...}}}.
// * The sign-in page (GET /interaction/<uid>) checks the password and grants the requested scopes in one step
//   (a first-party provider asks no consent); its form fields are `login` and `password`.
// * Every claim of a person is released: the ID token and userinfo carry the standard claims the scopes ask for
//   and any other claim the file gives (an organisation claim, say), which tests map through the app settings.
import fs from 'node:fs';
import http from 'node:http';
import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at >= 0 && at + 1 < args.length ? args[at + 1] : fallback;
};
const accountsFile = option('--accounts', process.env.OIDC_ACCOUNTS_FILE || '');
const port = Number(option('--port', '0'));

function people() {
  if (!accountsFile) return {};
  try {
    return JSON.parse(fs.readFileSync(accountsFile, 'utf8'));
  } catch {
    return {};
  }
}

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const server = http.createServer();
await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const STANDARD = ['email', 'email_verified', 'name', 'preferred_username', 'phone_number'];

const provider = new Provider(issuer, {
  // Claims the scopes release; `org` (the person's organisation) and `mail` (a nested, non-standard email claim)
  // come with the profile scope.
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username', 'org', 'mail'],
    phone: ['phone_number'],
  },
  scopes: ['openid', 'email', 'profile', 'phone'],
  conformIdTokenClaims: false,
  features: {
    devInteractions: { enabled: false },
    registration: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  cookies: { keys: ['local-test-provider-cookie-key'] },
  findAccount: async (ctx, id) => {
    const person = people()[id];
    if (!person) return undefined;
    return {
      accountId: id,
      claims: async () => ({ sub: id, ...person.claims }),
    };
  },
  ttl: { AccessToken: 600, AuthorizationCode: 60, IdToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
});
provider.proxy = false;

function signInPage(uid, message = '') {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Example Institute sign-in</title></head>
<body><main><h1>Example Institute</h1>${message ? `<p role="alert">${escape(message)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="login">Login</label> <input id="login" name="login" autocomplete="username">
<label for="password">Password</label> <input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in to Example Institute</button></form></main></body></html>`;
}

async function interaction(req, res) {
  const match = req.url.match(/^\/interaction\/([^/?]+)(\/login)?/);
  const details = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(signInPage(match[1]));
    return;
  }
  let body = '';
  for await (const chunk of req) body += chunk;
  const form = new URLSearchParams(body);
  const login = form.get('login') || '';
  const person = people()[login];
  if (!person || person.password !== form.get('password')) {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(signInPage(match[1], 'Wrong login or password.'));
    return;
  }
  const grant = new provider.Grant({ accountId: login, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  grant.addOIDCClaims(STANDARD);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: login }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

const callback = provider.callback();
server.on('request', (req, res) => {
  if (req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((error) => {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(`interaction failed: ${error}`);
    });
  } else {
    callback(req, res);
  }
});

console.log(`READY ${issuer}`);
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
