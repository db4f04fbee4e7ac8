// OpenTelemetry: every turn is a `palaver.turn` span, with the store calls and each delivery as its children, and the
// span a dialog step starts for its own work (here: a menu lookup) is a child of the turn too. Spans and metrics go to
// the console exporters; in production you would register an OTLP exporter (or start `@opentelemetry/sdk-node`).
// Run it: npx ts-node examples/telemetry.ts
import { context, trace, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Prompts, SessionManager, type DialogResult, type SessionManagerOptions } from '../src';
import { consoleAddress, printReplies, runIfMain, say } from './lib/terminal';

const MENU = ['margherita', 'funghi', 'diavola'];

/** The pizza bot: `tracer` is the bot's own tracer, for the spans of its own work. */
export function createTelemetryBot(
  options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>,
  tracer: Tracer = trace.getTracer('pizza-bot'),
) {
  const bot = new SessionManager({ telemetry: true, ...options });
  bot.dialog('/', [
    async (session) => {
      // A span of the bot's own: the active span here is palaver's turn span, so this one becomes its child.
      const menu = await tracer.startActiveSpan('menu.lookup', async (span) => {
        span.setAttribute('menu.items', MENU.length);
        const items = await Promise.resolve(MENU);
        span.end();
        return items;
      });
      Prompts.choice(session, 'Which pizza?', menu);
    },
    (session, results: DialogResult<{ entity: string }>) => {
      session.endDialog('One %s, coming up.', results.response?.entity ?? 'pizza');
    },
  ]);
  return bot;
}

async function main(): Promise<void> {
  // What `NodeSDK.start()` would do: a context manager, a tracer provider and a meter provider, registered globally.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())],
  });
  trace.setGlobalTracerProvider(tracerProvider);
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 60_000 }),
    ],
  });

  const bot = createTelemetryBot({
    deliver: (_address, messages) => printReplies(messages),
    autoBatchDelay: 0,
    // `telemetry: true` would take the global meter provider too; this one is handed over directly.
    telemetry: { meterProvider },
  });
  await say(bot, consoleAddress('pizza'), ['hi', 'funghi']);
  // Export the metrics now rather than at the next interval (before close(), which stops the live-session gauge).
  await meterProvider.forceFlush();
  await bot.close();
  await Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]);
}

runIfMain(module, main);
