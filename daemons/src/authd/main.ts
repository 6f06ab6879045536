#!/usr/bin/env node
import { runDaemon } from '../runtime/index.js';
import { AUTHD_DEFAULTS, AuthdConfigSchema } from './config.js';
import { startAuthd } from './service.js';

/** redbear-authd: the only process that reads password hashes. See docs/accounts/authentication-policy.md. */
await runDaemon({
  name: 'redbear-authd',
  summary: 'verifies passwords and PINs, writes local accounts, approves sessions, power actions',
  configSchema: AuthdConfigSchema,
  defaults: AUTHD_DEFAULTS,
  start: (ctx) => startAuthd(ctx),
});
