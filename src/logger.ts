import pino, { type Logger } from 'pino';
import type { TpsConfig } from './config.ts';

export type { Logger } from 'pino';

/** JSON lines on stdout. Authorization headers and tokens are never written. */
export function createLogger(config: Pick<TpsConfig, 'logLevel' | 'appName' | 'appEnvironment'>): Logger {
  return pino({
    level: config.logLevel,
    base: { service: config.appName, env: config.appEnvironment },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', 'authToken', 'auth_token', 'token'],
      censor: '[redacted]',
    },
  });
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
