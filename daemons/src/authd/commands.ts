import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number | null;
  signal: string | null;
  error?: string;
}

/**
 * Run an argv (no shell) with a clean environment plus `env`; stdout/stderr are discarded
 * (the commands are configured by the administrator; their output is not a log channel for
 * secrets). `timeoutMs` 0 waits forever. `{name}` placeholders in arguments are substituted.
 */
export function runCommand(argv: readonly string[], vars: Record<string, string>, env: Record<string, string>, timeoutMs: number): Promise<CommandResult> {
  const [cmd, ...args] = argv.map((a) => a.replace(/\{([a-z_]+)\}/g, (m, k: string) => vars[k] ?? m));
  if (!cmd) return Promise.resolve({ code: null, signal: null, error: 'no command configured' });
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: 'ignore',
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...env },
    });
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
      }, timeoutMs);
    }
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, error: (e as NodeJS.ErrnoException).code ?? e.message });
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal });
    });
  });
}

export function describe(r: CommandResult): string {
  if (r.error) return `could not run: ${r.error}`;
  if (r.signal) return `killed by ${r.signal}`;
  return `exit code ${r.code}`;
}
