// A config file's JSON Schema for editors (VS Code / yaml-language-server, JetBrains): the same
// schema the daemon validates with, plus the draft and a title. https://json-schema.org/draft-07
export function editorSchema(schema: object, title: string): object {
  return { $schema: 'http://json-schema.org/draft-07/schema#', title, ...schema };
}
