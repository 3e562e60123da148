"""The web platform's shared parts (平台): accounts, sessions, scope, audit, security, page plumbing, the portal
routes."""
