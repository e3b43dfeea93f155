//! Reading single variables: defaults, switches, numbers, durations, limits.

use std::{collections::HashMap, fmt, time::Duration};

use super::{ConfigError, Limit};

pub(super) struct Env<'a>(pub(super) &'a HashMap<String, String>);

impl Env<'_> {
    /// The variable's value, with an empty value treated as unset.
    pub(super) fn get(&self, name: &str) -> Option<String> {
        self.0
            .get(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    pub(super) fn duration(&self, var: &str, default: &str) -> Result<Duration, ConfigError> {
        let raw = self.get(var).unwrap_or_else(|| default.to_owned());
        let value = parse_duration(&raw).map_err(|p| self.bad(var, p))?;
        if value.is_zero() {
            return Err(self.bad(var, "must be longer than zero".into()));
        }
        Ok(value)
    }

    pub(super) fn limit(&self, var: &str, default: &str) -> Result<Limit, ConfigError> {
        let raw = self.get(var).unwrap_or_else(|| default.to_owned());
        let problem = || format!("expected ATTEMPTS/WINDOW such as 5/15m, got {raw:?}");
        let (max, window) = raw
            .split_once('/')
            .ok_or_else(|| self.bad(var, problem()))?;
        let max: u32 = max.trim().parse().map_err(|_| self.bad(var, problem()))?;
        let window = parse_duration(window.trim()).map_err(|_| self.bad(var, problem()))?;
        if max == 0 || window.is_zero() {
            return Err(self.bad(var, problem()));
        }
        Ok(Limit { max, window })
    }

    pub(super) fn bad(&self, var: &str, problem: String) -> ConfigError {
        ConfigError {
            var: var.to_owned(),
            problem,
        }
    }

    pub(super) fn parse<T>(&self, var: &str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        Ok(self.parse_opt(var)?.unwrap_or(default))
    }

    pub(super) fn parse_opt<T>(&self, var: &str) -> Result<Option<T>, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: fmt::Display,
    {
        match self.get(var) {
            None => Ok(None),
            Some(raw) => raw
                .parse()
                .map(Some)
                .map_err(|e| self.bad(var, format!("cannot parse {raw:?}: {e}"))),
        }
    }

    pub(super) fn parse_positive(&self, var: &str, default: usize) -> Result<usize, ConfigError> {
        let value = self.parse(var, default)?;
        if value == 0 {
            return Err(self.bad(var, "must be at least 1".into()));
        }
        Ok(value)
    }

    pub(super) fn switch(&self, var: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(var).map(|v| v.to_ascii_lowercase()).as_deref() {
            None => Ok(default),
            Some("on" | "true" | "1" | "yes") => Ok(true),
            Some("off" | "false" | "0" | "no") => Ok(false),
            Some(other) => Err(self.bad(var, format!("expected on or off, got {other:?}"))),
        }
    }
}

/// `250ms`, `30s`, `15m`, `12h`, `7d`, `1h 30m` (humantime's forms), or a
/// bare number of seconds.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        return raw
            .parse()
            .map(Duration::from_secs)
            .map_err(|_| format!("{raw:?} is too many seconds"));
    }
    humantime::parse_duration(raw)
        .map_err(|e| format!("expected a duration such as 30s, 15m or 7d, got {raw:?} ({e})"))
}
