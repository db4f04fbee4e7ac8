// OpenTelemetry: a span for each unit of work (with child spans for its store calls and for each delivery of its
// replies) and a few metrics. Built only when the `telemetry` option asks for it: `@opentelemetry/api` is an optional
// peer, loaded then and not before, and with the option off the engine never reaches this file (one branch per unit of
// work). Nothing the user wrote goes into telemetry: no message text, no user or conversation id (the session key is
// hashed), no error message (only its code).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Api from '@opentelemetry/api';
import { PalaverError } from './errors';
import type { DeliverFn } from './outbox';
import type { ManagerStats } from './stats';
import type { Awaitable, OutgoingMessage } from './types';
import { isThenable } from './types';

/** A tracer provider, such as `BasicTracerProvider` or `NodeTracerProvider` (typed loosely so that palaver's types need no OpenTelemetry package). */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): object;
}

/** A meter provider, such as `MeterProvider` from `@opentelemetry/sdk-metrics`. */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): object;
}

/**
 * The `telemetry` option: where palaver's spans and metrics go. Needs `@opentelemetry/api` installed.
 * @example
 * new SessionManager({ deliver, telemetry: true }); // the providers registered globally (the OpenTelemetry SDK's)
 */
export interface TelemetryOptions {
  /** Where spans go; `false`: no spans. @default the global tracer provider */
  tracerProvider?: TracerProviderLike | false;
  /** Where metrics go; `false`: no metrics. @default the global meter provider */
  meterProvider?: MeterProviderLike | false;
  /**
   * Turns a session key (which holds user and conversation ids) into the `palaver.session.key_hash` attribute; return
   * `undefined` to leave it out. @default the first 16 hex digits of the key's SHA-256
   */
  hashKey?: (key: string) => string | undefined;
}

/** The name palaver's tracer and meter go by. */
export const INSTRUMENTATION_NAME = 'palaver';

/** The span of each kind of unit of work, by the `doing` words `Engine.transact()` is given. */
const UNIT_SPANS: Readonly<Record<string, string>> = {
  'its turn': 'palaver.turn',
  'startSession()': 'palaver.start',
  'endSession()': 'palaver.end',
  'beginDialog()': 'palaver.begin_dialog',
  'its expiry': 'palaver.expire',
};

/** The store calls of a unit of work that telemetry times. */
export type StoreOperation = 'open' | 'commit' | 'checkpoint';

/** What a unit of work ended as (the `palaver.outcome` attribute). */
export type UnitOutcome = 'ok' | 'noop' | 'dialog_error' | 'error';

/** What the telemetry reads of a unit of work once it is done (`Unit` in manager/turns.ts). */
export interface UnitView {
  readonly state: { readonly id?: string | undefined; readonly stack: readonly { readonly id: string }[] } | undefined;
  readonly replies: readonly OutgoingMessage[];
  readonly failure: unknown;
}

/** What `Engine.transact()` tells the telemetry about one unit of work. */
export interface UnitProbe {
  /**
   * Runs one store call of the unit as a child span, timed: `open` (the lease and the records), `commit`, or
   * `checkpoint` (the commit of a `sendBatch()` inside the work).
   */
  store<T>(operation: StoreOperation, call: () => Awaitable<T>): Awaitable<T>;
  /** The unit ended a session (its id, why). */
  ended(id: string | undefined, reason: string): void;
  /** The unit's work is done and saved (or had nothing to save): called before its replies go to the outbox. */
  done(unit: UnitView, result: unknown): void;
}

type ApiModule = typeof Api;

let api: ApiModule | undefined;

/**
 * The `@opentelemetry/api` package, loaded on first use.
 * @throws PalaverError `MISSING_DEPENDENCY` when it is not installed.
 */
export function loadOpenTelemetry(): ApiModule {
  if (api !== undefined) return api;
  try {
    // Resolved from palaver's own location, as a static import would be; __filename is shimmed in the ESM build.
    api = createRequire(__filename)('@opentelemetry/api') as ApiModule;
    return api;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && /@opentelemetry\/api/.test(String(error))) {
      throw new PalaverError(
        'MISSING_DEPENDENCY',
        'The `telemetry` option needs the `@opentelemetry/api` package, which is not installed: run ' +
          '`npm install @opentelemetry/api` (and an OpenTelemetry SDK to export with), or leave `telemetry` out.',
        { cause: error },
      );
    }
    throw error;
  }
}

/** The key hash when `hashKey` is not given: stable across processes, so that one user's sessions can be followed. */
function sha256Prefix(key: string): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

const seconds = (ms: number): number => ms / 1000;

/** Bucket bounds of the duration histograms, in seconds (the SDK's default bounds are meant for milliseconds). */
const DURATION_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** One manager's instruments: its tracer and meter, its metrics, and the wrapper of its `deliver`. */
export class Telemetry {
  readonly api: ApiModule;
  readonly tracer: Api.Tracer | undefined;
  readonly hashKey: (key: string) => string | undefined;
  readonly #meter: Api.Meter | undefined;
  readonly turns: Api.Counter | undefined;
  readonly turnDuration: Api.Histogram | undefined;
  readonly storeDuration: Api.Histogram | undefined;
  readonly #deliveryFailures: Api.Counter | undefined;
  readonly #observe: ((result: Api.BatchObservableResult) => void) | undefined;
  readonly #observables: Api.Observable[] = [];
  /** The context of the unit of work each committed reply came from: its delivery span is that unit's child. */
  readonly parents = new WeakMap<OutgoingMessage, Api.Context>();
  /** Deliveries of each batch so far (the outbox hands the same array to every retry). */
  readonly #attempts = new WeakMap<readonly OutgoingMessage[], number>();

  /** @throws PalaverError `MISSING_DEPENDENCY` without `@opentelemetry/api`. */
  constructor(options: TelemetryOptions, stats: () => ManagerStats) {
    const otel = (this.api = loadOpenTelemetry());
    const tracerProvider = options.tracerProvider ?? otel.trace.getTracerProvider();
    this.tracer = tracerProvider === false ? undefined : (tracerProvider.getTracer(INSTRUMENTATION_NAME) as Api.Tracer);
    this.hashKey = options.hashKey ?? sha256Prefix;
    const meterProvider = options.meterProvider ?? otel.metrics.getMeterProvider();
    if (meterProvider === false) return;
    const meter = (this.#meter = meterProvider.getMeter(INSTRUMENTATION_NAME) as Api.Meter);
    this.turns = meter.createCounter('palaver.turns', { description: 'Message turns handled, by outcome.' });
    this.turnDuration = meter.createHistogram('palaver.turn.duration', {
      description: 'How long a message turn took, from opening its records to its commit.',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.storeDuration = meter.createHistogram('palaver.store.duration', {
      description: 'How long a store call of a unit of work took (an open includes the wait for the lease).',
      unit: 's',
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    });
    this.#deliveryFailures = meter.createCounter('palaver.delivery.failures', {
      description: 'Batches of replies given up on after every delivery retry failed.',
    });
    const live = meter.createObservableGauge('palaver.sessions.live', {
      description: 'Sessions started minus sessions ended, as this process saw them.',
    });
    const ended = meter.createObservableCounter('palaver.sessions.ended', {
      description: 'Sessions ended by this process, by reason.',
    });
    this.#observables.push(live, ended);
    this.#observe = (result) => {
      const now = stats();
      result.observe(live, now.liveSessions);
      for (const [reason, count] of Object.entries(now.endsByReason))
        result.observe(ended, count, { 'palaver.end_reason': reason });
    };
    meter.addBatchObservableCallback(this.#observe, this.#observables);
  }

  /** Runs one unit of work (`run`) inside its span: the span is the active one while it runs. */
  unit<T>(doing: string, key: string, run: (probe: UnitProbe) => Promise<T>): Promise<T> {
    const { context, trace } = this.api;
    const parent = context.active();
    const span = this.tracer?.startSpan(UNIT_SPANS[doing] ?? 'palaver.unit', undefined, parent);
    const probe = new UnitTrace(this, doing, key, span, span === undefined ? parent : trace.setSpan(parent, span));
    return context.with(probe.context, run, undefined, probe).then(
      (result) => {
        probe.finish(undefined);
        return result;
      },
      (error: unknown) => {
        probe.finish(error);
        throw error;
      },
    );
  }

  /** `deliver`, with a `palaver.deliver` span for each call: a child of the unit of work whose replies it carries. */
  deliver(deliver: DeliverFn): DeliverFn {
    const tracer = this.tracer;
    if (tracer === undefined) return deliver;
    const { context, trace, SpanStatusCode } = this.api;
    return (address, messages) => {
      const attempt = (this.#attempts.get(messages) ?? 0) + 1;
      this.#attempts.set(messages, attempt);
      const parent = this.parents.get(messages[0]!) ?? context.active();
      const links = this.#links(messages, parent);
      const span = tracer.startSpan(
        'palaver.deliver',
        {
          attributes: {
            'palaver.channel': address.channelId,
            'palaver.delivery.messages': messages.length,
            'palaver.delivery.attempt': attempt,
          },
          links,
        },
        parent,
      );
      const failed = (error: unknown): never => {
        span.setStatus({ code: SpanStatusCode.ERROR, message: errorType(error) });
        span.setAttribute('error.type', errorType(error));
        span.end();
        throw error;
      };
      let result: Awaitable<void>;
      try {
        result = context.with(trace.setSpan(parent, span), () => deliver(address, messages));
      } catch (error) {
        return failed(error);
      }
      if (!isThenable(result)) {
        span.end();
        return result;
      }
      return Promise.resolve(result).then(() => span.end(), failed);
    };
  }

  /** A batch was given up on (every retry failed). */
  deliveryFailed(): void {
    this.#deliveryFailures?.add(1);
  }

  /** The manager closed: its observable metrics stop reporting. */
  stop(): void {
    if (this.#observe !== undefined) this.#meter?.removeBatchObservableCallback(this.#observe, this.#observables);
  }

  /** Links to the other units of work whose replies share one batch. */
  #links(messages: readonly OutgoingMessage[], parent: Api.Context): Api.Link[] | undefined {
    let links: Api.Link[] | undefined;
    let last = parent;
    for (let i = 1; i < messages.length; i++) {
      const context = this.parents.get(messages[i]!);
      if (context === undefined || context === last || context === parent) continue;
      last = context;
      const linked = this.api.trace.getSpanContext(context);
      if (linked !== undefined && !links?.some((link) => link.context.spanId === linked.spanId))
        (links ??= []).push({ context: linked });
    }
    return links;
  }
}

/** The telemetry of one unit of work: its span, its store calls, its outcome. */
class UnitTrace implements UnitProbe {
  readonly #telemetry: Telemetry;
  readonly #doing: string;
  readonly #started = performance.now();
  readonly #span: Api.Span | undefined;
  /** The span's attributes are worth setting (a sampled, recording span). */
  readonly #recording: boolean;
  readonly context: Api.Context;
  readonly #key: string;
  #commits = 0;
  #outcome: UnitOutcome = 'noop';
  #code: string | undefined;
  #id: string | undefined;
  #endReason: string | undefined;
  #nudge = false;

  constructor(telemetry: Telemetry, doing: string, key: string, span: Api.Span | undefined, context: Api.Context) {
    this.#telemetry = telemetry;
    this.#doing = doing;
    this.#key = key;
    this.#span = span;
    this.#recording = span?.isRecording() === true;
    this.context = context;
  }

  store<T>(operation: StoreOperation, call: () => Awaitable<T>): Awaitable<T> {
    if (operation === 'commit') this.#commits++;
    const telemetry = this.#telemetry;
    const started = performance.now();
    const span = this.#recording
      ? telemetry.tracer!.startSpan(`palaver.store.${operation}`, undefined, this.context)
      : undefined;
    const finish = (outcome: 'ok' | 'conflict' | 'error'): void => {
      telemetry.storeDuration?.record(seconds(performance.now() - started), {
        'palaver.store.operation': operation,
        'palaver.outcome': outcome,
      });
      if (span === undefined) return;
      span.setAttribute('palaver.outcome', outcome);
      if (outcome === 'error') span.setStatus({ code: telemetry.api.SpanStatusCode.ERROR });
      span.end();
    };
    const settled = (value: T): T => {
      finish(value === false ? 'conflict' : 'ok');
      return value;
    };
    const failed = (error: unknown): never => {
      finish('error');
      throw error;
    };
    let result: Awaitable<T>;
    try {
      result = call();
    } catch (error) {
      return failed(error);
    }
    return isThenable(result) ? Promise.resolve(result).then(settled, failed) : settled(result);
  }

  ended(id: string | undefined, reason: string): void {
    this.#id ??= id;
    this.#endReason ??= reason;
  }

  done(unit: UnitView, result: unknown): void {
    const state = unit.state;
    if (state === undefined) return;
    this.#outcome = 'ok';
    const failure = unit.failure ?? (result as { error?: unknown } | undefined)?.error;
    if (failure !== undefined) {
      this.#outcome = 'dialog_error';
      this.#code = errorType(failure);
    }
    // An expiry that saved a session it did not end stood for a nudge (sent, or set again for later).
    if (this.#doing === 'its expiry' && result === false) this.#nudge = true;
    if (state.id !== undefined) this.#id = state.id;
    const span = this.#span;
    if (span === undefined) return;
    if (this.#recording) {
      const top = state.stack[state.stack.length - 1];
      if (top !== undefined) span.setAttribute('palaver.dialog', top.id);
      span.setAttribute('palaver.replies', unit.replies.length);
    }
    const parents = this.#telemetry.parents;
    for (const reply of unit.replies) parents.set(reply, this.context);
  }

  /** The unit of work settled (`error`: how it failed): ends its span and records its metrics. */
  finish(error: unknown): void {
    const telemetry = this.#telemetry;
    if (error !== undefined) {
      // A failure thrown after the commit held (the state is saved, the dialog it ran failed) keeps its outcome.
      if (this.#outcome !== 'dialog_error') this.#outcome = 'error';
      this.#code = errorType(error);
    }
    const outcome = this.#outcome;
    const span = this.#span;
    if (this.#doing === 'its turn' && telemetry.turns !== undefined) {
      telemetry.turns.add(1, { 'palaver.outcome': outcome });
      telemetry.turnDuration!.record(seconds(performance.now() - this.#started), { 'palaver.outcome': outcome });
    }
    if (span === undefined) return;
    if (this.#recording) {
      if (this.#nudge) span.updateName('palaver.nudge');
      const attributes: Api.Attributes = {
        'palaver.outcome': outcome,
        'palaver.commit.attempts': this.#commits,
      };
      const hash = hashOf(telemetry.hashKey, this.#key);
      if (hash !== undefined) attributes['palaver.session.key_hash'] = hash;
      if (this.#id !== undefined) attributes['palaver.session.id'] = this.#id;
      if (this.#endReason !== undefined) attributes['palaver.end_reason'] = this.#endReason;
      if (this.#code !== undefined) attributes['palaver.error.code'] = this.#code;
      if (UNIT_SPANS[this.#doing] === undefined) attributes['palaver.unit'] = this.#doing;
      span.setAttributes(attributes);
      if (outcome === 'error' || outcome === 'dialog_error')
        span.setStatus({ code: telemetry.api.SpanStatusCode.ERROR, message: this.#code });
    }
    span.end();
  }
}

/** The key's hash; a `hashKey` that throws leaves the attribute out (telemetry never fails a unit of work). */
function hashOf(hashKey: (key: string) => string | undefined, key: string): string | undefined {
  try {
    const hash = hashKey(key);
    return typeof hash === 'string' ? hash : undefined;
  } catch {
    return undefined;
  }
}

/** What failed, without its message (a message may hold user ids or text): a PalaverError's code, else the error's name. */
function errorType(error: unknown): string {
  if (error instanceof PalaverError) return error.code;
  return error instanceof Error ? error.name : typeof error;
}
