/** The daemons of the stack in start order, with the binary names of the seeds. */
export const DAEMONS = [
  { name: 'keystored', binary: 'redbear-keystored', socket: '/run/redbear-keystored.sock' },
  { name: 'authd', binary: 'redbear-authd', socket: '/run/redbear-authd.sock' },
  { name: 'sessiond', binary: 'redbear-sessiond', socket: '/run/redbear-sessiond.sock' },
  { name: 'greeterd', binary: 'redbear-greeterd', socket: '/run/redbear-greeterd.sock' },
] as const;

export type DaemonName = (typeof DAEMONS)[number]['name'];
