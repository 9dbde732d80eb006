export * from './tokens';
export * from './protocol-error';
export * from './partner';
export * from './partner-cache.service';
export * from './limits.service';
export * from './message-writer.service';
export * from './intake.service';
export * from './intake.module';
