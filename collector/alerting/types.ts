// Shared shapes of the alerting module: labels, alerts, matchers, notifications.

export type Labels = Record<string, string>;

export type AlertState = 'pending' | 'firing' | 'resolved';

/** One alert instance (a rule × a label set), identified by the fingerprint of its labels. */
export interface Alert {
  fingerprint: string;
  labels: Labels;
  annotations: Labels;
  state: AlertState;
  /** Rule that produced it. */
  rule: string;
  /** When the condition was first seen true (pending start), ms. */
  activeAt: number;
  /** When it started firing (0 while pending), ms. */
  startsAt: number;
  /** When it resolved (0 while active), ms. */
  endsAt: number;
  /** The value that triggered it (last one evaluated), for message text. */
  value: number | string | null;
  updatedAt: number;
  ack: Ack | null;
}

export interface Ack {
  by: string;
  comment: string;
  at: number;
}

/** Alertmanager matcher: `=`, `!=`, `=~`, `!~`; regexes anchored at both ends. */
export interface Matcher {
  name: string;
  value: string;
  isRegex: boolean;
  isEqual: boolean;
}

export interface NotifiedAlert {
  status: 'firing' | 'resolved';
  labels: Labels;
  annotations: Labels;
  startsAt: string;
  endsAt: string;
  generatorURL: string;
  fingerprint: string;
  /** Extra (receivers ignore unknown fields): the collector's alert id and ack state. */
  acknowledged?: boolean;
}

/** What the dispatcher hands to a notifier: the Alertmanager v4 message fields. */
export interface Notification {
  receiver: string;
  status: 'firing' | 'resolved';
  groupKey: string;
  groupLabels: Labels;
  commonLabels: Labels;
  commonAnnotations: Labels;
  externalURL: string;
  reason: string;
  truncatedAlerts: number;
  alerts: NotifiedAlert[];
  /** >1 when a rate limit folded several notifications into this one. */
  digestOf?: number;
}
