import type { CongestionController } from './controller.js';
import { NewReno } from './new-reno.js';

/*
 * The congestion controllers a stack can use (RFC 5681 §3 and its successors), by the name
 * TcpConfig.congestionControl gives; each is one file implementing CongestionController.
 */

export type { CongestionController } from './controller.js';

export const CONTROLLERS = {
  'new-reno': (smss: number): CongestionController => new NewReno(smss),
} as const;

export type CongestionControlName = keyof typeof CONTROLLERS;
