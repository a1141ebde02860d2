// An independent relying party on openid-client (panva), one of the
// strictest OpenID Connect client libraries: it checks issuer, RFC 9207
// iss, state, nonce, PKCE, ID token signature and claims, max_age against
// auth_time, and the form of every response. The Go test in ../jsrp_test.go
// plays the browser and calls these endpoints; every answer is JSON.
//
// Environment: ISSUER, CLIENT_ID, CLIENT_SECRET. Prints "LISTEN <url>" once
// it accepts connections.
import http from 'node:http'
import * as client from 'openid-client'

const { ISSUER, CLIENT_ID, CLIENT_SECRET } = process.env
if (!ISSUER || !CLIENT_ID || !CLIENT_SECRET) {
  console.error('ISSUER, CLIENT_ID and CLIENT_SECRET are required')
  process.exit(2)
}

let config // discovered on first use: the client is registered after we listen
async function cfg () {
  if (!config) {
    // Plain http only because the test IdP listens on 127.0.0.1 without TLS.
    config = await client.discovery(new URL(ISSUER), CLIENT_ID, undefined,
      client.ClientSecretBasic(CLIENT_SECRET), { execute: [client.allowInsecureRequests] })
  }
  return config
}

const pending = new Map() // state -> { verifier, nonce, maxAge }
let base

async function handle (req, res) {
  const url = new URL(req.url, base)
  const q = url.searchParams
  const json = (status, v) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(v))
  }
  const redirect = (to) => { res.writeHead(302, { location: to.href }); res.end() }
  const c = await cfg()
  switch (`${req.method} ${url.pathname}`) {
    case 'GET /login': {
      const verifier = client.randomPKCECodeVerifier()
      const state = client.randomState()
      const nonce = client.randomNonce()
      const params = {
        redirect_uri: `${base}/cb`,
        scope: q.get('scope') || 'openid profile email offline_access',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce
      }
      let maxAge
      if (q.has('max_age')) { params.max_age = q.get('max_age'); maxAge = Number(q.get('max_age')) }
      if (q.has('prompt')) params.prompt = q.get('prompt')
      pending.set(state, { verifier, nonce, maxAge })
      return redirect(client.buildAuthorizationUrl(c, params))
    }
    case 'GET /cb': {
      const p = pending.get(q.get('state'))
      if (!p) return json(400, { error: 'unknown state' })
      pending.delete(q.get('state'))
      const tokens = await client.authorizationCodeGrant(c, url, {
        pkceCodeVerifier: p.verifier,
        expectedState: q.get('state'),
        expectedNonce: p.nonce,
        maxAge: p.maxAge,
        idTokenExpected: true
      })
      const claims = tokens.claims()
      const userinfo = await client.fetchUserInfo(c, tokens.access_token, claims.sub)
      return json(200, { tokens, claims, userinfo })
    }
    case 'POST /refresh': {
      const tokens = await client.refreshTokenGrant(c, q.get('refresh_token'))
      return json(200, { tokens, claims: tokens.claims() })
    }
    case 'POST /introspect':
      return json(200, await client.tokenIntrospection(c, q.get('token')))
    case 'POST /revoke':
      await client.tokenRevocation(c, q.get('token'))
      return json(200, {})
    case 'POST /userinfo': {
      const userinfo = await client.fetchUserInfo(c, q.get('token'), q.get('sub'))
      return json(200, userinfo)
    }
    case 'GET /logout':
      return redirect(client.buildEndSessionUrl(c, {
        id_token_hint: q.get('id_token'),
        post_logout_redirect_uri: `${base}/logged-out`,
        state: 'bye'
      }))
    case 'GET /logged-out':
      return json(200, { state: q.get('state') })
  }
  return json(404, { error: 'not found' })
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((err) => {
    res.writeHead(502, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: err.message, code: err.code, cause: err.cause && (err.cause.error || String(err.cause)), status: err.status }))
  })
})
server.listen(0, '127.0.0.1', () => {
  base = `http://127.0.0.1:${server.address().port}`
  console.log(`LISTEN ${base}`)
})
process.stdin.on('end', () => process.exit(0)) // the Go test closed our stdin
process.stdin.resume()
