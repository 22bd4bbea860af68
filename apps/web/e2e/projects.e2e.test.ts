import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishTinyDataset } from './datasets.js';
import { admitPerson, PEOPLE, readOutbox, setUpAdmin, type Applicant } from './people.js';
import { launchChromium, pageOf, SCREENSHOTS, startLantern } from './support.js';

// The projects pages in Debian's Chromium, on the built product (`lantern start`): a researcher
// creates a project with an open dataset, invites a colleague who accepts from the emailed link,
// changes her role and sees it in the activity feed; the last owner cannot leave; a reviewer
// answers the request for a restricted dataset and the project page shows the answer.
// Screenshots are kept under test-results/screenshots for people to look at.
const { owner: OWNER, colleague: COLLEAGUE, reviewer: REVIEWER, curator: CURATOR } = PEOPLE;
const PURPOSE =
  'Whether the morphology of a resting ECG predicts sudden cardiac arrest within a year.';
const OPEN = 'demo-open-ecg';
const GATED = 'demo-gated-ecg';

let dataDir: string;
let baseUrl: string;
let stopServer: () => Promise<void>;
let browser: Browser;
let admin: BrowserContext;
let owner: BrowserContext;
let reviewer: BrowserContext;
/** The project the tests share, once created. */
let projectUrl = '';

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'lantern-e2e-projects-'));
  const server = await startLantern(dataDir);
  baseUrl = server.url;
  stopServer = server.stop;
  await mkdir(SCREENSHOTS, { recursive: true });
  browser = await launchChromium();
  admin = await setUpAdmin(browser, baseUrl, server.output());
  const admit = (
    person: Applicant,
    roles: string[],
    acceptTerms: boolean,
  ): Promise<BrowserContext> =>
    admitPerson({ browser, baseUrl, admin, person, roles, acceptTerms });
  const curator = await admit(CURATOR, ['curator'], false);
  await publishTinyDataset(curator, baseUrl, OPEN, 'open');
  await publishTinyDataset(curator, baseUrl, GATED, 'approval');
  await curator.close();
  owner = await admit(OWNER, ['researcher'], true);
  await (await admit(COLLEAGUE, ['researcher'], true)).close();
  reviewer = await admit(REVIEWER, ['reviewer'], false);
}, 120_000);

afterAll(async () => {
  await owner.close();
  await reviewer.close();
  await admin.close();
  await browser.close();
  await stopServer();
  await rm(dataDir, { recursive: true, force: true });
});

describe('projects pages', () => {
  it('shows Projects only to admitted people, and an empty list that invites the first project', async () => {
    const visitor = await browser.newPage();
    await visitor.goto(`${baseUrl}/`);
    await expect
      .poll(() =>
        visitor.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents(),
      )
      .toContain('Datasets');
    expect(
      await visitor
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Projects' })
        .count(),
    ).toBe(0);
    await visitor.close();

    const { page } = await pageOf(owner);
    await page.goto(`${baseUrl}/`);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Projects' })
      .click();
    await expect
      .poll(() => page.getByTestId('projects-empty').textContent())
      .toMatch(/not in any project yet/);
    await page.screenshot({ path: join(SCREENSHOTS, 'projects-empty.png'), fullPage: true });
    await page.close();
  });

  it('lets a researcher create a project with an open dataset, the refusals shown field by field', async () => {
    const { page } = await pageOf(owner);
    await page.goto(`${baseUrl}/projects`);
    await page.getByRole('link', { name: 'Create your first project' }).click();
    const form = page.getByRole('form', { name: 'New project' });
    await form.getByLabel('Title').fill('Arrest from resting ECGs');
    await form.getByLabel(/^Research purpose \(shown to reviewers and partners/).fill('Arrests.');
    await form.getByRole('checkbox', { name: 'demo-open-ecg (synthetic)' }).check();
    await expect
      .poll(() => form.getByLabel('Version of demo-open-ecg (synthetic)').inputValue())
      .toBe('1.0');
    expect(await page.getByTestId('dataset-picker').textContent()).toMatch(
      /demo-gated-ecg \(synthetic\).*by approval: a request with the research purpose goes to a reviewer/,
    );
    await form.getByRole('button', { name: 'Create the project' }).click();
    await expect
      .poll(() => page.locator('#field-purpose-problem').textContent())
      .toMatch(/say what the project studies and why/);
    expect(await form.getByLabel(/^Research purpose/).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByTestId('new-project-problem').textContent()).toBe(
      'Some fields need another look; each says why.',
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'projects-new-refused.png'), fullPage: true });

    await form.getByLabel(/^Research purpose/).fill(PURPOSE);
    await form.getByRole('button', { name: 'Create the project' }).click();
    await expect.poll(() => page.url()).toMatch(/\/projects\/prj_[0-9a-f]{16}$/);
    projectUrl = page.url();
    await expect
      .poll(() => page.getByTestId(`access-${OPEN}-1.0`).getByTestId('access-status').textContent())
      .toBe('Attached: the project may use it');
    expect(await page.getByTestId('my-role').textContent()).toBe(
      'You are an owner of this project.',
    );
    expect(await page.getByTestId('purpose').textContent()).toBe(PURPOSE);
    // The feed shows the changes once the server has recorded them.
    await expect
      .poll(() => page.getByTestId('activity').textContent())
      .toMatch(
        /Mary Seacole attached demo-open-ecg 1\.0.*Mary Seacole created the project "Arrest from resting ECGs"/,
      );

    await page.getByRole('link', { name: 'Your projects' }).click();
    await expect
      .poll(() => page.getByTestId('projects').locator('tbody tr').first().textContent())
      .toBe('Arrest from resting ECGsowner11active');
    await page.close();
  });

  it('invites a colleague who signs in from the emailed link and accepts; her role is changed and the feed says so', async () => {
    const { page, asked } = await pageOf(owner);
    await page.goto(projectUrl);
    const invite = page.getByRole('form', { name: 'Invite a collaborator' });
    await invite.getByLabel('Email address').fill('not an address');
    await invite.getByRole('button', { name: 'Send the invitation' }).click();
    await expect
      .poll(() => page.locator('#field-email-problem').textContent())
      .toBe('not an email address');
    await invite.getByLabel('Email address').fill(COLLEAGUE.email);
    await invite.getByLabel('Role').selectOption('viewer');
    await invite.getByRole('button', { name: 'Send the invitation' }).click();
    await expect
      .poll(() => page.getByTestId('invite-message').textContent())
      .toMatch(/^Invitation emailed to grace@navy\.example as a viewer/);
    expect(await page.getByTestId('invitations').textContent()).toMatch(
      /grace@navy\.example, as a viewer — open until/,
    );
    // The same address twice: the server's refusal, in its words.
    await invite.getByLabel('Email address').fill(COLLEAGUE.email);
    await invite.getByRole('button', { name: 'Send the invitation' }).click();
    await expect
      .poll(() => page.getByTestId('invite-message').textContent())
      .toMatch(/grace@navy\.example was invited already/);

    const mail = (await readOutbox(admin, baseUrl)).find(
      (m) => m.to === COLLEAGUE.email && m.text.includes('/invitations#token='),
    );
    const link = /(http:\/\/\S+\/invitations#token=lni_[a-z2-7]{52})/.exec(mail?.text ?? '')?.[1];
    expect(link).toBeDefined();

    // Signed in with another address, the link is refused and says which address it was for.
    const wrong = await owner.newPage();
    await wrong.goto(link ?? '');
    await wrong.getByRole('button', { name: 'Accept the invitation' }).click();
    await expect
      .poll(() => wrong.getByTestId('invitation-problem').textContent())
      .toBe(
        'This invitation was sent to grace@navy.example; sign in with that address to accept it.',
      );
    await wrong.close();

    // Grace is not signed in: she signs in from the invitation page and comes back to it.
    const graceContext = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const grace = await graceContext.newPage();
    await grace.goto(link ?? '');
    await expect.poll(() => grace.url()).toBe(`${baseUrl}/invitations`);
    await grace.getByRole('link', { name: 'Sign in to accept' }).click();
    await grace.getByLabel('Email').fill(COLLEAGUE.email);
    await grace.getByLabel('Password').fill(COLLEAGUE.password);
    await grace.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => grace.url()).toBe(`${baseUrl}/invitations`);
    await grace.screenshot({ path: join(SCREENSHOTS, 'projects-invitation.png'), fullPage: true });
    await grace.getByRole('button', { name: 'Accept the invitation' }).click();
    await expect
      .poll(() => grace.getByTestId('invitation-accepted').textContent())
      .toBe('You joined Arrest from resting ECGs as a viewer.');
    await grace.getByRole('link', { name: 'Arrest from resting ECGs' }).click();
    await expect
      .poll(() => grace.getByTestId('my-role').textContent())
      .toBe('You are a viewer of this project.');
    // A viewer sees no control she cannot use; leaving is hers.
    for (const name of [
      'Send the invitation',
      'Change role',
      'Add datasets',
      'Archive the project',
      'Remove Mary Seacole',
    ]) {
      expect(await grace.getByRole('button', { name }).count(), name).toBe(0);
    }
    expect(await grace.getByText('Edit the title or the research purpose').count()).toBe(0);
    expect(await grace.getByRole('button', { name: 'Leave the project' }).count()).toBe(1);
    await grace.screenshot({ path: join(SCREENSHOTS, 'projects-viewer.png'), fullPage: true });

    // The link works once.
    await grace.goto(link ?? '');
    await grace.getByRole('button', { name: 'Accept the invitation' }).click();
    await expect
      .poll(() => grace.getByTestId('invitation-problem').textContent())
      .toBe('This invitation link was used already; each link works once.');
    await graceContext.close();

    await page.reload();
    const row = page.getByTestId(`member-${COLLEAGUE.email}`);
    await expect.poll(() => row.getByTestId('member-role').textContent()).toBe('viewer');
    await row.getByLabel('Role of Grace Hopper').selectOption('editor');
    // Keyboard: the role form is submitted from its button with Enter.
    await row.getByRole('button', { name: 'Change role' }).focus();
    await page.keyboard.press('Enter');
    await expect
      .poll(() => page.getByTestId('members-message').textContent())
      .toBe('Grace Hopper is now an editor.');
    expect(asked.at(-1)).toMatch(/^Make Grace Hopper an editor of "Arrest from resting ECGs"\?/);
    expect(await row.getByTestId('member-role').textContent()).toBe('editor');
    await expect
      .poll(async () =>
        (await page.getByTestId('activity').locator('li').allTextContents())
          .slice(0, 3)
          .map((entry) => entry.replace(/^.*?(Mary|Grace)/, '$1')),
      )
      .toEqual([
        'Mary Seacole made Grace Hopper an editor (was a viewer)',
        'Grace Hopper joined as a viewer',
        'Mary Seacole invited grace@navy.example as a viewer',
      ]);
    await page.screenshot({ path: join(SCREENSHOTS, 'projects-members.png'), fullPage: true });
    await page.close();
  });

  it('asks before removing a member, and refuses to let the last owner leave', async () => {
    const page = await owner.newPage();
    await page.setViewportSize({ width: 1100, height: 900 });
    await page.goto(projectUrl);
    // Dismissed: nothing happens.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.getByRole('button', { name: 'Remove Grace Hopper' }).click();
    expect(await page.getByTestId(`member-${COLLEAGUE.email}`).count()).toBe(1);
    expect(await page.getByTestId('members-message').count()).toBe(0);

    page.once('dialog', (dialog) => {
      expect(dialog.message()).toMatch(/^Leave "Arrest from resting ECGs"\?/);
      void dialog.accept();
    });
    await page.getByRole('button', { name: 'Leave the project' }).click();
    await expect
      .poll(() => page.getByTestId('project-actions-message').textContent())
      .toBe(
        'You are the last owner of the project; transfer ownership to another member before you leave.',
      );
    expect(page.url()).toBe(projectUrl);
    expect(await page.getByTestId('my-role').textContent()).toBe(
      'You are an owner of this project.',
    );
    await page.screenshot({ path: join(SCREENSHOTS, 'projects-last-owner.png'), fullPage: true });
    await page.close();
  });

  it('sends a restricted dataset to a reviewer, whose refusal and reason show on the project page', async () => {
    const { page } = await pageOf(owner);
    await page.goto(projectUrl);
    await page.getByRole('button', { name: 'Add datasets' }).click();
    const add = page.getByRole('form', { name: 'Add datasets' });
    await add.getByRole('checkbox', { name: 'demo-gated-ecg (synthetic)' }).check();
    await expect
      .poll(() => add.getByLabel('Version of demo-gated-ecg (synthetic)').inputValue())
      .toBe('1.0');
    await add.getByRole('button', { name: 'Add to the project' }).click();
    await expect
      .poll(() =>
        page.getByTestId(`access-${GATED}-1.0`).getByTestId('access-status').textContent(),
      )
      .toBe('Requested: waiting for a reviewer');

    const { page: rita } = await pageOf(reviewer);
    await rita.goto(`${baseUrl}/`);
    await rita.getByRole('link', { name: 'Access requests' }).click();
    const card = rita.getByTestId(`request-${GATED}`);
    await expect.poll(() => card.textContent()).toMatch(/For the project Arrest from resting ECGs/);
    expect(await card.locator('blockquote.purpose').textContent()).toBe(PURPOSE);
    // A reason is required.
    await card.getByRole('button', { name: 'Refuse' }).click();
    await expect
      .poll(() => card.getByRole('alert').textContent())
      .toBe('The reason: say why (5 characters at least).');
    const reason = 'The study needs no restricted waveforms; the open ECG set answers it.';
    await card.getByLabel(/^Reason/).fill(reason);
    await rita.screenshot({
      path: join(SCREENSHOTS, 'projects-access-requests.png'),
      fullPage: true,
    });
    await card.getByRole('button', { name: 'Refuse' }).click();
    await expect
      .poll(() => rita.getByTestId('requests-empty').textContent())
      .toBe('No request is waiting.');
    await rita.getByRole('button', { name: 'Refused' }).click();
    await expect
      .poll(() => rita.getByTestId(`request-${GATED}`).getByTestId('request-answer').textContent())
      .toMatch(new RegExp(`^Refused on .*: ${reason}$`));
    await rita.close();

    await page.reload();
    const access = page.getByTestId(`access-${GATED}-1.0`);
    await expect
      .poll(() => access.getByTestId('access-status').textContent())
      .toBe('Refused by a reviewer');
    expect(await access.getByTestId('access-reason').textContent()).toBe(
      ` — the reviewer's reason: ${reason}`,
    );
    await expect
      .poll(() => page.getByTestId('activity').locator('li').first().textContent())
      .toMatch(
        new RegExp(
          `Rita Levi-Montalcini refused the request for demo-gated-ecg 1\\.0: "${reason}"$`,
        ),
      );
    await page.screenshot({ path: join(SCREENSHOTS, 'projects-page.png'), fullPage: true });
    await page.close();
  });

  it('archives the project after saying that instances stop and nothing is deleted', async () => {
    const { page, asked } = await pageOf(owner);
    await page.goto(projectUrl);
    await page.getByRole('button', { name: 'Archive the project' }).click();
    await expect
      .poll(() => page.getByTestId('project-actions-message').textContent())
      .toBe('The project is archived.');
    expect(asked.at(-1)).toMatch(/Its instances stop.*Nothing is deleted/);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe(
      'Arrest from resting ECGs archived',
    );
    expect(
      await page.getByTestId(`access-${OPEN}-1.0`).getByTestId('access-status').textContent(),
    ).toBe('Attached, but the project is archived: access has ended');
    for (const name of ['Send the invitation', 'Add datasets', 'Archive the project']) {
      expect(await page.getByRole('button', { name }).count(), name).toBe(0);
    }
    await page.close();
  });
});
