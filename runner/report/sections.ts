/**
 * Sections of a published document that are rendered from other runs than the rest of it. A
 * section sits between `<!-- section:<id> -->` and `<!-- /section:<id> -->` lines; rendering the
 * section replaces what is between them, and rendering the whole document keeps what the
 * previous file held there, so each part can be re-rendered from its own runs.
 */

const opening = (id: string) => `<!-- section:${id} -->`;
const closing = (id: string) => `<!-- /section:${id} -->`;

/** Where the body of section `id` starts and ends in `text`; throws unless both markers occur once, in order. */
function bounds(text: string, id: string, what: string): { start: number; end: number } {
  const count = (marker: string) => text.split(marker).length - 1;
  if (count(opening(id)) !== 1 || count(closing(id)) !== 1)
    throw new Error(`${what} must hold ${opening(id)} and ${closing(id)} once each`);
  const start = text.indexOf(opening(id)) + opening(id).length;
  const end = text.indexOf(closing(id));
  if (end < start) throw new Error(`${what}: ${closing(id)} comes before ${opening(id)}`);
  return { start, end };
}

/** The ids of every section in `text`, in order. */
export function sectionIds(text: string): string[] {
  return [...text.matchAll(/<!-- section:([\w-]+) -->/g)].map((m) => m[1]);
}

/** `text` with the body of section `id` replaced by `body` (markers kept, each on its own line). */
export function replaceSection(text: string, id: string, body: string, what = 'the document'): string {
  const { start, end } = bounds(text, id, what);
  return `${text.slice(0, start)}\n${body.trim()}\n${text.slice(end)}`;
}

/** The body of section `id` in `text`, without the markers' line breaks. */
export function sectionBody(text: string, id: string, what = 'the document'): string {
  const { start, end } = bounds(text, id, what);
  return text.slice(start, end).trim();
}

/**
 * `rendered` (a whole document just rendered) with each of its sections' bodies taken from
 * `previous` (the file it replaces), where `previous` has that section.
 */
export function carrySections(previous: string, rendered: string): string {
  let out = rendered;
  for (const id of sectionIds(rendered))
    if (sectionIds(previous).includes(id)) out = replaceSection(out, id, sectionBody(previous, id));
  return out;
}
