/** Message statuses as partners see them (PROTOCOL §4). */
export const MessageStatus = {
  ACCEPTED: 1,
  SUBMITTED: 0,
  DELIVERED: 2,
  UNDELIVERED: 5,
  CANCELLED: 8,
} as const;
export type MessageStatus = (typeof MessageStatus)[keyof typeof MessageStatus];

/** unifiedExtStatus for status 5 (PROTOCOL §4). */
export const ExtStatus = {
  UNKNOWN: 1,
  EXPIRED: 2,
  BLOCKED: 3,
  TRANSPORT_ERROR: 4,
  MEMORY_FULL: 5,
  NO_SMS_SERVICE: 6,
  NETWORK_NOT_RESPONDING: 7,
  INVALID_NUMBER: 8,
  DUPLICATE_FILTER: 9,
  PLATFORM_FILTER: 10,
  ROUTING_ERROR: 11,
  OPERATOR_BLACKLIST: 12,
  SENDER_NOT_REGISTERED: 13,
  OPERATOR_SPAM_FILTER: 14,
  REJECTED_AT_SUBMISSION: 15,
  EXPIRED_IN_PLATFORM: 16,
} as const;
export type ExtStatus = (typeof ExtStatus)[keyof typeof ExtStatus];
