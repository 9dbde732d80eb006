export * from './msisdn';
export * from './encoding';
export * from './time';
export * from './smpp-segments';
export * from './receipt';
export * from './mo';
export * from './callback';
export * from './callback-target';
