import { isUtf8 } from 'node:buffer';
import { InvalidSignalError } from '../errors.ts';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor']);

interface Problem {
  readonly reason: 'depth' | 'key';
  /** Path from the root, innermost last. */
  readonly path: string[];
}

function check(value: unknown, depth: number, maxDepth: number): Problem | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > maxDepth) return { reason: 'depth', path: [] };
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const p = check(value[i], depth + 1, maxDepth);
      if (p !== undefined) {
        p.path.unshift(String(i));
        return p;
      }
    }
    return undefined;
  }
  for (const key in value) {
    if (FORBIDDEN_KEYS.has(key)) return { reason: 'key', path: [key] };
    const p = check((value as Record<string, unknown>)[key], depth + 1, maxDepth);
    if (p !== undefined) {
      p.path.unshift(key);
      return p;
    }
  }
  return undefined;
}

/**
 * Parses a JSON request body and refuses what could harm the service or silently change the
 * data: bytes that are not UTF-8 (JSON must be; decoding them would replace them unseen), nesting
 * deeper than `maxDepth`, and `__proto__` / `constructor` keys anywhere. An empty body parses to
 * undefined (the route's schema then decides whether a body was required).
 * @throws {InvalidSignalError} naming the field at fault.
 */
export function parseJsonBody(body: Buffer, maxDepth: number): unknown {
  if (body.length === 0) return undefined;
  if (!isUtf8(body)) throw new InvalidSignalError('request body is not valid UTF-8', 'body');
  const text = body.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidSignalError(`request body is not valid JSON: ${(error as Error).message}`, 'body');
  }
  const problem = check(value, 1, maxDepth);
  if (problem !== undefined) {
    const field = problem.path.join('.') || 'body';
    throw problem.reason === 'key'
      ? new InvalidSignalError(`${field}: the key "${problem.path.at(-1)}" is not allowed`, field)
      : new InvalidSignalError(`${field}: nesting deeper than ${maxDepth} levels is not allowed`, field);
  }
  return value;
}
