import { ui } from '@redbear/protocol';

/** Thrown for a call from the renderer that does not fit the API: a bug or an attack. */
export class BadCallError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadCallError';
  }
}

const str = (v: unknown, max: number, what: string): string => {
  if (typeof v !== 'string' || v.length > max) throw new BadCallError(`${what} must be a string of at most ${max} characters`);
  return v;
};

const SCREEN_INFO_KEYS: Record<string, 'string' | 'number' | 'boolean'> = {
  step: 'string',
  locale: 'string',
  userCount: 'number',
  username: 'string',
  highContrast: 'boolean',
  largeText: 'boolean',
  reason: 'string',
};

/**
 * Check a renderer call (method name + positional arguments) before it reaches greeterd.
 * Everything the renderer sends is untrusted: names from a closed list, bounded strings.
 */
export function validateCall(method: unknown, args: unknown): { method: ui.GreeterApiMethod; args: unknown[] } {
  if (typeof method !== 'string' || !(ui.GREETER_API_METHODS as readonly string[]).includes(method)) throw new BadCallError('unknown method');
  if (!Array.isArray(args) || args.length > 4) throw new BadCallError('arguments must be an array');
  const m = method as ui.GreeterApiMethod;
  const S = ui.SECRET_MAX_LENGTH;
  switch (m) {
    case 'hello':
    case 'listUsers':
    case 'switchUser':
    case 'requestShutdown':
    case 'requestReboot':
    case 'reportActivity':
      if (args.length !== 0) throw new BadCallError(`${m} takes no arguments`);
      return { method: m, args: [] };
    case 'login':
    case 'loginPin':
      return { method: m, args: [str(args[0], 256, 'username'), str(args[1], S, 'secret')] };
    case 'changeExpiredPassword':
      return { method: m, args: [str(args[0], 256, 'username'), str(args[1], S, 'old password'), str(args[2], S, 'new password')] };
    case 'createFirstUser': {
      const r = args[0] as Record<string, unknown> | undefined;
      if (!r || typeof r !== 'object') throw new BadCallError('createFirstUser takes a request object');
      const out: ui.NewUserRequest = {
        fullName: str(r.fullName, ui.FULL_NAME_MAX_LENGTH, 'fullName'),
        username: str(r.username, ui.USERNAME_MAX_LENGTH, 'username'),
        password: str(r.password, S, 'password'),
      };
      if (r.pin !== undefined) out.pin = str(r.pin, ui.PIN_MAX_LENGTH, 'pin');
      if (r.locale !== undefined) out.locale = str(r.locale, 35, 'locale');
      return { method: m, args: [out] };
    }
    case 'completeFirstBoot':
      return { method: m, args: [str(args[0], 128, 'continueToken')] };
    case 'unlock': {
      const kind = args[2];
      if (kind !== 'password' && kind !== 'pin') throw new BadCallError('kind must be password or pin');
      return { method: m, args: [str(args[0], 64, 'sessionId'), str(args[1], S, 'secret'), kind] };
    }
    case 'reportScreen': {
      const screen = args[0];
      if (!(ui.SCREEN_NAMES as readonly unknown[]).includes(screen)) throw new BadCallError('unknown screen');
      const info: Record<string, unknown> = {};
      const given = (args[1] ?? {}) as Record<string, unknown>;
      if (typeof given !== 'object') throw new BadCallError('screen info must be an object');
      for (const [k, v] of Object.entries(given)) {
        const t = SCREEN_INFO_KEYS[k];
        if (!t || typeof v !== t) throw new BadCallError(`screen info ${k} is not allowed`);
        info[k] = typeof v === 'string' ? v.slice(0, 64) : v;
      }
      return { method: m, args: [screen, info] };
    }
  }
}
