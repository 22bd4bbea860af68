import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from './config.js';

describe('parseConfig', () => {
  it('has the documented defaults', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 8080,
      databaseUrl: undefined,
      logLevel: 'info',
      objectStore: 'local',
      computeBackend: 'local',
    });
    expect(config.dataDir).toMatch(/\/\.lantern$/);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads LANTERN_* variables, and flags win over them', () => {
    const config = parseConfig(
      {
        LANTERN_PORT: '9000',
        LANTERN_HOST: '0.0.0.0',
        LANTERN_DATABASE_URL: 'postgresql://u:p@db/lantern',
        LANTERN_DATA_DIR: '/srv/a',
      },
      { port: '9100', dataDir: '/srv/b' },
    );
    expect(config).toMatchObject({
      port: 9100,
      host: '0.0.0.0',
      dataDir: '/srv/b',
      databaseUrl: 'postgresql://u:p@db/lantern',
    });
  });

  it('treats an empty variable as unset', () => {
    expect(parseConfig({ LANTERN_DATABASE_URL: '', LANTERN_PORT: '' })).toMatchObject({
      databaseUrl: undefined,
      port: 8080,
    });
  });

  it('lists every problem at once', () => {
    let error: unknown;
    try {
      parseConfig({
        LANTERN_PORT: '70000',
        LANTERN_DATABASE_URL: 'mysql://x',
        LANTERN_LOG_LEVEL: 'loud',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    expect(problems).toMatch(/LANTERN_PORT/);
    expect(problems).toMatch(/LANTERN_DATABASE_URL: must be a postgres/);
    expect(problems).toMatch(/LANTERN_LOG_LEVEL/);
  });

  it('refuses a port that is not a whole number', () => {
    expect(() => parseConfig({}, { port: '80.5' })).toThrow(/LANTERN_PORT: must be a whole number/);
    expect(() => parseConfig({}, { port: 'http' })).toThrow(/LANTERN_PORT/);
  });

  it('chooses an S3 object store, which wants a bucket and whole credentials', () => {
    expect(parseConfig({}).s3).toBeUndefined();
    const config = parseConfig({
      LANTERN_OBJECT_STORE: 's3',
      LANTERN_S3_ENDPOINT: 'http://127.0.0.1:7480/',
      LANTERN_S3_BUCKET: 'lantern-objects',
      LANTERN_S3_ACCESS_KEY_ID: 'AKEXAMPLE',
      LANTERN_S3_SECRET_ACCESS_KEY_FILE: '/run/secrets/s3',
    });
    expect(config.objectStore).toBe('s3');
    expect(config.s3).toEqual({
      endpoint: 'http://127.0.0.1:7480',
      bucket: 'lantern-objects',
      region: 'us-east-1',
      accessKeyId: 'AKEXAMPLE',
      secretAccessKey: undefined,
      secretAccessKeyFile: '/run/secrets/s3',
    });
    // No static keys: the AWS SDK's own chain (environment, instance role).
    expect(parseConfig({ LANTERN_OBJECT_STORE: 's3', LANTERN_S3_BUCKET: 'b-1' }).s3).toMatchObject({
      endpoint: undefined,
      accessKeyId: undefined,
    });
    const problems = (env: Record<string, string>) => {
      try {
        parseConfig({ LANTERN_OBJECT_STORE: 's3', ...env });
      } catch (error) {
        return (error as ConfigError).problems.join('\n');
      }
      return '';
    };
    expect(problems({})).toMatch(/LANTERN_S3_BUCKET: is required/);
    expect(problems({ LANTERN_S3_BUCKET: 'Bad_Bucket' })).toMatch(/LANTERN_S3_BUCKET: must be/);
    expect(problems({ LANTERN_S3_BUCKET: 'b-1', LANTERN_S3_ENDPOINT: 'ftp://x' })).toMatch(
      /LANTERN_S3_ENDPOINT: must be an http/,
    );
    expect(problems({ LANTERN_S3_BUCKET: 'b-1', LANTERN_S3_SECRET_ACCESS_KEY: 's' })).toMatch(
      /LANTERN_S3_ACCESS_KEY_ID: is required with a secret/,
    );
    expect(problems({ LANTERN_S3_BUCKET: 'b-1', LANTERN_S3_ACCESS_KEY_ID: 'k' })).toMatch(
      /LANTERN_S3_SECRET_ACCESS_KEY: is required/,
    );
    expect(
      problems({
        LANTERN_S3_BUCKET: 'b-1',
        LANTERN_S3_ACCESS_KEY_ID: 'k',
        LANTERN_S3_SECRET_ACCESS_KEY: 's',
        LANTERN_S3_SECRET_ACCESS_KEY_FILE: '/f',
      }),
    ).toMatch(/not both/);
  });
});
