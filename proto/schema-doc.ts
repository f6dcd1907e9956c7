// Renders docs/schema.md from proto/schema.ts (npm run schema-doc).
import { MEASUREMENTS, INFO_INT_FIELDS, INFO_STRING_FIELDS } from './schema.js';
import { NAME_MAPPINGS } from './schema-mapping.js';

export function renderSchemaMarkdown(): string {
  const out: string[] = [
    '# Stored metric schema',
    '',
    'Generated from `proto/schema.ts` by `npm run schema-doc`; `test/schema.test.ts` fails when this file is stale.',
    'The same measurements, tags and field types are used in InfluxDB 1.x and in the embedded store.',
    'Every field has one pinned type: writers coerce to it, so InfluxDB never rejects a write over a type conflict.',
    'Counters are stored raw (use `non_negative_derivative` in InfluxQL); the agent also sends ready-made rates.',
    '',
  ];
  for (const m of Object.values(MEASUREMENTS)) {
    out.push(`## \`${m.name}\``, '', m.doc, '', `Tags: ${m.tags.map((t) => `\`${t}\``).join(', ')}`, '');
    if (m.otherNumericFields === 'float') {
      out.push('Any other numeric field of the source (for example an INFO field added by a newer Redis) is written as **float**.', '');
    }
    const infoInt = new Set<string>(INFO_INT_FIELDS);
    const infoStr = new Set<string>(INFO_STRING_FIELDS);
    const listed = Object.entries(m.fields).filter(
      ([n, d]) => !(m.name === 'redis' && d.doc === 'INFO field' && (infoInt.has(n) || infoStr.has(n))),
    );
    out.push('| field | type | meaning |', '| --- | --- | --- |');
    for (const [name, def] of listed) out.push(`| \`${name}\` | ${def.type} | ${def.doc.replace(/\|/g, '\\|')} |`);
    if (m.name === 'redis') {
      out.push('', `INFO fields pinned as **int** (${INFO_INT_FIELDS.length}): ${INFO_INT_FIELDS.map((n) => `\`${n}\``).join(', ')}.`);
      out.push(
        '',
        `INFO fields kept as **string**: ${INFO_STRING_FIELDS.map((n) => `\`${n}\``).join(', ')}. Other string INFO fields are not stored.`,
      );
    }
    out.push('');
  }
  out.push(
    '## Names in redis_exporter and Telegraf',
    '',
    'Coming from a Prometheus redis_exporter or a Telegraf `inputs.redis` setup: where the names you know land here',
    '(from `proto/schema-mapping.ts`; every exporter name is checked against a real redis_exporter 1.45 capture).',
    "Our instance tags are `instance` (host:port), `role`, `cluster`, `group` plus the host's; the exporter's are",
    "`instance`/`addr`, Telegraf's `server`, `port`, `replication_role`.",
    '',
    '| redis-fleet | redis_exporter | Telegraf | note |',
    '| --- | --- | --- | --- |',
  );
  const cell = (v: string) => (v ? `\`${v}\`` : '—');
  for (const m of NAME_MAPPINGS)
    out.push(`| ${cell(m.ours)} | ${cell(m.exporter)} | ${cell(m.telegraf)} | ${m.note.replace(/\|/g, '\\|')} |`);
  out.push('');
  return out.join('\n');
}
