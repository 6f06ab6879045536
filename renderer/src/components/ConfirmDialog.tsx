import { useEffect, useId, useRef, type KeyboardEvent } from 'react';
import { createPortal } from 'react-dom';

interface Props {
  title: string;
  body: string;
  confirmLabel: string;
  cancelLabel: string;
  busy?: boolean;
  error?: string | undefined;
  onConfirm: () => void;
  onCancel: () => void;
}

/** Modal confirmation: focus trapped, Escape cancels, focus returns to the opener. */
export function ConfirmDialog(p: Props) {
  const titleId = useId();
  const bodyId = useId();
  const cancelRef = useRef<HTMLButtonElement>(null);
  const dialogRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const opener = document.activeElement as HTMLElement | null;
    cancelRef.current?.focus();
    return () => opener?.focus?.();
  }, []);
  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      e.preventDefault();
      p.onCancel();
    } else if (e.key === 'Tab') {
      const items = [...(dialogRef.current?.querySelectorAll<HTMLElement>('button:not([disabled])') ?? [])];
      if (items.length === 0) return;
      const i = items.indexOf(document.activeElement as HTMLElement);
      const next = e.shiftKey ? (i <= 0 ? items.length - 1 : i - 1) : (i + 1) % items.length;
      e.preventDefault();
      items[next]?.focus();
    }
  };
  // Portal: ancestors with backdrop-filter would otherwise become the containing block.
  return createPortal(
    <div className="dialog-backdrop">
      <div ref={dialogRef} className="dialog" role="alertdialog" aria-modal="true" aria-labelledby={titleId}
        aria-describedby={bodyId} data-testid="confirm-dialog" onKeyDown={onKeyDown}>
        <h2 id={titleId} className="dialog-title">{p.title}</h2>
        <p id={bodyId} className="dialog-body">{p.body}</p>
        {p.error && <p className="form-error" role="alert">{p.error}</p>}
        <div className="dialog-actions">
          <button ref={cancelRef} type="button" className="button" data-testid="confirm-cancel" onClick={p.onCancel}>
            {p.cancelLabel}
          </button>
          <button type="button" className="button button-danger" data-testid="confirm-accept" disabled={p.busy} onClick={p.onConfirm}>
            {p.busy && <span className="spinner spinner-sm" aria-hidden="true" />}
            {p.confirmLabel}
          </button>
        </div>
      </div>
    </div>,
    document.body,
  );
}
