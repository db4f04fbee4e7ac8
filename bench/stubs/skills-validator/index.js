'use strict';
// botbuilder 3.30 declares `skills-validator` as `file:skills-validator/skills-validator-1.0.0.tgz`, a path inside its
// own package that npm resolves against the installing project, so it cannot be installed from the registry. Only
// ChatConnector's skill-token authentication calls it (the benchmark uses an in-memory connector), so this stand-in
// makes `require('botbuilder')` load and fails loudly if anything ever reaches it.
function unavailable() {
  throw new Error(
    'skills-validator is stubbed in the palaver benchmark: ChatConnector skill authentication is not available here.',
  );
}
const SkillValidation = { isSkillToken: () => false };
const JwtTokenValidation = { authenticateRequest: unavailable, getAppIdFromClaims: unavailable };
class DefaultAuthenticationConfiguration {}
class SimpleCredentialProvider {}
class MicrosoftAppCredentials {
  constructor() {
    unavailable();
  }
}
module.exports = {
  SkillValidation,
  JwtTokenValidation,
  DefaultAuthenticationConfiguration,
  SimpleCredentialProvider,
  MicrosoftAppCredentials,
};
