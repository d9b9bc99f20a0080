import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { readInlineAsset } from '../../../src/http/page/inline-asset.ts';

/** A file with `text` in a temporary directory, removed after the test. */
function file(t: TestContext, name: string, text: string): URL {
  const dir = mkdtempSync(join(tmpdir(), 'tps-inline-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, name);
  writeFileSync(path, text);
  return pathToFileURL(path);
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('base64');

test('hashes exactly the text it returns, with line ends as the HTML parser hands them over', (t) => {
  const asset = readInlineAsset(file(t, 'a.js', "'use strict';\r\nvar a = '—';\rvar b = 1;\n"), 'script');
  assert.equal(asset.text, "'use strict';\nvar a = '—';\nvar b = 1;\n");
  assert.equal(asset.source, `'sha256-${sha256(asset.text)}'`);
  assert.notEqual(asset.source, `'sha256-${sha256("'use strict';\r\nvar a = '—';\rvar b = 1;\n")}'`);
  // The known digest of the empty text: the hash is SHA-256 in base64, as CSP reads it.
  assert.equal(
    readInlineAsset(file(t, 'empty.css', ''), 'style').source,
    "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='",
  );
});

test('refuses a file that would end its element early, naming the file and what it found', (t) => {
  for (const [text, found] of [
    ['var s = "</script>";', '</script'],
    ['var s = "</SCRIPT ";', '</SCRIPT'],
    ['var s = "<!--";', '<!--'],
  ] as const) {
    const url = file(t, 'bad.js', text);
    assert.throws(
      () => readInlineAsset(url, 'script'),
      (error: Error) => error.message.includes('bad.js') && error.message.includes(`"${found}"`),
      text,
    );
  }
  assert.throws(() => readInlineAsset(file(t, 'bad.css', 'a::after { content: "</style>"; }'), 'style'), {
    message: /bad\.css cannot be inlined in a <style>: it contains "<\/style"/,
  });
  // What ends only the other element is harmless.
  assert.equal(readInlineAsset(file(t, 'ok.css', '/* </script> */'), 'style').text, '/* </script> */');
});

test('a missing file fails at once', () => {
  assert.throws(() => readInlineAsset(new URL('file:///nonexistent/board.js'), 'script'), { code: 'ENOENT' });
});
