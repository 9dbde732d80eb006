export * from './queues';
export * from './enqueue';
export * from './status';
export * from './events';
export * from './protocol';
export * from './jobs';
export * from './smpp';
export * from './smpp-relay';
