import { AsyncLocalStorage } from 'node:async_hooks';

/** The webhook delivery being processed, for whatever it causes (the task it creates). */
export interface DeliveryContext {
  source: string;
  /** When the delivery was accepted, in wall-clock epoch ms. */
  acceptedAt: number;
}

/**
 * Set around each delivery's handler by `WebhookInbox`, so `TaskService` can say on
 * `task.created` which delivery made the task (webhook-to-task latency) without the
 * delivery threading through every intake signature.
 */
export const deliveryContext = new AsyncLocalStorage<DeliveryContext>();
