//! Tokenization shared by queries and documents.

/// Splits `text` into lower-case alphanumeric tokens, sorted and unique.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut out: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::tokenize;

    #[test]
    fn splits_lowercases_and_dedups() {
        assert_eq!(
            tokenize("Web-Front web_API  v2!"),
            ["api", "front", "v2", "web"]
        );
        assert!(tokenize(" -- ").is_empty());
    }
}
