// Edits a list of strings: one input per item, add and remove.

export function ListEditor({
  name,
  items,
  onChange,
  placeholder,
  addLabel,
  errorAt,
}: {
  name: string;
  items: string[] | undefined;
  onChange: (items: string[]) => void;
  placeholder?: string;
  addLabel: string;
  // The server's message for item i, if any.
  errorAt?: (i: number) => string | undefined;
}) {
  const list = items ?? [];
  return (
    <div class="list-editor" data-list={name}>
      {list.map((v, i) => {
        const err = errorAt?.(i);
        return (
          <div key={i} class={`list-item${err ? ' invalid' : ''}`}>
            <span class="with-button">
              <input
                name={`${name}[${i}]`}
                value={v}
                placeholder={placeholder}
                onInput={(e) => {
                  const next = [...list];
                  next[i] = e.currentTarget.value;
                  onChange(next);
                }}
              />
              <button
                type="button"
                class="icon"
                aria-label={`Remove ${name} ${i + 1}`}
                onClick={() => onChange(list.filter((_, j) => j !== i))}
              >
                ×
              </button>
            </span>
            {err && (
              <span class="field-error" role="alert">
                {err}
              </span>
            )}
          </div>
        );
      })}
      <button type="button" class="small" onClick={() => onChange([...list, ''])}>
        + {addLabel}
      </button>
    </div>
  );
}
