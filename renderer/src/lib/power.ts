import type { GreeterState, StateReason } from '../../../protocol/src/common/ui-api';
import type { MessageKey } from '../i18n/en';

export type PowerKind = 'shutdown' | 'reboot';

/** Screens greeterd returns to from power_action. */
const SCREENS: ReadonlySet<GreeterState> = new Set(['greeter_ready', 'first_boot', 'locked']);

/**
 * Whether a `state` event says that the shutdown/reboot the user started did not take effect
 * (greeterd's reason `power_no_effect`: the command succeeded but the machine stayed up past
 * greeterd's settle time). `accepted` is whether greeterd accepted the request (ok: true) and
 * no other state event came since. Without the reason (a shell that does not pass it on) the
 * event is still unambiguous: after an accepted request greeterd leaves power_action for a
 * screen only for this — a refusal is answered ok: false, and fatal_error is its own screen.
 */
export function powerDidNotHappen(e: { state: GreeterState; reason?: StateReason }, accepted: boolean): boolean {
  if (e.reason === 'power_no_effect') return true;
  return accepted && SCREENS.has(e.state);
}

export function powerNoEffectKey(kind: PowerKind | null): MessageKey {
  if (kind === 'shutdown') return 'power.noEffect.shutdown';
  if (kind === 'reboot') return 'power.noEffect.reboot';
  return 'power.noEffect.unknown';
}
