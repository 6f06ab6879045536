import type { BrowserWindowConstructorOptions } from 'electron';

/** Window-level options of every kiosk window (webPreferences stay inline in main.ts, where electronegativity checks them). */
export function kioskWindowOptions(bounds: { x: number; y: number; width: number; height: number }, production: boolean): Omit<BrowserWindowConstructorOptions, 'webPreferences'> {
  return {
    ...bounds,
    show: false,
    frame: false,
    fullscreen: true,
    kiosk: production,
    backgroundColor: '#000000',
    autoHideMenuBar: true,
    closable: !production,
    minimizable: false,
    maximizable: false,
    skipTaskbar: true,
  };
}

/** Key chords that would close, reload or inspect the kiosk; blocked in production. */
export function isBlockedChord(input: { key: string; control: boolean; alt: boolean; shift: boolean; meta: boolean }): boolean {
  const k = input.key.toLowerCase();
  if (input.alt && k === 'f4') return true;
  if ((input.control || input.meta) && ['w', 'q', 'r', 'n', 't', 'p', 's', 'o', 'u', 'j'].includes(k)) return true;
  if ((input.control || input.meta) && input.shift && ['i', 'c', 'j'].includes(k)) return true;
  return ['f5', 'f11', 'f12'].includes(k);
}
