// What a frontend does on its first visit: sign up, load the dashboard,
// listen to project events, create a project, start a team and invite a
// teammate. Every
// value below is typed from the schema; a misspelt field or a role that does
// not exist fails `npm run typecheck`.
import { createGroundworkClient, GraphQLRequestError } from './client';
import type { DashboardQuery, Role } from './gql/graphql';
import {
  CreateOrganization,
  CreateProject,
  Dashboard,
  InviteMember,
  ProjectEvents,
  SignUp,
} from './operations';

type Organization = NonNullable<
  DashboardQuery['viewer']
>['organizations']['edges'][number]['node'];

export async function demo(url: string, webSocketImpl?: unknown): Promise<void> {
  let token: string | undefined;
  const client = createGroundworkClient({ url, token: () => token, webSocketImpl });
  try {
    const { signUp } = await client.execute(SignUp, {
      input: {
        email: `demo-${Date.now()}@example.com`,
        password: 'correct horse battery',
        name: 'Demo',
      },
    });
    token = signUp.token;
    console.log(`signed up as ${signUp.user.email}`);

    const { viewer } = await client.execute(Dashboard);
    if (!viewer) {
      throw new Error('The session was not accepted.');
    }
    const organizations = viewer.organizations.edges.map((edge) => edge.node);
    for (const org of organizations) {
      describe(org);
    }
    const personal = organizations.find((org) => org.personal);
    if (!personal) {
      throw new Error('Every account has a personal organization.');
    }

    const events = client.subscribe(ProjectEvents, { organizationId: personal.id });
    const firstEvent = events.next();
    // A subscribe is not acknowledged; give the server a moment to listen.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const { createProject } = await client.execute(CreateProject, {
      input: { organizationId: personal.id, name: 'Launch site' },
    });
    console.log(`created ${createProject.name} at ${createProject.createdAt}`);

    const event = await firstEvent;
    if (!event.done) {
      console.log(`event ${event.value.projectEvents.kind} for ${event.value.projectEvents.projectId}`);
    }
    await events.return();

    // A personal organization is the user's alone; teammates join a team.
    const { createOrganization: team } = await client.execute(CreateOrganization, {
      input: { name: 'Demo team' },
    });
    console.log(`created ${team.name} (${team.slug}) as ${team.viewerRole}`);
    const role: Role = 'MEMBER';
    try {
      const { inviteMember } = await client.execute(InviteMember, {
        input: { organizationId: team.id, email: 'teammate@example.com', role },
      });
      console.log(`invited ${inviteMember.email} as ${inviteMember.role}, ${inviteMember.status}`);
    } catch (error) {
      if (error instanceof GraphQLRequestError && error.code === 'PLAN_LIMIT_REACHED') {
        console.log('the plan has no seat left; upgrade to invite more people');
      } else {
        throw error;
      }
    }
  } finally {
    await client.dispose();
  }
}

function describe(org: Organization): void {
  const { plan, projects, members } = org.entitlements;
  const limit = (value: number | null): string => (value === null ? 'unlimited' : String(value));
  console.log(
    `${org.name} (${org.slug}), ${org.viewerRole} on ${plan.name}: ` +
      `${projects.used}/${limit(projects.limit)} projects, ` +
      `${members.used}/${limit(members.limit)} members`,
  );
  for (const { node } of org.members.edges) {
    console.log(`  member ${node.user.name} <${node.user.email}> ${node.role}`);
  }
  for (const { node } of org.projects.edges) {
    console.log(`  project ${node.name} by ${node.createdBy?.name ?? 'a deleted account'}`);
  }
}
