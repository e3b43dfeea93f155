/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type CreateOrganizationInput = {
  name: string;
  /** Made from the name when absent. */
  slug?: string | null | undefined;
};

export type CreateProjectInput = {
  description?: string | null | undefined;
  name: string;
  organizationId: string;
};

/** The stored statuses; EXPIRED is what a PENDING one past its expiry shows. */
export type InvitationStatus =
  | 'ACCEPTED'
  | 'DECLINED'
  | 'EXPIRED'
  | 'PENDING'
  | 'REVOKED';

export type InviteMemberInput = {
  email: string;
  organizationId: string;
  role: Role;
};

export type ProjectEventKind =
  | 'ARCHIVED'
  | 'CREATED'
  | 'DELETED'
  | 'RESTORED'
  | 'UPDATED';

/** A member's role in an organization, from most to least powerful. */
export type Role =
  | 'ADMIN'
  | 'MEMBER'
  | 'OWNER'
  | 'VIEWER';

export type SignUpInput = {
  email: string;
  /** Joins that organization on sign-up; the email must be the invited one. */
  invitationToken?: string | null | undefined;
  name: string;
  password: string;
};

export type SignUpMutationVariables = Exact<{
  input: SignUpInput;
}>;


export type SignUpMutation = { signUp: { token: string, user: { id: string, name: string, email: string } } };

export type DashboardQueryVariables = Exact<{ [key: string]: never; }>;


export type DashboardQuery = { viewer: { id: string, name: string, email: string, organizations: { totalCount: number, edges: Array<{ node: { id: string, name: string, slug: string, personal: boolean, viewerRole: Role, entitlements: { plan: { id: string, name: string }, projects: { used: number, limit: number | null }, members: { used: number, limit: number | null } }, members: { totalCount: number, edges: Array<{ node: { id: string, role: Role, user: { id: string, name: string, email: string } } }> }, projects: { totalCount: number, edges: Array<{ node: { id: string, name: string, createdAt: string, createdBy: { id: string, name: string } | null } }> } } }> } } | null };

export type CreateProjectMutationVariables = Exact<{
  input: CreateProjectInput;
}>;


export type CreateProjectMutation = { createProject: { id: string, name: string, description: string | null, createdAt: string, createdBy: { id: string, name: string } | null } };

export type CreateOrganizationMutationVariables = Exact<{
  input: CreateOrganizationInput;
}>;


export type CreateOrganizationMutation = { createOrganization: { id: string, name: string, slug: string, personal: boolean, viewerRole: Role } };

export type InviteMemberMutationVariables = Exact<{
  input: InviteMemberInput;
}>;


export type InviteMemberMutation = { inviteMember: { id: string, email: string, role: Role, status: InvitationStatus, expiresAt: string } };

export type ProjectEventsSubscriptionVariables = Exact<{
  organizationId: string;
}>;


export type ProjectEventsSubscription = { projectEvents: { kind: ProjectEventKind, projectId: string, project: { id: string, name: string, createdAt: string } | null } };


export const SignUpDocument = {"__meta__":{"hash":"sha256:3caaa65db9cfdf5ca7c99ad11ff892a08e5a27498c69a78794b7f1ac7098ad90"}} as unknown as DocumentNode<SignUpMutation, SignUpMutationVariables>;
export const DashboardDocument = {"__meta__":{"hash":"sha256:9f98d87d0cc6b1316442398d56b2ef7ec1bbdd9a4da13e91d12a379c09edd493"}} as unknown as DocumentNode<DashboardQuery, DashboardQueryVariables>;
export const CreateProjectDocument = {"__meta__":{"hash":"sha256:234cefd78bd502fcd6beeac1cab6adb3cca57e0953df99d7e928ddf6390d5450"}} as unknown as DocumentNode<CreateProjectMutation, CreateProjectMutationVariables>;
export const CreateOrganizationDocument = {"__meta__":{"hash":"sha256:6047e23ae7db717b52a33b87d302ed5de300e01b501379ae9d04b4bc14be37dc"}} as unknown as DocumentNode<CreateOrganizationMutation, CreateOrganizationMutationVariables>;
export const InviteMemberDocument = {"__meta__":{"hash":"sha256:2039f16c7875b0f6e21ac3ccab60c19f4c07811a11d1322e904c8ff8fc823de3"}} as unknown as DocumentNode<InviteMemberMutation, InviteMemberMutationVariables>;
export const ProjectEventsDocument = {"__meta__":{"hash":"sha256:f17feb74e5d2a5c957cd2a3380ce0d1e726d73044d030cf5ce1befd395454134"}} as unknown as DocumentNode<ProjectEventsSubscription, ProjectEventsSubscriptionVariables>;