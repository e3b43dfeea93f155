-- psql -v orgs=20 -v members=10 -v projects=50 -f benches/dashboard-seed.sql
-- (after `groundwork migrate up`), as ../shared/bench/side-by-side does.
-- The shape of the Node peer's seed, in Groundwork's tables: one viewer
-- (bearer token "bench-token") in :orgs organizations on a granted team plan,
-- each with :members members in all and :projects projects, and the
-- per-organization counters the application keeps as it changes them.
-- Keep it in step with the migrations.
TRUNCATE usage_counters, live_events, projects, memberships, sessions, plan_grants, organizations, users CASCADE;
INSERT INTO users (id, email, name, email_verified_at, created_at, updated_at)
  SELECT ('00000000-0000-4000-8000-' || lpad(to_hex(i), 12, '0'))::uuid, 'user' || i || '@bench.test', 'User ' || i,
         now(), now() - interval '1 day' + i * interval '1 ms', now()
  FROM generate_series(0, :orgs * :members) AS i;
INSERT INTO sessions (id, token_hash, user_id, created_at, last_seen_at, expires_at)
  VALUES ('00000000-0000-4000-a000-000000000000', encode(sha256('bench-token'), 'hex'),
          '00000000-0000-4000-8000-000000000000', now(), now(), now() + interval '1 day');
INSERT INTO organizations (id, name, slug, personal, created_by, created_at, updated_at)
  SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(o), 12, '0'))::uuid, 'Org ' || o, 'org-' || o, false,
         '00000000-0000-4000-8000-000000000000', now() - interval '1 day' + o * interval '1 ms', now()
  FROM generate_series(1, :orgs) AS o;
INSERT INTO plan_grants (organization_id, plan_id, until, created_at)
  SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(o), 12, '0'))::uuid, 'team', NULL, now() FROM generate_series(1, :orgs) AS o;
INSERT INTO memberships (id, organization_id, user_id, role, created_at, updated_at)
  SELECT gen_random_uuid(), ('00000000-0000-4000-9000-' || lpad(to_hex(o), 12, '0'))::uuid,
         CASE WHEN k = 0 THEN '00000000-0000-4000-8000-000000000000'::uuid
              ELSE ('00000000-0000-4000-8000-' || lpad(to_hex((o - 1) * :members + k), 12, '0'))::uuid END,
         CASE WHEN k = 0 THEN 'OWNER' WHEN k = 1 THEN 'ADMIN' WHEN k % 3 = 0 THEN 'VIEWER' ELSE 'MEMBER' END,
         now() - interval '1 day' + (o * 1000 + k) * interval '1 ms', now()
  FROM generate_series(1, :orgs) AS o, generate_series(0, :members - 1) AS k;
INSERT INTO projects (id, organization_id, name, name_folded, created_by, created_at, updated_at)
  SELECT gen_random_uuid(), ('00000000-0000-4000-9000-' || lpad(to_hex(o), 12, '0'))::uuid, 'Project ' || o || '-' || p,
         'project ' || o || '-' || p,
         ('00000000-0000-4000-8000-' || lpad(to_hex((o - 1) * :members + (p % (:members - 1)) + 1), 12, '0'))::uuid,
         now() - interval '1 day' + p * interval '1 s', now()
  FROM generate_series(1, :orgs) AS o, generate_series(1, :projects) AS p;
INSERT INTO usage_counters (organization_id, name, value)
  SELECT ('00000000-0000-4000-9000-' || lpad(to_hex(o), 12, '0'))::uuid, c.name, c.value
  FROM generate_series(1, :orgs) AS o,
       (VALUES ('members', :members), ('projects', :projects)) AS c(name, value);
ANALYZE;
