import { Client, NoAnswerError } from './load.ts';

/**
 * Why a run against `url` would measure nothing, in one sentence, or undefined when a service
 * answers there. Any answer to GET /health counts but a 404, even a 503: the run then measures
 * the service as it is. Asked before a run, so a wrong URL costs `timeoutMs`, not the run.
 */
export async function unreachable(
  url: string,
  timeoutMs: number,
  token?: string,
): Promise<string | undefined> {
  const client = new Client(url, token);
  try {
    const answer = await client.send('GET', '/health', undefined, {}, timeoutMs);
    if (answer.status !== 404) return undefined;
    return `${url} answers, but GET /health is a 404: is it a TPS service?`;
  } catch (error) {
    const e = error as { code?: string; message?: string };
    const why = error instanceof NoAnswerError ? `no answer within ${timeoutMs} ms` : (e.code ?? e.message);
    return `nothing answers at ${url} (${why}): is the service running? Start it with make run`;
  } finally {
    client.close();
  }
}
