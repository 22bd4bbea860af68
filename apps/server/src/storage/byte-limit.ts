/**
 * Passes `body` through while it stays within `max` bytes; past it, throws what `tooLarge` makes
 * (so a stream into the object store stops, and stores nothing).
 */
export async function* withinBytes(
  body: AsyncIterable<Uint8Array>,
  max: number,
  tooLarge: () => Error,
): AsyncIterable<Uint8Array> {
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > max) {
      throw tooLarge();
    }
    yield chunk;
  }
}
