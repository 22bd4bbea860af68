import { describe, expect, it } from 'vitest';
import { DEFAULT_INSTANCE_TYPES, isFreeType, parseInstanceCatalogue } from './instance-type.js';
import {
  INSTANCE_STATES,
  InstanceStateError,
  isActive,
  nextState,
  type InstanceEvent,
  type InstanceState,
} from './lifecycle.js';

describe('the instance state machine', () => {
  it('runs requested -> starting -> running -> stopping -> stopped, and restarts', () => {
    const path: [InstanceEvent, InstanceState][] = [
      ['start', 'starting'],
      ['ready', 'running'],
      ['stop', 'stopping'],
      ['stopped', 'stopped'],
      ['restart', 'requested'],
    ];
    let state: InstanceState = 'requested';
    for (const [event, expected] of path) {
      state = nextState(state, event);
      expect(state).toBe(expected);
    }
  });

  it('fails from every live state, and refuses moves it does not have with a clear message', () => {
    for (const state of ['requested', 'starting', 'running', 'stopping'] as const) {
      expect(nextState(state, 'fail')).toBe('failed');
    }
    expect(() => nextState('stopped', 'stop')).toThrow(InstanceStateError);
    expect(() => nextState('requested', 'ready')).toThrow(
      'an instance that is requested cannot ready',
    );
    expect(() => nextState('stopped', 'stopped')).toThrow(
      'an instance that is stopped cannot be marked stopped',
    );
  });

  it('counts the states that hold resources as active', () => {
    expect(INSTANCE_STATES.filter(isActive)).toEqual([
      'requested',
      'starting',
      'running',
      'stopping',
    ]);
  });
});

describe('instance types', () => {
  it('ships a catalogue with one free CPU type and the GPU types of the issue', () => {
    const types = parseInstanceCatalogue(DEFAULT_INSTANCE_TYPES);
    expect(types.filter(isFreeType).map((t) => t.name)).toEqual(['cpu.xsmall']);
    expect(types.map((t) => t.name)).toEqual([
      'cpu.xsmall',
      'cpu.small',
      'cpu.medium',
      'cpu.large',
      'gpu.t4',
      'gpu.a10g',
      'gpu.a100',
      'gpu.h100',
    ]);
  });

  it('refuses a catalogue with a name twice, a bad name or a negative price', () => {
    const first = DEFAULT_INSTANCE_TYPES[0];
    expect(() => parseInstanceCatalogue([first, first])).toThrow(/listed twice/u);
    expect(() => parseInstanceCatalogue([{ ...first, name: 'Big GPU' }])).toThrow(/family/u);
    expect(() => parseInstanceCatalogue([{ ...first, priceCentsPerHour: -1 }])).toThrow();
    expect(() => parseInstanceCatalogue([])).toThrow();
  });
});
