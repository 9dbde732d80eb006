import { Inject, Injectable } from '@nestjs/common';
import { SIMULATOR_CONFIG, type SimulatorConfig } from '../config';

/** The settings `PUT /config` may change while the simulator runs. */
export type RuntimeSettings = Pick<SimulatorConfig, 'dlrDelayMs' | 'outcomes' | 'tps' | 'window' | 'responseDelayMs' | 'idFormat'>;

@Injectable()
export class SettingsStore {
  private settings: RuntimeSettings;

  constructor(@Inject(SIMULATOR_CONFIG) config: SimulatorConfig) {
    const { dlrDelayMs, outcomes, tps, window, responseDelayMs, idFormat } = config;
    this.settings = { dlrDelayMs, outcomes, tps, window, responseDelayMs, idFormat };
  }

  get current(): Readonly<RuntimeSettings> {
    return this.settings;
  }

  update(patch: Partial<RuntimeSettings>): RuntimeSettings {
    this.settings = { ...this.settings, ...patch };
    return this.settings;
  }
}
