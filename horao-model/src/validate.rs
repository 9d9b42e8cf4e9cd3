//! The text rules shared by every layer: names, free text and endpoints. Ids and labels have
//! their own modules ([`crate::ids`], [`crate::label`]).

use crate::error::{Error, Result};

/// Longest name or one-line free-text field accepted, in bytes.
pub const MAX_NAME_LEN: usize = 256;
/// Longest description accepted, in bytes.
pub const MAX_DESCRIPTION_LEN: usize = 4096;
/// Longest endpoint or external id accepted, in bytes.
pub const MAX_ENDPOINT_LEN: usize = 2048;

/// **The name rule**: not blank, at most [`MAX_NAME_LEN`] bytes, no control characters.
/// `field` names the field in the error (`rack.name`).
pub fn check_name(field: &str, s: &str) -> Result<()> {
    let reason = if s.trim().is_empty() {
        "must not be empty".to_string()
    } else if s.len() > MAX_NAME_LEN {
        format!("is {} bytes long, at most {MAX_NAME_LEN} allowed", s.len())
    } else if s.chars().any(char::is_control) {
        "must not contain control characters".to_string()
    } else {
        return Ok(());
    };
    Err(Error::invalid(field, reason))
}

/// A name that is also a principal or a word: the name rule, and no whitespace.
pub fn check_word(field: &str, s: &str) -> Result<()> {
    check_name(field, s)?;
    if s.chars().any(char::is_whitespace) {
        return Err(Error::invalid(field, "must not contain whitespace"));
    }
    Ok(())
}

/// A description: at most [`MAX_DESCRIPTION_LEN`] bytes, no control characters but newlines
/// and tabs; may be empty.
pub fn check_description(field: &str, s: &str) -> Result<()> {
    if s.len() > MAX_DESCRIPTION_LEN {
        return Err(Error::invalid(
            field,
            format!(
                "is {} bytes long, at most {MAX_DESCRIPTION_LEN} allowed",
                s.len()
            ),
        ));
    }
    if s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

/// An endpoint (URL or `host:port`) or external id: 1 to [`MAX_ENDPOINT_LEN`] bytes, no
/// whitespace or control characters.
pub fn check_endpoint(field: &str, s: &str) -> Result<()> {
    if s.is_empty() || s.len() > MAX_ENDPOINT_LEN {
        return Err(Error::invalid(
            field,
            format!("must be 1 to {MAX_ENDPOINT_LEN} bytes"),
        ));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(field, "must not contain whitespace"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(check_name("x.name", "Rack 12 (north)").is_ok());
        for (bad, why) in [
            ("", "must not be empty"),
            ("  ", "must not be empty"),
            ("a\nb", "must not contain control characters"),
        ] {
            let e = check_name("x.name", bad).unwrap_err().to_string();
            assert_eq!(e, format!("invalid x.name: {why}"));
        }
        assert!(check_name("x", &"n".repeat(MAX_NAME_LEN + 1)).is_err());
        assert!(check_word("x", "alice").is_ok());
        assert!(check_word("x", "al ice").is_err());
        assert!(check_description("x", "two\nlines\tok").is_ok());
        assert!(check_description("x", "bell\u{7}").is_err());
        assert!(check_endpoint("x", "https://a.example/health").is_ok());
        assert!(check_endpoint("x", "a b").is_err());
        assert!(check_endpoint("x", "").is_err());
    }
}
