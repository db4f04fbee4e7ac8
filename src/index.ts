// The public surface of palaver. Named exports only, grouped by who needs them.

// Running a bot
export { SessionManager } from './manager';
export type { SessionManagerOptions, SessionManagerEvents, TurnResult } from './manager';
export { Session } from './session';
export type { NewSessionOptions } from './session';

// Idle nudges, typed retention, analytics
export type { NudgeOptions, DialogIdleOptions } from './nudge';
export { defineEntities } from './retention';
export type { EntitySpec, EntitySpecs, EntitiesOf, EntityScope, EntityMigrations } from './retention';
export type { SessionSummary, ManagerStats } from './stats';

// Dialogs and prompts
export { Prompts, PromptIds, findChoice } from './dialogs/prompts';
export type {
  PromptOptions,
  NumberPromptOptions,
  ChoicePromptOptions,
  TimePromptOptions,
  AttachmentPromptOptions,
  Choices,
  ChoiceItem,
  ChoiceOf,
  FoundChoice,
  TimeResult,
  ListStyle,
  PromptText,
} from './dialogs/prompts';
export { DEFAULT_TEXTS } from './texts';
export type { Texts, TextsOption } from './texts';
export { ResumeReason } from './dialogs/dialog';
export type { Dialog, DialogResult, DialogHandler, WaterfallStep } from './dialogs/dialog';
export type {
  ActionOptions,
  TriggerActionOptions,
  ActionMatcher,
  ActionArgs,
  Middleware,
  DialogActionValue,
} from './dialogs/actions';
export { RegExpRecognizer } from './recognizers';
export type {
  Recognizer,
  RecognizerFunction,
  RecognizerObject,
  RecognizerOptions,
  RecognizerResult,
  IntentMatcher,
  Nlp,
  NlpIntent,
  NlpEntity,
} from './recognizers';
export type { Ended, Prompted, PromptResult, TypedStep, StepInput, StepNext, Waterfall } from './dialogs/typed';
export type { TemplateArgs, Templated, Printable } from './template';

// Messages, addresses and session metadata
export type {
  Address,
  IncomingMessage,
  OutgoingMessage,
  Attachment,
  SessionInfo,
  DialogState,
  EndReason,
  ClosePolicy,
  JsonObject,
  Awaitable,
} from './types';
export type { DeliverFn, DeliveryRetryOptions } from './outbox';

// Rich messages: cards, images, suggested actions, channel-native payloads
export {
  Message,
  HeroCard,
  ThumbnailCard,
  ReceiptCard,
  CardAction,
  CardImage,
  CardContentType,
  TextFormat,
  imageAttachment,
} from './cards';
export type {
  MessageLike,
  MessageSource,
  AttachmentSource,
  AttachmentLayout,
  HeroCardContent,
  ReceiptCardContent,
  ReceiptItem,
  ReceiptItemInput,
  Fact,
} from './cards';

// Stores
export { MemoryStore } from './stores/memory';
export type { MemoryStoreOptions } from './stores/memory';
export type {
  SessionStore,
  StoredRecord,
  CommitWrite,
  CommitOptions,
  CommitResult,
  ExpectedRecord,
  ExpiryClaim,
  StoreListener,
  OpenOptions,
  OpenResult,
  LeaseRequest,
} from './stores/store';
export { decodeState, StateFormatError } from './codec';
export type { SessionStateRecord as StoredSessionState } from './schema';

// Errors
export { PalaverError, DeliveryError } from './errors';
export type { PalaverErrorCode } from './errors';
