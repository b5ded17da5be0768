// Small building blocks shared by the pages.
import type { ComponentChildren } from 'preact';
import { signal } from '@preact/signals';
import { useState } from 'preact/hooks';
import { ApiError, errorText } from '../api';
import { statusHelp, toneOf } from '../status';

export function StatusBadge({ status, detail }: { status?: string; detail?: string }) {
  const s = status || 'UNKNOWN';
  const help = [statusHelp[s], detail].filter(Boolean).join(' — ');
  return (
    <span class={`badge tone-${toneOf(status)}`} title={help || s} data-status={s}>
      {s}
    </span>
  );
}

// An error as a sentence, with a hint for the usual causes.
export function ErrorNotice({ error, title }: { error: unknown; title?: string }) {
  if (error === undefined || error === null) return null;
  const status = error instanceof ApiError ? error.status : -1;
  const hint =
    status === 0
      ? 'The page keeps trying; it updates as soon as the API answers again.'
      : status === 403
        ? 'Your account lacks the role this needs.'
        : status >= 500
          ? 'The server could not complete this; the message above is its own.'
          : '';
  return (
    <div class="notice error" role="alert">
      {title && <strong>{title}: </strong>}
      {errorText(error)}
      {hint && <div class="hint">{hint}</div>}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <h3>{title}</h3>
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <div class="loading" aria-busy="true">
      Loading {what}…
    </div>
  );
}

// A labelled form field with the server's message for it underneath.
export function Field({
  label,
  error,
  hint,
  children,
  wide,
}: {
  label: string;
  error?: string;
  hint?: string;
  children: ComponentChildren;
  wide?: boolean;
}) {
  return (
    <label class={`field${error ? ' invalid' : ''}${wide ? ' wide' : ''}`}>
      <span class="label">{label}</span>
      {children}
      {hint && !error && <span class="hint">{hint}</span>}
      {error && (
        <span class="field-error" role="alert">
          {error}
        </span>
      )}
    </label>
  );
}

// A button that asks again before doing something that cannot be undone.
export function ConfirmButton({
  label,
  confirm,
  onConfirm,
  disabled,
  class: cls,
}: {
  label: string;
  confirm: string;
  onConfirm: () => void;
  disabled?: boolean;
  class?: string;
}) {
  const [asking, setAsking] = useState(false);
  if (!asking) {
    return (
      <button type="button" class={cls ?? 'danger'} disabled={disabled} onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  }
  return (
    <span class="confirm">
      <span>{confirm}</span>
      <button
        type="button"
        class="danger"
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        Yes
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        No
      </button>
    </span>
  );
}

export function Modal({
  title,
  onClose,
  children,
}: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
}) {
  return (
    <div class="modal-backdrop" onClick={(e) => e.target === e.currentTarget && onClose()}>
      <div class="modal" role="dialog" aria-modal="true" aria-label={title}>
        <header>
          <h2>{title}</h2>
          <button type="button" class="icon" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </header>
        {children}
      </div>
    </div>
  );
}

// Submit and cancel at the foot of a form.
export function FormActions({ busy, submit, onCancel }: { busy: boolean; submit: string; onCancel: () => void }) {
  return (
    <div class="actions">
      <button type="submit" class="primary" disabled={busy}>
        {submit}
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </div>
  );
}

export interface Toast {
  id: number;
  text: string;
  kind: 'ok' | 'error';
}
export const toasts = signal<Toast[]>([]);
let nextToast = 1;

export function notify(text: string, kind: 'ok' | 'error' = 'ok'): void {
  const id = nextToast++;
  toasts.value = [...toasts.value, { id, text, kind }];
  setTimeout(() => {
    toasts.value = toasts.value.filter((t) => t.id !== id);
  }, kind === 'error' ? 8000 : 4000);
}

export function Toasts() {
  return (
    <div class="toasts" aria-live="polite">
      {toasts.value.map((t) => (
        <div key={t.id} class={`toast ${t.kind}`}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

export function Copyable({ text }: { text?: string }) {
  if (!text) return <span class="muted">—</span>;
  return <code class="copyable">{text}</code>;
}

export function formatTime(seconds?: number): string {
  if (!seconds) return 'never';
  const ago = Date.now() / 1000 - seconds;
  if (ago < 60) return `${Math.max(0, Math.round(ago))} s ago`;
  if (ago < 3600) return `${Math.round(ago / 60)} min ago`;
  return new Date(seconds * 1000).toLocaleString();
}

export function downloadText(name: string, text: string, type = 'text/plain'): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
