import { useId, useState, type KeyboardEvent, type ReactNode, type Ref } from 'react';
import { useI18n } from '../i18n';
import { EyeIcon, EyeOffIcon } from './Icons';
import { PIN_MAX_LENGTH, SECRET_MAX_LENGTH } from '../../../protocol/src/common/ui-api';

interface Props {
  label: string;
  value: string;
  onChange: (v: string) => void;
  kind?: 'password' | 'pin';
  testId: string;
  inputRef?: Ref<HTMLInputElement>;
  autoFocus?: boolean;
  hideLabel?: boolean;
  invalid?: boolean;
  describedBy?: string | undefined;
  disabled?: boolean;
  autoComplete?: string;
  /** Extra element rendered inside the field row (e.g. submit button). */
  trailing?: ReactNode;
}

/** Password/PIN input with show/hide toggle and a Caps Lock warning. */
export function SecretField(props: Props) {
  const { t } = useI18n();
  const id = useId();
  const capsId = `${id}-caps`;
  const [visible, setVisible] = useState(false);
  const [caps, setCaps] = useState(false);
  const kind = props.kind ?? 'password';
  const onKey = (e: KeyboardEvent<HTMLInputElement>): void => {
    if (typeof e.getModifierState === 'function') setCaps(e.getModifierState('CapsLock'));
  };
  const describedBy = [props.describedBy, caps ? capsId : undefined].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id} className={props.hideLabel ? 'visually-hidden' : 'field-label'}>
        {props.label}
      </label>
      <div className={`field-row${props.invalid ? ' invalid' : ''}`}>
        <input
          id={id}
          ref={props.inputRef}
          className="input"
          type={visible ? 'text' : 'password'}
          inputMode={kind === 'pin' ? 'numeric' : undefined}
          pattern={kind === 'pin' ? '[0-9]*' : undefined}
          maxLength={kind === 'pin' ? PIN_MAX_LENGTH : SECRET_MAX_LENGTH}
          autoComplete={props.autoComplete ?? 'off'}
          autoCapitalize="off"
          autoCorrect="off"
          spellCheck={false}
          autoFocus={props.autoFocus}
          disabled={props.disabled}
          value={props.value}
          aria-invalid={props.invalid || undefined}
          aria-describedby={describedBy}
          data-testid={props.testId}
          data-mode={kind}
          onChange={(e) => props.onChange(kind === 'pin' ? e.target.value.replace(/\D/g, '') : e.target.value)}
          onKeyDown={onKey}
          onKeyUp={onKey}
          onBlur={() => setCaps(false)}
        />
        <button
          type="button"
          className="icon-button reveal"
          aria-pressed={visible}
          aria-label={visible ? t('common.hide') : t('common.show')}
          title={visible ? t('common.hide') : t('common.show')}
          data-testid={`${props.testId}-reveal`}
          onClick={() => setVisible((v) => !v)}
          // keep focus (and the caret) in the field
          onMouseDown={(e) => e.preventDefault()}
        >
          {visible ? <EyeOffIcon /> : <EyeIcon />}
        </button>
        {props.trailing}
      </div>
      {caps && (
        <p id={capsId} className="caps-warning" data-testid="caps-lock-warning" role="alert">
          {t('common.capsLock')}
        </p>
      )}
    </div>
  );
}
