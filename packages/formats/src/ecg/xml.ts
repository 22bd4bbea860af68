/**
 * A small, safe XML reader (a subset of XML 1.0, W3C REC-xml 5th edition) for the XML that ECG
 * carts and archives write: elements, attributes, text, CDATA, comments and processing
 * instructions, in UTF-8 or ISO-8859-1.
 *
 * What makes XML dangerous to read is refused or ignored: a document type declaration may name an
 * external DTD (GE MUSE files do) but it is never fetched, and one with an internal subset — where
 * "billion laughs" entity expansions and external entities live — is an error; the only entity
 * references are the five predefined ones (&lt; &gt; &amp; &quot; &apos;) and character
 * references. The document's size, its depth and its number of elements are bounded.
 */
import { FormatError } from '../format-error.js';

export interface XmlElement {
  name: string;
  attributes: Map<string, string>;
  children: XmlElement[];
  /** The element's own text (its character data and CDATA, not its children's), decoded. */
  text: string;
  /** Byte offset of the element's "<". */
  offset: number;
}

export interface XmlOptions {
  /** The file's name, for error messages. */
  name: string;
  /** The largest document, in bytes. Default 64 MiB. */
  maxBytes?: number;
  /** The deepest nesting of elements. Default 64. */
  maxDepth?: number;
  /** The most elements. Default 200,000. */
  maxElements?: number;
}

export const XML_DEFAULT_LIMITS = {
  maxBytes: 64 * 1024 * 1024,
  maxDepth: 64,
  maxElements: 200_000,
} as const;

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const NAME = /[A-Za-z_:\u00c0-\uffff][-A-Za-z0-9_:.\u00b7\u00c0-\uffff]*/uy;

/** Parses a document and returns its root element; every problem is a `FormatError`. */
export function parseXml(bytes: Uint8Array, options: XmlOptions): XmlElement {
  const limits = { ...XML_DEFAULT_LIMITS, ...options };
  if (bytes.length > limits.maxBytes) {
    throw new FormatError(
      'limit_exceeded',
      `the document is ${bytes.length} bytes, more than the limit of ${limits.maxBytes}`,
      { file: options.name, offset: limits.maxBytes },
    );
  }
  const { text, isByteIndexed, bomBytes } = decodeDocument(bytes, options.name);
  const byteOffset = (at: number) =>
    bomBytes + (isByteIndexed ? at : new TextEncoder().encode(text.slice(0, at)).length);
  const fail = (
    detail: string,
    at: number,
    code: 'invalid_xml' | 'limit_exceeded' = 'invalid_xml',
  ) => new FormatError(code, detail, { file: options.name, offset: byteOffset(at) });

  const decodeText = (raw: string, start: number): string =>
    raw.includes('&')
      ? raw.replace(
          /&([^;&<]{0,12});|&/gu,
          (match: string, ref: string | undefined, index: number) => {
            const at = start + index;
            if (ref === undefined) {
              throw fail('a "&" that begins no reference', at);
            }
            const predefined = PREDEFINED[ref];
            if (predefined !== undefined) {
              return predefined;
            }
            const numeric = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/u.exec(ref);
            const code =
              numeric === null
                ? NaN
                : parseInt(numeric[1] ?? numeric[2] ?? '', numeric[1] ? 16 : 10);
            if (!Number.isNaN(code)) {
              if (
                (code < 0x20 && code !== 0x9 && code !== 0xa && code !== 0xd) ||
                code > 0x10ffff ||
                (code >= 0xd800 && code <= 0xdfff)
              ) {
                throw fail(`the character reference ${match} is not a character`, at);
              }
              return String.fromCodePoint(code);
            }
            throw fail(
              `the entity ${match} is not one of the five XML predefines (entities are refused)`,
              at,
            );
          },
        )
      : raw;

  const stack: { element: XmlElement; texts: string[] }[] = [];
  let root: XmlElement | undefined;
  let elements = 0;
  let at = 0;
  while (at < text.length) {
    const lt = text.indexOf('<', at);
    const end = lt < 0 ? text.length : lt;
    if (end > at) {
      const raw = text.slice(at, end);
      const top = stack[stack.length - 1];
      if (top !== undefined) {
        top.texts.push(decodeText(raw, at));
      } else if (raw.trim() !== '') {
        throw fail('text outside the root element', at);
      }
    }
    if (lt < 0) {
      break;
    }
    at = lt;
    if (text.startsWith('<!--', at)) {
      const close = text.indexOf('-->', at + 4);
      if (close < 0) {
        throw fail('a comment is not closed', at);
      }
      at = close + 3;
    } else if (text.startsWith('<?', at)) {
      const close = text.indexOf('?>', at + 2);
      if (close < 0) {
        throw fail('a processing instruction is not closed', at);
      }
      at = close + 2;
    } else if (text.startsWith('<![CDATA[', at)) {
      const close = text.indexOf(']]>', at + 9);
      const top = stack[stack.length - 1];
      if (close < 0 || top === undefined) {
        throw fail(close < 0 ? 'a CDATA section is not closed' : 'CDATA outside the root', at);
      }
      top.texts.push(text.slice(at + 9, close));
      at = close + 3;
    } else if (text.startsWith('<!DOCTYPE', at)) {
      if (root !== undefined || stack.length > 0) {
        throw fail('a document type declaration after the root element began', at);
      }
      const close = text.indexOf('>', at);
      const bracket = text.indexOf('[', at);
      if (bracket >= 0 && (close < 0 || bracket < close)) {
        throw fail('a DTD internal subset (where entities are declared) is refused', bracket);
      }
      if (close < 0) {
        throw fail('a document type declaration is not closed', at);
      }
      at = close + 1; // an external DTD is named, never fetched
    } else if (text.startsWith('<!', at)) {
      throw fail('a markup declaration outside a DTD', at);
    } else if (text.startsWith('</', at)) {
      NAME.lastIndex = at + 2;
      const name = NAME.exec(text)?.[0];
      const top = stack.pop();
      if (name === undefined || top === undefined || top.element.name !== name) {
        throw fail(
          top === undefined
            ? 'a closing tag without an open element'
            : `</${name ?? ''}> closes <${top.element.name}>`,
          at,
        );
      }
      at = skipSpaces(text, at + 2 + name.length);
      if (text.charAt(at) !== '>') {
        throw fail(`</${name}> is not closed by ">"`, at);
      }
      at++;
      top.element.text = top.texts.join('');
    } else {
      const start = at;
      NAME.lastIndex = at + 1;
      const name = NAME.exec(text)?.[0];
      if (name === undefined) {
        throw fail('a "<" that begins no element', at);
      }
      if (root !== undefined && stack.length === 0) {
        throw fail('a second root element', at);
      }
      if (stack.length >= limits.maxDepth) {
        throw fail(
          `elements nest deeper than the limit of ${limits.maxDepth}`,
          at,
          'limit_exceeded',
        );
      }
      elements++;
      if (elements > limits.maxElements) {
        throw fail(`more elements than the limit of ${limits.maxElements}`, at, 'limit_exceeded');
      }
      const element: XmlElement = {
        name,
        attributes: new Map(),
        children: [],
        text: '',
        offset: byteOffset(start),
      };
      at += 1 + name.length;
      let selfClosing = false;
      for (;;) {
        const before = at;
        at = skipSpaces(text, at);
        if (text.startsWith('/>', at)) {
          selfClosing = true;
          at += 2;
          break;
        }
        if (text.charAt(at) === '>') {
          at++;
          break;
        }
        NAME.lastIndex = at;
        const attribute = NAME.exec(text)?.[0];
        if (attribute === undefined || before === at) {
          throw fail(`a malformed attribute in <${name}>`, at);
        }
        at = skipSpaces(text, at + attribute.length);
        if (text.charAt(at) !== '=') {
          throw fail(`the attribute ${attribute} has no value`, at);
        }
        at = skipSpaces(text, at + 1);
        const quote = text.charAt(at);
        const close = quote === '"' || quote === "'" ? text.indexOf(quote, at + 1) : -1;
        if (close < 0) {
          throw fail(`the value of ${attribute} is not quoted and closed`, at);
        }
        const value = text.slice(at + 1, close);
        if (value.includes('<')) {
          throw fail(`the value of ${attribute} contains "<"`, at);
        }
        if (element.attributes.has(attribute)) {
          throw fail(`<${name}> repeats the attribute ${attribute}`, at);
        }
        element.attributes.set(attribute, decodeText(value, at + 1));
        at = close + 1;
      }
      const parent = stack[stack.length - 1];
      if (parent === undefined) {
        root = element;
      } else {
        parent.element.children.push(element);
      }
      if (!selfClosing) {
        stack.push({ element, texts: [] });
      }
    }
  }
  const open = stack[stack.length - 1];
  if (open !== undefined) {
    throw fail(`<${open.element.name}> is not closed at the end of the document`, text.length);
  }
  if (root === undefined) {
    throw fail('the document has no root element', text.length);
  }
  return root;
}

/** The first child named `name`, or undefined. */
export function childOf(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((child) => child.name === name);
}

/** The trimmed text of the first child named `name`, or undefined. */
export function childText(element: XmlElement, name: string): string | undefined {
  return childOf(element, name)?.text.trim();
}

/** Escapes text for an XML element or a double-quoted attribute. */
export function escapeXml(value: string): string {
  return value.replace(
    /[<>&"']/gu,
    (char) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[char] ?? ''};`,
  );
}

function skipSpaces(text: string, at: number): number {
  let i = at;
  while (i < text.length && ' \t\r\n'.includes(text.charAt(i))) {
    i++;
  }
  return i;
}

/**
 * The document's characters: UTF-8 unless its XML declaration names ISO-8859-1 (or US-ASCII), which
 * GE MUSE writes; other encodings (UTF-16 …) are refused rather than misread.
 */
function decodeDocument(
  bytes: Uint8Array,
  file: string,
): { text: string; isByteIndexed: boolean; bomBytes: number } {
  const bomBytes = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  const body = bytes.subarray(bomBytes);
  const head = new TextDecoder('latin1').decode(body.subarray(0, 256));
  const declared = /^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']/u
    .exec(head)?.[1]
    ?.toLowerCase();
  if (bomBytes === 0 && (body[0] === 0xfe || body[0] === 0xff || body[0] === 0)) {
    throw new FormatError('invalid_xml', 'UTF-16 and UTF-32 documents are not read', {
      file,
      offset: 0,
    });
  }
  if (
    declared !== undefined &&
    ['iso-8859-1', 'latin1', 'latin-1', 'us-ascii', 'ascii'].includes(declared)
  ) {
    return { text: new TextDecoder('latin1').decode(body), isByteIndexed: true, bomBytes };
  }
  if (declared !== undefined && declared !== 'utf-8' && declared !== 'utf8') {
    throw new FormatError(
      'invalid_xml',
      `the encoding ${declared} is not read (UTF-8 or ISO-8859-1)`,
      {
        file,
        offset: bomBytes,
      },
    );
  }
  try {
    return {
      text: new TextDecoder('utf-8', { fatal: true }).decode(body),
      isByteIndexed: false,
      bomBytes,
    };
  } catch {
    throw new FormatError('invalid_utf8', 'the document is not valid UTF-8', {
      file,
      offset: bomBytes,
    });
  }
}

export interface XmlWriteOptions {
  /** A document type declaration written after the XML declaration ("<!DOCTYPE RestingECG …>"). */
  doctype?: string;
}

/**
 * Writes an element tree as an XML document (what `parseXml` reads back into the same tree):
 * ISO-8859-1 declared, every character outside printable ASCII written as a character reference,
 * attributes and text escaped, children indented by two spaces. An element's own text comes before
 * its children (the reader does not keep where mixed text stood); comments and processing
 * instructions are not in the tree and are not written.
 */
export function writeXml(root: XmlElement, options: XmlWriteOptions = {}): Uint8Array {
  const lines = ['<?xml version="1.0" encoding="ISO-8859-1"?>'];
  if (options.doctype !== undefined) {
    lines.push(options.doctype);
  }
  const write = (element: XmlElement, indent: string): void => {
    const attributes = [...element.attributes]
      .map(([name, value]) => ` ${name}="${escapeXml(value)}"`)
      .join('');
    const open = `${indent}<${element.name}${attributes}>`;
    if (element.children.length === 0) {
      lines.push(`${open}${escapeXml(element.text)}</${element.name}>`);
      return;
    }
    const text = element.text.trim();
    lines.push(text === '' ? open : `${open}${escapeXml(text)}`);
    for (const child of element.children) {
      write(child, `${indent}  `);
    }
    lines.push(`${indent}</${element.name}>`);
  };
  write(root, '');
  lines.push('');
  const text = lines
    .join('\n')
    .replace(/[^\t\n\r -~]/gu, (char) => `&#${char.codePointAt(0) ?? 63};`);
  return new TextEncoder().encode(text);
}
