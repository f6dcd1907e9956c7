// Human text of a notification for chat and pager channels (markdown-ish, short).
import type { Notification, NotifiedAlert } from '../types.js';

export function title(n: Notification): string {
  const firing = n.alerts.filter((a) => a.status === 'firing').length;
  const resolved = n.alerts.length - firing;
  const name = n.commonLabels.alertname ?? (n.digestOf ? `${n.digestOf} notifications` : 'alerts');
  const counts = firing && resolved ? `FIRING:${firing} RESOLVED:${resolved}` : firing ? `FIRING:${firing}` : `RESOLVED:${resolved}`;
  return `[${counts}] ${name}`;
}

function where(a: NotifiedAlert): string {
  const l = a.labels;
  return [l.cluster && `cluster ${l.cluster}`, l.host, l.instance ?? l.proxy].filter(Boolean).join(' ');
}

export function alertLine(a: NotifiedAlert, md: boolean): string {
  const name = md ? `**${a.labels.alertname}**` : a.labels.alertname;
  const sev = a.labels.severity ? ` (${a.labels.severity})` : '';
  const mark = a.status === 'firing' ? '🔥' : '✅';
  const summary = a.annotations.summary ?? a.annotations.description ?? '';
  return `${mark} ${name}${sev} ${where(a)}${summary ? ` — ${summary}` : ''}`;
}

/** Title line plus one line per alert, cut to `maxBytes` UTF-8 (robots refuse longer bodies). */
export function body(n: Notification, md: boolean, maxBytes: number): string {
  const head = md ? `### ${title(n)}` : title(n);
  let out = head;
  let shown = 0;
  for (const a of n.alerts) {
    const line = `\n${md ? '- ' : ''}${alertLine(a, md)}`;
    if (Buffer.byteLength(out + line, 'utf8') > maxBytes - 64) break;
    out += line;
    shown++;
  }
  if (shown < n.alerts.length) out += `\n… and ${n.alerts.length - shown} more`;
  if (n.externalURL && Buffer.byteLength(out, 'utf8') < maxBytes - 100) out += `\n${n.externalURL}/api/v1/alerts`;
  return out;
}
