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
});
