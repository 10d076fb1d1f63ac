//! Parse-don't-validate types for account input: [`Email`] and [`Password`], with the original's rules and
//! messages, reported as 422 list items.

use serde_json::Value;

use crate::error::FieldIssue;

/// A syntactically valid address, trimmed and lower-cased: equality on this form is the exact, case-insensitive
/// match the original lacked (it matched substrings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str, loc: &[&str]) -> Result<Self, FieldIssue> {
        let normalised = raw.trim().to_lowercase();
        let invalid = |reason: &str| {
            let mut issue = FieldIssue::new(
                "value_error",
                loc,
                format!("value is not a valid email address: {reason}"),
                Value::String(raw.to_owned()),
            );
            issue.ctx = Some(Box::new(serde_json::json!({ "reason": reason })));
            issue
        };
        if normalised.len() > 255 {
            return Err(invalid("The email address is too long."));
        }
        if normalised.matches('@').count() != 1 {
            return Err(invalid("The email address is not valid. It must have exactly one @-sign."));
        }
        let domain = normalised.rsplit('@').next().unwrap_or_default();
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') {
            return Err(invalid("The part after the @-sign is not valid. It should have a period."));
        }
        if !email_address::EmailAddress::is_valid(&normalised) {
            return Err(invalid("The email address is not valid."));
        }
        Ok(Self(normalised))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

pub const PASSWORD_RULE: &str = "Password must contain 8-32 characters, at least one uppercase and lowercase letter, \
     a number and a special character";

const SPECIALS: &[char] = &['@', '$', '!', '%', '*', '?', '&'];

/// A new password that satisfies the original's rules: 8–32 characters, then one lowercase, one uppercase, one
/// digit and one of `@$!%*?&`.
#[derive(Debug, Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(raw: &str, loc: &[&str]) -> Result<Self, FieldIssue> {
        let input = Value::String(raw.to_owned());
        let length = raw.chars().count();
        if length < 8 {
            let mut issue = FieldIssue::new("string_too_short", loc, "String should have at least 8 characters", input);
            issue.ctx = Some(Box::new(serde_json::json!({ "min_length": 8 })));
            return Err(issue);
        }
        if length > 32 {
            let mut issue = FieldIssue::new("string_too_long", loc, "String should have at most 32 characters", input);
            issue.ctx = Some(Box::new(serde_json::json!({ "max_length": 32 })));
            return Err(issue);
        }
        let ok = raw.chars().any(char::is_lowercase)
            && raw.chars().any(char::is_uppercase)
            && raw.chars().any(char::is_numeric)
            && raw.chars().any(|c| SPECIALS.contains(&c));
        if !ok {
            return Err(FieldIssue::value_error(loc, PASSWORD_RULE, input));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Runs several field parsers and gathers every problem, so a client sees all of them at once.
pub fn collect<T>(result: Result<T, FieldIssue>, issues: &mut Vec<FieldIssue>) -> Option<T> {
    match result {
        Ok(value) => Some(value),
        Err(issue) => {
            issues.push(issue);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_is_normalised_and_checked() {
        assert_eq!(Email::parse("  Bob@Example.COM ", &["body", "email"]).unwrap().as_str(), "bob@example.com");
        for bad in ["", "bob", "bob@", "@example.com", "bob@example", "a@b@c.com", "bob@.com"] {
            assert!(Email::parse(bad, &["body", "email"]).is_err(), "{bad}");
        }
    }

    #[test]
    fn password_rules_match_the_original() {
        for bad in [
            "ALLUPPERCASE1!",
            "alllowercase1!",
            "NoSpecialChar1",
            "NoDigits!@#",
            "12345678",
            "Password",
            "pass1234",
            "PASS1234!",
        ] {
            let issue = Password::parse(bad, &["body", "password"]).unwrap_err();
            assert!(
                issue.msg.contains(PASSWORD_RULE) || issue.msg.starts_with("String should have"),
                "{bad}: {}",
                issue.msg
            );
        }
        assert_eq!(Password::parse("Short1!", &["p"]).unwrap_err().msg, "String should have at least 8 characters");
        assert_eq!(
            Password::parse(&"Aa1!".repeat(9), &["p"]).unwrap_err().msg,
            "String should have at most 32 characters"
        );
        assert_eq!(Password::parse("NoDigits!@#", &["p"]).unwrap_err().msg, format!("Value error, {PASSWORD_RULE}"));
        assert!(Password::parse("Valid1Pass!", &["p"]).is_ok());
        assert!(Password::parse("Ünïcode1Ä?", &["p"]).is_ok(), "any Unicode letters and digits count");
    }
}
