/* eslint-disable */
import * as types from './graphql';
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';

/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) {\n      token\n      user {\n        id\n        name\n        email\n      }\n    }\n  }\n": typeof types.SignUpDocument,
    "\n  query Dashboard {\n    viewer {\n      id\n      name\n      email\n      organizations(first: 20) {\n        totalCount\n        edges {\n          node {\n            id\n            name\n            slug\n            personal\n            viewerRole\n            entitlements {\n              plan {\n                id\n                name\n              }\n              projects {\n                used\n                limit\n              }\n              members {\n                used\n                limit\n              }\n            }\n            members(first: 10) {\n              totalCount\n              edges {\n                node {\n                  id\n                  role\n                  user {\n                    id\n                    name\n                    email\n                  }\n                }\n              }\n            }\n            projects(first: 10) {\n              totalCount\n              edges {\n                node {\n                  id\n                  name\n                  createdAt\n                  createdBy {\n                    id\n                    name\n                  }\n                }\n              }\n            }\n          }\n        }\n      }\n    }\n  }\n": typeof types.DashboardDocument,
    "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n      description\n      createdAt\n      createdBy {\n        id\n        name\n      }\n    }\n  }\n": typeof types.CreateProjectDocument,
    "\n  mutation CreateOrganization($input: CreateOrganizationInput!) {\n    createOrganization(input: $input) {\n      id\n      name\n      slug\n      personal\n      viewerRole\n    }\n  }\n": typeof types.CreateOrganizationDocument,
    "\n  mutation InviteMember($input: InviteMemberInput!) {\n    inviteMember(input: $input) {\n      id\n      email\n      role\n      status\n      expiresAt\n    }\n  }\n": typeof types.InviteMemberDocument,
    "\n  subscription ProjectEvents($organizationId: ID!) {\n    projectEvents(organizationId: $organizationId) {\n      kind\n      projectId\n      project {\n        id\n        name\n        createdAt\n      }\n    }\n  }\n": typeof types.ProjectEventsDocument,
};
const documents: Documents = {
    "\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) {\n      token\n      user {\n        id\n        name\n        email\n      }\n    }\n  }\n": types.SignUpDocument,
    "\n  query Dashboard {\n    viewer {\n      id\n      name\n      email\n      organizations(first: 20) {\n        totalCount\n        edges {\n          node {\n            id\n            name\n            slug\n            personal\n            viewerRole\n            entitlements {\n              plan {\n                id\n                name\n              }\n              projects {\n                used\n                limit\n              }\n              members {\n                used\n                limit\n              }\n            }\n            members(first: 10) {\n              totalCount\n              edges {\n                node {\n                  id\n                  role\n                  user {\n                    id\n                    name\n                    email\n                  }\n                }\n              }\n            }\n            projects(first: 10) {\n              totalCount\n              edges {\n                node {\n                  id\n                  name\n                  createdAt\n                  createdBy {\n                    id\n                    name\n                  }\n                }\n              }\n            }\n          }\n        }\n      }\n    }\n  }\n": types.DashboardDocument,
    "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n      description\n      createdAt\n      createdBy {\n        id\n        name\n      }\n    }\n  }\n": types.CreateProjectDocument,
    "\n  mutation CreateOrganization($input: CreateOrganizationInput!) {\n    createOrganization(input: $input) {\n      id\n      name\n      slug\n      personal\n      viewerRole\n    }\n  }\n": types.CreateOrganizationDocument,
    "\n  mutation InviteMember($input: InviteMemberInput!) {\n    inviteMember(input: $input) {\n      id\n      email\n      role\n      status\n      expiresAt\n    }\n  }\n": types.InviteMemberDocument,
    "\n  subscription ProjectEvents($organizationId: ID!) {\n    projectEvents(organizationId: $organizationId) {\n      kind\n      projectId\n      project {\n        id\n        name\n        createdAt\n      }\n    }\n  }\n": types.ProjectEventsDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 *
 *
 * @example
 * ```ts
 * const query = graphql(`query GetUser($id: ID!) { user(id: $id) { name } }`);
 * ```
 *
 * The query argument is unknown!
 * Please regenerate the types.
 */
export function graphql(source: string): unknown;

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) {\n      token\n      user {\n        id\n        name\n        email\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation SignUp($input: SignUpInput!) {\n    signUp(input: $input) {\n      token\n      user {\n        id\n        name\n        email\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Dashboard {\n    viewer {\n      id\n      name\n      email\n      organizations(first: 20) {\n        totalCount\n        edges {\n          node {\n            id\n            name\n            slug\n            personal\n            viewerRole\n            entitlements {\n              plan {\n                id\n                name\n              }\n              projects {\n                used\n                limit\n              }\n              members {\n                used\n                limit\n              }\n            }\n            members(first: 10) {\n              totalCount\n              edges {\n                node {\n                  id\n                  role\n                  user {\n                    id\n                    name\n                    email\n                  }\n                }\n              }\n            }\n            projects(first: 10) {\n              totalCount\n              edges {\n                node {\n                  id\n                  name\n                  createdAt\n                  createdBy {\n                    id\n                    name\n                  }\n                }\n              }\n            }\n          }\n        }\n      }\n    }\n  }\n"): (typeof documents)["\n  query Dashboard {\n    viewer {\n      id\n      name\n      email\n      organizations(first: 20) {\n        totalCount\n        edges {\n          node {\n            id\n            name\n            slug\n            personal\n            viewerRole\n            entitlements {\n              plan {\n                id\n                name\n              }\n              projects {\n                used\n                limit\n              }\n              members {\n                used\n                limit\n              }\n            }\n            members(first: 10) {\n              totalCount\n              edges {\n                node {\n                  id\n                  role\n                  user {\n                    id\n                    name\n                    email\n                  }\n                }\n              }\n            }\n            projects(first: 10) {\n              totalCount\n              edges {\n                node {\n                  id\n                  name\n                  createdAt\n                  createdBy {\n                    id\n                    name\n                  }\n                }\n              }\n            }\n          }\n        }\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n      description\n      createdAt\n      createdBy {\n        id\n        name\n      }\n    }\n  }\n"): (typeof documents)["\n  mutation CreateProject($input: CreateProjectInput!) {\n    createProject(input: $input) {\n      id\n      name\n      description\n      createdAt\n      createdBy {\n        id\n        name\n      }\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CreateOrganization($input: CreateOrganizationInput!) {\n    createOrganization(input: $input) {\n      id\n      name\n      slug\n      personal\n      viewerRole\n    }\n  }\n"): (typeof documents)["\n  mutation CreateOrganization($input: CreateOrganizationInput!) {\n    createOrganization(input: $input) {\n      id\n      name\n      slug\n      personal\n      viewerRole\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation InviteMember($input: InviteMemberInput!) {\n    inviteMember(input: $input) {\n      id\n      email\n      role\n      status\n      expiresAt\n    }\n  }\n"): (typeof documents)["\n  mutation InviteMember($input: InviteMemberInput!) {\n    inviteMember(input: $input) {\n      id\n      email\n      role\n      status\n      expiresAt\n    }\n  }\n"];
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription ProjectEvents($organizationId: ID!) {\n    projectEvents(organizationId: $organizationId) {\n      kind\n      projectId\n      project {\n        id\n        name\n        createdAt\n      }\n    }\n  }\n"): (typeof documents)["\n  subscription ProjectEvents($organizationId: ID!) {\n    projectEvents(organizationId: $organizationId) {\n      kind\n      projectId\n      project {\n        id\n        name\n        createdAt\n      }\n    }\n  }\n"];

export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}

export type DocumentType<TDocumentNode extends DocumentNode<any, any>> = TDocumentNode extends DocumentNode<  infer TType,  any>  ? TType  : never;