import { useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import type { FormConfig, FormField } from '../api-types.js';
import { errorsByField, type FormErrors } from './form-errors.js';

type Value = string | boolean;

function initial(field: FormField): Value {
  if (field.type === 'bool') return field.value === 'true';
  return field.value ?? '';
}

export { errorsByField, type FormErrors } from './form-errors.js';

export interface FormViewProps {
  form: FormConfig;
  /** Prefix of element ids, so two forms on one page do not clash. */
  idPrefix: string;
  submitLabel: string;
  disabled?: boolean;
  /** Sends the values; a thrown ApiError's message is shown by its field. */
  onSubmit: (values: Record<string, Value>) => Promise<void>;
}

/** A data trigger's or data node's form, rendered from its config: text, numbers, bool, choices. */
export function FormView({ form, idPrefix, submitLabel, disabled, onSubmit }: FormViewProps) {
  const [values, setValues] = useState<Record<string, Value>>(() => Object.fromEntries(form.fields.map((f) => [f.id, initial(f)])));
  const [errors, setErrors] = useState<FormErrors>({});
  const [busy, setBusy] = useState(false);
  const set = (id: string, v: Value) => setValues((old) => ({ ...old, [id]: v }));

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      await onSubmit(values);
    } catch (err) {
      const message = err instanceof ApiError || err instanceof Error ? err.message : String(err);
      setErrors(errorsByField(message, form.fields));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="form" onSubmit={(e) => void submit(e)} aria-label={form.title || submitLabel} noValidate>
      {form.title && <p class="form-title">{form.title}</p>}
      {errors[''] && (
        <p class="error" role="alert">
          {errors['']}
        </p>
      )}
      {form.fields.map((f) => {
        const id = `${idPrefix}-${f.id}`;
        const bad = errors[f.id] !== undefined;
        const describedBy = bad ? `${id}-error` : undefined;
        const v = values[f.id];
        return (
          <div class={`field${bad ? ' invalid' : ''}`} key={f.id}>
            {f.type === 'bool' ? (
              <label class="check">
                <input
                  id={id}
                  name={f.id}
                  type="checkbox"
                  checked={v === true}
                  aria-invalid={bad}
                  aria-describedby={describedBy}
                  onChange={(e) => set(f.id, e.currentTarget.checked)}
                />
                {f.prompt || f.id}
              </label>
            ) : (
              <>
                <label for={id}>
                  {f.prompt || f.id}
                  {f.required && <span class="muted"> (required)</span>}
                </label>
                {f.options && f.options.length > 0 ? (
                  <select
                    id={id}
                    name={f.id}
                    value={String(v)}
                    aria-invalid={bad}
                    aria-describedby={describedBy}
                    onChange={(e) => set(f.id, e.currentTarget.value)}
                  >
                    {!f.required && <option value="">—</option>}
                    {f.options.map((o) => (
                      <option key={o} value={o}>
                        {o}
                      </option>
                    ))}
                  </select>
                ) : (
                  <input
                    id={id}
                    name={f.id}
                    {...(f.secret ? { type: 'password' as const } : { type: 'text' as const })}
                    inputMode={f.type === 'int' ? 'numeric' : f.type === 'number' ? 'decimal' : undefined}
                    autoComplete="off"
                    value={String(v)}
                    aria-invalid={bad}
                    aria-describedby={describedBy}
                    onInput={(e) => set(f.id, e.currentTarget.value)}
                  />
                )}
              </>
            )}
            {bad && (
              <p class="error" id={`${id}-error`} role="alert">
                {errors[f.id]}
              </p>
            )}
          </div>
        );
      })}
      <button type="submit" class="primary" disabled={disabled || busy}>
        {busy ? 'Sending…' : submitLabel}
      </button>
    </form>
  );
}
