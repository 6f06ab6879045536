/**
 * INSECURE test fixture: a child process that keeps rewriting files in a store until it is
 * killed (crash-consistency test). Prints "B i g" before and "C i g" after each commit.
 */
import { FileCheckpointHolder, crashContent } from './insecure-test-support.js';
import { umkKeyProvider } from './key-provider.js';
import { openStore } from './store.js';

async function main(): Promise<void> {
  const [dir, umkHex, storeIdHex, cpFile, genBaseStr] = process.argv.slice(2);
  const keys = umkKeyProvider(Buffer.from(umkHex!, 'hex'), Buffer.from(storeIdHex!, 'hex'), {
    checkpoints: new FileCheckpointHolder(cpFile!),
  });
  const store = await openStore(dir!, keys);
  process.stdout.write('ready\n');
  let g = Number(genBaseStr);
  for (;;) {
    g++;
    const i = g % 5;
    process.stdout.write(`B ${i} ${g}\n`);
    const data = crashContent(i, g);
    if (g % 2 === 0) await store.writeFile(`/d/f${i}`, data);
    else {
      const ws = store.createWriteStream(`/d/f${i}`);
      for (let off = 0; off < data.length; off += 7000) ws.write(data.subarray(off, off + 7000));
      await new Promise<void>((res, rej) => ws.end((e?: Error | null) => (e ? rej(e) : res())));
    }
    process.stdout.write(`C ${i} ${g}\n`);
  }
}

if (process.env.SFS_CRASH_CHILD === '1') {
  main().catch((e: unknown) => {
    process.stderr.write(`child failed: ${String((e as Error)?.stack ?? e)}\n`);
    process.exit(2);
  });
}
