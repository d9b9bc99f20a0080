import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { startApp } from '../helpers.ts';

/**
 * A generated corpus of malformed requests. Every one must be answered with a 4xx JSON error
 * (`success: false`, an `error` code, a `message`), naming the field at fault where there is one,
 * and the service must keep serving afterwards.
 */

const KNOWN_TYPES = ['validate', 'execute', 'report', 'chaos'] as const;
const MAX_BODY_BYTES = 65_536;
const MAX_DEPTH = 32;
const MAX_TIMEOUT_MS = 300_000;
const JSON_TYPE = { 'content-type': 'application/json' } as const;

type Headers = Readonly<Record<string, string | string[]>>;

interface BadRequest {
  readonly name: string;
  readonly method: 'GET' | 'POST';
  readonly url: string;
  readonly headers: Headers;
  readonly payload?: string | Buffer;
  /** The exact status expected; any 4xx when left out. */
  readonly status?: number;
  /** The exact `error` code expected. */
  readonly error?: string;
  /** The field the answer must name: exactly (string) or by pattern. */
  readonly field?: string | RegExp;
  /** A pattern the message must match. */
  readonly message?: RegExp;
  /** The answer must list the registered signal types. */
  readonly listsKnownTypes?: boolean;
}

interface Group {
  readonly title: string;
  readonly cases: readonly BadRequest[];
}

/** One top-level field of a body, as raw JSON text so that literals like `1e400` survive. */
type RawField = readonly [key: string, rawValue: string];

const q = (value: unknown): string => JSON.stringify(value);

function rawObject(fields: readonly RawField[]): string {
  return `{${fields.map(([key, value]) => `${q(key)}:${value}`).join(',')}}`;
}

function post(
  name: string,
  payload: string | Buffer | undefined,
  expect: Partial<BadRequest> = {},
): BadRequest {
  return { name, method: 'POST', url: '/signal', headers: JSON_TYPE, payload, ...expect };
}

/** Deterministic PRNG (mulberry32), so a failing case is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The valid fields other than `signal_type`, used to build bodies where only one field is wrong. */
const VALID_EXTRAS: readonly RawField[] = [
  ['priority', '2'],
  ['payload', '{"data":[1,2,3],"note":"ok"}'],
  ['timeout_ms', '5000'],
];

/** Bodies for every known type, alone and with every other field valid; `field` is left out. */
function contexts(field: string): readonly (readonly RawField[])[] {
  const out: RawField[][] = [];
  for (const type of KNOWN_TYPES) {
    const typeField: RawField = ['signal_type', q(type)];
    out.push([typeField]);
    out.push([typeField, ...VALID_EXTRAS.filter(([key]) => key !== field)]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Generators

function malformedJson(): Group {
  const cases: BadRequest[] = [];
  const expect = { status: 400, error: 'invalid_signal', field: 'body' } as const;
  const full = rawObject([['signal_type', q('validate')], ...VALID_EXTRAS]);
  for (let length = 1; length < full.length; length++) {
    cases.push(
      post(`body truncated to ${length} of ${full.length} characters`, full.slice(0, length), expect),
    );
  }
  const syntax: readonly string[] = [
    '{"signal_type":"validate",}',
    '{"signal_type":"validate","payload":{"a":1,}}',
    '{"signal_type":"validate","payload":{"data":[1,2,3,]}}',
    '{"signal_type":"validate",,"priority":1}',
    '{,"signal_type":"validate"}',
    "{'signal_type':'validate'}",
    `{"signal_type":'validate'}`,
    '{signal_type:"validate"}',
    '{"signal_type":"validate","priority":NaN}',
    '{"signal_type":"validate","priority":Infinity}',
    '{"signal_type":"validate","priority":-Infinity}',
    '{"signal_type":"validate","priority":undefined}',
    '{"signal_type":"validate","priority":0x2}',
    '{"signal_type":"validate","priority":02}',
    '{"signal_type":"validate","priority":+2}',
    '{"signal_type":"validate","priority":.5}',
    '{"signal_type":"validate","priority":2.}',
    '{"signal_type":"validate","priority":1e}',
    '{"signal_type":"validate","priority":--1}',
    '{"signal_type":"validate","payload":{"ok":True}}',
    '{"signal_type":"validate","payload":{"ok":None}}',
    '{"signal_type":"validate","payload":{"ok":nil}}',
    '{"signal_type":"validate"}}',
    '{"signal_type":"validate"}{}',
    '{"signal_type":"validate"} x',
    '{"signal_type":"validate"}\u0000',
    '{"signal_type" "validate"}',
    '{"signal_type":"validate" "priority":1}',
    '{"signal_type":"validate" /* comment */}',
    '// comment\n{"signal_type":"validate"}',
    '{"signal_type":"vali\u0001date"}',
    '{"signal_type":"vali\ndate"}',
    '{"signal_type":"\\x41"}',
    '{"signal_type":"\\u12"}',
    '{"signal_type":"validate\\"}',
    '{"signal_type":"validate"',
    '{"signal_type"}',
    '{"signal_type":}',
    '{:}',
    '{',
    '}',
    '[',
    ':',
    ',',
    '"',
    '{"signal_type":"validate"\u00a0}',
    '\u2028{"signal_type":"validate"}',
    '\ufeff{"signal_type":"validate"}',
    '{"signal_type":`validate`}',
    '{"signal_type":"validate";"priority":1}',
    '{"signal_type"="validate"}',
    '<signal><signal_type>validate</signal_type></signal>',
    'signal_type=validate&priority=1',
  ];
  for (const text of syntax) cases.push(post(`malformed JSON ${q(text).slice(0, 60)}`, text, expect));
  return { title: 'malformed JSON is refused with 400 naming the body', cases };
}

function emptyAndNonObjectBodies(): Group {
  const cases: BadRequest[] = [];
  const expect = { status: 400, error: 'invalid_signal', field: 'body' } as const;
  for (const text of ['', ' ', '\n', '\r\n\t  ']) {
    cases.push(post(`empty or blank body ${q(text)} with a JSON content type`, text, expect));
  }
  cases.push({ name: 'no body and no content type', method: 'POST', url: '/signal', headers: {}, ...expect });
  const notObjects: readonly string[] = [
    '[]',
    '[{"signal_type":"validate"}]',
    '[1,2]',
    '[[]]',
    '"validate"',
    '""',
    q('{"signal_type":"validate"}'),
    '0',
    '1',
    '-1',
    '3.14',
    '1e400',
    'null',
    'true',
    'false',
  ];
  for (const text of notObjects) cases.push(post(`body is not an object: ${text}`, text, expect));
  return {
    title: 'an empty body or a body that is not an object is refused with 400 naming the body',
    cases,
  };
}

function randomGarbage(): Group {
  const cases: BadRequest[] = [];
  const random = prng(0x5eed);
  for (let i = 0; i < 50; i++) {
    const bytes = Buffer.alloc(1 + Math.floor(random() * 200));
    for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256);
    cases.push(post(`random bytes #${i} (${bytes.length} bytes)`, bytes));
  }
  const alphabet = '{}[]":,.-+0123456789eEaflnrstu\\ \n';
  for (let i = 0; i < 50; i++) {
    let text = '';
    const length = 1 + Math.floor(random() * 80);
    for (let j = 0; j < length; j++) text += alphabet[Math.floor(random() * alphabet.length)];
    cases.push(post(`random JSON-alphabet text #${i} ${q(text).slice(0, 40)}`, text));
  }
  return { title: 'random garbage bodies are refused with a 4xx JSON error', cases };
}

function invalidUtf8(): Group {
  const sequences: readonly (readonly [string, readonly number[]])[] = [
    ['lone continuation byte', [0x80]],
    ['truncated 3-byte sequence', [0xe2, 0x82]],
    ['overlong slash', [0xc0, 0xaf]],
    ['encoded surrogate', [0xed, 0xa0, 0x80]],
    ['0xfe byte', [0xfe]],
    ['0xff 0xfe bytes', [0xff, 0xfe]],
    ['5-byte sequence', [0xf8, 0x88, 0x80, 0x80, 0x80]],
    ['code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ];
  const positions: readonly (readonly [string, string, string])[] = [
    ['between tokens', '{"signal_type":"validate"', '}'],
    ['in the signal_type value', '{"signal_type":"valid', 'ate"}'],
    ['in a payload string', '{"signal_type":"validate","payload":{"note":"a', 'b"}}'],
    ['in a payload key', '{"signal_type":"validate","payload":{"k', '":1}}'],
  ];
  const cases: BadRequest[] = [];
  for (const [what, bytes] of sequences) {
    for (const [where, before, after] of positions) {
      const body = Buffer.concat([Buffer.from(before), Buffer.from(bytes), Buffer.from(after)]);
      cases.push(post(`invalid UTF-8 (${what}) ${where}`, body, { status: 400 }));
    }
  }
  return { title: 'a body that is not valid UTF-8 is refused with 400', cases };
}

function wrongTypes(): Group {
  const badValues: Readonly<Record<string, readonly string[]>> = {
    signal_type: [
      '0',
      '1',
      '-1',
      '1.5',
      '[]',
      '["validate"]',
      '{}',
      '{"name":"validate"}',
      'null',
      'true',
      'false',
      ...[
        '',
        ' ',
        ' validate',
        'validate ',
        'validate\n',
        '\tvalidate',
        'vali date',
        'välidate',
        'валидация',
        '日本',
        '🙂',
        '-validate',
        '.validate',
        '_validate',
        ':validate',
        'a/b',
        'a\\b',
        '<script>alert(1)</script>',
        "validate'; DROP TABLE signals;--",
        'valid\u0000ate',
        'validate\u200b',
        '\u202evalidate',
        'validate%00',
        '\u0024{jndi:ldap://x}', // a log4shell-style lookup
        '../../etc/passwd',
        'validate,execute',
        '*',
        'a'.repeat(65),
        'a'.repeat(1000),
        'v'.repeat(20_000),
      ].map(q),
    ],
    priority: [
      '"1"',
      '"2"',
      '"high"',
      '""',
      '1.5',
      '2.5',
      '0',
      '5',
      '-1',
      '-0',
      '100',
      '1e20',
      '1e400',
      '-1e400',
      '9007199254740993',
      'null',
      'true',
      'false',
      '[]',
      '[1]',
      '{}',
      '{"value":1}',
    ],
    payload: [
      '[]',
      '[1,2]',
      '[{"data":1}]',
      '"x"',
      '""',
      '"{\\"data\\":1}"',
      '0',
      '1',
      '-1.5',
      'null',
      'true',
      'false',
    ],
    timeout_ms: [
      '0',
      '-5',
      '-1',
      '-0.5',
      '"1000"',
      '""',
      '1.5',
      '999.9',
      String(MAX_TIMEOUT_MS + 1),
      String(MAX_TIMEOUT_MS * 10),
      '300000.5',
      '1e20',
      '1e400',
      'null',
      'true',
      '[]',
      '[1000]',
      '{}',
    ],
  };
  const cases: BadRequest[] = [];
  for (const [field, values] of Object.entries(badValues)) {
    for (const value of values) {
      for (const base of contexts(field)) {
        const body = rawObject([...base, [field, value]]);
        const label = value.length > 40 ? `${value.slice(0, 40)}…(${value.length} chars)` : value;
        cases.push(
          post(`${field} = ${label} with ${base.map(([k, v]) => `${k}=${v}`).join(' ')}`, body, {
            status: 400,
            error: 'invalid_signal',
            field,
          }),
        );
      }
    }
  }
  return { title: 'a field of the wrong type or out of range is refused with 400 naming it', cases };
}

function missingAndUnknownSignalType(): Group {
  const cases: BadRequest[] = [];
  const missing: readonly string[] = [
    '{}',
    '{"priority":1}',
    '{"payload":{"data":[1]}}',
    '{"timeout_ms":1000}',
    '{"priority":1,"payload":{"data":[1]},"timeout_ms":5}',
    '{"signalType":"validate"}',
    '{"type":"validate"}',
    '{"SIGNAL_TYPE":"validate"}',
    '{"signal-type":"validate"}',
    '{" signal_type":"validate"}',
    '{"payload":{"signal_type":"validate"}}',
  ];
  for (const text of missing) {
    cases.push(
      post(`signal_type missing: ${text}`, text, {
        status: 400,
        error: 'invalid_signal',
        field: 'signal_type',
        message: /signal_type/,
      }),
    );
  }
  const unknown: readonly string[] = [
    'nope',
    'Validate',
    'VALIDATE',
    'validate2',
    'validate.',
    'validate-',
    'execute:v2',
    'report_',
    'chaos.monkey',
    '0',
    'x',
    'a'.repeat(64),
    'constructor',
    'toString',
    'hasOwnProperty',
    'prototype',
    'null',
    'undefined',
    'NaN',
    'true',
  ];
  for (const type of unknown) {
    for (const extras of [[], VALID_EXTRAS] as const) {
      const body = rawObject([['signal_type', q(type)], ...extras]);
      cases.push(
        post(`unknown signal_type ${q(type)}${extras.length > 0 ? ' with every other field' : ''}`, body, {
          status: 400,
          error: 'unknown_signal_type',
          field: 'signal_type',
          listsKnownTypes: true,
        }),
      );
    }
  }
  return { title: 'a missing or unknown signal_type is refused with 400 naming it', cases };
}

function unknownFields(): Group {
  const names: readonly string[] = [
    'foo',
    'signalType',
    'type',
    'Priority',
    'PAYLOAD',
    'data',
    'id',
    'signal_id',
    'status',
    'timeout',
    'timeoutMs',
    'priority ',
    'payload.data',
    'toString',
    'hasOwnProperty',
    'prototype',
    '0',
    '日本',
    '',
    'k'.repeat(500),
  ];
  const cases: BadRequest[] = [];
  for (const name of names) {
    for (const value of ['1', 'null', '{"x":[1]}']) {
      const body = rawObject([
        ['signal_type', q('validate')],
        [name, value],
      ]);
      cases.push(
        post(`unknown top-level field ${q(name).slice(0, 30)} = ${value}`, body, {
          status: 400,
          error: 'invalid_signal',
          // An empty key cannot be named by an empty string; any non-empty name of it will do.
          field: name === '' ? /./ : name,
        }),
      );
    }
  }
  return { title: 'an unknown top-level field is refused with 400 naming it', cases };
}

function oversizedBodies(): Group {
  const cases: BadRequest[] = [];
  const expect = { status: 413, error: 'payload_too_large' } as const;
  for (const size of [MAX_BODY_BYTES + 1, MAX_BODY_BYTES + 1000, 2 * MAX_BODY_BYTES, 1_048_576]) {
    const head = '{"signal_type":"validate","payload":{"blob":"';
    const tail = '"}}';
    const json = head + 'a'.repeat(size - head.length - tail.length) + tail;
    cases.push(post(`valid JSON of ${json.length} bytes`, json, expect));
    const numbers = `{"signal_type":"validate","payload":{"data":[${'1,'.repeat(Math.ceil(size / 2))}1]}}`;
    cases.push(post(`array of numbers, ${numbers.length} bytes`, numbers, expect));
    cases.push(post(`${size} bytes of garbage`, 'x'.repeat(size), expect));
  }
  return { title: 'a body over the size limit is refused with 413', cases };
}

function tooDeep(): Group {
  const cases: BadRequest[] = [];
  const expect = { status: 400, error: 'invalid_signal', message: /nest/i } as const;
  const objects = (levels: number, leaf = '1') => `${'{"a":'.repeat(levels)}${leaf}${'}'.repeat(levels)}`;
  const arrays = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
  const mixed = (levels: number) => {
    let open = '';
    let close = '';
    for (let i = 0; i < levels; i++) {
      open += i % 2 === 0 ? '{"a":' : '[';
      close = (i % 2 === 0 ? '}' : ']') + close;
    }
    return `${open}1${close}`;
  };
  // The body is level 1 and payload level 2: a payload that is a chain of MAX_DEPTH objects reaches
  // level MAX_DEPTH + 1, as do MAX_DEPTH - 1 levels held in one of payload's members.
  const over = MAX_DEPTH - 1;
  for (const levels of [MAX_DEPTH, MAX_DEPTH + 1, MAX_DEPTH + 8, 100, 1000, 10_000]) {
    cases.push(
      post(
        `payload nested ${levels} objects deep`,
        `{"signal_type":"validate","payload":${objects(levels)}}`,
        { ...expect, field: /^payload\.a(\.a)*$/ },
      ),
    );
  }
  for (const levels of [over, over + 1, 64, 1000, 20_000]) {
    cases.push(
      post(
        `payload.a nested ${levels} arrays deep`,
        `{"signal_type":"validate","payload":{"a":${arrays(levels)}}}`,
        { ...expect, field: /^payload\.a(\.0)*$/ },
      ),
    );
  }
  for (const levels of [over, 100, 5000]) {
    cases.push(
      post(
        `payload nested ${levels} levels of alternating objects and arrays`,
        `{"signal_type":"validate","payload":{"m":${mixed(levels)}}}`,
        { ...expect, field: /^payload\.m(\.(a|0))*$/ },
      ),
    );
    cases.push(
      post(
        `payload list element nested ${levels} levels deep`,
        `{"signal_type":"validate","payload":{"items":[1,"two",${objects(levels)}]}}`,
        { ...expect, field: /^payload\.items\.2(\.a)*$/ },
      ),
    );
  }
  for (const [field, value] of [
    ['priority', arrays(200)],
    ['timeout_ms', objects(200)],
    ['extra', objects(200)],
  ] as const) {
    cases.push(
      post(`${field} nested 200 levels deep`, `{"signal_type":"validate","${field}":${value}}`, {
        ...expect,
        field: new RegExp(`^${field}(\\.(a|0))*$`),
      }),
    );
  }
  return { title: `nesting deeper than ${MAX_DEPTH} levels is refused with 400 naming its path`, cases };
}

function forbiddenKeys(): Group {
  const cases: BadRequest[] = [];
  // [written in the JSON text, what it decodes to]
  const keys: readonly (readonly [string, string])[] = [
    ['"__proto__"', '__proto__'],
    ['"constructor"', 'constructor'],
    ['"\\u005f_proto__"', '__proto__'],
    ['"constructo\\u0072"', 'constructor'],
  ];
  const positions: readonly (readonly [string, (member: string) => string])[] = [
    ['', (m) => `{${m},"signal_type":"validate"}`],
    ['', (m) => `{"signal_type":"validate",${m}}`],
    ['payload', (m) => `{"signal_type":"validate","payload":{${m}}}`],
    ['payload.a', (m) => `{"signal_type":"validate","payload":{"a":{"b":1,${m}}}}`],
    ['payload.list.0', (m) => `{"signal_type":"validate","payload":{"list":[{${m}}]}}`],
    ['payload.a.b.c', (m) => `{"signal_type":"validate","payload":{"a":{"b":{"c":{${m}}}}}}`],
  ];
  for (const [written, key] of keys) {
    for (const [path, build] of positions) {
      for (const value of ['{"polluted":true}', 'null']) {
        const field = path === '' ? key : `${path}.${key}`;
        cases.push(
          post(`key ${written} at ${field} = ${value}`, build(`${written}:${value}`), {
            status: 400,
            error: 'invalid_signal',
            field,
          }),
        );
      }
    }
  }
  return { title: '__proto__ and constructor keys are refused with 400 naming their path', cases };
}

function wrongContentType(): Group {
  const cases: BadRequest[] = [];
  const types: readonly (string | undefined)[] = [
    undefined,
    '',
    'text/plain',
    'text/html',
    'text/json',
    'application/xml',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/octet-stream',
    'application/jsonx',
    'application/json-patch+json',
    'application/vnd.api+json',
    'application/ld+json',
    'application/javascript',
    'json',
    'application',
    '*/*',
    ';;;',
    'application/json, text/plain',
    'image/png',
  ];
  const bodies: readonly string[] = ['{"signal_type":"validate","payload":{"data":[1,2,3]}}', '{', ''];
  for (const type of types) {
    for (const body of bodies) {
      // No content type and no body is a request without a body, not one of the wrong type.
      if (type === undefined && body === '') continue;
      const headers: Headers = type === undefined ? {} : { 'content-type': type };
      cases.push({
        name: `content type ${type === undefined ? '(missing)' : q(type)} with body ${q(body)}`,
        method: 'POST',
        url: '/signal',
        headers,
        payload: body,
        status: 415,
        error: 'unsupported_media_type',
      });
    }
  }
  for (const length of ['1', '5', '1000']) {
    cases.push({
      name: `content-length ${length} that does not match the body`,
      method: 'POST',
      url: '/signal',
      headers: { ...JSON_TYPE, 'content-length': length },
      payload: '{"signal_type":"validate","payload":{"data":[1,2,3]}}',
    });
  }
  return { title: 'a body that is not declared as JSON is refused with 415', cases };
}

function badIdempotencyKeys(): Group {
  const values: readonly (string | string[])[] = [
    '',
    ' ',
    'a b',
    ' leading',
    'trailing ',
    'k'.repeat(256),
    'k'.repeat(1000),
    'k'.repeat(8000),
    '\t',
    'a\tb',
    'a\u0000b',
    'a\u0001b',
    'a\u001fb',
    'a\u007fb',
    'a\nb',
    'a\r\nb',
    'é',
    'clé',
    '日本語',
    '🙂',
    'a\u00a0b',
    ['one', 'two'],
  ];
  const cases: BadRequest[] = [];
  for (const value of values) {
    for (const type of ['validate', 'execute']) {
      const shown = Array.isArray(value) ? `two headers ${q(value)}` : q(value).slice(0, 40);
      cases.push({
        name: `Idempotency-Key ${shown} on a ${type} signal`,
        method: 'POST',
        url: '/signal',
        headers: { ...JSON_TYPE, 'idempotency-key': value },
        payload: rawObject([['signal_type', q(type)]]),
        status: 400,
        error: 'invalid_signal',
        field: 'Idempotency-Key',
      });
    }
  }
  return { title: 'a malformed Idempotency-Key is refused with 400 naming the header', cases };
}

function badSignalIds(): Group {
  const cases: BadRequest[] = [];
  const routes = [
    ['GET', (id: string) => `/signal/${id}/status`],
    ['POST', (id: string) => `/signal/${id}/retry`],
  ] as const;
  const unknown: readonly string[] = [
    'nope',
    randomUUID(),
    randomUUID(),
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'a'.repeat(200),
    '%00',
    '%20',
    'a..b',
    'validate',
    'null',
    'undefined',
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    '%F0%9F%99%82',
    'a%2Fb',
    '1',
    '-1',
  ];
  for (const [method, url] of routes) {
    for (const id of unknown) {
      cases.push({
        name: `${method} with unknown id ${q(id).slice(0, 40)}`,
        method,
        url: url(id),
        headers: {},
        status: 404,
        error: 'signal_not_found',
      });
    }
    for (const length of [201, 300, 1000, 5000]) {
      cases.push({
        name: `${method} with an id of ${length} characters`,
        method,
        url: url('i'.repeat(length)),
        headers: {},
      });
    }
    for (const id of ['%E0%A4%A', '%ff', '%', '%zz']) {
      cases.push({
        name: `${method} with a badly percent-encoded id ${q(id)}`,
        method,
        url: url(id),
        headers: {},
      });
    }
    cases.push({
      name: `${method} with an empty id`,
      method,
      url: url(''),
      headers: {},
      status: 400,
      field: 'id',
    });
  }
  return { title: 'unknown, over-long or malformed signal ids are refused with a 4xx JSON error', cases };
}

const GROUPS: readonly Group[] = [
  malformedJson(),
  emptyAndNonObjectBodies(),
  randomGarbage(),
  invalidUtf8(),
  wrongTypes(),
  missingAndUnknownSignalType(),
  unknownFields(),
  oversizedBodies(),
  tooDeep(),
  forbiddenKeys(),
  wrongContentType(),
  badIdempotencyKeys(),
  badSignalIds(),
];

// ---------------------------------------------------------------------------------------------
// Checking

function preview(payload: string | Buffer | undefined, max = 160): string {
  if (payload === undefined) return '(no body)';
  const text = typeof payload === 'string' ? payload : payload.toString('latin1');
  const shown = q(text.length > max ? `${text.slice(0, max)}…` : text);
  return `${shown} (${Buffer.byteLength(payload)} bytes)`;
}

function fieldMatches(actual: unknown, expected: string | RegExp): boolean {
  if (typeof actual !== 'string' || actual.trim() === '') return false;
  return typeof expected === 'string' ? actual === expected : expected.test(actual);
}

/** What is wrong with the answer to `c`; empty when it is right. */
function problemsWith(c: BadRequest, status: number, contentType: unknown, text: string): string[] {
  const out: string[] = [];
  if (status < 400 || status > 499) out.push(`status ${status} is not a 4xx`);
  else if (c.status !== undefined && status !== c.status) out.push(`status ${status}, expected ${c.status}`);
  if (typeof contentType !== 'string' || !contentType.startsWith('application/json')) {
    out.push(`content-type ${q(contentType)} is not JSON`);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    out.push('the body is not JSON');
    return out;
  }
  if (!isRecord(body)) {
    out.push('the body is not a JSON object');
    return out;
  }
  if (body.success !== false) out.push(`success is ${q(body.success)}, expected false`);
  if (typeof body.error !== 'string' || body.error === '')
    out.push(`error is ${q(body.error)}, expected a code`);
  else if (c.error !== undefined && body.error !== c.error)
    out.push(`error ${q(body.error)}, expected ${q(c.error)}`);
  const message = body.message;
  if (typeof message !== 'string' || message.trim() === '') {
    out.push(`message is ${q(message)}, expected a non-empty string`);
  } else if (c.message !== undefined && !c.message.test(message)) {
    out.push(`message ${q(message)} does not match ${String(c.message)}`);
  }
  if (c.field !== undefined) {
    const expected = c.field;
    const named = fieldMatches(body.field, expected);
    // Without a `field`, a message that names the field is enough.
    const mentioned =
      body.field === undefined &&
      typeof message === 'string' &&
      (typeof expected === 'string'
        ? new RegExp(`\\b${escapeRegExp(expected)}\\b`).test(message)
        : expected.test(message));
    if (!named && !mentioned) out.push(`field is ${q(body.field)}, expected ${String(expected)}`);
  }
  if (c.listsKnownTypes === true) {
    const known = body.known_types;
    if (!Array.isArray(known) || !KNOWN_TYPES.every((type) => known.includes(type))) {
      out.push(`known_types is ${q(known)}, expected it to list ${KNOWN_TYPES.join(', ')}`);
    }
  }
  return out;
}

test('malformed requests are answered with a 4xx JSON error naming the field at fault, and the service keeps serving', async (t) => {
  const { app } = await startApp(t);
  const total = GROUPS.reduce((n, group) => n + group.cases.length, 0);

  await t.test(`the generated corpus holds at least 500 requests (${total})`, () => {
    assert.ok(total >= 500, `only ${total} requests generated`);
  });

  for (const group of GROUPS) {
    await t.test(`${group.title} (${group.cases.length} requests)`, async () => {
      const failures: string[] = [];
      for (const c of group.cases) {
        const response = await app.inject({
          method: c.method,
          url: c.url,
          headers: c.headers,
          ...(c.payload === undefined ? {} : { payload: c.payload }),
        });
        const problems = problemsWith(
          c,
          response.statusCode,
          response.headers['content-type'],
          response.body,
        );
        if (problems.length > 0) {
          failures.push(
            [
              `${c.name}: ${problems.join('; ')}`,
              `    request:  ${c.method} ${c.url.slice(0, 80)} headers=${q(c.headers).slice(0, 160)} body=${preview(c.payload)}`,
              `    response: ${response.statusCode} ${response.body.slice(0, 300)}`,
            ].join('\n'),
          );
        }
      }
      assert.equal(
        failures.length,
        0,
        `${failures.length} of ${group.cases.length} answers were wrong:\n${failures.join('\n')}`,
      );
    });
  }

  await t.test(
    'after the whole corpus a valid signal is still accepted and /health answers 200',
    async () => {
      const accepted = await app.inject({
        method: 'POST',
        url: '/signal',
        headers: JSON_TYPE,
        payload: '{"signal_type":"validate","payload":{"data":[1,2,3]}}',
      });
      assert.equal(accepted.statusCode, 202, accepted.body);
      const body: unknown = accepted.json();
      assert.ok(isRecord(body), accepted.body);
      assert.equal(body.success, true);
      assert.equal(typeof body.signal_id, 'string');
      assert.notEqual(body.signal_id, '');

      const health = await app.inject({ method: 'GET', url: '/health' });
      assert.equal(health.statusCode, 200, health.body);

      // None of the __proto__ bodies reached Object.prototype.
      assert.equal(Object.hasOwn(Object.prototype, 'polluted'), false);
    },
  );
});
