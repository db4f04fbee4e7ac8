// The values every suite shares: a test address and units of time.
import type { Address } from '../../src';

export const MINUTE = 60_000;

export function address(user = 'lars', conversation = 'c1', channelId = 'test'): Address {
  return { channelId, user: { id: user }, conversation: { id: conversation } };
}
