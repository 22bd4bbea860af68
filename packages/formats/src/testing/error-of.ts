/**
 * Test helper (not built into dist): what an action throws, so that a test can assert on its class
 * and message; null when it throws nothing.
 */
export function errorOf(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return null;
}
