// Sandboxed preload (CommonJS, as sandboxed preloads must be): a few named async verbs,
// never ipcRenderer itself.
// eslint-disable-next-line @typescript-eslint/no-require-imports -- sandboxed preloads are CommonJS
import electron = require('electron');
const { contextBridge, ipcRenderer } = electron;

const CALL = 'greeter:call';
const EVENT = 'greeter:event';
const call = (method: string) => (...args: unknown[]) => ipcRenderer.invoke(CALL, method, args);

contextBridge.exposeInMainWorld('greeter', {
  hello: call('hello'),
  listUsers: call('listUsers'),
  login: call('login'),
  loginPin: call('loginPin'),
  changeExpiredPassword: call('changeExpiredPassword'),
  createFirstUser: call('createFirstUser'),
  completeFirstBoot: call('completeFirstBoot'),
  unlock: call('unlock'),
  switchUser: call('switchUser'),
  requestShutdown: call('requestShutdown'),
  requestReboot: call('requestReboot'),
  reportScreen: call('reportScreen'),
  reportActivity: call('reportActivity'),
  onEvent(listener: (event: unknown) => void): () => void {
    const handler = (_e: unknown, ev: unknown) => listener(ev);
    ipcRenderer.on(EVENT, handler);
    return () => ipcRenderer.removeListener(EVENT, handler);
  },
});
