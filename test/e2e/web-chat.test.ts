// The web chat example, end to end: its server on a free loopback port, its page in headless Chromium (Debian's
// chromium, driven by playwright-core), a person's conversation with the tutorial bot typed into the page.
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page, type Route } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebChat, type WebChat } from '../../examples/web-chat/server';

const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(executablePath);
if (!available && process.env.PALAVER_REQUIRE_CHROMIUM === '1') {
  // CI installs Chromium and sets this: there a missing browser is a failure, not a skip.
  throw new Error(`PALAVER_REQUIRE_CHROMIUM=1 but there is no Chromium at ${executablePath}.`);
}
if (!available)
  console.warn(
    `[web-chat e2e] SKIPPED: no Chromium at ${executablePath} (apt-get install chromium, or set CHROMIUM_PATH).`,
  );

// How Chromium runs here: headless, no sandbox (root), and no background traffic to Google on a closed network.
const flags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const screenshot = resolve(__dirname, '../artifacts/web-chat.png');

// The steps below are one conversation, in order: each `it` checks one thing the page shows along the way.
describe.skipIf(!available)('the web chat example in headless Chromium', () => {
  let chat: WebChat;
  let profile: string;
  let context: BrowserContext;
  let page: Page;
  let firstSession = '';

  beforeAll(async () => {
    chat = await startWebChat({ port: 0 });
    profile = mkdtempSync(join(tmpdir(), 'palaver-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: flags,
      viewport: { width: 1000, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    await page.goto(chat.url);
    await page.waitForSelector('body[data-ready="true"]');
  }, 30_000);

  afterAll(async () => {
    await context?.close();
    await chat?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  const botLines = () => page.$$eval('.msg.bot', (nodes) => nodes.map((node) => node.textContent));
  const sessionId = () => page.textContent('#session-id');
  const entities = () =>
    page.$$eval('#entities tr[data-entity]', (rows) =>
      Object.fromEntries(rows.map((row) => [row.getAttribute('data-entity'), row.querySelector('td')?.textContent])),
    );
  const lastBatch = () =>
    page.$$eval('.batch', (batches) =>
      [...(batches.at(-1)?.querySelectorAll('.msg.bot') ?? [])].map((node) => node.textContent),
    );

  /** Types `text` and waits until the bot's answer is on the page. */
  async function say(text: string): Promise<void> {
    const before = (await botLines()).length;
    await page.fill('#text', text);
    await page.press('#text', 'Enter');
    await page.waitForFunction(`document.querySelectorAll('.msg.bot').length > ${before}`);
  }

  it('opens with no session and no entities', async () => {
    expect({ session: await sessionId(), entities: await entities() }).toEqual({ session: '—', entities: {} });
  });

  it('shows the typing indicator while a message is on its way, and hides it with the reply', async () => {
    // Hold the first message in the browser until the indicator has been seen.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/api/messages', async (route: Route) => {
      await held;
      await route.continue();
    });
    await page.fill('#text', 'hi');
    await page.press('#text', 'Enter');
    await page.waitForSelector('#typing', { state: 'visible' });
    const shown = await page.isVisible('#typing');
    release();
    await page.waitForSelector('.msg.bot');
    await page.unroute('**/api/messages');
    expect({ shown, after: await page.isVisible('#typing') }).toEqual({ shown: true, after: false });
  });

  it('shows the reply, the new session id and the bot name the session started with', async () => {
    firstSession = (await sessionId()) ?? '';
    expect({ lines: await botLines(), session: firstSession.length > 5, entities: await entities() }).toEqual({
      lines: ["Hi, I'm Botty. What's your name?"],
      session: true,
      entities: { BotName: 'Botty' },
    });
  });

  it('collects the name and the phone number as entities', async () => {
    await say('Lars');
    await say('555-555-5555');
    expect({ last: await lastBatch(), entities: await entities(), session: await sessionId() }).toEqual({
      last: ['Can you tell Botty your location, Lars?'],
      entities: { BotName: 'Botty', UserName: 'Lars', UserPhone: '555-555-5555' },
      session: firstSession,
    });
  });

  it('shows the last two replies as one batch, then the session ended keeping only name and phone', async () => {
    await say('Seattle');
    await page.waitForSelector('text=Session ended (endSession)');
    expect({ last: await lastBatch(), session: await sessionId(), entities: await entities() }).toEqual({
      last: ['So, Lars, you are in Seattle', 'Done'],
      session: '—',
      entities: { UserName: 'Lars', UserPhone: '555-555-5555' },
    });
  });

  it('starts a new session on the next message, which still knows the user', async () => {
    await say('hi');
    const session = await sessionId();
    expect({
      last: await lastBatch(),
      fresh: session !== firstSession && session !== '—',
      entities: await entities(),
    }).toEqual({
      last: ['Can you tell Botty your location, Lars?'],
      fresh: true,
      entities: { BotName: 'Botty', UserName: 'Lars', UserPhone: '555-555-5555' },
    });
  });

  it('ends the session with the timeout button and shows the message the server pushed', async () => {
    await page.click('#timeout');
    await page.waitForSelector('text=Your session timed out. Say hi to start a new one.');
    await page.waitForSelector('text=Session ended (timeout)');
    expect({
      status: await page.textContent('#session-status'),
      session: await sessionId(),
      entities: await entities(),
      pushed: await page.$$eval(
        '.batch',
        (nodes) => nodes.filter((node) => node.getAttribute('data-label')?.endsWith('pushed')).length,
      ),
    }).toEqual({
      status: 'ended: timeout',
      session: '—',
      entities: { UserName: 'Lars', UserPhone: '555-555-5555' },
      pushed: 1,
    });
  });

  it('keeps who the browser is in a signed HttpOnly SameSite=Lax cookie, which the page cannot read', async () => {
    const cookies = await context.cookies(chat.url);
    expect({
      page: await page.evaluate('document.cookie'),
      cookies: cookies.map(({ name, httpOnly, sameSite }) => ({ name, httpOnly, sameSite })),
    }).toEqual({
      page: '',
      cookies: [{ name: 'palaver_user', httpOnly: true, sameSite: 'Lax' }],
    });
  });

  it("gives a second browser its own user, which sees none of the first's conversation or pushed messages", async () => {
    const otherProfile = mkdtempSync(join(tmpdir(), 'palaver-chromium-'));
    const other = await chromium.launchPersistentContext(otherProfile, { executablePath, headless: true, args: flags });
    try {
      const otherPage = other.pages()[0] ?? (await other.newPage());
      await otherPage.goto(chat.url);
      await otherPage.waitForSelector('body[data-ready="true"]');
      // A message pushed to the first browser's user: shown there, and nowhere else.
      const user = (await context.cookies(chat.url))[0]!.value.split('.')[0]!;
      await chat.bot.send(
        { channelId: 'webchat', user: { id: user }, conversation: { id: `webchat-${user}` } },
        'Only for the first browser.',
      );
      await page.waitForSelector('text=Only for the first browser.');
      expect({
        session: await otherPage.textContent('#session-id'),
        entities: await otherPage.$$eval('#entities tr[data-entity]', (rows) => rows.length),
        messages: await otherPage.$$eval('.msg, .batch', (nodes) => nodes.length),
      }).toEqual({ session: '—', entities: 0, messages: 0 });
    } finally {
      await other.close();
      rmSync(otherProfile, { recursive: true, force: true });
    }
  });

  it('writes a screenshot of the conversation under test/artifacts', async () => {
    mkdirSync(resolve(screenshot, '..'), { recursive: true });
    rmSync(screenshot, { force: true });
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(statSync(screenshot).size).toBeGreaterThan(10_000);
  });
});
