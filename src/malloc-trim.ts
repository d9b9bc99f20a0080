import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** Where native/build.mjs puts the addon, from src/ (run from source) and from dist/src/. */
const CANDIDATES = ['../build/malloc-trim.node', '../../build/malloc-trim.node'];

/**
 * glibc's `malloc_trim(0)` through the optional native addon (native/malloc-trim.c): gives the
 * free pages inside malloc's heaps back to the system and returns whether it gave any. Undefined
 * when the addon was not built (another platform or C library, no C compiler at install time) or
 * does not load.
 */
export function loadMallocTrim(): (() => boolean) | undefined {
  const require = createRequire(import.meta.url);
  for (const candidate of CANDIDATES) {
    const path = fileURLToPath(new URL(candidate, import.meta.url));
    if (!existsSync(path)) continue;
    try {
      const addon = require(path) as { readonly trim?: unknown };
      return typeof addon.trim === 'function' ? (addon.trim as () => boolean) : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}
