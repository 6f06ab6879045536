import { useI18n, type MessageKey } from '../i18n';
import type { StrengthEstimate } from '../lib/strength';

export function StrengthMeter({ estimate, id }: { estimate: StrengthEstimate | null; id: string }) {
  const { t } = useI18n();
  const score = estimate?.score ?? 0;
  const empty = estimate === null;
  return (
    <div className="strength" id={id} data-testid="strength-meter" data-score={empty ? '' : score}>
      <div className="strength-bar" role="meter" aria-label={t('oobe.strength.label')} aria-valuemin={0} aria-valuemax={4}
        aria-valuenow={score} aria-valuetext={empty ? '' : t(`oobe.strength.${score}` as MessageKey)}>
        <span /><span /><span /><span />
      </div>
      <p className="strength-text" aria-live="polite">
        {!empty && (
          <>
            <strong>{t(`oobe.strength.${score}` as MessageKey)}</strong>
            {estimate.warning && <> · {t(`oobe.warn.${estimate.warning}` as MessageKey)}</>}
          </>
        )}
      </p>
    </div>
  );
}
