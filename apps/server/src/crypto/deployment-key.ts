import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { DataDirError } from '../db/data-dir.js';
import { deploymentKeyRepository } from '../repositories/system/deployment-key.repository.js';

const KEY_BYTES = 32;
const SEALED_PREFIX = 'v1.';

/** What a sealed secret is for; each purpose gets its own derived key. */
export type SealPurpose = 'totp' | 'instance-token';

/**
 * The deployment key: one secret per installation, kept in a file outside the database (so a
 * stolen database dump does not carry it), from which purpose keys are derived with HKDF-SHA256.
 * It seals secrets the server must read back (TOTP seeds) with AES-256-GCM, bound to the row they
 * belong to, and will key the pseudonyms of ingest.
 */
export class DeploymentKey {
  private constructor(private readonly key: Buffer) {}

  /** Reads the key file, making it (mode 0600) when it does not exist. */
  static async load(file: string): Promise<DeploymentKey> {
    const existing = await readFile(file, 'utf8').catch((error: unknown) => {
      if (error instanceof Error && 'code' in error && error.code === 'ENOENT') {
        return null;
      }
      throw new DataDirError(`cannot read the deployment key ${file}: ${String(error)}`);
    });
    if (existing !== null) {
      const key = Buffer.from(existing.trim(), 'base64');
      if (key.length < KEY_BYTES) {
        throw new DataDirError(
          `the deployment key ${file} must hold at least ${KEY_BYTES} random bytes in base64 (make one with: openssl rand -base64 32)`,
        );
      }
      return new DeploymentKey(key);
    }
    const key = randomBytes(KEY_BYTES);
    await mkdir(dirname(file), { recursive: true });
    // 'wx': never overwrite a key another process wrote in the meantime.
    await writeFile(file, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    return new DeploymentKey(key);
  }

  /** For tests: a key from bytes. */
  static fromBytes(key: Buffer): DeploymentKey {
    return new DeploymentKey(Buffer.from(key));
  }

  /**
   * Refuses to start with a key other than the one the database was set up with: secrets sealed
   * with the first key could not be read, and pseudonyms would stop matching.
   */
  async checkAgainst(db: Kysely<Database>, file: string): Promise<void> {
    const check = this.derive('check').toString('hex');
    const recorded = await deploymentKeyRepository.recordOrRead(db, check);
    const a = Buffer.from(recorded, 'hex');
    const b = Buffer.from(check, 'hex');
    if (a.length !== b.length || !timingSafeEqual(a, b)) {
      throw new DataDirError(
        `the deployment key ${file} is not the key this database was set up with; restore the original file (servers sharing a database must share it, see LANTERN_SECRET_KEY_FILE)`,
      );
    }
  }

  /** Encrypts `plaintext` for `purpose`, bound to `context` (e.g. the user id it belongs to). */
  seal(purpose: SealPurpose, context: string, plaintext: Buffer): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.derive(`seal:${purpose}`), iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return `${SEALED_PREFIX}${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  /** Decrypts what `seal` made for the same purpose and context; throws when it was altered. */
  open(purpose: SealPurpose, context: string, sealed: string): Buffer {
    if (!sealed.startsWith(SEALED_PREFIX)) {
      throw new Error('not a sealed secret');
    }
    const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url');
    const decipher = createDecipheriv(
      'aes-256-gcm',
      this.derive(`seal:${purpose}`),
      raw.subarray(0, 12),
    );
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]);
  }

  /**
   * The key of ingest's pseudonyms, date shifts and UID remapping: derived, so stable for the
   * deployment's life (the same patient gets the same id in every delivery), and never stored.
   */
  pseudonymKey(): Buffer {
    return this.derive('pseudonym');
  }

  /** A keyed hash for `purpose` (HMAC-SHA256 with a derived key). */
  hmac(purpose: string, data: string | Buffer): Buffer {
    return createHmac('sha256', this.derive(`hmac:${purpose}`))
      .update(data)
      .digest();
  }

  private derive(info: string): Buffer {
    return Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), `lantern ${info}`, KEY_BYTES));
  }
}
