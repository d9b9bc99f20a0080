#!/usr/bin/env node
// The `tps` command's entry point, plain JavaScript so that any Node.js can load it. In a clone
// it runs the TypeScript source; an installed package carries the compiled JavaScript instead,
// because Node.js does not strip types from files under node_modules.
import { existsSync } from 'node:fs';

const source = new URL('./tps.ts', import.meta.url);
await import(existsSync(source) ? source.href : new URL('../dist/cli/tps.js', import.meta.url).href);
