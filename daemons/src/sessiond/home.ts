import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { createStore, detectPersistence, openStore, CONF_FILE, type KeyProvider, type SecureStore } from '../lib/securefs/index.js';

/** An open SecureFS home: the store lives in sessiond's memory until a FUSE mount exists. */
export interface OpenHome {
  store: SecureStore;
  persistent: boolean;
  mount: string | null;
}

/** Open the user's SecureFS home at `dir`, creating the store on first login. */
export async function openHome(dir: string, keys: KeyProvider): Promise<OpenHome> {
  await fs.mkdir(path.dirname(dir), { recursive: true, mode: 0o711 });
  const exists = existsSync(path.join(dir, CONF_FILE));
  if (!exists) {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await fs.chown(dir, 0, 0).catch(() => undefined);
  }
  const store = exists ? await openStore(dir, keys) : await createStore(dir, keys);
  const persistence = await detectPersistence(dir).catch(() => ({ persistent: false }));
  return { store, persistent: persistence.persistent, mount: null };
}

export async function closeHome(home: OpenHome | undefined): Promise<void> {
  if (!home) return;
  await home.store.close().catch(() => undefined);
}
