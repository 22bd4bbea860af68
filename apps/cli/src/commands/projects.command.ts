import { MEMBER_ROLES, type MemberRole } from '@lantern/core/projects';
import type { Project, ProjectInvitation, ProjectSpend, ProjectSummary } from '@lantern/sdk';
import { CliError } from '../cli-error.js';
import { clientFor, describeFailure, requireToken, resolveTarget } from '../connection.js';
import { printTable, tableLines } from './describe.js';

/**
 * `lantern projects …`: the projects you work in, from the command line — list them, create one
 * with the dataset versions it needs, invite collaborators, see the members and what the
 * project's instances cost. The server decides
 * everything (membership, roles, access tiers); these commands print what it answered.
 */

/** `lantern projects list`: your projects, newest first, with your role in each. */
export async function listProjects(options: { server?: string; json?: boolean }): Promise<number> {
  const target = await resolveTarget(options.server);
  requireToken(target);
  let projects: ProjectSummary[];
  try {
    projects = await clientFor(target).listMyProjects();
  } catch (error) {
    throw describeFailure(error, target);
  }
  if (options.json === true) {
    console.log(JSON.stringify({ projects }, null, 2));
    return 0;
  }
  if (projects.length === 0) {
    console.log(`You are in no project on ${target.server}; lantern projects create makes one.`);
    return 0;
  }
  printTable([
    ['ID', 'ROLE', 'STATUS', 'MEMBERS', 'DATASETS', 'TITLE'],
    ...projects.map((p) => [
      p.id,
      p.role,
      p.status,
      String(p.members),
      String(p.datasets),
      p.title,
    ]),
  ]);
  return 0;
}

/** `slug@version` as typed after --dataset. */
export function parseDatasetArgument(text: string): { slug: string; version: string } {
  const match = /^([a-z][a-z0-9-]*)@(\S+)$/u.exec(text.trim());
  if (match?.[1] === undefined || match[2] === undefined) {
    throw new CliError(2, `--dataset ${text}: write SLUG@VERSION, e.g. demo-arrest-ecg@1.0`);
  }
  return { slug: match[1], version: match[2] };
}

/**
 * `lantern projects create --title T --purpose P [--dataset SLUG@VERSION …]`: you own the new
 * project; open datasets attach at once, approval ones wait for a reviewer.
 */
export async function createProject(options: {
  server?: string;
  title: string;
  purpose: string;
  dataset?: string[];
  json?: boolean;
}): Promise<number> {
  const datasets = (options.dataset ?? []).map(parseDatasetArgument);
  const target = await resolveTarget(options.server);
  requireToken(target);
  let project: Project;
  try {
    project = await clientFor(target).createProject({
      title: options.title,
      purpose: options.purpose,
      datasets,
    });
  } catch (error) {
    throw describeFailure(error, target);
  }
  if (options.json === true) {
    console.log(JSON.stringify(project, null, 2));
    return 0;
  }
  console.log(`Created ${project.id}: ${project.title} (you are its owner)`);
  for (const d of project.datasets) {
    console.log(
      `  ${d.slug} ${d.version}: ${d.status === 'requested' ? 'requested (a reviewer answers)' : d.status}`,
    );
  }
  console.log(`Next: lantern projects invite ${project.id} EMAIL --role editor`);
  return 0;
}

function parseRole(role: string): MemberRole {
  const found = MEMBER_ROLES.find((r) => r === role);
  if (found === undefined) {
    throw new CliError(2, `--role ${role}: use one of ${MEMBER_ROLES.join(', ')}`);
  }
  return found;
}

/** `lantern projects invite PROJECT EMAIL [--role R]`: the server emails a single-use link. */
export async function inviteToProject(
  projectId: string,
  email: string,
  options: { server?: string; role: string; json?: boolean },
): Promise<number> {
  const role = parseRole(options.role);
  const target = await resolveTarget(options.server);
  requireToken(target);
  let invitation: ProjectInvitation;
  try {
    invitation = await clientFor(target).inviteToProject(projectId, { email, role });
  } catch (error) {
    throw describeFailure(error, target);
  }
  if (options.json === true) {
    console.log(JSON.stringify(invitation, null, 2));
    return 0;
  }
  console.log(
    `Invited ${invitation.email} as ${invitation.role}: the link emailed works once, until ${invitation.expiresAt.slice(0, 10)}`,
  );
  return 0;
}

/** `lantern projects members PROJECT`: the members with their roles, and open invitations. */
export async function listMembers(
  projectId: string,
  options: { server?: string; json?: boolean },
): Promise<number> {
  const target = await resolveTarget(options.server);
  requireToken(target);
  let project: Project;
  try {
    project = await clientFor(target).getProject(projectId);
  } catch (error) {
    throw describeFailure(error, target);
  }
  if (options.json === true) {
    console.log(
      JSON.stringify({ members: project.members, invitations: project.invitations }, null, 2),
    );
    return 0;
  }
  console.log(`${project.title} (${project.id}, ${project.status})`);
  printTable([
    ['ROLE', 'JOINED', 'EMAIL', 'NAME'],
    ...project.members.map((m) => [
      m.role,
      m.joinedAt.slice(0, 10),
      m.email,
      m.active ? m.name : `${m.name} (suspended)`,
    ]),
  ]);
  const open = project.invitations.filter((i) => i.state === 'pending');
  if (open.length > 0) {
    console.log('');
    console.log('Invited, not yet joined');
    printTable(open.map((i) => [`  ${i.role}`, `until ${i.expiresAt.slice(0, 10)}`, i.email]));
  }
  return 0;
}

const USD = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });

/** "$1.40" from integer cents. */
export function describeCents(cents: number): string {
  return USD.format(cents / 100);
}

/** "2.50 h" from seconds. */
export function describeHours(seconds: number): string {
  return `${(seconds / 3600).toFixed(2)} h`;
}

/**
 * `lantern projects spend PROJECT [--from DATE] [--to DATE]`: what the project's instances cost —
 * the total over the window (the last 30 days by default), what runs now and its rate per hour,
 * per type, per member and per day that had usage.
 */
export async function showSpend(
  projectId: string,
  options: { server?: string; from?: string; to?: string; json?: boolean },
): Promise<number> {
  const target = await resolveTarget(options.server);
  requireToken(target);
  let spend: ProjectSpend;
  try {
    spend = await clientFor(target).getProjectSpend(projectId, {
      ...(options.from === undefined ? {} : { from: options.from }),
      ...(options.to === undefined ? {} : { to: options.to }),
    });
  } catch (error) {
    throw describeFailure(error, target);
  }
  if (options.json === true) {
    console.log(JSON.stringify(spend, null, 2));
    return 0;
  }
  for (const line of spendLines(projectId, spend)) {
    console.log(line);
  }
  return 0;
}

/** "2025-03-01 12:00" from an ISO time (UTC). */
const minute = (iso: string) => iso.slice(0, 16).replace('T', ' ');

/**
 * What `lantern projects spend` prints: the total over the window, what runs now and its rate,
 * then per type, per member and per day that had usage; or one line when nothing was spent.
 */
export function spendLines(projectId: string, spend: ProjectSpend): string[] {
  const window = `from ${minute(spend.from)} to ${minute(spend.to)} UTC`;
  const running = spend.running.instances;
  if (spend.total.seconds === 0 && running.length === 0) {
    return [
      `${projectId} spent nothing ${window}. Free instances cost nothing; paid types need an admin to enable them until billing arrives.`,
    ];
  }
  return [
    `${projectId} spent ${describeCents(spend.total.cents)} ${window} (${describeHours(spend.total.seconds)} of instances)`,
    '',
    ...(running.length === 0
      ? ['Running now: nothing']
      : [
          `Running now: ${describeCents(spend.running.centsPerHour)} an hour`,
          ...tableLines([
            ['  TYPE', 'BY', 'SINCE', 'HOURS', 'SO FAR'],
            ...running.map((r) => [
              `  ${r.type}`,
              r.name,
              minute(r.since),
              describeHours(r.seconds),
              describeCents(r.cents),
            ]),
          ]),
        ]),
    '',
    ...tableLines([
      ['TYPE', 'PER HOUR', 'HOURS', 'SPENT'],
      ...spend.byType.map((t) => [
        t.type,
        t.priceCentsPerHour === 0 ? 'free' : describeCents(t.priceCentsPerHour),
        describeHours(t.seconds),
        describeCents(t.cents),
      ]),
    ]),
    '',
    ...tableLines([
      ['MEMBER', 'HOURS', 'SPENT'],
      ...spend.byMember.map((m) => [m.name, describeHours(m.seconds), describeCents(m.cents)]),
    ]),
    '',
    ...tableLines([
      ['DAY (UTC)', 'HOURS', 'SPENT'],
      ...spend.byDay
        .filter((d) => d.seconds > 0)
        .map((d) => [d.day, describeHours(d.seconds), describeCents(d.cents)]),
    ]),
  ];
}
