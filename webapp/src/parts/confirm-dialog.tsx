import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef } from 'preact/hooks';

export interface ConfirmDialogProps {
  open: boolean;
  /** The dialog's heading and accessible name (`Cancel run h1-3?`). */
  title: string;
  children?: ComponentChildren;
  confirmLabel: string;
  /** The way out, focused first: a stray Enter does nothing harmful. */
  dismissLabel: string;
  danger?: boolean;
  busy?: boolean;
  error?: string;
  onConfirm: () => void;
  onClose: () => void;
}

/**
 * A modal question before something that cannot be undone. The browser's <dialog> keeps the
 * rest of the page out of reach and closes on Escape; Tab goes round its buttons; focus starts
 * on the way out and goes back, on close, to what opened it.
 */
export function ConfirmDialog({
  open,
  title,
  children,
  confirmLabel,
  dismissLabel,
  danger,
  busy,
  error,
  onConfirm,
  onClose,
}: ConfirmDialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const dismiss = useRef<HTMLButtonElement>(null);
  const opener = useRef<Element | null>(null);
  const id = useId();

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      opener.current = document.activeElement;
      d.showModal();
      dismiss.current?.focus();
    } else if (!open && d.open) {
      d.close();
    }
  }, [open]);

  const closed = () => {
    const back = opener.current;
    opener.current = null;
    if (back instanceof HTMLElement && back.isConnected) back.focus();
    if (open) onClose();
  };

  // A modal <dialog> lets Tab leave the page for the browser's own controls: wrap it around
  // the dialog's buttons instead, so the keyboard stays on the question.
  const wrapTab = (e: KeyboardEvent) => {
    if (e.key !== 'Tab') return;
    const buttons = [...(ref.current?.querySelectorAll<HTMLButtonElement>('button:not([disabled])') ?? [])];
    const first = buttons[0];
    const last = buttons[buttons.length - 1];
    if (!first || !last) {
      // Busy: both buttons are disabled, and Tab stays on the dialog itself.
      e.preventDefault();
      ref.current?.focus();
      return;
    }
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault();
      last.focus();
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault();
      first.focus();
    }
  };

  return (
    <dialog
      ref={ref}
      tabIndex={-1}
      onKeyDown={wrapTab}
      aria-labelledby={`${id}-title`}
      aria-describedby={children ? `${id}-body` : undefined}
      onClose={closed}
      onCancel={(e) => busy && e.preventDefault()}
    >
      <h2 id={`${id}-title`} class="dialog-title">
        {title}
      </h2>
      {children && <div id={`${id}-body`}>{children}</div>}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="dialog-actions">
        <button type="button" ref={dismiss} onClick={onClose} disabled={busy}>
          {dismissLabel}
        </button>
        <button type="button" class={danger ? 'danger' : 'primary'} onClick={onConfirm} disabled={busy}>
          {busy ? 'Working…' : confirmLabel}
        </button>
      </div>
    </dialog>
  );
}
