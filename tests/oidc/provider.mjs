// A real OpenID Connect provider for tollgate's sign-in tests: the certified
// `oidc-provider` package, on 127.0.0.1 at the port in PORT (0: any free
// port), issuer `http://127.0.0.1:<port>`. It prints `listening <port>` on
// stdout once it answers, and nothing else there (the package's own notices
// go to stderr), then runs until killed or until its stdin closes, so that a
// test process that dies does not leave it behind.
//
// Each test app registers a client of its own (Dynamic Client Registration,
// open: no initial access token). A sign-in is the package's own login form
// (any login name is the account id; the password is not checked), and
// consent is granted without a screen for `openid email profile`, as for a
// first-party client. A login is asked for every authorization, even when
// the browser is already signed in here, so that the user the test names
// is the one who signs in.
//
// Routes for the tests, beside the provider's own:
//   POST /test/accounts       {"sub", "email"?, "email_verified"?,
//                             "preferred_username"?, "name"?} -> 204: the
//                             claims of that account (an unknown sub has
//                             only `sub`);
//   POST /test/rotate-keys    -> 204: tokens are signed from now on by a new
//                             RS256 key with a new kid, published first in
//                             the JWKS, the old keys still published after it;
//   POST /test/hide-signing-key {"hidden": bool} -> 204: while hidden, the
//                             JWKS leaves out the key that signs, as if a
//                             token came signed by a key the issuer does not
//                             publish.
//
// oidc-provider reads its keys once, when a Provider is made, so a rotation
// makes a new Provider with the new key set and sends requests to it from
// then on. The package's own in-memory adapter keeps a store per Provider,
// so everything a provider stores (registered clients, sessions,
// interactions, grants, codes) is kept instead by the adapter below, one
// store for the process: a sign-in under way and the clients already
// registered carry on across a rotation.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { errors, interactionPolicy } from 'oidc-provider';

// stdout carries the one `listening` line; the package prints its notices
// with console.info.
console.info = console.error;
console.log = console.error;

/** oidc-provider's storage interface on one in-memory store for every
 * Provider this process makes. Entries expire when the provider says. */
const store = new Map();
const epoch = () => Math.floor(Date.now() / 1000);

/** What a grant's revocation takes with it (an interaction under way that
 * names the grant stays). */
const GRANTABLE = new Set([
  'AccessToken', 'AuthorizationCode', 'RefreshToken', 'DeviceCode',
  'BackchannelAuthenticationRequest', 'PreAuthorizedCode',
]);

class SharedMemoryAdapter {
  constructor(model) {
    this.model = model;
  }

  static get(key) {
    const entry = store.get(key);
    if (entry && entry.expiresAt !== undefined && entry.expiresAt <= Date.now()) {
      store.delete(key);
      return undefined;
    }
    return entry?.value;
  }

  static set(key, value, expiresIn) {
    const expiresAt = typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : undefined;
    store.set(key, { value, expiresAt });
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload, expiresIn) {
    const key = this.key(id);
    SharedMemoryAdapter.set(key, payload, expiresIn);
    if (this.model === 'Session') {
      SharedMemoryAdapter.set(`sessionUid:${payload.uid}`, id, expiresIn);
    }
    if (payload.userCode) {
      SharedMemoryAdapter.set(`userCode:${payload.userCode}`, id, expiresIn);
    }
    if (payload.grantId && GRANTABLE.has(this.model)) {
      const grantKey = `grant:${payload.grantId}`;
      const members = SharedMemoryAdapter.get(grantKey) ?? new Set();
      members.add(key);
      SharedMemoryAdapter.set(grantKey, members);
    }
  }

  async find(id) {
    return SharedMemoryAdapter.get(this.key(id));
  }

  async findByUid(uid) {
    const id = SharedMemoryAdapter.get(`sessionUid:${uid}`);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = SharedMemoryAdapter.get(`userCode:${userCode}`);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = SharedMemoryAdapter.get(this.key(id));
    if (payload) {
      payload.consumed = epoch();
    }
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    const grantKey = `grant:${grantId}`;
    for (const key of SharedMemoryAdapter.get(grantKey) ?? []) {
      store.delete(key);
    }
    store.delete(grantKey);
  }
}

const CLAIMS = ['email', 'email_verified', 'preferred_username', 'name'];
/** Claims by sub, as the tests set them. */
const accounts = new Map();

/** Private JWKs, the signing one first. */
const keys = [];
let signingKeyHidden = false;
/** The same cookie keys for every Provider, so that a rotation keeps the
 * browser's cookies valid. */
const cookieKeys = [crypto.randomBytes(32).toString('base64url')];

function newSigningKey() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    ...privateKey.export({ format: 'jwk' }),
    kid: crypto.randomUUID(),
    alg: 'RS256',
    use: 'sig',
  };
}

function publicJwk({
  kty, n, e, kid, alg, use,
}) {
  return {
    kty, n, e, kid, alg, use,
  };
}

/** The default interaction policy, with a login asked for on every
 * authorization until this one has one. */
function policy() {
  const base = interactionPolicy.base();
  base.get('login').checks.add(new interactionPolicy.Check(
    'every_authorization',
    'the tests sign in as a named user each time',
    (ctx) => (ctx.oidc.result?.login
      ? interactionPolicy.Check.NO_NEED_TO_PROMPT
      : interactionPolicy.Check.REQUEST_PROMPT),
  ));
  return base;
}

function escapeHtml(value) {
  const entities = {
    '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
  };
  return String(value).replace(/[&<>"']/g, (c) => entities[c]);
}

function positiveInteger(value) {
  return Number.isSafeInteger(value) && value > 0;
}

function makeProvider(issuer) {
  const provider = new Provider(issuer, {
    adapter: SharedMemoryAdapter,
    jwks: { keys: keys.map((k) => ({ ...k })) },
    cookies: { keys: cookieKeys },
    features: {
      devInteractions: { enabled: true },
      registration: { enabled: true, initialAccessToken: false },
    },
    // Every client is made to send PKCE (S256, the only method
    // oidc-provider knows), tollgate's confidential client included.
    pkce: { required: () => true },
    interactions: { policy: policy() },
    scopes: ['openid', 'email', 'profile'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'name'],
    },
    // The granted scopes' claims go into the ID token too, not only to the
    // userinfo endpoint, as most providers do for the code flow.
    conformIdTokenClaims: false,
    extraClientMetadata: {
      properties: ['tollgate_id_token_ttl'],
      validator(ctx, key, value) {
        if (value !== undefined && !positiveInteger(value)) {
          throw new errors.InvalidClientMetadata(`${key} must be a positive integer (seconds)`);
        }
      },
    },
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      IdToken: (ctx, token, client) => client.tollgate_id_token_ttl ?? 3600,
      Interaction: 3600,
      Session: 3600,
      Grant: 3600,
      RefreshToken: 3600,
    },
    async findAccount(ctx, sub) {
      return {
        accountId: sub,
        async claims() {
          return { ...accounts.get(sub), sub };
        },
      };
    },
    // The documented first-party pattern: no consent screen, the three
    // scopes granted outright.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) {
        const grant = await ctx.oidc.provider.Grant.find(grantId);
        if (grant) {
          return grant;
        }
      }
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    // A plain error page, short enough to read in a failed test's output.
    async renderError(ctx, out) {
      ctx.type = 'html';
      ctx.body = `<!DOCTYPE html><title>error</title><pre>${
        Object.entries(out).map(([k, v]) => `${k}: ${escapeHtml(v)}`).join('\n')
      }</pre>`;
    },
  });
  provider.on('server_error', (ctx, err) => console.error('server_error', err));
  return provider;
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) {
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : {};
}

function answer(res, status, body) {
  if (body === undefined) {
    res.writeHead(status).end();
  } else {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }
}

keys.push(newSigningKey());

let handler = () => {};
const server = http.createServer(async (req, res) => {
  const path = req.url.split('?')[0];
  try {
    if (req.method === 'POST' && path === '/test/accounts') {
      const body = await readJson(req);
      if (typeof body.sub !== 'string' || !body.sub) {
        answer(res, 400, { error: 'sub must be a non-empty string' });
        return;
      }
      const claims = {};
      for (const name of CLAIMS) {
        if (body[name] !== undefined) {
          claims[name] = body[name];
        }
      }
      accounts.set(body.sub, claims);
      answer(res, 204);
      return;
    }
    if (req.method === 'POST' && path === '/test/rotate-keys') {
      keys.unshift(newSigningKey());
      handler = makeProvider(issuer).callback();
      answer(res, 204);
      return;
    }
    if (req.method === 'POST' && path === '/test/hide-signing-key') {
      const body = await readJson(req);
      if (typeof body.hidden !== 'boolean') {
        answer(res, 400, { error: 'hidden must be true or false' });
        return;
      }
      signingKeyHidden = body.hidden;
      answer(res, 204);
      return;
    }
    if (req.method === 'GET' && path === '/jwks' && signingKeyHidden) {
      res.writeHead(200, { 'content-type': 'application/jwk-set+json; charset=utf-8' });
      res.end(JSON.stringify({ keys: keys.slice(1).map(publicJwk) }));
      return;
    }
  } catch (err) {
    answer(res, 400, { error: String(err) });
    return;
  }
  handler(req, res);
});

let issuer;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}`;
  handler = makeProvider(issuer).callback();
  process.stdout.write(`listening ${port}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
