// The JSON Schema of each config file (deploy/schema/), rendered from the schemas the daemons
// validate with, so an editor flags the same unknown keys and wrong types the daemon would.
import { agentConfigSchema } from '../agent/index.js';
import { collectorConfigSchema } from '../collector/index.js';
import { editorSchema } from '../common/index.js';

export function renderConfigSchemas(): Record<string, string> {
  const render = (schema: object, title: string) => `${JSON.stringify(editorSchema(schema, title), null, 2)}\n`;
  return {
    'agent.schema.json': render(agentConfigSchema, 'redis-fleet agent config (redis-fleet-agent --config)'),
    'collector.schema.json': render(collectorConfigSchema, 'redis-fleet collector config (redis-fleet-collector --config)'),
  };
}
