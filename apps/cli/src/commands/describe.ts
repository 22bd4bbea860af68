import type { ApiToken, SessionUser } from '@lantern/sdk';

/** "Ada Lovelace <ada@example.org>" */
export function describeUser(user: SessionUser): string {
  return user.name === user.email ? user.email : `${user.name} <${user.email}>`;
}

/** "admin, reviewer", or "none" (not admitted yet) */
export function describeRoles(user: SessionUser): string {
  return user.roles.length === 0 ? `none (${user.status})` : user.roles.join(', ');
}

/** "2026-05-01 (in 90 days)"; the time is in the ISO string for --json. */
export function describeExpiry(token: ApiToken, now = Date.now()): string {
  const left = Date.parse(token.expiresAt) - now;
  const days = Math.round(left / (24 * 60 * 60 * 1000));
  const date = token.expiresAt.slice(0, 10);
  if (token.revokedAt !== null) {
    return `${date} (revoked ${token.revokedAt.slice(0, 10)})`;
  }
  if (left <= 0) {
    return `${date} (expired)`;
  }
  return days < 1 ? `${date} (today)` : `${date} (in ${days} day${days === 1 ? '' : 's'})`;
}

/** Rows as lines of columns padded to their widest cell; the last column is not padded. */
export function tableLines(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((row) =>
    row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0))).join('  '),
  );
}

/** Prints rows as columns padded to their widest cell; the last column is not padded. */
export function printTable(rows: readonly (readonly string[])[]): void {
  for (const line of tableLines(rows)) {
    console.log(line);
  }
}

/** "1.2 MB" */
export function describeBytes(bytes: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit] ?? ''}`;
}
