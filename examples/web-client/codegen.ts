import type { CodegenConfig } from '@graphql-codegen/cli';

const config: CodegenConfig = {
  // The schema the server serves, exported by `groundwork schema`.
  schema: '../../schema.graphql',
  documents: ['src/**/*.ts', '!src/gql/**/*'],
  ignoreNoDocuments: false,
  generates: {
    './src/gql/': {
      preset: 'client',
      presetConfig: {
        // sha256 is the hash the server checks. The generated documents keep
        // only their hash: the client sends it as `documentId`, and a server
        // in trusted-documents mode runs the text from its copy of the manifest.
        persistedDocuments: {
          mode: 'replaceDocumentWithHash',
          hashAlgorithm: 'sha256',
        },
      },
      config: {
        scalars: {
          // Ids are opaque strings the server hands out; a number is never one.
          ID: { input: 'string', output: 'string' },
          DateTime: 'string',
          JSON: 'unknown',
        },
        // A scalar added to the schema without a mapping fails codegen
        // instead of turning into `any`.
        strictScalars: true,
        // Unions of string literals: no runtime enum objects, and values
        // from JSON type-check without casts.
        enumType: 'string-literal',
        useTypeImports: true,
      },
    },
  },
};

export default config;
