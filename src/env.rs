//! Reads settings from the Worker's `Env`: secrets first, then vars, as one lookup
//! function handed to the platform-free resolvers.

use worker::Env;

/// Looks `name` up as a secret, then as a plain var.
pub fn lookup(env: &Env, name: &str) -> Option<String> {
    env.secret(name)
        .map(|s| s.to_string())
        .or_else(|_| env.var(name).map(|v| v.to_string()))
        .ok()
}
