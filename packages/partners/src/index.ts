export * from './partner-settings';
export * from './smsc-settings';
export * from './changes';
export * from './callback-targets';
