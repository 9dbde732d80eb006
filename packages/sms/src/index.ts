export * from './msisdn';
export * from './encoding';
export * from './time';
