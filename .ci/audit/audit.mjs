// graphql-http's GraphQL-over-HTTP conformance audits against a running
// server. Every audit is printed; any MUST or SHOULD that does not pass
// (status `error` or `warn`) fails the run. MAY audits that do not pass are
// printed as notices and do not fail it: the spec leaves those to the server.
//
//   node audit.mjs http://127.0.0.1:8080/graphql
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql endpoint url>');
  process.exit(2);
}

const audits = serverAudits({ url });
if (audits.length === 0) {
  console.error('graphql-http returned no audits');
  process.exit(2);
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
for (const audit of audits) {
  let result;
  try {
    result = await audit.fn();
  } catch (error) {
    // The audit could not run at all (the server is gone, a reset connection).
    result = { id: audit.id, name: audit.name, status: 'error', reason: String(error) };
  }
  counts[result.status] += 1;
  let line = `${result.status.padEnd(6)} ${result.id} ${result.name}`;
  if (result.status !== 'ok') {
    const response = result.response;
    const answer = response
      ? ` (HTTP ${response.status}, ${response.headers.get('content-type') ?? 'no content type'})`
      : '';
    line += `\n       ${result.reason}${answer}`;
  }
  console.log(line);
}

console.log(
  `\n${audits.length} audits: ${counts.ok} ok, ${counts.notice} notice (MAY), ` +
    `${counts.warn} warn (SHOULD), ${counts.error} error (MUST)`,
);
if (counts.warn > 0 || counts.error > 0) {
  process.exit(1);
}
