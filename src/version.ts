import pkg from '../package.json' with { type: 'json' };

/** The package version, as /info and the OpenAPI document report it. */
export const VERSION: string = pkg.version;
