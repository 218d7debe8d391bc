/**
 * HTML built with a tagged template that escapes every interpolated value
 * unless it is already Html (made by this same tag): names, reasons and caps
 * come from other parties, so nothing reaches a page unescaped by accident.
 * Values go into element text or double-quoted attributes only, never into
 * a script or style.
 */

/** Markup that is already safe to insert. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** & < > " ' as character references: safe in text and in quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function fragment(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(fragment).join('\n');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/** html`<p>${name}</p>`: strings escaped, Html kept, arrays joined by newlines, null/undefined/false left out. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((v, i) => (out += fragment(v) + strings[i + 1]!));
  return new Html(out);
}
