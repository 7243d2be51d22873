// Response aggregation for nginx open source, written by edgec (njs 0.7.9 or later).
//
// `merge` fetches the parts of an `aggregate` route in parallel (subrequests to internal
// locations that proxy to the parts' upstreams) and answers what edgec's runtime answers,
// byte for byte: 200 and {"name": body, ...} when every part answered 2xx with JSON, else
// 502 (504 when every failure is a timeout) with failed parts null and an "errors" object.
// The settings come in $edgec_aggregate (JSON written by edgec).
//
// The runtime reads each body with Python's json.loads and writes the answer with
// json.dumps, so the bodies are parsed here by a small reader that keeps what JSON.parse
// loses (key order, integers of any size, int vs float) and printed as json.dumps prints.

function Invalid() {}

// ---- reading: the JSON grammar Python's json module accepts ------------------------------
var NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;
var WHITESPACE = /[ \t\n\r]*/y;
var MAX_INT_DIGITS = 4300;  // Python refuses longer integers (sys.get_int_max_str_digits)

function Reader(text) {
    this.text = text;
    this.at = 0;
}

Reader.prototype.space = function() {
    WHITESPACE.lastIndex = this.at;
    WHITESPACE.exec(this.text);
    this.at = WHITESPACE.lastIndex;
};

Reader.prototype.word = function(word, value) {
    if (this.text.substr(this.at, word.length) !== word) {
        throw new Invalid();
    }
    this.at += word.length;
    return value;
};

Reader.prototype.value = function() {
    var c = this.text[this.at];
    if (c === '{') {
        return this.object();
    }
    if (c === '[') {
        return this.array();
    }
    if (c === '"') {
        return {raw: this.string()};
    }
    if (c === 'n') {
        return this.word('null', {raw: 'null'});
    }
    if (c === 't') {
        return this.word('true', {raw: 'true'});
    }
    if (c === 'f') {
        return this.word('false', {raw: 'false'});
    }
    if (c === 'N') {
        return this.word('NaN', {raw: 'NaN'});
    }
    if (c === 'I') {
        return this.word('Infinity', {raw: 'Infinity'});
    }
    if (c === '-' && this.text[this.at + 1] === 'I') {
        return this.word('-Infinity', {raw: '-Infinity'});
    }
    return this.number();
};

Reader.prototype.number = function() {
    NUMBER.lastIndex = this.at;
    var m = NUMBER.exec(this.text);
    if (!m) {
        throw new Invalid();
    }
    this.at = NUMBER.lastIndex;
    var token = m[0];
    if (m[1] === undefined && m[2] === undefined) {
        // an integer stays exact, as Python's int
        var digits = token.replace('-', '');
        if (digits.length > MAX_INT_DIGITS) {
            throw new Invalid();
        }
        return {raw: digits === '0' ? '0' : token};
    }
    return {raw: float_repr(Number(token))};
};

// a string is kept as json.dumps writes it (a lone surrogate cannot live in an njs string,
// so escapes are never decoded: each UTF-16 unit is written as Python writes it)
var SIMPLE = {'"': 34, '\\': 92, '/': 47, b: 8, f: 12, n: 10, r: 13, t: 9};

Reader.prototype.string = function() {
    var out = '"';
    var text = this.text;
    var i = this.at + 1;
    for (;;) {
        // njs indexes strings by code point
        var code = text.codePointAt(i);
        if (code === undefined || code < 0x20) {
            throw new Invalid();
        }
        if (code === 34) {
            this.at = i + 1;
            return out + '"';
        }
        if (code !== 92) {
            out += escape(code);
            i++;
            continue;
        }
        var e = text[i + 1];
        var hex = text.substr(i + 2, 4);
        if (SIMPLE[e] !== undefined) {
            out += escape(SIMPLE[e]);
            i += 2;
        } else if (e === 'u' && /^[0-9A-Fa-f]{4}$/.test(hex)) {
            out += escape(parseInt(hex, 16));
            i += 6;
        } else {
            throw new Invalid();
        }
    }
};

Reader.prototype.array = function() {
    var items = [];
    this.at++;
    this.space();
    if (this.text[this.at] === ']') {
        this.at++;
        return {array: items};
    }
    for (;;) {
        this.space();
        items.push(this.value());
        this.space();
        var c = this.text[this.at++];
        if (c === ']') {
            return {array: items};
        }
        if (c !== ',') {
            throw new Invalid();
        }
    }
};

Reader.prototype.object = function() {
    // [key, value] pairs: a repeated key keeps its first place and takes the last value (a dict)
    var pairs = [];
    var index = {};
    this.at++;
    this.space();
    if (this.text[this.at] === '}') {
        this.at++;
        return {object: pairs};
    }
    for (;;) {
        this.space();
        if (this.text[this.at] !== '"') {
            throw new Invalid();
        }
        var key = this.string();  // written form: equal keys have one written form
        this.space();
        if (this.text[this.at++] !== ':') {
            throw new Invalid();
        }
        this.space();
        var value = this.value();
        if (Object.prototype.hasOwnProperty.call(index, '$' + key)) {
            pairs[index['$' + key]][1] = value;
        } else {
            index['$' + key] = pairs.length;
            pairs.push([key, value]);
        }
        this.space();
        var c = this.text[this.at++];
        if (c === '}') {
            return {object: pairs};
        }
        if (c !== ',') {
            throw new Invalid();
        }
    }
};

function read(bytes) {
    var text;
    try {
        text = new TextDecoder('utf-8', {fatal: true}).decode(bytes);
    } catch (e) {
        throw new Invalid();
    }
    if (text.charCodeAt(0) === 0xfeff) {
        text = text.slice(1);  // json.loads of bytes reads a UTF-8 BOM as utf-8-sig
    }
    var reader = new Reader(text);
    reader.space();
    var value = reader.value();
    reader.space();
    if (reader.at !== text.length) {
        throw new Invalid();
    }
    return value;
}

// ---- writing: as Python's json.dumps (", " and ": ", ASCII only) -----------------------------
function float_repr(x) {
    if (x !== x) {
        return 'NaN';
    }
    if (x === Infinity || x === -Infinity) {
        return x > 0 ? 'Infinity' : '-Infinity';
    }
    var sign = x < 0 || (x === 0 && 1 / x < 0) ? '-' : '';
    // the shortest digits that read back as x, and the decimal exponent of the first
    var m = /^(\d)(?:\.(\d+))?e([-+]\d+)$/.exec(Math.abs(x).toExponential());
    var digits = m[1] + (m[2] || '');
    var exp = parseInt(m[3], 10);
    if (exp < -4 || exp >= 16) {
        var e = Math.abs(exp);
        return sign + digits[0] + (digits.length > 1 ? '.' + digits.slice(1) : '') + 'e' + (exp < 0 ? '-' : '+') +
            (e < 10 ? '0' + e : String(e));
    }
    if (exp < 0) {
        return sign + '0.' + '0'.repeat(-exp - 1) + digits;
    }
    var whole = digits.length > exp + 1 ? digits.slice(0, exp + 1) : digits + '0'.repeat(exp + 1 - digits.length);
    var rest = digits.slice(exp + 1);
    return sign + whole + '.' + (rest || '0');
}

var NAMED = {34: '\\"', 92: '\\\\', 10: '\\n', 13: '\\r', 9: '\\t', 8: '\\b', 12: '\\f'};

function hex4(code) {
    return '\\u' + ('000' + code.toString(16)).slice(-4);
}

// one character (a code point, or one UTF-16 unit from an escape) as json.dumps writes it
function escape(code) {
    if (NAMED[code] !== undefined) {
        return NAMED[code];
    }
    if (code >= 0x20 && code <= 0x7e) {
        return String.fromCharCode(code);
    }
    if (code > 0xffff) {
        code -= 0x10000;
        return hex4(0xd800 + (code >> 10)) + hex4(0xdc00 + (code & 0x3ff));
    }
    return hex4(code);
}

function quote(s) {
    var out = '"';
    for (var i = 0; i < s.length; i++) {
        out += escape(s.codePointAt(i));
    }
    return out + '"';
}

function write(v) {
    if (v.raw !== undefined) {
        return v.raw;
    }
    if (v.array !== undefined) {
        return '[' + v.array.map(write).join(', ') + ']';
    }
    return '{' + v.object.map(function(p) { return p[0] + ': ' + write(p[1]); }).join(', ') + '}';
}

// ---- the parts ----------------------------------------------------------------------------
var GAVE_UP = {590: ['unavailable', 502], 591: ['timeout', 504]};

async function part(r, p) {
    var reply = await r.subrequest(p.uri);
    // 590 and 591 are nginx's own failures (javascript.py PART_FAILED), told apart by the
    // part location's error_page
    var failed = GAVE_UP[reply.status];
    if (failed) {
        return {error: {error: failed[0], status: failed[1]}};
    }
    if (reply.status < 200 || reply.status >= 300) {
        return {error: {error: 'status', status: reply.status}};
    }
    var body = reply.responseBuffer;
    if (!body || !body.length) {
        return {value: {raw: 'null'}};
    }
    try {
        return {value: read(body)};
    } catch (e) {
        if (!(e instanceof Invalid)) {
            throw e;
        }
        return {error: {error: 'invalid_json', status: 502}};
    }
}

async function merge(r) {
    var settings = JSON.parse(r.variables.edgec_aggregate);
    var results = await Promise.all(settings.parts.map(function(p) { return part(r, p); }));
    var merged = [];
    var errors = [];
    var timeouts = 0;
    for (var i = 0; i < results.length; i++) {
        var name = settings.parts[i].name;
        merged.push([quote(name), results[i].error ? {raw: 'null'} : results[i].value]);
        if (results[i].error) {
            var e = results[i].error;
            errors.push([quote(name), {object: [['"error"', {raw: quote(e.error)}], ['"status"', {raw: String(e.status)}]]}]);
            timeouts += e.error === 'timeout' ? 1 : 0;
        }
    }
    var status = 200;
    if (errors.length) {
        var at = merged.findIndex(function(p) { return p[0] === '"errors"'; });
        var entry = ['"errors"', {object: errors}];
        if (at >= 0) {
            merged[at] = entry;  // a part named "errors" is overwritten in place, as in a dict
        } else {
            merged.push(entry);
        }
        status = timeouts === errors.length ? 504 : 502;
    }
    r.headersOut['Content-Type'] = 'application/json';
    r.return(status, write({object: merged}));
}

export default {merge};
