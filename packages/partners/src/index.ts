export * from './partner-settings';
export * from './smsc-settings';
export * from './changes';
