import { runDaemon } from '../runtime/index.js';
import { GreeterdConfigSchema, GREETERD_DEFAULTS } from './config.js';
import { startGreeterd } from './greeterd.js';

void runDaemon({
  name: 'redbear-greeterd',
  summary: 'the login state machine: greeter UI lifecycle, authd and sessiond orchestration',
  configSchema: GreeterdConfigSchema,
  defaults: GREETERD_DEFAULTS,
  start: startGreeterd,
});
