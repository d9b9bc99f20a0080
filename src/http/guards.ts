import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Bearer-token check for write endpoints. Compares digests in constant time, so neither the
 * token's content nor its length leaks through timing.
 */
export function bearerAuth(token: string) {
  const expected = digest(token);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    const given = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7).trim() : '';
    if (given !== '' && timingSafeEqual(digest(given), expected)) return;
    await reply
      .code(401)
      .header(
        'www-authenticate',
        given === '' ? 'Bearer realm="tps"' : 'Bearer realm="tps", error="invalid_token"',
      )
      .send({
        success: false,
        error: 'unauthorized',
        message: given === '' ? 'missing bearer token' : 'invalid bearer token',
      });
  };
}

/**
 * Fixed-window rate limit per client address: `limit` requests per minute, then 429 with
 * `Retry-After` until the window ends. Memory is bounded by the clients seen in one window.
 */
export function rateLimit(limit: number, now: () => number = Date.now) {
  let windowStart = now();
  let counts = new Map<string, number>();
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const t = now();
    if (t - windowStart >= 60_000) {
      windowStart = t;
      counts = new Map();
    }
    const client = request.ip;
    const n = (counts.get(client) ?? 0) + 1;
    counts.set(client, n);
    if (n <= limit) return;
    const secs = Math.max(1, Math.ceil((windowStart + 60_000 - t) / 1000));
    await reply
      .code(429)
      .header('retry-after', String(secs))
      .send({
        success: false,
        error: 'rate_limited',
        message: `more than ${limit} requests per minute from this client`,
        retry_after_secs: secs,
      });
  };
}
