import { TIME_BASE_NS } from './segment.js';

/** Internal nanoseconds as seconds, rounded to the microsecond (a pcap's resolution). */
export const sec = (ns: number): number => Math.round(ns / 1e3) / 1e6;
/** Internal nanoseconds as milliseconds, rounded to the microsecond. */
export const msec = (ns: number): number => Math.round(ns / 1e3) / 1e3;
/** Capture-relative seconds of an internal time (see TIME_BASE_NS). */
export const at = (ns: number): number => sec(ns - TIME_BASE_NS);
