// A JSON text area with file upload, formatting and a parse check that points at the line.
import { useRef } from 'preact/hooks';

export function parseJson(text: string): { value?: unknown; error?: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const pos = /position (\d+)/.exec(msg);
    if (pos) {
      const before = text.slice(0, Number(pos[1]));
      const line = before.split('\n').length;
      const col = before.length - before.lastIndexOf('\n');
      return { error: `Not valid JSON at line ${line}, column ${col}: ${msg}` };
    }
    return { error: `Not valid JSON: ${msg}` };
  }
}

export function JsonEditor({
  value,
  onChange,
  label,
  rows = 18,
  error,
}: {
  value: string;
  onChange: (text: string) => void;
  label: string;
  rows?: number;
  error?: string;
}) {
  const file = useRef<HTMLInputElement>(null);
  const parsed = parseJson(value);
  return (
    <div class={`json-editor${error || parsed.error ? ' invalid' : ''}`}>
      <div class="toolbar">
        <span class="label">{label}</span>
        <button
          type="button"
          disabled={!!parsed.error}
          onClick={() => onChange(JSON.stringify(parsed.value, null, 2))}
        >
          Format
        </button>
        <button type="button" onClick={() => file.current?.click()}>
          Load file…
        </button>
        <input
          ref={file}
          type="file"
          accept=".json,application/json"
          hidden
          data-testid="json-file"
          onChange={async (e) => {
            const f = e.currentTarget.files?.[0];
            if (f) onChange(await f.text());
            e.currentTarget.value = '';
          }}
        />
      </div>
      <textarea
        aria-label={label}
        spellcheck={false}
        rows={rows}
        value={value}
        onInput={(e) => onChange(e.currentTarget.value)}
      />
      {parsed.error && <span class="field-error">{parsed.error}</span>}
      {error && (
        <span class="field-error" role="alert">
          {error}
        </span>
      )}
    </div>
  );
}
