import 'reflect-metadata';
export * from './config';
export * from './redis';
export * from './postgres';
export * from './logging';
export * from './metrics';
export * from './health';
export * from './batcher';
export * from './journal';
