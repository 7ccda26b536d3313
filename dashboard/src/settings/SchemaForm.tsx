// A form generated from the settings' JSON Schema: one input per leaf setting, grouped by the
// schema's objects, with each field's errors under it.

import type { JsonSchema, JsonValue } from "../api/types";
import { getAt, joinPath, resolve, titleOf, unwrapNullable } from "./schema";

export interface FormProps {
  root: JsonSchema;
  document: JsonValue;
  errors: Map<string, string[]>;
  onChange: (keys: (string | number)[], value: JsonValue) => void;
}

export function SchemaForm({ root, document, errors, onChange }: FormProps) {
  return (
    <div className="schema-form">
      <Field root={root} schema={root} keys={[]} name="" document={document} errors={errors} onChange={onChange} />
    </div>
  );
}

interface FieldProps extends FormProps {
  schema: JsonSchema;
  keys: (string | number)[];
  name: string;
}

function pathOf(keys: (string | number)[]): string {
  return keys.reduce<string>((path, key) => joinPath(path, key), "");
}

function Errors({ messages, path }: { messages: string[] | undefined; path: string }) {
  if (!messages?.length) return null;
  return (
    <ul className="field-errors" data-testid={`error-${path}`}>
      {messages.map((m) => (
        <li key={m}>{m}</li>
      ))}
    </ul>
  );
}

function Field(props: FieldProps) {
  const { root, keys, name, document, errors, onChange } = props;
  const resolved = resolve(root, props.schema);
  const { schema, nullable } = unwrapNullable(root, resolved);
  const s = resolve(root, schema);
  const path = pathOf(keys);
  const value = getAt(document, keys);
  const label = props.schema.title ?? (name ? titleOf(name) : s.title ?? "Settings");
  const help = props.schema.description ?? s.description;
  const fieldErrors = errors.get(path || "(document)");

  if (s.type === "object" && s.properties) {
    const inner = Object.entries(s.properties).map(([key, child]) => (
      <Field key={key} {...props} schema={child} keys={[...keys, key]} name={key} />
    ));
    if (keys.length === 0) return <>{inner}</>;
    return (
      <fieldset className="setting-group" data-testid={`group-${path}`}>
        <legend>{titleOf(name)}</legend>
        {help ? <p className="help">{help}</p> : null}
        {inner}
        <Errors messages={fieldErrors} path={path} />
      </fieldset>
    );
  }

  const id = `setting-${path}`;
  let input;
  if (s.enum) {
    input = (
      <select id={id} data-testid={id} value={JSON.stringify(value)} onChange={(e) => onChange(keys, JSON.parse(e.target.value))}>
        {nullable ? <option value="null">(none)</option> : null}
        {s.enum.map((option) => (
          <option key={JSON.stringify(option)} value={JSON.stringify(option)}>
            {String(option)}
          </option>
        ))}
      </select>
    );
  } else if (s.type === "boolean") {
    input = <input id={id} data-testid={id} type="checkbox" checked={value === true} onChange={(e) => onChange(keys, e.target.checked)} />;
  } else if (s.type === "integer" || s.type === "number") {
    input = (
      <input
        id={id}
        data-testid={id}
        type="number"
        step={s.type === "integer" ? 1 : "any"}
        min={s.minimum}
        max={s.maximum}
        value={value === null ? "" : String(value)}
        onChange={(e) => {
          const text = e.target.value.trim();
          onChange(keys, text === "" ? null : Number.isNaN(Number(text)) ? text : Number(text));
        }}
      />
    );
  } else if (s.type === "string") {
    input = (
      <input id={id} data-testid={id} type="text" value={typeof value === "string" ? value : ""} onChange={(e) => onChange(keys, nullable && e.target.value === "" ? null : e.target.value)} />
    );
  } else if (s.type === "array" && resolve(root, s.items ?? {}).type === "string") {
    const lines = Array.isArray(value) ? value.map(String).join("\n") : "";
    input = (
      <textarea
        id={id}
        data-testid={id}
        rows={3}
        placeholder="one per line"
        value={lines}
        onChange={(e) => onChange(keys, e.target.value.split("\n").map((l) => l.trim()).filter(Boolean))}
      />
    );
  } else {
    input = <JsonInput id={id} value={value} onChange={(v) => onChange(keys, v)} />;
  }
  const bounds =
    s.minimum !== undefined || s.maximum !== undefined ? `${s.minimum ?? "…"} – ${s.maximum ?? "…"}` : null;
  return (
    <div className={`setting ${fieldErrors?.length ? "invalid" : ""}`}>
      <label htmlFor={id}>{label}</label>
      <div className="setting-input">
        {input}
        {bounds ? <span className="bounds">{bounds}</span> : null}
      </div>
      {help ? <p className="help">{help}</p> : null}
      <Errors messages={fieldErrors} path={path} />
    </div>
  );
}

function JsonInput({ id, value, onChange }: { id: string; value: JsonValue; onChange: (v: JsonValue) => void }) {
  return (
    <textarea
      id={id}
      data-testid={id}
      rows={3}
      defaultValue={JSON.stringify(value, null, 1)}
      onBlur={(e) => {
        try {
          onChange(JSON.parse(e.target.value));
        } catch {
          onChange(e.target.value);
        }
      }}
    />
  );
}
