import { createHash, randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
  UploadPartCopyCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import {
  isObjectKey,
  objectKeyHex,
  openHashedFile,
  type ComponentCheck,
  type HashedFile,
  type ListedObject,
  type ObjectStore,
  type StoredObject,
} from './object-store.js';

/** Where the S3 store's bucket is and who it signs requests as. */
export interface S3StoreOptions {
  /** The server's URL (Ceph RGW, MinIO …); AWS S3 when absent. Addressed path-style when given. */
  endpoint: string | undefined;
  bucket: string;
  region: string;
  /** Static keys; the SDK's default chain (environment, instance role) when absent. */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  /**
   * Bytes held in memory per upload, and so the size of each multipart part (S3 wants at least
   * 5 MiB but for the last, and at most 10,000 parts: 16 MiB parts allow 160 GB objects).
   */
  partBytes?: number;
  /** Largest object moved by one CopyObject (S3's limit is 5 GiB); larger ones are copied in parts. */
  singleCopyMaxBytes?: number;
  /** The size of each part of a copy in parts. */
  copyPartBytes?: number;
  /**
   * Put before every name in the bucket (`quarantine/`): a separate store under the same keys in
   * the same bucket, as ingest's quarantine is. Default none.
   */
  keyPrefix?: string;
}

const MIB = 1024 * 1024;
const S3_MIN_PART_BYTES = 5 * MIB;
/** The largest object one PutObject stores (S3's limit). */
const SINGLE_PUT_MAX_BYTES = 5 * 1024 * MIB;
/** Staged uploads older than this are a crashed process's leftovers, swept by init(). */
const STAGING_MAX_AGE_MS = 24 * 60 * 60 * 1000;
const STAGING = 'staging/';
const KEY_PREFIX = /^([a-z0-9-]+\/)?$/u;

/**
 * Objects in an S3 bucket (AWS S3, Ceph RGW), under the same keys as the local store:
 * `sha256/<64 hex digits>`.
 *
 * How a put stays content-addressed without knowing the key before the last byte: bytes are
 * hashed as they arrive and held up to one part (`partBytes`, 16 MiB by default). A body that ends
 * within one part is hashed by then, so it goes to its final key in one PutObject. A longer one
 * is streamed part by part into a multipart upload under a staging key (`staging/<uuid>`), which
 * is completed at the end, copied server-side to its final key and deleted. S3 fixes an upload's key when it starts, so a copy is the only way
 * to name it by a hash learned at the end; it costs no transfer (Ceph RGW shares the data between
 * the two keys) and the final key appears whole or not at all. A body that fails aborts the upload,
 * so no part or staging object remains; one a crash interrupts is swept on the next start.
 *
 * A put of bytes the bucket already holds writes them again (the same bytes under the same key),
 * so that their LastModified, list()'s storedAt, is renewed: the unreferenced-object sweep keeps
 * what was put within its grace period, and must not take a repeat for an old leftover.
 */
export class S3ObjectStore implements ObjectStore {
  readonly kind = 's3';
  readonly bucket: string;
  readonly client: S3Client;
  private readonly endpoint: string | undefined;
  private readonly partBytes: number;
  private readonly singleCopyMaxBytes: number;
  private readonly copyPartBytes: number;
  /** Before every name in the bucket: '' for the published store, `quarantine/` for ingest's. */
  private readonly prefix: string;

  constructor(options: S3StoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.keyPrefix ?? '';
    if (!KEY_PREFIX.test(this.prefix)) {
      throw new Error('keyPrefix must be lower-case letters, digits and dashes ending in a slash');
    }
    this.endpoint = options.endpoint;
    this.partBytes = atLeastMinPart(options.partBytes ?? 16 * MIB, 'partBytes');
    this.copyPartBytes = atLeastMinPart(options.copyPartBytes ?? 1024 * MIB, 'copyPartBytes');
    this.singleCopyMaxBytes = options.singleCopyMaxBytes ?? 5 * 1024 * MIB;
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint === undefined
        ? {}
        : { endpoint: options.endpoint, forcePathStyle: true }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      // Checksums only where S3 requires them: servers other than AWS (Ceph RGW before Squid)
      // refuse the trailing checksums the SDK adds by default; SHA-256 is checked here anyway.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  /** Creates the bucket when it does not exist, and sweeps what crashed uploads left behind. */
  async init(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      if (!isNotFound(error)) {
        throw error;
      }
      try {
        await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
      } catch (createError) {
        // Another server sharing the bucket made it first.
        if (
          !(createError instanceof S3ServiceException) ||
          createError.name !== 'BucketAlreadyOwnedByYou'
        ) {
          throw createError;
        }
      }
    }
    await this.sweepStaging(new Date(Date.now() - STAGING_MAX_AGE_MS));
  }

  get location(): string {
    return `bucket ${this.bucket}${this.prefix === '' ? '' : ` (${this.prefix})`}${this.endpoint === undefined ? ' on AWS S3' : ` at ${this.endpoint}`}`;
  }

  async check(): Promise<ComponentCheck> {
    const where = this.location;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return { ok: true, detail: `S3 ${where}` };
    } catch (error) {
      return {
        ok: false,
        detail: `cannot reach the S3 ${where} (${describeS3Error(error)}); check LANTERN_S3_* and that the server is up`,
      };
    }
  }

  async put(body: AsyncIterable<Uint8Array>): Promise<StoredObject> {
    const hash = createHash('sha256');
    let size = 0;
    // Up to one part's worth of bytes, filled from the body and sent when full, then reused; it
    // grows as bytes come, so a small object never holds a whole part's memory.
    let part = Buffer.allocUnsafe(Math.min(64 * 1024, this.partBytes));
    let filled = 0;
    let upload: MultipartUpload | null = null;
    try {
      for await (const chunk of body) {
        hash.update(chunk);
        size += chunk.byteLength;
        for (let offset = 0; offset < chunk.byteLength;) {
          const taken = Math.min(chunk.byteLength - offset, this.partBytes - filled);
          if (filled + taken > part.byteLength) {
            const grown = Buffer.allocUnsafe(
              Math.min(this.partBytes, Math.max(2 * part.byteLength, filled + taken)),
            );
            part.copy(grown, 0, 0, filled);
            part = grown;
          }
          part.set(chunk.subarray(offset, offset + taken), filled);
          filled += taken;
          offset += taken;
          if (filled === this.partBytes) {
            upload ??= await this.startUpload();
            // Awaited before reading on, so a fast client waits for the server.
            await upload.add(part);
            filled = 0;
          }
        }
      }
    } catch (error) {
      await upload?.abort();
      throw error;
    }
    const sha256 = hash.digest('hex');
    const key = `sha256/${sha256}`;
    if (upload === null) {
      await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: part.subarray(0, filled),
        }),
      );
      return { key, sha256, size };
    }
    try {
      if (filled > 0) {
        await upload.add(part.subarray(0, filled));
      }
      await upload.complete();
    } catch (error) {
      await upload.abort();
      throw error;
    }
    try {
      await this.copy(upload.key, this.prefix + key, size);
    } finally {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: upload.key }));
    }
    return { key, sha256, size };
  }

  async putFile(file: HashedFile): Promise<StoredObject> {
    const handle = await openHashedFile(file);
    if (file.size > SINGLE_PUT_MAX_BYTES) {
      // Beyond one PutObject: in parts, hashed again as it is sent (the stream closes the file),
      // the hash checked here.
      const stored = await this.put(handle.createReadStream({ highWaterMark: 1 << 20 }));
      if (stored.sha256 !== file.sha256) {
        throw wrongHash(file);
      }
      return stored;
    }
    const key = `sha256/${file.sha256}`;
    try {
      const command = new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.prefix + key,
        Body: handle.createReadStream({ highWaterMark: 1 << 20, autoClose: false }),
        ContentLength: file.size,
      });
      // The maker's hash is the request's signed payload hash (SigV4's x-amz-content-sha256):
      // the server hashes the body as it takes it and refuses the whole request, storing nothing,
      // when they differ; neither the SDK nor this process hashes the bytes again. A PutObject
      // appears whole or not at all, so the object goes straight to its key.
      command.middlewareStack.add(
        (next) => async (args) => {
          if (hasHeaders(args.request)) {
            args.request.headers['x-amz-content-sha256'] = file.sha256;
          }
          return next(args);
        },
        { step: 'build', name: 'lanternSignedPayloadHash' },
      );
      await this.client.send(command);
    } catch (error) {
      if (error instanceof S3ServiceException && error.name === 'XAmzContentSHA256Mismatch') {
        throw wrongHash(file);
      }
      throw error;
    } finally {
      await handle.close();
    }
    return { key, sha256: file.sha256, size: file.size };
  }

  async get(key: string): Promise<{ body: Readable; size: number } | null> {
    objectKeyHex(key);
    try {
      const got = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
      // In Node the SDK's body is the HTTP response, a Readable.
      return {
        body: got.Body as Readable,
        size: required(got.ContentLength, 'Content-Length'),
      };
    } catch (error) {
      if (isNotFound(error)) {
        return null;
      }
      throw error;
    }
  }

  async head(key: string): Promise<{ size: number } | null> {
    objectKeyHex(key);
    try {
      const got = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
      return { size: required(got.ContentLength, 'Content-Length') };
    } catch (error) {
      if (isNotFound(error)) {
        return null;
      }
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    objectKeyHex(key);
    // S3 answers 204 for a key that does not exist.
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
    );
  }

  async *list(): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: `${this.prefix}sha256/`,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        const key = object.Key?.slice(this.prefix.length);
        if (key !== undefined && isObjectKey(key) && object.LastModified !== undefined) {
          yield { key, size: object.Size ?? 0, storedAt: object.LastModified };
        }
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  sweepIncomplete(before: Date): Promise<number> {
    return this.sweepStaging(before);
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }

  /**
   * Aborts the multipart uploads and deletes the staging objects begun before `before`: what a
   * process killed mid-put left. Later ones may belong to a server still uploading. Returns how
   * many uploads and objects it removed.
   */
  async sweepStaging(before: Date): Promise<number> {
    let removed = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      const page = await this.client.send(
        new ListMultipartUploadsCommand({
          Bucket: this.bucket,
          Prefix: this.prefix + STAGING,
          KeyMarker: keyMarker,
          UploadIdMarker: uploadIdMarker,
        }),
      );
      for (const upload of page.Uploads ?? []) {
        if (
          upload.Key !== undefined &&
          upload.UploadId !== undefined &&
          upload.Initiated !== undefined &&
          upload.Initiated < before
        ) {
          await this.client.send(
            new AbortMultipartUploadCommand({
              Bucket: this.bucket,
              Key: upload.Key,
              UploadId: upload.UploadId,
            }),
          );
          removed += 1;
        }
      }
      if (page.IsTruncated !== true) {
        break;
      }
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({
          Bucket: this.bucket,
          Prefix: this.prefix + STAGING,
          ContinuationToken: token,
        }),
      );
      for (const object of page.Contents ?? []) {
        if (
          object.Key !== undefined &&
          object.LastModified !== undefined &&
          object.LastModified < before
        ) {
          await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: object.Key }));
          removed += 1;
        }
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return removed;
  }

  private async startUpload(): Promise<MultipartUpload> {
    const key = `${this.prefix}${STAGING}${randomUUID()}`;
    const started = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key }),
    );
    return new MultipartUpload(
      this.client,
      this.bucket,
      key,
      required(started.UploadId, 'UploadId'),
    );
  }

  /** Copies `from` to `to` within the bucket: in one request, or in parts when it is too large. */
  private async copy(from: string, to: string, size: number): Promise<void> {
    const source = `${this.bucket}/${from}`;
    if (size <= this.singleCopyMaxBytes) {
      await this.client.send(
        new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }),
      );
      return;
    }
    const started = await this.client.send(
      new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }),
    );
    const uploadId = required(started.UploadId, 'UploadId');
    const parts: CompletedPart[] = [];
    try {
      for (let offset = 0; offset < size; offset += this.copyPartBytes) {
        const last = Math.min(offset + this.copyPartBytes, size) - 1;
        const copied = await this.client.send(
          new UploadPartCopyCommand({
            Bucket: this.bucket,
            Key: to,
            UploadId: uploadId,
            PartNumber: parts.length + 1,
            CopySource: source,
            CopySourceRange: `bytes=${offset}-${last}`,
          }),
        );
        parts.push({
          PartNumber: parts.length + 1,
          ETag: required(copied.CopyPartResult?.ETag, 'ETag'),
        });
      }
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: to,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
        }),
      );
    } catch (error) {
      await this.client
        .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId: uploadId }))
        .catch(() => undefined);
      throw error;
    }
  }
}

/** One multipart upload under a staging key, its parts sent one at a time. */
class MultipartUpload {
  private readonly parts: CompletedPart[] = [];

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    readonly key: string,
    private readonly uploadId: string,
  ) {}

  async add(bytes: Buffer): Promise<void> {
    const partNumber = this.parts.length + 1;
    const sent = await this.client.send(
      new UploadPartCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        PartNumber: partNumber,
        Body: bytes,
        ContentLength: bytes.byteLength,
      }),
    );
    this.parts.push({ PartNumber: partNumber, ETag: required(sent.ETag, 'ETag') });
  }

  async complete(): Promise<void> {
    await this.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: this.bucket,
        Key: this.key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: this.parts },
      }),
    );
  }

  /** Discards the parts sent; never throws (the caller is already handling a failure). */
  async abort(): Promise<void> {
    await this.client
      .send(
        new AbortMultipartUploadCommand({
          Bucket: this.bucket,
          Key: this.key,
          UploadId: this.uploadId,
        }),
      )
      .catch(() => undefined);
  }
}

/** A made file whose bytes are not those its maker's hash names. */
function wrongHash(file: HashedFile): Error {
  return new Error(`the file's bytes do not have the SHA-256 ${file.sha256} given`);
}

/** An HTTP request the SDK builds (its HttpRequest), whose headers a middleware may set. */
function hasHeaders(request: unknown): request is { headers: Record<string, string> } {
  return (
    typeof request === 'object' &&
    request !== null &&
    'headers' in request &&
    typeof request.headers === 'object' &&
    request.headers !== null
  );
}

function atLeastMinPart(bytes: number, name: string): number {
  if (!Number.isSafeInteger(bytes) || bytes < S3_MIN_PART_BYTES) {
    throw new Error(`${name} must be a whole number of bytes, at least 5 MiB`);
  }
  return bytes;
}

function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) {
    throw new Error(`the S3 server's answer has no ${what}`);
  }
  return value;
}

/**
 * A missing key (or, for HeadBucket, bucket): HEAD answers a bare 404, GetObject NoSuchKey. A
 * GetObject in a bucket that is gone is an error, not a missing object.
 */
function isNotFound(error: unknown): boolean {
  return (
    error instanceof S3ServiceException &&
    error.name !== 'NoSuchBucket' &&
    (error.$metadata.httpStatusCode === 404 ||
      error.name === 'NoSuchKey' ||
      error.name === 'NotFound')
  );
}

/** An error's S3 code and status, or its network code; never the request (which is signed). */
export function describeS3Error(error: unknown): string {
  if (error instanceof S3ServiceException) {
    const status = error.$metadata.httpStatusCode;
    // A HEAD request's error has no body, so no S3 code: name it by its status.
    const name = error.name === 'Unknown' ? (STATUS_NAMES[status ?? 0] ?? 'Unknown') : error.name;
    return `${name}, HTTP ${status ?? '?'}`;
  }
  if (error instanceof Error && 'code' in error) {
    return String(error.code);
  }
  return error instanceof Error ? error.name : 'error';
}

const STATUS_NAMES: Record<number, string> = {
  301: 'PermanentRedirect',
  400: 'BadRequest',
  403: 'Forbidden',
  404: 'NotFound',
};
