// The operations this frontend may run. Each is a named document; codegen
// types it and puts it in the persisted-documents manifest the server runs
// in trusted-documents mode, so an operation that is not here does not run.
import { graphql } from './gql';

export const SignUp = graphql(`
  mutation SignUp($input: SignUpInput!) {
    signUp(input: $input) {
      token
      user {
        id
        name
        email
      }
    }
  }
`);

export const Dashboard = graphql(`
  query Dashboard {
    viewer {
      id
      name
      email
      organizations(first: 20) {
        totalCount
        edges {
          node {
            id
            name
            slug
            personal
            viewerRole
            entitlements {
              plan {
                id
                name
              }
              projects {
                used
                limit
              }
              members {
                used
                limit
              }
            }
            members(first: 10) {
              totalCount
              edges {
                node {
                  id
                  role
                  user {
                    id
                    name
                    email
                  }
                }
              }
            }
            projects(first: 10) {
              totalCount
              edges {
                node {
                  id
                  name
                  createdAt
                  createdBy {
                    id
                    name
                  }
                }
              }
            }
          }
        }
      }
    }
  }
`);

export const CreateProject = graphql(`
  mutation CreateProject($input: CreateProjectInput!) {
    createProject(input: $input) {
      id
      name
      description
      createdAt
      createdBy {
        id
        name
      }
    }
  }
`);

export const CreateOrganization = graphql(`
  mutation CreateOrganization($input: CreateOrganizationInput!) {
    createOrganization(input: $input) {
      id
      name
      slug
      personal
      viewerRole
    }
  }
`);

export const InviteMember = graphql(`
  mutation InviteMember($input: InviteMemberInput!) {
    inviteMember(input: $input) {
      id
      email
      role
      status
      expiresAt
    }
  }
`);

export const ProjectEvents = graphql(`
  subscription ProjectEvents($organizationId: ID!) {
    projectEvents(organizationId: $organizationId) {
      kind
      projectId
      project {
        id
        name
        createdAt
      }
    }
  }
`);
