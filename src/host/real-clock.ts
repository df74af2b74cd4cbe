import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../model/clock.js';

export const realClock: Clock = {
  now: () => Date.now(),
  after: (ms, signal) => sleep(ms, undefined, { signal }),
};
