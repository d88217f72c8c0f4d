/**
 * What a run tells its caller while it is on, whether it runs in this process or in the lab
 * child: progress (the CLI draws a bar from it) and notices (one line each; the CLI logs them).
 * The harness never draws or prints by itself.
 */
export type RunEvent =
  | { readonly type: 'progress'; readonly done: number; readonly total: number }
  | { readonly type: 'notice'; readonly level: 'info' | 'warn'; readonly message: string };

export type RunEventSink = (e: RunEvent) => void;
