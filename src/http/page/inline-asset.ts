import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A file as a page carries it inline, and the CSP source that allows it. */
export interface InlineAsset {
  readonly text: string;
  /** `'sha256-…'`: allows exactly this text in a `script-src` or `style-src`. */
  readonly source: string;
}

/** What would end the element early, or make the HTML parser read past its end tag. */
const BREAKOUT = { script: /<\/script|<!--/i, style: /<\/style/i } as const;

/**
 * Reads a file to be carried inline in a `<script>` or a `<style>`, and hashes it. Line ends
 * become LF, as the HTML parser hands the element's text to the browser, which hashes that: a
 * checkout with CRLF would otherwise fail its own CSP.
 */
export function readInlineAsset(file: URL, element: keyof typeof BREAKOUT): InlineAsset {
  const text = readFileSync(file, 'utf8').replace(/\r\n?/g, '\n');
  const breakout = BREAKOUT[element].exec(text);
  if (breakout !== null) {
    throw new Error(
      `${fileURLToPath(file)} cannot be inlined in a <${element}>: it contains "${breakout[0]}"`,
    );
  }
  return { text, source: `'sha256-${createHash('sha256').update(text).digest('base64')}'` };
}
