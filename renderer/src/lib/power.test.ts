import { describe, expect, it } from 'vitest';
import { powerDidNotHappen, powerNoEffectKey } from './power';
import { translate } from '../i18n';

describe('power action that did not take effect', () => {
  it("greeterd's typed reason decides", () => {
    expect(powerDidNotHappen({ state: 'greeter_ready', reason: 'power_no_effect' }, false)).toBe(true);
    expect(powerDidNotHappen({ state: 'locked', reason: 'power_no_effect' }, true)).toBe(true);
  });

  it('without the reason: only after an accepted request, only back on a screen', () => {
    expect(powerDidNotHappen({ state: 'greeter_ready' }, true)).toBe(true);
    expect(powerDidNotHappen({ state: 'first_boot' }, true)).toBe(true);
    expect(powerDidNotHappen({ state: 'greeter_ready' }, false)).toBe(false); // refused: ok:false said so
    expect(powerDidNotHappen({ state: 'fatal_error' }, true)).toBe(false);
    expect(powerDidNotHappen({ state: 'power_action' }, true)).toBe(false);
  });

  it('says which action, in en and de', () => {
    expect(translate('en', powerNoEffectKey('shutdown'))).toBe('The computer did not shut down. It is still running.');
    expect(translate('en', powerNoEffectKey('reboot'))).toBe('The computer did not restart. It is still running.');
    expect(translate('de', powerNoEffectKey('shutdown'))).toBe('Der Computer wurde nicht ausgeschaltet. Er läuft weiter.');
    expect(powerNoEffectKey(null)).toBe('power.noEffect.unknown');
  });
});
