import { randomInt } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { SIMULATOR_CONFIG, type SimulatorConfig } from '../config';

/**
 * mulberry32: tiny and fast, and the same sequence for the same seed, so a run with SIM_SEED
 * picks the same outcomes and concatenation references again (after `POST /reset` too).
 */
@Injectable()
export class RandomSource {
  private state = 0;

  constructor(@Inject(SIMULATOR_CONFIG) private readonly config: SimulatorConfig) {
    this.reseed();
  }

  reseed(): void {
    this.state = (this.config.seed ?? randomInt(0, 2 ** 32)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, max). */
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
}
