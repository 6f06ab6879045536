import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { BadCallError, validateCall } from '../common/validate-call.js';
import type { GreeterdBridge } from '../common/bridge.js';

export const CALL_CHANNEL = 'greeter:call';
export const EVENT_CHANNEL = 'greeter:event';
export const RENDERER_ORIGIN = 'app://renderer';

/** The one IPC entry point: sender frame checked, call validated, then forwarded. */
export function registerIpc(bridge: GreeterdBridge, isOurs: (wc: WebContents) => boolean, log: (m: string) => void): void {
  ipcMain.handle(CALL_CHANNEL, async (event: IpcMainInvokeEvent, method: unknown, args: unknown) => {
    const frame = event.senderFrame;
    if (!frame || frame !== event.sender.mainFrame || !isOurs(event.sender) || !frame.url.startsWith(RENDERER_ORIGIN + '/')) {
      log('ipc: call from an unexpected frame refused');
      throw new Error('forbidden');
    }
    try {
      const call = validateCall(method, args);
      return await bridge.call(call.method, call.args);
    } catch (e) {
      if (e instanceof BadCallError) log(`ipc: rejected call: ${e.message}`);
      throw new Error('unavailable', { cause: e });
    }
  });
}
