/**
 * The one class of every data element Lantern makes, read (parse.ts) or built (write.ts). Not
 * exported from the package: callers see the `DicomElement` interface.
 */
import { isPrivateTag, type Vr } from './dictionary.js';
import type { DicomDataset, DicomElement } from './parse.js';

/**
 * One class, so that every element has the same shape: the parser makes tens of thousands a
 * second, and the code that reads them (the rules, the writer) stays monomorphic, where elements
 * of several shapes (object literals, spread copies) made its property loads megamorphic. Every
 * field is its own property, so that a copy made by spreading one (`{ ...element, items }`) has
 * them all.
 */
export class ElementRecord implements DicomElement {
  readonly isPrivate: boolean;

  constructor(
    readonly tag: number,
    readonly vr: Vr,
    readonly keyword: string | null,
    readonly offset: number,
    readonly bytes: Uint8Array,
    readonly items: readonly DicomDataset[] | null,
    readonly encapsulated: DicomElement['encapsulated'],
  ) {
    this.isPrivate = isPrivateTag(tag);
  }
}

/** A copy of an element with another value: its bytes, or a sequence's items. */
export function withValue(
  element: DicomElement,
  value: { bytes: Uint8Array } | { items: readonly DicomDataset[] },
): ElementRecord {
  const { tag, vr, keyword, offset } = element;
  return 'items' in value
    ? new ElementRecord(tag, vr, keyword, offset, element.bytes, value.items, element.encapsulated)
    : new ElementRecord(tag, vr, keyword, offset, value.bytes, element.items, element.encapsulated);
}
