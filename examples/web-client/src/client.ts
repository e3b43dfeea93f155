// A typed client for Groundwork's persisted operations: queries and
// mutations over fetch, subscriptions over graphql-ws. Documents come from
// codegen (src/gql/) and carry only their hash, so nothing here sends
// GraphQL text; a server with PERSISTED_DOCUMENTS=only accepts exactly these.
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { FormattedExecutionResult, GraphQLFormattedError } from 'graphql';
import { createClient, type Client as WsClient } from 'graphql-ws';

export interface GroundworkClientOptions {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:8080/graphql`. */
  readonly url: string;
  /** The WebSocket endpoint; by default `url` with a ws scheme and `/ws` appended. */
  readonly wsUrl?: string;
  /**
   * The session token (`AuthPayload.token`), read before every request and
   * every WebSocket connection, so signing in takes effect without a new client.
   */
  readonly token?: () => string | null | undefined;
  readonly fetch?: typeof fetch;
  /** Where there is no global WebSocket (Node before 22), the `ws` package's. */
  readonly webSocketImpl?: unknown;
}

/** Operations without variables take none; the others require theirs. */
export type VariablesArg<TVariables> =
  TVariables extends Record<string, never> ? [] : [variables: TVariables];

export interface GroundworkClient {
  /** Runs a query or mutation; resolves to its data or throws GraphQLRequestError. */
  execute<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    ...variables: VariablesArg<TVariables>
  ): Promise<TResult>;
  /**
   * Each event of a subscription. Breaking out of the loop ends the
   * subscription; an error from the server is thrown as GraphQLRequestError.
   */
  subscribe<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    ...variables: VariablesArg<TVariables>
  ): AsyncGenerator<TResult, void, undefined>;
  /** Closes the WebSocket, ending every subscription. */
  dispose(): Promise<void>;
}

/**
 * Errors the server answered with. Every Groundwork error carries
 * `extensions.code` (UNAUTHENTICATED, NOT_FOUND, PLAN_LIMIT_REACHED, …).
 */
export class GraphQLRequestError extends Error {
  override readonly name = 'GraphQLRequestError';

  constructor(
    readonly errors: readonly GraphQLFormattedError[],
    /** The HTTP status, or null for errors that came over the WebSocket. */
    readonly status: number | null,
    /** What data the server still returned beside the errors. */
    readonly data: unknown = null,
  ) {
    super(errors.map((e) => e.message).join('; ') || 'The GraphQL request failed.');
  }

  /** The first error's `extensions.code`. */
  get code(): string | undefined {
    const code = this.errors[0]?.extensions?.['code'];
    return typeof code === 'string' ? code : undefined;
  }
}

/** The document's hash from the persisted-documents manifest, `sha256:<hex>`. */
export function documentId<TResult, TVariables>(
  document: TypedDocumentNode<TResult, TVariables>,
): string {
  const meta: unknown = '__meta__' in document ? document.__meta__ : undefined;
  const hash =
    typeof meta === 'object' && meta !== null && 'hash' in meta ? meta.hash : undefined;
  if (typeof hash !== 'string') {
    throw new Error('The document has no hash: is codegen configured with persistedDocuments?');
  }
  return hash;
}

export function createGroundworkClient(options: GroundworkClientOptions): GroundworkClient {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  let socket: WsClient | undefined;

  const bearer = (): string | undefined => {
    const token = options.token?.();
    return token ? `Bearer ${token}` : undefined;
  };

  // Lazy: the socket opens with the first subscription and closes after the
  // last, so a subscription started after signing in authenticates afresh.
  const ws = (): WsClient =>
    (socket ??= createClient({
      url: options.wsUrl ?? webSocketUrl(options.url),
      lazy: true,
      webSocketImpl: options.webSocketImpl,
      connectionParams: (): Record<string, string> => {
        const authorization = bearer();
        return authorization ? { authorization } : {};
      },
    }));

  return {
    async execute<TResult, TVariables>(
      document: TypedDocumentNode<TResult, TVariables>,
      ...[variables]: VariablesArg<TVariables>
    ): Promise<TResult> {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
      };
      const authorization = bearer();
      if (authorization) {
        headers['authorization'] = authorization;
      }
      const response = await fetchImpl(options.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ documentId: documentId(document), variables }),
      });
      const result = await readResult<TResult>(response);
      if (result.errors?.length) {
        throw new GraphQLRequestError(result.errors, response.status, result.data ?? null);
      }
      if (result.data == null) {
        throw new Error(`HTTP ${response.status}: the response has neither data nor errors.`);
      }
      return result.data;
    },

    async *subscribe<TResult, TVariables>(
      document: TypedDocumentNode<TResult, TVariables>,
      ...[variables]: VariablesArg<TVariables>
    ): AsyncGenerator<TResult, void, undefined> {
      // graphql-ws requires a query string; an empty one with the hash in
      // `persistedQuery` is how the server takes a document by id here.
      const results = ws().iterate<TResult>({
        query: '',
        variables: variables as Record<string, unknown> | undefined,
        extensions: {
          persistedQuery: { version: 1, sha256Hash: documentId(document).replace(/^sha256:/, '') },
        },
      });
      try {
        for await (const result of results) {
          if (result.errors?.length) {
            throw new GraphQLRequestError(result.errors, null, result.data ?? null);
          }
          if (result.data != null) {
            yield result.data;
          }
        }
      } catch (error) {
        // graphql-ws rejects with the `error` message's payload, a list of errors.
        if (Array.isArray(error)) {
          throw new GraphQLRequestError(error as GraphQLFormattedError[], null);
        }
        throw error;
      }
    },

    async dispose(): Promise<void> {
      await socket?.dispose();
      socket = undefined;
    },
  };
}

/** `http://host/graphql` -> `ws://host/graphql/ws`; https gives wss. */
function webSocketUrl(httpUrl: string): string {
  const base = typeof location === 'undefined' ? undefined : location.href;
  const url = new URL(httpUrl, base);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/$/, '')}/ws`;
  return url.toString();
}

/**
 * A GraphQL-over-HTTP answer: 200 with data and maybe errors, or a 4xx/5xx
 * with errors and no data. Anything that is not JSON (a proxy's error page)
 * is not a GraphQL answer at all.
 */
async function readResult<TResult>(
  response: Response,
): Promise<FormattedExecutionResult<TResult>> {
  const type = response.headers.get('content-type') ?? '';
  if (!/^application\/(graphql-response\+)?json\b/i.test(type)) {
    throw new Error(`HTTP ${response.status}: expected a GraphQL response, got ${type || 'no content type'}.`);
  }
  return (await response.json()) as FormattedExecutionResult<TResult>;
}
