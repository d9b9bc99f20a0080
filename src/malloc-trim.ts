import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Where native/build.mjs puts the addon (build/ at the package's root), from this module: src/ run
 * from source, or dist/src/ compiled.
 */
const ADDON = new URL(
  import.meta.url.endsWith('.ts') ? '../build/malloc-trim.node' : '../../build/malloc-trim.node',
  import.meta.url,
);

/**
 * glibc's `malloc_trim(0)` through the optional native addon (native/malloc-trim.c): gives the
 * free pages inside malloc's heaps back to the system and returns whether it gave any. Undefined
 * when the addon was not built (another platform or C library, no C compiler at install time) or
 * does not load.
 */
export function loadMallocTrim(): (() => boolean) | undefined {
  const path = fileURLToPath(ADDON);
  if (!existsSync(path)) return undefined;
  try {
    const addon = createRequire(import.meta.url)(path) as { readonly trim?: unknown };
    return typeof addon.trim === 'function' ? (addon.trim as () => boolean) : undefined;
  } catch {
    return undefined;
  }
}
