//! Identifiers: article ids, slugs, locales and snippet keys.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::DomainError;

/// The stable numeric id of one article (one locale of a translation group).
/// Shown to people as `KB-<n>`; the API accepts both forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ArticleId(pub i64);

impl ArticleId {
    /// Parses `KB-12`, `kb-12` or `12`.
    pub fn parse(s: &str) -> Option<Self> {
        let digits = s
            .strip_prefix("KB-")
            .or_else(|| s.strip_prefix("kb-"))
            .unwrap_or(s);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok().map(ArticleId)
    }

    pub fn display(&self) -> String {
        format!("KB-{}", self.0)
    }
}

impl fmt::Display for ArticleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KB-{}", self.0)
    }
}

/// `[a-z0-9-]`, 2–80 characters, at least one letter (so a slug never looks like an id),
/// no leading, trailing or doubled hyphen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Slug(String);

impl Slug {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Slug {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let ok_chars = s
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !(2..=80).contains(&s.len()) {
            return Err(DomainError::new("slug", "must be 2 to 80 characters long"));
        }
        if !ok_chars {
            return Err(DomainError::new(
                "slug",
                "may contain only lowercase letters a-z, digits and '-'",
            ));
        }
        if !s.bytes().any(|b| b.is_ascii_lowercase()) {
            return Err(DomainError::new("slug", "must contain at least one letter"));
        }
        if s.starts_with('-') || s.ends_with('-') || s.contains("--") {
            return Err(DomainError::new(
                "slug",
                "must not start or end with '-' or contain '--'",
            ));
        }
        Ok(Slug(s))
    }
}

impl FromStr for Slug {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Slug::try_from(s.to_string())
    }
}

impl From<Slug> for String {
    fn from(s: Slug) -> String {
        s.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A BCP 47 language tag in canonical case (`zh-CN`, `en`, `en-US`, `zh-Hant-TW`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Locale(String);

impl Locale {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The primary language subtag, lower case (`zh`, `en`).
    pub fn language(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }

    pub fn is_chinese(&self) -> bool {
        self.language() == "zh"
    }

    pub fn zh_cn() -> Self {
        Locale("zh-CN".into())
    }

    pub fn en() -> Self {
        Locale("en".into())
    }
}

impl TryFrom<String> for Locale {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let mut parts = s.split(['-', '_']);
        let lang = parts.next().unwrap_or_default();
        if !(2..=3).contains(&lang.len()) || !lang.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(DomainError::new(
                "locale",
                format!("'{s}' is not a BCP 47 language tag such as zh-CN or en"),
            ));
        }
        let mut out = lang.to_ascii_lowercase();
        for part in parts {
            if part.is_empty() || part.len() > 8 || !part.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(DomainError::new(
                    "locale",
                    format!("'{s}' is not a BCP 47 language tag such as zh-CN or en"),
                ));
            }
            out.push('-');
            match part.len() {
                2 if part.bytes().all(|b| b.is_ascii_alphabetic()) => {
                    out.push_str(&part.to_ascii_uppercase())
                }
                4 => {
                    let mut c = part.chars();
                    if let Some(first) = c.next() {
                        out.push(first.to_ascii_uppercase());
                        out.push_str(&c.as_str().to_ascii_lowercase());
                    }
                }
                _ => out.push_str(&part.to_ascii_lowercase()),
            }
        }
        Ok(Locale(out))
    }
}

impl FromStr for Locale {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Locale::try_from(s.to_string())
    }
}

impl From<Locale> for String {
    fn from(l: Locale) -> String {
        l.0
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key of a reusable snippet: `[a-z0-9_-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SnippetKey(String);

impl SnippetKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for SnippetKey {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(SnippetKey(s))
        } else {
            Err(DomainError::new(
                "key",
                format!("'{s}' is not a snippet key: use 1-64 of a-z, 0-9, '-' and '_'"),
            ))
        }
    }
}

impl FromStr for SnippetKey {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SnippetKey::try_from(s.to_string())
    }
}

impl From<SnippetKey> for String {
    fn from(k: SnippetKey) -> String {
        k.0
    }
}

impl fmt::Display for SnippetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn article_id_forms() {
        assert_eq!(ArticleId::parse("KB-12"), Some(ArticleId(12)));
        assert_eq!(ArticleId::parse("12"), Some(ArticleId(12)));
        assert_eq!(ArticleId::parse("broadband"), None);
        assert_eq!(ArticleId::parse("KB-"), None);
    }

    #[test]
    fn slugs() {
        assert!(Slug::from_str("broadband-no-internet").is_ok());
        assert!(Slug::from_str("5g-upgrade").is_ok());
        for bad in ["1234", "a", "Bad", "has space", "-x", "x-", "a--b", "宽带"] {
            assert!(Slug::from_str(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn locales_are_canonicalised() {
        assert_eq!(Locale::from_str("zh-cn").unwrap().as_str(), "zh-CN");
        assert_eq!(Locale::from_str("en_us").unwrap().as_str(), "en-US");
        assert_eq!(
            Locale::from_str("zh-hant-tw").unwrap().as_str(),
            "zh-Hant-TW"
        );
        assert!(Locale::from_str("chinese").is_err());
        assert!(Locale::from_str("").is_err());
    }
}
