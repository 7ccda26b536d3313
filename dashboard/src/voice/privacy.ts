// The voice privacy code as members see it in Discord: the 30 digits in groups of five.

/** `"503848243406165..."` → `"50384 82434 06165 ..."` (a short last group stays short). */
export function groupPrivacyCode(code: string, size = 5): string {
  const digits = code.replace(/\s+/g, "");
  const groups: string[] = [];
  for (let i = 0; i < digits.length; i += size) groups.push(digits.slice(i, i + size));
  return groups.join(" ");
}
