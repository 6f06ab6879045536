import { UsageError } from './args.js';

/** Read the first line of standard input as the password (trailing \r?\n removed). */
async function readStdinLine(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    total += chunk.length;
    if (chunk.includes(0x0a) || total > 8192) break;
  }
  const all = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  const nl = all.indexOf(0x0a);
  let end = nl === -1 ? all.length : nl;
  if (end > 0 && all[end - 1] === 0x0d) end--;
  const pw = Buffer.from(all.subarray(0, end));
  all.fill(0);
  return pw;
}

/** Prompt on the terminal with echo off (raw mode). */
function promptHidden(prompt: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    const bytes: number[] = [];
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      const b = Buffer.from(bytes);
      bytes.fill(0);
      if (err) reject(err);
      else resolve(b);
    };
    const onData = (chunk: Buffer) => {
      for (const c of chunk) {
        if (c === 0x0d || c === 0x0a) return done();
        if (c === 0x03) return done(new UsageError('interrupted'));
        if (c === 0x7f || c === 0x08) bytes.pop();
        else bytes.push(c);
      }
      chunk.fill(0);
    };
    stdin.on('data', onData);
  });
}

/** The new password: from stdin with --password-stdin, else prompted twice on a terminal. */
export async function readNewPassword(fromStdin: boolean): Promise<Buffer> {
  if (fromStdin) return readStdinLine();
  if (!process.stdin.isTTY) throw new UsageError('no terminal to prompt on: pass the password on standard input with --password-stdin');
  const a = await promptHidden('New password: ');
  const b = await promptHidden('Repeat the password: ');
  const same = a.equals(b);
  b.fill(0);
  if (!same) {
    a.fill(0);
    throw new UsageError('the passwords do not match');
  }
  return a;
}
