// JWT validation for nginx open source, written by edgec (njs 0.7.9 or later).
//
// A route protected by `auth jwt NAME` runs `gate` as its content handler: it checks the
// token the way edgec's runtime does (the same checks in the same order, the same 401
// answers), then hands the request to the route's named location, where the rate limit
// and the action run. The settings of the auth provider come in $edgec_jwt (JSON written by
// edgec); an HMAC secret comes from a private module (secrets/) through the js_set
// variable the settings name.
//
// njs 0.7.9 gives every request a fresh VM and imports keys only as SPKI, so the JWKS is
// cached by nginx (a subrequest to a proxy_cache location; ?fresh asks a location that
// refetches at most every 30 s, for an unknown key id) and each JWK is converted to SPKI.

var ALGORITHMS = {
    RS256: {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256'},
    RS384: {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384'},
    RS512: {name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512'},
    PS256: {name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32},
    PS384: {name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48},
    PS512: {name: 'RSA-PSS', hash: 'SHA-512', saltLength: 64},
    ES256: {name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256'},
    ES384: {name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384'},
    ES512: {name: 'ECDSA', namedCurve: 'P-521', hash: 'SHA-512'},
    HS256: {name: 'HMAC', hash: 'SHA-256'},
    HS384: {name: 'HMAC', hash: 'SHA-384'},
    HS512: {name: 'HMAC', hash: 'SHA-512'}
};
// the key type each algorithm family signs with (RS and PS share RSA keys)
var FAMILY_KTY = {RS: 'RSA', PS: 'RSA', ES: 'EC', HS: 'oct'};
var CURVE_OID = {
    'P-256': [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
    'P-384': [0x2b, 0x81, 0x04, 0x00, 0x22],
    'P-521': [0x2b, 0x81, 0x04, 0x00, 0x23]
};
var RSA_OID = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
var EC_OID = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

function Reject(message) {
    this.message = message;
}

function b64url(text) {
    if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text)) {
        throw new Reject('invalid token');
    }
    return Buffer.from(text, 'base64url');
}

function json_object(bytes, message) {
    var value;
    try {
        value = JSON.parse(bytes.toString());
    } catch (e) {
        throw new Reject(message);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new Reject(message);
    }
    return value;
}

// ---- JWK → SPKI (DER) ----------------------------------------------------------------
function der(tag, body) {
    var n = body.length;
    var len = [];
    if (n < 128) {
        len = [n];
    } else {
        while (n) {
            len.unshift(n & 255);
            n >>= 8;
        }
        len.unshift(0x80 | len.length);
    }
    return Buffer.concat([Buffer.from([tag].concat(len)), body]);
}

function der_uint(bytes) {
    return der(2, bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

function spki(jwk) {
    var alg, key;
    if (jwk.kty === 'RSA') {
        alg = der(0x30, Buffer.concat([der(6, Buffer.from(RSA_OID)), Buffer.from([5, 0])]));
        key = der(0x30, Buffer.concat([der_uint(b64url(jwk.n)), der_uint(b64url(jwk.e))]));
    } else {
        alg = der(0x30, Buffer.concat([der(6, Buffer.from(EC_OID)), der(6, Buffer.from(CURVE_OID[jwk.crv]))]));
        key = Buffer.concat([Buffer.from([4]), b64url(jwk.x), b64url(jwk.y)]);
    }
    return der(0x30, Buffer.concat([alg, der(3, Buffer.concat([Buffer.from([0]), key]))]));
}

// ---- the JWKS, through nginx's cache ----------------------------------------------------
function usable(jwk) {
    if (!jwk || typeof jwk !== 'object') {
        return false;
    }
    if (jwk.kty === 'RSA') {
        return typeof jwk.n === 'string' && typeof jwk.e === 'string';
    }
    return jwk.kty === 'EC' && CURVE_OID[jwk.crv] !== undefined && typeof jwk.x === 'string' &&
        typeof jwk.y === 'string';
}

async function jwks(r, settings, fresh) {
    var reply = await r.subrequest(settings.jwks + (fresh ? '/fresh' : ''));
    if (reply.status !== 200) {
        r.warn('auth ' + settings.name + ': cannot fetch the JWKS (' + reply.status + ')');
        return [];
    }
    var doc;
    try {
        doc = JSON.parse(reply.responseText);
    } catch (e) {
        r.warn('auth ' + settings.name + ': the JWKS is not JSON');
        return [];
    }
    return Array.isArray(doc.keys) ? doc.keys.filter(usable) : [];
}

function find(keys, kid) {
    for (var i = 0; i < keys.length; i++) {
        if (keys[i].kid === kid) {
            return keys[i];
        }
    }
    // a token without a key id may use the one key there is
    return kid === undefined && keys.length === 1 ? keys[0] : null;
}

// ---- claims, as the runtime checks them -------------------------------------------------
function integer(value, message) {
    if (typeof value === 'number' && isFinite(value)) {
        return Math.trunc(value);
    }
    if (typeof value === 'boolean') {
        return value ? 1 : 0;
    }
    if (typeof value === 'string' && /^\s*[+-]?[0-9]+\s*$/.test(value)) {
        return parseInt(value, 10);
    }
    throw new Reject(message);
}

function check_claims(claims, settings) {
    var now = Date.now() / 1000;
    var leeway = settings.leeway_s;
    var required = ['exp'].concat(settings.issuer !== null ? ['iss'] : [],
                                  settings.audiences.length ? ['aud'] : []);
    required.forEach(function(name) {
        if (claims[name] === undefined || claims[name] === null) {
            throw new Reject('invalid token');
        }
    });
    if (claims.iat !== undefined && integer(claims.iat, 'invalid token') > now + leeway) {
        throw new Reject('invalid token');
    }
    if (claims.nbf !== undefined && integer(claims.nbf, 'invalid token') > now + leeway) {
        throw new Reject('invalid token');
    }
    if (integer(claims.exp, 'invalid token') <= now - leeway) {
        throw new Reject('token expired');
    }
    if (settings.issuer !== null && claims.iss !== settings.issuer) {
        throw new Reject('invalid token');
    }
    if (settings.audiences.length) {
        var aud = typeof claims.aud === 'string' ? [claims.aud] : claims.aud;
        if (!Array.isArray(aud) || aud.some(function(a) { return typeof a !== 'string'; }) ||
            !aud.some(function(a) { return settings.audiences.indexOf(a) >= 0; })) {
            throw new Reject('invalid token');
        }
    }
    if (claims.sub !== undefined && typeof claims.sub !== 'string') {
        throw new Reject('invalid token');
    }
    if (claims.jti !== undefined && typeof claims.jti !== 'string') {
        throw new Reject('invalid token');
    }
}

// ---- the token ------------------------------------------------------------------------
function token_of(r, settings) {
    var raw = r.headersIn[settings.header];
    if (!raw) {
        throw new Reject('missing token');
    }
    if (!settings.bearer) {
        return raw.trim();
    }
    var space = raw.indexOf(' ');
    var scheme = space < 0 ? raw : raw.slice(0, space);
    var token = space < 0 ? '' : raw.slice(space + 1);
    if (scheme.toLowerCase() !== 'bearer' || !token) {
        throw new Reject('expected a Bearer token');
    }
    return token.trim();
}

async function verify(r, settings) {
    var token = token_of(r, settings);
    var parts = token.split('.');
    if (parts.length !== 3) {
        throw new Reject('malformed token');
    }
    var head;
    try {
        head = json_object(b64url(parts[0]), 'malformed token');
    } catch (e) {
        throw new Reject('malformed token');
    }
    if (head.kid !== undefined && typeof head.kid !== 'string') {
        throw new Reject('malformed token');
    }
    var alg = head.alg;
    // the algorithm must be one the edge accepts: "none" never is
    if (typeof alg !== 'string' || settings.algorithms.indexOf(alg) < 0 || !ALGORITHMS[alg]) {
        throw new Reject('token algorithm not accepted');
    }
    var algorithm = ALGORITHMS[alg];
    var key;
    if (alg.slice(0, 2) === 'HS') {
        // an HMAC token is checked with the configured secret only, never with a published key
        var secret = settings.secret ? r.variables[settings.secret] : '';
        if (!secret) {
            throw new Reject('token algorithm not accepted');
        }
        key = await crypto.subtle.importKey('raw', secret, algorithm, false, ['verify']);
    } else {
        // (njs 0.7.9 crashes on an `await` inside a call's arguments: one per statement)
        var jwk = null;
        if (settings.jwks) {
            var published = await jwks(r, settings, false);
            jwk = find(published, head.kid);
        }
        if (!jwk && settings.jwks) {
            var fresh = await jwks(r, settings, true);
            jwk = find(fresh, head.kid);
        }
        if (!jwk) {
            throw new Reject('unknown signing key');
        }
        // algorithm confusion: a key is used only with the algorithm it was published for
        if ((jwk.alg !== undefined && jwk.alg !== alg) || FAMILY_KTY[alg.slice(0, 2)] !== jwk.kty) {
            throw new Reject('token algorithm does not match its key');
        }
        try {
            key = await crypto.subtle.importKey('spki', spki(jwk), algorithm, false, ['verify']);
        } catch (e) {
            throw new Reject('unknown signing key');
        }
    }
    var ok;
    try {
        ok = await crypto.subtle.verify(algorithm, key, b64url(parts[2]), parts[0] + '.' + parts[1]);
    } catch (e) {
        ok = false;
    }
    if (!ok) {
        throw new Reject('invalid token');
    }
    var claims = json_object(b64url(parts[1]), 'invalid token');
    check_claims(claims, settings);
    return claims;
}

// ---- the handler ------------------------------------------------------------------------
// ---- what a route requires of a valid token, as routing.authorized says -------------------
// a claim holds one of the values as a string or in an array; numbers, booleans, objects never
function holds(value, values) {
    if (typeof value === 'string') {
        return values.indexOf(value) >= 0;
    }
    return Array.isArray(value) && value.some(function(v) { return typeof v === 'string' && values.indexOf(v) >= 0; });
}

// the words of scope and scp together, each a space-separated string or an array of strings
function granted(claims) {
    var out = [];
    ['scope', 'scp'].forEach(function(name) {
        var value = claims[name];
        if (typeof value === 'string') {
            out = out.concat(value.split(' '));
        } else if (Array.isArray(value)) {
            out = out.concat(value.filter(function(v) { return typeof v === 'string'; }));
        }
    });
    return out;
}

function authorized(claims, require) {
    var scopes = granted(claims);
    return require.claims.every(function(c) { return holds(claims[c[0]], c[1]); }) &&
        require.scopes.every(function(s) { return scopes.indexOf(s) >= 0; });
}

async function gate(r) {
    var settings = JSON.parse(r.variables.edgec_jwt);
    var claims;
    try {
        claims = await verify(r, settings);
    } catch (e) {
        if (!(e instanceof Reject)) {
            throw e;
        }
        r.headersOut['WWW-Authenticate'] = 'Bearer realm="' + settings.name + '"';
        r.headersOut['Content-Type'] = 'application/json';
        // the runtime's error body, byte for byte (the messages are plain ASCII words)
        r.return(401, '{"error": "' + e.message + '", "status": 401}');
        return;
    }
    if (settings.require !== undefined && !authorized(claims, settings.require)) {
        r.headersOut['WWW-Authenticate'] = settings.require.challenge;
        r.headersOut['Content-Type'] = 'application/json';
        r.return(403, '{"error": "token lacks what the route requires", "status": 403}');
        return;
    }
    if (settings.claim !== null) {
        // the rate limit's key: the claim's value, else the client address (as the runtime counts)
        var value = claims[settings.claim];
        r.variables.edgec_limit_key = value === undefined || value === null ?
            'client_ip:' + r.variables.remote_addr : 'claim:' + String(value);
    }
    r.internalRedirect(settings.then);
}

export default {gate};
