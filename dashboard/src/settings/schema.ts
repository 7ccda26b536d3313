// The settings schema on the client: follow $refs, check values the way the server does (the
// server's word is final; this is for instant feedback), and turn edits into a merge patch.

import type { FieldError, JsonObject, JsonSchema, JsonValue } from "../api/types";

export function resolve(root: JsonSchema, schema: JsonSchema): JsonSchema {
  let current = schema;
  for (let hops = 0; current.$ref && hops < 32; hops++) {
    const name = current.$ref.replace(/^#\/\$defs\//, "");
    const target = root.$defs?.[name];
    if (!target) break;
    current = target;
  }
  return current;
}

/** The non-null branch of `anyOf: [X, null]`, and whether null is allowed. */
export function unwrapNullable(root: JsonSchema, schema: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const branches = schema.anyOf ?? schema.oneOf;
  if (branches) {
    const resolved = branches.map((b) => resolve(root, b));
    const nonNull = resolved.filter((b) => b.type !== "null");
    if (nonNull.length === 1 && nonNull.length < resolved.length) return { schema: nonNull[0], nullable: true };
  }
  return { schema, nullable: false };
}

export function joinPath(base: string, key: string | number): string {
  if (typeof key === "number") return `${base}[${key}]`;
  return base ? `${base}.${key}` : key;
}

function typeOf(value: JsonValue): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function typeOk(value: JsonValue, expected: string): boolean {
  const actual = typeOf(value);
  if (expected === "number") return actual === "integer" || actual === "number";
  return actual === expected;
}

/** Every problem with `value` under `schema`, with field paths like the server's. */
export function validate(root: JsonSchema, schema: JsonSchema, value: JsonValue, path = ""): FieldError[] {
  const s = resolve(root, schema);
  const where = path || "(document)";
  const out: FieldError[] = [];
  const fail = (message: string) => out.push({ path: where, message });
  const branches = s.anyOf ?? s.oneOf;
  if (branches) {
    const ok = branches.some((b) => validate(root, b, value, path).length === 0);
    if (!ok) {
      const { schema: inner, nullable } = unwrapNullable(root, s);
      if (nullable && value !== null) return validate(root, inner, value, path);
      fail("is not an allowed value");
    }
    return out;
  }
  if (s.type !== undefined) {
    const allowed = Array.isArray(s.type) ? s.type : [s.type];
    if (!allowed.some((t) => typeOk(value, t))) {
      fail(`must be ${allowed.join(" or ")}`);
      return out;
    }
  }
  if (s.enum && !s.enum.some((e) => e === value)) {
    fail(`must be one of ${s.enum.map((e) => JSON.stringify(e)).join(", ")}`);
    return out;
  }
  if (typeof value === "number") {
    if (s.minimum !== undefined && value < s.minimum) fail(`must be at least ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) fail(`must be at most ${s.maximum}`);
    if (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum) fail(`must be greater than ${s.exclusiveMinimum}`);
    if (s.exclusiveMaximum !== undefined && value >= s.exclusiveMaximum) fail(`must be less than ${s.exclusiveMaximum}`);
  } else if (typeof value === "string") {
    if (s.minLength !== undefined && value.length < s.minLength)
      fail(s.minLength === 1 ? "must not be empty" : `must be at least ${s.minLength} characters`);
    if (s.maxLength !== undefined && value.length > s.maxLength) fail(`must be at most ${s.maxLength} characters`);
    if (s.pattern !== undefined && !new RegExp(s.pattern).test(value)) fail(`must match ${s.pattern}`);
  } else if (Array.isArray(value)) {
    if (s.maxItems !== undefined && value.length > s.maxItems) fail(`must have at most ${s.maxItems} items`);
    if (s.minItems !== undefined && value.length < s.minItems) fail(`must have at least ${s.minItems} items`);
    if (s.items) value.forEach((item, i) => out.push(...validate(root, s.items!, item, joinPath(path, i))));
  } else if (value !== null && typeof value === "object") {
    for (const [key, item] of Object.entries(value)) {
      const prop = s.properties?.[key];
      if (prop) out.push(...validate(root, prop, item, joinPath(path, key)));
    }
  }
  return out;
}

/** A JSON merge patch (RFC 7386) that turns `before` into `after`. */
export function mergePatch(before: JsonValue, after: JsonValue): JsonValue | undefined {
  if (
    before !== null && after !== null &&
    typeof before === "object" && typeof after === "object" &&
    !Array.isArray(before) && !Array.isArray(after)
  ) {
    const patch: JsonObject = {};
    for (const key of Object.keys(before)) if (!(key in after)) patch[key] = null;
    for (const [key, value] of Object.entries(after)) {
      const inner = mergePatch((before as JsonObject)[key] ?? null, value);
      if (inner !== undefined) patch[key] = inner;
    }
    return Object.keys(patch).length ? patch : undefined;
  }
  return JSON.stringify(before) === JSON.stringify(after) ? undefined : after;
}

export function getAt(doc: JsonValue, keys: (string | number)[]): JsonValue {
  let current: JsonValue = doc;
  for (const key of keys) {
    if (current === null || typeof current !== "object") return null;
    current = (current as Record<string, JsonValue>)[key as string] ?? null;
  }
  return current;
}

export function setAt(doc: JsonValue, keys: (string | number)[], value: JsonValue): JsonValue {
  if (keys.length === 0) return value;
  const [head, ...rest] = keys;
  const base = (doc !== null && typeof doc === "object" ? doc : {}) as Record<string, JsonValue>;
  const copy: Record<string, JsonValue> = Array.isArray(base) ? ([...base] as never) : { ...base };
  copy[head as string] = setAt(base[head as string] ?? null, rest, value);
  return copy as JsonValue;
}

export function titleOf(key: string): string {
  const words = key.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}
